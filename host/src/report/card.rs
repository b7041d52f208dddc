//! The dataset card: a `README.md` in the Hugging Face Hub's format, with YAML front matter the Hub reads
//! (license, language, size_categories, task_categories, configs and their data files) and a body a person
//! reads (sources and weights, every step with its parameters, the funnel, the known limits).
//!
//! The front matter follows the Hub's dataset card metadata: `size_categories` takes one of the Hub's
//! fixed buckets (`n<1K`, `1K<n<10K`, ... `n>1T`, by number of rows, as the `datasets` library's
//! `size_categories_parser` assigns them), `language` takes ISO 639-1 codes where a language has one and
//! ISO 639-3 otherwise, and each entry of `configs` names `data_files` by glob relative to the card, so
//! `datasets.load_dataset` on the folder loads the kept records.

use std::collections::BTreeMap;
use std::fmt::Write;

use anyhow::Result;
use tamis_core::ConfigFormat;

use super::Facts;
use super::scan::Class;

/// The Hub's size buckets: the first whose bound is above the row count.
const SIZE_CATEGORIES: [(u64, &str); 10] = [
    (1_000, "n<1K"),
    (10_000, "1K<n<10K"),
    (100_000, "10K<n<100K"),
    (1_000_000, "100K<n<1M"),
    (10_000_000, "1M<n<10M"),
    (100_000_000, "10M<n<100M"),
    (1_000_000_000, "100M<n<1B"),
    (10_000_000_000, "1B<n<10B"),
    (100_000_000_000, "10B<n<100B"),
    (1_000_000_000_000, "100B<n<1T"),
];

/// The Hub's size bucket of a dataset of `rows` rows.
pub fn size_category(rows: u64) -> &'static str {
    SIZE_CATEGORIES
        .iter()
        .find(|(bound, _)| rows < *bound)
        .map_or("n>1T", |(_, name)| name)
}

/// ISO 639-1 codes of the ISO 639-3 codes the language step (whatlang) reports. `cmn` (Mandarin) is
/// written `zh` and `pes` (Iranian Persian) `fa`, the macrolanguages' codes, as the Hub lists them.
const ISO_639_1: [(&str, &str); 69] = [
    ("afr", "af"),
    ("aka", "ak"),
    ("amh", "am"),
    ("ara", "ar"),
    ("aze", "az"),
    ("bel", "be"),
    ("ben", "bn"),
    ("bul", "bg"),
    ("cat", "ca"),
    ("ces", "cs"),
    ("cmn", "zh"),
    ("cym", "cy"),
    ("dan", "da"),
    ("deu", "de"),
    ("ell", "el"),
    ("eng", "en"),
    ("epo", "eo"),
    ("est", "et"),
    ("fin", "fi"),
    ("fra", "fr"),
    ("guj", "gu"),
    ("heb", "he"),
    ("hin", "hi"),
    ("hrv", "hr"),
    ("hun", "hu"),
    ("hye", "hy"),
    ("ind", "id"),
    ("ita", "it"),
    ("jav", "jv"),
    ("jpn", "ja"),
    ("kan", "kn"),
    ("kat", "ka"),
    ("khm", "km"),
    ("kor", "ko"),
    ("lat", "la"),
    ("lav", "lv"),
    ("lit", "lt"),
    ("mal", "ml"),
    ("mar", "mr"),
    ("mkd", "mk"),
    ("mya", "my"),
    ("nep", "ne"),
    ("nld", "nl"),
    ("nob", "nb"),
    ("ori", "or"),
    ("pan", "pa"),
    ("pes", "fa"),
    ("pol", "pl"),
    ("por", "pt"),
    ("ron", "ro"),
    ("rus", "ru"),
    ("sin", "si"),
    ("slk", "sk"),
    ("slv", "sl"),
    ("sna", "sn"),
    ("spa", "es"),
    ("srp", "sr"),
    ("swe", "sv"),
    ("tam", "ta"),
    ("tel", "te"),
    ("tgl", "tl"),
    ("tha", "th"),
    ("tuk", "tk"),
    ("tur", "tr"),
    ("ukr", "uk"),
    ("urd", "ur"),
    ("uzb", "uz"),
    ("vie", "vi"),
    ("yid", "yi"),
];

/// The Hub's code of an ISO 639-3 code: its ISO 639-1 code when it has one.
pub fn hub_language(code: &str) -> String {
    ISO_639_1
        .iter()
        .find(|(three, _)| *three == code)
        .map_or(code, |(_, two)| two)
        .to_string()
}

