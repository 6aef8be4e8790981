//! Test fixture: never returns from `evaluate`, for the host's time limit (fuel and epoch
//! deadline).

use std::hint::black_box;

use wasmilter_policy_sdk::{Message, Policy, Verdict};

struct Loop;

impl Policy for Loop {
    fn evaluate(_message: &Message) -> Verdict {
        // `black_box` keeps the counter alive, so the loop does real work on every turn.
        let mut turns = 0u64;
        loop {
            turns = black_box(turns.wrapping_add(1));
        }
    }
}

wasmilter_policy_sdk::export_policy!(Loop);
