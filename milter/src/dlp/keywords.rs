//! Context keywords: the words that, standing near a candidate, raise its confidence or make
//! it a finding at all ("SSN", "date of birth", "MRN"). All keyword lists are compiled into one
//! aho-corasick automaton and found in one pass over a text; proximity questions are then
//! answered by binary search over the hits.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, MatchKind};

/// What a keyword is context for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Topic {
    /// Social security numbers.
    Ssn,
    /// Payment cards.
    Card,
    /// National provider identifiers.
    Npi,
    /// DEA registration numbers.
    Dea,
    /// Diagnosis codes, named outright (ICD, Dx, diagnosis).
    Diagnosis,
    /// Clinical prose that diagnosis codes appear in (patient, assessment, problem list).
    Clinical,
    /// Medical record numbers.
    Mrn,
    /// Dates of birth.
    Birth,
    /// Medicare beneficiary identifiers.
    Medicare,
    /// Bank routing numbers.
    Routing,
    /// International bank account numbers.
    Iban,
}

/// How many topics there are.
const TOPICS: usize = 11;

/// The longest keyword, in bytes.
const MAX_KEYWORD: usize = 32;

impl Topic {
    fn index(self) -> usize {
        self as usize
    }
}

/// The shipped keyword lists. Matching ignores ASCII case; a keyword matches only as a whole
/// word, unless it ends in `*`, which lets any word characters follow.
const KEYWORDS: &[(Topic, &[&str])] = &[
    (
        Topic::Ssn,
        &[
            "ssn",
            "ssns",
            "ss#",
            "ss #",
            "ss no",
            "social security*",
            "soc sec",
            "soc. sec",
            "ssa number",
            "taxpayer id*",
            "sécurité sociale",
            "seguro social",
        ],
    ),
    (
        Topic::Card,
        &[
            "card*",
            "credit*",
            "debit",
            "visa",
            "mastercard",
            "master card",
            "amex",
            "american express",
            "discover",
            "diners",
            "jcb",
            "cc#",
            "ccn",
            "pan",
            "payment*",
            "expir*",
            "exp",
            "cvv",
            "cvc",
            "karte",
            "tarjeta",
            "carte",
        ],
    ),
    (Topic::Npi, &["npi", "npi#", "national provider*"]),
    (Topic::Dea, &["dea", "dea#", "drug enforcement*"]),
    (
        Topic::Diagnosis,
        &[
            "icd",
            "icd-9*",
            "icd-10*",
            "icd10*",
            "dx",
            "ddx",
            "diagnos*",
            "diag",
            "diagnóstico*",
            "diagnostique",
        ],
    ),
    (
        Topic::Clinical,
        &[
            "patient*",
            "assessment*",
            "problem list",
            "clinical*",
            "condition*",
            "chief complaint",
            "history of",
            "hx",
            "admit*",
            "discharg*",
            "encounter*",
            "comorbid*",
            "icd-10-cm",
            "billing code*",
            "claim*",
        ],
    ),
    (
        Topic::Mrn,
        &[
            "mrn",
            "mrn#",
            "mr#",
            "mr #",
            "mr no",
            "medical record*",
            "med rec*",
            "med. rec*",
            "record number",
            "record no",
            "record #",
            "chart number",
            "chart no",
            "chart #",
            "patient id",
            "patient number",
            "patient no",
            "pt id",
            "hospital number",
        ],
    ),
    (
        Topic::Birth,
        &[
            "dob",
            "d.o.b",
            "date of birth",
            "birth date",
            "birthdate",
            "birthday",
            "born",
            "né",
            "née",
            "geboren",
            "geburtsdatum",
            "fecha de nacimiento",
            "nacido",
            "nacida",
            "date de naissance",
            "data de nascimento",
            "nascido",
            "nascida",
        ],
    ),
    (
        Topic::Medicare,
        &["medicare", "mbi", "beneficiary*", "hicn"],
    ),
    (
        Topic::Routing,
        &["routing*", "aba", "rtn", "transit number", "ach"],
    ),
    (Topic::Iban, &["iban", "bic", "swift", "bank account*"]),
];

