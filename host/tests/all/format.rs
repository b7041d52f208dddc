//! `tamis format` on real records: every kind with seed 000's renderings, chat templates rendered as
//! transformers' `apply_chat_template` renders them (jinja2, compared record by record), field mapping,
//! error records naming file and line, and deterministic splits whatever the worker count.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Stdio;

use crate::{output_files, read_jsonl, repo_root, shared_data, tamis_job_ok};
use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};

/// Every record of a split (or of `errors`), in file order.
fn part(out: &Path, split: &str) -> Result<Vec<Value>> {
    fn walk(dir: &Path, files: &mut Vec<PathBuf>) -> Result<()> {
        if !dir.is_dir() {
            return Ok(());
        }
        for entry in std::fs::read_dir(dir)? {
            let path = entry?.path();
            if path.is_dir() {
                walk(&path, files)?;
            } else {
                files.push(path);
            }
        }
        Ok(())
    }
    let mut files = Vec::new();
    walk(&out.join(split), &mut files)?;
    files.sort();
    let mut records = Vec::new();
    for file in files {
        records.extend(read_jsonl(&file)?);
    }
    Ok(records)
}

/// Train, validation and test records together, by id.
fn formatted(out: &Path) -> Result<BTreeMap<String, Value>> {
    let mut all = BTreeMap::new();
    for split in ["train", "validation", "test"] {
        for record in part(out, split)? {
            let id = record["id"]
                .as_str()
                .context("record without id")?
                .to_string();
            ensure!(
                all.insert(id.clone(), record).is_none(),
                "{id} written twice"
            );
        }
    }
    Ok(all)
}

fn stats(out: &Path) -> Result<Value> {
    Ok(serde_json::from_str(&std::fs::read_to_string(
        out.join("stats.json"),
    )?)?)
}

fn config(dir: &Path, name: &str, toml: &str) -> Result<PathBuf> {
    let path = dir.join(name);
    std::fs::write(&path, toml)?;
    Ok(path)
}

fn format(config: &Path, input: &Path, output: &Path, extra: &[&str]) -> Result<String> {
    let mut args = vec!["--quiet"];
    args.extend(extra);
    tamis_job_ok("format", config, input, output, &args)
}

fn write_jsonl(path: &Path, records: &[Value]) -> Result<()> {
    std::fs::create_dir_all(path.parent().context("parent")?)?;
    let lines: Vec<String> = records.iter().map(Value::to_string).collect();
    std::fs::write(path, lines.join("\n") + "\n")?;
    Ok(())
}

const GSM8K_INSTRUCTION: &str = "Solve the grade-school math problem. Show your steps.";

