//! `tamis tokenize`: the Megatron-LM indexed dataset it writes, read back by a reader written here from
//! the format's definition (NVIDIA/Megatron-LM `megatron/core/datasets/indexed_dataset.py`), holds for
//! every document of the web development set exactly the ids of Hugging Face's Python `tokenizers`, with
//! both shared tokenizers; the bytes do not depend on workers, task split or interruption; bad records
//! are errors naming file and line.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{output_files, read_jsonl, repo_root, shared_data, tamis, tamis_command};
use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

/// One Megatron indexed dataset, decoded.
#[derive(Debug, PartialEq)]
struct Dataset {
    dtype_code: u8,
    documents: Vec<Vec<u32>>,
}

fn u64_at(b: &[u8], at: usize) -> Result<u64> {
    Ok(u64::from_le_bytes(
        b.get(at..at + 8).context("idx too short")?.try_into()?,
    ))
}

/// Reads `prefix.idx` / `prefix.bin` as Megatron's `_IndexReader` and `_MMapBinReader` do, and checks
/// every invariant its writer keeps: header, version, pointers as running sums of lengths times the item
/// size, a document index of one sequence per document, and a `.bin` of exactly the indexed bytes.
fn read_dataset(prefix: &Path) -> Result<Dataset> {
    let idx = std::fs::read(prefix.with_extension("idx"))?;
    let bin = std::fs::read(prefix.with_extension("bin"))?;
    ensure!(&idx[..9] == b"MMIDIDX\x00\x00", "bad header");
    ensure!(u64_at(&idx, 9)? == 1, "bad version");
    let code = idx[17];
    let size = match code {
        8 => 2usize,
        4 => 4,
        other => bail!("unexpected dtype code {other}"),
    };
    let sequences = u64_at(&idx, 18)? as usize;
    let doc_entries = u64_at(&idx, 26)? as usize;
    let mut at = 34;
    let mut lengths = Vec::with_capacity(sequences);
    for _ in 0..sequences {
        lengths.push(i32::from_le_bytes(idx[at..at + 4].try_into()?));
        at += 4;
    }
    let mut pointers = Vec::with_capacity(sequences);
    for _ in 0..sequences {
        pointers.push(i64::from_le_bytes(idx[at..at + 8].try_into()?));
        at += 8;
    }
    let mut doc_index = Vec::with_capacity(doc_entries);
    for _ in 0..doc_entries {
        doc_index.push(i64::from_le_bytes(idx[at..at + 8].try_into()?));
        at += 8;
    }
    ensure!(
        at == idx.len(),
        "{} trailing bytes in the idx",
        idx.len() - at
    );
    ensure!(
        doc_index == (0..=sequences as i64).collect::<Vec<_>>(),
        "document index is not one sequence per document"
    );
    let mut expected = 0i64;
    for (p, l) in pointers.iter().zip(&lengths) {
        ensure!(*p == expected, "pointer {p}, expected {expected}");
        expected += i64::from(*l) * size as i64;
    }
    ensure!(
        bin.len() as i64 == expected,
        "bin size {} vs index {expected}",
        bin.len()
    );
    let documents = pointers
        .iter()
        .zip(&lengths)
        .map(|(&p, &l)| {
            let bytes = &bin[p as usize..p as usize + l as usize * size];
            bytes
                .chunks_exact(size)
                .map(|c| match size {
                    2 => u32::from(u16::from_le_bytes([c[0], c[1]])),
                    _ => i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as u32,
                })
                .collect()
        })
        .collect();
    Ok(Dataset {
        dtype_code: code,
        documents,
    })
}

/// Every `tokens-NNNNN` pair of an output, in order, decoded and concatenated; and each file's documents.
fn read_output(dir: &Path) -> Result<(u8, Vec<Vec<Vec<u32>>>)> {
    let mut prefixes: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "idx"))
        .map(|p| p.with_extension(""))
        .collect();
    prefixes.sort();
    ensure!(!prefixes.is_empty(), "no .idx in {}", dir.display());
    let mut code = None;
    let mut files = Vec::new();
    for prefix in prefixes {
        let d = read_dataset(&prefix).with_context(|| prefix.display().to_string())?;
        ensure!(code.is_none_or(|c| c == d.dtype_code), "mixed dtypes");
        code = Some(d.dtype_code);
        files.push(d.documents);
    }
    Ok((code.unwrap_or_default(), files))
}

