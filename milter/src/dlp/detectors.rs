//! The detectors: for each, the pattern that finds its candidates and the checks that turn a
//! candidate into a match (validator, keyword context, confidence, normalised value).

use std::ops::Range;

use super::keywords::{Hits, Topic};
use super::validate;
use super::{Confidence, Match};

/// One native detector.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Detector {
    /// US social security number.
    Ssn,
    /// Payment card number.
    Card,
    /// National provider identifier.
    Npi,
    /// DEA registration number.
    Dea,
    /// ICD-10-CM diagnosis code in clinical context.
    Icd10,
    /// Medical record number near a keyword.
    Mrn,
    /// A date near a birth keyword.
    Dob,
    /// Medicare beneficiary identifier.
    Mbi,
    /// ABA routing transit number near a keyword.
    Aba,
    /// International bank account number.
    Iban,
    /// US telephone number.
    Phone,
    /// E-mail address.
    Email,
}

impl Detector {
    /// Every detector, in the order they run: the ones with validators before the medical
    /// record number, whose generic pattern must not claim what another detector matched.
    pub const ALL: [Detector; 12] = [
        Detector::Ssn,
        Detector::Card,
        Detector::Npi,
        Detector::Dea,
        Detector::Icd10,
        Detector::Dob,
        Detector::Mbi,
        Detector::Aba,
        Detector::Iban,
        Detector::Phone,
        Detector::Email,
        Detector::Mrn,
    ];

    /// The name policies and reports use.
    pub fn name(self) -> &'static str {
        match self {
            Detector::Ssn => "ssn",
            Detector::Card => "card",
            Detector::Npi => "npi",
            Detector::Dea => "dea",
            Detector::Icd10 => "icd10",
            Detector::Mrn => "mrn",
            Detector::Dob => "dob",
            Detector::Mbi => "mbi",
            Detector::Aba => "aba",
            Detector::Iban => "iban",
            Detector::Phone => "phone",
            Detector::Email => "email",
        }
    }

    /// The detector of that name.
    pub fn from_name(name: &str) -> Option<Detector> {
        Detector::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Whether a match of this detector keeps the generic MRN pattern off its span.
    pub fn claims_before_mrn(self) -> bool {
        !matches!(self, Detector::Mrn | Detector::Email)
    }

    /// Position in [`Detector::ALL`].
    pub fn index(self) -> usize {
        Detector::ALL
            .iter()
            .position(|d| *d == self)
            .unwrap_or_default()
    }

    /// The candidate pattern. Every pattern matches text that contains an ASCII digit (or, for
    /// e-mail, an `@`) within [`super::MARGIN`] bytes of either end; the scanner relies on it.
    pub fn pattern(self) -> &'static str {
        match self {
            Detector::Ssn => {
                r"(?-u:\b)(?:[0-9]{3}-[0-9]{2}-[0-9]{4}|[0-9]{3} [0-9]{2} [0-9]{4}|[0-9]{9})(?-u:\b)"
            }
            Detector::Card => r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,}(?-u:\b)",
            Detector::Npi => r"(?-u:\b)[12][0-9]{9}(?-u:\b)",
            Detector::Dea => r"(?-u:\b)[A-Z][A-Z9][0-9]{7}(?-u:\b)",
            Detector::Icd10 => r"(?-u:\b)[A-Z][0-9][0-9A-Z](?:\.[0-9A-Z]{1,4})?(?-u:\b)",
            Detector::Mrn => DEFAULT_MRN,
            Detector::Dob => concat!(
                r"(?-u:\b)(?:",
                r"[0-9]{1,2}[/.-][0-9]{1,2}[/.-][0-9]{4}",
                r"|[0-9]{4}[/.-][0-9]{1,2}[/.-][0-9]{1,2}",
                r"|(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]{0,6}\.?",
                r" [0-9]{1,2}(?:st|nd|rd|th)?,? [0-9]{4}",
                r"|[0-9]{1,2}(?:st|nd|rd|th)?\.? ",
                r"(?i:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-zA-Z]{0,6}\.?,? [0-9]{4}",
                r")(?-u:\b)"
            ),
            Detector::Mbi => concat!(
                r"(?-u:\b)[1-9][AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?",
                r"[AC-HJKMNP-RT-Y][AC-HJKMNP-RT-Y0-9][0-9]-?[AC-HJKMNP-RT-Y]{2}[0-9]{2}(?-u:\b)"
            ),
            Detector::Aba => r"(?-u:\b)(?:[0-9]{9}|[0-9]{4}-[0-9]{4}-[0-9])(?-u:\b)",
            Detector::Iban => r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]){11,30}(?-u:\b)",
            Detector::Phone => {
                r"(?:\+?1[ .-]?)?(?:\([2-9][0-9]{2}\) ?|[2-9][0-9]{2}[ .-])[2-9][0-9]{2}[ .-][0-9]{4}(?-u:\b)"
            }
            Detector::Email => concat!(
                r"[\p{L}\p{N}._%+-]+@[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?",
                r"(?:\.[\p{L}\p{N}](?:[\p{L}\p{N}-]*[\p{L}\p{N}])?)+"
            ),
        }
    }
}

