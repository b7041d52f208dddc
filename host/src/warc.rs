//! WARC input: crawl archives (ISO 28500, `WARC/1.0` and `WARC/1.1`, plain or gzip, one member per record
//! as Common Crawl writes them, or one stream) and WET files (WARC files of `conversion` records holding
//! extracted text).
//!
//! Every WARC record is one input record and ends as exactly one of kept, dropped or error, like a JSONL
//! line:
//! - a `response` record whose HTTP status is 2xx and whose body is HTML becomes a document: id
//!   `WARC-Record-ID`, url `WARC-Target-URI`, the page decoded to text by its charset, and `WARC-Date`,
//!   the content type, the HTTP status and the charset in `metadata`;
//! - a WET `conversion` record becomes a document with its text;
//! - every other record is an error record whose kind says why it is not a document (`warc_request`,
//!   `warc_http_status` for a redirect, `warc_not_html`, ...), so `stats.json` counts them by reason;
//! - a truncated or malformed record is an error naming its byte offset, and reading that file stops
//!   there (nothing after it can be found reliably); the job goes on with the other files.
//!
//! Positions are byte offsets of the record's `WARC/` line in the (decompressed) stream; error records say
//! `"offset"` where JSONL error records say `"line"`.
//!
//! The record layout follows the WARC 1.1 specification (a version line, `Name: value` header lines, an
//! empty line, `Content-Length` bytes of block, two CRLFs); the HTTP parsing reads the status line, the
//! headers, and undoes `Transfer-Encoding: chunked` (RFC 9112 section 7.1) and gzip or deflate
//! `Content-Encoding`. The charset is the HTTP header's, else the page's own `<meta charset>` /
//! `http-equiv` declaration in its first 1024 bytes, else UTF-8 when the bytes are valid UTF-8, else
//! chardetng's guess given the URL's top-level domain (`tamis_core::charset`, shared with the edge).

use std::io::{BufRead, Read};

use serde_json::{Map, Value, json};

use crate::input::RawRecord;
use crate::record::{Fields, RecordError};

/// The fields of the JSON records this reader makes, whatever the config's `[io]` keys (those describe
/// the user's JSON records, not WARC).
pub fn fields() -> &'static Fields {
    static FIELDS: std::sync::LazyLock<Fields> = std::sync::LazyLock::new(|| Fields {
        id: "id".into(),
        text: "text".into(),
        html: Some("html".into()),
        url: Some("url".into()),
    });
    &FIELDS
}

/// Header lines of one record, at most: a record with more is malformed.
const MAX_HEADER_BYTES: u64 = 1 << 20;

/// One record as read: where it starts, its headers and its block.
struct RawWarc {
    start: u64,
    headers: Vec<(String, String)>,
    /// `None` when the block was over `max_record_bytes` and skipped without being held.
    block: Option<Vec<u8>>,
}

/// A record that ends the file: where it starts, and what is wrong.
type Failure = (u64, RecordError);

/// Streams the records of one WARC stream (already decompressed).
pub struct WarcRecords {
    reader: Box<dyn BufRead + Send>,
    offset: u64,
    done: bool,
    max_record_bytes: u64,
}

impl WarcRecords {
    pub fn new(reader: Box<dyn BufRead + Send>, max_record_bytes: u64) -> Self {
        Self {
            reader,
            offset: 0,
            done: false,
            max_record_bytes,
        }
    }

