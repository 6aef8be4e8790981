//! `wasmilter test`: runs the configured policies over message files offline, the way the
//! daemon would, and reports the combined action, header edits, detector counts and, for
//! encrypt, which recipients have keys.
//!
//! It is also the policy author's test harness: beside `x.eml`, a golden file
//! `x.expected.toml` states the expected `action` and, optionally, `policies`, `findings` and
//! `header_edits`. A mismatch prints a readable difference and makes the command fail;
//! `--bless` writes the golden files from what the policies do now.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::actions::HeaderOp;
use crate::decision::totals;
use crate::mail::Envelope;
use crate::pipeline::{Incoming, Pipeline, split_message};

/// The report for one file.
#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq, Eq)]
pub struct Report {
    /// The file.
    pub file: String,
    /// The final action.
    pub action: String,
    /// Each policy's action (`error:KIND` on failure).
    pub policies: BTreeMap<String, String>,
    /// Detector totals.
    pub findings: BTreeMap<String, u32>,
    /// Header operations, as text (`add NAME: VALUE`, `change NAME[1]: VALUE`, `delete NAME[1]`).
    pub header_edits: Vec<String>,
    /// Envelope operations (`add-recipient ADDRESS`, `remove-recipient ADDRESS`).
    #[serde(default)]
    pub envelope_edits: Vec<String>,
    /// For encrypt: recipient → certificate fingerprint (null when none).
    pub recipients: BTreeMap<String, Option<String>>,
    /// Quarantine reason or reply text.
    pub reason: Option<String>,
}

/// Envelope overrides from the command line.
#[derive(Debug, Clone, Default)]
pub struct EnvelopeArgs {
    /// `--from`
    pub from: Option<String>,
    /// `--to`
    pub to: Vec<String>,
}

/// Runs the pipeline over one file.
pub fn run_file(pipeline: &Pipeline, path: &Path, args: &EnvelopeArgs) -> std::io::Result<Report> {
    let raw = std::fs::read(path)?;
    let (headers, body_offset) = split_message(&raw);
    let envelope = envelope_for(&raw, args);
    let incoming = Incoming {
        envelope,
        headers,
        message: &raw,
        body_offset,
    };
    let outcome = pipeline.process(&incoming);

    let policies = outcome
        .results
        .iter()
        .map(|r| {
            let action = match &r.outcome {
                Ok(v) => v.action.as_str().to_owned(),
                Err((kind, _)) => format!("error:{}", kind.as_str()),
            };
            (r.name.clone(), action)
        })
        .collect();
    let findings = totals(&outcome.decision.findings).into_iter().collect();
    let header_edits = outcome
        .header_ops
        .iter()
        .map(|op| match op {
            HeaderOp::Add { name, value } => format!("add {name}: {}", stable(value)),
            HeaderOp::Change {
                name,
                index,
                value: Some(v),
            } => format!("change {name}[{index}]: {}", stable(v)),
            HeaderOp::Change {
                name,
                index,
                value: None,
            } => format!("delete {name}[{index}]"),
        })
        .collect();
    let envelope_edits = outcome
        .recipient_ops
        .iter()
        .map(|op| match op {
            crate::pipeline::RecipientOp::Add(a) => format!("add-recipient {a}"),
            crate::pipeline::RecipientOp::Remove(a) => format!("remove-recipient {a}"),
        })
        .collect();
    let recipients = outcome
        .keys
        .iter()
        .map(|k| (k.recipient.clone(), k.fingerprint.clone()))
        .collect();

    Ok(Report {
        file: path.display().to_string(),
        action: outcome.action.as_str().to_owned(),
        policies,
        findings,
        header_edits,
        envelope_edits,
        recipients,
        reason: outcome
            .quarantine_reason
            .clone()
            .or_else(|| outcome.reply.as_ref().map(|r| r.text.clone())),
    })
}