/// The medical record number format used when the site configures none: an optional prefix
/// of one to three capital letters (and a dash), then six to ten digits, or two groups of three
/// to five digits joined by a dash (`00482915`, `A0093381`, `MR-2231-0047`, `4471-0982`).
pub const DEFAULT_MRN: &str =
    r"(?-u:\b)(?:[A-Z]{1,3}-?)?(?:[0-9]{6,10}|[0-9]{3,5}-[0-9]{3,5})(?-u:\b)";

/// How far (bytes, either side) a keyword may stand from a match to raise its confidence.
const WINDOW: usize = 300;
/// How far from a candidate the checks ever look for a keyword, keyword included.
pub const KEYWORD_REACH: usize = WINDOW + 32;
/// How far before a match a keyword may stand when the keyword is what makes it a finding
/// (bare SSNs, routing numbers).
const GATE_BEFORE: usize = 100;
/// How far after a match such a keyword may stand.
const GATE_AFTER: usize = 30;
/// How far a medical record or birth keyword may stand from its value, on the same line.
const LINE_BEFORE: usize = 50;
/// How far after its value a medical record or birth keyword may stand, on the same line.
const LINE_AFTER: usize = 20;

/// What the checks look at besides the candidate.
#[derive(Debug)]
pub struct Context<'a> {
    /// The whole text being scanned.
    pub text: &'a str,
    /// The keywords found in it.
    pub hits: &'a Hits,
    /// Whether the MRN pattern is the site's own format (its matches are then `high`).
    pub site_mrn: bool,
}

impl Context<'_> {
    fn near(&self, topic: Topic, range: &Range<usize>) -> bool {
        self.hits.near(topic, range, WINDOW, WINDOW)
    }

    fn confidence(&self, topic: Topic, range: &Range<usize>) -> Confidence {
        if self.near(topic, range) {
            Confidence::High
        } else {
            Confidence::Medium
        }
    }
}

/// Checks one candidate of `detector` at `range` in `cx.text`, pushing what passes to `out`.
/// `earlier` holds this window's matches so far (the generic MRN pattern skips their spans).
pub fn check(
    detector: Detector,
    cx: &Context<'_>,
    range: Range<usize>,
    earlier: &[Match],
    out: &mut Vec<Match>,
) {
    let Some(raw) = cx.text.get(range.clone()) else {
        return;
    };
    if detector != Detector::Card && detector != Detector::Email && glued(cx.text, &range) {
        return;
    }
    let found = match detector {
        Detector::Ssn => ssn(cx, raw, &range),
        Detector::Card => {
            card(cx, raw, range.start, out);
            return;
        }
        Detector::Npi => {
            validate::npi(raw).then(|| (cx.confidence(Topic::Npi, &range), raw.into()))
        }
        Detector::Dea => {
            validate::dea(raw).then(|| (cx.confidence(Topic::Dea, &range), raw.into()))
        }
        Detector::Icd10 => icd10(cx, raw, &range),
        Detector::Mrn => mrn(cx, raw, &range, earlier),
        Detector::Dob => dob(cx, raw, &range),
        Detector::Mbi => mbi(cx, raw, &range),
        Detector::Aba => {
            let digits: String = raw.chars().filter(char::is_ascii_digit).collect();
            (validate::aba(&digits)
                && cx
                    .hits
                    .near(Topic::Routing, &range, GATE_BEFORE, GATE_AFTER))
            .then_some((Confidence::High, digits))
        }
        Detector::Iban => {
            iban(cx, raw, range.start, out);
            return;
        }
        Detector::Phone => phone(cx, raw, &range),
        Detector::Email => email(cx, raw, &range),
    };
    if let Some((confidence, value)) = found {
        out.push(Match {
            detector: detector.name(),
            confidence,
            value,
            range,
        });
    }
}

