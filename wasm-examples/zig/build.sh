#!/usr/bin/env bash
# Builds the Zig example into wasm-examples/zig/policy.wasm.
#
# Zig 0.17 (PyPI ziglang) has no @cImport: the C bindings `wit-bindgen c` generates are turned
# into a Zig module by `zig translate-c`, and the generated C is compiled in beside policy.zig,
# against Zig's own wasi-libc. xtask then makes the reactor module a component. The first build
# also builds Zig's translate-c and wasi-libc into ~/.cache/zig (about three minutes).
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/zig"
build="$here/target"
python="$tools_dir/venv/bin/python"

if ! "$python" -c 'import ziglang' 2>/dev/null; then
    example_fail zig "ziglang is missing: run wasm-examples/install-toolchains.sh"
fi
zig() {
    "$python" -m ziglang "$@"
}

rm -rf "$build/bindings"
example_tools bindgen c "$wit" "$world" "$build/bindings"
zig translate-c -target wasm32-wasi -lc "$build/bindings/policy.h" >"$build/bindings/policy_h.zig"

# Per-module inputs come before the -M flag of their module.
zig build-exe \
    -target wasm32-wasi -O ReleaseSmall -fno-entry -rdynamic -mexec-model=reactor -lc \
    -I "$build/bindings" "$build/bindings/policy.c" "$build/bindings/policy_component_type.o" \
    --dep bindings -Mroot="$here/policy.zig" -Mbindings="$build/bindings/policy_h.zig" \
    --cache-dir "$build/zig-cache" \
    -femit-bin="$build/policy-core.wasm"

xtask componentize "$build/policy-core.wasm" "$here/policy.wasm"
finish_component zig "$here/policy.wasm"
