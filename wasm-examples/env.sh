# shellcheck shell=bash
# Sourced by the example build scripts: where things are, and the steps they share.
#
#   examples, repo, wit, world   the folders, the WIT contract and the world every example targets
#   tools_dir                    where install-toolchains.sh put the PyPI and npm toolchains
#                                ($WASM_EXAMPLES_TOOLS, default ~/.cache/wasmilter/wasm-examples)
#   xtask ARGS...                the repository's componentizer (cargo run -p xtask)
#   example_tools ARGS...        wasm-examples/tools: bindings for C and Go, Go componentizing
#   finish_component LANG FILE   checks that FILE imports only wasmilter:policy interfaces,
#                                and prints its size

# shellcheck disable=SC2034 # the variables are for the scripts that source this file
examples=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$examples")
wit="$repo/policy-sdk/wit"
world=policy
tools_dir=${WASM_EXAMPLES_TOOLS:-$HOME/.cache/wasmilter/wasm-examples}
export PATH="$tools_dir/venv/bin:$tools_dir/node/node_modules/.bin:$PATH"

# example_fail LANG MESSAGE...: prints "LANG/build.sh: MESSAGE" and exits 1.
example_fail() {
    local lang=$1
    shift
    echo "$lang/build.sh: $*" >&2
    exit 1
}

# require_tool LANG COMMAND: fails with a pointer to install-toolchains.sh when COMMAND is missing.
require_tool() {
    command -v "$2" >/dev/null ||
        example_fail "$1" "\"$2\" is missing: run wasm-examples/install-toolchains.sh"
}

# The host toolchain (rustup's cargo), whatever the guest builds set in the environment. It
# builds into the root target/ that the rest of the repository uses.
host_cargo=(env -u RUSTC -u RUSTC_BOOTSTRAP -u RUSTFLAGS -u CARGO_ENCODED_RUSTFLAGS
    -u CARGO_TARGET_DIR cargo)

xtask() {
    "${host_cargo[@]}" run --quiet --manifest-path "$repo/Cargo.toml" -p xtask -- "$@"
}

example_tools() {
    "${host_cargo[@]}" run --quiet --locked --manifest-path "$examples/tools/Cargo.toml" \
        --target-dir "$repo/target" -- "$@"
}

finish_component() {
    local lang=$1 component=$2
    xtask imports "$component" --only wasmilter:policy/ >/dev/null ||
        example_fail "$lang" "\"$component\" imports more than the policy world"
    echo "$lang/build.sh: wrote wasm-examples/$lang/$(basename "$component")" \
        "($(stat -c %s "$component") bytes)"
}
