//! phi-dlp, the policy wasmilter ships: encrypt every message that carries protected health
//! information, or whose sender asks for it with `[secure]` in the Subject.
//!
//! The policy does no matching itself. It asks the host's native detectors to scan every text
//! part and the headers, and turns what they count into a verdict:
//!
//! - any finding: `encrypt`, with the findings for the audit line;
//! - a Subject that contains the tag (`[secure]`, any case): `encrypt`, tagged `secure-subject`;
//! - otherwise: `accept`.
//!
//! Settings, both optional, are described in `README.md` beside this file.

use wasmilter_policy_sdk::{Finding, Message, Policy, Verdict, settings};

/// The detectors run when the `detectors` setting is absent.
const DEFAULT_DETECTORS: &[&str] = &["ssn", "card"];

/// The Subject tag that asks for encryption when the `subject-tag` setting is absent.
const DEFAULT_SUBJECT_TAG: &str = "[secure]";

/// The audit tag of a message encrypted because of its Subject.
const SECURE_SUBJECT: &str = "secure-subject";

struct PhiDlp;

impl Policy for PhiDlp {
    fn evaluate(message: &Message) -> Verdict {
        let configured = settings::list("detectors");
        let detectors: Vec<&str> = match &configured {
            Some(names) => names.iter().map(String::as_str).collect(),
            None => DEFAULT_DETECTORS.to_vec(),
        };
        let subject_tag = settings::get_or("subject-tag", DEFAULT_SUBJECT_TAG);

        let mut findings = Vec::new();
        // Every part: the host scans the text of text parts and the file name of all of them.
        for part in message.parts() {
            findings.extend(part.scan(&detectors));
        }
        findings.extend(message.scan_headers(&detectors));

        let secure_subject = message
            .subject()
            .is_some_and(|subject| contains_tag(&subject, &subject_tag));

        decide(findings, secure_subject)
    }
}

wasmilter_policy_sdk::export_policy!(PhiDlp);

/// Whether `subject` contains `tag`, ignoring ASCII case. An empty tag never matches.
fn contains_tag(subject: &str, tag: &str) -> bool {
    !tag.is_empty()
        && subject
            .to_ascii_lowercase()
            .contains(&tag.to_ascii_lowercase())
}

/// The verdict for what the detectors found and whether the Subject asked for encryption.
fn decide(findings: Vec<Finding>, secure_subject: bool) -> Verdict {
    // A finding that counts nothing is not a finding.
    let findings: Vec<Finding> = findings.into_iter().filter(|f| f.count > 0).collect();

    if findings.is_empty() && !secure_subject {
        return Verdict::accept();
    }

    let verdict = Verdict::encrypt().with_findings(findings);
    if secure_subject {
        verdict.with_tag(SECURE_SUBJECT)
    } else {
        verdict
    }
}

#[cfg(test)]
mod tests {
    use wasmilter_policy_sdk::{Action, Confidence, Finding};

    use super::{DEFAULT_SUBJECT_TAG, contains_tag, decide};

    fn finding(detector: &str, count: u32) -> Finding {
        Finding {
            detector: detector.into(),
            confidence: Confidence::Medium,
            count,
            part: "1".into(),
        }
    }

    #[test]
    fn nothing_found_is_accepted() {
        let verdict = decide(Vec::new(), false);

        assert_eq!(verdict.action, Action::Accept);
        assert!(verdict.findings.is_empty() && verdict.tags.is_empty());
    }

    #[test]
    fn findings_are_encrypted_and_reported() {
        let verdict = decide(vec![finding("ssn", 2), finding("card", 1)], false);

        assert_eq!(verdict.action, Action::Encrypt);
        let detectors: Vec<&str> = verdict.findings.iter().map(|f| &*f.detector).collect();
        assert_eq!(detectors, ["ssn", "card"]);
        assert!(verdict.tags.is_empty());
    }

    #[test]
    fn secure_subject_is_encrypted_and_tagged() {
        let verdict = decide(Vec::new(), true);

        assert_eq!(verdict.action, Action::Encrypt);
        assert_eq!(verdict.tags, ["secure-subject"]);
    }

    #[test]
    fn zero_count_findings_do_not_encrypt() {
        let verdict = decide(vec![finding("ssn", 0)], false);

        assert_eq!(verdict.action, Action::Accept);
        assert!(verdict.findings.is_empty());
    }

    #[test]
    fn subject_tag_ignores_case() {
        assert!(contains_tag("Lab results [SECURE]", DEFAULT_SUBJECT_TAG));
        assert!(contains_tag("[Secure] lab results", DEFAULT_SUBJECT_TAG));
        assert!(!contains_tag("secure lab results", DEFAULT_SUBJECT_TAG));
        assert!(!contains_tag("anything", ""));
    }
}
