//! Native detectors for protected health information, offered to policies through the
//! `detectors` interface of the WIT world.
//!
//! A detector finds candidates with a pattern, checks them with a validator (number ranges,
//! checksums) and raises its confidence when a keyword stands nearby. Findings are counted;
//! the matched value leaves this module only masked (last four characters), and only for the
//! `wasmilter scan` command, never for the daemon's logs or metrics.

use regex::Regex;

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
    /// The normalised value (digits only for numbers).
    pub value: String,
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

/// The detector names this host offers.
pub const DETECTORS: &[&str] = &["ssn", "card"];

/// How far (in bytes, either side) a keyword may stand from a match to count as "nearby".
const KEYWORD_WINDOW: usize = 300;

/// The compiled detectors. Built once per process; scanning takes `&self`.
#[derive(Debug)]
pub struct Scanner {
    ssn: Regex,
    ssn_bare: Regex,
    ssn_keywords: Regex,
    card: Regex,
    card_keywords: Regex,
}

impl Default for Scanner {
    fn default() -> Self {
        Self::new()
    }
}

impl Scanner {
    /// Compiles the detectors.
    #[allow(
        clippy::expect_used,
        reason = "the patterns are constants, checked by the tests"
    )]
    pub fn new() -> Scanner {
        let re = |p: &str| Regex::new(p).expect("detector pattern compiles");
        Scanner {
            ssn: re(r"\b(\d{3})([- ])(\d{2})([- ])(\d{4})\b"),
            ssn_bare: re(r"\b\d{9}\b"),
            ssn_keywords: re(r"(?i)\b(ssn|ss#|social security|soc\.? ?sec|ssa number|taxpayer id)"),
            card: re(r"\b\d(?:[ -]?\d){12,18}\b"),
            card_keywords: re(
                r"(?i)\b(card|credit|debit|visa|mastercard|amex|american express|discover|cc#|ccn|payment|expir)",
            ),
        }
    }

    /// Every validated match of the named detectors (all when `which` is empty).
    pub fn matches(&self, text: &str, which: &[&str]) -> Vec<Match> {
        let wants = |name: &str| which.is_empty() || which.contains(&name);
        let mut out = Vec::new();
        if wants("ssn") {
            self.scan_ssn(text, &mut out);
        }
        if wants("card") {
            self.scan_card(text, &mut out);
        }
        out
    }

    /// Counted findings of the named detectors (all when `which` is empty).
    pub fn findings(&self, text: &str, which: &[&str]) -> Vec<Finding> {
        count(&self.matches(text, which))
    }

    fn scan_ssn(&self, text: &str, out: &mut Vec<Match>) {
        for caps in self.ssn.captures_iter(text) {
            let (Some(area), Some(sep1), Some(group), Some(sep2), Some(serial)) = (
                caps.get(1),
                caps.get(2),
                caps.get(3),
                caps.get(4),
                caps.get(5),
            ) else {
                continue;
            };
            if sep1.as_str() != sep2.as_str() {
                continue;
            }
            if !valid_ssn(area.as_str(), group.as_str(), serial.as_str()) {
                continue;
            }
            let whole = caps.get(0).map_or(0..0, |m| m.range());
            let confidence = if near(&self.ssn_keywords, text, whole) {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(Match {
                detector: "ssn",
                confidence,
                value: format!("{}{}{}", area.as_str(), group.as_str(), serial.as_str()),
            });
        }

        // Nine digits without separators are an SSN only when a keyword says so.
        for m in self.ssn_bare.find_iter(text) {
            let s = m.as_str();
            if valid_ssn(&s[0..3], &s[3..5], &s[5..9]) && near(&self.ssn_keywords, text, m.range())
            {
                out.push(Match {
                    detector: "ssn",
                    confidence: Confidence::High,
                    value: s.to_owned(),
                });
            }
        }
    }

    fn scan_card(&self, text: &str, out: &mut Vec<Match>) {
        for m in self.card.find_iter(text) {
            let raw = m.as_str();
            if !consistent_separators(raw) {
                continue;
            }
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            if !(13..=19).contains(&digits.len()) || digits.bytes().all(|b| b == b'0') {
                continue;
            }
            if !known_issuer(&digits) || !luhn(&digits) {
                continue;
            }
            let confidence = if near(&self.card_keywords, text, m.range()) {
                Confidence::High
            } else {
                Confidence::Medium
            };
            out.push(Match {
                detector: "card",
                confidence,
                value: digits,
            });
        }
    }
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

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000.
fn valid_ssn(area: &str, group: &str, serial: &str) -> bool {
    area != "000" && area != "666" && !area.starts_with('9') && group != "00" && serial != "0000"
}

/// A card number uses one kind of separator, in groups, or none at all.
fn consistent_separators(raw: &str) -> bool {
    let has_space = raw.contains(' ');
    let has_dash = raw.contains('-');
    !(has_space && has_dash)
}

/// Issuer prefixes of the major card networks.
fn known_issuer(digits: &str) -> bool {
    let p = |n: usize| {
        digits
            .get(..n)
            .and_then(|s| s.parse::<u32>().ok())
            .unwrap_or(0)
    };
    let len = digits.len();
    match digits.as_bytes().first() {
        Some(b'4') => matches!(len, 13 | 16 | 19),
        Some(b'5') => (51..=55).contains(&p(2)) && len == 16,
        Some(b'2') => (2221..=2720).contains(&p(4)) && len == 16,
        Some(b'3') => {
            (matches!(p(2), 34 | 37) && len == 15)
                || (p(2) == 35 && (16..=19).contains(&len))
                || ((matches!(p(2), 36 | 38 | 39) || (300..=305).contains(&p(3)))
                    && (14..=19).contains(&len))
        }
        Some(b'6') => {
            (p(4) == 6011
                || p(2) == 65
                || (644..=649).contains(&p(3))
                || (622126..=622925).contains(&p(6)))
                && (16..=19).contains(&len)
        }
        _ => false,
    }
}

/// The Luhn checksum over a string of ASCII digits.
pub fn luhn(digits: &str) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.bytes().rev().enumerate() {
        let mut d = u32::from(b.wrapping_sub(b'0'));
        if d > 9 {
            return false;
        }
        if i % 2 == 1 {
            d *= 2;
            if d > 9 {
                d -= 9;
            }
        }
        sum += d;
    }
    sum.is_multiple_of(10)
}

