//! Precision and recall of the `pii` step on Presidio's labelled synthetic sentences
//! (`pii/presidio_generated_small.jsonl`), shared by the `eval_pii` report and the floor test.
//!
//! A find and a labelled span match when they overlap and have the same kind. Precision counts the
//! finds that match some label; recall counts the labels that some find matches.

use std::collections::BTreeMap;

use anyhow::{Context, Result};
use tamis_core::pii::{Kind, KindConfig, PiiConfig, Scrub};

/// Presidio's entity label for each kind tamis detects. IBAN and secrets have no label in this
/// data set; URLs are labelled `DOMAIN_NAME` there.
pub const LABELS: &[(&str, Kind)] = &[
    ("EMAIL_ADDRESS", Kind::Email),
    ("PHONE_NUMBER", Kind::Phone),
    ("US_SSN", Kind::Ssn),
    ("CREDIT_CARD", Kind::CreditCard),
    ("IP_ADDRESS", Kind::IpAddress),
    ("IBAN_CODE", Kind::Iban),
    ("DOMAIN_NAME", Kind::Url),
];

/// One labelled record: its text and its in-scope spans as character ranges.
#[derive(Debug, Clone)]
pub struct Record {
    pub id: String,
    pub text: String,
    pub gold: Vec<(Kind, usize, usize)>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Counts {
    pub labels: usize,
    pub labels_found: usize,
    pub finds: usize,
    pub finds_correct: usize,
}

impl Counts {
    pub fn precision(&self) -> f64 {
        if self.finds == 0 {
            1.0
        } else {
            self.finds_correct as f64 / self.finds as f64
        }
    }

    pub fn recall(&self) -> f64 {
        if self.labels == 0 {
            1.0
        } else {
            self.labels_found as f64 / self.labels as f64
        }
    }
}

pub struct Evaluation {
    pub per_kind: BTreeMap<Kind, Counts>,
    /// Labels of types tamis does not detect, with their counts.
    pub out_of_scope: BTreeMap<String, usize>,
    /// Labelled spans that no find matched: (record id, kind, labelled value).
    pub missed: Vec<(String, Kind, String)>,
    /// Finds that match no label: (record id, kind, found value).
    pub spurious: Vec<(String, Kind, String)>,
}

/// Every kind on, URLs included (the data labels them), IP addresses public only as by default.
pub fn eval_config() -> PiiConfig {
    PiiConfig {
        url: KindConfig::default(),
        ..PiiConfig::default()
    }
}

pub fn load(records: &[serde_json::Value]) -> Result<(Vec<Record>, BTreeMap<String, usize>)> {
    let mut out_of_scope = BTreeMap::new();
    let mut out = Vec::new();
    for r in records {
        let id = r["id"].as_str().context("record without id")?.to_string();
        let text = r["text"]
            .as_str()
            .with_context(|| format!("{id}: no text"))?
            .to_string();
        let mut gold = Vec::new();
        for s in r["spans"]
            .as_array()
            .with_context(|| format!("{id}: no spans"))?
        {
            let label = s["label"]
                .as_str()
                .with_context(|| format!("{id}: span without label"))?;
            let start = s["start"]
                .as_u64()
                .with_context(|| format!("{id}: span without start"))?
                as usize;
            let end = s["end"]
                .as_u64()
                .with_context(|| format!("{id}: span without end"))? as usize;
            match LABELS.iter().find(|(l, _)| *l == label) {
                Some((_, kind)) => gold.push((*kind, start, end)),
                None => *out_of_scope.entry(label.to_string()).or_insert(0) += 1,
            }
        }
        out.push(Record { id, text, gold });
    }
    Ok((out, out_of_scope))
}

/// Character offset of each byte offset that starts a character (and of the end).
fn char_offset(text: &str, byte: usize) -> usize {
    text.get(..byte)
        .map_or_else(|| text.chars().count(), |s| s.chars().count())
}

fn overlaps(a: (usize, usize), b: (usize, usize)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

pub fn evaluate(records: &[serde_json::Value]) -> Result<Evaluation> {
    let (records, out_of_scope) = load(records)?;
    let scrub = Scrub::new(&eval_config()).map_err(|e| anyhow::anyhow!("{e}"))?;
    let mut per_kind: BTreeMap<Kind, Counts> = LABELS
        .iter()
        .map(|(_, k)| (*k, Counts::default()))
        .collect();
    let mut missed = Vec::new();
    let mut spurious = Vec::new();
    for r in &records {
        let finds: Vec<(Kind, usize, usize, &str)> = scrub
            .find(&r.text)
            .into_iter()
            .map(|d| {
                (
                    d.kind,
                    char_offset(&r.text, d.start),
                    char_offset(&r.text, d.end),
                    &r.text[d.start..d.end],
                )
            })
            .collect();
        for &(kind, s, e) in &r.gold {
            let c = per_kind.entry(kind).or_default();
            c.labels += 1;
            if finds
                .iter()
                .any(|f| f.0 == kind && overlaps((f.1, f.2), (s, e)))
            {
                c.labels_found += 1;
            } else {
                let value: String = r.text.chars().skip(s).take(e.saturating_sub(s)).collect();
                missed.push((r.id.clone(), kind, value));
            }
        }
        for &(kind, s, e, value) in &finds {
            let c = per_kind.entry(kind).or_default();
            c.finds += 1;
            if r.gold
                .iter()
                .any(|g| g.0 == kind && overlaps((g.1, g.2), (s, e)))
            {
                c.finds_correct += 1;
            } else {
                spurious.push((r.id.clone(), kind, value.to_string()));
            }
        }
    }
    Ok(Evaluation {
        per_kind,
        out_of_scope,
        missed,
        spurious,
    })
}