/// The Python of the reference venv; the test fails, saying how to make it, when it is missing.
fn reference_python() -> PathBuf {
    let out = Command::new(repo_root().join("scripts/tool-path.sh"))
        .arg("tokenizers-py")
        .output()
        .expect("running scripts/tool-path.sh");
    let path = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
    assert!(
        out.status.success() && path.is_file(),
        "the Python `tokenizers` reference is missing ({}): run scripts/setup-python-ref.sh \
         (scripts/setup.sh --test runs it)",
        path.display()
    );
    path
}

#[derive(Clone, Copy)]
enum Which {
    Neox,
    Gpt2,
}

impl Which {
    /// The config lines naming the tokenizer, and the reference script's arguments.
    fn config_and_args(self) -> (String, Vec<String>) {
        match self {
            Which::Neox => {
                let t = shared_data("tokenizers/gpt-neox-20b-pii-special/tokenizer.json");
                (
                    format!("tokenizer = {:?}\n", t.display().to_string()),
                    vec!["--tokenizer".into(), t.display().to_string()],
                )
            }
            Which::Gpt2 => {
                let v = shared_data("tokenizers/gpt2/vocab.json");
                let m = shared_data("tokenizers/gpt2/merges.txt");
                (
                    format!(
                        "vocab = {:?}\nmerges = {:?}\n",
                        v.display().to_string(),
                        m.display().to_string()
                    ),
                    vec![
                        "--vocab".into(),
                        v.display().to_string(),
                        "--merges".into(),
                        m.display().to_string(),
                    ],
                )
            }
        }
    }
}

/// The reference: EOS id, and each record's ids (None without text), from the Python `tokenizers`.
fn reference(which: Which, input: &Path) -> Result<(u32, Vec<Option<Vec<u32>>>)> {
    let (_, args) = which.config_and_args();
    let out = Command::new(reference_python())
        .arg(repo_root().join("tests/python/tokenize_reference.py"))
        .args(&args)
        .arg("--input")
        .arg(input)
        .output()?;
    ensure!(
        out.status.success(),
        "reference failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)?;
    let eos = v["eos"].as_u64().context("no eos id")? as u32;
    let docs = v["docs"]
        .as_array()
        .context("no docs")?
        .iter()
        .map(|d| {
            d.as_array().map(|ids| {
                ids.iter()
                    .map(|i| i.as_u64().unwrap_or(u64::MAX) as u32)
                    .collect()
            })
        })
        .collect();
    Ok((eos, docs))
}

fn write_config(dir: &Path, which: Which, extra: &str) -> Result<PathBuf> {
    let (tokenizer, _) = which.config_and_args();
    let path = dir.join(format!("tokenize-{}.toml", dir.read_dir()?.count()));
    std::fs::write(&path, format!("[tokenize]\n{tokenizer}{extra}"))?;
    Ok(path)
}

fn tokenize(config: &Path, input: &Path, output: &Path, extra: &[&str]) -> Result<String> {
    let mut args: Vec<&OsStr> = vec![
        "tokenize".as_ref(),
        config.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        output.as_os_str(),
        "--quiet".as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let out = tamis(&args)?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(
        out.status.success(),
        "tamis tokenize {extra:?} failed: {stderr}"
    );
    Ok(stderr)
}

fn stats(output: &Path) -> Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        output.join("stats.json"),
    )?)?)
}