#[test]
fn gsm8k_as_instructions_with_deterministic_splits_across_workers() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let gsm8k = shared_data("benchmarks/gsm8k_test.jsonl.gz");
    let config = config(
        dir.path(),
        "format.toml",
        &format!(
            "[format]\nkind = \"instruction\"\neos_token = \"</s>\"\n\
             [format.fields]\ninstruction = {{ constant = {GSM8K_INSTRUCTION:?} }}\ninput = \"question\"\noutput = \"answer\"\n\
             [format.splits]\ntrain = 0.8\nvalidation = 0.1\ntest = 0.1\n"
        ),
    )?;
    let one = dir.path().join("one");
    let two = dir.path().join("two");
    let summary = format(
        &config,
        &gsm8k,
        &one,
        &["--workers", "1", "--shard-size", "100"],
    )?;
    format(
        &config,
        &gsm8k,
        &two,
        &["--workers", "2", "--shard-size", "100"],
    )?;
    ensure!(
        summary.contains("accounting ok: 1319 = 1319 kept + 0 errors"),
        "{summary}"
    );
    // Same bytes whatever the worker count; a re-run finds every shard done and changes nothing.
    let first = output_files(&one)?;
    ensure!(
        first == output_files(&two)?,
        "1 and 2 workers wrote different bytes"
    );
    format(
        &config,
        &gsm8k,
        &one,
        &["--workers", "2", "--shard-size", "100"],
    )?;
    ensure!(first == output_files(&one)?, "a re-run changed the output");
    ensure!(stats(&one)?["shards_skipped"] == 14, "{}", stats(&one)?);

    // The splits: 0.8 / 0.1 / 0.1 of 1,319 within 5 binomial standard deviations (about 73 and 55).
    let s = stats(&one)?;
    let (train, validation, test) = (
        s["train"].as_f64().unwrap_or(0.0),
        s["validation"].as_f64().unwrap_or(0.0),
        s["test"].as_f64().unwrap_or(0.0),
    );
    ensure!(train + validation + test == 1319.0, "{s}");
    ensure!((train - 1055.2).abs() < 73.0, "train {train}");
    ensure!((validation - 131.9).abs() < 55.0, "validation {validation}");
    ensure!((test - 131.9).abs() < 55.0, "test {test}");

    // Every record is the seed's instruction prompt (the Alpaca layout) of its GSM8K item.
    let records = formatted(&one)?;
    let items = read_jsonl(&gsm8k)?;
    ensure!(records.len() == items.len());
    for item in &items {
        let id = item["id"].as_str().context("id")?;
        let record = &records[id];
        let (q, a) = (
            item["question"].as_str().context("question")?,
            item["answer"].as_str().context("answer")?,
        );
        let expected = format!(
            "### Instruction:\n{GSM8K_INSTRUCTION}\n\n### Input:\n{q}\n\n### Response:\n{a}</s>"
        );
        ensure!(
            *record
                == json!({"id": id, "instruction": GSM8K_INSTRUCTION, "input": q, "output": a, "text": expected}),
            "{id}: {record}"
        );
    }

    // Another split seed draws another split of the same records.
    let reseeded = config_with(&config, "split_seed = 7\n")?;
    let other = dir.path().join("other");
    format(&reseeded, &gsm8k, &other, &[])?;
    let moved = formatted(&other)?;
    let in_split = |out: &Path, split: &str| -> Result<Vec<String>> {
        Ok(part(out, split)?
            .iter()
            .filter_map(|r| r["id"].as_str().map(String::from))
            .collect())
    };
    ensure!(moved.len() == 1319);
    ensure!(in_split(&one, "test")? != in_split(&other, "test")?);
    Ok(())
}

/// The config with `extra` lines added to its `[format]` table.
fn config_with(config: &Path, extra: &str) -> Result<PathBuf> {
    let text = std::fs::read_to_string(config)?;
    let text = text.replacen("[format]\n", &format!("[format]\n{extra}"), 1);
    let path = config.with_file_name(format!(
        "{}-{}.toml",
        config
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("config"),
        xxhash(extra)
    ));
    std::fs::write(&path, text)?;
    Ok(path)
}

fn xxhash(s: &str) -> String {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    format!("{:x}", h.finish())
}

