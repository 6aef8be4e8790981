//! Context keywords: the words that, standing near a candidate, raise its confidence or make
//! it a finding at all ("SSN", "date of birth", "MRN"). All keyword lists are compiled into one
//! aho-corasick automaton and found in one pass over a text; proximity questions are then
//! answered by binary search over the hits.

use std::ops::Range;

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};

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
    /// Per pattern: its topic and whether word characters may follow.
    patterns: Vec<(Topic, bool)>,
}

impl Keywords {
    /// Compiles the shipped keyword lists.
    pub fn new() -> Result<Keywords, aho_corasick::BuildError> {
        let mut words = Vec::new();
        let mut patterns = Vec::new();
        for (topic, list) in KEYWORDS {
            for word in *list {
                let (word, prefix) = match word.strip_suffix('*') {
                    Some(w) => (w, true),
                    None => (*word, false),
                };
                words.push(word);
                patterns.push((*topic, prefix));
            }
        }
        let automaton = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .build(&words)?;
        Ok(Keywords {
            automaton,
            patterns,
        })
    }

    /// Finds every keyword in `text`, in one pass.
    pub fn find(&self, text: &str) -> Hits {
        let mut by_topic: [Vec<Range<usize>>; TOPICS] = Default::default();
        for m in self.automaton.find_overlapping_iter(text) {
            let Some(&(topic, prefix)) = self.patterns.get(m.pattern().as_usize()) else {
                continue;
            };
            let before = text[..m.start()].chars().next_back();
            let after = text[m.end()..].chars().next();
            let word_start = !before.is_some_and(char::is_alphanumeric);
            let word_end = prefix || !after.is_some_and(char::is_alphanumeric);
            if word_start && word_end {
                by_topic[topic.index()].push(m.range());
            }
        }
        for hits in &mut by_topic {
            hits.sort_by_key(|h| h.start);
        }
        Hits { by_topic }
    }
}

/// The keywords found in one text, by topic, in text order.
#[derive(Debug, Default)]
pub struct Hits {
    by_topic: [Vec<Range<usize>>; TOPICS],
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
        assert_eq!(hits.by_topic[Topic::Birth.index()], [29..32]);
        assert_eq!(
            hits.by_topic[Topic::Card.index()].len(),
            1,
            "card* matches cards"
        );
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
