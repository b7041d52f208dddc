//! WARC input through `tamis run`: the dolma sample archives (gzip per record, as crawlers write them) and
//! an archive written here with what real crawls hold: a windows-1252 page declared only by its `<meta>`,
//! a Shift_JIS page declared by its HTTP header, a chunked response, a windows-1251 page declared nowhere,
//! a redirect, a request record and a truncated last record. Every WARC record must end as exactly one of kept, dropped or error, and every
//! error must say why by its kind.

use std::io::Write;
use std::path::Path;

use crate::{output_files, shared_data, stats_counts, tamis_job_ok};
use anyhow::{Context, Result, ensure};
use serde_json::Value;

/// Every record the run wrote under `part` (`kept`, `dropped`, `errors`), parsed, from gzip files (a
/// WARC input's outputs) or plain JSONL ones.
fn records(out: &Path, part: &str) -> Result<Vec<Value>> {
    let mut all = Vec::new();
    for (name, bytes) in output_files(out)? {
        if !name.starts_with(&format!("{part}/")) {
            continue;
        }
        let mut text = String::new();
        if bytes.starts_with(&[0x1f, 0x8b]) {
            std::io::Read::read_to_string(
                &mut flate2::read::GzDecoder::new(&bytes[..]),
                &mut text,
            )?;
        } else {
            text = String::from_utf8(bytes)?;
        }
        for line in text.lines() {
            all.push(serde_json::from_str(line)?);
        }
    }
    Ok(all)
}

#[test]
fn the_dolma_sample_archives_become_one_document_per_html_response() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let config = dir.path().join("tamis.toml");
    std::fs::write(&config, "evaluate_all = true\n")?;
    let out = dir.path().join("out");
    let input = shared_data("html/warc");
    tamis_job_ok("run", &config, &input, &out, &["--quiet"])?;
    let counts = stats_counts(&out)?;
    // 82 WARC records: 37 HTML responses (22 and 15, as the data's manifest says), 37 requests, and the
    // archives' warcinfo, metadata and resource records.
    ensure!(counts["docs_in"] == 82, "{counts}");
    ensure!(
        counts["kept"].as_u64().unwrap_or(0) + counts["dropped"].as_u64().unwrap_or(0) == 37,
        "{counts}"
    );
    ensure!(
        counts["errors_by_kind"]
            == serde_json::json!({"warc_metadata": 2, "warc_request": 37, "warc_resource": 4, "warc_warcinfo": 2}),
        "{counts}"
    );
    let documents: Vec<Value> = [records(&out, "kept")?, records(&out, "dropped")?].concat();
    ensure!(documents.len() == 37);
    for doc in &documents {
        let id = doc["id"].as_str().context("no id")?;
        ensure!(id.starts_with("urn:uuid:"), "{id}");
        ensure!(
            doc["url"].as_str().is_some_and(|u| u.starts_with("http")),
            "{id}: {}",
            doc["url"]
        );
        ensure!(
            doc["metadata"]["http_status"] == 200,
            "{id}: {}",
            doc["metadata"]
        );
        ensure!(doc["metadata"]["warc_date"].is_string(), "{id}");
        ensure!(doc["tamis"]["verdict"].is_string(), "{id}");
    }
    // The pages were extracted: kept ones carry their main text.
    for doc in records(&out, "kept")? {
        ensure!(
            doc["text"].as_str().is_some_and(|t| t.len() > 200),
            "{}: {}",
            doc["id"],
            doc["text"]
        );
    }
    for error in records(&out, "errors")? {
        ensure!(
            error["offset"].is_u64() && error["file"].is_string(),
            "{error}"
        );
    }
    Ok(())
}

/// One WARC record, gzipped as a member of its own (as Common Crawl writes them).
fn member(kind: &str, id: &str, extra: &str, block: &[u8]) -> Result<Vec<u8>> {
    let mut record = format!(
        "WARC/1.1\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Date: 2026-12-01T10:00:00Z\r\n{extra}Content-Length: {}\r\n\r\n",
        block.len()
    )
    .into_bytes();
    record.extend_from_slice(block);
    record.extend_from_slice(b"\r\n\r\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&record)?;
    Ok(gz.finish()?)
}

/// A gzipped record cut short, to `keep(its length)` bytes, as an interrupted crawl leaves its last
/// record.
fn truncated(member: &[u8], keep: fn(usize) -> usize) -> Result<Vec<u8>> {
    let mut record = Vec::new();
    std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(member), &mut record)?;
    record.truncate(keep(record.len()));
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&record)?;
    Ok(gz.finish()?)
}

fn response(id: &str, url: &str, http: &[u8]) -> Result<Vec<u8>> {
    member(
        "response",
        id,
        &format!("WARC-Target-URI: {url}\r\nContent-Type: application/http; msgtype=response\r\n"),
        http,
    )
}

