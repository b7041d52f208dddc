//! The edge function over real HTTP: the component under `wasmtime serve`, fed the shared web documents
//! and HTML pages, must answer exactly what `Pipeline::process` answers natively with the same config
//! (the code the host runs with `--engine native`), and must answer every bad request with its status and
//! a JSON error.
//!
//! Needs the component (scripts/build.sh) and the wasmtime CLI (scripts/install-wasmtime-cli.sh).

use anyhow::{Context, Result};
use serde_json::{Value, json};
use tamis_core::{Config, Document, Pipeline, Resources};
use tamis_tests::edge::{EdgeServer, batches, edge_lid_wasm};
use tamis_tests::fasttext_ref::{self, lid176};
use tamis_tests::{read_jsonl, shared_data, web_documents};

/// Well under the function's 8 MiB default, so every batch is accepted.
const BATCH_BYTES: usize = 4 * 1024 * 1024;

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into()
}

struct Answer {
    status: u16,
    content_type: String,
    allow: Option<String>,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "status {}: body is not JSON ({e}): {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

fn read(mut response: ureq::http::Response<ureq::Body>) -> Result<Answer> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let content_type = header("content-type").unwrap_or_default();
    let allow = header("allow");
    let status = response.status().as_u16();
    let body = response
        .body_mut()
        .with_config()
        .limit(u64::MAX)
        .read_to_vec()?;
    Ok(Answer {
        status,
        content_type,
        allow,
        body,
    })
}

fn post(server: &EdgeServer, path: &str, content_type: &str, body: &[u8]) -> Result<Answer> {
    read(
        agent()
            .post(&server.url(path))
            .header("content-type", content_type)
            .send(body)?,
    )
}

fn get(server: &EdgeServer, path: &str) -> Result<Answer> {
    read(agent().get(&server.url(path)).call()?)
}

/// The JSON the edge must give for one document: the core's wire form (`tamis_core::wire::Judgment`), or
/// `{id, error}`.
///
/// It goes through JSON text, as the edge's answer does: serde_json's default float parsing can be one
/// ulp off, so values are compared after the same print-and-parse on both sides (equal numbers print
/// equally, so they also parse equally).
fn native_entry(pipeline: &Pipeline, doc: &Document) -> Value {
    let text = match pipeline.process(doc) {
        Ok(outcome) => tamis_core::wire::to_json(&tamis_core::wire::Judgment::of(&outcome)),
        Err(e) => json!({"id": e.id, "error": e.message}).to_string(),
    };
    serde_json::from_str(&text).expect("outcomes parse")
}

/// The server's effective config, which is also what the test judges with natively.
fn served_pipeline(server: &EdgeServer) -> Result<(Config, Pipeline)> {
    served_pipeline_with(server, &Resources::default())
}

/// [`served_pipeline`], built natively with `resources` (the files the served config names).
fn served_pipeline_with(server: &EdgeServer, resources: &Resources) -> Result<(Config, Pipeline)> {
    let answer = get(server, "/v1/config")?;
    assert_eq!(
        answer.status,
        200,
        "{}",
        String::from_utf8_lossy(&answer.body)
    );
    let config = Config::from_json(std::str::from_utf8(&answer.body)?)?;
    let pipeline = Pipeline::new(config.clone(), resources)?;
    Ok((config, pipeline))
}

/// Posts the documents in batches and compares every entry with the native judgment. Returns how many
/// outcomes (not errors) came back.
fn assert_same_as_native(
    server: &EdgeServer,
    pipeline: &Pipeline,
    config: &Config,
    docs: &[Document],
) -> Result<usize> {
    let mut judged = 0;
    for batch in batches(docs, 1000, BATCH_BYTES) {
        let body = serde_json::to_vec(&json!({ "docs": batch }))?;
        let answer = post(server, "/v1/clean", "application/json", &body)?;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        assert_eq!(answer.content_type, "application/json");
        let answer = answer.json();
        let outcomes = answer["outcomes"]
            .as_array()
            .context("answer without outcomes")?;
        assert_eq!(outcomes.len(), batch.len());
        for (doc, got) in batch.iter().zip(outcomes) {
            assert_eq!(got, &native_entry(pipeline, doc), "document {}", doc.id);
            if got.get("error").is_none() {
                judged += 1;
                if config.evaluate_all && config.steps.contains(&tamis_core::StepName::Fingerprint)
                {
                    let minhash = got["tamis"]["hashes"]["minhash"].as_array();
                    assert!(
                        got["tamis"]["hashes"]["exact"]
                            .as_str()
                            .is_some_and(|h| !h.is_empty()),
                        "document {} has no exact hash",
                        doc.id
                    );
                    assert_eq!(
                        minhash.map(Vec::len),
                        Some(config.fingerprint.bands * config.fingerprint.rows),
                        "document {}",
                        doc.id
                    );
                }
            }
        }
    }
    Ok(judged)
}

