//! Test fixture: accepts every message and adds `X-Test-Policy: seen`, so a test can tell that
//! the policy ran.

use wasmilter_policy_sdk::{Message, Policy, Verdict};

struct AcceptAll;

impl Policy for AcceptAll {
    fn evaluate(_message: &Message) -> Verdict {
        Verdict::accept().add_header("X-Test-Policy", "seen")
    }
}

wasmilter_policy_sdk::export_policy!(AcceptAll);
