//! Native detectors for protected health information, offered to policies through the
//! `detectors` interface of the WIT world and to people through `wasmilter scan`.
//!
//! A detector finds candidates with a pattern, checks them with a validator (number ranges,
//! check digits, calendar dates) and looks for keywords nearby. Confidence follows from what
//! held: `low` the pattern only, `medium` pattern and validator, `high` pattern, validator and a
//! keyword nearby. Some detectors need the keyword to report anything at all (bare nine-digit
//! SSNs, routing numbers, medical record numbers, dates of birth, diagnosis codes).
//!
//! How a text is scanned, once for all detectors:
//!
//! 1. One pass over the bytes finds the windows worth a closer look: every pattern needs an
//!    ASCII digit (or an `@` for e-mail), so only the text within [`MARGIN`] bytes of one can
//!    hold a match. Prose without digits costs this pass and nothing else.
//! 2. In each window one [`regex::RegexSet`] of every detector's pattern says which detectors
//!    have a candidate there; only those run their own pattern, and only over the window.
//! 3. The keywords of every detector are found by one aho-corasick automaton, over the
//!    stretches of text around windows that hold candidates, each searched at most once;
//!    proximity is a binary search over those hits.
//!
//! The matched value leaves this module in [`Match::value`] for `wasmilter scan` and tests,
//! and masked ([`Match::masked`]) otherwise. Policies only ever receive counts; no value may
//! reach a log line, a metric label, a header or quarantine metadata.

mod detectors;
mod keywords;
pub mod report;
pub mod validate;

use std::ops::Range;

use regex::{Regex, RegexSet};

pub use detectors::{DEFAULT_MRN, Detector};
use keywords::{Hits, Keywords};

use crate::mail::{Mail, Part};

/// How sure a detector is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Confidence {
    /// The pattern matched.
    Low,
    /// The pattern matched and the validator passed.
    Medium,
    /// Pattern, validator and a keyword nearby.
    High,
}

impl Confidence {
    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

/// One validated match. `value` is the normalised match and must never be logged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Match {
    /// Detector name.
    pub detector: &'static str,
    /// Confidence of this match.
    pub confidence: Confidence,
    /// The normalised value: digits only for card, NPI, routing and phone numbers;
    /// `AAA-GG-SSSS` for SSNs; compact upper case for MBIs and IBANs; as written otherwise.
    pub value: String,
    /// Where the match is, in bytes of the text that was scanned.
    pub range: Range<usize>,
}

impl Match {
    /// The value with everything but the last four characters replaced by `*`.
    pub fn masked(&self) -> String {
        mask(&self.value)
    }
}

/// Masks all but the last four characters.
pub fn mask(value: &str) -> String {
    let n = value.chars().count();
    value
        .chars()
        .enumerate()
        .map(|(i, c)| if i + 4 < n { '*' } else { c })
        .collect()
}

/// Counted findings of one detector in one place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Detector name.
    pub detector: &'static str,
    /// Strongest confidence among the matches.
    pub confidence: Confidence,
    /// Number of matches.
    pub count: u32,
}

/// The detector names this host offers, as policies name them.
pub const DETECTORS: &[&str] = &[
    "ssn", "card", "npi", "dea", "icd10", "mrn", "dob", "mbi", "aba", "iban", "phone", "email",
];

/// Bytes of context kept on either side of a digit when windows are cut. Every detector
/// pattern (and a site's MRN pattern) must match within this distance of a digit.
pub const MARGIN: usize = 64;

/// Bytes kept on either side of an `@`: the longest local part and domain of an address.
const EMAIL_MARGIN: usize = 320;

/// Settings of the scanner.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The site's medical record number format, a regular expression (default
    /// [`DEFAULT_MRN`]). It must match text that holds an ASCII digit within [`MARGIN`] bytes of
    /// either end. Matches of a site format are reported `high`, of the default `medium`.
    pub mrn_pattern: Option<String>,
}

/// Why a scanner could not be built.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A pattern does not compile.
    #[error("invalid {detector} pattern {pattern:?}")]
    Pattern {
        /// The detector the pattern is for.
        detector: &'static str,
        /// The pattern as given.
        pattern: String,
        /// What the regex compiler said.
        #[source]
        source: regex::Error,
    },
    /// The keyword automaton cannot be built.
    #[error("cannot build the keyword automaton")]
    Keywords(#[source] aho_corasick::BuildError),
}