const ARTICLE: &str = "The bakers of the old town washed their sieves every morning before the first flour arrived. \
    They sifted it twice, once for the bread and once for the pastry, and wrote down how much was left over. \
    Visitors who came for the coffee stayed for the cakes, and the shop kept a notebook of every recipe it tried.";

#[test]
fn a_crawl_archive_decodes_each_page_by_its_charset_and_reports_every_other_record() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let mut archive = Vec::new();
    archive.extend(member(
        "request",
        "1",
        "WARC-Target-URI: https://example.org/cafe\r\n",
        b"GET /cafe HTTP/1.1\r\n\r\n",
    )?);
    // windows-1252, declared only by the page: "café" is the byte 0xE9.
    let mut cafe = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; charset=windows-1252\"><title>Caf\xe9</title></head><body><article><p>Our caf\xe9 bakes bread. ".to_vec();
    cafe.extend_from_slice(ARTICLE.as_bytes());
    cafe.extend_from_slice(b"</p></article></body></html>");
    archive.extend(response("2", "https://example.org/cafe", &cafe)?);
    // Shift_JIS, declared by the HTTP header, sent chunked.
    let (japanese, _, _) = encoding_rs::SHIFT_JIS.encode(
        "<html><body><article><p>パン屋は毎朝ふるいを洗います。</p></article></body></html>",
    );
    let mut chunked = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=Shift_JIS\r\nTransfer-Encoding: chunked\r\n\r\n".to_vec();
    let (first, second) = japanese.split_at(japanese.len() / 2);
    for chunk in [first, second] {
        chunked.extend_from_slice(format!("{:x}\r\n", chunk.len()).as_bytes());
        chunked.extend_from_slice(chunk);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\n\r\n");
    archive.extend(response("3", "https://example.jp/pan", &chunked)?);
    // windows-1251 declared nowhere, from a .ru site: the detector's guess.
    let (russian, _, _) = encoding_rs::WINDOWS_1251.encode(
        "<html><body><article><p>Пекари каждое утро моют сито и дважды просеивают муку.</p></article></body></html>",
    );
    let mut undeclared = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n".to_vec();
    undeclared.extend_from_slice(&russian);
    archive.extend(response("7", "https://example.ru/pekari", &undeclared)?);
    archive.extend(response(
        "4",
        "https://example.org/old",
        b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.org/cafe\r\n\r\n",
    )?);
    archive.extend(response(
        "5",
        "https://example.org/logo.png",
        b"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\n\r\n\x89PNG",
    )?);
    // The last record is cut short, as an interrupted crawl leaves it.
    let last = member("response", "6", "Content-Type: application/http\r\n", &cafe)?;
    archive.extend(truncated(&last, |len| len / 2)?);
    let input = dir.path().join("crawl.warc.gz");
    std::fs::write(&input, &archive)?;

    let config = dir.path().join("tamis.toml");
    // The `[io]` keys describe the user's JSON records; WARC records have their own fields, which they are
    // read by and written back with.
    std::fs::write(
        &config,
        "steps = [\"html\", \"normalize\"]\n[io]\ntext_key = \"content\"\n",
    )?;
    let out = dir.path().join("out");
    tamis_job_ok("run", &config, &input, &out, &["--quiet"])?;
    let counts = stats_counts(&out)?;
    ensure!(
        counts["docs_in"] == 7 && counts["kept"] == 3 && counts["errors"] == 4,
        "{counts}"
    );
    ensure!(
        counts["errors_by_kind"]
            == serde_json::json!({"warc_http_status": 1, "warc_not_html": 1, "warc_request": 1, "warc_truncated": 1}),
        "{counts}"
    );
    let kept = records(&out, "kept")?;
    let cafe = kept
        .iter()
        .find(|d| d["id"] == "urn:uuid:2")
        .context("the café page")?;
    ensure!(
        cafe["text"]
            .as_str()
            .is_some_and(|t| t.contains("Our café bakes bread.")),
        "{}",
        cafe["text"]
    );
    ensure!(cafe.get("content").is_none(), "{cafe}");
    ensure!(
        cafe["metadata"]["charset"] == "windows-1252" && cafe["metadata"]["charset_from"] == "meta",
        "{}",
        cafe["metadata"]
    );
    let pan = kept
        .iter()
        .find(|d| d["id"] == "urn:uuid:3")
        .context("the Shift_JIS page")?;
    ensure!(
        pan["text"]
            .as_str()
            .is_some_and(|t| t.contains("パン屋は毎朝ふるいを洗います。")),
        "{}",
        pan["text"]
    );
    ensure!(
        pan["metadata"]["charset"] == "Shift_JIS" && pan["metadata"]["charset_from"] == "http",
        "{}",
        pan["metadata"]
    );
    let pekari = kept
        .iter()
        .find(|d| d["id"] == "urn:uuid:7")
        .context("the undeclared page")?;
    ensure!(
        pekari["text"]
            .as_str()
            .is_some_and(|t| t.contains("Пекари каждое утро моют сито")),
        "{}",
        pekari["text"]
    );
    ensure!(
        pekari["metadata"]["charset"] == "windows-1251"
            && pekari["metadata"]["charset_from"] == "detected",
        "{}",
        pekari["metadata"]
    );
    let errors = records(&out, "errors")?;
    let truncated = errors
        .iter()
        .find(|e| e["error"].as_str().is_some_and(|m| m.contains("truncated")))
        .context("no truncation error")?;
    ensure!(
        truncated["file"] == "crawl.warc.gz" && truncated["offset"].as_u64().is_some_and(|o| o > 0),
        "{truncated}"
    );
    Ok(())
}

