//! Text normalization: one canonical spelling for characters that look alike, so that later steps
//! (repetition counts, dedup fingerprints, tokenizers) see `don't` and `don’t` as the same word.
//!
//! The step runs three passes, in an order chosen so that the result is a fixed point
//! (`normalize(normalize(x)) == normalize(x)`):
//!
//! 1. **map** every configured character group (quotes, dashes, ellipsis, spaces, control and
//!    zero-width characters). This comes *before* Unicode normalization because deleting a
//!    character can bring a base letter and a combining mark together (`e`, U+200B, U+0301), and
//!    only a later NFC pass composes them into `é`.
//! 2. **Unicode normalization**, NFC or NFKC.
//! 3. **map again**, because normalization can produce characters of the mapped groups: NFC turns
//!    U+2000 into U+2002 (a canonical singleton), NFKC turns U+FE31 into an em dash. This second
//!    mapping only ever replaces a character with ASCII punctuation or space, which composes with
//!    nothing, so the text stays normalized. (A test checks over every code point that
//!    normalization never produces a character the mapping deletes.)
//!
//! Whitespace collapsing runs last; it only removes spaces, tabs and newlines next to other
//! whitespace, which never changes how the remaining characters compose.

use serde::{Deserialize, Serialize};
use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick, is_nfkc_quick};

use crate::error::{ConfigError, StepError};
use crate::step::{Draft, Step};

/// Which Unicode normalization form to apply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Form {
    /// Canonical composition: changes no visible character, only its encoding.
    #[default]
    Nfc,
    /// Compatibility composition: also folds ligatures, full-width forms, superscripts and the like
    /// (`ﬁ` → `fi`, `２` → `2`). Loses information (`x²` → `x2`), hence not the default.
    Nfkc,
}

/// Options of the `normalize` step. Every group of mappings can be switched off on its own.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NormalizeConfig {
    /// The Unicode normalization form applied first.
    pub form: Form,
    /// Typographic single and double quotes and primes to ASCII `'` and `"`.
    ///
    /// Guillemets (« » ‹ ›) are left alone: in French, German or Russian they are the quotation
    /// marks of the language rather than a typographic variant of an ASCII one, and folding them
    /// would lose which language convention the text follows.
    pub quotes: bool,
    /// Hyphen, non-breaking hyphen, figure dash, en dash, em dash, horizontal bar and minus sign to `-`.
    pub dashes: bool,
    /// The one-character ellipsis `…` to `...`.
    pub ellipsis: bool,
    /// No-break and typographic spaces to an ASCII space.
    pub spaces: bool,
    /// Drops C0/C1 control characters except `\n` and `\t`; turns `\r\n`, `\r`, vertical tab, form
    /// feed, NEL and the Unicode line and paragraph separators into `\n`.
    pub controls: bool,
    /// Drops zero-width space, zero-width (non-)joiner, word joiner, byte-order mark and soft
    /// hyphen. Switch off for Persian or Indic text, where U+200C/U+200D are part of the spelling,
    /// or to keep emoji ZWJ sequences whole.
    pub zero_width: bool,
    /// Runs of spaces and tabs become one space, spaces at line ends go, three or more newlines
    /// become one blank line, and the document is trimmed.
    pub collapse_whitespace: bool,
}

impl Default for NormalizeConfig {
    fn default() -> Self {
        Self {
            form: Form::Nfc,
            quotes: true,
            dashes: true,
            ellipsis: true,
            spaces: true,
            controls: true,
            zero_width: true,
            collapse_whitespace: true,
        }
    }
}

impl NormalizeConfig {
    /// Every combination of options is valid; this exists so that all step configs validate alike.
    pub fn validate(&self, _path: &str) -> Result<(), ConfigError> {
        Ok(())
    }
}

/// The `normalize` step.
#[derive(Debug, Clone)]
pub struct Normalize {
    config: NormalizeConfig,
}

/// What the mapping does with one character.
enum Mapped {
    Keep(char),
    Replace(&'static str),
    Drop,
}

impl Normalize {
    /// Builds the `normalize` step from its options.
    pub fn new(config: &NormalizeConfig) -> Result<Self, ConfigError> {
        config.validate("normalize")?;
        Ok(Self {
            config: config.clone(),
        })
    }

    /// Normalizes one text. Idempotent for every input and every config.
    pub fn normalize(&self, text: &str) -> String {
        let mapped = self.map(text);
        // Most text is already in normal form. Composing it again would return it unchanged, and `map` of its
        // own output is the identity, so a quick check that says "yes" spares both passes.
        let quick = match self.config.form {
            Form::Nfc => is_nfc_quick(mapped.chars()),
            Form::Nfkc => is_nfkc_quick(mapped.chars()),
        };
        let remapped = if quick == IsNormalized::Yes {
            mapped
        } else {
            let normalized: String = match self.config.form {
                Form::Nfc => mapped.nfc().collect(),
                Form::Nfkc => mapped.nfkc().collect(),
            };
            self.map(&normalized)
        };
        if self.config.collapse_whitespace {
            collapse_whitespace(&remapped)
        } else {
            remapped
        }
    }

