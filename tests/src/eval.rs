//! Measures shared by the evaluations: word-overlap precision/recall, ROC AUC.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result};
use tamis_core::html::{Extract, Extracted, HtmlConfig};
use tamis_core::language::{LanguageConfig, LanguageFilter};
use tamis_core::quality::score::{QualityScore, ScoreConfig};

use crate::read_jsonl;

/// Precision, recall and F1 of a candidate against a reference.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Prf {
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

impl Prf {
    pub fn from_counts(true_positives: f64, predicted: f64, expected: f64) -> Self {
        let precision = if predicted == 0.0 {
            if expected == 0.0 { 1.0 } else { 0.0 }
        } else {
            true_positives / predicted
        };
        let recall = if expected == 0.0 {
            1.0
        } else {
            true_positives / expected
        };
        let f1 = if precision + recall == 0.0 {
            0.0
        } else {
            2.0 * precision * recall / (precision + recall)
        };
        Self {
            precision,
            recall,
            f1,
        }
    }
}

/// Lower-cased words: runs of alphanumeric characters.
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Bag-of-words overlap: each reference word can be matched once.
pub fn word_prf(candidate: &str, reference: &str) -> Prf {
    let (cand, refw) = (words(candidate), words(reference));
    let mut bag: HashMap<&str, usize> = HashMap::new();
    for w in &refw {
        *bag.entry(w).or_default() += 1;
    }
    let mut hits = 0usize;
    for w in &cand {
        if let Some(n) = bag.get_mut(w.as_str())
            && *n > 0
        {
            *n -= 1;
            hits += 1;
        }
    }
    Prf::from_counts(hits as f64, cand.len() as f64, refw.len() as f64)
}

/// Area under the ROC curve: the probability that a random positive scores above a random negative
/// (ties count half). `None` without both classes.
pub fn roc_auc(scored: &[(f64, bool)]) -> Option<f64> {
    let positives: Vec<f64> = scored.iter().filter(|(_, l)| *l).map(|(s, _)| *s).collect();
    let negatives: Vec<f64> = scored
        .iter()
        .filter(|(_, l)| !*l)
        .map(|(s, _)| *s)
        .collect();
    if positives.is_empty() || negatives.is_empty() {
        return None;
    }
    let mut wins = 0.0;
    for p in &positives {
        for n in &negatives {
            wins += if p > n {
                1.0
            } else if p == n {
                0.5
            } else {
                0.0
            };
        }
    }
    Some(wins / (positives.len() * negatives.len()) as f64)
}

/// A page of an evaluation file: its id and what `extractor` made of its `html`, with errors naming it.
fn extract_page<'r>(
    extractor: &Extract,
    row: &'r serde_json::Value,
) -> Result<(&'r str, Extracted)> {
    let id = row["id"].as_str().context("page without id")?;
    let html = row["html"]
        .as_str()
        .with_context(|| format!("{id}: no html"))?;
    let extracted = extractor
        .extract(html)
        .map_err(|e| anyhow::anyhow!("{id}: {e}"))?;
    Ok((id, extracted))
}

/// Extraction quality over a file of pages with reference output.
#[derive(Debug, Clone)]
pub struct HtmlReport {
    pub pages: usize,
    pub macro_prf: Prf,
    pub micro_prf: Prf,
    /// Page id and F1, worst first.
    pub worst: Vec<(String, f64)>,
}

/// Word-level precision/recall/F1 of the `html` step against Readability.js's reference output.
///
/// The reference is Readability's main-content HTML; its words are read with the same extractor with
/// nothing skipped and no main-content preference, so what is compared is the choice of content, not
/// entity decoding or whitespace.
pub fn html_extraction(path: &Path) -> Result<HtmlReport> {
    html_extraction_with(path, &HtmlConfig::default())
}