    /// One line, `\n`-terminated, at most `limit` bytes; `None` at the end of the stream.
    fn line(&mut self, limit: u64) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        let n = (&mut self.reader)
            .take(limit)
            .read_until(b'\n', &mut line)?;
        self.offset += n as u64;
        Ok((n > 0).then_some(line))
    }

    /// Reads the next record, or the error that ends the file.
    fn read(&mut self) -> Result<Option<RawWarc>, Failure> {
        // Records are separated by two CRLFs; tolerate any number of blank lines.
        let (start, version) = loop {
            let start = self.offset;
            match self.line(MAX_HEADER_BYTES) {
                Ok(None) => return Ok(None),
                Ok(Some(line)) if line.trim_ascii().is_empty() => continue,
                Ok(Some(line)) => break (start, line),
                Err(e) => return Err((start, unreadable(start, &e))),
            }
        };
        let version = String::from_utf8_lossy(version.trim_ascii()).into_owned();
        if !version.starts_with("WARC/") {
            return Err((
                start,
                RecordError::new(
                    "warc_malformed",
                    format!(
                        "offset {start}: expected a WARC version line (`WARC/1.1`), found {:?}",
                        cut(&version)
                    ),
                ),
            ));
        }
        let mut headers = Vec::new();
        let mut header_bytes = 0u64;
        loop {
            let line = match self.line(MAX_HEADER_BYTES) {
                Ok(Some(line)) => line,
                Ok(None) => return Err((start, truncated(start, "in its headers"))),
                Err(e) => return Err((start, unreadable(start, &e))),
            };
            header_bytes += line.len() as u64;
            if header_bytes > MAX_HEADER_BYTES {
                return Err((
                    start,
                    RecordError::new(
                        "warc_malformed",
                        format!("offset {start}: headers longer than {MAX_HEADER_BYTES} bytes"),
                    ),
                ));
            }
            let line = String::from_utf8_lossy(line.trim_ascii_end()).into_owned();
            if line.is_empty() {
                break;
            }
            match line.split_once(':') {
                Some((name, value)) => {
                    headers.push((name.trim().to_string(), value.trim().to_string()))
                }
                // A continuation line (leading space) belongs to the previous header.
                None if line.starts_with([' ', '\t']) => {
                    if let Some((_, value)) = headers.last_mut() {
                        value.push(' ');
                        value.push_str(line.trim());
                    }
                }
                None => {
                    return Err((
                        start,
                        RecordError::new(
                            "warc_malformed",
                            format!(
                                "offset {start}: header line without a colon: {:?}",
                                cut(&line)
                            ),
                        ),
                    ));
                }
            }
        }
        let length = header(&headers, "Content-Length")
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or_else(|| {
                (
                    start,
                    RecordError::new(
                        "warc_malformed",
                        format!("offset {start}: no valid Content-Length"),
                    ),
                )
            })?;
        if length > self.max_record_bytes {
            // Skipped without being held, like an over-long JSONL line; the next record is still found.
            let skipped = std::io::copy(&mut (&mut self.reader).take(length), &mut std::io::sink())
                .map_err(|e| (start, unreadable(start, &e)))?;
            self.offset += skipped;
            if skipped < length {
                return Err((
                    start,
                    truncated(
                        start,
                        &format!("Content-Length {length}, {skipped} bytes present"),
                    ),
                ));
            }
            return Ok(Some(RawWarc {
                start,
                headers,
                block: None,
            }));
        }
        let mut block = Vec::with_capacity(length.min(1 << 24) as usize);
        let read = (&mut self.reader)
            .take(length)
            .read_to_end(&mut block)
            .map_err(|e| (start, unreadable(start, &e)))?;
        self.offset += read as u64;
        if (read as u64) < length {
            return Err((
                start,
                truncated(
                    start,
                    &format!("Content-Length {length}, {read} bytes present"),
                ),
            ));
        }
        Ok(Some(RawWarc {
            start,
            headers,
            block: Some(block),
        }))
    }
}

impl Iterator for WarcRecords {
    type Item = RawRecord;

    fn next(&mut self) -> Option<RawRecord> {
        if self.done {
            return None;
        }
        match self.read() {
            Ok(None) => {
                self.done = true;
                None
            }
            Ok(Some(record)) => Some(RawRecord {
                position: record.start,
                body: match &record.block {
                    Some(block) => document(&record.headers, block),
                    None => Err(RecordError::new(
                        "too_long",
                        format!(
                            "offset {}: a WARC record of {} bytes, over --max-record-bytes ({})",
                            record.start,
                            header(&record.headers, "Content-Length").unwrap_or("?"),
                            self.max_record_bytes
                        ),
                    )),
                },
            }),
            Err((start, error)) => {
                self.done = true;
                Some(RawRecord {
                    position: start,
                    body: Err(error),
                })
            }
        }
    }
}

fn cut(s: &str) -> String {
    s.chars().take(80).collect()
}

fn truncated(start: u64, what: &str) -> RecordError {
    RecordError::new(
        "warc_truncated",
        format!("offset {start}: truncated WARC record ({what}); the rest of the file is not read"),
    )
}

