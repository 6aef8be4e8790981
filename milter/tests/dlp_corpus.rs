//! The detectors against the synthetic DLP corpus (`shared/corpus/dlp`), through
//! `wasmilter scan` as a policy author runs it: every `must_find` of `expected.json` is
//! reported, no `must_not_find` is, the negative look-alikes report nothing at all, and
//! without `--show-matches` no value is printed in full.

#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    reason = "a failed test setup step should stop the test loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
mod common;

use std::process::Command;

use serde_json::Value;

fn dlp_corpus() -> PathBuf {
    common::corpus().join("dlp")
}

/// Runs `wasmilter scan --json` with `args` over the corpus; the report of each file by name.
fn scan(args: &[&str]) -> (BTreeMap<String, Value>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_wasmilter"))
        .args(["scan", "--json"])
        .args(args)
        .arg(dlp_corpus())
        .output()
        .expect("run wasmilter scan");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let stdout = String::from_utf8(out.stdout).expect("utf-8 output");
    let reports = stdout
        .lines()
        .map(|line| {
            let v: Value = serde_json::from_str(line).expect("one JSON object per line");
            let file = Path::new(v["file"].as_str().expect("file"))
                .file_name()
                .expect("file name")
                .to_string_lossy()
                .into_owned();
            (file, v)
        })
        .collect();
    (reports, stdout + &stderr)
}

/// The corpus's type names for our detector names.
fn corpus_type(detector: &str) -> &str {
    match detector {
        "card" => "credit_card",
        other => other,
    }
}

/// Values compared as `expected.json` says: digits only for SSNs, cards and NPIs, case-blind
/// for MRN, DEA and ICD-10, as written otherwise.
fn normalise(kind: &str, value: &str) -> String {
    match kind {
        "ssn" | "credit_card" | "npi" => {
            value.chars().filter(|c| !matches!(c, ' ' | '-')).collect()
        }
        "mrn" | "dea" | "icd10" => value.to_ascii_uppercase(),
        _ => value.to_owned(),
    }
}

fn pairs(list: &Value) -> BTreeSet<(String, String)> {
    list.as_array()
        .expect("list")
        .iter()
        .map(|e| {
            let kind = e["type"].as_str().expect("type");
            (
                kind.to_owned(),
                normalise(kind, e["value"].as_str().expect("value")),
            )
        })
        .collect()
}

#[test]
fn every_expected_identifier_is_found_and_no_look_alike_is() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dlp_corpus().join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json parses");
    let expected = expected["files"].as_object().expect("files");
    let (reports, _) = scan(&["--show-matches"]);
    assert_eq!(reports.len(), expected.len(), "one report per message");

    let mut failures = Vec::new();
    for (file, want) in expected {
        let Some(report) = reports.get(file) else {
            failures.push(format!("{file}: not scanned"));
            continue;
        };
        let found: BTreeSet<(String, String)> = report["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                let kind = corpus_type(f["detector"].as_str().expect("detector"));
                (
                    kind.to_owned(),
                    normalise(kind, f["value"].as_str().expect("value")),
                )
            })
            .collect();

        for missing in pairs(&want["must_find"]).difference(&found) {
            failures.push(format!("{file}: missed {missing:?}"));
        }
        for wrong in pairs(&want["must_not_find"]).intersection(&found) {
            failures.push(format!("{file}: reported look-alike {wrong:?}"));
        }
        if file.contains("-neg-") && !found.is_empty() {
            failures.push(format!("{file}: negative with findings {found:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn findings_name_their_part_and_confidence() {
    let (reports, _) = scan(&[]);
    let first = |file: &str| reports[file]["findings"][0].clone();

    let subject = first("dlp-016-subject-encoded-word-ssn.eml");
    assert_eq!(subject["part"], "header");
    assert_eq!(subject["detector"], "ssn");
    assert_eq!(subject["confidence"], "high", "SSN keyword in the Subject");

    let nested = first("dlp-015-nested-rfc822-base64.eml");
    assert_eq!(nested["part"], "2.1");

    let uuencoded = &reports["dlp-030-uuencode-body.eml"]["findings"];
    assert!(
        uuencoded
            .as_array()
            .expect("findings")
            .iter()
            .all(|f| f["part"] == "1.u1"),
        "{uuencoded}"
    );

    let mrn = first("dlp-021-mrn-keyword-variants.eml");
    assert_eq!(
        mrn["confidence"], "medium",
        "default MRN format: no validator"
    );
}

#[test]
fn values_are_masked_unless_asked_for() {
    let expected: Value = serde_json::from_str(
        &std::fs::read_to_string(dlp_corpus().join("expected.json")).expect("expected.json"),
    )
    .expect("expected.json parses");
    let (reports, output) = scan(&[]);

    for report in reports.values() {
        for f in report["findings"].as_array().expect("findings") {
            let value = f["value"].as_str().expect("value");
            let shown: Vec<char> = value.chars().collect();
            let hidden = shown.len().saturating_sub(4);
            assert!(shown[..hidden].iter().all(|c| *c == '*'), "{value}");
        }
    }

    // No expected value appears in full anywhere in the output.
    for (_, want) in expected["files"].as_object().expect("files") {
        for e in want["must_find"].as_array().expect("must_find") {
            let value = e["value"].as_str().expect("value");
            let digits: String = value.chars().filter(char::is_ascii_alphanumeric).collect();
            if digits.len() > 4 {
                assert!(!output.contains(value), "{value} printed");
                assert!(!output.contains(&digits), "{digits} printed");
            }
        }
    }
}

#[test]
fn site_mrn_format_replaces_the_default() {
    let (reports, _) = scan(&["--mrn-pattern", r"\bMR-[0-9]{4}-[0-9]{4}\b"]);
    let mrns = |file: &str| -> Vec<(String, String)> {
        reports[file]["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .filter(|f| f["detector"] == "mrn")
            .map(|f| {
                (
                    f["value"].as_str().expect("value").to_owned(),
                    f["confidence"].as_str().expect("confidence").to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(
        mrns("dlp-020-utf16-attachment.eml"),
        [("********0047".to_owned(), "high".to_owned())]
    );
    assert!(mrns("dlp-021-mrn-keyword-variants.eml").is_empty());

    let bad = Command::new(env!("CARGO_BIN_EXE_wasmilter"))
        .args(["scan", "--mrn-pattern", "("])
        .arg(dlp_corpus())
        .output()
        .expect("run wasmilter scan");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("invalid mrn pattern"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
}

/// Every message of the shared corpus (about 600 real and malformed messages) goes through
/// decoding and every detector without a crash.
#[test]
fn the_whole_corpus_scans_without_a_crash() {
    let files = common::corpus_messages();
    assert!(files.len() > 400, "corpus has {} files", files.len());

    let out = Command::new(env!("CARGO_BIN_EXE_wasmilter"))
        .args(["scan", "--json"])
        .args(&files)
        .output()
        .expect("run wasmilter scan");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout.lines().count(), files.len());
    for line in stdout.lines() {
        let v: Value = serde_json::from_str(line).expect("one JSON object per line");
        assert!(v["findings"].is_array(), "{line}");
    }
}
