//! Test fixture: allocates memory without bound, for the host's memory limit. It keeps every
//! 1 MiB block and writes to each of its pages, so the memory is really used. When the host
//! refuses to grow the memory, the allocation fails and the call ends with a trap.

use std::hint::black_box;

use wasmilter_policy_sdk::{Message, Policy, Verdict};

const BLOCK: usize = 1 << 20;
const PAGE: usize = 64 << 10;

struct Hog;

impl Policy for Hog {
    fn evaluate(_message: &Message) -> Verdict {
        let mut hoard: Vec<Vec<u8>> = Vec::new();
        loop {
            let mut block = vec![0u8; BLOCK];
            for offset in (0..BLOCK).step_by(PAGE) {
                block[offset] = 1;
            }
            hoard.push(black_box(block));
        }
    }
}

wasmilter_policy_sdk::export_policy!(Hog);
