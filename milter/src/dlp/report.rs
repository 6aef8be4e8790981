//! `wasmilter scan`: the detectors run directly on message files, and what they find listed
//! per file, with values masked unless the caller asks for them (test fixtures only; the
//! daemon never does).

use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{Confidence, Match, Scanner, mask};
use crate::mail::{Envelope, Mail};

/// What was found in one file.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    /// The file as named on the command line (or found under a directory).
    pub file: String,
    /// Distinct matches, in part order: one per detector, value and part.
    pub findings: Vec<ReportFinding>,
    /// Content that decoding did not reach, when there is some.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub unscanned: Vec<ReportUnscanned>,
}

/// One distinct match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportFinding {
    /// Detector name.
    pub detector: &'static str,
    /// The normalised value, masked to its last four characters unless asked otherwise.
    pub value: String,
    /// The strongest confidence this value was found with in this part.
    pub confidence: &'static str,
    /// `header`, or the part id (`1`, `1.2`, `2.1` for an archive entry).
    pub part: String,
}

/// Content not scanned.
#[derive(Debug, Clone, Serialize)]
pub struct ReportUnscanned {
    /// The part id.
    pub part: String,
    /// Why (`too-large`, `ratio`, `encrypted`, ...).
    pub reason: &'static str,
}

/// Scans one message file.
pub fn scan_file(scanner: &Scanner, path: &Path, show_matches: bool) -> io::Result<FileReport> {
    let raw = std::fs::read(path)?;
    let mail = Mail::parse(&raw, Envelope::default());

    let mut findings: Vec<ReportFinding> = Vec::new();
    let mut strongest: HashMap<(&'static str, String, String), (usize, Confidence)> =
        HashMap::new();
    let mut add = |part: &str, matches: Vec<Match>| {
        for m in matches {
            let key = (m.detector, m.value.clone(), part.to_owned());
            match strongest.get_mut(&key) {
                Some((index, best)) if m.confidence > *best => {
                    *best = m.confidence;
                    findings[*index].confidence = m.confidence.as_str();
                }
                Some(_) => {}
                None => {
                    strongest.insert(key, (findings.len(), m.confidence));
                    findings.push(ReportFinding {
                        detector: m.detector,
                        value: if show_matches {
                            m.value
                        } else {
                            mask(&m.value)
                        },
                        confidence: m.confidence.as_str(),
                        part: part.to_owned(),
                    });
                }
            }
        }
    };
    add("header", scanner.header_matches(&mail, &[]));
    for part in &mail.parts {
        add(&part.id, scanner.part_matches(part, &[]));
    }

    Ok(FileReport {
        file: path.display().to_string(),
        findings,
        unscanned: mail
            .unscanned
            .iter()
            .map(|u| ReportUnscanned {
                part: u.part.clone(),
                reason: u.reason.as_str(),
            })
            .collect(),
    })
}

impl FileReport {
    /// The report for people: the file, then one line per finding.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {} findings\n", self.file, self.findings.len());
        for f in &self.findings {
            out.push_str(&format!(
                "  part {}: {} {} ({})\n",
                f.part, f.detector, f.value, f.confidence
            ));
        }
        for u in &self.unscanned {
            out.push_str(&format!("  part {}: not scanned: {}\n", u.part, u.reason));
        }
        out
    }
}

/// The files to scan: files as given, directories walked recursively for `*.eml`, in name
/// order.
pub fn message_files(paths: &[PathBuf]) -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut found = Vec::new();
            walk(path, &mut found)?;
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("eml"))
        {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_masked_and_deduplicated() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("m.eml");
        std::fs::write(
            &path,
            "Subject: SSN 123-45-6789\n\nssn 123-45-6789 and 123-45-6789, card 4111111111111111\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let scanner = Scanner::new();

        let report = scan_file(&scanner, &path, false).unwrap_or_else(|e| panic!("{e}"));
        let got: Vec<(&str, &str, &str)> = report
            .findings
            .iter()
            .map(|f| (f.detector, f.value.as_str(), f.part.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                ("ssn", "*******6789", "header"),
                ("ssn", "*******6789", "1"),
                ("card", "************1111", "1"),
            ]
        );

        let report = scan_file(&scanner, &path, true).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report.findings[0].value, "123-45-6789");
    }
}
