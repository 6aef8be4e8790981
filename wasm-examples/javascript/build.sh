#!/usr/bin/env bash
# Builds the JavaScript example into wasm-examples/javascript/policy.wasm.
#
# componentize-js (npm) puts policy.js into a component with the StarlingMonkey engine. Every
# WASI feature of the engine is disabled (-d), so the component imports only the policy world:
# the host links no WASI. So console.log, Math.random and Date.now are not there; a policy logs
# through host.log.
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/javascript"

require_tool javascript node
require_tool javascript componentize-js

componentize-js "$here/policy.js" --wit "$wit" --world-name "$world" \
    --disable stdio random clocks http fetch-event --out "$here/policy.wasm" >/dev/null
finish_component javascript "$here/policy.wasm"
