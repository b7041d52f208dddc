//! `s3://` inputs and outputs, against s3rver (an S3-protocol test server from npm, started here on
//! loopback; a protocol test server, not AWS): a run that reads its input from the store and writes its
//! output there, split over two tasks, writes the bytes of a local run, and a third run resumes from the
//! store's markers without judging anything again.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use futures::TryStreamExt;
use object_store::aws::AmazonS3Builder;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload};
use serde_json::Value;

use crate::{output_files, read_jsonl, repo_root, shared_data, stats_counts, tamis_command};

/// The s3rver process, stopped on drop.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3rver() -> Result<Server> {
    let bin = repo_root().join("tests/s3rver/node_modules/.bin/s3rver");
    ensure!(
        bin.is_file(),
        "{} is missing: run scripts/setup.sh --test (it runs npm ci in tests/s3rver)",
        bin.display()
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port();
    let dir = tempfile::tempdir()?;
    let child = Command::new(&bin)
        .args(["--directory"])
        .arg(dir.path())
        .args(["--address", "127.0.0.1", "--port", &port.to_string()])
        .args(["--configure-bucket", "tamis", "--silent"])
        // s3rver's continuation tokens use a cipher OpenSSL 3 keeps in its legacy provider.
        .env("NODE_OPTIONS", "--openssl-legacy-provider")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", bin.display()))?;
    let server = Server {
        child,
        port,
        _dir: dir,
    };
    let started = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(30) {
            bail!("s3rver did not listen on port {port} within 30 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(server)
}

fn aws_env(port: u16) -> Vec<(&'static str, String)> {
    vec![
        ("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}")),
        ("AWS_ALLOW_HTTP", "true".into()),
        ("AWS_ACCESS_KEY_ID", "S3RVER".into()),
        ("AWS_SECRET_ACCESS_KEY", "S3RVER".into()),
        ("AWS_REGION", "us-east-1".into()),
    ]
}

fn store(port: u16) -> Result<object_store::aws::AmazonS3> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    Ok(AmazonS3Builder::new()
        .with_endpoint(format!("http://127.0.0.1:{port}"))
        .with_allow_http(true)
        .with_access_key_id("S3RVER")
        .with_secret_access_key("S3RVER")
        .with_region("us-east-1")
        .with_bucket_name("tamis")
        .build()?)
}

/// Every object under `prefix/`, downloaded into `dest` (the same layout).
fn download_all(port: u16, prefix: &str, dest: &Path) -> Result<usize> {
    let store = store(port)?;
    let rt = tokio::runtime::Runtime::new()?;
    let base = object_store::path::Path::from(prefix);
    let metas: Vec<object_store::ObjectMeta> =
        rt.block_on(async { store.list(Some(&base)).try_collect().await })?;
    for meta in &metas {
        let key = meta.location.to_string();
        let relative = key.strip_prefix(&format!("{prefix}/")).unwrap_or(&key);
        let path = dest.join(relative);
        std::fs::create_dir_all(path.parent().context("parent")?)?;
        let bytes = rt.block_on(async { store.get(&meta.location).await?.bytes().await })?;
        std::fs::write(&path, &bytes)?;
    }
    Ok(metas.len())
}

fn run(port: u16, args: &[&str]) -> Result<String> {
    let mut cmd = tamis_command()?;
    cmd.args(args);
    for (k, v) in aws_env(port) {
        cmd.env(k, v);
    }
    let out = cmd.output()?;
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    ensure!(out.status.success(), "tamis {}: {stderr}", args.join(" "));
    Ok(stderr)
}

