//! `wasmilter test`: runs the configured policies over message files offline, the way the
//! daemon would, and reports the combined action, header edits, detector counts and, for
//! encrypt, which recipients have keys.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;

use crate::actions::HeaderOp;
use crate::decision::totals;
use crate::mail::Envelope;
use crate::pipeline::{Incoming, Pipeline, split_message};

/// The report for one file.
#[derive(Debug, Clone, Serialize)]
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
            HeaderOp::Add { name, value } => format!("add {name}: {value}"),
            HeaderOp::Change {
                name,
                index,
                value: Some(v),
            } => format!("change {name}[{index}]: {v}"),
            HeaderOp::Change {
                name,
                index,
                value: None,
            } => format!("delete {name}[{index}]"),
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
