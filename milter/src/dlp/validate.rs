//! Validators: the checks a candidate must pass after its pattern matched (number ranges,
//! check digits, calendar dates, numbering-plan rules). Each takes the normalised candidate
//! and answers yes or no; none of them allocates.

/// SSA rules: area not 000, 666 or 900-999; group not 00; serial not 0000. Two numbers that
/// were printed on sample cards and used by thousands of people are refused too.
pub fn ssn(area: &str, group: &str, serial: &str) -> bool {
    let famous = matches!(
        (area, group, serial),
        ("078", "05", "1120") | ("219", "09", "9999")
    );
    area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000"
        && !famous
}

/// The Luhn checksum over ASCII digits.
pub fn luhn(digits: &str) -> bool {
    luhn_bytes(digits.bytes())
}

fn luhn_bytes(digits: impl DoubleEndedIterator<Item = u8>) -> bool {
    let mut sum = 0u32;
    for (i, b) in digits.rev().enumerate() {
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

/// Issuer prefixes and lengths of the major card networks (Visa, Mastercard, American
/// Express, Diners, Discover, JCB, UnionPay ranges that Discover accepts).
pub fn card_issuer(digits: &str) -> bool {
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

/// A payment card number: 13 to 19 digits, a known issuer, Luhn, not all zeros.
pub fn card(digits: &str) -> bool {
    (13..=19).contains(&digits.len())
        && !digits.bytes().all(|b| b == b'0')
        && card_issuer(digits)
        && luhn(digits)
}

/// An NPI: ten digits starting with 1 or 2 whose Luhn check over `80840` followed by the
/// digits passes (the prefix of the ISO 7812 card issuer identifier for US health).
pub fn npi(digits: &str) -> bool {
    digits.len() == 10
        && matches!(digits.as_bytes().first(), Some(b'1' | b'2'))
        && luhn_bytes(b"80840".iter().copied().chain(digits.bytes()))
}

/// A DEA registration number: a registrant-type letter, a letter (or 9), seven digits, the last
/// of which is `(d1 + d3 + d5 + 2 * (d2 + d4 + d6)) mod 10`.
pub fn dea(value: &str) -> bool {
    let b = value.as_bytes();
    if b.len() != 9 || !b"ABCDEFGHJKLMPRSTUX".contains(&b[0]) {
        return false;
    }
    if !(b[1].is_ascii_uppercase() || b[1] == b'9') || !b[2..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d = |i: usize| u32::from(b[i + 2] - b'0');
    let sum = d(0) + d(2) + d(4) + 2 * (d(1) + d(3) + d(5));
    sum % 10 == d(6)
}

/// ICD-10-CM code syntax: a category of a letter, a digit and a digit (or one of the few
/// categories whose third character is a letter), then optionally a dot and one to four
/// characters.
pub fn icd10(code: &str) -> bool {
    let (category, rest) = match code.split_once('.') {
        Some((c, r)) => (c, Some(r)),
        None => (code, None),
    };
    let c = category.as_bytes();
    if c.len() != 3 || !c[0].is_ascii_uppercase() || !c[1].is_ascii_digit() {
        return false;
    }
    if !c[2].is_ascii_digit() && !LETTER_CATEGORIES.contains(&category) {
        return false;
    }
    // U is reserved for emergency codes; only U07 and U09 are in use.
    if c[0] == b'U' && !matches!(category, "U07" | "U09") {
        return false;
    }
    match rest {
        None => true,
        Some(r) => {
            (1..=4).contains(&r.len())
                && r.bytes()
                    .all(|b| b.is_ascii_digit() || b.is_ascii_uppercase())
        }
    }
}

/// ICD-10-CM categories whose third character is a letter.
const LETTER_CATEGORIES: &[&str] = &["C4A", "C7A", "C7B", "D3A", "M1A", "O9A", "Z3A"];

/// A Medicare Beneficiary Identifier in compact form (dashes removed): positions 1, 4, 7,
/// 10 and 11 are digits (the first not 0), 2, 5, 8 and 9 letters, 3 and 6 either; letters
/// exclude S, L, O, I, B and Z.
pub fn mbi(compact: &str) -> bool {
    let b = compact.as_bytes();
    if b.len() != 11 {
        return false;
    }
    let letter = |c: u8| c.is_ascii_uppercase() && !b"SLOIBZ".contains(&c);
    let digit = |c: u8| c.is_ascii_digit();
    (b'1'..=b'9').contains(&b[0])
        && letter(b[1])
        && (letter(b[2]) || digit(b[2]))
        && digit(b[3])
        && letter(b[4])
        && (letter(b[5]) || digit(b[5]))
        && digit(b[6])
        && letter(b[7])
        && letter(b[8])
        && digit(b[9])
        && digit(b[10])
}

/// An ABA routing transit number: nine digits, a Federal Reserve prefix (01-12, 21-32,
/// 61-72, 80; 00 for the US government), and `3*(d1+d4+d7) + 7*(d2+d5+d8) + (d3+d6+d9)`
/// divisible by ten.
pub fn aba(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 9 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let d = |i: usize| u32::from(b[i] - b'0');
    let prefix = d(0) * 10 + d(1);
    if !matches!(prefix, 0..=12 | 21..=32 | 61..=72 | 80) {
        return false;
    }
    let sum = 3 * (d(0) + d(3) + d(6)) + 7 * (d(1) + d(4) + d(7)) + (d(2) + d(5) + d(8));
    sum.is_multiple_of(10)
}

/// The length of an IBAN in the country with this ISO 3166 code, for the countries of the
/// SWIFT IBAN registry.
pub fn iban_length(country: &str) -> Option<usize> {
    Some(match country {
        "NO" => 15,
        "BE" => 16,
        "DK" | "FI" | "FO" | "GL" | "NL" => 18,
        "MK" | "SI" => 19,
        "AT" | "BA" | "EE" | "KZ" | "LT" | "LU" | "XK" => 20,
        "CH" | "CR" | "HR" | "LI" | "LV" => 21,
        "BG" | "BH" | "DE" | "GB" | "GE" | "IE" | "ME" | "RS" => 22,
        "AE" | "GI" | "IL" | "IQ" | "TL" => 23,
        "AD" | "CZ" | "ES" | "MD" | "PK" | "RO" | "SA" | "SE" | "SK" | "TN" | "VG" => 24,
        "LY" | "PT" | "ST" => 25,
        "IS" | "TR" => 26,
        "FR" | "GR" | "IT" | "MC" | "MR" | "SM" => 27,
        "AL" | "AZ" | "BY" | "CY" | "DO" | "GT" | "HU" | "LB" | "PL" | "SV" => 28,
        "BR" | "EG" | "PS" | "QA" | "UA" => 29,
        "JO" | "KW" | "MU" => 30,
        "MT" | "SC" => 31,
        "LC" => 32,
        "RU" => 33,
        _ => return None,
    })
}

/// An IBAN in compact form: the country's length and the ISO 13616 check (the number read
/// with the first four characters moved to the end, letters as 10-35, is 1 modulo 97).
pub fn iban(compact: &str) -> bool {
    let Some(len) = compact.get(..2).and_then(iban_length) else {
        return false;
    };
    if compact.len() != len || !compact.bytes().all(|b| b.is_ascii_alphanumeric()) {
        return false;
    }
    let (head, tail) = compact.split_at(4);
    let mut rem = 0u32;
    for b in tail.bytes().chain(head.bytes()) {
        let v = match b {
            b'0'..=b'9' => u32::from(b - b'0'),
            b'A'..=b'Z' => u32::from(b - b'A') + 10,
            _ => return false,
        };
        rem = if v >= 10 {
            (rem * 100 + v) % 97
        } else {
            (rem * 10 + v) % 97
        };
    }
    rem == 1
}

/// A calendar date: month 1-12, a day that month has, a year from 1880 to 2100.
pub fn date(year: u32, month: u32, day: u32) -> bool {
    if !(1880..=2100).contains(&year) || !(1..=12).contains(&month) || day == 0 {
        return false;
    }
    let leap = (year.is_multiple_of(4) && !year.is_multiple_of(100)) || year.is_multiple_of(400);
    let days = match month {
        2 if leap => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    };
    day <= days
}

/// The month number of an English month name or its three-letter (or `Sept`) abbreviation.
pub fn month(name: &str) -> Option<u32> {
    let lower = name.trim_end_matches('.').to_ascii_lowercase();
    const NAMES: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    NAMES
        .iter()
        .position(|full| lower.len() >= 3 && full.starts_with(&lower))
        .map(|i| i as u32 + 1)
}

/// A US telephone number (ten digits, area code first) that can belong to a person: valid
/// area code and exchange (first digit 2-9, not N11), not the 555 exchange (reserved for
/// directory services and fiction), not a toll-free or premium-rate area code.
pub fn us_phone(digits: &str) -> bool {
    let b = digits.as_bytes();
    if b.len() != 10 || !b.iter().all(u8::is_ascii_digit) {
        return false;
    }
    let area = &digits[..3];
    let exchange = &digits[3..6];
    let n11 = |s: &str| s.as_bytes()[1] == b'1' && s.as_bytes()[2] == b'1';
    let service = matches!(
        area,
        "800" | "833" | "844" | "855" | "866" | "877" | "888" | "900" | "976" | "555"
    );
    b[0] >= b'2' && b[3] >= b'2' && !n11(area) && !n11(exchange) && exchange != "555" && !service
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_digits() {
        assert!(luhn("4111111111111111"));
        assert!(!luhn("4111111111111112"));
        assert!(card("378282246310005"));
        assert!(card("36227206271667"), "Diners, 14 digits");
        assert!(!card("0000000000000000"));
        assert!(npi("1245318062"));
        assert!(npi("1234567893"));
        assert!(!npi("1234567890"));
        assert!(!npi("3234567893"), "must start with 1 or 2");
        assert!(dea("AB1234563"));
        assert!(dea("FM2846193"));
        assert!(!dea("AB1234567"));
        assert!(!dea("QB1234563"), "Q is no registrant type");
        assert!(aba("011000015"));
        assert!(aba("021000021"));
        assert!(!aba("021000022"));
        assert!(!aba("991000021"), "no Federal Reserve prefix 99");
        assert!(iban("GB82WEST12345698765432"));
        assert!(iban("DE89370400440532013000"));
        assert!(!iban("DE89370400440532013001"));
        assert!(!iban("DE8937040044053201300"), "short for DE");
    }

    #[test]
    fn formats() {
        assert!(icd10("E11.9"));
        assert!(icd10("S72.001A"));
        assert!(icd10("F32.A"));
        assert!(icd10("I10"));
        assert!(icd10("M1A.071"));
        assert!(
            !icd10("A1C"),
            "third character letter outside the known categories"
        );
        assert!(!icd10("U12.3"));
        assert!(!icd10("E11.12345"));
        assert!(mbi("1EG4TE5MK73"));
        assert!(!mbi("1EG4TE5MK7"));
        assert!(!mbi("1SG4TE5MK73"), "S is excluded");
        assert!(!mbi("0EG4TE5MK73"));
    }

    #[test]
    fn dates_and_phones() {
        assert!(date(1962, 3, 14));
        assert!(date(2000, 2, 29));
        assert!(!date(1900, 2, 29));
        assert!(!date(1975, 13, 2));
        assert!(!date(1975, 4, 31));
        assert_eq!(month("March"), Some(3));
        assert_eq!(month("Sept."), Some(9));
        assert_eq!(month("dec"), Some(12));
        assert_eq!(month("ma"), None);
        assert!(!us_phone("2125550000"), "555 exchange");
        assert!(!us_phone("6175551234"));
        assert!(us_phone("6174961234"));
        assert!(!us_phone("8004961234"), "toll-free");
        assert!(!us_phone("1174961234"));
        assert!(!us_phone("6179111234"), "N11 exchange");
    }

    #[test]
    fn ssn_ranges() {
        assert!(ssn("536", "22", "8841"));
        assert!(!ssn("000", "12", "3456"));
        assert!(!ssn("666", "45", "1234"));
        assert!(!ssn("912", "34", "5678"));
        assert!(!ssn("123", "00", "4567"));
        assert!(!ssn("321", "54", "0000"));
        assert!(!ssn("078", "05", "1120"));
    }
}
