//! `tamis train-classifier`: a fastText supervised model from labelled records, as DCLM trains its
//! quality classifier (seed 003), and its measure on validation records.
//!
//! Every record read ends as exactly one of: an example (trained or measured on), dropped for an empty
//! text (fastText has nothing to read in it), or an error naming its file and line (no JSON object, no
//! text, no label), written to `errors.jsonl`. `stats.json` gives that accounting next to the training
//! summary. Training runs natively on one thread (`tamis_core::fasttext::train`), so the same config
//! gives the same `model.bin`; a re-run trains again and replaces the files whole.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use serde::Serialize;
use serde_json::Value;
use tamis_core::fasttext::Model;
use tamis_core::fasttext::train::{self, Example};
use tamis_core::fasttext::training_config::{LabelledInput, TrainClassifierConfig, label_name};

use crate::input::{self, ByteCounter};
use crate::output::write_atomically;
use crate::record::{Origin, error_record};

/// What the command needs beyond the config section.
pub struct Plan {
    /// The folder the config's relative paths start from.
    pub base: PathBuf,
    /// Where the files go.
    pub output: PathBuf,
    /// The record field holding an id, for error records.
    pub id_key: String,
    /// Records longer than this are errors.
    pub max_record_bytes: u64,
    /// No progress lines.
    pub quiet: bool,
}

/// One usable record.
struct Labelled {
    labels: Vec<String>,
    text: String,
    /// Input order, for the seeded shuffle: (source, file, position).
    key: (usize, usize, u64),
}

/// Where a side's records went.
#[derive(Debug, Default, Serialize)]
pub struct Counts {
    pub records: u64,
    pub examples: u64,
    pub dropped_empty_text: u64,
    pub errors: u64,
}

/// A model's measure on the validation records.
#[derive(Debug, Serialize)]
pub struct Validation {
    pub examples: u64,
    /// Share of examples whose best label is one of theirs (fastText's precision at 1).
    pub accuracy: f64,
    pub labels: Vec<LabelMeasure>,
}

/// One label's precision and recall at the best label, and the ROC AUC of its probability (one label
/// against the rest).
#[derive(Debug, Serialize)]
pub struct LabelMeasure {
    pub label: String,
    pub examples: u64,
    pub predicted: u64,
    pub precision: f64,
    pub recall: f64,
    pub roc_auc: Option<f64>,
}

/// What `stats.json` holds.
#[derive(Debug, Serialize)]
pub struct Stats {
    pub train: Counts,
    pub validation: Counts,
    pub words: usize,
    pub labels: Vec<(String, u64)>,
    pub tokens: u64,
    pub skipped_examples: u64,
    pub updates: u64,
    pub mean_loss: f64,
    pub model_bytes: u64,
    pub seconds_training: f64,
    pub measure: Option<Validation>,
}

