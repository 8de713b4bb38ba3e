use super::*;

/// The default alphabet as printed in 3GPP TS 23.038 §6.2.1, one row of 16
/// septets per string, written independently of `BASIC` so that a typo in
/// either is caught. U+001B stands for the escape slot.
const STANDARD_ROWS: [&str; 8] = [
    "@£$¥èéùìòÇ\nØø\rÅå",
    "Δ_ΦΓΛΩΠΨΣΘΞ\u{1B}ÆæßÉ",
    " !\"#¤%&'()*+,-./",
    "0123456789:;<=>?",
    "¡ABCDEFGHIJKLMNO",
    "PQRSTUVWXYZÄÖÑÜ§",
    "¿abcdefghijklmno",
    "pqrstuvwxyzäöñüà",
];

/// The extension table of 3GPP TS 23.038 §6.2.1.1.
const STANDARD_EXTENSION: [(char, u8); 10] = [
    ('\u{0C}', 0x0A),
    ('^', 0x14),
    ('{', 0x28),
    ('}', 0x29),
    ('\\', 0x2F),
    ('[', 0x3C),
    ('~', 0x3D),
    (']', 0x3E),
    ('|', 0x40),
    ('€', 0x65),
];

fn standard_basic() -> Vec<(char, u8)> {
    let mut table = Vec::new();
    for (row, chars) in STANDARD_ROWS.iter().enumerate() {
        let chars: Vec<char> = chars.chars().collect();
        assert_eq!(chars.len(), 16, "row {row:#x} of the standard table");
        for (column, &c) in chars.iter().enumerate() {
            let septet = u8::try_from(row * 16 + column).expect("septet fits a byte");
            if septet != ESC {
                table.push((c, septet));
            }
        }
    }
    table
}

/// Decodes unpacked septets; `None` on a dangling escape or an unknown
/// extension septet, which is how a badly split segment would show.
fn decode_gsm7(septets: &[u8]) -> Option<String> {
    let basic = standard_basic();
    let mut text = String::new();
    let mut iter = septets.iter();
    while let Some(&septet) = iter.next() {
        if septet == ESC {
            let &next = iter.next()?;
            let &(c, _) = STANDARD_EXTENSION.iter().find(|&&(_, s)| s == next)?;
            text.push(c);
        } else {
            let &(c, _) = basic.iter().find(|&&(_, s)| s == septet)?;
            text.push(c);
        }
    }
    Some(text)
}

