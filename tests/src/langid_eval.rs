//! Language-ID accuracy of several detectors on the same labelled texts, over the languages that CLD2
//! and lingua both support (the comparison set of issue 13) and over all languages each detector supports.
//!
//! Codes are compared after folding individual languages into their ISO 639-3 macrolanguage (`arb` and
//! `ara` are both Arabic; UDHR labels its texts with individual languages, detectors often answer with
//! the macrolanguage), using SIL's ISO 639-3 macrolanguage mappings for the languages concerned.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result};
use tamis_core::LanguageGuess;

use crate::read_jsonl;

/// Individual language -> macrolanguage, from SIL's ISO 639-3 macrolanguage mappings, for the codes
/// that occur in the UDHR labels or a detector's answers of the comparison set.
const MACROLANGUAGE: &[(&str, &str)] = &[
    ("als", "sqi"),
    ("arb", "ara"),
    ("azb", "aze"),
    ("azj", "aze"),
    ("ckb", "kur"),
    ("cmn", "zho"),
    ("ekk", "est"),
    ("gaz", "orm"),
    ("gug", "grn"),
    ("khk", "mon"),
    ("kmr", "kur"),
    ("lvs", "lav"),
    ("npi", "nep"),
    ("pbu", "pus"),
    ("pes", "fas"),
    ("plt", "mlg"),
    ("prs", "fas"),
    ("quy", "que"),
    ("quz", "que"),
    ("swh", "swa"),
    ("uzn", "uzb"),
    ("ydd", "yid"),
    ("zsm", "msa"),
];

/// The languages both CLD2 and lingua identify, folded as above: lingua-language-detector 2.1.1
/// (`Language.all()`, 75 languages) intersected with pycld2 0.42's `DETECTED_LANGUAGES` (CLD2's
/// `iw`/`jw` read as `he`/`jv`). 74 languages: all of lingua's but Bokmål, which CLD2 reports as `no`.
pub const CLD2_AND_LINGUA: &[&str] = &[
    "afr", "ara", "aze", "bel", "ben", "bos", "bul", "cat", "ces", "cym", "dan", "deu", "ell",
    "eng", "epo", "est", "eus", "fas", "fin", "fra", "gle", "guj", "heb", "hin", "hrv", "hun",
    "hye", "ind", "isl", "ita", "jpn", "kat", "kaz", "kor", "lat", "lav", "lit", "lug", "mar",
    "mkd", "mon", "mri", "msa", "nld", "nno", "pan", "pol", "por", "ron", "rus", "slk", "slv",
    "sna", "som", "sot", "spa", "sqi", "srp", "swa", "swe", "tam", "tel", "tgl", "tha", "tsn",
    "tso", "tur", "ukr", "urd", "vie", "xho", "yor", "zho", "zul",
];

/// `code` folded into its macrolanguage, if it has one in the table.
pub fn fold(code: &str) -> &str {
    MACROLANGUAGE
        .binary_search_by(|(i, _)| (*i).cmp(code))
        .map_or(code, |i| MACROLANGUAGE[i].1)
}

/// Correct answers over a set of labelled texts.
#[derive(Debug, Clone, Default)]
pub struct Accuracy {
    pub records: usize,
    pub correct: usize,
    /// Per folded label: (records, correct).
    pub per_language: BTreeMap<String, (usize, usize)>,
}

impl Accuracy {
    pub fn value(&self) -> f64 {
        self.correct as f64 / self.records.max(1) as f64
    }

    fn add(&mut self, label: &str, ok: bool) {
        self.records += 1;
        self.correct += usize::from(ok);
        let e = self.per_language.entry(label.to_string()).or_default();
        e.0 += 1;
        e.1 += usize::from(ok);
    }

    /// The labels with most misses, as `code c/n`.
    pub fn most_missed(&self, n: usize) -> String {
        let mut weak: Vec<_> = self
            .per_language
            .iter()
            .filter(|(_, (n, c))| c < n)
            .collect();
        weak.sort_by_key(|(_, (n, c))| std::cmp::Reverse(n - c));
        weak.iter()
            .take(n)
            .map(|(l, (n, c))| format!("{l} {c}/{n}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One detector's accuracy over the comparison set and over every language it supports.
#[derive(Debug, Clone, Default)]
pub struct LangidReport {
    pub cld2_and_lingua: Accuracy,
    pub supported: Accuracy,
}

/// Accuracy of `detect` on a JSONL file with `text` and `lang_iso639_3`; `supported` is the detector's
/// codes (folded when compared).
pub fn evaluate(
    path: &Path,
    supported: &[&str],
    detect: &dyn Fn(&str) -> Option<LanguageGuess>,
) -> Result<LangidReport> {
    let supported: Vec<&str> = supported.iter().map(|c| fold(c)).collect();
    let mut report = LangidReport::default();
    for row in read_jsonl(path)? {
        let label = fold(
            row["lang_iso639_3"]
                .as_str()
                .context("record without lang_iso639_3")?,
        );
        let in_set = CLD2_AND_LINGUA.contains(&label);
        let in_supported = supported.contains(&label);
        if !in_set && !in_supported {
            continue;
        }
        let text = row["text"].as_str().context("record without text")?;
        let ok = detect(text).is_some_and(|g| fold(&g.code) == label);
        if in_set {
            report.cld2_and_lingua.add(label, ok);
        }
        if in_supported {
            report.supported.add(label, ok);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_fold_individual_languages() {
        assert!(MACROLANGUAGE.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CLD2_AND_LINGUA.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(CLD2_AND_LINGUA.len(), 74);
        assert_eq!(fold("arb"), "ara");
        assert_eq!(fold("eng"), "eng");
    }
}