/// Reads, trains, writes `model.bin`, `stats.json` and `errors.jsonl`, and returns the stats.
pub fn run(config: &TrainClassifierConfig, plan: &Plan) -> Result<(Stats, Vec<PathBuf>)> {
    if config.input.is_empty() {
        bail!(
            "train_classifier.input: no labelled input; add [[train_classifier.input]] with path (and label)"
        );
    }
    let mut errors = String::new();
    let mut read_files = Vec::new();
    let (mut examples, train_counts) = read_side(
        config,
        &config.input,
        "input",
        plan,
        &mut errors,
        &mut read_files,
    )?;
    let (validation, validation_counts) = read_side(
        config,
        &config.validation,
        "validation",
        plan,
        &mut errors,
        &mut read_files,
    )?;
    for (side, c) in [("input", &train_counts), ("validation", &validation_counts)] {
        anyhow::ensure!(
            c.records == c.examples + c.dropped_empty_text + c.errors,
            "accounting failed for train_classifier.{side}: {} records read, {} + {} + {} accounted",
            c.records,
            c.examples,
            c.dropped_empty_text,
            c.errors
        );
    }
    if config.shuffle {
        let seed = u64::from(config.seed);
        examples.sort_by_key(|e| {
            let mut key = [0u8; 24];
            key[..8].copy_from_slice(&(e.key.0 as u64).to_le_bytes());
            key[8..16].copy_from_slice(&(e.key.1 as u64).to_le_bytes());
            key[16..].copy_from_slice(&e.key.2.to_le_bytes());
            (xxhash_rust::xxh3::xxh3_64_with_seed(&key, seed), e.key)
        });
    }
    if !plan.quiet {
        eprintln!(
            "tamis train-classifier: {} examples ({} dropped for empty text, {} errors); training",
            train_counts.examples, train_counts.dropped_empty_text, train_counts.errors
        );
    }
    let borrowed: Vec<Example<'_>> = examples
        .iter()
        .map(|e| Example {
            labels: e.labels.iter().map(String::as_str).collect(),
            text: &e.text,
        })
        .collect();
    let started = Instant::now();
    let trained = train::train(&borrowed, &config.options()).context("training")?;
    let seconds_training = started.elapsed().as_secs_f64();
    drop(borrowed);
    drop(examples);

    std::fs::create_dir_all(&plan.output)
        .with_context(|| format!("creating {}", plan.output.display()))?;
    let model_path = plan.output.join("model.bin");
    write_model(&trained, &model_path)?;
    let model_bytes = trained.len() as u64;
    let summary = trained.summary.clone();
    drop(trained);
    // The file as written is what is measured, so a model that does not load is found here.
    let measure = if validation.is_empty() {
        None
    } else {
        let bytes = std::fs::read(&model_path)
            .with_context(|| format!("reading {}", model_path.display()))?;
        let model = Model::from_bytes(&bytes)
            .with_context(|| format!("{} does not load", model_path.display()))?;
        Some(measure(&model, &validation))
    };
    write_atomically(&plan.output.join("errors.jsonl"), errors.as_bytes())?;
    let s = summary;
    let stats = Stats {
        train: train_counts,
        validation: validation_counts,
        words: s.words,
        labels: s.labels,
        tokens: s.tokens,
        skipped_examples: s.skipped,
        updates: s.updates,
        mean_loss: s.loss,
        model_bytes,
        seconds_training,
        measure,
    };
    let mut text = serde_json::to_string_pretty(&stats)?;
    text.push('\n');
    write_atomically(&plan.output.join("stats.json"), text.as_bytes())?;
    Ok((stats, read_files))
}

