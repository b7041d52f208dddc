//! tamis's fastText inference against fastText's own (the Python bindings, `scripts/setup-fasttext.sh`):
//! lid.176.ftz on every text of the shared language-ID sets and the web development set, then models
//! trained here for every loss, dense and quantized; and the `language` and `quality_classifier` steps that
//! run them.

use anyhow::{Context, Result, ensure};
use tamis_core::fasttext::Model;
use tamis_core::language::iso639;
use tamis_core::{Config, Document, Pipeline, Resources};
use tamis_tests::{fasttext_ref, read_jsonl, shared_data};

/// What fastText reports and what tamis computes may differ by float rounding only.
const TOLERANCE: f64 = 1e-5;

/// Compares every label and probability of `model` with fastText's on `texts`; returns the share of texts
/// whose top label agrees and the largest probability difference.
fn compare(
    model: &Model,
    reference: &[(Vec<String>, Vec<f64>)],
    texts: &[String],
) -> Result<(f64, f64)> {
    ensure!(
        reference.len() == texts.len(),
        "reference has {} answers",
        reference.len()
    );
    let mut same_top = 0usize;
    let mut largest = 0f64;
    for (i, (text, (labels, probs))) in texts.iter().zip(reference).enumerate() {
        let ours = model.predict_document(text, model.labels().len(), 0.0);
        let our_labels: Vec<&str> = ours.iter().filter_map(|p| model.label(p.label)).collect();
        same_top += usize::from(our_labels.first().copied() == labels.first().map(String::as_str));
        ensure!(
            our_labels.len() == labels.len(),
            "text {i}: {} labels, fastText {}",
            our_labels.len(),
            labels.len()
        );
        for (p, (label, prob)) in ours.iter().zip(labels.iter().zip(probs)) {
            let our = model.label(p.label).unwrap_or_default();
            let ours_for_label = model
                .label_index(label)
                .and_then(|l| ours.iter().find(|o| o.label == l))
                .map(|o| f64::from(o.probability))
                .with_context(|| format!("text {i}: fastText's label {label} missing"))?;
            largest = largest.max((ours_for_label - prob).abs());
            ensure!(
                (ours_for_label - prob).abs() <= TOLERANCE,
                "text {i}: {label} {ours_for_label} vs fastText {prob} (we rank {our} here)"
            );
        }
    }
    Ok((same_top as f64 / texts.len().max(1) as f64, largest))
}

#[test]
fn lid176_agrees_with_fasttext_on_every_langid_and_web_text() -> Result<()> {
    let path = fasttext_ref::lid176()?;
    let model = Model::from_bytes(&std::fs::read(&path)?)?;
    assert!(model.is_quantized());
    assert_eq!(model.labels().len(), 176);
    let texts = fasttext_ref::parity_texts()?;
    let reference = fasttext_ref::predict(&path, &texts, -1)?;
    let (parity, largest) = compare(&model, &reference, &texts)?;
    println!(
        "lid.176.ftz: top label equal on {:.2} % of {} texts, every probability within {TOLERANCE} (largest difference {largest:.1e})",
        parity * 100.0,
        texts.len()
    );
    assert!(parity >= 0.999, "top-label parity {parity}");
    Ok(())
}

/// Labelled training texts, `(label, text)`.
type Examples = [(String, String)];

/// The DCLM human-labelled documents as `(label, text)`: `__label__hq` for label 1, `__label__cc` (DCLM's
/// name for random Common Crawl) for 0.
fn dclm_examples() -> Result<Vec<(String, String)>> {
    read_jsonl(&shared_data("quality/dclm_human_quality_dev.jsonl.gz"))?
        .into_iter()
        .map(|r| {
            let label = if r["label"].as_i64() == Some(1) {
                "__label__hq"
            } else {
                "__label__cc"
            };
            Ok((
                label.to_string(),
                r["text"].as_str().context("text")?.to_string(),
            ))
        })
        .collect()
}

/// The UDHR articles labelled by language: 448 labels, enough for fastText to quantize the output matrix.
fn udhr_examples() -> Result<Vec<(String, String)>> {
    read_jsonl(&shared_data("langid/udhr_articles_1-3.jsonl.gz"))?
        .into_iter()
        .map(|r| {
            Ok((
                format!("__label__{}", r["lang_iso639_3"].as_str().context("label")?),
                r["text"].as_str().context("text")?.to_string(),
            ))
        })
        .collect()
}