/// A language is listed in the front matter when it is at least this share of the kept documents: below
/// it, a language is more likely an identification error on a short text than a part of the dataset (all
/// are listed in the body).
const LANGUAGE_MIN_SHARE: f64 = 0.01;

/// A YAML scalar: JSON's double-quoted string is valid YAML, and quoting every string keeps globs (`*`),
/// colons and leading symbols from being read as YAML syntax.
fn yaml_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

/// The `data_files` glob of one source folder's kept records.
fn glob(group: &str, extension: &str) -> String {
    if group.is_empty() {
        format!("kept/*.{extension}")
    } else {
        format!("{group}/kept/*.{extension}")
    }
}

/// The card.
pub fn render(facts: &Facts) -> Result<String> {
    let (docs_in, kept, dropped, errors) = facts.totals();
    let scan = &facts.scan;
    let mut out = String::new();
    let w = &mut out;

    // Front matter.
    writeln!(w, "---")?;
    writeln!(w, "license: {}", yaml_string(&facts.license))?;
    let kept_languages: u64 = scan.languages.values().map(|(k, _)| k).sum();
    let mut languages: Vec<(&String, u64)> = scan
        .languages
        .iter()
        .map(|(c, (k, _))| (c, *k))
        .filter(|(_, k)| *k > 0 && *k as f64 >= LANGUAGE_MIN_SHARE * kept_languages as f64)
        .collect();
    languages.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut hub_codes: Vec<String> = Vec::new();
    for (code, _) in &languages {
        let hub = hub_language(code);
        if !hub_codes.contains(&hub) {
            hub_codes.push(hub);
        }
    }
    if !hub_codes.is_empty() {
        writeln!(w, "language:")?;
        for code in &hub_codes {
            writeln!(w, "- {}", yaml_string(code))?;
        }
    }
    writeln!(
        w,
        "size_categories:\n- {}",
        yaml_string(size_category(kept))
    )?;
    writeln!(w, "task_categories:\n- \"text-generation\"")?;
    writeln!(w, "pretty_name: {}", yaml_string(&facts.name))?;
    let kept_groups: Vec<(&String, &BTreeMap<String, u64>)> = facts
        .layout
        .iter()
        .filter(|((_, class), _)| *class == Class::Kept)
        .map(|((group, _), exts)| (group, exts))
        .collect();
    if !kept_groups.is_empty() {
        writeln!(w, "configs:")?;
        writeln!(
            w,
            "- config_name: \"default\"\n  data_files:\n  - split: \"train\"\n    path:"
        )?;
        for (group, exts) in &kept_groups {
            for ext in exts.keys() {
                writeln!(w, "    - {}", yaml_string(&glob(group, ext)))?;
            }
        }
        // One config per source folder, when there are several.
        if kept_groups.len() > 1 {
            for (group, exts) in &kept_groups {
                if group.is_empty() {
                    continue;
                }
                writeln!(
                    w,
                    "- config_name: {}\n  data_files:\n  - split: \"train\"\n    path:",
                    yaml_string(group)
                )?;
                for ext in exts.keys() {
                    writeln!(w, "    - {}", yaml_string(&glob(group, ext)))?;
                }
            }
        }
    }
    writeln!(w, "tags:\n- \"tamis\"\n---\n")?;

    // Body.
    writeln!(w, "# {}\n", facts.name)?;
    writeln!(
        w,
        "Text cleaned and filtered by tamis {}: {} documents in, **{} kept**, {} dropped, {} errors ({:.1} MB of text kept). The kept records are the JSON lines under `*/kept/`, each with its cleaned `text` and, under `tamis`, every check it passed, its language, scores and the personal data replaced in it. `report.html` beside this card shows the numbers below as charts.\n",
        env!("CARGO_PKG_VERSION"),
        docs_in,
        kept,
        dropped,
        errors,
        scan.total.kept_bytes as f64 / 1e6
    )?;

    writeln!(w, "## Sources\n")?;
    let datasets = facts
        .config
        .as_ref()
        .map(|c| c.sample.datasets.clone())
        .unwrap_or_default();
    let total_weight: f64 = datasets.iter().map(|d| d.weight).sum();
    if !datasets.is_empty() {
        let seed = facts.config.as_ref().map_or(0, |c| c.sample.seed);
        let target = facts.config.as_ref().map_or(0, |c| c.sample.target_samples);
        writeln!(
            w,
            "Drawn by `tamis sample`: {target} records in all, split by weight (largest remainder), each source sampled uniformly with seed {seed}.\n"
        )?;
    }
    writeln!(
        w,
        "| source | config | weight | docs in | kept | dropped | errors | keep rate |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )?;
    let mut names: Vec<String> = datasets.iter().map(|d| d.name.clone()).collect();
    for s in scan.sources.keys() {
        if !names.contains(s) {
            names.push(s.clone());
        }
    }
    for name in &names {
        let d = datasets.iter().find(|d| &d.name == name);
        let f = scan.sources.get(name).cloned().unwrap_or_default();
        writeln!(
            w,
            "| {} | {} | {} | {} | {} | {} | {} | {} |",
            name,
            d.and_then(|d| d.config.clone())
                .unwrap_or_else(|| "–".into()),
            d.map(|d| format!(
                "{:.1} %",
                100.0 * d.weight / total_weight.max(f64::MIN_POSITIVE)
            ))
            .unwrap_or_else(|| "–".into()),
            f.docs_in,
            f.kept,
            f.dropped,
            f.errors,
            if f.docs_in == 0 {
                "–".into()
            } else {
                format!("{:.1} %", 100.0 * f.kept as f64 / f.docs_in as f64)
            }
        )?;
    }
    writeln!(w)?;

    writeln!(w, "## Processing\n")?;
    match &facts.config {
        Some(config) => {
            writeln!(
                w,
                "Steps in order{}; a document is dropped at its first failed check. Parameters as the run used them, every default filled in:\n",
                if config.evaluate_all {
                    " (every rule evaluated on every document, `evaluate_all = true`)"
                } else {
                    ""
                }
            )?;
            // The config as the core renders it (TOML), read back as a table to cut out each step's section.
            let mut shown = config.clone();
            if !shown.pii.hash_key.is_empty() {
                shown.pii.hash_key = "(redacted)".into();
            }
            let rendered = shown
                .render(ConfigFormat::Toml)
                .map_err(|e| anyhow::anyhow!("rendering the config: {e}"))?;
            let table: toml::Table = toml::from_str(&rendered)?;
            for (i, step) in config.steps.iter().enumerate() {
                let mut section = Some(&table);
                for part in step.section().split('.') {
                    section = section
                        .and_then(|t| t.get(part))
                        .and_then(toml::Value::as_table);
                }
                writeln!(w, "{}. `{}` (`[{}]`)", i + 1, step.as_str(), step.section())?;
                if let Some(section) = section.filter(|t| !t.is_empty()) {
                    writeln!(w, "\n   ```toml")?;
                    for line in toml::to_string(section)?.lines() {
                        if line.is_empty() {
                            writeln!(w)?;
                        } else {
                            writeln!(w, "   {line}")?;
                        }
                    }
                    writeln!(w, "   ```")?;
                }
            }
            writeln!(w)?;
        }
        None => writeln!(
            w,
            "The run's config was not found (`.tamis/run.json`); the steps are those of the funnel below.\n"
        )?,
    }
    if let Some(d) = &facts.dedup {
        writeln!(
            w,
            "Then `tamis dedup`: {} in, {} kept, {} dropped ({}), {} clusters of duplicates, {} repeated paragraphs removed.\n",
            d.docs_in,
            d.kept,
            d.dropped,
            d.dropped_by_reason
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", "),
            d.clusters,
            d.paragraphs_removed
        )?;
    }
    if let Some(d) = &facts.decontaminate {
        writeln!(
            w,
            "Then `tamis decontaminate` ({}-gram overlap): {} in, {} kept, {} dropped; {} documents matched a benchmark ({}).\n",
            d.ngram,
            d.docs_in,
            d.kept,
            d.dropped,
            d.contaminated,
            d.by_benchmark
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }

    writeln!(w, "## Funnel\n")?;
    writeln!(
        w,
        "| step | docs in | dropped | left | drops by rule |\n|---|---:|---:|---:|---|"
    )?;
    for s in facts.funnel() {
        writeln!(
            w,
            "| {} | {} | {} | {} | {} |",
            s.step,
            s.docs_in,
            s.dropped,
            s.left,
            s.reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        w,
        "\nIn all: {docs_in} documents in = {kept} kept + {dropped} dropped + {errors} errors.\n"
    )?;
    if scan.words.count() > 0 {
        writeln!(
            w,
            "Kept documents: median {:.0} words (10th percentile {:.0}, 90th {:.0}), median {:.0} characters{}.\n",
            scan.words.quantile(0.5),
            scan.words.quantile(0.1),
            scan.words.quantile(0.9),
            scan.chars.quantile(0.5),
            if scan.tokens.count() > 0 {
                format!(
                    ", median {:.0} tokens ({} tokens in all)",
                    scan.tokens.quantile(0.5),
                    scan.tokens.sum() as u64
                )
            } else {
                String::new()
            }
        )?;
    }
    if !scan.languages.is_empty() {
        let mut all: Vec<(&String, u64)> = scan
            .languages
            .iter()
            .map(|(c, (k, _))| (c, *k))
            .filter(|(_, k)| *k > 0)
            .collect();
        all.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        writeln!(
            w,
            "Languages of the kept documents (ISO 639-3, as identified): {}.\n",
            all.iter()
                .map(|(c, n)| format!("{c} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    if !scan.pii.is_empty() {
        writeln!(
            w,
            "Personal data replaced in the kept documents, by kind: {}.\n",
            scan.pii
                .iter()
                .map(|(k, t)| format!("{k} {}", t.spans))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }

    writeln!(w, "## Known limits\n")?;
    let mut limits: Vec<String> = vec![
        "The filters are heuristics (Gopher, C4, FineWeb rules and tamis's own): they judge the form of a text, not whether it is true, safe or fair. Some good documents are dropped and some poor ones kept; the samples in `report.html` show both.".into(),
        "Personal data is found by patterns (e-mail, phone, ID and card numbers, IP addresses, IBANs, secrets, home paths): names, street addresses and other personal data without a fixed shape are not removed.".into(),
        "The texts come from their sources with their own licences and terms; this card's licence field does not change them.".into(),
    ];
    if facts
        .config
        .as_ref()
        .is_some_and(|c| c.steps.iter().any(|s| s.as_str() == "language"))
    {
        limits.push("Languages are identified by character trigrams (whatlang) on the first 10,000 characters; short and mixed-language texts are often misidentified.".into());
    }
    if !datasets.is_empty() {
        limits.push(
            "The sources were sampled, not taken whole: the counts are those of the sample.".into(),
        );
    }
    if facts.dedup.is_none() {
        limits.push(
            "No deduplication is recorded for this output: it may hold duplicate documents.".into(),
        );
    }
    if facts.decontaminate.is_none() {
        limits.push("No benchmark decontamination is recorded for this output.".into());
    }
    if errors > 0 {
        limits.push(format!("{errors} input records could not be judged and are not in the dataset (see `*/errors/`)."));
    }
    let dropped_languages: Vec<String> = scan
        .languages
        .iter()
        .filter(|(_, (k, _))| *k > 0 && (*k as f64) < LANGUAGE_MIN_SHARE * kept_languages as f64)
        .map(|(c, _)| c.clone())
        .collect();
    if !dropped_languages.is_empty() {
        limits.push(format!(
            "Languages below 1 % of the kept documents are not in the card's metadata: {}.",
            dropped_languages.join(", ")
        ));
    }
    for l in limits {
        writeln!(w, "- {l}")?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn size_categories_follow_the_hub_buckets() {
        assert_eq!(size_category(0), "n<1K");
        assert_eq!(size_category(999), "n<1K");
        assert_eq!(size_category(1_000), "1K<n<10K");
        assert_eq!(size_category(99_999), "10K<n<100K");
        assert_eq!(size_category(100_000), "100K<n<1M");
        assert_eq!(size_category(2_000_000_000_000), "n>1T");
    }

    #[test]
    fn languages_use_two_letter_codes_where_they_exist() {
        assert_eq!(hub_language("eng"), "en");
        assert_eq!(hub_language("cmn"), "zh");
        assert_eq!(hub_language("pes"), "fa");
        assert_eq!(hub_language("tuk"), "tk");
        // No ISO 639-1 code: the three-letter one stays.
        assert_eq!(hub_language("yue"), "yue");
        let mut twos: Vec<&str> = ISO_639_1.iter().map(|(_, t)| *t).collect();
        twos.sort_unstable();
        twos.dedup();
        assert_eq!(twos.len(), ISO_639_1.len(), "two codes map to one");
    }

    #[test]
    fn yaml_strings_are_quoted() {
        assert_eq!(yaml_string("c4/kept/*.jsonl.gz"), "\"c4/kept/*.jsonl.gz\"");
        assert_eq!(yaml_string("a: \"b\""), "\"a: \\\"b\\\"\"");
        assert_eq!(glob("", "parquet"), "kept/*.parquet");
    }
}