/// [`html_extraction`] with a chosen `html` config.
pub fn html_extraction_with(path: &Path, config: &HtmlConfig) -> Result<HtmlReport> {
    let extractor = Extract::new(config)?;
    let reader = Extract::new(&HtmlConfig {
        skip: vec!["script".into(), "style".into()],
        prefer_main: false,
        ..HtmlConfig::default()
    })?;
    let (mut sum, mut hits, mut predicted, mut expected) = (Prf::default(), 0.0, 0.0, 0.0);
    let mut worst = Vec::new();
    let rows = read_jsonl(path)?;
    for row in &rows {
        let (id, got) = extract_page(&extractor, row)?;
        let got = got.text;
        let reference = row["expected_html"]
            .as_str()
            .with_context(|| format!("{id}: no expected_html"))?;
        let want = reader
            .extract(reference)
            .map_err(|e| anyhow::anyhow!("{id} reference: {e}"))?
            .text;
        let prf = word_prf(&got, &want);
        let (c, r) = (words(&got).len() as f64, words(&want).len() as f64);
        hits += prf.recall * r;
        predicted += c;
        expected += r;
        sum.precision += prf.precision;
        sum.recall += prf.recall;
        sum.f1 += prf.f1;
        worst.push((id.to_string(), prf.f1));
    }
    let n = rows.len().max(1) as f64;
    worst.sort_by(|a, b| a.1.total_cmp(&b.1));
    Ok(HtmlReport {
        pages: rows.len(),
        macro_prf: Prf {
            precision: sum.precision / n,
            recall: sum.recall / n,
            f1: sum.f1 / n,
        },
        micro_prf: Prf::from_counts(hits, predicted, expected),
        worst,
    })
}

/// Which pages of a snippet file to score.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Half {
    /// Every page.
    All,
    /// The pages whose id hashes even: the half extraction rules were tuned on.
    Tune,
    /// The other half, kept back from tuning to check that a rule generalizes.
    Check,
}

impl Half {
    /// FNV-1a of the id, stable across runs and platforms. This is the split the `html` rules were
    /// tuned on, so it stays as it is: `tamis_core::format::split_of` would give other halves, and the
    /// kept-back half would then hold pages the rules were tuned on.
    fn holds(self, id: &str) -> bool {
        let hash = id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        match self {
            Half::All => true,
            Half::Tune => hash % 2 == 0,
            Half::Check => hash % 2 == 1,
        }
    }
}

/// Snippet scores of main-text extraction, counted as trafilatura's `tests/eval_common.py` counts them.
#[derive(Debug, Clone, Default)]
pub struct SnippetReport {
    pub pages: usize,
    /// "Must appear" snippets found / all of them.
    pub with_found: usize,
    pub with_total: usize,
    /// "Must not appear" snippets absent / all of them.
    pub without_absent: usize,
    pub without_total: usize,
    /// Per page: id, with-snippets missed, without-snippets present.
    pub misses: Vec<(String, Vec<String>, Vec<String>)>,
}

impl SnippetReport {
    pub fn found(&self) -> f64 {
        self.with_found as f64 / self.with_total.max(1) as f64
    }
    pub fn absent(&self) -> f64 {
        self.without_absent as f64 / self.without_total.max(1) as f64
    }
    /// The mean of the two rates, trafilatura's headline figure.
    pub fn mean(&self) -> f64 {
        (self.found() + self.absent()) / 2.0
    }
}