fn unreadable(start: u64, error: &std::io::Error) -> RecordError {
    RecordError::new(
        "warc_unreadable",
        format!("offset {start}: the file cannot be read from here on: {error}"),
    )
}

/// The value of header `name` (case-insensitive, first occurrence).
fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// `<urn:uuid:...>` and `<https://...>` (WARC 1.0 brackets URIs) without the brackets.
fn unbracket(value: &str) -> &str {
    value
        .strip_prefix('<')
        .and_then(|v| v.strip_suffix('>'))
        .unwrap_or(value)
}

/// The JSON record of a WARC record that is a document, or why it is not one.
fn document(headers: &[(String, String)], block: &[u8]) -> Result<Vec<u8>, RecordError> {
    let kind = header(headers, "WARC-Type")
        .unwrap_or("")
        .to_ascii_lowercase();
    let id = header(headers, "WARC-Record-ID").map(unbracket);
    let named = |what: &str| match id {
        Some(id) => format!("WARC record {id}: {what}"),
        None => format!("WARC record without WARC-Record-ID: {what}"),
    };
    let not_a_document =
        |error_kind: &'static str, what: String| Err(RecordError::new(error_kind, named(&what)));
    let Some(id) = id else {
        return Err(RecordError::new(
            "warc_malformed",
            named("no WARC-Record-ID"),
        ));
    };
    let url = header(headers, "WARC-Target-URI").map(unbracket);
    let mut metadata = Map::new();
    if let Some(date) = header(headers, "WARC-Date") {
        metadata.insert("warc_date".into(), json!(date));
    }
    match kind.as_str() {
        "response" => {}
        "conversion" => {
            metadata.insert(
                "content_type".into(),
                json!(header(headers, "Content-Type")),
            );
            let text = String::from_utf8_lossy(block);
            return Ok(render(id, url, "text", &text, metadata));
        }
        "request" => {
            return not_a_document(
                "warc_request",
                "a request record (only HTML responses and WET conversions are documents)".into(),
            );
        }
        "warcinfo" => {
            return not_a_document(
                "warc_warcinfo",
                "a warcinfo record (only HTML responses and WET conversions are documents)".into(),
            );
        }
        "metadata" => {
            return not_a_document(
                "warc_metadata",
                "a metadata record (only HTML responses and WET conversions are documents)".into(),
            );
        }
        "revisit" => {
            return not_a_document(
                "warc_revisit",
                "a revisit record (a duplicate of an earlier response, without its body)".into(),
            );
        }
        "resource" => {
            return not_a_document(
                "warc_resource",
                "a resource record (only HTML responses and WET conversions are documents)".into(),
            );
        }
        other => {
            return not_a_document(
                "warc_other_record",
                format!(
                    "a record of type {other:?} (only HTML responses and WET conversions are documents)"
                ),
            );
        }
    }
    let warc_content_type = header(headers, "Content-Type").unwrap_or("");
    if !warc_content_type
        .to_ascii_lowercase()
        .starts_with("application/http")
    {
        return not_a_document(
            "warc_not_http",
            format!("a response of type {warc_content_type:?}, not an HTTP response"),
        );
    }
    let http = match Http::parse(block) {
        Ok(http) => http,
        Err(what) => return Err(RecordError::new("warc_bad_http", named(&what))),
    };
    metadata.insert("http_status".into(), json!(http.status));
    if !(200..300).contains(&http.status) {
        return not_a_document(
            "warc_http_status",
            format!(
                "HTTP status {} (only 2xx responses are documents)",
                http.status
            ),
        );
    }
    let content_type = http.header("Content-Type").unwrap_or("").to_string();
    metadata.insert("content_type".into(), json!(content_type));
    let mime = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if mime != "text/html" && mime != "application/xhtml+xml" {
        return not_a_document(
            "warc_not_html",
            format!("content type {content_type:?}, not HTML"),
        );
    }
    let body = match http.body() {
        Ok(body) => body,
        Err(what) => return Err(RecordError::new("warc_bad_http", named(&what))),
    };
    let page = tamis_core::charset::decode_page(&body, Some(&content_type), url);
    metadata.insert("charset".into(), json!(page.encoding));
    metadata.insert("charset_from".into(), json!(page.source.as_str()));
    let html = page.text;
    Ok(render(id, url, "html", &html, metadata))
}

