#!/usr/bin/env bash
# Installs what the example builds need, and does nothing for a part that is there already:
#
#   Debian   the Rust guest toolchain (policies/install-toolchain.sh: rustc-web, cargo-web,
#            rust-web-src, lld-19), and for C clang, lld (wasm-ld), wasi-libc and the wasm32
#            compiler runtime
#   PyPI     requirements.txt (Zig, componentize-py, Go) in a virtual environment
#   npm      package.json and package-lock.json (componentize-js, jco)
#
# The PyPI and npm toolchains go to $WASM_EXAMPLES_TOOLS (default
# ~/.cache/wasmilter/wasm-examples), outside the clone, so that a new clone on the same machine
# finds them; they are reinstalled when requirements.txt or package-lock.json change.
# Versions are pinned in those files. Needs root (or sudo) for the Debian packages.
set -euo pipefail

examples=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
repo=$(dirname "$examples")
tools_dir=${WASM_EXAMPLES_TOOLS:-$HOME/.cache/wasmilter/wasm-examples}
debian_packages=(clang lld wasi-libc libclang-rt-dev-wasm32)

say() {
    echo "install-toolchains.sh: $*"
}

fail() {
    echo "install-toolchains.sh: $*" >&2
    exit 1
}

# The stamp of an installed part: the files that pin it, hashed.
stamp_of() {
    cat "$@" | sha256sum | cut -d' ' -f1
}

# Debian: the Rust guest toolchain, then the C toolchain.
bash "$repo/policies/install-toolchain.sh"

missing=()
for package in "${debian_packages[@]}"; do
    status=$(dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$package")
done
if [ ${#missing[@]} -eq 0 ]; then
    say "${debian_packages[*]} already installed"
else
    sudo=()
    if [ "$(id -u)" -ne 0 ]; then
        command -v sudo >/dev/null || fail "need root (or sudo) to install ${missing[*]}"
        sudo=(sudo)
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -q
    "${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

mkdir -p "$tools_dir"

# PyPI, in a virtual environment of its own.
venv="$tools_dir/venv"
stamp=$(stamp_of "$examples/requirements.txt")
if [ "$(cat "$venv/.stamp" 2>/dev/null)" = "$stamp" ]; then
    say "PyPI toolchains already installed in $venv"
else
    command -v python3 >/dev/null || fail "python3 is missing"
    say "installing the PyPI toolchains into $venv"
    rm -rf "$venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$examples/requirements.txt"
    echo "$stamp" >"$venv/.stamp"
fi

# npm, from the lock file.
node="$tools_dir/node"
stamp=$(stamp_of "$examples/package.json" "$examples/package-lock.json")
if [ "$(cat "$node/.stamp" 2>/dev/null)" = "$stamp" ]; then
    say "npm toolchains already installed in $node"
else
    command -v npm >/dev/null || fail "npm is missing (Node.js 20 or later)"
    say "installing the npm toolchains into $node"
    rm -rf "$node"
    mkdir -p "$node"
    cp "$examples/package.json" "$examples/package-lock.json" "$node/"
    (cd "$node" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$stamp" >"$node/.stamp"
fi

say "done"