/// Splits septets as a sender would, independently of `pack`: whole text if it
/// fits one SMS, otherwise 153-septet chunks, giving back the last septet of a
/// chunk when it is an escape (0x1B is never an extension septet, so any 0x1B
/// is an escape).
fn split_septets(septets: &[u8]) -> Vec<&[u8]> {
    if septets.is_empty() {
        return Vec::new();
    }
    if septets.len() <= 160 {
        return vec![septets];
    }
    let mut parts = Vec::new();
    let mut rest = septets;
    while !rest.is_empty() {
        let mut take = rest.len().min(153);
        if rest[take - 1] == ESC {
            take -= 1;
        }
        let (part, tail) = rest.split_at(take);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Same for UCS-2: 67-unit chunks, giving back a trailing high surrogate.
fn split_units(units: &[u16]) -> Vec<&[u16]> {
    if units.is_empty() {
        return Vec::new();
    }
    if units.len() <= 70 {
        return vec![units];
    }
    let mut parts = Vec::new();
    let mut rest = units;
    while !rest.is_empty() {
        let mut take = rest.len().min(67);
        if (0xD800..=0xDBFF).contains(&rest[take - 1]) {
            take -= 1;
        }
        let (part, tail) = rest.split_at(take);
        parts.push(part);
        rest = tail;
    }
    parts
}

/// Checks `analyse` against an actual split of the encoded text and returns it.
fn check_against_split(text: &str) -> Analysis {
    let analysis = analyse(text);
    assert_eq!(analysis.characters, text.chars().count(), "{text:?}");
    assert_eq!(
        is_gsm7(text),
        analysis.encoding == Encoding::Gsm7,
        "{text:?}"
    );
    assert_eq!(
        analysis.non_gsm.is_empty(),
        analysis.encoding == Encoding::Gsm7
    );
    let (parts, last_len) = match encode_gsm7(text) {
        Some(septets) => {
            assert_eq!(analysis.encoding, Encoding::Gsm7, "{text:?}");
            assert_eq!(analysis.units, septets.len(), "{text:?}");
            let parts = split_septets(&septets);
            let mut decoded = String::new();
            for part in &parts {
                assert!(part.len() <= 160);
                let piece = decode_gsm7(part).expect("each segment decodes on its own");
                decoded.push_str(&piece);
            }
            assert_eq!(decoded, text);
            (parts.len(), parts.last().map_or(0, |p| p.len()))
        }
        None => {
            assert_eq!(analysis.encoding, Encoding::Ucs2, "{text:?}");
            let units: Vec<u16> = text.encode_utf16().collect();
            assert_eq!(analysis.units, units.len(), "{text:?}");
            let parts = split_units(&units);
            let mut decoded = String::new();
            for part in &parts {
                assert!(part.len() <= 70);
                let piece = String::from_utf16(part).expect("each segment decodes on its own");
                decoded.push_str(&piece);
            }
            assert_eq!(decoded, text);
            (parts.len(), parts.last().map_or(0, |p| p.len()))
        }
    };
    assert_eq!(analysis.segments, parts, "{text:?}");
    let (single, multi) = match analysis.encoding {
        Encoding::Gsm7 => (160, 153),
        Encoding::Ucs2 => (70, 67),
    };
    let expected_per_segment = if parts > 1 { multi } else { single };
    assert_eq!(analysis.per_segment, expected_per_segment, "{text:?}");
    assert_eq!(
        analysis.remaining,
        expected_per_segment - last_len,
        "{text:?}"
    );
    analysis
}

fn repeat(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

// ---------------------------------------------------------------- tables

#[test]
fn every_default_alphabet_character_has_its_standard_septet() {
    let table = standard_basic();
    assert_eq!(table.len(), 127);
    for &(c, septet) in &table {
        assert_eq!(basic_septet(c), Some(septet), "{c:?}");
        assert_eq!(gsm_septets(c), Some(1), "{c:?}");
        assert_eq!(encode_gsm7(&c.to_string()), Some(vec![septet]), "{c:?}");
        let analysis = analyse(&c.to_string());
        assert_eq!(analysis.encoding, Encoding::Gsm7, "{c:?}");
        assert_eq!((analysis.units, analysis.remaining), (1, 159), "{c:?}");
    }
}

#[test]
fn every_extension_character_has_its_standard_septet_after_escape() {
    for &(c, septet) in &STANDARD_EXTENSION {
        assert_eq!(basic_septet(c), None, "{c:?}");
        assert_eq!(extension_septet(c), Some(septet), "{c:?}");
        assert_eq!(
            encode_gsm7(&c.to_string()),
            Some(vec![ESC, septet]),
            "{c:?}"
        );
        let analysis = analyse(&c.to_string());
        assert_eq!(analysis.encoding, Encoding::Gsm7, "{c:?}");
        assert_eq!((analysis.units, analysis.remaining), (2, 158), "{c:?}");
    }
}

#[test]
fn known_positions_of_the_default_alphabet() {
    let known = [
        ('@', 0x00),
        ('£', 0x01),
        ('$', 0x02),
        ('è', 0x04),
        ('Ç', 0x09),
        ('\n', 0x0A),
        ('Ø', 0x0B),
        ('ø', 0x0C),
        ('\r', 0x0D),
        ('Å', 0x0E),
        ('Δ', 0x10),
        ('_', 0x11),
        ('Æ', 0x1C),
        ('ß', 0x1E),
        ('É', 0x1F),
        (' ', 0x20),
        ('¤', 0x24),
        ('¡', 0x40),
        ('Ä', 0x5B),
        ('Ö', 0x5C),
        ('Ñ', 0x5D),
        ('Ü', 0x5E),
        ('§', 0x5F),
        ('¿', 0x60),
        ('ä', 0x7B),
        ('ö', 0x7C),
        ('ñ', 0x7D),
        ('ü', 0x7E),
        ('à', 0x7F),
    ];
    for (c, septet) in known {
        assert_eq!(basic_septet(c), Some(septet), "{c:?}");
    }
}

#[test]
fn known_positions_of_the_extension_table() {
    let known = [
        ('^', 0x14),
        ('{', 0x28),
        ('}', 0x29),
        ('\\', 0x2F),
        ('[', 0x3C),
        ('~', 0x3D),
        (']', 0x3E),
        ('|', 0x40),
        ('€', 0x65),
        ('\u{0C}', 0x0A),
    ];
    for (c, septet) in known {
        assert_eq!(
            encode_gsm7(&c.to_string()),
            Some(vec![0x1B, septet]),
            "{c:?}"
        );
    }
}

#[test]
fn the_library_table_is_the_standard_table() {
    for (index, &c) in BASIC.iter().enumerate() {
        let row: Vec<char> = STANDARD_ROWS[index / 16].chars().collect();
        assert_eq!(c, row[index % 16], "septet {index:#04x}");
    }
    assert_eq!(EXTENSION, STANDARD_EXTENSION);
}

#[test]
fn no_other_character_is_gsm7() {
    let basic = standard_basic();
    let mut gsm = 0;
    // The whole BMP plus a slice of the supplementary planes (emoji).
    let candidates = (0..=0xFFFF_u32).chain(0x1_F000..=0x1_FAFF);
    for c in candidates.filter_map(char::from_u32) {
        let in_standard =
            basic.iter().any(|&(b, _)| b == c) || STANDARD_EXTENSION.iter().any(|&(e, _)| e == c);
        assert_eq!(
            is_gsm7(&c.to_string()),
            in_standard,
            "{c:?} U+{:04X}",
            u32::from(c)
        );
        gsm += usize::from(in_standard);
    }
    assert_eq!(gsm, 137);
}

#[test]
fn look_alikes_and_controls_are_not_gsm7() {
    for c in ['`', '\t', '\u{1B}', '\0', 'ç', 'ê', 'À', 'α', 'ω', 'Ω', '€'] {
        let expected = matches!(c, 'Ω' | '€');
        assert_eq!(is_gsm7(&c.to_string()), expected, "{c:?}");
    }
    // Greek capitals that look Latin are not in the table: only the ones that
    // differ from Latin letters are.
    for c in ['Α', 'Β', 'Ε', 'Ο'] {
        assert!(!is_gsm7(&c.to_string()), "{c:?}");
    }
}

// ---------------------------------------------------------------- encoding

#[test]
fn empty_text_is_zero_segments() {
    let analysis = check_against_split("");
    assert_eq!(
        analysis,
        Analysis {
            encoding: Encoding::Gsm7,
            characters: 0,
            units: 0,
            segments: 0,
            per_segment: 160,
            remaining: 160,
            non_gsm: Vec::new(),
        }
    );
    assert!(is_gsm7(""));
    assert_eq!(encode_gsm7(""), Some(Vec::new()));
    assert_eq!(transliterate(""), "");
}

#[test]
fn encoding_names() {
    assert_eq!(Encoding::Gsm7.as_str(), "gsm7");
    assert_eq!(Encoding::Ucs2.as_str(), "ucs2");
}

#[test]
fn a_single_c_cedilla_or_e_circumflex_forces_ucs2() {
    for c in ['ç', 'ê'] {
        let analysis = check_against_split(&c.to_string());
        assert_eq!(analysis.encoding, Encoding::Ucs2);
        assert_eq!(analysis.non_gsm, vec![c]);
        assert_eq!((analysis.units, analysis.remaining), (1, 69));

        // 100 GSM characters fit one SMS; one more ê makes it two.
        let mut text = repeat('a', 100);
        assert_eq!(analyse(&text).segments, 1);
        text.push(c);
        let analysis = check_against_split(&text);
        assert_eq!(analysis.encoding, Encoding::Ucs2);
        assert_eq!((analysis.units, analysis.segments), (101, 2));
        assert_eq!(encode_gsm7(&text), None);
    }
}

#[test]
fn non_gsm_lists_distinct_characters_in_order_of_first_appearance() {
    let analysis = analyse("ça, c'est être 😀 et ça 😀 ê");
    assert_eq!(analysis.non_gsm, vec!['ç', 'ê', '😀']);
}

#[test]
fn emoji_count_two_units() {
    let analysis = check_against_split("Bravo 🎉");
    assert_eq!(analysis.encoding, Encoding::Ucs2);
    assert_eq!(analysis.characters, 7);
    assert_eq!(analysis.units, 8);
    assert_eq!(analysis.remaining, 62);

    let analysis = check_against_split(&repeat('😀', 35));
    assert_eq!(
        (analysis.units, analysis.segments, analysis.remaining),
        (70, 1, 0)
    );
    let analysis = check_against_split(&repeat('😀', 36));
    assert_eq!((analysis.units, analysis.segments), (72, 2));
}

#[test]
fn extension_characters_count_two_septets() {
    let analysis = check_against_split("Prix : 10 € [TTC]");
    assert_eq!(analysis.encoding, Encoding::Gsm7);
    assert_eq!(analysis.characters, 17);
    assert_eq!(analysis.units, 20);
    assert_eq!(
        encode_gsm7("€{"),
        Some(vec![0x1B, 0x65, 0x1B, 0x28]),
        "escape before each extension character"
    );
    // 80 euro signs are exactly 160 septets.
    let analysis = check_against_split(&repeat('€', 80));
    assert_eq!(
        (analysis.units, analysis.segments, analysis.remaining),
        (160, 1, 0)
    );
    let analysis = check_against_split(&repeat('€', 81));
    assert_eq!((analysis.units, analysis.segments), (162, 2));
}

// ---------------------------------------------------------------- boundaries

#[test]
fn gsm7_boundaries() {
    for (len, segments, per_segment, remaining) in [
        (1, 1, 160, 159),
        (160, 1, 160, 0),
        (161, 2, 153, 145),
        (306, 2, 153, 0),
        (307, 3, 153, 152),
        (459, 3, 153, 0),
        (460, 4, 153, 152),
    ] {
        let analysis = check_against_split(&repeat('a', len));
        assert_eq!(analysis.encoding, Encoding::Gsm7);
        assert_eq!(
            (
                analysis.units,
                analysis.segments,
                analysis.per_segment,
                analysis.remaining
            ),
            (len, segments, per_segment, remaining),
            "{len} septets"
        );
    }
}

#[test]
fn ucs2_boundaries() {
    for (len, segments, per_segment, remaining) in [
        (1, 1, 70, 69),
        (70, 1, 70, 0),
        (71, 2, 67, 63),
        (134, 2, 67, 0),
        (135, 3, 67, 66),
        (201, 3, 67, 0),
        (202, 4, 67, 66),
    ] {
        let analysis = check_against_split(&repeat('ê', len));
        assert_eq!(analysis.encoding, Encoding::Ucs2);
        assert_eq!(
            (
                analysis.units,
                analysis.segments,
                analysis.per_segment,
                analysis.remaining
            ),
            (len, segments, per_segment, remaining),
            "{len} units"
        );
    }
}

#[test]
fn extension_character_at_position_153_moves_to_the_next_segment() {
    // 152 septets, then € whose escape would be the 153rd septet: the escape
    // may not end the segment, so the whole € opens segment 2 and septet 153
    // of segment 1 stays unused.
    let mut text = repeat('a', 152);
    text.push('€');
    text.push_str(&repeat('a', 151));
    let analysis = check_against_split(&text);
    let septets = encode_gsm7(&text).expect("GSM-7");
    assert_eq!(&septets[151..155], &[0x61, ESC, 0x65, 0x61]);
    // 305 septets: plain division would leave 1 free septet, the lost one
    // leaves none.
    assert_eq!(analysis.units, 305);
    assert_eq!((analysis.segments, analysis.remaining), (2, 0));
    // So 306 septets need 3 segments where plain division says 2.
    text.push('a');
    let analysis = check_against_split(&text);
    assert_eq!(analysis.units, 306);
    assert_eq!((analysis.segments, analysis.remaining), (3, 152));

    // The euro sign one place earlier ends segment 1 exactly: nothing is
    // lost and 306 septets are 2 segments.
    let mut text = repeat('a', 151);
    text.push('€');
    text.push_str(&repeat('a', 153));
    let analysis = check_against_split(&text);
    assert_eq!(
        (analysis.units, analysis.segments, analysis.remaining),
        (306, 2, 0)
    );
}

#[test]
fn extension_characters_fit_whole_in_a_single_sms() {
    // The no-split rule only applies to concatenated messages: 159 septets
    // and a € is 161 septets (2 segments), 158 and a € is 160 (1 segment).
    let mut text = repeat('a', 158);
    text.push('€');
    assert_eq!(check_against_split(&text).segments, 1);
    let mut text = repeat('a', 159);
    text.push('€');
    assert_eq!(check_against_split(&text).segments, 2);
}

#[test]
fn surrogate_pair_is_not_split_between_ucs2_segments() {
    let mut text = repeat('ê', 66);
    text.push('😀');
    text.push_str(&repeat('ê', 66));
    let analysis = check_against_split(&text);
    // 134 units would be exactly 2 segments if the emoji could be cut.
    assert_eq!(analysis.units, 134);
    assert_eq!((analysis.segments, analysis.remaining), (3, 66));

    let mut text = repeat('ê', 65);
    text.push('😀');
    text.push_str(&repeat('ê', 67));
    let analysis = check_against_split(&text);
    assert_eq!(
        (analysis.units, analysis.segments, analysis.remaining),
        (134, 2, 0)
    );
}

// ---------------------------------------------------------------- transliteration

#[test]
fn french_reminder_becomes_gsm7_and_cheaper() {
    let text = "Rappel : réunion à l'agence le jeudi 12 — n'oubliez pas vos pièces d'identité…";
    let before = check_against_split(text);
    assert_eq!(before.encoding, Encoding::Ucs2);
    assert_eq!(before.non_gsm, vec!['—', '…']);
    assert_eq!(before.segments, 2);

    let rewritten = transliterate(text);
    assert_eq!(
        rewritten,
        "Rappel : réunion à l'agence le jeudi 12 - n'oubliez pas vos pièces d'identité..."
    );
    let after = check_against_split(&rewritten);
    assert_eq!(after.encoding, Encoding::Gsm7);
    assert_eq!(after.segments, 1);
    assert!(after.segments < before.segments);
}

#[test]
fn french_typography_is_flattened() {
    let text = "L’Amicale vous dit « Bon été ! » ; rendez-vous à 18 h – côté jardin. Reçu : 2 œufs, Œuvre, Être, Ça";
    let rewritten = transliterate(text);
    assert_eq!(
        rewritten,
        "L'Amicale vous dit \" Bon été ! \" ; rendez-vous à 18 h - coté jardin. ReÇu : 2 oeufs, OEuvre, Etre, Ça"
    );
    assert!(is_gsm7(&rewritten));
}

#[test]
fn accents_missing_from_gsm7_are_replaced() {
    for (from, to) in [
        ('â', "a"),
        ('ê', "e"),
        ('î', "i"),
        ('ô', "o"),
        ('û', "u"),
        ('ë', "e"),
        ('ï', "i"),
        ('ÿ', "y"),
        ('ç', "Ç"),
        ('À', "A"),
        ('Â', "A"),
        ('È', "E"),
        ('Ê', "E"),
        ('Ë', "E"),
        ('Î', "I"),
        ('Ï', "I"),
        ('Ô', "O"),
        ('Ù', "U"),
        ('Û', "U"),
        ('Ÿ', "Y"),
        ('œ', "oe"),
        ('Œ', "OE"),
        ('á', "a"),
        ('í', "i"),
        ('ó', "o"),
        ('ú', "u"),
        ('ł', "l"),
        ('š', "s"),
        ('ș', "s"),
        ('ț', "t"),
    ] {
        assert_eq!(transliterate(&from.to_string()), to, "{from:?}");
    }
}

#[test]
fn punctuation_and_spaces_are_replaced() {
    for (from, to) in [
        ('’', "'"),
        ('‘', "'"),
        ('“', "\""),
        ('”', "\""),
        ('«', "\""),
        ('»', "\""),
        ('–', "-"),
        ('—', "-"),
        ('−', "-"),
        ('…', "..."),
        ('\u{A0}', " "),
        ('\u{202F}', " "),
        ('\u{2009}', " "),
        ('\t', " "),
        ('\u{2028}', "\n"),
        ('\u{200B}', ""),
        ('\u{AD}', ""),
        ('\u{FEFF}', ""),
        ('·', "."),
        ('°', "o"),
        ('™', "TM"),
    ] {
        assert_eq!(transliterate(&from.to_string()), to, "{from:?}");
    }
    assert_eq!(transliterate("Bonjour\u{202F}!"), "Bonjour !");
}

#[test]
fn gsm7_letters_and_extension_characters_are_kept() {
    let text = "é è à ù ì ò É Ä Ö Ü ä ö ü ñ Ñ ø Ø å Å æ Æ ß Ç Δ Ω € [] {} ~ | ^ \\ \u{0C}";
    assert!(is_gsm7(text));
    assert_eq!(transliterate(text), text);
    for (c, _) in standard_basic().into_iter().chain(STANDARD_EXTENSION) {
        assert_eq!(transliterate(&c.to_string()), c.to_string(), "{c:?}");
        assert_eq!(
            replacement(c),
            None,
            "{c:?} is GSM-7 and needs no replacement"
        );
    }
}

#[test]
fn every_replacement_is_gsm7() {
    let candidates = (0..=0xFFFF_u32).chain(0x1_F000..=0x1_FAFF);
    let mut replaced = 0;
    for c in candidates.filter_map(char::from_u32) {
        if let Some(to) = replacement(c) {
            assert!(is_gsm7(to), "{c:?} → {to:?}");
            assert_eq!(transliterate(&c.to_string()), to, "{c:?}");
            replaced += 1;
        }
    }
    assert!(replaced > 150, "only {replaced} replacements");
}

#[test]
fn characters_without_equivalent_are_left_and_reported() {
    let text = "Fête 🎉 à 東京 ça";
    let rewritten = transliterate(text);
    assert_eq!(rewritten, "Fete 🎉 à 東京 Ça");
    let analysis = analyse(&rewritten);
    assert_eq!(analysis.encoding, Encoding::Ucs2);
    assert_eq!(analysis.non_gsm, vec!['🎉', '東', '京']);
    // Joiners inside emoji sequences are kept so the sequence survives.
    let family = "👨\u{200D}👩\u{200D}👧";
    assert_eq!(transliterate(family), family);
}

#[test]
fn decomposed_accents_are_composed_or_dropped() {
    // "é" and "è" as e + combining mark compose to the GSM letters; "ê" and
    // "ô" lose their circumflex, like their precomposed forms.
    let text = "re\u{301}unie\u{300}re e\u{302}tre co\u{302}te\u{301} c\u{327}a Ca\u{30A} n\u{303}";
    let rewritten = transliterate(text);
    assert_eq!(rewritten, "réunière etre coté Ça Cå ñ");
    assert!(is_gsm7(&rewritten));
    // A mark on something that is not a GSM letter is left alone.
    assert_eq!(transliterate("東\u{301}"), "東\u{301}");
    assert_eq!(transliterate(" \u{301}"), " \u{301}");
}

#[test]
fn transliteration_never_costs_more_segments() {
    // 70 ellipses are one UCS-2 SMS; as 210 dots they would be two GSM-7
    // segments, so the text is returned as is.
    let text = repeat('…', 70);
    assert_eq!(transliterate(&text), text);
    // With room to spare the replacement is made.
    let text = repeat('…', 50);
    assert_eq!(transliterate(&text), repeat('.', 150));
}

#[test]
fn transliteration_is_idempotent_on_examples() {
    for text in [
        "Rappel : réunion — n’oubliez pas…",
        "Fête 🎉 à 東京 ça",
        "e\u{302}\u{301}",
        "\u{A0}\u{301}",
    ] {
        let once = transliterate(text);
        assert_eq!(transliterate(&once), once, "{text:?}");
    }
}

// ---------------------------------------------------------------- properties

/// SplitMix64: deterministic, good enough to spread test inputs, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).expect("usize fits u64");
        usize::try_from(self.next() % n).expect("below n")
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())]
    }
}