#[test]
fn a_missing_mapped_field_is_an_error_record_naming_file_and_line() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut items = read_jsonl(&shared_data("benchmarks/gsm8k_test.jsonl.gz"))?;
    items.truncate(50);
    // Line 8 loses its answer, line 20 has a number for a question, line 31 is not JSON.
    if let Some(o) = items[7].as_object_mut() {
        o.remove("answer");
    }
    items[19]["question"] = json!(42);
    let input = dir.path().join("in").join("gsm8k.jsonl");
    let mut lines: Vec<String> = items.iter().map(Value::to_string).collect();
    lines[30] = "{\"id\": \"broken\", ".into();
    std::fs::create_dir_all(input.parent().context("parent")?)?;
    std::fs::write(&input, lines.join("\n") + "\n")?;
    let config = config(
        dir.path(),
        "format.toml",
        "[format]\nkind = \"prompt_completion\"\n[format.fields]\nprompt = \"question\"\ncompletion = \"answer\"\n",
    )?;
    let out = dir.path().join("out");
    let summary = format(&config, &input, &out, &[])?;
    ensure!(summary.contains("50 = 47 kept + 3 errors"), "{summary}");
    let errors = part(&out, "errors")?;
    let brief: Vec<(String, u64, String)> = errors
        .iter()
        .map(|e| {
            (
                e["file"].as_str().unwrap_or_default().to_string(),
                e["line"].as_u64().unwrap_or(0),
                e["error"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect();
    ensure!(brief.len() == 3, "{brief:?}");
    ensure!(
        brief[0]
            == (
                "gsm8k.jsonl".into(),
                8,
                "record gsm8k-test-0007: no field `answer` (mapped to `completion`)".into()
            ),
        "{brief:?}"
    );
    ensure!(
        brief[1]
            == (
                "gsm8k.jsonl".into(),
                20,
                "record gsm8k-test-0019: field `question` (mapped to `prompt`) must be a string, got a number"
                    .into()
            ),
        "{brief:?}"
    );
    ensure!(
        brief[2].1 == 31 && brief[2].2.starts_with("invalid JSON"),
        "{brief:?}"
    );
    // The error record keeps the input record, so nothing is lost.
    ensure!(errors[0]["record"]["question"] == items[7]["question"]);
    let s = stats(&out)?;
    ensure!(
        s["errors_by_kind"]
            == json!({"field of the wrong type": 1, "invalid JSON": 1, "missing field": 1}),
        "{s}"
    );
    Ok(())
}

/// GSM8K items as ShareGPT-style conversations (`conversations: [{from, value}]`), without a `text` field.
fn conversations(n: usize) -> Result<Vec<Value>> {
    let items = read_jsonl(&shared_data("benchmarks/gsm8k_test.jsonl.gz"))?;
    Ok(items
        .iter()
        .take(n)
        .map(|item| {
            json!({"id": item["id"], "conversations": [
                {"from": "human", "value": item["question"]},
                {"from": "gpt", "value": item["answer"]},
            ]})
        })
        .collect())
}

#[test]
fn conversations_prompt_completion_and_domain_adaptation_follow_the_seed() -> Result<()> {
    let dir = tempfile::tempdir()?;

    // Conversations, with roles renamed and the seed's Human/Assistant rendering.
    let input = dir.path().join("conv").join("chats.jsonl");
    let chats = conversations(100)?;
    write_jsonl(&input, &chats)?;
    let config_path = config(
        dir.path(),
        "conv.toml",
        "[format]\nkind = \"conversation\"\nrole_key = \"from\"\ncontent_key = \"value\"\neos_token = \"<|endoftext|>\"\n\
         [format.fields]\nmessages = \"conversations\"\n[format.roles]\nhuman = \"user\"\ngpt = \"assistant\"\n",
    )?;
    let out = dir.path().join("conv-out");
    format(&config_path, &input, &out, &[])?;
    let records = formatted(&out)?;
    ensure!(records.len() == 100);
    for chat in &chats {
        let id = chat["id"].as_str().context("id")?;
        let (q, a) = (
            &chat["conversations"][0]["value"],
            &chat["conversations"][1]["value"],
        );
        let expected = json!({
            "id": id,
            "messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}],
            "text": format!("Human: {}\n\nAssistant: {}\n\n<|endoftext|>", q.as_str().unwrap_or_default(), a.as_str().unwrap_or_default()),
        });
        ensure!(records[id] == expected, "{id}: {}", records[id]);
    }

    // Prompt / completion: HumanEval's prompts and canonical solutions, without a text field.
    let humaneval = shared_data("benchmarks/humaneval.jsonl.gz");
    let config_path = config(
        dir.path(),
        "pc.toml",
        "[format]\nkind = \"prompt_completion\"\ntemplate = \"none\"\n\
         [format.fields]\nprompt = \"prompt\"\ncompletion = \"canonical_solution\"\n[io]\nid_key = \"task_id\"\n",
    )?;
    let out = dir.path().join("pc-out");
    format(&config_path, &humaneval, &out, &[])?;
    let records = formatted(&out)?;
    let items = read_jsonl(&humaneval)?;
    ensure!(records.len() == 164);
    for item in &items {
        let id = item["task_id"].as_str().context("task_id")?;
        ensure!(
            records[id]
                == json!({"id": id, "prompt": item["prompt"], "completion": item["canonical_solution"]}),
            "{id}"
        );
    }

    // Domain adaptation: the real web set, each page the completion of a prompt with the domain prefix,
    // read from the Parquet copy and written as Parquet.
    let web = shared_data("web/dev.parquet");
    let config_path = config(
        dir.path(),
        "domain.toml",
        "[format]\nkind = \"domain_adaptation\"\ndomain = \"technical\"\neos_token = \"</s>\"\n\
         [format.fields]\nprompt = { constant = \"what can you tell me about the topic of this page?\" }\ncompletion = \"text\"\n",
    )?;
    let out = dir.path().join("domain-out");
    let summary = format(&config_path, &web, &out, &["--workers", "2"])?;
    ensure!(summary.contains("397 = 397 kept + 0 errors"), "{summary}");
    let pages = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let parquet_files: Vec<PathBuf> = ["train", "validation", "test"]
        .iter()
        .map(|s| out.join(s).join("dev-00000.parquet"))
        .filter(|p| p.is_file())
        .collect();
    ensure!(parquet_files.len() == 3, "{parquet_files:?}");
    let prompt = "In technical terms, what can you tell me about the topic of this page?";
    let mut seen = 0;
    for file in &parquet_files {
        for row in read_parquet_rows(file)? {
            let id = row["id"].as_str().context("id")?;
            let page = pages.iter().find(|p| p["id"] == id).context("page")?;
            let text = page["text"].as_str().unwrap_or_default();
            ensure!(row["prompt"] == prompt && row["completion"] == text, "{id}");
            ensure!(row["text"] == format!("{prompt}\n\n{text}</s>"), "{id}");
            seen += 1;
        }
    }
    ensure!(seen == 397);
    Ok(())
}

/// The rows of a Parquet file of text columns as JSON objects (other column types become null).
fn read_parquet_rows(path: &Path) -> Result<Vec<Value>> {
    use parquet::file::reader::{FileReader, SerializedFileReader};
    use parquet::record::Field;
    let reader = SerializedFileReader::new(std::fs::File::open(path)?)?;
    reader
        .get_row_iter(None)?
        .map(|row| {
            let row = row?;
            let mut object = serde_json::Map::new();
            for (name, field) in row.get_column_iter() {
                let value = match field {
                    Field::Str(s) => Value::String(s.clone()),
                    _ => Value::Null,
                };
                object.insert(name.clone(), value);
            }
            Ok(Value::Object(object))
        })
        .collect()
}

/// The jinja2 reference's Python, installed by scripts/install-jinja2.sh (scripts/setup.sh --test).
fn reference_python() -> Result<PathBuf> {
    let out = std::process::Command::new(repo_root().join("scripts").join("tool-path.sh"))
        .arg("jinja2")
        .output()
        .context("running scripts/tool-path.sh")?;
    let path = PathBuf::from(String::from_utf8(out.stdout)?.trim());
    if !path.is_file() {
        bail!(
            "{} is missing: install the jinja2 reference with scripts/install-jinja2.sh (scripts/setup.sh --test runs it)",
            path.display()
        );
    }
    Ok(path)
}

/// Renders `records` (JSONL with `id` and `messages`) with jinja2 as transformers does.
fn render_with_jinja2(tokenizer_config: &Path, system: &str, records: &str) -> Result<Vec<Value>> {
    let script = repo_root()
        .join("tests")
        .join("fixtures")
        .join("chat_templates")
        .join("render.py");
    let mut child = std::process::Command::new(reference_python()?)
        .arg(script)
        .arg(tokenizer_config)
        .arg(system)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let input = records.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let out = child.wait_with_output()?;
    writer
        .join()
        .map_err(|_| anyhow::anyhow!("writer panicked"))??;
    ensure!(
        out.status.success(),
        "render.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)?
        .lines()
        .map(|l| Ok(serde_json::from_str(l)?))
        .collect()
}

#[test]
fn chat_templates_render_as_transformers_apply_chat_template() -> Result<()> {
    let dir = tempfile::tempdir()?;
    // Real conversations: GSM8K items (question, answer), and web pages cut into a user turn (the first
    // paragraph) and an assistant turn (the rest), with their quotes, tabs, Unicode and blank lines.
    let mut records = conversations(300)?;
    for page in read_jsonl(&shared_data("web/dev.jsonl.gz"))? {
        let text = page["text"].as_str().unwrap_or_default();
        let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
        records.push(json!({"id": page["id"], "conversations": [
            {"from": "human", "value": first}, {"from": "gpt", "value": rest}]}));
    }
    // Two that the templates refuse: a user turn twice, and no assistant turn.
    records.push(json!({"id": "two-users", "conversations": [
        {"from": "human", "value": "Hello?"}, {"from": "human", "value": "Anyone?"}]}));
    let input = dir.path().join("chats").join("chats.jsonl");
    write_jsonl(&input, &records)?;
    let mut as_messages = String::new();
    for r in &records {
        let messages: Vec<Value> = r["conversations"]
            .as_array()
            .context("turns")?
            .iter()
            .map(|t| {
                let role = if t["from"] == "human" {
                    "user"
                } else {
                    "assistant"
                };
                json!({"role": role, "content": t["value"]})
            })
            .collect();
        as_messages.push_str(&json!({"id": r["id"], "messages": messages}).to_string());
        as_messages.push('\n');
    }
    let system = "You are a patient tutor.";
    let fixtures = repo_root()
        .join("tests")
        .join("fixtures")
        .join("chat_templates");
    let mut compared = 0;
    for name in ["chatml", "inst", "zephyr", "llama3"] {
        let tokenizer_config = fixtures.join(name).join("tokenizer_config.json");
        let config_path = config(
            dir.path(),
            &format!("{name}.toml"),
            &format!(
                "[format]\nkind = \"conversation\"\ntemplate = \"chat\"\ntokenizer_config = {:?}\nsystem = {system:?}\n\
                 role_key = \"from\"\ncontent_key = \"value\"\n[format.fields]\nmessages = \"conversations\"\n\
                 [format.roles]\nhuman = \"user\"\ngpt = \"assistant\"\n",
                tokenizer_config.display().to_string()
            ),
        )?;
        let out = dir.path().join(format!("{name}-out"));
        format(&config_path, &input, &out, &["--workers", "2"])?;
        let ours = formatted(&out)?;
        let errors: BTreeMap<String, Value> = part(&out, "errors")?
            .into_iter()
            .map(|e| (e["id"].as_str().unwrap_or_default().to_string(), e))
            .collect();
        let reference = render_with_jinja2(&tokenizer_config, system, &as_messages)?;
        ensure!(reference.len() == records.len());
        for expected in &reference {
            let id = expected["id"].as_str().context("id")?;
            match (expected.get("text"), expected.get("error")) {
                (Some(text), _) => {
                    let got = ours.get(id).with_context(|| {
                        format!("{name}: {id} not formatted: {:?}", errors.get(id))
                    })?;
                    ensure!(
                        got["text"] == *text,
                        "{name}: {id} renders differently:\n tamis  {}\n jinja2 {text}",
                        got["text"]
                    );
                }
                (None, Some(message)) => {
                    let error = errors
                        .get(id)
                        .with_context(|| format!("{name}: {id} should be an error record"))?;
                    let message = message.as_str().unwrap_or_default();
                    ensure!(
                        error["error"]
                            .as_str()
                            .unwrap_or_default()
                            .contains(message),
                        "{name}: {id}: {} does not carry {message:?}",
                        error["error"]
                    );
                }
                _ => bail!("reference line without text or error: {expected}"),
            }
            compared += 1;
        }
    }
    ensure!(compared == 4 * records.len());
    Ok(())
}