fn readability_pages() -> Result<Vec<Document>> {
    read_jsonl(&shared_data("html/readability_test_pages.jsonl.gz"))?
        .into_iter()
        .map(|v| {
            Ok(Document {
                id: v["id"].as_str().context("page without id")?.to_string(),
                html: Some(v["html"].as_str().context("page without html")?.to_string()),
                ..Document::default()
            })
        })
        .collect()
}

#[test]
fn the_default_function_judges_real_documents_as_the_native_core_does() -> Result<()> {
    let server = EdgeServer::start(&[])?;
    let health = get(&server, "/v1/health")?;
    assert_eq!(health.status, 200);
    let health = health.json();
    assert_eq!(health["status"], "ok");
    assert_eq!(health["config"], json!({"source": "default"}));
    // The shipped component was pre-initialized with the default pipeline (scripts/build-edge.sh): the
    // instance took it from its memory rather than building it.
    assert_eq!(health["pipeline"], "prepared", "{health}");

    let (config, pipeline) = served_pipeline(&server)?;
    assert!(
        config.steps.contains(&tamis_core::StepName::Fingerprint),
        "the default config fingerprints"
    );

    let web = web_documents()?;
    let judged = assert_same_as_native(&server, &pipeline, &config, &web)?;
    assert_eq!(judged, web.len(), "every web document gets an outcome");

    let pages = readability_pages()?;
    assert_eq!(pages.len(), 130);
    let judged = assert_same_as_native(&server, &pipeline, &config, &pages)?;
    assert_eq!(judged, pages.len());

    // One raw page, named by header, and one by its URL.
    let page = &pages[0];
    let html = page.html.as_deref().unwrap_or_default();
    let answer = read(
        agent()
            .post(&server.url("/v1/clean?url=https%3A%2F%2Fexample.org%2Fpage"))
            .header("content-type", "text/html; charset=utf-8")
            .header("x-tamis-id", &page.id)
            .send(html.as_bytes())?,
    )?;
    assert_eq!(answer.status, 200);
    let doc = Document {
        url: Some("https://example.org/page".into()),
        ..page.clone()
    };
    assert_eq!(
        answer.json()["outcomes"],
        json!([native_entry(&pipeline, &doc)])
    );
    let answer = post(
        &server,
        "/v1/clean?url=https%3A%2F%2Fexample.org%2Fpage",
        "text/html",
        html.as_bytes(),
    )?;
    assert_eq!(
        answer.json()["outcomes"][0]["id"],
        "https://example.org/page"
    );

    // NDJSON, with the fields scrapers send (metadata as an object).
    let some: Vec<&Document> = web.iter().take(25).collect();
    let ndjson: String = some
        .iter()
        .map(|d| {
            json!({"id": d.id, "text": d.text, "url": d.url, "metadata": {"source": "dev"}})
                .to_string()
                + "\n"
        })
        .collect();
    let answer = post(
        &server,
        "/v1/clean",
        "application/x-ndjson",
        ndjson.as_bytes(),
    )?;
    assert_eq!(answer.status, 200);
    let expected: Vec<Value> = some.iter().map(|d| native_entry(&pipeline, d)).collect();
    assert_eq!(answer.json()["outcomes"], json!(expected));

    // A document that cannot be judged is an entry with an error, in its place.
    let answer = post(
        &server,
        "/v1/clean",
        "application/json",
        br#"{"docs": [{"id": "nothing"}, {"id": "short", "text": "Too short."}]}"#,
    )?;
    assert_eq!(answer.status, 200);
    let answer = answer.json();
    assert_eq!(answer["outcomes"][0]["id"], "nothing");
    assert!(answer["outcomes"][0]["error"].is_string());
    assert_eq!(
        answer["outcomes"][1],
        native_entry(&pipeline, &Document::text("short", "Too short."))
    );
    Ok(())
}