/// Whether a keyword stands within the window around `range`.
fn near(keywords: &Regex, text: &str, range: std::ops::Range<usize>) -> bool {
    let mut start = range.start.saturating_sub(KEYWORD_WINDOW);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    let mut end = (range.end + KEYWORD_WINDOW).min(text.len());
    while !text.is_char_boundary(end) {
        end += 1;
    }
    keywords.is_match(&text[start..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str, detector: &str) -> u32 {
        Scanner::new()
            .findings(text, &[])
            .iter()
            .filter(|f| f.detector == detector)
            .map(|f| f.count)
            .sum()
    }

    #[test]
    fn valid_ssns_are_found() {
        assert_eq!(found("patient 123-45-6789 seen", "ssn"), 1);
        assert_eq!(found("ids 123 45 6789 and 234-56-7890", "ssn"), 2);
        assert_eq!(found("SSN: 123456789", "ssn"), 1);
    }

    #[test]
    fn invalid_ssns_are_not_found() {
        for bad in [
            "000-12-3456",
            "666-12-3456",
            "912-34-5678",
            "123-00-4567",
            "123-45-0000",
            "123-45 6789",
        ] {
            assert_eq!(found(bad, "ssn"), 0, "{bad}");
        }
        // Nine bare digits without a keyword are not an SSN.
        assert_eq!(found("order 123456789 shipped", "ssn"), 0);
        // Part of a longer number.
        assert_eq!(found("1123-45-67890", "ssn"), 0);
    }

    #[test]
    fn keyword_raises_confidence() {
        let s = Scanner::new();
        assert_eq!(
            s.findings("123-45-6789", &[])[0].confidence,
            Confidence::Medium
        );
        assert_eq!(
            s.findings("social security 123-45-6789", &[])[0].confidence,
            Confidence::High
        );
    }

    #[test]
    fn cards_need_luhn_and_issuer() {
        assert_eq!(found("4111 1111 1111 1111", "card"), 1);
        assert_eq!(found("4111-1111-1111-1111", "card"), 1);
        assert_eq!(found("3782 822463 10005", "card"), 1);
        assert_eq!(found("5555555555554444", "card"), 1);
        assert_eq!(found("4111 1111 1111 1112", "card"), 0, "fails Luhn");
        assert_eq!(found("0000 0000 0000 0000", "card"), 0, "placeholder");
        assert_eq!(found("1234 5678 9012 3452", "card"), 0, "no issuer");
        assert_eq!(found("4111-1111 1111-1111", "card"), 0, "mixed separators");
        assert_eq!(
            found("941111111111111111119", "card"),
            0,
            "part of a longer run"
        );
    }

    #[test]
    fn masking_keeps_last_four() {
        assert_eq!(mask("123456789"), "*****6789");
        assert_eq!(mask("12"), "12");
        let m = &Scanner::new().matches("4111111111111111", &["card"])[0];
        assert_eq!(m.masked(), "************1111");
    }

    #[test]
    fn selection_limits_detectors() {
        let text = "123-45-6789 4111111111111111";
        let s = Scanner::new();
        assert_eq!(s.findings(text, &["card"]).len(), 1);
        assert_eq!(s.findings(text, &[]).len(), 2);
    }
}
