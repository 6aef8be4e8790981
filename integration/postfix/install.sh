#!/usr/bin/env bash
# Installs what the end-to-end tests talk to: Postfix, swaks, GnuPG, sq, OpenSSL.
#
# Debian 12, run as root. Non-interactive and idempotent: when every package is already
# installed it touches nothing (no network); otherwise it refreshes the package lists once
# and installs the missing ones. Postfix is preseeded to "No configuration", so the package
# writes no main.cf; integration/postfix/setup.sh writes the loopback-only one.
set -euo pipefail

packages=(postfix swaks gnupg sq openssl ca-certificates)

is_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

missing=()
for package in "${packages[@]}"; do
    is_installed "$package" || missing+=("$package")
done

if ((${#missing[@]} == 0)); then
    echo "install.sh: already installed: ${packages[*]}"
    exit 0
fi

if ((EUID != 0)); then
    echo "install.sh: must run as root to install: ${missing[*]}" >&2
    exit 1
fi

# Answer Postfix's configuration questions before apt asks them.
debconf-set-selections <<'SELECTIONS'
postfix postfix/main_mailer_type select No configuration
postfix postfix/mailname string wasmilter-e2e.localdomain
SELECTIONS

echo "install.sh: installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"

echo "install.sh: done"
