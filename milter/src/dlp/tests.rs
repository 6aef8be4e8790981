//! Unit tests of the detectors: each one's positives, its look-alikes, its keyword rules.

use super::*;

fn scanner() -> Scanner {
    Scanner::new()
}

/// The values `detector` reports in `text`.
fn values(text: &str, detector: &str) -> Vec<String> {
    scanner()
        .matches(text, &[detector])
        .into_iter()
        .map(|m| m.value)
        .collect()
}

fn found(text: &str, detector: &str) -> usize {
    values(text, detector).len()
}

fn confidence(text: &str, detector: &str) -> Option<Confidence> {
    scanner()
        .matches(text, &[detector])
        .first()
        .map(|m| m.confidence)
}

#[test]
fn detector_names_agree() {
    let names: Vec<&str> = Detector::ALL.iter().map(|d| d.name()).collect();
    for name in DETECTORS {
        assert!(names.contains(name), "{name}");
    }
    assert_eq!(names.len(), DETECTORS.len());
    for d in Detector::ALL {
        assert_eq!(Detector::ALL[d.index()], d);
        assert_eq!(Detector::from_name(d.name()), Some(d));
    }
}

#[test]
fn valid_ssns_are_found() {
    assert_eq!(values("patient 123-45-6789 seen", "ssn"), ["123-45-6789"]);
    assert_eq!(found("ids 123 45 6789 and 234-56-7890", "ssn"), 2);
    assert_eq!(values("SSN: 123456789", "ssn"), ["123-45-6789"]);
    assert_eq!(found("statement-287-65-4312.txt", "ssn"), 1);
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
        "078-05-1120",
    ] {
        assert_eq!(found(bad, "ssn"), 0, "{bad}");
    }
    assert_eq!(
        found("order 123456789 shipped", "ssn"),
        0,
        "bare, no keyword"
    );
    assert_eq!(found("1123-45-67890", "ssn"), 0, "part of a longer number");
    assert_eq!(
        found("ref 12-123-45-6789", "ssn"),
        0,
        "glued to a number before"
    );
    assert_eq!(
        found("Account 1536-22-88410 and reference 5362288415", "ssn"),
        0
    );
}

#[test]
fn keyword_raises_confidence() {
    assert_eq!(confidence("123-45-6789", "ssn"), Some(Confidence::Medium));
    assert_eq!(
        confidence("social security 123-45-6789", "ssn"),
        Some(Confidence::High)
    );
    assert_eq!(
        confidence("4111 1111 1111 1111", "card"),
        Some(Confidence::Medium)
    );
    assert_eq!(
        confidence("Visa 4111 1111 1111 1111", "card"),
        Some(Confidence::High)
    );
}

#[test]
fn cards_need_luhn_and_issuer() {
    assert_eq!(found("4111 1111 1111 1111", "card"), 1);
    assert_eq!(found("4111-1111-1111-1111", "card"), 1);
    assert_eq!(values("3782-822463-10005", "card"), ["378282246310005"]);
    assert_eq!(found("5555555555554444", "card"), 1);
    assert_eq!(found("4111 1111 1111 1112", "card"), 0, "fails Luhn");
    assert_eq!(found("0000 0000 0000 0000", "card"), 0, "placeholder");
    assert_eq!(found("1234 5678 9012 3452", "card"), 0, "no issuer");
    assert_eq!(found("4111-1111 1111-1111", "card"), 0, "mixed separators");
    assert_eq!(found("941111111111111111119", "card"), 0, "longer run");
    assert_eq!(
        found("id 41111111111111110; seq 0411111111111111111", "card"),
        0
    );
}

#[test]
fn card_is_found_among_neighbouring_numbers() {
    assert_eq!(
        values("ref 12 4111 1111 1111 1111 x", "card"),
        ["4111111111111111"]
    );
    assert_eq!(
        values("4111111111111111 5555555555554444", "card"),
        ["4111111111111111", "5555555555554444"]
    );
    assert_eq!(
        found("1234-4111-1111-1111-1111", "card"),
        0,
        "inside a dashed run"
    );
}