/// Whether the candidate continues a longer token: a digit and a `-`, `.` or `/` right before
/// it, or such a separator and a digit right after it (`12-123-45-6789`, `J45-909`).
fn glued(text: &str, range: &Range<usize>) -> bool {
    let b = text.as_bytes();
    let sep = |c: u8| matches!(c, b'-' | b'.' | b'/');
    let before = range.start >= 2 && sep(b[range.start - 1]) && b[range.start - 2].is_ascii_digit();
    let after = range.end + 1 < b.len() && sep(b[range.end]) && b[range.end + 1].is_ascii_digit();
    before || after
}

fn ssn(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    let b = raw.as_bytes();
    let (area, group, serial) = match b.len() {
        11 if b[3] == b[6] => (&raw[0..3], &raw[4..6], &raw[7..11]),
        9 => (&raw[0..3], &raw[3..5], &raw[5..9]),
        _ => return None,
    };
    if !validate::ssn(area, group, serial) {
        return None;
    }
    let value = format!("{area}-{group}-{serial}");
    if b.len() == 9 {
        // Nine digits without separators are an SSN only when a keyword says so.
        return cx
            .hits
            .near(Topic::Ssn, range, GATE_BEFORE, GATE_AFTER)
            .then_some((Confidence::High, value));
    }
    Some((cx.confidence(Topic::Ssn, range), value))
}

/// Card candidates are runs of digits joined by single spaces or dashes; any stretch of whole
/// groups with one kind of separator can be the card (`ref 12 4111 1111 1111 1111`).
fn card(cx: &Context<'_>, raw: &str, offset: usize, out: &mut Vec<Match>) {
    // Groups of digits as byte ranges in `raw`, and the separator after each.
    let mut groups: Vec<(Range<usize>, u8)> = Vec::new();
    let mut start = 0;
    for (i, b) in raw.bytes().enumerate() {
        if !b.is_ascii_digit() {
            groups.push((start..i, b));
            start = i + 1;
        }
    }
    groups.push((start..raw.len(), 0));

    let mut i = 0;
    while i < groups.len() {
        let mut taken = None;
        // The longest stretch starting at group i that is a valid card wins.
        let mut digits = 0;
        let mut ends = Vec::new();
        for j in i..groups.len() {
            if j > i && groups[j - 1].1 != groups[i].1 {
                break;
            }
            digits += groups[j].0.len();
            if digits > 19 {
                break;
            }
            ends.push((j, digits));
        }
        for &(j, digits) in ends.iter().rev() {
            if digits < 13 {
                break;
            }
            let multi = j > i;
            if multi && groups[i..=j].iter().any(|g| g.0.len() < 3) {
                continue;
            }
            // A stretch inside a dashed run is part of a longer number.
            let before_ok = i == 0 || groups[i - 1].1 == b' ';
            let after_ok = j + 1 == groups.len() || groups[j].1 == b' ';
            if !before_ok || !after_ok {
                continue;
            }
            let span = groups[i].0.start..groups[j].0.end;
            let value: String = raw[span.clone()]
                .chars()
                .filter(char::is_ascii_digit)
                .collect();
            if validate::card(&value) {
                taken = Some((j, span, value));
                break;
            }
        }
        match taken {
            Some((j, span, value)) => {
                let range = offset + span.start..offset + span.end;
                out.push(Match {
                    detector: "card",
                    confidence: cx.confidence(Topic::Card, &range),
                    value,
                    range,
                });
                i = j + 1;
            }
            None => i += 1,
        }
    }
}

fn icd10(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    if !validate::icd10(raw) {
        return None;
    }
    if cx.near(Topic::Diagnosis, range) {
        return Some((Confidence::High, raw.into()));
    }
    // Three-character codes without a dot (I10, B12) read like other things too: they need a
    // diagnosis keyword, not just clinical prose.
    (raw.contains('.') && cx.near(Topic::Clinical, range)).then(|| (Confidence::Medium, raw.into()))
}

fn mrn(
    cx: &Context<'_>,
    raw: &str,
    range: &Range<usize>,
    earlier: &[Match],
) -> Option<(Confidence, String)> {
    if earlier
        .iter()
        .any(|m| m.range.start < range.end && range.start < m.range.end)
    {
        return None;
    }
    if !cx
        .hits
        .near_in_line(cx.text, Topic::Mrn, range, LINE_BEFORE, LINE_AFTER)
    {
        return None;
    }
    let confidence = if cx.site_mrn {
        Confidence::High
    } else {
        Confidence::Medium
    };
    Some((confidence, raw.into()))
}

fn dob(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    if !plausible_date(raw) {
        return None;
    }
    cx.hits
        .near_in_line(cx.text, Topic::Birth, range, LINE_BEFORE, LINE_AFTER)
        .then(|| (Confidence::High, raw.into()))
}

