//! Scan throughput of the detectors beside the raw engines they are built on, on the same
//! bytes in the same run: `cargo bench -p wasmilter --bench dlp`.
//!
//! - `scan`: every detector over a decoded text, as `scan-part` runs it;
//! - `regexset_raw`: one `RegexSet` of every detector's pattern over the whole text, the
//!   least any regex-based scan must do;
//! - `aho_corasick_raw`: every context keyword over the whole text, with the scanner's
//!   automaton settings;
//! - `parse_and_scan`: the whole message: MIME parse and decode, then every part and the
//!   headers scanned.
//!
//! The texts are synthetic mail prose with the digits of ordinary business mail (dates, times,
//! prices, order numbers) and one identifier every few kilobytes, 50 KB and 1 MB long.

use aho_corasick::{AhoCorasickBuilder, AhoCorasickKind, MatchKind};
use divan::Bencher;
use divan::counter::BytesCount;
use regex::RegexSet;

use wasmilter::dlp::{Detector, Scanner, keywords};
use wasmilter::mail::{Envelope, Mail};

fn main() {
    divan::main();
}

const SIZES: [usize; 2] = [50_000, 1_000_000];

const WORDS: &[&str] = &[
    "the",
    "patient",
    "was",
    "seen",
    "today",
    "and",
    "we",
    "will",
    "follow",
    "up",
    "next",
    "week",
    "please",
    "call",
    "the",
    "office",
    "if",
    "you",
    "have",
    "questions",
    "about",
    "your",
    "appointment",
    "thanks",
    "for",
    "sending",
    "records",
    "review",
    "attached",
    "schedule",
    "meeting",
    "invoice",
    "update",
    "team",
    "report",
    "order",
    "shipped",
    "on",
    "with",
    "regards",
    "from",
    "clinic",
    "billing",
    "department",
    "résumé",
    "café",
    "à",
];

/// A deterministic stream of pseudo-random numbers (no dependency, same text every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % n
    }
}

/// About `len` bytes of mail prose.
fn prose(len: usize) -> String {
    let mut rng = Lcg(7);
    let mut out = String::with_capacity(len + 200);
    let mut since_identifier = 0;
    while out.len() < len {
        let before = out.len();
        match rng.next(40) {
            0 => out.push_str(&format!("at {}:{:02} ", 8 + rng.next(10), rng.next(60))),
            1 => out.push_str(&format!("${}.{:02} ", rng.next(900), rng.next(100))),
            2 => out.push_str(&format!(
                "on {}/{}/2025 ",
                1 + rng.next(12),
                1 + rng.next(28)
            )),
            3 => out.push_str(&format!("order #{} ", 100_000 + rng.next(900_000))),
            4 => out.push_str(".\n"),
            _ => {
                out.push_str(WORDS[rng.next(WORDS.len())]);
                out.push(' ');
            }
        }
        since_identifier += out.len() - before;
        if since_identifier > 4000 {
            since_identifier = 0;
            out.push_str(match rng.next(5) {
                0 => "SSN 123-45-6789 ",
                1 => "card 4111 1111 1111 1111 ",
                2 => "NPI: 1245318062 ",
                3 => "MRN: 00482915\n",
                _ => "DOB: 03/14/1962\n",
            });
        }
    }
    out
}

fn message(len: usize) -> Vec<u8> {
    let body = prose(len);
    format!(
        "From: Dana <dana@example.org>\r\nTo: records@example.net\r\nSubject: notes\r\n\
         MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Transfer-Encoding: 8bit\r\n\r\n{body}"
    )
    .into_bytes()
}

#[divan::bench(args = SIZES)]
fn scan(bencher: Bencher<'_, '_>, len: usize) {
    let text = prose(len);
    let scanner = Scanner::new();
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| scanner.matches(divan::black_box(&text), &[]).len());
}

#[divan::bench(args = SIZES)]
fn regexset_raw(bencher: Bencher<'_, '_>, len: usize) {
    let text = prose(len);
    let set = RegexSet::new(Detector::ALL.map(Detector::pattern))
        .unwrap_or_else(|e| panic!("patterns compile: {e}"));
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| set.matches(divan::black_box(&text)).iter().count());
}

#[divan::bench(args = SIZES)]
fn aho_corasick_raw(bencher: Bencher<'_, '_>, len: usize) {
    let text = prose(len);
    // Built as the scanner builds its own.
    let automaton = AhoCorasickBuilder::new()
        .ascii_case_insensitive(true)
        .match_kind(MatchKind::LeftmostLongest)
        .kind(Some(AhoCorasickKind::DFA))
        .build(keywords())
        .unwrap_or_else(|e| panic!("keywords compile: {e}"));
    bencher
        .counter(BytesCount::of_str(&text))
        .bench(|| automaton.find_iter(divan::black_box(&text)).count());
}

#[divan::bench(args = SIZES)]
fn parse_and_scan(bencher: Bencher<'_, '_>, len: usize) {
    let raw = message(len);
    let scanner = Scanner::new();
    bencher.counter(BytesCount::new(raw.len())).bench(|| {
        let mail = Mail::parse(divan::black_box(&raw), Envelope::default());
        let mut n = scanner.header_matches(&mail, &[]).len();
        for part in &mail.parts {
            n += scanner.part_matches(part, &[]).len();
        }
        n
    });
}