/// The compiled detectors. Built once per process (or per configuration); scanning takes
/// `&self` and may run on many threads at once.
#[derive(Debug)]
pub struct Scanner {
    /// One pattern per detector, in [`Detector::ALL`] order.
    set: RegexSet,
    /// The same patterns, one by one.
    patterns: Vec<Regex>,
    keywords: Keywords,
    site_mrn: bool,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// The detectors with their default settings.
    #[allow(
        clippy::expect_used,
        reason = "the shipped patterns and keywords are constants, compiled by the tests"
    )]
    pub fn new() -> Scanner {
        Scanner::with_options(&Options::default()).expect("shipped detectors compile")
    }

    /// The detectors with these settings.
    pub fn with_options(options: &Options) -> Result<Scanner, Error> {
        let sources: Vec<&str> = Detector::ALL
            .iter()
            .map(|d| match (d, &options.mrn_pattern) {
                (Detector::Mrn, Some(site)) => site.as_str(),
                _ => d.pattern(),
            })
            .collect();
        let patterns = Detector::ALL
            .iter()
            .zip(&sources)
            .map(|(d, p)| {
                Regex::new(p).map_err(|source| Error::Pattern {
                    detector: d.name(),
                    pattern: (*p).to_owned(),
                    source,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let set = RegexSet::new(&sources).map_err(|source| Error::Pattern {
            detector: "combined",
            pattern: String::new(),
            source,
        })?;
        Ok(Scanner {
            set,
            patterns,
            keywords: Keywords::new().map_err(Error::Keywords)?,
            site_mrn: options.mrn_pattern.is_some(),
        })
    }

    /// Every match of the named detectors (all when `which` is empty; unknown names are
    /// ignored), in text order.
    pub fn matches(&self, text: &str, which: &[&str]) -> Vec<Match> {
        let mut wanted = [which.is_empty(); Detector::ALL.len()];
        for d in which.iter().filter_map(|name| Detector::from_name(name)) {
            wanted[d.index()] = true;
        }
        // The generic MRN pattern must not claim what a validated detector matches, so those
        // run whenever MRNs are wanted; their matches are then dropped unless wanted too.
        let mut run = wanted;
        if wanted[Detector::Mrn.index()] {
            for d in Detector::ALL {
                run[d.index()] |= d.claims_before_mrn();
            }
        }

        let mut hits = Hits::default();
        let mut out = Vec::new();
        for window in windows(text) {
            let Some(slice) = text.get(window.clone()) else {
                continue;
            };
            let candidates = self.set.matches(slice);
            if !candidates.matched_any() {
                continue;
            }

            // The keywords that can bear on this window's candidates: each stretch of text is
            // searched once, when a candidate first needs it.
            let reach = detectors::KEYWORD_REACH;
            let region = window.start.saturating_sub(reach)..(window.end + reach).min(text.len());
            self.keywords.find_in(text, region, &mut hits);
            let cx = detectors::Context {
                text,
                hits: &hits,
                site_mrn: self.site_mrn,
            };
            let mut found = Vec::new();
            for detector in Detector::ALL {
                let i = detector.index();
                if !run[i] || !candidates.matched(i) {
                    continue;
                }
                let mut these = Vec::new();
                for m in self.patterns[i].find_iter(slice) {
                    let range = window.start + m.start()..window.start + m.end();
                    detectors::check(detector, &cx, range, &found, &mut these);
                }
                found.append(&mut these);
            }
            out.extend(
                found
                    .into_iter()
                    .filter(|m| Detector::from_name(m.detector).is_some_and(|d| wanted[d.index()])),
            );
        }
        out.sort_by_key(|m| m.range.start);
        out
    }

    /// Counted findings of the named detectors (all when `which` is empty).
    pub fn findings(&self, text: &str, which: &[&str]) -> Vec<Finding> {
        count(&self.matches(text, which))
    }

    /// Every match in a part: its file name, then its text.
    pub fn part_matches(&self, part: &Part, which: &[&str]) -> Vec<Match> {
        let mut out = Vec::new();
        if let Some(name) = &part.filename {
            out.extend(self.matches(name, which));
        }
        if let Some(text) = &part.text {
            out.extend(self.matches(text, which));
        }
        out
    }

    /// Counted findings in a part (file name and text).
    pub fn part_findings(&self, part: &Part, which: &[&str]) -> Vec<Finding> {
        count(&self.part_matches(part, which))
    }

    /// Every match in the headers a person reads (see [`Mail::header_text`]).
    pub fn header_matches(&self, mail: &Mail, which: &[&str]) -> Vec<Match> {
        self.matches(&mail.header_text, which)
    }
}

/// The stretches of `text` that can hold a match: every ASCII digit with [`MARGIN`] bytes on
/// either side, every `@` with [`EMAIL_MARGIN`], merged where they touch, on char boundaries.
fn windows(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut current: Option<Range<usize>> = None;
    for (i, &b) in bytes.iter().enumerate() {
        let margin = if b.wrapping_sub(b'0') < 10 {
            MARGIN
        } else if b == b'@' {
            EMAIL_MARGIN
        } else {
            continue;
        };
        let start = i.saturating_sub(margin);
        let end = (i + 1 + margin).min(bytes.len());
        match &mut current {
            Some(w) if w.end >= start => w.end = w.end.max(end),
            _ => {
                out.extend(current.replace(start..end));
            }
        }
    }
    out.extend(current);

    // Char boundaries only now, once per window; windows that come to touch are merged.
    let mut merged: Vec<Range<usize>> = Vec::with_capacity(out.len());
    for mut w in out {
        while !text.is_char_boundary(w.start) {
            w.start -= 1;
        }
        while !text.is_char_boundary(w.end) {
            w.end += 1;
        }
        match merged.last_mut() {
            Some(last) if last.end >= w.start => last.end = last.end.max(w.end),
            _ => merged.push(w),
        }
    }
    merged
}

/// Collapses matches into counted findings, one per detector, in first-seen order.
pub fn count(matches: &[Match]) -> Vec<Finding> {
    let mut out: Vec<Finding> = Vec::new();
    for m in matches {
        match out.iter_mut().find(|f| f.detector == m.detector) {
            Some(f) => {
                f.count += 1;
                f.confidence = f.confidence.max(m.confidence);
            }
            None => out.push(Finding {
                detector: m.detector,
                confidence: m.confidence,
                count: 1,
            }),
        }
    }
    out
}

/// Every context keyword of the shipped detectors (for benchmarks and documentation).
pub fn keywords() -> impl Iterator<Item = &'static str> {
    keywords::all()
}

/// The Luhn checksum over a string of ASCII digits.
pub fn luhn(digits: &str) -> bool {
    validate::luhn(digits)
}

#[cfg(test)]
mod tests;
