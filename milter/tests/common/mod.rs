//! Helpers shared by the integration tests: where the shared corpus is, and its messages.

#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::path::{Path, PathBuf};

/// The shared test corpus, beside the checkout (`../shared/corpus`), as CI lays it out.
pub fn corpus() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/corpus")).to_path_buf()
}

/// Every message file (`.eml`, `.txt`, `.msg`, `.mbox`) below the corpus, sorted.
pub fn corpus_messages() -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut stack = vec![corpus()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read corpus") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if matches!(
                path.extension().and_then(|e| e.to_str()),
                Some("eml" | "txt" | "msg" | "mbox")
            ) {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}
