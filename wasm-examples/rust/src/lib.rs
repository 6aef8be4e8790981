//! The word policy: quarantine a message whose Subject contains the setting `word`, with the
//! reason `subject matched`; otherwise accept it and add `X-Word-Checked: yes`.
//!
//! The match is case-sensitive. Without the setting, or with an empty one, nothing matches.

use wasmilter_policy_sdk::{Message, Policy, Verdict, settings};

struct WordPolicy;

impl Policy for WordPolicy {
    fn evaluate(message: &Message) -> Verdict {
        // An empty word would be found in every Subject: treat it as no word at all.
        let word = settings::get("word").filter(|word| !word.is_empty());
        let subject = message.subject().unwrap_or_default();

        match word {
            Some(word) if subject.contains(&word) => Verdict::quarantine("subject matched"),
            _ => Verdict::accept().add_header("X-Word-Checked", "yes"),
        }
    }
}

wasmilter_policy_sdk::export_policy!(WordPolicy);
