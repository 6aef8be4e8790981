#!/usr/bin/env bash
# Builds the C example into wasm-examples/c/policy.wasm.
#
# The bindings are what `wit-bindgen c` generates for the policy world (policy.h, policy.c and
# policy_component_type.o, which carries the world into the module); ../tools writes them into
# target/. Debian's clang and wasi-libc compile a reactor module, which xtask makes a component.
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/c"
build="$here/target"

require_tool c clang
require_tool c wasm-ld
[ -f /usr/lib/wasm32-wasi/libc.a ] || example_fail c "wasi-libc is missing: run wasm-examples/install-toolchains.sh"

rm -rf "$build/bindings"
example_tools bindgen c "$wit" "$world" "$build/bindings"

clang --target=wasm32-wasi -O2 -mexec-model=reactor -Wall -Wextra -Werror \
    -Wl,--strip-debug \
    -I "$build/bindings" \
    -o "$build/policy-core.wasm" \
    "$here/policy.c" "$build/bindings/policy.c" "$build/bindings/policy_component_type.o"

xtask componentize "$build/policy-core.wasm" "$here/policy.wasm"
finish_component c "$here/policy.wasm"
