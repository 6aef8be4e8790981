//! my-policy: encrypt messages whose text carries a card number, and mark their Subject.
//!
//! Settings (`[policy.settings]` in the wasmilter config), all optional:
//!
//! - `detectors`: comma-separated detector names to run; default `card`.
//! - `subject-prefix`: text put in front of the Subject of an encrypted message; default
//!   `[encrypted] `. Empty: the Subject is left alone.

use wasmilter_policy_sdk::{Message, Policy, Verdict, log, settings};

struct MyPolicy;

impl Policy for MyPolicy {
    fn evaluate(message: &Message) -> Verdict {
        let detectors = settings::list("detectors").unwrap_or_else(|| vec!["card".to_string()]);
        let detectors: Vec<&str> = detectors.iter().map(String::as_str).collect();

        // Ask the host's detectors about every text part; they return counts, never the text.
        let mut findings = Vec::new();
        for part in message.text_parts() {
            findings.extend(part.scan(&detectors));
        }

        if findings.is_empty() {
            return Verdict::accept();
        }

        // Log what was decided, never what was found.
        log::debug(&format!("{} finding(s): encrypting", findings.len()));

        let verdict = Verdict::encrypt().with_findings(findings);
        let prefix = settings::get_or("subject-prefix", "[encrypted] ");
        if prefix.is_empty() {
            verdict
        } else {
            verdict.prefix_subject(prefix)
        }
    }
}

wasmilter_policy_sdk::export_policy!(MyPolicy);