/// Generates texts mixing plain GSM characters, extension characters,
/// transliterable characters and characters without equivalent, in
/// proportions that change from text to text so that pure GSM-7, pure UCS-2
/// and mixed texts all appear, at lengths around every boundary.
fn generated_texts(count: usize) -> Vec<String> {
    let basic: Vec<char> = standard_basic().into_iter().map(|(c, _)| c).collect();
    let extension: Vec<char> = STANDARD_EXTENSION.iter().map(|&(c, _)| c).collect();
    let transliterable: Vec<char> =
        "çêâîôûëïœŒ’‘“”«»–—…\u{A0}\u{202F}\u{200B}ÀÈÊÎÔÛÙŸáíóúłšțΤ™©·°\t\u{301}\u{302}\u{327}"
            .chars()
            .collect();
    let untouchable: Vec<char> = "😀🎉👍東京αβ\u{200D}ع🇫🇷".chars().collect();

    let mut rng = Rng(0x5EED_A41C_A1E5_0001);
    let mut texts = Vec::with_capacity(count);
    for _ in 0..count {
        // Weights out of 100 for extension, transliterable and untouchable
        // characters; the rest is plain GSM.
        let (ext, translit, other) = match rng.below(6) {
            0 => (0, 0, 0),
            1 => (rng.below(60), 0, 0),
            2 => (rng.below(20), rng.below(10) + 1, 0),
            3 => (rng.below(20), rng.below(100), 0),
            4 => (rng.below(20), rng.below(30), rng.below(10) + 1),
            _ => (0, 0, rng.below(100) + 1),
        };
        let len = match rng.below(4) {
            0 => rng.below(500),
            1 => 60 + rng.below(20),
            2 => 130 + rng.below(10),
            _ => 145 + rng.below(170),
        };
        let mut text = String::new();
        for _ in 0..len {
            let roll = rng.below(100);
            let c = if roll < ext {
                rng.pick(&extension)
            } else if roll < ext + translit {
                rng.pick(&transliterable)
            } else if roll < ext + translit + other {
                rng.pick(&untouchable)
            } else {
                rng.pick(&basic)
            };
            text.push(c);
        }
        texts.push(text);
    }
    texts
}