fn render(
    id: &str,
    url: Option<&str>,
    key: &str,
    content: &str,
    metadata: Map<String, Value>,
) -> Vec<u8> {
    let mut object = Map::new();
    object.insert("id".into(), json!(id));
    if let Some(url) = url {
        object.insert("url".into(), json!(url));
    }
    object.insert(key.into(), json!(content));
    object.insert("metadata".into(), Value::Object(metadata));
    serde_json::to_vec(&Value::Object(object)).unwrap_or_default()
}

/// An HTTP response as a WARC `response` record holds it.
struct Http<'a> {
    status: u16,
    headers: Vec<(String, String)>,
    raw_body: &'a [u8],
}

impl<'a> Http<'a> {
    fn parse(block: &'a [u8]) -> Result<Self, String> {
        let end = memchr::memmem::find(block, b"\r\n\r\n")
            .map(|i| (i, i + 4))
            .or_else(|| memchr::memmem::find(block, b"\n\n").map(|i| (i, i + 2)))
            .ok_or("HTTP headers without an end")?;
        let head = String::from_utf8_lossy(&block[..end.0]);
        let mut lines = head.lines();
        let status_line = lines.next().unwrap_or("");
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse::<u16>().ok())
            .filter(|_| status_line.starts_with("HTTP/"))
            .ok_or_else(|| format!("not an HTTP status line: {:?}", cut(status_line)))?;
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_string(), v.trim().to_string()))
            .collect();
        Ok(Self {
            status,
            headers,
            raw_body: &block[end.1..],
        })
    }

    fn header(&self, name: &str) -> Option<&str> {
        header(&self.headers, name)
    }

    /// The body with the transfer and content encodings undone.
    fn body(&self) -> Result<Vec<u8>, String> {
        let chunked = self
            .header("Transfer-Encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"));
        let body = if chunked {
            dechunk(self.raw_body)?
        } else {
            self.raw_body.to_vec()
        };
        match self
            .header("Content-Encoding")
            .map(|v| v.trim().to_ascii_lowercase())
            .as_deref()
        {
            None | Some("") | Some("identity") => Ok(body),
            Some("gzip") | Some("x-gzip") => {
                let mut out = Vec::new();
                flate2::read::MultiGzDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .map_err(|e| format!("gzip Content-Encoding: {e}"))?;
                Ok(out)
            }
            Some("deflate") => {
                let mut out = Vec::new();
                flate2::read::ZlibDecoder::new(&body[..])
                    .read_to_end(&mut out)
                    .map_err(|e| format!("deflate Content-Encoding: {e}"))?;
                Ok(out)
            }
            Some(other) => Err(format!("Content-Encoding {other:?} is not decoded")),
        }
    }
}

