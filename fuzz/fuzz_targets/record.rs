//! The record reader: JSON Lines -> `Document`, through the browser demo's `Session::judge_jsonl`
//! (web-demo/src/session.rs), which reads each line with the core's record reader
//! (`tamis_core::record::read_record`, the one `tamis run` uses too). Every non-blank line must end as
//! exactly one judged record: an outcome or an error naming it, never a panic or a skip.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use tamis_core::ConfigFormat;
use tamis_web::session::Session;

/// A cheap pipeline, so the executions go to the reader; the pipeline has targets of its own.
const CONFIG: &str = r#"
steps = ["html", "normalize"]
[io]
html_key = "html"
url_key = "url"
"#;

fn session() -> &'static Session {
    static SESSION: OnceLock<Session> = OnceLock::new();
    SESSION.get_or_init(|| {
        let mut session = Session::new();
        session
            .configure(CONFIG, ConfigFormat::Toml)
            .expect("the fuzz config is valid");
        session
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let records = session().judge_jsonl(&text, "fuzz.jsonl", 1);
    let lines: Vec<u64> = text
        .split('\n')
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, _)| i as u64 + 1)
        .collect();
    assert_eq!(
        records.iter().map(|r| r.line).collect::<Vec<_>>(),
        lines.iter().copied().map(Some).collect::<Vec<_>>(),
        "one judged record per non-blank line, in order"
    );
    for record in &records {
        assert!(
            record.outcome.is_some() != record.error.is_some(),
            "a record is judged or failed, not both or neither: {record:?}"
        );
    }
});