#[test]
fn models_trained_by_fasttext_agree_for_every_loss_dense_and_quantized() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let dclm = dclm_examples()?;
    let udhr = udhr_examples()?;
    let web: Vec<String> = fasttext_ref::parity_texts()?
        .into_iter()
        .rev()
        .take(200)
        .collect();
    let cases: [(&str, &Examples, &[&str]); 5] = [
        (
            "softmax.bin",
            &dclm,
            &["--loss", "softmax", "--wordNgrams", "2"],
        ),
        (
            "ns.bin",
            &dclm,
            &["--loss", "ns", "--minn", "2", "--maxn", "4"],
        ),
        (
            "ova.bin",
            &udhr,
            &[
                "--loss",
                "ova",
                "--minn",
                "1",
                "--maxn",
                "3",
                "--wordNgrams",
                "2",
            ],
        ),
        (
            "hs-qout.ftz",
            &udhr,
            &[
                "--loss",
                "hs",
                "--minn",
                "2",
                "--maxn",
                "4",
                "--quantize",
                "--qout",
            ],
        ),
        (
            "softmax-q.ftz",
            &dclm,
            &[
                "--loss",
                "softmax",
                "--minn",
                "2",
                "--maxn",
                "4",
                "--wordNgrams",
                "3",
                "--quantize",
            ],
        ),
    ];
    for (name, examples, options) in cases {
        let path = dir.path().join(name);
        fasttext_ref::train(examples, &path, options)?;
        let model = Model::from_bytes(&std::fs::read(&path)?)?;
        let reference = fasttext_ref::predict(&path, &web, -1)?;
        let (parity, largest) =
            compare(&model, &reference, &web).with_context(|| name.to_string())?;
        println!(
            "{name} ({:?}): top label equal on {:.1} %, largest probability difference {largest:.1e}",
            model.loss(),
            parity * 100.0
        );
        assert_eq!(parity, 1.0, "{name}");
    }
    Ok(())
}

#[test]
fn language_step_reports_lid176_labels_as_iso_639_3() -> Result<()> {
    let path = fasttext_ref::lid176()?;
    let bytes = std::fs::read(&path)?;
    let config = Config::from_toml(
        "steps = [\"language\"]\n[language]\nmodel = \"lid.176.ftz\"\nmin_confidence = 0.0\n",
    )?;
    let pipeline = Pipeline::new(
        config,
        &Resources {
            language_model: Some(bytes),
            ..Resources::default()
        },
    )?;
    let texts: Vec<String> = read_jsonl(&shared_data("langid/whatlang_examples.jsonl"))?
        .into_iter()
        .map(|r| r["text"].as_str().unwrap_or_default().to_string())
        .collect();
    let reference = fasttext_ref::predict(&path, &texts, 1)?;
    for (i, (text, (labels, probs))) in texts.iter().zip(&reference).enumerate() {
        let outcome = pipeline.process(&Document::text(format!("w{i}"), text.clone()))?;
        let guess = outcome.language.context("no language")?;
        let label = labels[0]
            .strip_prefix("__label__")
            .context("label prefix")?;
        assert_eq!(guess.code, iso639::to_639_3(label), "text {i}");
        assert!(
            (guess.confidence - probs[0].min(1.0)).abs() <= TOLERANCE,
            "text {i}"
        );
    }
    Ok(())
}

#[test]
fn quality_classifier_scores_are_fasttexts_probability_and_explained() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("dclm.bin");
    let examples = dclm_examples()?;
    fasttext_ref::train(
        &examples,
        &path,
        &["--loss", "softmax", "--wordNgrams", "2", "--epoch", "10"],
    )?;
    let config = Config::from_toml(
        "steps = [\"quality_classifier\"]\nevaluate_all = true\n[quality_classifier]\nmodel = \"dclm.bin\"\npositive = [\"__label__hq\"]\nthreshold = 0.5\n",
    )?;
    let pipeline = Pipeline::new(
        config,
        &Resources {
            quality_classifier_model: Some(std::fs::read(&path)?),
            ..Resources::default()
        },
    )?;
    let texts: Vec<String> = fasttext_ref::parity_texts()?
        .into_iter()
        .rev()
        .take(150)
        .collect();
    let reference = fasttext_ref::predict(&path, &texts, -1)?;
    let (mut kept, mut dropped) = (0, 0);
    for (i, (text, (labels, probs))) in texts.iter().zip(&reference).enumerate() {
        let expected = labels
            .iter()
            .zip(probs)
            .find(|(l, _)| *l == "__label__hq")
            .map_or(0.0, |(_, p)| p.min(1.0));
        let outcome = pipeline.process(&Document::text(format!("d{i}"), text.clone()))?;
        let score = outcome
            .scores
            .iter()
            .find(|s| s.name == "quality_classifier")
            .context("no score")?;
        assert!(
            (score.value - expected).abs() <= TOLERANCE,
            "text {i}: {} vs {expected}",
            score.value
        );
        let check = &outcome.checks[0];
        assert_eq!(
            (check.step.as_str(), check.rule.as_str()),
            ("quality_classifier", "__label__hq")
        );
        assert_eq!(check.passed, score.value >= 0.5);
        if check.passed {
            kept += 1;
        } else {
            dropped += 1;
            assert_eq!(outcome.reason.as_ref(), Some(check));
        }
    }
    // A classifier trained on real labels separates these texts rather than keeping or dropping all.
    assert!(kept > 0 && dropped > 0, "kept {kept}, dropped {dropped}");
    Ok(())
}