fn assert_error(answer: &Answer, status: u16, code: &str) -> Value {
    assert_eq!(
        answer.status,
        status,
        "expected {status} {code}, got: {}",
        String::from_utf8_lossy(&answer.body)
    );
    assert_eq!(answer.content_type, "application/json");
    let body = answer.json();
    assert_eq!(body["error"], code, "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    body
}

#[test]
fn bad_requests_get_their_status_and_a_json_error() -> Result<()> {
    let server = EdgeServer::start(&[])?;

    let answer = post(
        &server,
        "/v1/clean",
        "application/json",
        b"{\"docs\": [\n  {\"id\": \"a\", \"text\": \"x\"},\n  {\"id\": \"b\", \"text\": \"y\"\n]}",
    )?;
    let body = assert_error(&answer, 400, "invalid_json");
    assert_eq!(body["line"], 4, "{body}");
    assert!(body["column"].is_u64(), "{body}");

    let answer = post(
        &server,
        "/v1/clean",
        "application/json",
        b"{\"docs\": [{\"id\": \"a\", \"text\": \"x\"}, {\"text\": \"no id\"}]}",
    )?;
    let body = assert_error(&answer, 400, "invalid_json");
    assert_eq!(body["doc"], 1, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("docs[1]"),
        "{body}"
    );

    let answer = post(
        &server,
        "/v1/clean",
        "application/json",
        b"{\"docs\": [{\"id\": \"a\", \"text\": \"caf\xe9\"}]}",
    )?;
    let body = assert_error(&answer, 400, "invalid_utf8");
    assert_eq!(
        (body["line"].as_u64(), body["column"].as_u64()),
        (Some(1), Some(35))
    );

    let answer = post(
        &server,
        "/v1/clean",
        "application/x-ndjson",
        b"{\"id\": \"a\", \"text\": \"x\"}\nnot json\n",
    )?;
    let body = assert_error(&answer, 400, "invalid_json");
    assert_eq!(
        (body["line"].as_u64(), body["doc"].as_u64()),
        (Some(2), Some(1))
    );

    // One byte over the default 8 MiB.
    let mut big = vec![b' '; 8 * 1024 * 1024 + 1];
    big[0] = b'{';
    let answer = post(&server, "/v1/clean", "application/json", &big)?;
    assert_error(&answer, 413, "body_too_large");

    let docs: Vec<Value> = (0..1001)
        .map(|i| json!({"id": i.to_string(), "text": "x"}))
        .collect();
    let body = serde_json::to_vec(&json!({ "docs": docs }))?;
    let answer = post(&server, "/v1/clean", "application/json", &body)?;
    assert_error(&answer, 413, "too_many_docs");

    let answer = post(&server, "/v1/clean", "image/png", b"\x89PNG")?;
    assert_error(&answer, 415, "unsupported_media_type");

    let answer = get(&server, "/v1/clean")?;
    assert_error(&answer, 405, "method_not_allowed");
    assert_eq!(answer.allow.as_deref(), Some("POST"));
    let answer = post(&server, "/v1/health", "application/json", b"{}")?;
    assert_error(&answer, 405, "method_not_allowed");
    assert_eq!(answer.allow.as_deref(), Some("GET"));
    let answer = read(agent().delete(&server.url("/v1/config")).call()?)?;
    assert_error(&answer, 405, "method_not_allowed");

    let answer = get(&server, "/v2/clean")?;
    assert_error(&answer, 404, "not_found");
    let answer = get(&server, "/")?;
    assert_error(&answer, 404, "not_found");

    // Still serving after all of that.
    assert_eq!(get(&server, "/v1/health")?.status, 200);
    Ok(())
}

#[test]
fn an_inline_config_and_limits_come_from_the_environment() -> Result<()> {
    let toml = "steps = [\"html\", \"normalize\", \"heuristics\", \"quality_score\", \"language\", \"fingerprint\"]\n\
                evaluate_all = false\n\
                [quality.heuristics]\nmin_words = 40\n\
                [fingerprint]\nseed = 7\n";
    let server = EdgeServer::start(&[
        ("TAMIS_CONFIG", toml),
        ("TAMIS_MAX_DOCS", "50"),
        ("TAMIS_MAX_BODY_BYTES", "1048576"),
    ])?;
    let health = get(&server, "/v1/health")?.json();
    assert_eq!(health["config"], json!({"source": "env", "format": "toml"}));
    // A config other than the baked default is built by the instance, and works the same.
    assert_eq!(health["pipeline"], "built", "{health}");
    assert_eq!(
        health["limits"],
        json!({"max_body_bytes": 1048576, "max_docs": 50})
    );
    let (config, pipeline) = served_pipeline(&server)?;
    assert_eq!(config, Config::from_toml(toml)?);

    let toml_answer = get(&server, "/v1/config?format=toml")?;
    assert_eq!(toml_answer.content_type, "application/toml");
    assert_eq!(
        Config::from_toml(std::str::from_utf8(&toml_answer.body)?)?,
        config
    );

    // Within the smaller limits: 50 documents a batch, well under 1 MiB.
    let web = web_documents()?;
    let mut judged = 0;
    for batch in batches(&web, 50, 512 * 1024) {
        judged += assert_same_as_native(&server, &pipeline, &config, &batch)?;
    }
    assert_eq!(judged, web.len());

    let docs: Vec<Value> = (0..51)
        .map(|i| json!({"id": i.to_string(), "text": "x"}))
        .collect();
    let body = serde_json::to_vec(&json!({ "docs": docs }))?;
    assert_error(
        &post(&server, "/v1/clean", "application/json", &body)?,
        413,
        "too_many_docs",
    );
    assert_error(
        &post(&server, "/v1/clean", "text/plain", &vec![b'a'; 1048577])?,
        413,
        "body_too_large",
    );

    // The same config as JSON is detected as JSON.
    let json_config = serde_json::to_string(&config)?;
    let server = EdgeServer::start(&[("TAMIS_CONFIG", &json_config)])?;
    let health = get(&server, "/v1/health")?.json();
    assert_eq!(health["config"], json!({"source": "env", "format": "json"}));
    assert_eq!(served_pipeline(&server)?.0, config);
    Ok(())
}

#[test]
fn a_bad_config_is_reported_by_health_and_does_not_crash_the_function() -> Result<()> {
    let server = EdgeServer::start(&[(
        "TAMIS_CONFIG",
        "[quality.heuristics]\nmin_words = \"fifty\"\n",
    )])?;
    let health = get(&server, "/v1/health")?;
    let body = assert_error(&health, 503, "invalid_config");
    assert_eq!(body["status"], "error");
    assert_eq!(body["path"], "quality.heuristics.min_words");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expected integer"),
        "{body}"
    );
    let answer = post(
        &server,
        "/v1/clean",
        "application/json",
        br#"{"docs": [{"id": "a", "text": "Some words."}]}"#,
    )?;
    assert_error(&answer, 503, "invalid_config");
    assert_error(&get(&server, "/v1/config")?, 503, "invalid_config");
    assert_eq!(get(&server, "/v1/health")?.status, 503);
    Ok(())
}