    fn map(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            if c == '\r' && self.config.controls {
                // `\r\n` is one line break, not two.
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push('\n');
                continue;
            }
            match self.map_char(c) {
                Mapped::Keep(c) => out.push(c),
                Mapped::Replace(s) => out.push_str(s),
                Mapped::Drop => {}
            }
        }
        out
    }

    fn map_char(&self, c: char) -> Mapped {
        let cfg = &self.config;
        match c {
            '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' if cfg.quotes => {
                Mapped::Replace("'")
            }
            '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' | '\u{2033}' if cfg.quotes => {
                Mapped::Replace("\"")
            }
            '\u{2010}'..='\u{2015}' | '\u{2212}' if cfg.dashes => Mapped::Replace("-"),
            '\u{2026}' if cfg.ellipsis => Mapped::Replace("..."),
            '\u{00A0}'
            | '\u{1680}'
            | '\u{2000}'..='\u{200A}'
            | '\u{202F}'
            | '\u{205F}'
            | '\u{3000}'
                if cfg.spaces =>
            {
                Mapped::Replace(" ")
            }
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' if cfg.zero_width => {
                Mapped::Drop
            }
            '\u{000B}' | '\u{000C}' | '\u{0085}' | '\u{2028}' | '\u{2029}' if cfg.controls => {
                Mapped::Replace("\n")
            }
            '\n' | '\t' => Mapped::Keep(c),
            c if c.is_control() && cfg.controls => Mapped::Drop,
            c => Mapped::Keep(c),
        }
    }
}

/// Collapses spaces and tabs, trims line ends, keeps at most one blank line between paragraphs, and
/// trims the document. One pass; its output contains none of the patterns it removes, and neither
/// does any trimmed part of it, so it is idempotent.
fn collapse_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut newlines = 0usize;
    for c in text.chars() {
        match c {
            ' ' | '\t' => pending_space = true,
            '\n' => {
                // Spaces before a line break are trailing spaces: dropped.
                pending_space = false;
                newlines += 1;
            }
            _ => {
                if newlines > 0 {
                    if !out.is_empty() {
                        out.push_str(if newlines >= 2 { "\n\n" } else { "\n" });
                    }
                    newlines = 0;
                }
                // Leading spaces of the document go; indentation of a line is kept, as one space.
                if pending_space && !out.is_empty() {
                    out.push(' ');
                }
                pending_space = false;
                out.push(c);
            }
        }
    }
    // What is left unpushed at the end is trailing whitespace. Other Unicode whitespace (for
    // example a no-break space when `spaces` is off) is trimmed at the document ends too.
    let trimmed = out.trim_matches(char::is_whitespace);
    if trimmed.len() == out.len() {
        out
    } else {
        trimmed.to_string()
    }
}

impl Step for Normalize {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let normalized = self.normalize(draft.text());
        draft.set_text(normalized);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn norm(text: &str) -> String {
        Normalize::new(&NormalizeConfig::default())
            .unwrap()
            .normalize(text)
    }

    fn with(config: NormalizeConfig) -> Normalize {
        Normalize::new(&config).unwrap()
    }

    #[test]
    fn quotes_dashes_and_ellipsis_become_ascii() {
        assert_eq!(norm("“Don’t” ‚x‛ „y‟"), "\"Don't\" 'x' \"y\"");
        assert_eq!(norm("5′ 3″"), "5' 3\"");
        assert_eq!(norm("a–b—c‒d―e−f‐g‑h"), "a-b-c-d-e-f-g-h");
        assert_eq!(norm("wait…"), "wait...");
    }

    #[test]
    fn guillemets_are_kept() {
        assert_eq!(norm("« Bonjour » ‹ a ›"), "« Bonjour » ‹ a ›");
    }

    #[test]
    fn exotic_spaces_become_one_space() {
        assert_eq!(
            norm("a\u{00A0}b\u{2003}c\u{202F}d\u{205F}e\u{3000}f\u{1680}g"),
            "a b c d e f g"
        );
        assert_eq!(norm("a\u{00A0}\u{2009} b"), "a b");
    }

    #[test]
    fn controls_and_zero_width_go() {
        assert_eq!(
            norm("a\u{0007}b\u{200B}c\u{FEFF}d\u{00AD}e\u{2060}f"),
            "abcdef"
        );
        assert_eq!(
            norm("one\r\ntwo\rthree\u{2028}four"),
            "one\ntwo\nthree\nfour"
        );
        assert_eq!(norm("tab\tstays\tas space"), "tab stays as space");
    }

    #[test]
    fn whitespace_is_collapsed_and_paragraphs_kept() {
        assert_eq!(norm("  a   b  \n\n\n\n c \n   d  "), "a b\n\n c\n d");
        assert_eq!(norm("a\n\nb"), "a\n\nb");
        assert_eq!(norm("\n\n\n"), "");
        assert_eq!(norm(""), "");
    }