fn ids_equal_python(which: Which) -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = shared_data("web/dev.jsonl.gz");
    let (eos, reference) = reference(which, &input)?;
    let config = write_config(dir.path(), which, "")?;
    let output = dir.path().join("out");
    let stderr = tokenize(
        &config,
        &input,
        &output,
        &["--workers", "2", "--batch-size", "16"],
    )?;

    let (code, files) = read_output(&output)?;
    ensure!(
        code == 8,
        "both vocabularies are below 65,500 ids: uint16 (8), got {code}"
    );
    ensure!(
        files.len() == 1,
        "no shard_tokens: one file, got {}",
        files.len()
    );
    let written = &files[0];
    // The web set has records with an empty text: no token, so dropped; every other one is written,
    // framed with EOS, in input order.
    let expected: Vec<Vec<u32>> = reference
        .iter()
        .filter_map(|d| d.as_ref())
        .filter(|ids| !ids.is_empty())
        .map(|ids| ids.iter().copied().chain([eos]).collect())
        .collect();
    ensure!(
        written.len() == expected.len(),
        "{} documents written, {} expected",
        written.len(),
        expected.len()
    );
    for (i, (w, e)) in written.iter().zip(&expected).enumerate() {
        ensure!(
            w == e,
            "document {i}: tamis {} ids vs Python {}; first difference at {:?}",
            w.len(),
            e.len(),
            w.iter().zip(e).position(|(a, b)| a != b)
        );
    }
    let empty = reference
        .iter()
        .filter(|d| d.as_ref().is_some_and(|i| i.is_empty()))
        .count();
    ensure!(empty > 0, "the web set was expected to hold empty texts");
    let s = stats(&output)?;
    ensure!(s["docs_in"] == reference.len(), "{s}");
    ensure!(
        s["kept"] == expected.len() && s["documents"] == expected.len(),
        "{s}"
    );
    ensure!(
        s["dropped"] == empty && s["dropped_by_reason"]["no_tokens"] == empty,
        "{s}"
    );
    ensure!(s["errors"] == 0, "{s}");
    let tokens: usize = expected.iter().map(Vec::len).sum();
    ensure!(s["tokens"] == tokens, "{s}");
    let mut lengths: Vec<usize> = expected.iter().map(Vec::len).collect();
    lengths.sort_unstable();
    let p50 = lengths[lengths.len().div_ceil(2) - 1];
    ensure!(s["tokens_per_document"]["p50"] == p50, "{s}");
    ensure!(
        stderr.contains(&format!("documents {} ", expected.len()))
            && stderr.contains("accounting ok"),
        "{stderr}"
    );
    let dropped = read_jsonl(&output.join("dropped/dev-00000.jsonl"))?;
    ensure!(dropped.len() == empty, "dropped records: {}", dropped.len());
    ensure!(dropped.iter().all(|d| d["file"] == "dev.jsonl.gz"
        && d["line"].as_u64().is_some()
        && d["reason"] == "no_tokens"));
    Ok(())
}

#[test]
fn ids_equal_python_tokenizers_with_gpt_neox() -> Result<()> {
    ids_equal_python(Which::Neox)
}

#[test]
fn ids_equal_python_tokenizers_with_gpt2_vocab_and_merges() -> Result<()> {
    ids_equal_python(Which::Gpt2)
}

/// The web set split over two files in a folder, so that `--shard i/N` has files to share.
fn two_files(dir: &Path) -> Result<PathBuf> {
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let folder = dir.join("in");
    std::fs::create_dir_all(&folder)?;
    let half = records.len() / 2;
    for (name, part) in [("a.jsonl", &records[..half]), ("b.jsonl", &records[half..])] {
        let mut f = std::fs::File::create(folder.join(name))?;
        for r in part {
            writeln!(f, "{r}")?;
        }
    }
    Ok(folder)
}