/// The language-ID model reaches the edge two ways: baked into the component at build time
/// (`scripts/build-edge.sh --config`, here through `scripts/build-edge-lid.sh`), and from the function's
/// files (Spin's static `files`, here `wasmtime serve --dir`). Either way the edge answers what the native
/// core answers with the same model and config, on every text of the shared language-ID data and of the
/// web development set, and `/v1/health` says where the model came from.
#[test]
fn a_baked_model_and_a_model_from_the_functions_files_judge_as_the_native_core_does() -> Result<()>
{
    let model = std::fs::read(lid176()?)?;
    let resources = Resources {
        language_model: Some(model.clone()),
        ..Resources::default()
    };
    // The texts the fastText parity test compares with fastText itself: the shared language-ID data and
    // the web development set.
    let docs: Vec<Document> = fasttext_ref::parity_texts()?
        .into_iter()
        .enumerate()
        .map(|(i, text)| Document::text(format!("text-{i}"), text))
        .collect();
    let lid_wasm = edge_lid_wasm()?;

    let baked = EdgeServer::start_component(&lid_wasm, &[], &[])?;
    let health = get(&baked, "/v1/health")?.json();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(
        health["config"],
        json!({"source": "baked", "format": "toml"})
    );
    // Built at build time with the model: no request parses it.
    assert_eq!(health["pipeline"], "prepared");
    assert_eq!(
        health["files"],
        json!([{"key": "language.model", "path": "lid.176.ftz", "origin": "baked", "bytes": model.len()}])
    );
    let (config, pipeline) = served_pipeline_with(&baked, &resources)?;
    assert_eq!(config.language.model.as_deref(), Some("lid.176.ftz"));
    assert_eq!(
        assert_same_as_native(&baked, &pipeline, &config, &docs)?,
        docs.len()
    );
    // The model, not whatlang, answered: Asturian is one of lid.176's languages and not whatlang's.
    const ASTURIAN: &str = "Tolos seres humanos nacen llibres y iguales en dignidá y drechos.";
    let answer = post(&baked, "/v1/clean", "text/plain", ASTURIAN.as_bytes())?.json();
    assert_eq!(answer["outcomes"][0]["tamis"]["language"]["code"], "ast");
    drop(baked);

    let folder = lid_wasm.with_file_name("lid");
    let mount = format!("{}::/models", folder.display());
    let inline = "steps = [\"html\", \"normalize\", \"language\"]\nevaluate_all = true\n\n[language]\nmodel = \"/models/lid.176.ftz\"\n";
    let mounted = EdgeServer::start_with_args(&["--dir", &mount], &[("TAMIS_CONFIG", inline)])?;
    let health = get(&mounted, "/v1/health")?.json();
    assert_eq!(health["status"], "ok", "{health}");
    assert_eq!(health["pipeline"], "built");
    assert_eq!(health["files"][0]["origin"], "file_system");
    assert_eq!(health["files"][0]["bytes"], model.len());
    let (config, pipeline) = served_pipeline_with(&mounted, &resources)?;
    assert_eq!(
        assert_same_as_native(&mounted, &pipeline, &config, &docs)?,
        docs.len()
    );
    drop(mounted);

    // A model in neither place is a config error naming the key, reported by health.
    let missing = EdgeServer::start(&[("TAMIS_CONFIG", inline)])?;
    let health = get(&missing, "/v1/health")?;
    assert_eq!(health.status, 503);
    let health = health.json();
    assert_eq!(health["path"], "language.model");
    assert!(
        health["detail"]
            .as_str()
            .is_some_and(|d| d.contains("neither baked into this build")),
        "{health}"
    );
    Ok(())
}