    #[test]
    fn nfc_composes_and_nfkc_folds() {
        assert_eq!(norm("e\u{0301}"), "é");
        // A zero-width space between base and mark is dropped before composing.
        assert_eq!(norm("e\u{200B}\u{0301}"), "é");
        let nfkc = with(NormalizeConfig {
            form: Form::Nfkc,
            ..NormalizeConfig::default()
        });
        assert_eq!(nfkc.normalize("ﬁne ２ x²"), "fine 2 x2");
        // NFKC turns the vertical em dash form into an em dash, which the second mapping catches.
        assert_eq!(nfkc.normalize("a\u{FE31}b"), "a-b");
        assert_eq!(norm("ﬁne"), "ﬁne");
    }

    #[test]
    fn every_group_can_be_switched_off() {
        let off = with(NormalizeConfig {
            quotes: false,
            dashes: false,
            ellipsis: false,
            spaces: false,
            controls: false,
            zero_width: false,
            collapse_whitespace: false,
            form: Form::Nfc,
        });
        let text = "“a”–b…\u{00A0}c\u{0007}\u{200B}  d\r\n";
        assert_eq!(off.normalize(text), text);
    }

    #[test]
    fn normalization_never_produces_a_character_the_mapping_drops() {
        for form in [Form::Nfc, Form::Nfkc] {
            let n = with(NormalizeConfig {
                form,
                ..NormalizeConfig::default()
            });
            for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
                let s = c.to_string();
                let normalized: String = match form {
                    Form::Nfc => s.nfc().collect(),
                    Form::Nfkc => s.nfkc().collect(),
                };
                if normalized == s {
                    continue;
                }
                for d in normalized.chars() {
                    assert!(
                        !matches!(n.map_char(d), Mapped::Drop) && d != '\r',
                        "{form:?} of U+{:04X} yields dropped U+{:04X}",
                        c as u32,
                        d as u32
                    );
                }
            }
        }
    }

    #[test]
    fn every_single_character_is_a_fixed_point_after_one_pass() {
        for form in [Form::Nfc, Form::Nfkc] {
            let n = with(NormalizeConfig {
                form,
                ..NormalizeConfig::default()
            });
            for c in (0u32..=0x10FFFF).filter_map(char::from_u32) {
                let s = format!("a{c}\u{0301}b");
                let once = n.normalize(&s);
                assert_eq!(
                    n.normalize(&once),
                    once,
                    "U+{:04X} under {form:?}",
                    c as u32
                );
            }
        }
    }

    fn any_config() -> impl Strategy<Value = NormalizeConfig> {
        (any::<bool>(), any::<[bool; 7]>()).prop_map(|(nfkc, f)| NormalizeConfig {
            form: if nfkc { Form::Nfkc } else { Form::Nfc },
            quotes: f[0],
            dashes: f[1],
            ellipsis: f[2],
            spaces: f[3],
            controls: f[4],
            zero_width: f[5],
            collapse_whitespace: f[6],
        })
    }

    /// Text dense in the characters the step treats specially, mixed with arbitrary Unicode.
    fn tricky_text() -> impl Strategy<Value = String> {
        let special = prop::sample::select(vec![
            '\u{0301}', '\u{0300}', '\u{0327}', '\u{200B}', '\u{200D}', '\u{00AD}', '\u{FEFF}',
            '\u{00A0}', '\u{2000}', '\u{2001}', '\u{3000}', '\r', '\n', '\t', ' ', '\u{2026}',
            '\u{2019}', '\u{2033}', '\u{FE31}', '\u{00B4}', '\u{1100}', '\u{1161}', '\u{11A8}',
            'e', 'A', '\u{0085}', '\u{2028}', '\u{0007}', '\u{FB01}', '\u{2024}', '\u{FF0E}',
        ]);
        prop::collection::vec(prop_oneof![3 => special, 1 => any::<char>()], 0..40)
            .prop_map(|cs| cs.into_iter().collect())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn idempotent_on_arbitrary_unicode(text in any::<String>(), config in any_config()) {
            let n = with(config);
            let once = n.normalize(&text);
            prop_assert_eq!(n.normalize(&once), once);
        }

        #[test]
        fn idempotent_on_tricky_text(text in tricky_text(), config in any_config()) {
            let n = with(config);
            let once = n.normalize(&text);
            prop_assert_eq!(n.normalize(&once), once);
        }

        #[test]
        fn the_quick_check_changes_nothing(text in tricky_text(), config in any_config()) {
            let n = with(config);
            prop_assert_eq!(n.normalize(&text), every_pass(&n, &text));
        }
    }

    /// [`Normalize::normalize`] without the normal-form quick check: map, compose, map again, collapse.
    fn every_pass(n: &Normalize, text: &str) -> String {
        let mapped = n.map(text);
        let normalized: String = match n.config.form {
            Form::Nfc => mapped.nfc().collect(),
            Form::Nfkc => mapped.nfkc().collect(),
        };
        let remapped = n.map(&normalized);
        if n.config.collapse_whitespace {
            collapse_whitespace(&remapped)
        } else {
            remapped
        }
    }
}
