//! The edge function's request handling (edge/src/api.rs, edge/src/input.rs), natively: the first byte picks
//! the route and `Content-Type`, the rest is the body (for `/v1/clean`) or the query string (for
//! `/v1/config`). Every answer must be one of the documented statuses with a JSON body (or the config
//! text), never a panic; a 200 from `/v1/clean` has one entry per document read.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tamis_edge::api::{RequestHead, Route, Service};
use tamis_edge::input::{BodyKind, PageInfo, read_documents};
use tamis_edge::settings::Settings;

/// A cheap pipeline, so the executions go to the request parser; the pipeline has targets of its own.
const CONFIG: &str = r#"steps = ["html", "normalize"]"#;
const MAX_DOCS: usize = 64;

const CONTENT_TYPES: [Option<&str>; 8] = [
    None,
    Some("application/json"),
    Some("application/x-ndjson"),
    Some("application/jsonl; charset=utf-8"),
    Some("text/html"),
    Some("text/plain"),
    Some("Application/JSON ; q=1"),
    Some("image/png"),
];

fn service() -> &'static Service {
    static SERVICE: OnceLock<Service> = OnceLock::new();
    SERVICE.get_or_init(|| {
        let max_docs = MAX_DOCS.to_string();
        Service::new(Settings::from_lookup(|name| match name {
            "TAMIS_CONFIG" => Some(CONFIG.to_string()),
            "TAMIS_MAX_DOCS" => Some(max_docs.clone()),
            _ => None,
        }))
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&selector, body)) = data.split_first() else {
        return;
    };
    if selector & 0x80 != 0 {
        let query = String::from_utf8_lossy(body);
        let head = RequestHead {
            method: "GET".into(),
            path_and_query: format!("/v1/config?{query}"),
            ..RequestHead::default()
        };
        let response = service().handle(Route::Config, &head, b"");
        assert!(matches!(response.status, 200 | 400), "{response:?}");
        if response.content_type == "application/json" {
            serde_json::from_slice::<serde_json::Value>(&response.body).expect("a JSON answer");
        }
        return;
    }
    let content_type = CONTENT_TYPES[usize::from(selector) % CONTENT_TYPES.len()];
    let head = RequestHead {
        method: "POST".into(),
        path_and_query: "/v1/clean".into(),
        content_type: content_type.map(str::to_string),
        tamis_id: (selector & 0x40 != 0).then(|| "fuzz-page".to_string()),
    };
    let response = service().handle(Route::Clean, &head, body);
    assert!(
        matches!(response.status, 200 | 400 | 413 | 415),
        "unexpected status {}",
        response.status
    );
    let answer: serde_json::Value =
        serde_json::from_slice(&response.body).expect("every answer is JSON");
    let kind = BodyKind::from_content_type(content_type);
    match response.status {
        200 => {
            let kind = kind.expect("a 200 answers a readable content type");
            let docs = read_documents(body, kind, &PageInfo::default(), MAX_DOCS)
                .expect("a 200 answers a readable body");
            let outcomes = answer["outcomes"].as_array().expect("`outcomes` is a list");
            assert_eq!(outcomes.len(), docs.len(), "one entry per document");
        }
        _ => {
            assert!(
                answer["error"].is_string(),
                "an error names its code: {answer}"
            );
            if let Some(line) = answer.get("line") {
                assert!(
                    line.as_u64().is_some_and(|l| l >= 1),
                    "lines count from 1: {answer}"
                );
            }
        }
    }
});