/// A WET file (the text conversions Common Crawl publishes beside its WARCs), built from 40 real web
/// documents: it must judge each conversion exactly as the same texts in JSONL are judged, and report its
/// `warcinfo` record and a truncated last record as errors of their kinds.
#[test]
fn a_wet_file_is_judged_as_the_same_texts_in_jsonl() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let docs: Vec<Value> = crate::read_jsonl(&shared_data("web/dev.jsonl.gz"))?
        .into_iter()
        .take(40)
        .collect();
    let mut wet = member(
        "warcinfo",
        "info",
        "Content-Type: application/warc-fields\r\n",
        b"software: tamis test\r\nformat: WARC File Format 1.1\r\n",
    )?;
    let mut jsonl = String::new();
    for (i, doc) in docs.iter().enumerate() {
        let text = doc["text"].as_str().context("text")?;
        let url = format!("https://example.org/{i}");
        wet.extend(member(
            "conversion",
            &format!("wet-{i}"),
            &format!(
                "WARC-Target-URI: {url}\r\nWARC-Refers-To: <urn:uuid:warc-{i}>\r\nContent-Type: text/plain\r\n"
            ),
            text.as_bytes(),
        )?);
        jsonl.push_str(
            &serde_json::json!({"id": format!("urn:uuid:wet-{i}"), "text": text, "url": url})
                .to_string(),
        );
        jsonl.push('\n');
    }
    let cut = member(
        "conversion",
        "cut",
        "Content-Type: text/plain\r\n",
        "a text that was never finished".as_bytes(),
    )?;
    wet.extend(truncated(&cut, |len| len - 12)?);
    let wet_file = dir.path().join("crawl.warc.wet.gz");
    std::fs::write(&wet_file, &wet)?;
    let jsonl_file = dir.path().join("same.jsonl");
    std::fs::write(&jsonl_file, &jsonl)?;

    let config = dir.path().join("tamis.toml");
    std::fs::write(&config, "evaluate_all = true\n")?;
    let (wet_out, jsonl_out) = (dir.path().join("wet"), dir.path().join("jsonl"));
    tamis_job_ok("run", &config, &wet_file, &wet_out, &["--quiet"])?;
    tamis_job_ok("run", &config, &jsonl_file, &jsonl_out, &["--quiet"])?;

    let counts = stats_counts(&wet_out)?;
    ensure!(counts["docs_in"] == 42 && counts["errors"] == 2, "{counts}");
    ensure!(
        counts["errors_by_kind"] == serde_json::json!({"warc_truncated": 1, "warc_warcinfo": 1}),
        "{counts}"
    );
    let jsonl_counts = stats_counts(&jsonl_out)?;
    ensure!(
        counts["kept"] == jsonl_counts["kept"] && counts["dropped"] == jsonl_counts["dropped"],
        "WET {counts} vs JSONL {jsonl_counts}"
    );
    // The same verdict, reason and text for every document, whichever file it came from.
    let judged =
        |out: &Path| -> Result<std::collections::BTreeMap<String, (String, Value, Value)>> {
            let mut all = std::collections::BTreeMap::new();
            for part in ["kept", "dropped"] {
                for doc in records(out, part)? {
                    let id = doc["id"].as_str().context("id")?.to_string();
                    let fate = (
                        part.to_string(),
                        doc["text"].clone(),
                        doc["tamis"]["reason"].clone(),
                    );
                    all.insert(id, fate);
                }
            }
            Ok(all)
        };
    let (from_wet, from_jsonl) = (judged(&wet_out)?, judged(&jsonl_out)?);
    ensure!(
        from_wet.len() == 40,
        "{} documents from the WET file",
        from_wet.len()
    );
    ensure!(from_wet == from_jsonl, "the WET and JSONL judgments differ");
    Ok(())
}