#[test]
fn npi_dea_and_mbi() {
    assert_eq!(values("NPI: 1245318062", "npi"), ["1245318062"]);
    assert_eq!(confidence("NPI: 1245318062", "npi"), Some(Confidence::High));
    assert_eq!(confidence("1245318062", "npi"), Some(Confidence::Medium));
    assert_eq!(
        found("Provider NPI 1234567890 (typo) and 1245318060.", "npi"),
        0
    );
    assert_eq!(values("DEA #: BJ6125341", "dea"), ["BJ6125341"]);
    assert_eq!(found("DEA AB1234567 and FM2846190", "dea"), 0);
    assert_eq!(values("Medicare MBI 1EG4-TE5-MK73", "mbi"), ["1EG4TE5MK73"]);
    assert_eq!(
        confidence("Medicare MBI 1EG4TE5MK73", "mbi"),
        Some(Confidence::High)
    );
    assert_eq!(found("1EG4-TE5MK73", "mbi"), 0, "one dash only");
}

#[test]
fn icd10_needs_clinical_context() {
    let text = "Assessment/Plan (ICD-10-CM):\n1. F32.A Depression\n2. S72.001A fracture";
    assert_eq!(values(text, "icd10"), ["F32.A", "S72.001A"]);
    assert_eq!(values("Dx: I10 hypertension", "icd10"), ["I10"]);
    assert_eq!(
        confidence("patient seen, E11.9 noted", "icd10"),
        Some(Confidence::Medium)
    );
    assert_eq!(
        found("patient in room B12", "icd10"),
        0,
        "no dot, no diagnosis keyword"
    );
    assert_eq!(
        found(
            "Upgraded to v3.10.2 (build E119B). Replaced part J45-909 and model I10X.",
            "icd10"
        ),
        0
    );
    assert_eq!(found("Dx: J45-909", "icd10"), 0, "glued to a number");
    assert_eq!(
        found("Diagnosis: A1C high", "icd10"),
        0,
        "not an ICD category"
    );
}

#[test]
fn mrn_needs_a_keyword_on_its_line() {
    let text = "- MRN: 00913377 (was 00913376)\n- Med. Rec. No. 4471-0982\n\
                - patient acct / medical record # A0093381\nMedical Record Number: MR-2231-0047";
    assert_eq!(
        values(text, "mrn"),
        [
            "00913377",
            "00913376",
            "4471-0982",
            "A0093381",
            "MR-2231-0047"
        ]
    );
    assert_eq!(
        found("Room 00482915 is booked. Ticket 7734-2201.", "mrn"),
        0
    );
    assert_eq!(found("MRN below\n00482915", "mrn"), 0, "other line");
    assert_eq!(
        found("Patient MRN: 55120983 NPI 1234567893", "mrn"),
        1,
        "the NPI is not also an MRN"
    );
}

#[test]
fn site_mrn_format() {
    let s = Scanner::with_options(&Options {
        mrn_pattern: Some(r"\bH[0-9]{7}\b".into()),
    })
    .unwrap_or_else(|e| panic!("compiles: {e}"));
    let m = s.matches("MRN H1234567, not 00482915", &["mrn"]);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].value, "H1234567");
    assert_eq!(m[0].confidence, Confidence::High);

    let bad = Scanner::with_options(&Options {
        mrn_pattern: Some("(".into()),
    });
    assert!(matches!(
        bad,
        Err(Error::Pattern {
            detector: "mrn",
            ..
        })
    ));
}