/// Scores the `html` step on pages with `with` (must appear) and `without` (must not appear) snippets.
///
/// As in trafilatura's evaluation, whitespace runs are collapsed to one space in both the extracted text
/// and the snippet, then each snippet is a substring test over the whole text.
pub fn html_snippets(path: &Path, config: &HtmlConfig, half: Half) -> Result<SnippetReport> {
    let extractor = Extract::new(config)?;
    let mut report = SnippetReport::default();
    for row in read_jsonl(path)? {
        if !half.holds(row["id"].as_str().unwrap_or_default()) {
            continue;
        }
        let (id, extracted) = extract_page(&extractor, &row)?;
        let text = collapse_whitespace(&extracted.text);
        let snippets = |key: &str| -> Result<Vec<String>> {
            row[key]
                .as_array()
                .with_context(|| format!("{id}: no `{key}` list"))?
                .iter()
                .map(|s| {
                    s.as_str()
                        .map(collapse_whitespace)
                        .with_context(|| format!("{id}: a `{key}` snippet is not a string"))
                })
                .collect()
        };
        let (with, without) = (snippets("with")?, snippets("without")?);
        let missed: Vec<String> = with
            .iter()
            .filter(|s| !text.contains(s.as_str()))
            .cloned()
            .collect();
        let present: Vec<String> = without
            .iter()
            .filter(|s| text.contains(s.as_str()))
            .cloned()
            .collect();
        report.pages += 1;
        report.with_total += with.len();
        report.with_found += with.len() - missed.len();
        report.without_total += without.len();
        report.without_absent += without.len() - present.len();
        if !missed.is_empty() || !present.is_empty() {
            report.misses.push((id.to_string(), missed, present));
        }
    }
    Ok(report)
}

fn collapse_whitespace(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Agreement of the `html` step's page metadata with Readability.js's on its test pages, per field:
/// (pages where Readability found a value, of those where tamis found one too, of those where the two
/// agree).
#[derive(Debug, Clone, Default)]
pub struct MetaReport {
    pub author: (usize, usize, usize),
    pub date: (usize, usize, usize),
    pub site_name: (usize, usize, usize),
    pub language: (usize, usize, usize),
}

/// One field's comparison: Readability's key, tamis's value, its tally, and when the two agree.
type Field<'a> = (
    &'static str,
    Option<&'a String>,
    &'a mut (usize, usize, usize),
    fn(&str, &str) -> bool,
);

/// Whether one of two lower-cased values holds the other ("by ada lovelace" and "ada lovelace").
fn overlap(a: &str, b: &str) -> bool {
    a.contains(b) || b.contains(a)
}

/// Compares `page.author`, `date`, `site_name` and `language` with Readability's `byline`,
/// `publishedTime`, `siteName` and `lang`. Values agree when, lower-cased, one contains the other
/// (a byline is often "By `<author>`"); dates when their first ten characters are equal; languages when
/// their primary subtags are. Readability also reads bylines from the body text, which tamis does not
/// (it takes only what the page declares), so author coverage is bounded by that.
pub fn page_metadata(path: &Path) -> Result<MetaReport> {
    let extractor = Extract::new(&HtmlConfig::default())?;
    let mut report = MetaReport::default();
    for row in read_jsonl(path)? {
        let meta = extract_page(&extractor, &row)?.1.meta;
        let expected = &row["expected_metadata"];
        let fields: [Field<'_>; 4] = [
            ("byline", meta.author.as_ref(), &mut report.author, overlap),
            (
                "publishedTime",
                meta.date.as_ref(),
                &mut report.date,
                |a, b| a.chars().take(10).eq(b.chars().take(10)),
            ),
            (
                "siteName",
                meta.site_name.as_ref(),
                &mut report.site_name,
                overlap,
            ),
            (
                "lang",
                meta.language.as_ref(),
                &mut report.language,
                |a, b| a.split('-').next() == b.split('-').next(),
            ),
        ];
        for (key, got, tally, agree) in fields {
            let Some(want) = expected[key].as_str().filter(|v| !v.trim().is_empty()) else {
                continue;
            };
            tally.0 += 1;
            if let Some(got) = got {
                tally.1 += 1;
                if agree(&got.to_lowercase(), &want.trim().to_lowercase()) {
                    tally.2 += 1;
                }
            }
        }
    }
    Ok(report)
}