/// Writes the model under a temporary name, synced, then renamed into place: a model.bin that exists is
/// whole.
fn write_model(trained: &train::Trained, path: &Path) -> Result<()> {
    let tmp = path.with_extension("bin.tmp");
    let file =
        std::fs::File::create(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
    let mut w = std::io::BufWriter::with_capacity(1 << 20, file);
    trained
        .write_to(&mut w)
        .and_then(|()| std::io::Write::flush(&mut w))
        .with_context(|| format!("writing {}", tmp.display()))?;
    w.get_ref()
        .sync_all()
        .with_context(|| format!("syncing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// Reads every record of one side (`input` or `validation`).
fn read_side(
    config: &TrainClassifierConfig,
    sources: &[LabelledInput],
    key: &str,
    plan: &Plan,
    errors: &mut String,
    read_files: &mut Vec<PathBuf>,
) -> Result<(Vec<Labelled>, Counts)> {
    let mut out = Vec::new();
    let mut counts = Counts::default();
    for (s, source) in sources.iter().enumerate() {
        let specs: Vec<String> = source
            .path
            .iter()
            .map(|p| plan.base.join(p).display().to_string())
            .collect();
        let files =
            input::discover(&specs).with_context(|| format!("train_classifier.{key}[{s}].path"))?;
        for (f, file) in files.iter().enumerate() {
            read_files.push(file.path.clone());
            let name = file.path.display().to_string();
            for raw in input::records(file, ByteCounter::default(), plan.max_record_bytes)? {
                counts.records += 1;
                let origin = Origin {
                    file: &name,
                    position: raw.position,
                    key: file.format.position_key(),
                };
                let body = match raw.body {
                    Ok(body) => body,
                    Err(e) => {
                        counts.errors += 1;
                        errors.push_str(&error_record(&origin, None, &e.message, None));
                        errors.push('\n');
                        continue;
                    }
                };
                match labelled(config, source, &body, &plan.id_key) {
                    Ok(Some((labels, text))) => {
                        counts.examples += 1;
                        out.push(Labelled {
                            labels,
                            text,
                            key: (s, f, raw.position),
                        });
                    }
                    Ok(None) => counts.dropped_empty_text += 1,
                    Err((id, message)) => {
                        counts.errors += 1;
                        errors.push_str(&error_record(
                            &origin,
                            id.as_deref(),
                            &message,
                            Some(&body),
                        ));
                        errors.push('\n');
                    }
                }
            }
        }
    }
    Ok((out, counts))
}

/// A record's labels and text; `None` for an empty text; an error with the record's id when it has one.
#[allow(clippy::type_complexity)]
fn labelled(
    config: &TrainClassifierConfig,
    source: &LabelledInput,
    body: &[u8],
    id_key: &str,
) -> Result<Option<(Vec<String>, String)>, (Option<String>, String)> {
    let value: Value =
        serde_json::from_slice(body).map_err(|e| (None, format!("not a JSON object: {e}")))?;
    let Value::Object(mut object) = value else {
        return Err((None, "not a JSON object".into()));
    };
    let id = match object.get(id_key) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let fail = |message: String| (id.clone(), message);
    // Taken out of the record rather than copied: the text is all that is kept of it.
    let text = match object.remove(&config.text_key) {
        Some(Value::String(s)) => s,
        Some(other) => {
            return Err(fail(format!(
                "field `{}` is {}, expected a string",
                config.text_key,
                kind(&other)
            )));
        }
        None => return Err(fail(format!("no `{}` field", config.text_key))),
    };
    let labels = match &source.label {
        Some(label) => vec![label_name(label).to_string()],
        None => {
            let value = object.get(&config.label_key).ok_or_else(|| {
                fail(format!(
                    "no `{}` field (or set a label for this input)",
                    config.label_key
                ))
            })?;
            let items = match value {
                Value::Array(items) => items.iter().collect::<Vec<_>>(),
                other => vec![other],
            };
            let mut labels = Vec::with_capacity(items.len());
            for item in items {
                let label = match item {
                    Value::String(s) => label_name(s).to_string(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    other => {
                        return Err(fail(format!(
                            "field `{}` holds {}, expected a label (string, number or boolean)",
                            config.label_key,
                            kind(other)
                        )));
                    }
                };
                if label.is_empty() || label.chars().any(char::is_whitespace) {
                    return Err(fail(format!(
                        "label {label:?} in `{}` is empty or has spaces",
                        config.label_key
                    )));
                }
                labels.push(label);
            }
            if labels.is_empty() {
                return Err(fail(format!(
                    "field `{}` is an empty list",
                    config.label_key
                )));
            }
            labels
        }
    };
    if text.trim().is_empty() {
        return Ok(None);
    }
    Ok(Some((labels, text)))
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// Accuracy, per-label precision and recall, and one-vs-rest ROC AUC on the validation records.
fn measure(model: &Model, examples: &[Labelled]) -> Validation {
    let n = model.labels().len();
    let mut right = 0u64;
    let mut per_label = vec![(0u64, 0u64, 0u64); n]; // (examples, predicted, correct)
    let mut scores: Vec<Vec<(f32, bool)>> = vec![Vec::with_capacity(examples.len()); n];
    for e in examples {
        let truth: Vec<usize> = e
            .labels
            .iter()
            .filter_map(|l| model.label_index(&format!("__label__{l}")))
            .collect();
        let predictions = model.predict_document(&e.text, n, 0.0);
        let best = predictions.first().map(|p| p.label);
        if let Some(b) = best {
            per_label[b].1 += 1;
            if truth.contains(&b) {
                right += 1;
                per_label[b].2 += 1;
            }
        }
        for &t in &truth {
            per_label[t].0 += 1;
        }
        for (label, s) in scores.iter_mut().enumerate() {
            let p = predictions
                .iter()
                .find(|p| p.label == label)
                .map_or(0.0, |p| p.probability);
            s.push((p, truth.contains(&label)));
        }
    }
    let labels = (0..n)
        .map(|i| {
            let (examples_i, predicted, correct) = per_label[i];
            LabelMeasure {
                label: model.label(i).unwrap_or_default().to_string(),
                examples: examples_i,
                predicted,
                precision: ratio(correct, predicted),
                recall: ratio(correct, examples_i),
                roc_auc: roc_auc(&mut scores[i]),
            }
        })
        .collect();
    Validation {
        examples: examples.len() as u64,
        accuracy: ratio(right, examples.len() as u64),
        labels,
    }
}

fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 { 0.0 } else { a as f64 / b as f64 }
}

/// The probability that a random positive scores above a random negative, ties counting half
/// (Mann-Whitney U over average ranks); `None` without both positives and negatives.
pub fn roc_auc(scores: &mut [(f32, bool)]) -> Option<f64> {
    let positives = scores.iter().filter(|s| s.1).count() as f64;
    let negatives = scores.len() as f64 - positives;
    if positives == 0.0 || negatives == 0.0 {
        return None;
    }
    scores.sort_by(|a, b| a.0.total_cmp(&b.0));
    let mut rank_sum = 0.0;
    let mut i = 0;
    while i < scores.len() {
        let mut j = i;
        while j < scores.len() && scores[j].0 == scores[i].0 {
            j += 1;
        }
        // Ranks i+1 ..= j share their average.
        let average = (i + 1 + j) as f64 / 2.0;
        rank_sum += average * scores[i..j].iter().filter(|s| s.1).count() as f64;
        i = j;
    }
    Some((rank_sum - positives * (positives + 1.0) / 2.0) / (positives * negatives))
}

/// The output folder: `--output`, else the section's, relative to the config.
pub fn output_dir(cli: Option<&Path>, config: &TrainClassifierConfig, base: &Path) -> PathBuf {
    cli.map(Path::to_path_buf)
        .unwrap_or_else(|| base.join(&config.output))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_counts_ties_as_half_and_needs_both_classes() {
        let mut perfect = [(0.9, true), (0.1, false), (0.8, true), (0.2, false)];
        assert_eq!(roc_auc(&mut perfect), Some(1.0));
        let mut inverted = [(0.1, true), (0.9, false)];
        assert_eq!(roc_auc(&mut inverted), Some(0.0));
        let mut tied = [(0.5, true), (0.5, false)];
        assert_eq!(roc_auc(&mut tied), Some(0.5));
        let mut one_class = [(0.5, true), (0.7, true)];
        assert_eq!(roc_auc(&mut one_class), None);
        // 3 positives, 2 negatives: pairs won 5 of 6... computed by hand.
        let mut mixed = [
            (0.9, true),
            (0.7, false),
            (0.6, true),
            (0.4, true),
            (0.3, false),
        ];
        // Positive 0.9 beats both negatives, 0.6 beats one, 0.4 beats one: 4 of 6.
        assert!((roc_auc(&mut mixed).unwrap() - 4.0 / 6.0).abs() < 1e-12);
    }

    #[test]
    fn labels_come_from_the_source_or_the_record_and_bad_records_are_named() {
        let config = TrainClassifierConfig::default();
        let fixed = LabelledInput {
            path: vec!["x".into()],
            label: Some("__label__hq".into()),
        };
        let from_field = LabelledInput {
            path: vec!["x".into()],
            label: None,
        };
        let ok = labelled(&config, &fixed, br#"{"text":"a b"}"#, "id").unwrap();
        assert_eq!(ok, Some((vec!["hq".to_string()], "a b".to_string())));
        let ok = labelled(
            &config,
            &from_field,
            br#"{"text":"a","label":[1,"__label__x",true]}"#,
            "id",
        )
        .unwrap();
        assert_eq!(ok.unwrap().0, ["1", "x", "true"]);
        assert_eq!(
            labelled(&config, &fixed, br#"{"text":"  "}"#, "id").unwrap(),
            None
        );
        let (id, message) =
            labelled(&config, &from_field, br#"{"id":7,"text":"a"}"#, "id").unwrap_err();
        assert_eq!(id.as_deref(), Some("7"));
        assert!(message.contains("no `label` field"), "{message}");
        let (_, message) = labelled(&config, &fixed, br#"{"text":3}"#, "id").unwrap_err();
        assert!(message.contains("a number, expected a string"), "{message}");
        let (_, message) = labelled(
            &config,
            &from_field,
            br#"{"text":"a","label":"two words"}"#,
            "id",
        )
        .unwrap_err();
        assert!(message.contains("has spaces"), "{message}");
        assert!(labelled(&config, &fixed, b"[1]", "id").is_err());
    }
}