#[test]
fn a_missing_or_corrupt_model_is_a_config_error_naming_the_key() -> Result<()> {
    let bytes = std::fs::read(fasttext_ref::lid176()?)?;
    let config =
        Config::from_toml("steps = [\"language\"]\n[language]\nmodel = \"lid.176.ftz\"\n")?;
    let err = Pipeline::new(config.clone(), &Resources::default()).unwrap_err();
    assert_eq!(err.path, "language.model");
    // Every truncation of a real model is refused with a message, never a panic (a sample of lengths,
    // denser at the start where the header and dictionary are).
    for len in (0..4096).chain((4096..bytes.len()).step_by(9973)) {
        let resources = Resources {
            language_model: Some(bytes[..len].to_vec()),
            ..Resources::default()
        };
        let err = Pipeline::new(config.clone(), &resources).unwrap_err();
        assert_eq!(err.path, "language.model", "{len} bytes: {err}");
    }
    let config = Config::from_toml(
        "steps = [\"quality_classifier\"]\n[quality_classifier]\nmodel = \"lid.176.ftz\"\n",
    )?;
    let err = Pipeline::new(
        config,
        &Resources {
            quality_classifier_model: Some(bytes),
            ..Resources::default()
        },
    )
    .unwrap_err();
    assert_eq!(err.path, "quality_classifier.positive[0]");
    Ok(())
}

/// Trains with tamis and with fastText on the same examples and options, and returns both accuracies
/// (top label right) on `test`.
fn accuracies(
    train: &[(String, String)],
    test: &[(String, String)],
    options: &tamis_core::fasttext::train::TrainOptions,
    dir: &std::path::Path,
) -> Result<(f64, f64)> {
    use tamis_core::fasttext::train;
    let examples: Vec<train::Example<'_>> = train
        .iter()
        .map(|(l, t)| train::Example {
            labels: vec![l.as_str()],
            text: t.as_str(),
        })
        .collect();
    let ours = train::train(&examples, options)?;
    let bytes = ours.to_bytes();
    let model = Model::from_bytes(&bytes)?;
    // fastText itself loads the file tamis wrote and predicts what tamis predicts with it.
    let ours_path = dir.join(format!("tamis-{}.bin", options.loss.name()));
    std::fs::write(&ours_path, &bytes)?;
    let sample: Vec<String> = test.iter().take(200).map(|(_, t)| t.clone()).collect();
    let loaded = fasttext_ref::predict(&ours_path, &sample, -1)?;
    ensure!(
        compare(&model, &loaded, &sample)?.0 == 1.0,
        "fastText reads tamis's model differently"
    );
    let mut ours_right = 0usize;
    for (label, text) in test {
        let p = model.predict_document(text, 1, 0.0);
        let top = p.first().and_then(|p| model.label(p.label)).unwrap_or("");
        ours_right += usize::from(top.strip_prefix("__label__") == Some(label.as_str()));
    }
    let numbers = [
        options.dim.to_string(),
        options.epoch.to_string(),
        options.lr.to_string(),
        options.word_ngrams.to_string(),
        options.minn.to_string(),
        options.maxn.to_string(),
        options.bucket.to_string(),
    ];
    let mut args = vec!["--loss", options.loss.name()];
    for (flag, value) in [
        "--dim",
        "--epoch",
        "--lr",
        "--wordNgrams",
        "--minn",
        "--maxn",
        "--bucket",
    ]
    .into_iter()
    .zip(&numbers)
    {
        args.push(flag);
        args.push(value);
    }
    let reference_path = dir.join(format!("{}.bin", options.loss.name()));
    let theirs = fasttext_ref::trained_accuracy(train, test, &reference_path, &args)?;
    Ok((ours_right as f64 / test.len() as f64, theirs))
}

#[test]
fn a_model_trained_here_is_as_accurate_as_fasttexts_on_held_out_snippets() -> Result<()> {
    use tamis_core::fasttext::{LossKind, train::TrainOptions};
    let (train, test) = fasttext_ref::snippet_split()?;
    ensure!(
        train.len() > 1500 && test.len() > 900,
        "{} / {} snippets",
        train.len(),
        test.len()
    );
    let dir = tempfile::tempdir()?;
    // DCLM's recipe (softmax, word bigrams), then the other losses with character n-grams.
    let cases = [
        (LossKind::Softmax, 2, 0, 0),
        (LossKind::HierarchicalSoftmax, 1, 2, 4),
        (LossKind::OneVsAll, 2, 0, 0),
        (LossKind::NegativeSampling, 2, 2, 4),
    ];
    for (loss, word_ngrams, minn, maxn) in cases {
        let options = TrainOptions {
            loss,
            dim: 16,
            epoch: 25,
            lr: 0.5,
            word_ngrams,
            minn,
            maxn,
            bucket: 100_000,
            ..TrainOptions::default()
        };
        let (ours, theirs) = accuracies(&train, &test, &options, dir.path())?;
        println!(
            "content vs boilerplate, {} held-out snippets, loss {} wordNgrams {word_ngrams} minn {minn} maxn {maxn}: tamis {ours:.3}, fastText {theirs:.3}",
            test.len(),
            loss.name()
        );
        assert!(
            (ours - theirs).abs() <= 0.02,
            "{}: tamis {ours:.3} vs fastText {theirs:.3}",
            loss.name()
        );
        assert!(ours > 0.65, "{}: accuracy {ours:.3}", loss.name());
    }
    Ok(())
}