#[test]
fn a_run_from_and_to_an_object_store_writes_the_bytes_of_a_local_run() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;

    // The web dev set as two files, locally and in the store under raw/.
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let lines: Vec<String> = web.iter().map(Value::to_string).collect();
    let local_in = dir.path().join("in");
    std::fs::create_dir_all(&local_in)?;
    let a = lines[..300].join("\n") + "\n";
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    std::io::Write::write_all(&mut gz, (lines[300..].join("\n") + "\n").as_bytes())?;
    let b = gz.finish()?;
    std::fs::write(local_in.join("a.jsonl"), &a)?;
    std::fs::write(local_in.join("b.jsonl.gz"), &b)?;
    let s = store(port)?;
    let rt = tokio::runtime::Runtime::new()?;
    rt.block_on(async {
        s.put(&"raw/a.jsonl".into(), PutPayload::from(a.into_bytes()))
            .await?;
        s.put(&"raw/b.jsonl.gz".into(), PutPayload::from(b)).await?;
        Ok::<_, object_store::Error>(())
    })?;

    let config = dir.path().join("tamis.toml");
    std::fs::write(
        &config,
        "steps = [\"normalize\", \"c4_quality\", \"pii\", \"gopher_quality\", \"fingerprint\"]\n",
    )?;
    let c = config.to_str().context("utf-8 path")?;
    let whole = dir.path().join("whole");
    let w = whole.to_str().context("utf-8 path")?;
    let li = local_in.to_str().context("utf-8 path")?;
    let common = ["--shard-size", "40", "--quiet"];
    let mut args = vec!["run", c, "--input", li, "--output", w];
    args.extend(common);
    run(port, &args)?;

    // Two tasks from the store to the store; the first to run does not write the job's totals.
    for shard in ["1/2", "0/2"] {
        let mut args = vec![
            "run",
            c,
            "--input",
            "s3://tamis/raw",
            "--output",
            "s3://tamis/cleaned",
            "--shard",
            shard,
        ];
        args.extend(common);
        run(port, &args)?;
        if shard == "1/2" {
            let early = dir.path().join("early");
            download_all(port, "cleaned", &early)?;
            ensure!(
                !early.join("stats.json").exists(),
                "stats.json before every task was done"
            );
        }
    }
    let remote: PathBuf = dir.path().join("remote");
    let objects = download_all(port, "cleaned", &remote)?;
    let (expected, got) = (output_files(&whole)?, output_files(&remote)?);
    ensure!(
        expected.keys().collect::<Vec<_>>() == got.keys().collect::<Vec<_>>(),
        "other files in the store: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    for (name, bytes) in &expected {
        ensure!(got[name] == *bytes, "{name} differs from the local run's");
    }
    ensure!(stats_counts(&remote)? == stats_counts(&whole)?);
    let lineage: Value =
        serde_json::from_str(&std::fs::read_to_string(remote.join("lineage.json"))?)?;
    ensure!(
        lineage["inputs"][0]["path"] == "s3://tamis/raw/a.jsonl",
        "{}",
        lineage["inputs"]
    );
    ensure!(objects > expected.len(), "no markers in the store");

    // A third run, on another staging folder, finds every shard done in the store.
    let mut args = vec![
        "run",
        c,
        "--input",
        "s3://tamis/raw",
        "--output",
        "s3://tamis/cleaned",
        "--shard-size",
        "40",
    ];
    args.push("--quiet");
    let said = run(port, &args)?;
    ensure!(said.contains("0 shards written"), "{said}");
    drop(server);
    Ok(())
}

#[test]
fn a_split_decontamination_into_an_object_store_writes_the_bytes_of_a_local_one() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let gsm8k = read_jsonl(&shared_data("benchmarks/gsm8k_test.jsonl.gz"))?;
    // Every 25th document quotes a GSM8K question.
    let lines: Vec<String> = web
        .iter()
        .enumerate()
        .map(|(i, doc)| {
            let mut doc = doc.clone();
            if i % 25 == 3 {
                let q = gsm8k[i % gsm8k.len()]["question"]
                    .as_str()
                    .unwrap_or_default();
                let text = format!("{}\n{q}", doc["text"].as_str().unwrap_or_default());
                doc["text"] = Value::String(text);
            }
            doc.to_string()
        })
        .collect();
    let body = lines.join("\n") + "\n";
    let local_in = dir.path().join("in");
    std::fs::create_dir_all(&local_in)?;
    std::fs::write(local_in.join("web.jsonl"), &body)?;
    let rt = tokio::runtime::Runtime::new()?;
    let s = store(port)?;
    rt.block_on(s.put(
        &"bench-in/web.jsonl".into(),
        PutPayload::from(body.into_bytes()),
    ))?;
    let config = dir.path().join("d.toml");
    std::fs::write(
        &config,
        format!(
            "[decontaminate]\n[[decontaminate.benchmarks]]\nname = \"gsm8k\"\npath = [{:?}]\nfields = [\"question\"]\n",
            shared_data("benchmarks/gsm8k_test.jsonl.gz")
        ),
    )?;
    let c = config.to_str().context("utf-8 path")?;
    let whole = dir.path().join("whole");
    let (w, li) = (
        whole.to_str().context("utf-8")?,
        local_in.to_str().context("utf-8")?,
    );
    run(
        port,
        &[
            "decontaminate",
            c,
            "--input",
            li,
            "--output",
            w,
            "--shard-size",
            "50",
            "--quiet",
        ],
    )?;
    for shard in ["1/2", "0/2"] {
        run(
            port,
            &[
                "decontaminate",
                c,
                "--input",
                "s3://tamis/bench-in",
                "--output",
                "s3://tamis/decontaminated",
                "--shard-size",
                "50",
                "--shard",
                shard,
                "--quiet",
            ],
        )?;
    }
    let remote = dir.path().join("remote");
    download_all(port, "decontaminated", &remote)?;
    let (expected, got) = (output_files(&whole)?, output_files(&remote)?);
    ensure!(
        expected == got,
        "the store holds other files or bytes: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    ensure!(
        !expected["report.jsonl"].is_empty(),
        "no finding in the report"
    );
    drop(server);
    Ok(())
}