/// Every shipped keyword, as the automaton is built from it (without the `*` marks).
pub fn all() -> impl Iterator<Item = &'static str> {
    KEYWORDS
        .iter()
        .flat_map(|(_, list)| list.iter())
        .map(|w| w.strip_suffix('*').unwrap_or(w))
}

/// The compiled keyword automaton.
#[derive(Debug)]
pub struct Keywords {
    automaton: AhoCorasick,
    /// Per pattern: the topics it counts for as a whole word, and those it counts for when
    /// word characters follow (keywords marked with `*`).
    patterns: Vec<(u16, u16)>,
}

impl Keywords {
    /// Compiles the shipped keyword lists into one automaton (a DFA, leftmost-longest: where
    /// keywords overlap, the longest wins and carries the topics of the shorter ones it
    /// starts with, so `patient id` still counts as clinical context).
    pub fn new() -> Result<Keywords, aho_corasick::BuildError> {
        let mut words: Vec<&str> = Vec::new();
        let mut patterns: Vec<(u16, u16)> = Vec::new();
        for (topic, list) in KEYWORDS {
            for word in *list {
                let (word, prefix) = match word.strip_suffix('*') {
                    Some(w) => (w, true),
                    None => (*word, false),
                };
                let bit = 1 << topic.index();
                let i = match words.iter().position(|w| *w == word) {
                    Some(i) => i,
                    None => {
                        words.push(word);
                        patterns.push((0, 0));
                        words.len() - 1
                    }
                };
                patterns[i].0 |= bit;
                if prefix {
                    patterns[i].1 |= bit;
                }
            }
        }

        // A longer keyword inherits the topics of the keywords it starts with.
        let own = patterns.clone();
        for (i, word) in words.iter().enumerate() {
            for (j, shorter) in words.iter().enumerate() {
                if i == j || !word.starts_with(shorter) {
                    continue;
                }
                let next = word[shorter.len()..].chars().next();
                let (whole, prefix) = own[j];
                patterns[i].0 |= prefix;
                if !next.is_some_and(char::is_alphanumeric) {
                    patterns[i].0 |= whole;
                }
            }
        }

        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            .kind(Some(AhoCorasickKind::DFA))
            .build(&words)?;
        Ok(Keywords {
            automaton,
            patterns,
        })
    }

    /// Finds every keyword in `text`, in one pass.
    #[cfg(test)]
    pub fn find(&self, text: &str) -> Hits {
        let mut hits = Hits::default();
        self.find_in(text, 0..text.len(), &mut hits);
        hits
    }

    /// Adds the keywords of `text[range]` to `hits`, which already holds those before
    /// `hits.searched`; regions are searched in text order.
    pub fn find_in(&self, text: &str, range: Range<usize>, hits: &mut Hits) {
        let mut end = range.end.min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        if end <= hits.searched {
            return;
        }
        // Start a keyword's length early, so that one cut by the last region is found.
        let mut start = range.start.max(hits.searched.saturating_sub(MAX_KEYWORD));
        while !text.is_char_boundary(start) {
            start -= 1;
        }
        let Some(region) = text.get(start..end) else {
            return;
        };
        let input = aho_corasick::Input::new(region);
        for m in self.automaton.find_iter(input) {
            let (s, e) = (start + m.start(), start + m.end());
            if e <= hits.searched {
                continue;
            }
            let Some(&(whole, prefix)) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            let before = text[..s].chars().next_back();
            if before.is_some_and(char::is_alphanumeric) {
                continue;
            }
            let after = text[e..].chars().next();
            let topics = if after.is_some_and(char::is_alphanumeric) {
                prefix
            } else {
                whole
            };
            for (t, list) in hits.by_topic.iter_mut().enumerate() {
                if topics & (1 << t) != 0 {
                    list.push(s..e);
                }
            }
        }
        hits.searched = end;
        for list in &mut hits.by_topic {
            if !list.is_sorted_by_key(|h| h.start) {
                list.sort_by_key(|h| h.start);
            }
        }
    }
}

/// The keywords found in one text, by topic, in text order.
#[derive(Debug, Default)]
pub struct Hits {
    by_topic: [Vec<Range<usize>>; TOPICS],
    /// The text before this offset has been searched.
    searched: usize,
}