/// A raw page is bytes in its own charset: the edge decodes it by the `Content-Type` charset (then the
/// page's `<meta>`, then detection), as the host decodes WARC pages, and judges the text a browser shows.
#[test]
fn a_raw_page_in_a_legacy_charset_is_decoded_before_it_is_judged() -> Result<()> {
    let server = EdgeServer::start(&[])?;
    let (_, pipeline) = served_pipeline(&server)?;
    let page = "<html><head><title>Caf\u{e9}</title></head><body><article><p>Le caf\u{e9} du coin torr\u{e9}fie \
        ses grains chaque matin, et les habitu\u{e9}s viennent go\u{fb}ter la cr\u{e8}me avant de partir.</p>\
        </article></body></html>";
    let (bytes, _, _) = encoding_rs::WINDOWS_1252.encode(page);
    for content_type in [
        "text/html; charset=windows-1252",
        "text/html; charset=ISO-8859-1",
    ] {
        let answer = post(&server, "/v1/clean", content_type, &bytes)?;
        assert_eq!(
            answer.status,
            200,
            "{}",
            String::from_utf8_lossy(&answer.body)
        );
        let got = &answer.json()["outcomes"][0];
        let expected = native_entry(&pipeline, &Document::html("page", page));
        assert_eq!(got, &expected);
        assert!(
            got["text"]
                .as_str()
                .is_some_and(|t| t.contains("Le caf\u{e9} du coin")),
            "{got}"
        );
    }
    Ok(())
}
