#!/usr/bin/env bash
# Builds every example and runs each through `wasmilter test` on the shared fixtures.
#
#   wasm-examples/run-all.sh [LANG...]    default: rust c zig python javascript go
#
# For each language: <lang>/build.sh, then
#
#   wasmilter test --config wasm-examples/<lang>/wasmilter.toml wasm-examples/fixtures
#
# which must pass every golden file in fixtures/ (it exits non-zero on a mismatch). The report
# it prints must also be the same, line for line, as the first language's (Rust by default):
# the golden files do not state the quarantine reason, the report does. A table of build time,
# test time and component size closes the run, then `N passed, N failed` counting languages.
#
# Needs install-toolchains.sh and the host, target/debug/wasmilter (cargo build -p wasmilter);
# $WASMILTER names another host binary.
set -euo pipefail
# shellcheck source=env.sh
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

languages=(rust c zig python javascript go)
[ $# -eq 0 ] || languages=("$@")
wasmilter=${WASMILTER:-$repo/target/debug/wasmilter}
fixtures=wasm-examples/fixtures # relative to $repo, so that reports name files the same way

say() {
    echo "run-all.sh: $*"
}

# seconds_since START: the seconds since START (from `date +%s%N`), to a tenth.
seconds_since() {
    local tenths=$((($(date +%s%N) - $1) / 100000000))
    echo "$((tenths / 10)).$((tenths % 10))"
}

[ -x "$wasmilter" ] || {
    say "no host at \"$wasmilter\": run cargo build -p wasmilter" >&2
    exit 1
}
for lang in "${languages[@]}"; do
    [ -f "$examples/$lang/build.sh" ] || {
        say "no example \"$lang\" (there is no wasm-examples/$lang/build.sh)" >&2
        exit 1
    }
done

cd "$repo"
eml_count=$(find "$fixtures" -name '*.eml' | wc -l)
golden_count=$(find "$fixtures" -name '*.expected.toml' | wc -l)
if [ "$eml_count" -eq 0 ] || [ "$eml_count" -ne "$golden_count" ]; then
    say "$fixtures has $eml_count messages and $golden_count golden files" >&2
    exit 1
fi
quarantine_count=$(grep -l '^action = "quarantine"' "$fixtures"/*.expected.toml | wc -l)

reports=$(mktemp -d "${TMPDIR:-/tmp}/wasm-examples.XXXXXX")
trap 'rm -rf "$reports"' EXIT

reference=""
passed=0
failed=0
table=()

for lang in "${languages[@]}"; do
    echo
    say "== $lang"
    component="$examples/$lang/policy.wasm"
    rm -f "$component"

    # Build.
    start=$(date +%s%N)
    if ! bash "$examples/$lang/build.sh"; then
        say "$lang: the build failed" >&2
        failed=$((failed + 1))
        table+=("$(printf '%-11s %9s %9s %11s  %s' "$lang" - - - "build failed")")
        continue
    fi
    build_s=$(seconds_since "$start")

    # Test: the golden files, then the report against the reference language's.
    start=$(date +%s%N)
    problems=()
    if ! "$wasmilter" test --config "$examples/$lang/wasmilter.toml" "$fixtures" \
        >"$reports/$lang.txt" 2>"$reports/$lang.err"; then
        problems+=("wasmilter test failed")
    fi
    test_s=$(seconds_since "$start")
    summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$reports/$lang.err" | tail -n1 || true)
    [ "$summary" = "$eml_count passed, 0 failed" ] ||
        problems+=("expected \"$eml_count passed, 0 failed\", got \"${summary:-no summary}\"")
    reasons=$(grep -c '^  reason: subject matched$' "$reports/$lang.txt" || true)
    [ "$reasons" -eq "$quarantine_count" ] ||
        problems+=("$reasons \"subject matched\" reasons for $quarantine_count quarantined messages")
    if [ -z "$reference" ]; then
        reference=$lang
    elif ! diff -u "$reports/$reference.txt" "$reports/$lang.txt" >"$reports/$lang.diff"; then
        problems+=("its report differs from the $reference report")
    fi

    size=$(stat -c %s "$component")
    if [ ${#problems[@]} -eq 0 ]; then
        passed=$((passed + 1))
        verdict="${summary}"
    else
        failed=$((failed + 1))
        verdict="FAILED: ${problems[0]}"
        for problem in "${problems[@]:1}"; do
            verdict+="; $problem"
        done
        sed 's/^/    /' "$reports/$lang.err" >&2
        [ ! -s "$reports/$lang.diff" ] || sed 's/^/    /' "$reports/$lang.diff" >&2
    fi
    say "$lang: $verdict"
    table+=("$(printf '%-11s %8ss %8ss %11s  %s' "$lang" "$build_s" "$test_s" "$size" "$verdict")")
done

echo
printf '%-11s %9s %9s %11s  %s\n' language build test "size (B)" "wasmilter test"
printf '%s\n' "${table[@]}"
echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
