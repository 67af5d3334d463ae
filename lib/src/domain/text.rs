//! Unicode rules for what people type: addresses compared in one normal form, and no characters
//! that hide or reorder what a reader sees.

use icu_properties::props::GeneralCategory;
use icu_properties::CodePointMapData;

/// NFKC: compatibility forms (full-width letters, ligatures, …) fold to their plain letters, so
/// `ＡＤＭＩＮ@…` and `admin@…` are one address.
pub fn nfkc(raw: &str) -> String {
    icu_normalizer::ComposingNormalizerBorrowed::new_nfkc()
        .normalize(raw)
        .into_owned()
}

/// Unicode full case folding, the one folding of searched text and of what is searched for:
/// `Straße` holds `STRASSE`, `ΣΑΣΑ` holds `ΣΑΣ` (a final sigma folds like any other), `ﬁesta`
/// holds `fiesta`. Lower-casing gets all three wrong.
pub fn fold(text: &str) -> String {
    caseless::default_case_fold_str(text)
}

fn category(c: char) -> GeneralCategory {
    CodePointMapData::<GeneralCategory>::new().get(c)
}

/// A control character (Cc) or an invisible format character (Cf: zero-width spaces and
/// joiners, bidi marks and overrides, the BOM, soft hyphens, tags).
pub fn is_invisible_or_control(c: char) -> bool {
    matches!(
        category(c),
        GeneralCategory::Control | GeneralCategory::Format
    )
}

/// Characters that reorder the text around them (bidi embeddings, overrides and isolates) or
/// are control characters: refused in names shown to others. Joiners (Cf too) stay allowed,
/// since scripts and emoji need them.
pub fn is_control_or_bidi_override(c: char) -> bool {
    category(c) == GeneralCategory::Control
        || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn case_folding_finds_what_lower_casing_misses() {
        for (text, needle) in [
            ("Straße", "STRASSE"),
            ("ΣΑΣΑ", "ΣΑΣ"),
            ("ﬁesta", "fiesta"),
            ("Jazz", "JAZZ"),
        ] {
            assert!(fold(text).contains(&fold(needle)), "{text} holds {needle}");
        }
        assert!(
            !"ΣΑΣΑ".to_lowercase().contains(&"ΣΑΣ".to_lowercase()),
            "what went wrong before"
        );
        assert!(!fold("Jazz").contains(&fold("rock")));
    }

    #[test]
    fn compatibility_forms_fold() {
        assert_eq!(nfkc("ＡＤＭＩＮx@example.com"), "ADMINx@example.com");
        assert_eq!(nfkc("ﬁesta"), "fiesta");
        assert_eq!(nfkc("plain"), "plain");
    }

    #[test]
    fn invisible_and_control_characters_are_told_apart() {
        for c in [
            '\u{0}', '\u{1b}', '\u{7f}', '\u{200b}', '\u{200d}', '\u{202e}', '\u{2066}',
            '\u{feff}', '\u{ad}',
        ] {
            assert!(is_invisible_or_control(c), "{:04x}", c as u32);
        }
        for c in ['a', 'é', 'Σ', '中', ' ', '@', '😀'] {
            assert!(!is_invisible_or_control(c), "{c}");
        }
        for c in [
            '\u{0}', '\u{1b}', '\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}',
        ] {
            assert!(is_control_or_bidi_override(c), "{:04x}", c as u32);
        }
        // A zero-width joiner holds emoji sequences and some scripts together: allowed in names.
        for c in ['\u{200d}', '\u{200c}', 'a', '😀'] {
            assert!(!is_control_or_bidi_override(c), "{:04x}", c as u32);
        }
    }
}