/// Undoes chunked transfer coding: hex size line, that many bytes, CRLF, until a zero size.
fn dechunk(mut rest: &[u8]) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    loop {
        let eol = memchr::memchr(b'\n', rest).ok_or("chunked body: a size line without an end")?;
        let line = String::from_utf8_lossy(&rest[..eol]);
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| format!("chunked body: bad chunk size {:?}", cut(size_text)))?;
        rest = &rest[eol + 1..];
        if size == 0 {
            return Ok(out);
        }
        if rest.len() < size {
            return Err("chunked body: truncated chunk".into());
        }
        out.extend_from_slice(&rest[..size]);
        rest = &rest[size..];
        rest = rest
            .strip_prefix(b"\r\n")
            .or_else(|| rest.strip_prefix(b"\n"))
            .unwrap_or(rest);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn records(bytes: &[u8]) -> Vec<RawRecord> {
        WarcRecords::new(Box::new(std::io::Cursor::new(bytes.to_vec())), 1 << 20).collect()
    }

    fn warc(kind: &str, id: &str, extra: &str, block: &[u8]) -> Vec<u8> {
        let mut out = format!(
            "WARC/1.0\r\nWARC-Type: {kind}\r\nWARC-Record-ID: <urn:uuid:{id}>\r\nWARC-Date: 2024-04-25T16:24:44Z\r\n{extra}Content-Length: {}\r\n\r\n",
            block.len()
        )
        .into_bytes();
        out.extend_from_slice(block);
        out.extend_from_slice(b"\r\n\r\n");
        out
    }

    #[test]
    fn chunked_bodies_are_joined() {
        assert_eq!(
            dechunk(b"4\r\nWiki\r\n5;x=y\r\npedia\r\n0\r\n\r\n").unwrap(),
            b"Wikipedia"
        );
        assert!(dechunk(b"9\r\nWiki").is_err());
    }

    #[test]
    fn every_record_is_a_document_or_an_error_with_its_reason_and_offset() {
        let page = b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=windows-1252\r\n\r\n<p>caf\xe9</p>";
        let redirect = b"HTTP/1.1 301 Moved Permanently\r\nLocation: https://example.org/\r\n\r\n";
        let mut bytes = warc("warcinfo", "1", "", b"software: test\r\n");
        bytes.extend(warc(
            "request",
            "2",
            "WARC-Target-URI: <https://example.org/a>\r\n",
            b"GET /a HTTP/1.1\r\n\r\n",
        ));
        let third = bytes.len() as u64;
        bytes.extend(warc("response", "3", "WARC-Target-URI: <https://example.org/a>\r\nContent-Type: application/http;msgtype=response\r\n", page));
        bytes.extend(warc("response", "4", "WARC-Target-URI: https://example.org/b\r\nContent-Type: application/http; msgtype=response\r\n", redirect));
        let last = bytes.len() as u64;
        let mut cut = warc("response", "5", "Content-Type: application/http\r\n", page);
        cut.truncate(cut.len() - 10);
        bytes.extend(cut);
        let got = records(&bytes);
        assert_eq!(got.len(), 5);
        let kinds: Vec<&str> = got
            .iter()
            .map(|r| r.body.as_ref().err().map_or("document", |e| e.kind))
            .collect();
        assert_eq!(
            kinds,
            [
                "warc_warcinfo",
                "warc_request",
                "document",
                "warc_http_status",
                "warc_truncated"
            ]
        );
        assert_eq!(got[2].position, third);
        assert_eq!(got[4].position, last);
        let doc: Value = serde_json::from_slice(got[2].body.as_ref().unwrap()).unwrap();
        assert_eq!(doc["id"], "urn:uuid:3");
        assert_eq!(doc["url"], "https://example.org/a");
        assert_eq!(doc["html"], "<p>caf\u{e9}</p>");
        assert_eq!(doc["metadata"]["charset"], "windows-1252");
        assert_eq!(doc["metadata"]["http_status"], 200);
        let truncated = got[4].body.as_ref().unwrap_err();
        assert!(
            truncated
                .message
                .starts_with(&format!("offset {last}: truncated")),
            "{}",
            truncated.message
        );
    }

    #[test]
    fn a_wet_conversion_record_is_a_text_document() {
        let text = "Extracted text of the page.\nSecond line, caf\u{e9}.";
        let bytes = warc(
            "conversion",
            "9",
            "WARC-Target-URI: http://example.org/\r\nContent-Type: text/plain\r\n",
            text.as_bytes(),
        );
        let got = records(&bytes);
        assert_eq!(got.len(), 1);
        let doc: Value = serde_json::from_slice(got[0].body.as_ref().unwrap()).unwrap();
        assert_eq!(doc["id"], "urn:uuid:9");
        assert_eq!(doc["url"], "http://example.org/");
        assert_eq!(doc["text"], text);
        assert!(doc.get("html").is_none());
        assert_eq!(doc["metadata"]["content_type"], "text/plain");
    }

    #[test]
    fn a_record_over_the_limit_is_skipped_and_the_next_one_still_read() {
        let mut bytes = warc("resource", "1", "", &[b'x'; 300]);
        bytes.extend(warc("request", "2", "", b"GET / HTTP/1.1\r\n\r\n"));
        let got: Vec<RawRecord> =
            WarcRecords::new(Box::new(std::io::Cursor::new(bytes)), 100).collect();
        let kinds: Vec<&str> = got
            .iter()
            .map(|r| r.body.as_ref().err().map_or("document", |e| e.kind))
            .collect();
        assert_eq!(kinds, ["too_long", "warc_request"]);
    }

    #[test]
    fn garbage_is_one_error_at_offset_zero() {
        let got = records(b"not a warc file\n");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].position, 0);
        assert_eq!(got[0].body.as_ref().unwrap_err().kind, "warc_malformed");
        assert!(records(b"").is_empty());
    }
}
