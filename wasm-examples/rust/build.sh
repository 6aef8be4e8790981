#!/usr/bin/env bash
# Builds the Rust example into wasm-examples/rust/policy.wasm.
#
# Debian's rustc-web and cargo-web build the crate for wasm32-unknown-unknown, with the standard
# library rebuilt (-Z build-std) and linked by wasm-ld-19; xtask then makes the core module a
# component. The build shares policies/target, with the flags policies/build.sh uses, so that the
# standard library built for the shipped policies serves here too (built alone, it takes minutes
# on two cores). Flags that drift from policies/build.sh only cost that time again.
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/rust"
guest_rustc=/usr/bin/rustc
guest_cargo=/usr/bin/cargo

for tool in "$guest_rustc" "$guest_cargo" wasm-ld-19; do
    require_tool rust "$tool"
done
sysroot=$("$guest_rustc" --print sysroot)
std_src_link="$sysroot/lib/rustlib/src/rust"
[ -d "$std_src_link/library" ] ||
    example_fail rust "no standard library source: run wasm-examples/install-toolchains.sh"
std_src=$(cd "$std_src_link" && pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
target_dir="$repo/policies/target"

# The same flags as policies/build.sh.
rustflags=(
    -C debuginfo=0
    "--remap-path-prefix=$repo=/wasmilter"
    "--remap-path-prefix=$target_dir=/wasmilter/policies/target"
    "--remap-path-prefix=$cargo_home=/cargo"
    "--remap-path-prefix=$std_src_link=/rust-src"
    "--remap-path-prefix=$std_src=/rust-src"
)
env -u RUSTFLAGS -u CARGO_BUILD_RUSTFLAGS -u RUSTC_WRAPPER -u RUSTUP_TOOLCHAIN \
    RUSTC="$guest_rustc" \
    RUSTC_BOOTSTRAP=1 \
    CARGO_ENCODED_RUSTFLAGS="$(IFS=$'\x1f'; echo "${rustflags[*]}")" \
    CARGO_TARGET_DIR="$target_dir" \
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER=wasm-ld-19 \
    CARGO_INCREMENTAL=0 \
    "$guest_cargo" build \
    --quiet \
    --manifest-path "$here/Cargo.toml" \
    --locked \
    --release \
    --target wasm32-unknown-unknown \
    -Z build-std=std,panic_abort

xtask componentize "$target_dir/wasm32-unknown-unknown/release/word_policy.wasm" "$here/policy.wasm"
finish_component rust "$here/policy.wasm"
