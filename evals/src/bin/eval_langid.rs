//! Language-ID accuracy by ISO 639-3 code on the UDHR articles and on whatlang's own examples.
//!
//! First whatlang (the default `language` step) over the languages it claims to support, by exact code;
//! then whatlang, fastText's lid.176 (`[language] model`) and a combination of the two, each over the
//! languages that CLD2 and lingua both support and over every language the detector supports, codes
//! folded into their macrolanguage (`tamis_tests::langid_eval`). whatlang's trigram profiles may well be
//! built from UDHR text, so its UDHR figures flatter it; whatlang's own examples are short sentences.
//!
//! Run: `cargo run -p tamis-evals --release --bin eval_langid` (lid.176 rows need
//! `scripts/setup-fasttext.sh`).

use anyhow::Result;
use tamis_core::LanguageGuess;
use tamis_core::language::{LanguageConfig, LanguageFilter, iso639, strip_label};
use tamis_tests::eval::langid;
use tamis_tests::langid_eval::evaluate;
use tamis_tests::{fasttext_ref, shared_data};

/// A detector under evaluation.
type Detect<'a> = dyn Fn(&str) -> Option<LanguageGuess> + 'a;

const FILES: [&str; 2] = [
    "langid/udhr_articles_1-3.jsonl.gz",
    "langid/whatlang_examples.jsonl",
];

fn main() -> Result<()> {
    for file in FILES {
        let r = langid(&shared_data(file))?;
        println!(
            "{file}: whatlang accuracy {:.3} ({} of {} records in supported languages; {} records with unsupported labels skipped)",
            r.accuracy(),
            r.correct,
            r.supported,
            r.unsupported
        );
        let mut weak: Vec<_> = r.per_language.iter().filter(|(_, (n, c))| c < n).collect();
        weak.sort_by_key(|(_, (n, c))| std::cmp::Reverse(n - c));
        let shown: Vec<String> = weak
            .iter()
            .take(12)
            .map(|(l, (n, c))| format!("{l} {c}/{n}"))
            .collect();
        println!("  most missed: {}", shown.join(", "));
    }

    let whatlang = LanguageFilter::new(&LanguageConfig::default())?;
    let whatlang_codes = tamis_core::language::supported_codes();
    let model_path = fasttext_ref::lid176()?;
    let lid = LanguageFilter::with_model(
        &LanguageConfig {
            model: Some("lid.176.ftz".into()),
            ..LanguageConfig::default()
        },
        Some(&std::fs::read(&model_path)?),
    )?;
    let lid_labels = tamis_core::fasttext::Model::from_bytes(&std::fs::read(&model_path)?)?;
    let lid_codes: Vec<&str> = lid_labels
        .labels()
        .iter()
        .map(|l| iso639::to_639_3(strip_label(l)))
        .collect();
    let combined = |text: &str| combine(lid.detect(text), whatlang.detect(text), &lid_codes);
    let mut union = lid_codes.clone();
    union.extend(whatlang_codes.iter().copied());
    let detectors: [(&str, &[&str], &Detect); 3] = [
        ("whatlang", &whatlang_codes, &|t| whatlang.detect(t)),
        ("lid.176", &lid_codes, &|t| lid.detect(t)),
        ("lid.176+whatlang", &union, &combined),
    ];
    println!(
        "\nlanguage ID, codes folded into macrolanguages; CLD2 ∩ lingua = {} languages",
        tamis_tests::langid_eval::CLD2_AND_LINGUA.len()
    );
    for file in FILES {
        for (name, codes, detect) in &detectors {
            let r = evaluate(&shared_data(file), codes, *detect)?;
            println!(
                "{file} {name:>17}: CLD2∩lingua {:.3} ({}/{}), all supported {:.3} ({}/{})",
                r.cld2_and_lingua.value(),
                r.cld2_and_lingua.correct,
                r.cld2_and_lingua.records,
                r.supported.value(),
                r.supported.correct,
                r.supported.records,
            );
            println!(
                "    most missed (CLD2∩lingua): {}",
                r.cld2_and_lingua.most_missed(10)
            );
        }
    }
    Ok(())
}

/// lid.176 first; whatlang where it names a language lid.176 does not know (Zulu, Shona, Akan), or where
/// lid.176 is unsure and whatlang is sure.
fn combine(
    lid: Option<LanguageGuess>,
    whatlang: Option<LanguageGuess>,
    lid_codes: &[&str],
) -> Option<LanguageGuess> {
    match (lid, whatlang) {
        (Some(l), Some(w)) => {
            if (!lid_codes.contains(&w.code.as_str()) && w.confidence >= 0.5)
                || (l.confidence < 0.3 && w.confidence >= 0.9)
            {
                Some(w)
            } else {
                Some(l)
            }
        }
        (l, w) => l.or(w),
    }
}
