//! fastText models through the bulk host: the config names the files, the host reads them (relative to
//! the config) and hands the bytes to the core, in the sandboxed component as in the native engine, and
//! both write the same bytes on the web development set.

use crate::{
    fasttext_ref, output_files, read_jsonl, shared_data, stats_counts, tamis_job, tamis_job_ok,
};
use anyhow::{Result, ensure};

#[test]
fn wasm_and_native_agree_with_a_language_model_and_a_quality_classifier() -> Result<()> {
    let dir = tempfile::tempdir()?;
    std::fs::copy(fasttext_ref::lid176()?, dir.path().join("lid.176.ftz"))?;
    let examples: Vec<(String, String)> =
        read_jsonl(&shared_data("quality/dclm_human_quality_dev.jsonl.gz"))?
            .into_iter()
            .map(|r| {
                let label = if r["label"].as_i64() == Some(1) {
                    "__label__hq"
                } else {
                    "__label__cc"
                };
                (
                    label.to_string(),
                    r["text"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
    fasttext_ref::train(
        &examples,
        &dir.path().join("dclm.bin"),
        &["--loss", "softmax", "--wordNgrams", "2"],
    )?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "steps = [\"normalize\", \"language\", \"quality_classifier\"]\nevaluate_all = true\n\
         [language]\nmodel = \"lid.176.ftz\"\nmin_confidence = 0.3\n\
         [quality_classifier]\nmodel = \"dclm.bin\"\nthreshold = 0.5\n",
    )?;
    let input = shared_data("web/dev.jsonl.gz");
    let (wasm, native) = (dir.path().join("wasm"), dir.path().join("native"));
    let stderr = tamis_job_ok(
        "run",
        &config,
        &input,
        &wasm,
        &["--quiet", "--engine", "wasm"],
    )?;
    tamis_job_ok(
        "run",
        &config,
        &input,
        &native,
        &["--quiet", "--engine", "native"],
    )?;
    ensure!(
        stderr.contains("accounting ok: 397 = "),
        "no accounting line: {stderr}"
    );
    let (a, b) = (output_files(&wasm)?, output_files(&native)?);
    ensure!(a == b, "wasm and native outputs differ");
    ensure!(
        stats_counts(&wasm)? == stats_counts(&native)?,
        "stats differ"
    );
    let mut text = String::new();
    for (name, bytes) in &a {
        if name.ends_with(".gz") {
            std::io::Read::read_to_string(
                &mut flate2::read::MultiGzDecoder::new(&bytes[..]),
                &mut text,
            )?;
        }
    }
    ensure!(
        text.contains("quality_classifier"),
        "no classifier check in the output"
    );
    ensure!(
        text.contains("language_low_confidence"),
        "no language check in the output"
    );

    // A model path that does not exist is an error naming the key, before any record is read.
    std::fs::write(
        &config,
        "steps = [\"language\"]\n[language]\nmodel = \"missing.ftz\"\n",
    )?;
    let out = tamis_job(
        "run",
        &config,
        &input,
        &dir.path().join("missing"),
        &["--quiet"],
    )?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("language.model"),
        "{stderr}"
    );
    Ok(())
}

/// `tamis train-classifier` end to end: trafilatura's evaluation snippets as content / boilerplate, one
/// labelled file per label (the DCLM layout: a positives file and a negatives file), a validation file
/// whose records carry their label in a field, and a bad record and an empty text among the inputs.
#[test]
fn train_classifier_trains_as_fasttext_does_and_accounts_for_every_record() -> Result<()> {
    use anyhow::Context;
    let dir = tempfile::tempdir()?;
    let (train_pairs, test_pairs) = fasttext_ref::snippet_split()?;
    let line = |v: serde_json::Value| v.to_string() + "\n";
    let mut content = String::new();
    let mut boilerplate = String::new();
    for (i, (label, text)) in train_pairs.iter().enumerate() {
        let file = if label == "content" {
            &mut content
        } else {
            &mut boilerplate
        };
        file.push_str(&line(
            serde_json::json!({"id": format!("train-{i}"), "text": text}),
        ));
    }
    let validation: String = test_pairs
        .iter()
        .enumerate()
        .map(|(i, (label, text))| {
            line(serde_json::json!({"id": format!("test-{i}"), "text": text, "label": label}))
        })
        .collect();
    // One record with no text field and one empty text, in the positives.
    content.push_str("{\"id\":\"no-text\",\"body\":\"x\"}\n{\"id\":\"empty\",\"text\":\"  \"}\n");
    std::fs::write(dir.path().join("content.jsonl"), &content)?;
    std::fs::write(dir.path().join("boilerplate.jsonl"), &boilerplate)?;
    std::fs::write(dir.path().join("validation.jsonl"), &validation)?;
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        "[train_classifier]\noutput = \"model\"\ndim = 16\nepoch = 25\nlr = 0.5\nword_ngrams = 2\nbucket = 100000\n\
         [[train_classifier.input]]\npath = [\"content.jsonl\"]\nlabel = \"content\"\n\
         [[train_classifier.input]]\npath = [\"boilerplate.jsonl\"]\nlabel = \"boilerplate\"\n\
         [[train_classifier.validation]]\npath = [\"validation.jsonl\"]\n",
    )?;
    let run = |out: &str| -> Result<String> {
        let o = crate::tamis(&[
            "train-classifier".as_ref(),
            config.as_os_str(),
            "--output".as_ref(),
            dir.path().join(out).as_os_str(),
        ])?;
        let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
        ensure!(o.status.success(), "train-classifier failed: {stderr}");
        Ok(stderr)
    };
    let stderr = run("a")?;
    let n = train_pairs.len();
    ensure!(
        stderr.contains(&format!(
            "accounting ok: {} = {n} examples + 1 dropped (empty text) + 1 errors",
            n + 2
        )),
        "{stderr}"
    );
    let errors = std::fs::read_to_string(dir.path().join("a/errors.jsonl"))?;
    ensure!(
        errors.lines().count() == 1
            && errors.contains("content.jsonl")
            && errors.contains("\"line\":")
            && errors.contains("no-text")
            && errors.contains("no `text` field"),
        "{errors}"
    );
    let stats: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("a/stats.json"))?)?;
    let ours = stats["measure"]["accuracy"].as_f64().context("accuracy")?;
    ensure!(stats["validation"]["examples"].as_u64() == Some(test_pairs.len() as u64));
    // The same config gives the same model, byte for byte.
    run("b")?;
    ensure!(
        std::fs::read(dir.path().join("a/model.bin"))?
            == std::fs::read(dir.path().join("b/model.bin"))?,
        "two runs gave different models"
    );
    // fastText's trainer with the same options on the same examples.
    let theirs = fasttext_ref::trained_accuracy(
        &train_pairs,
        &test_pairs,
        &dir.path().join("fasttext.bin"),
        &[
            "--loss",
            "softmax",
            "--dim",
            "16",
            "--epoch",
            "25",
            "--lr",
            "0.5",
            "--wordNgrams",
            "2",
            "--bucket",
            "100000",
        ],
    )?;
    println!("train-classifier: validation accuracy {ours:.3}, fastText's trainer {theirs:.3}");
    ensure!(
        (ours - theirs).abs() <= 0.02,
        "tamis {ours:.3} vs fastText {theirs:.3}"
    );
    ensure!(ours > 0.65, "accuracy {ours:.3}");
    Ok(())
}