/// Language-ID accuracy by ISO 639-3 code.
#[derive(Debug, Clone)]
pub struct LangReport {
    /// Records whose label the detector supports.
    pub supported: usize,
    pub correct: usize,
    /// Records whose label the detector cannot produce.
    pub unsupported: usize,
    /// Per label: (records, correct).
    pub per_language: BTreeMap<String, (usize, usize)>,
}

impl LangReport {
    pub fn accuracy(&self) -> f64 {
        self.correct as f64 / self.supported.max(1) as f64
    }
}

/// Accuracy of the `language` step over a JSONL file with `text` and `lang_iso639_3`, counted over the
/// records whose language the detector claims to support.
pub fn langid(path: &Path) -> Result<LangReport> {
    let detector = LanguageFilter::new(&LanguageConfig::default())?;
    let supported_codes: Vec<&str> = whatlang_codes();
    let mut report = LangReport {
        supported: 0,
        correct: 0,
        unsupported: 0,
        per_language: BTreeMap::new(),
    };
    for row in read_jsonl(path)? {
        let label = row["lang_iso639_3"]
            .as_str()
            .context("record without lang_iso639_3")?;
        let text = row["text"].as_str().context("record without text")?;
        if !supported_codes.contains(&label) {
            report.unsupported += 1;
            continue;
        }
        let guess = detector.detect(text).map(|g| g.code);
        let ok = guess.as_deref() == Some(label);
        report.supported += 1;
        report.correct += usize::from(ok);
        let entry = report.per_language.entry(label.to_string()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(ok);
    }
    Ok(report)
}

/// The ISO 639-3 codes the detector can answer.
pub fn whatlang_codes() -> Vec<&'static str> {
    tamis_core::language::supported_codes()
}

/// How well the quality score separates DCLM's human good/bad labels.
#[derive(Debug, Clone)]
pub struct QualityReport {
    pub docs: usize,
    pub auc: f64,
    /// AUC of each component alone.
    pub components: Vec<(&'static str, f64)>,
    /// AUC on the unanimously labelled subset.
    pub unanimous_auc: Option<f64>,
}

pub fn quality_score_auc(path: &Path) -> Result<QualityReport> {
    let scorer = QualityScore::new(&ScoreConfig::default())?;
    let mut total = Vec::new();
    let mut unanimous = Vec::new();
    let mut parts: [Vec<(f64, bool)>; 4] = Default::default();
    for row in read_jsonl(path)? {
        let text = row["text"].as_str().context("record without text")?;
        let good = row["label"].as_i64().context("record without label")? == 1;
        let b = scorer.breakdown(text);
        total.push((b.total, good));
        if row["unanimous"].as_bool() == Some(true) {
            unanimous.push((b.total, good));
        }
        for (slot, v) in
            parts
                .iter_mut()
                .zip([b.length, b.sentence_length, b.diversity, b.completeness])
        {
            slot.push((v, good));
        }
    }
    let names = ["length", "sentence_length", "diversity", "completeness"];
    Ok(QualityReport {
        docs: total.len(),
        auc: roc_auc(&total).context("need both labels")?,
        components: names
            .iter()
            .zip(&parts)
            .map(|(n, p)| (*n, roc_auc(p).unwrap_or(f64::NAN)))
            .collect(),
        unanimous_auc: roc_auc(&unanimous),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_overlap_counts_each_reference_word_once() {
        let prf = word_prf("the the cat", "The cat sat");
        assert_eq!(prf.precision, 2.0 / 3.0);
        assert_eq!(prf.recall, 2.0 / 3.0);
    }

    #[test]
    fn auc_of_perfect_random_and_inverted_rankings() {
        assert_eq!(roc_auc(&[(0.9, true), (0.1, false)]), Some(1.0));
        assert_eq!(roc_auc(&[(0.5, true), (0.5, false)]), Some(0.5));
        assert_eq!(roc_auc(&[(0.1, true), (0.9, false)]), Some(0.0));
        assert_eq!(roc_auc(&[(0.1, true)]), None);
    }
}