#[test]
fn bytes_do_not_depend_on_workers_or_tasks_and_the_shuffle_is_a_seeded_permutation() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = two_files(dir.path())?;
    let (eos, reference) = reference(Which::Neox, &shared_data("web/dev.jsonl.gz"))?;
    let max_tokens = 512usize;
    let shard_tokens = 40_000u64;
    let plain = write_config(
        dir.path(),
        Which::Neox,
        &format!("max_tokens = {max_tokens}\n"),
    )?;
    let shuffled = write_config(
        dir.path(),
        Which::Neox,
        &format!("max_tokens = {max_tokens}\nshuffle_seed = 7\nshard_tokens = {shard_tokens}\n"),
    )?;

    let ordered = dir.path().join("ordered");
    tokenize(&plain, &input, &ordered, &["--workers", "2"])?;
    let one = dir.path().join("one");
    tokenize(
        &shuffled,
        &input,
        &one,
        &["--workers", "1", "--batch-size", "7"],
    )?;
    let two = dir.path().join("two");
    tokenize(
        &shuffled,
        &input,
        &two,
        &["--workers", "2", "--batch-size", "32"],
    )?;
    // Two tasks, each encoding its file, then the run that writes.
    let tasks = dir.path().join("tasks");
    let first = tokenize(&shuffled, &input, &tasks, &["--shard", "0/2"])?;
    ensure!(first.contains("still to encode"), "{first}");
    ensure!(
        !tasks.join("stats.json").exists(),
        "a task wrote the output before every file was encoded"
    );
    tokenize(&shuffled, &input, &tasks, &["--shard", "1/2"])?;
    tokenize(&shuffled, &input, &tasks, &[])?;

    let a = output_files(&one)?;
    ensure!(
        a.keys().any(|k| k == "tokens-00001.bin"),
        "expected several files: {:?}",
        a.keys()
    );
    for other in [&two, &tasks] {
        let b = output_files(other)?;
        ensure!(
            a == b,
            "{} differs from the 1-worker output",
            other.display()
        );
    }

    // Cut at max_tokens, EOS kept last; the same documents, shuffled.
    let expected: Vec<Vec<u32>> = reference
        .iter()
        .filter_map(|d| d.as_ref())
        .filter(|ids| !ids.is_empty())
        .map(|ids| {
            let mut framed: Vec<u32> = ids.iter().copied().take(max_tokens - 1).collect();
            framed.push(eos);
            framed
        })
        .collect();
    let (_, files) = read_output(&ordered)?;
    ensure!(
        files.concat() == expected,
        "ordered output is not the framed reference"
    );
    let (_, files) = read_output(&one)?;
    for (n, f) in files.iter().enumerate() {
        let tokens: usize = f.iter().map(Vec::len).sum();
        ensure!(
            tokens as u64 <= shard_tokens || f.len() == 1,
            "file {n} holds {tokens} tokens in {} documents",
            f.len()
        );
    }
    let shuffled_docs = files.concat();
    ensure!(
        shuffled_docs != expected,
        "the shuffle left the order unchanged"
    );
    let (mut x, mut y) = (shuffled_docs.clone(), expected.clone());
    x.sort();
    y.sort();
    ensure!(
        x == y,
        "the shuffled output is not a permutation of the documents"
    );
    let cut = reference
        .iter()
        .filter_map(|d| d.as_ref())
        .filter(|ids| ids.len() + 1 > max_tokens)
        .count();
    let s = stats(&one)?;
    ensure!(cut > 0 && s["cut"] == cut, "cut {cut}: {s}");
    ensure!(s["tokens_per_document"]["max"] == max_tokens, "{s}");
    Ok(())
}

#[test]
fn killed_and_resumed_tokenize_writes_the_same_bytes() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("web.jsonl.gz");
    let records = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let mut gz =
        flate2::write::GzEncoder::new(std::fs::File::create(&input)?, flate2::Compression::fast());
    for copy in 0..25 {
        for r in &records {
            let mut r = r.clone();
            r["id"] = Value::String(format!("{}#{copy}", r["id"].as_str().unwrap_or_default()));
            writeln!(gz, "{r}")?;
        }
    }
    gz.finish()?;
    let config = write_config(
        dir.path(),
        Which::Neox,
        "shuffle_seed = 1\nshard_tokens = 500000\n",
    )?;
    let extra = [
        "--workers",
        "2",
        "--batch-size",
        "16",
        "--shard-size",
        "300",
    ];
    let whole = dir.path().join("whole");
    tokenize(&config, &input, &whole, &extra)?;

    let resumed = dir.path().join("resumed");
    let mut args: Vec<&OsStr> = vec![
        "tokenize".as_ref(),
        config.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        resumed.as_os_str(),
        "--quiet".as_ref(),
    ];
    args.extend(extra.iter().map(OsStr::new));
    let mut child = tamis_command()?
        .args(&args)
        .stderr(std::process::Stdio::null())
        .spawn()?;
    let done = |d: &Path| {
        std::fs::read_dir(d.join(".tamis/done"))
            .map(|e| e.count())
            .unwrap_or(0)
    };
    let started = Instant::now();
    while done(&resumed) < 2 && started.elapsed() < Duration::from_secs(120) {
        if child.try_wait()?.is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    child.kill()?;
    child.wait()?;
    let at_kill = done(&resumed);
    ensure!(
        !resumed.join("stats.json").exists() && at_kill < 34,
        "the job finished before it could be killed; make the input bigger"
    );
    let out = tamis(&args)?;
    ensure!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    ensure!(
        output_files(&whole)? == output_files(&resumed)?,
        "resumed output differs"
    );
    let (s1, s2) = (stats(&whole)?, stats(&resumed)?);
    for key in [
        "docs_in",
        "kept",
        "dropped",
        "errors",
        "tokens",
        "tokens_per_document",
        "files",
    ] {
        ensure!(s1[key] == s2[key], "{key}: {} vs {}", s1[key], s2[key]);
    }
    Ok(())
}