#[test]
fn a_sample_drawn_into_an_object_store_is_the_local_sample() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;
    let examples = repo_root().join("examples");
    std::fs::create_dir_all(dir.path().join("data"))?;
    for file in ["c4.jsonl.gz", "dclm.jsonl.gz", "presidio.jsonl.gz"] {
        std::fs::copy(
            examples.join("data").join(file),
            dir.path().join("data").join(file),
        )?;
    }
    let text = std::fs::read_to_string(examples.join("tamis.toml"))?;
    let local = dir.path().join("local.toml");
    std::fs::write(
        &local,
        text.replace("output = \"../out/RAW\"", "output = \"RAW\""),
    )?;
    let remote = dir.path().join("remote.toml");
    std::fs::write(
        &remote,
        text.replace("output = \"../out/RAW\"", "output = \"s3://tamis/RAW\""),
    )?;
    run(
        port,
        &["sample", local.to_str().context("utf-8")?, "--quiet"],
    )?;
    let r = remote.to_str().context("utf-8")?;
    for shard in ["1/2", "0/2"] {
        run(
            port,
            &["sample", r, "--stage", "draw", "--shard", shard, "--quiet"],
        )?;
    }
    run(port, &["sample", r, "--stage", "merge", "--quiet"])?;
    let got = dir.path().join("got");
    download_all(port, "RAW", &got)?;
    let (expected, got) = (output_files(&dir.path().join("RAW"))?, output_files(&got)?);
    ensure!(
        expected.len() == 3 && expected == got,
        "the store's sample differs: {:?}",
        got.keys().collect::<Vec<_>>()
    );
    drop(server);
    Ok(())
}

/// Every stage of the demo in the store: the pipeline of `scripts/demo.sh` with every output an `s3://`
/// prefix and every stage's input read from the store (globs included), dedup and select run stage by
/// stage as two tasks each (one process per task, as on a cluster), equals the local pipeline byte for
/// byte.
#[test]
fn the_demo_pipeline_in_an_object_store_is_the_local_pipeline() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;
    let examples = repo_root().join("examples");
    std::fs::create_dir_all(dir.path().join("data"))?;
    for file in ["c4.jsonl.gz", "dclm.jsonl.gz", "presidio.jsonl.gz"] {
        std::fs::copy(
            examples.join("data").join(file),
            dir.path().join("data").join(file),
        )?;
    }
    let text = std::fs::read_to_string(examples.join("tamis.toml"))?;
    let local = dir.path().join("local.toml");
    std::fs::write(&local, text.replace("../out/", "out/"))?;
    let remote = dir.path().join("remote.toml");
    std::fs::write(&remote, text.replace("../out/", "s3://tamis/out/"))?;
    let (l, r) = (
        local.to_str().context("utf-8")?,
        remote.to_str().context("utf-8")?,
    );
    for command in ["sample", "run", "dedup", "select"] {
        run(port, &[command, l, "--quiet"])?;
    }
    run(port, &["sample", r, "--quiet"])?;
    run(port, &["run", r, "--quiet", "--shard", "1/2"])?;
    run(port, &["run", r, "--quiet", "--shard", "0/2"])?;
    for stage in ["signatures", "buckets", "clusters", "filter"] {
        let shards: &[&str] = if stage == "clusters" {
            &[""]
        } else {
            &["1/2", "0/2"]
        };
        for shard in shards {
            let mut args = vec!["dedup", r, "--stage", stage, "--quiet"];
            if !shard.is_empty() {
                args.extend(["--shard", shard]);
            }
            run(port, &args)?;
        }
    }
    for stage in ["scores", "threshold", "filter"] {
        let shards: &[&str] = if stage == "threshold" {
            &[""]
        } else {
            &["1/2", "0/2"]
        };
        for shard in shards {
            let mut args = vec!["select", r, "--stage", stage, "--quiet"];
            if !shard.is_empty() {
                args.extend(["--shard", shard]);
            }
            run(port, &args)?;
        }
    }
    let got = dir.path().join("got");
    download_all(port, "out", &got)?;
    for stage in ["RAW", "CLEANED", "DEDUP", "SELECTED"] {
        let expected = output_files(&dir.path().join("out").join(stage))?;
        let stored = output_files(&got.join(stage))?;
        ensure!(
            expected.keys().collect::<Vec<_>>() == stored.keys().collect::<Vec<_>>(),
            "{stage}: other files in the store: {:?} vs {:?}",
            stored.keys().collect::<Vec<_>>(),
            expected.keys().collect::<Vec<_>>()
        );
        for (name, bytes) in &expected {
            ensure!(stored[name] == *bytes, "{stage}/{name} differs");
        }
        ensure!(
            got.join(stage).join("lineage.json").is_file(),
            "{stage}: no lineage.json in the store"
        );
    }
    let stats = |d: &Path| -> Result<Value> {
        let v: Value = serde_json::from_str(&std::fs::read_to_string(d.join("stats.json"))?)?;
        Ok(serde_json::json!([
            v["docs_in"],
            v["kept"],
            v["dropped"],
            v["errors"]
        ]))
    };
    for stage in ["DEDUP", "SELECTED"] {
        ensure!(
            stats(&got.join(stage))? == stats(&dir.path().join("out").join(stage))?,
            "{stage}: stats.json counts differ"
        );
    }
    drop(server);
    Ok(())
}

