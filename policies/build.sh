#!/usr/bin/env bash
# Builds every policy component in policies/ and writes it where the repository keeps it:
#
#   policies/phi-dlp/phi-dlp.wasm
#   policies/testing/<name>.wasm
#
#   policies/build.sh           build and write the components
#   policies/build.sh --check   build the components into a temporary folder and fail if a
#                               committed one differs from the fresh build
#
# policies/TOOLCHAIN records the guest toolchain that built the committed components.
#
# Guests are built by Debian's rustc-web and cargo-web (the rustup toolchains have no wasm32
# standard library here), with std rebuilt for wasm32-unknown-unknown and linked by wasm-ld-19.
# policies/install-toolchain.sh installs all of it. The core modules are then made components
# by `cargo run -p xtask -- componentize`, on the host toolchain of the root workspace.
#
# The output is reproducible: the same bytes from any clone path and any CARGO_HOME. Paths
# that could reach the binaries are remapped, debug info is off, and the lock file is used as
# committed.
set -euo pipefail

policies=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$policies")

# package name | component path, relative to policies/
components=(
    "phi-dlp|phi-dlp/phi-dlp.wasm"
    "testing-accept-all|testing/accept-all.wasm"
    "testing-hog|testing/hog.wasm"
    "testing-journal|testing/journal.wasm"
    "testing-loop|testing/loop.wasm"
    "testing-quarantine-word|testing/quarantine-word.wasm"
    "testing-reject|testing/reject.wasm"
    "testing-tempfail|testing/tempfail.wasm"
    "testing-trap|testing/trap.wasm"
)

fail() {
    echo "build.sh: $*" >&2
    exit 1
}

check=false
case "${1-}" in
    "") ;;
    --check) check=true ;;
    *) fail "unknown argument \"$1\" (usage: build.sh [--check])" ;;
esac

# The guest toolchain. Its version is part of the output: a different rustc makes other bytes,
# and --check then says so.
guest_rustc=/usr/bin/rustc
guest_cargo=/usr/bin/cargo
linker=wasm-ld-19
for tool in "$guest_rustc" "$guest_cargo" "$(command -v "$linker" || echo "$linker")"; do
    [ -x "$tool" ] || fail "\"$tool\" is missing: run policies/install-toolchain.sh"
done
sysroot=$("$guest_rustc" --print sysroot)
std_src_link="$sysroot/lib/rustlib/src/rust"
[ -d "$std_src_link/library" ] ||
    fail "no standard library source under \"$std_src_link\": run policies/install-toolchain.sh"
std_src=$(cd "$std_src_link" && pwd -P)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
target_dir="$policies/target"

# Where the components go: in place, or beside each other in a temporary folder for --check.
if $check; then
    out=$(mktemp -d "${TMPDIR:-/tmp}/wasmilter-policies.XXXXXX")
    trap 'rm -rf "$out"' EXIT
else
    out=$policies
fi

# The committed components were built by the toolchain recorded in TOOLCHAIN; a check on another
# one is expected to differ, and says so.
toolchain="$("$guest_rustc" -V)
$("$guest_cargo" -V)
$("$linker" --version)"
echo "build.sh: guest toolchain: $(head -n1 <<<"$toolchain")"
if $check && [ "$toolchain" != "$(cat "$policies/TOOLCHAIN" 2>/dev/null)" ]; then
    echo "build.sh: warning: the components were built by another toolchain:" >&2
    diff <(cat "$policies/TOOLCHAIN" 2>/dev/null) <(echo "$toolchain") >&2 || true
fi

# The componentizer runs on the host toolchain, in the root workspace; build it first so its
# output does not mix with the guest build's.
xtask_cargo=${CARGO:-cargo}
command -v "$xtask_cargo" >/dev/null || fail "no host cargo (\"$xtask_cargo\") for xtask"
host_cargo=(env -u RUSTC -u RUSTC_BOOTSTRAP -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS "$xtask_cargo")
"${host_cargo[@]}" build --quiet --manifest-path "$repo/Cargo.toml" -p xtask
xtask=("${host_cargo[@]}" run --quiet --manifest-path "$repo/Cargo.toml" -p xtask --)

# The guests. Later remaps win in rustc, so the most specific paths come last.
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
    CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$linker" \
    CARGO_INCREMENTAL=0 \
    "$guest_cargo" build \
    --manifest-path "$policies/Cargo.toml" \
    --workspace \
    --release \
    --locked \
    --target wasm32-unknown-unknown \
    -Z build-std=std,panic_abort

# Core module to component, and no import outside the policy world (no WASI).
modules="$target_dir/wasm32-unknown-unknown/release"
for entry in "${components[@]}"; do
    package=${entry%%|*}
    component=${entry#*|}
    [ "$out" = "$policies" ] || component=$(basename "$component")

    "${xtask[@]}" componentize "$modules/${package//-/_}.wasm" "$out/$component"
    "${xtask[@]}" imports "$out/$component" --only wasmilter:policy/ >/dev/null
done

if ! $check; then
    echo "$toolchain" >"$policies/TOOLCHAIN"
    for entry in "${components[@]}"; do
        component=${entry#*|}
        printf '%8d  %s  policies/%s\n' "$(stat -c %s "$out/$component")" \
            "$(sha256sum "$out/$component" | cut -c1-16)" "$component"
    done
    exit 0
fi

# --check: every committed component must equal the fresh build.
stale=()
for entry in "${components[@]}"; do
    component=${entry#*|}
    if ! cmp -s "$policies/$component" "$out/$(basename "$component")"; then
        stale+=("policies/$component")
    fi
done
if [ ${#stale[@]} -gt 0 ]; then
    echo "build.sh: these committed components differ from a fresh build of their source:" >&2
    printf '  %s\n' "${stale[@]}" >&2
    echo "build.sh: run policies/build.sh and commit the components and TOOLCHAIN" >&2
    exit 1
fi
echo "build.sh: all ${#components[@]} committed components match a fresh build"