/// The envelope: the flags, else the From/To/Cc headers.
fn envelope_for(raw: &[u8], args: &EnvelopeArgs) -> Envelope {
    let parsed = mail_parser::MessageParser::default().parse_headers(raw);
    let first = |a: Option<&mail_parser::Address<'_>>| -> Vec<String> {
        a.map(|a| {
            a.iter()
                .filter_map(|addr| addr.address().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
    };
    let sender = args.from.clone().unwrap_or_else(|| {
        parsed
            .as_ref()
            .and_then(|m| first(m.from()).into_iter().next())
            .unwrap_or_default()
    });
    let recipients = if args.to.is_empty() {
        parsed
            .as_ref()
            .map(|m| [first(m.to()), first(m.cc())].concat())
            .unwrap_or_default()
    } else {
        args.to.clone()
    };
    Envelope {
        sender,
        recipients,
        queue_id: Some("TEST".into()),
        ..Envelope::default()
    }
}

impl Report {
    /// Human-readable form.
    pub fn text(&self) -> String {
        let mut out = format!("{}: {}\n", self.file, self.action);
        for (name, action) in &self.policies {
            out.push_str(&format!("  policy {name}: {action}\n"));
        }
        if self.findings.is_empty() {
            out.push_str("  findings: none\n");
        } else {
            let list: Vec<String> = self
                .findings
                .iter()
                .map(|(d, n)| format!("{d}={n}"))
                .collect();
            out.push_str(&format!("  findings: {}\n", list.join(" ")));
        }
        for edit in &self.header_edits {
            out.push_str(&format!("  header: {edit}\n"));
        }
        for edit in &self.envelope_edits {
            out.push_str(&format!("  envelope: {edit}\n"));
        }
        for (rcpt, key) in &self.recipients {
            match key {
                Some(fpr) => out.push_str(&format!("  recipient {rcpt}: key {fpr}\n")),
                None => out.push_str(&format!("  recipient {rcpt}: no usable key\n")),
            }
        }
        if let Some(reason) = &self.reason {
            out.push_str(&format!("  reason: {reason}\n"));
        }
        out
    }
}

/// Replaces the random part of a MIME boundary we generate, so reports are reproducible.
fn stable(value: &str) -> String {
    match value.find("=_wasmilter_") {
        Some(start) => {
            let rest = &value[start + "=_wasmilter_".len()..];
            let end = rest
                .find(|c: char| !c.is_ascii_hexdigit())
                .unwrap_or(rest.len());
            format!("{}=_wasmilter_*{}", &value[..start], &rest[end..])
        }
        None => value.to_owned(),
    }
}

/// What a golden file states. `action` is required; the other fields are compared only when
/// present.
#[derive(Debug, Clone, Default, serde::Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Expected {
    /// The final action.
    pub action: String,
    /// Each policy's action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<BTreeMap<String, String>>,
    /// Detector totals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub findings: Option<BTreeMap<String, u32>>,
    /// Header operations, as in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_edits: Option<Vec<String>>,
    /// Envelope operations, as in the report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub envelope_edits: Option<Vec<String>>,
}

impl Expected {
    /// The golden file for a report (everything it can state).
    pub fn from_report(report: &Report) -> Expected {
        Expected {
            action: report.action.clone(),
            policies: Some(report.policies.clone()),
            findings: Some(report.findings.clone()),
            header_edits: Some(report.header_edits.clone()),
            envelope_edits: Some(report.envelope_edits.clone()),
        }
    }

    /// The differences, one readable line each; empty when the report matches.
    pub fn diff(&self, report: &Report) -> Vec<String> {
        let mut out = Vec::new();
        if self.action != report.action {
            out.push(format!(
                "action: expected {:?}, got {:?}",
                self.action, report.action
            ));
        }
        if let Some(policies) = &self.policies {
            diff_maps("policy", policies, &report.policies, &mut out);
        }
        if let Some(findings) = &self.findings {
            diff_maps("findings", findings, &report.findings, &mut out);
        }
        if let Some(edits) = &self.header_edits {
            for e in edits.iter().filter(|e| !report.header_edits.contains(e)) {
                out.push(format!("header edit missing: - {e}"));
            }
            for e in report.header_edits.iter().filter(|e| !edits.contains(e)) {
                out.push(format!("header edit unexpected: + {e}"));
            }
        }
        if let Some(edits) = self
            .envelope_edits
            .as_ref()
            .filter(|e| **e != report.envelope_edits)
        {
            out.push(format!(
                "envelope edits: expected {edits:?}, got {:?}",
                report.envelope_edits
            ));
        }
        out
    }
}

fn diff_maps<V: PartialEq + std::fmt::Debug>(
    what: &str,
    expected: &BTreeMap<String, V>,
    got: &BTreeMap<String, V>,
    out: &mut Vec<String>,
) {
    for (k, v) in expected {
        match got.get(k) {
            Some(g) if g == v => {}
            Some(g) => out.push(format!("{what} {k}: expected {v:?}, got {g:?}")),
            None => out.push(format!("{what} {k}: expected {v:?}, got nothing")),
        }
    }
    for (k, g) in got {
        if !expected.contains_key(k) {
            out.push(format!("{what} {k}: not expected, got {g:?}"));
        }
    }
}

/// The golden file beside a message: `x.eml` → `x.expected.toml`.
pub fn golden_path(message: &Path) -> std::path::PathBuf {
    let stem = message
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    message.with_file_name(format!("{stem}.expected.toml"))
}

/// The message files named: files as given, directories walked for `*.eml`, sorted.
pub fn message_files(paths: &[std::path::PathBuf]) -> std::io::Result<Vec<std::path::PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut stack = vec![path.clone()];
            let mut found = Vec::new();
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir)? {
                    let p = entry?.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|e| e == "eml") {
                        found.push(p);
                    }
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(path.clone());
        }
    }
    Ok(out)
}