#[test]
fn property_segments_match_an_actual_split() {
    let texts = generated_texts(3000);
    let mut seen = [0_usize; 2];
    for text in &texts {
        let analysis = check_against_split(text);
        seen[usize::from(analysis.encoding == Encoding::Ucs2)] += 1;
        for &c in &analysis.non_gsm {
            assert!(text.contains(c) && !is_gsm7(&c.to_string()));
        }
        let mut distinct = analysis.non_gsm.clone();
        distinct.dedup();
        assert_eq!(distinct.len(), analysis.non_gsm.len());
        assert!(
            text.chars()
                .all(|c| is_gsm7(&c.to_string()) || analysis.non_gsm.contains(&c))
        );
    }
    assert!(
        seen[0] > 500 && seen[1] > 500,
        "generator covers both: {seen:?}"
    );
}

#[test]
fn property_transliteration_never_adds_segments() {
    let mut became_gsm7 = 0;
    for text in generated_texts(3000) {
        let before = analyse(&text);
        let rewritten = transliterate(&text);
        let after = check_against_split(&rewritten);
        if after.encoding == Encoding::Gsm7 {
            became_gsm7 += usize::from(before.encoding == Encoding::Ucs2);
            assert!(after.segments <= before.segments, "{text:?}");
        }
        // Stronger: it holds whatever the resulting encoding.
        assert!(after.segments <= before.segments, "{text:?}");
        if before.encoding == Encoding::Gsm7 {
            assert_eq!(rewritten, text);
        }
        assert_eq!(transliterate(&rewritten), rewritten, "{text:?}");
    }
    assert!(became_gsm7 > 200, "only {became_gsm7} texts became GSM-7");
}