#[test]
fn dob_needs_a_birth_keyword() {
    let text =
        "DOB: 07/04/1958\nDate of Birth: 1990-02-28\nborn on March 3, 1971\nD.O.B. 12.31.1949";
    assert_eq!(
        values(text, "dob"),
        ["07/04/1958", "1990-02-28", "March 3, 1971", "12.31.1949"]
    );
    assert_eq!(values("Né(e) le : 1958-07-04", "dob"), ["1958-07-04"]);
    assert_eq!(values("born 3rd Sept. 1971", "dob"), ["3rd Sept. 1971"]);
    assert_eq!(
        found(
            "Company founded 03/14/1962. Next audit review 1990-02-28",
            "dob"
        ),
        0
    );
    assert_eq!(found("DOB: 02/30/1990", "dob"), 0, "no such day");
    assert_eq!(found("DOB: 07/04-1958", "dob"), 0, "mixed separators");
}

#[test]
fn routing_numbers_need_a_keyword() {
    assert_eq!(values("Routing number: 021000021", "aba"), ["021000021"]);
    assert_eq!(found("order 021000021", "aba"), 0);
    assert_eq!(found("ABA 021000022", "aba"), 0, "checksum");
}

#[test]
fn ibans() {
    assert_eq!(
        values("IBAN: GB82 WEST 1234 5698 7654 32 please", "iban"),
        ["GB82WEST12345698765432"]
    );
    assert_eq!(
        values("pay to DE89370400440532013000 TODAY", "iban"),
        ["DE89370400440532013000"]
    );
    assert_eq!(
        confidence("DE89370400440532013000", "iban"),
        Some(Confidence::Medium)
    );
    assert_eq!(found("IBAN DE89370400440532013001", "iban"), 0);
}

#[test]
fn phones_are_low_and_skip_reserved_numbers() {
    assert_eq!(values("call (617) 496-1234 today", "phone"), ["6174961234"]);
    assert_eq!(values("cell +1 617.496.1234", "phone"), ["6174961234"]);
    assert_eq!(confidence("617-496-1234", "phone"), Some(Confidence::Low));
    assert_eq!(
        found(
            "Call (212) 555-1234 or 212-555-0199. ZIP 10001-2345. Fax 1-800-555-0100.",
            "phone"
        ),
        0
    );
    assert_eq!(found("617-496.1234", "phone"), 0, "mixed separators");
    assert_eq!(found("x1617-496-1234", "phone"), 0);
}

#[test]
fn emails_are_low() {
    assert_eq!(
        values("write to pat.example@clinic.test.", "email"),
        ["pat.example@clinic.test"]
    );
    assert_eq!(
        values("Zoë <zoë@exämple.org>", "email"),
        ["zoë@exämple.org"]
    );
    assert_eq!(confidence("a@b.org", "email"), Some(Confidence::Low));
    assert_eq!(found("user@localhost and x@y.1", "email"), 0);
}

#[test]
fn masking_keeps_last_four() {
    assert_eq!(mask("123456789"), "*****6789");
    assert_eq!(mask("12"), "12");
    let m = &scanner().matches("4111111111111111", &["card"])[0];
    assert_eq!(m.masked(), "************1111");
}

#[test]
fn selection_limits_detectors() {
    let text = "123-45-6789 4111111111111111";
    let s = scanner();
    assert_eq!(s.findings(text, &["card"]).len(), 1);
    assert_eq!(s.findings(text, &[]).len(), 2);
    assert!(s.findings(text, &["no-such-detector"]).is_empty());
}

#[test]
fn windows_cover_matches_far_apart() {
    let filler = "word ".repeat(200);
    let text = format!("SSN 123-45-6789 {filler} card 4111 1111 1111 1111 {filler} é 234-56-7890");
    let s = scanner();
    let m = s.matches(&text, &[]);
    let names: Vec<&str> = m.iter().map(|m| m.detector).collect();
    assert_eq!(names, ["ssn", "card", "ssn"]);
    for m in &m {
        assert!(text[m.range.clone()].contains(&m.value[m.value.len() - 4..]));
    }
}

#[test]
fn non_ascii_text_never_panics() {
    let s = scanner();
    for text in [
        "é1é2é3é4é5é6é7é8é9é0é@é",
        "１２３-４５-６７８９",
        "\u{10FFFF}123-45-6789\u{10FFFF}",
        "@@@@@",
        "",
    ] {
        let _ = s.matches(text, &[]);
    }
}