/// The result of checking one file against its golden file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// No golden file: nothing to compare.
    Unchecked,
    /// Matches.
    Passed,
    /// Differs, with the differences.
    Failed(Vec<String>),
    /// The golden file was written.
    Blessed,
}

/// Compares a report with its golden file, or writes the golden file with `bless`.
pub fn check(report: &Report, message: &Path, bless: bool) -> Result<Check, String> {
    let golden = golden_path(message);
    if bless {
        let text = toml::to_string(&Expected::from_report(report)).map_err(|e| e.to_string())?;
        std::fs::write(&golden, text)
            .map_err(|e| format!("cannot write {}: {e}", golden.display()))?;
        return Ok(Check::Blessed);
    }
    if !golden.exists() {
        return Ok(Check::Unchecked);
    }
    let text = std::fs::read_to_string(&golden)
        .map_err(|e| format!("cannot read {}: {e}", golden.display()))?;
    let expected: Expected = toml::from_str(&text).map_err(|e| {
        let line = e.span().map_or(0, |s| {
            text[..s.start.min(text.len())].matches('\n').count() + 1
        });
        format!("{}:{line}: {}", golden.display(), e.message())
    })?;
    let diff = expected.diff(report);
    Ok(if diff.is_empty() {
        Check::Passed
    } else {
        Check::Failed(diff)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn report() -> Report {
        Report {
            file: "x.eml".into(),
            action: "encrypt".into(),
            policies: [("phi-dlp".to_owned(), "encrypt".to_owned())].into(),
            findings: [("ssn".to_owned(), 1)].into(),
            header_edits: vec!["add X-Wasmilter: action=encrypt".into()],
            envelope_edits: Vec::new(),
            recipients: BTreeMap::new(),
            reason: None,
        }
    }

    #[test]
    fn matching_golden_has_no_diff() {
        let e = Expected::from_report(&report());
        assert!(e.diff(&report()).is_empty());
        let only_action = Expected {
            action: "encrypt".into(),
            ..Expected::default()
        };
        assert!(only_action.diff(&report()).is_empty());
    }

    #[test]
    fn differences_are_readable() {
        let mut e = Expected::from_report(&report());
        e.action = "accept".into();
        e.findings = Some([("card".to_owned(), 2)].into());
        let diff = e.diff(&report());
        assert_eq!(
            diff,
            [
                "action: expected \"accept\", got \"encrypt\"",
                "findings card: expected 2, got nothing",
                "findings ssn: not expected, got 1",
            ]
        );
    }

    #[test]
    fn boundaries_are_stable() {
        assert_eq!(
            stable("multipart/encrypted; boundary=\"=_wasmilter_0123abcd\""),
            "multipart/encrypted; boundary=\"=_wasmilter_*\""
        );
    }
}