#[test]
fn bad_records_are_errors_naming_file_and_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let input = dir.path().join("bad.jsonl");
    let good = read_jsonl(&shared_data("web/dev.jsonl.gz"))?
        .into_iter()
        .find(|r| r["text"].as_str().is_some_and(|t| t.len() > 200))
        .context("a web document")?;
    let lines = [
        good.to_string(),
        r#"{"id": "no-text", "title": "a record without its text field"}"#.to_string(),
        r#"{"id": "broken", "text": "unterminated"#.to_string(),
        r#"{"id": "number", "text": 42}"#.to_string(),
        r#"{"id": "empty", "text": ""}"#.to_string(),
    ];
    std::fs::write(&input, lines.join("\n") + "\n")?;
    let config = write_config(dir.path(), Which::Gpt2, "")?;
    let output = dir.path().join("out");
    let stderr = tokenize(&config, &input, &output, &[])?;
    ensure!(
        stderr.contains("accounting ok: 5 = 1 kept + 1 dropped + 3 errors"),
        "{stderr}"
    );
    let errors = read_jsonl(&output.join("errors/bad-00000.jsonl"))?;
    let at: Vec<(u64, String)> = errors
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap_or(0),
                e["error"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect();
    ensure!(
        at.len() == 3 && errors.iter().all(|e| e["file"] == "bad.jsonl"),
        "{errors:?}"
    );
    ensure!(
        at[0].0 == 2 && at[0].1.contains("no text field `text`"),
        "{at:?}"
    );
    ensure!(at[1].0 == 3 && at[1].1.contains("invalid JSON"), "{at:?}");
    ensure!(
        at[2].0 == 4 && at[2].1.contains("must be a string"),
        "{at:?}"
    );
    let dropped = read_jsonl(&output.join("dropped/bad-00000.jsonl"))?;
    ensure!(
        dropped.len() == 1 && dropped[0]["line"] == 5 && dropped[0]["id"] == "empty",
        "{dropped:?}"
    );
    let (_, files) = read_output(&output)?;
    ensure!(files.concat().len() == 1, "one document written");

    // A tokenizer without any end-of-text token and no `eos`: refused, saying what to set.
    let odd = dir.path().join("odd.json");
    std::fs::write(
        &odd,
        r#"{"version":"1.0","truncation":null,"padding":null,"added_tokens":[],"normalizer":null,
           "pre_tokenizer":{"type":"Whitespace"},"post_processor":null,"decoder":null,
           "model":{"type":"WordLevel","vocab":{"[UNK]":0,"hello":1},"unk_token":"[UNK]"}}"#,
    )?;
    let cfg = dir.path().join("odd.toml");
    std::fs::write(
        &cfg,
        format!("[tokenize]\ntokenizer = {:?}\n", odd.display().to_string()),
    )?;
    let out = tamis(&[
        "tokenize".as_ref(),
        cfg.as_os_str(),
        "--input".as_ref(),
        input.as_os_str(),
        "--output".as_ref(),
        dir.path().join("odd-out").as_os_str(),
    ])?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    ensure!(
        !out.status.success() && stderr.contains("tokenize.eos"),
        "{stderr}"
    );
    Ok(())
}