/// Whether a date as written (numeric with one kind of separator, or with an English month
/// name) is a real calendar date. Numeric dates may be month-first or day-first.
fn plausible_date(raw: &str) -> bool {
    let tokens: Vec<&str> = raw
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let num = |t: &str| -> Option<u32> {
        t.trim_end_matches(|c: char| c.is_ascii_alphabetic())
            .parse()
            .ok()
    };
    if raw.starts_with(|c: char| c.is_ascii_digit())
        && tokens.len() == 3
        && tokens.iter().all(|t| t.bytes().all(|b| b.is_ascii_digit()))
    {
        let seps: Vec<char> = raw.chars().filter(|c| !c.is_ascii_digit()).collect();
        if seps.len() != 2 || seps[0] != seps[1] {
            return false;
        }
        let (Some(a), Some(b), Some(c)) = (num(tokens[0]), num(tokens[1]), num(tokens[2])) else {
            return false;
        };
        return if tokens[0].len() == 4 {
            validate::date(a, b, c)
        } else {
            validate::date(c, a, b) || validate::date(c, b, a)
        };
    }
    // Month name and day, in either order, then the year.
    let mut month = None;
    let mut numbers = Vec::new();
    for t in &tokens {
        match validate::month(t) {
            Some(m) if month.is_none() && t.chars().all(|c| c.is_ascii_alphabetic()) => {
                month = Some(m)
            }
            _ => numbers.push(num(t)),
        }
    }
    match (month, numbers.as_slice()) {
        (Some(m), [Some(day), Some(year)]) => validate::date(*year, m, *day),
        _ => false,
    }
}

fn mbi(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    let dashes: Vec<usize> = raw.match_indices('-').map(|(i, _)| i).collect();
    if !(dashes.is_empty() || dashes == [4, 8]) {
        return None;
    }
    let compact: String = raw.chars().filter(|c| *c != '-').collect();
    validate::mbi(&compact).then(|| (cx.confidence(Topic::Medicare, range), compact))
}

/// IBAN candidates may run on into following capitals and digits; the country's length says
/// where the number ends, and it must end at a group boundary.
fn iban(cx: &Context<'_>, raw: &str, offset: usize, out: &mut Vec<Match>) {
    let Some(len) = raw.get(..2).and_then(validate::iban_length) else {
        return;
    };
    let mut compact = String::with_capacity(len);
    let mut end = raw.len();
    for (i, c) in raw.char_indices() {
        if compact.len() == len {
            end = i;
            break;
        }
        if c != ' ' {
            compact.push(c);
        }
    }
    if compact.len() != len || !(end == raw.len() || raw[end..].starts_with(' ')) {
        return;
    }
    if validate::iban(&compact) {
        let range = offset..offset + end;
        out.push(Match {
            detector: "iban",
            confidence: cx.confidence(Topic::Iban, &range),
            value: compact,
            range,
        });
    }
}

fn phone(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    // The pattern has no boundary of its own at the start.
    let before = cx.text[..range.start].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '-' | '.' | '/' | '+' | '_')) {
        return None;
    }
    // The last ten digits are the number; a leading 1 is the country code.
    let digits: Vec<(usize, char)> = raw
        .char_indices()
        .filter(|(_, c)| c.is_ascii_digit())
        .collect();
    let tail = digits.get(digits.len().checked_sub(10)?..)?;
    // One kind of separator, unless the area code is in parentheses.
    if !raw.contains('(') {
        let sep = |a: usize, b: usize| raw.get(tail[a].0 + 1..tail[b].0);
        if sep(2, 3) != sep(5, 6) {
            return None;
        }
    }
    let number: String = tail.iter().map(|(_, c)| *c).collect();
    validate::us_phone(&number).then_some((Confidence::Low, number))
}

fn email(cx: &Context<'_>, raw: &str, range: &Range<usize>) -> Option<(Confidence, String)> {
    let before = cx.text[..range.start].chars().next_back();
    if before.is_some_and(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '%' | '+' | '-')) {
        return None;
    }
    let (local, domain) = raw.split_once('@')?;
    if local.len() > 64 || local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return None;
    }
    if domain.len() > 253 || domain.split('.').any(|label| label.len() > 63) {
        return None;
    }
    let tld = domain.rsplit('.').next()?;
    (tld.chars().count() >= 2 && tld.chars().all(char::is_alphabetic))
        .then(|| (Confidence::Low, raw.to_owned()))
}
