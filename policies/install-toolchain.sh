#!/usr/bin/env bash
# Installs what policies/build.sh needs to build the policy components, and does nothing when
# it is all there already. CI runs it before the build; so can anyone, as root or with sudo.
#
# - rustc-web, cargo-web: Debian's Rust 1.96 compiler and its matching cargo (the guests' build
#   does not use rustup: the rustup toolchains have no wasm32 standard library here)
# - rust-web-src: the standard library source, rebuilt for wasm32 with -Z build-std
# - lld-19: wasm-ld-19, the linker (Debian's wasm-ld 14 fails with some allocators)
#
# The componentizer (xtask, in the root workspace) builds with the host's rustup toolchain.
set -euo pipefail

packages=(rustc-web cargo-web rust-web-src lld-19)

missing=()
for package in "${packages[@]}"; do
    status=$(dpkg-query -W -f '${db:Status-Status}' "$package" 2>/dev/null || true)
    [ "$status" = installed ] || missing+=("$package")
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-toolchain.sh: ${packages[*]} already installed"
    exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || {
        echo "install-toolchain.sh: need root (or sudo) to install ${missing[*]}" >&2
        exit 1
    }
    sudo=(sudo)
fi

echo "install-toolchain.sh: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