/// `tokenize` into the store: two encode tasks, then the write, give the local indexed dataset.
#[test]
fn token_ids_written_into_an_object_store_are_the_local_ones() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;
    let web = read_jsonl(&shared_data("web/dev.jsonl.gz"))?;
    let lines: Vec<String> = web.iter().map(Value::to_string).collect();
    let input = dir.path().join("in");
    std::fs::create_dir_all(&input)?;
    std::fs::write(input.join("a.jsonl"), lines[..200].join("\n") + "\n")?;
    std::fs::write(input.join("b.jsonl"), lines[200..].join("\n") + "\n")?;
    let tokenizer = shared_data("tokenizers/gpt-neox-20b-pii-special/tokenizer.json");
    let config = dir.path().join("t.toml");
    std::fs::write(
        &config,
        format!(
            "[tokenize]\ntokenizer = {:?}\nshard_tokens = 200000\n",
            tokenizer.display().to_string()
        ),
    )?;
    let (c, i) = (
        config.to_str().context("utf-8")?,
        input.to_str().context("utf-8")?,
    );
    let local = dir.path().join("local");
    let l = local.to_str().context("utf-8")?;
    run(
        port,
        &["tokenize", c, "--input", i, "--output", l, "--quiet"],
    )?;
    let out = "s3://tamis/tokens";
    for shard in ["1/2", "0/2"] {
        run(
            port,
            &[
                "tokenize", c, "--input", i, "--output", out, "--shard", shard, "--quiet",
            ],
        )?;
    }
    run(
        port,
        &["tokenize", c, "--input", i, "--output", out, "--quiet"],
    )?;
    let got = dir.path().join("got");
    download_all(port, "tokens", &got)?;
    let (expected, stored) = (output_files(&local)?, output_files(&got)?);
    ensure!(
        expected.keys().any(|k| k.ends_with(".bin")) && expected == stored,
        "the store's token files differ: {:?} vs {:?}",
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    drop(server);
    Ok(())
}

/// `format` into the store: GSM8K as instruction records with splits, the local files byte for byte.
#[test]
fn training_records_written_into_an_object_store_are_the_local_ones() -> Result<()> {
    let server = start_s3rver()?;
    let port = server.port;
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("f.toml");
    std::fs::write(
        &config,
        "[format]\nkind = \"instruction\"\neos_token = \"</s>\"\n\
         [format.fields]\ninstruction = { constant = \"Solve the problem.\" }\ninput = \"question\"\noutput = \"answer\"\n\
         [format.splits]\ntrain = 0.8\nvalidation = 0.1\ntest = 0.1\n",
    )?;
    let gsm8k = shared_data("benchmarks/gsm8k_test.jsonl.gz");
    let (c, g) = (
        config.to_str().context("utf-8")?,
        gsm8k.to_str().context("utf-8")?,
    );
    let local = dir.path().join("local");
    let l = local.to_str().context("utf-8")?;
    let size = ["--shard-size", "300", "--quiet"];
    let mut args = vec!["format", c, "--input", g, "--output", l];
    args.extend(size);
    run(port, &args)?;
    let mut args = vec![
        "format",
        c,
        "--input",
        g,
        "--output",
        "s3://tamis/formatted",
    ];
    args.extend(size);
    run(port, &args)?;
    let got = dir.path().join("got");
    download_all(port, "formatted", &got)?;
    let (expected, stored) = (output_files(&local)?, output_files(&got)?);
    ensure!(
        expected.len() >= 3 && expected == stored,
        "the store's records differ: {:?} vs {:?}",
        stored.keys().collect::<Vec<_>>(),
        expected.keys().collect::<Vec<_>>()
    );
    drop(server);
    Ok(())
}