impl Hits {
    /// Whether a keyword of `topic` ends at most `before` bytes before `range` starts or
    /// starts at most `after` bytes after it ends (overlapping counts too).
    pub fn near(&self, topic: Topic, range: &Range<usize>, before: usize, after: usize) -> bool {
        self.within(topic, range, before, after).next().is_some()
    }

    /// Like [`Hits::near`], but the keyword must also stand on the same line as the match.
    pub fn near_in_line(
        &self,
        text: &str,
        topic: Topic,
        range: &Range<usize>,
        before: usize,
        after: usize,
    ) -> bool {
        self.within(topic, range, before, after).any(|h| {
            let between = if h.end <= range.start {
                text.get(h.end..range.start)
            } else if h.start >= range.end {
                text.get(range.end..h.start)
            } else {
                Some("")
            };
            between.is_some_and(|s| !s.contains(['\n', '\r']))
        })
    }

    /// The hits of `topic` that reach into `before` bytes ahead of `range` or `after`
    /// bytes behind it.
    fn within<'a>(
        &'a self,
        topic: Topic,
        range: &Range<usize>,
        before: usize,
        after: usize,
    ) -> impl Iterator<Item = &'a Range<usize>> + 'a {
        let hits = &self.by_topic[topic.index()];
        let lo = range.start.saturating_sub(before);
        let hi = range.end.saturating_add(after);
        // Hits are sorted by start and no keyword is longer than MAX_KEYWORD bytes.
        let first = hits.partition_point(|h| h.start + MAX_KEYWORD < lo);
        hits[first..]
            .iter()
            .take_while(move |h| h.start <= hi)
            .filter(move |h| h.end >= lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spans(hits: &Hits, topic: Topic) -> Vec<(usize, usize)> {
        hits.by_topic[topic.index()]
            .iter()
            .map(|r| (r.start, r.end))
            .collect()
    }

    fn keywords() -> Keywords {
        Keywords::new().unwrap_or_else(|e| panic!("keywords compile: {e}"))
    }

    #[test]
    fn keywords_are_short_and_lower_case() {
        for word in all() {
            assert!(word.len() <= MAX_KEYWORD, "{word}");
            assert_eq!(word, word.to_lowercase(), "{word}");
        }
    }

    #[test]
    fn whole_words_only_unless_prefix() {
        let k = keywords();
        let hits = k.find("adobe reader, cards on file, DOB: x");
        assert_eq!(spans(&hits, Topic::Birth), [(29, 32)]);
        assert_eq!(
            hits.by_topic[Topic::Card.index()].len(),
            1,
            "card* matches cards"
        );
    }

    #[test]
    fn overlapping_keywords_keep_every_topic() {
        let k = keywords();
        let hits = k.find("patient id 12");
        assert_eq!(spans(&hits, Topic::Mrn), [(0, 10)]);
        assert_eq!(spans(&hits, Topic::Clinical), [(0, 10)]);
        let hits = k.find("ICD-10-CM: x; cardholder");
        assert_eq!(spans(&hits, Topic::Diagnosis), [(0, 9)]);
        assert_eq!(spans(&hits, Topic::Card), [(14, 18)]);
    }

    #[test]
    fn regions_add_up_to_the_whole() {
        let k = keywords();
        let text = "x ".repeat(40) + "social security " + &"y ".repeat(40) + "DOB";
        let whole = k.find(&text);
        let mut parts = Hits::default();
        for end in [50, 90, 95, text.len()] {
            k.find_in(&text, end.saturating_sub(60)..end, &mut parts);
        }
        assert_eq!(parts.by_topic, whole.by_topic);
    }

    #[test]
    fn proximity() {
        let k = keywords();
        let text = "SSN\n123-45-6789 and far away";
        let hits = k.find(text);
        assert!(hits.near(Topic::Ssn, &(4..15), 10, 0));
        assert!(!hits.near(Topic::Ssn, &(20..25), 10, 0));
        assert!(!hits.near_in_line(text, Topic::Ssn, &(4..15), 10, 0));
        let text = "Né(e) le : 1958-07-04";
        let hits = k.find(text);
        assert!(hits.near_in_line(text, Topic::Birth, &(12..22), 40, 0));
    }
}
