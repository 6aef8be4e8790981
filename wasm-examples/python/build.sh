#!/usr/bin/env bash
# Builds the Python example into wasm-examples/python/policy.wasm.
#
# componentize-py (PyPI) generates the `wit_world` package for the policy world, and bundles
# word_policy.py with a CPython built for WASI into one component. --stub-wasi replaces every
# WASI import with a stub that traps: the host links no WASI, and the component then imports
# only the policy world. So print() traps; a policy logs through wit_world.imports.host.log.
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/python"

require_tool python componentize-py

PYTHONDONTWRITEBYTECODE=1 componentize-py --wit-path "$wit" --world "$world" \
    componentize --stub-wasi --python-path "$here" word_policy --output "$here/policy.wasm" \
    >/dev/null
finish_component python "$here/policy.wasm"
