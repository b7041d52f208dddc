//! `normalize` and `pii` over the real web development set: normalization is a fixed point on real
//! text, and scrubbing leaves nothing a second scan would find.

use tamis_core::normalize::{Form, Normalize, NormalizeConfig};
use tamis_core::pii::{KindConfig, PiiConfig, Scrub};
use tamis_tests::web_documents;

#[test]
fn normalize_is_idempotent_on_web_documents() {
    let docs = web_documents().unwrap();
    assert!(docs.len() > 300);
    for form in [Form::Nfc, Form::Nfkc] {
        let n = Normalize::new(&NormalizeConfig {
            form,
            ..NormalizeConfig::default()
        })
        .unwrap();
        let mut changed = 0;
        for doc in &docs {
            let text = doc.text.as_deref().unwrap_or_default();
            let once = n.normalize(text);
            assert_eq!(n.normalize(&once), once, "{} under {form:?}", doc.id);
            changed += usize::from(once != text);
        }
        // Real web text has curly quotes, no-break spaces and ragged whitespace.
        assert!(
            changed > docs.len() / 4,
            "only {changed} documents changed under {form:?}"
        );
    }
}

#[test]
fn scrubbed_web_documents_rescan_clean() {
    let docs = web_documents().unwrap();
    let config = PiiConfig {
        url: KindConfig::default(),
        ..PiiConfig::default()
    };
    let scrub = Scrub::new(&config).unwrap();
    let mut total = 0;
    for doc in &docs {
        let text = doc.text.as_deref().unwrap_or_default();
        let found = scrub.find(text);
        let (out, spans) = scrub.scrub(text);
        assert_eq!(found.len(), spans.len());
        for s in &spans {
            assert_eq!(
                &out[s.start as usize..s.end as usize],
                s.replacement,
                "{}",
                doc.id
            );
        }
        assert!(
            scrub.find(&out).is_empty(),
            "{}: {:?}",
            doc.id,
            scrub.find(&out)
        );
        total += spans.len();
    }
    // The set has links on most pages; URL detection alone finds many.
    assert!(total > 0);
}
