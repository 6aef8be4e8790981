//! Test fixture: quarantines, with the reason `subject matched`, a message whose Subject
//! contains the setting `word` (case-sensitive); otherwise accepts and adds
//! `X-Word-Checked: yes`. Without the setting, or with an empty one, nothing matches. Lets the
//! host's tests check that settings reach the policy.

use wasmilter_policy_sdk::{Message, Policy, Verdict, settings};

struct QuarantineWord;

impl Policy for QuarantineWord {
    fn evaluate(message: &Message) -> Verdict {
        let word = settings::get("word").filter(|word| !word.is_empty());
        let subject = message.subject().unwrap_or_default();

        match word {
            Some(word) if subject.contains(&word) => Verdict::quarantine("subject matched"),
            _ => Verdict::accept().add_header("X-Word-Checked", "yes"),
        }
    }
}

wasmilter_policy_sdk::export_policy!(QuarantineWord);
