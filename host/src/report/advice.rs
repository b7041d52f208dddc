//! Issues and recommendations: rules over the report's numbers that say what in a run deserves a look,
//! and what to try. Each rule has one threshold, documented next to it with why it is there; a rule that
//! does not fire says nothing.

use super::Facts;

/// How much an issue matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// Something probably wrong with the input, the config or the run.
    Warning,
    /// Worth knowing; may be what was intended.
    Note,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Warning => "warning",
            Level::Note => "note",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    pub level: Level,
    /// A stable name of the rule that found it (`dominant_reason`).
    pub rule: &'static str,
    pub title: String,
    pub detail: String,
}

/// A single rule dropping at least this share of the documents judged says the input differs from what
/// the rule was designed for. On the web development set (397 unfiltered Common Crawl documents) with the
/// default chain, the largest single rule (C4's `too_few_sentences`) removes about a quarter; a rule above
/// 20% is where the first question should be "is this the right rule for this input?".
const DOMINANT_REASON_SHARE: f64 = 0.20;
/// Below this share kept, most of what was collected is thrown away: check the input and the thresholds
/// before paying to process more of it.
const LOW_YIELD_SHARE: f64 = 0.30;
/// A source whose keep rate is below this fraction of the run's is shrunk in the output far below its
/// sampling weight.
const SOURCE_YIELD_RATIO: f64 = 0.5;
/// Sources with fewer documents are too small for their keep rate to mean much.
const SOURCE_MIN_DOCS: u64 = 20;
/// With no allow list, a main language below this share of the kept documents means a multilingual
/// output, which most single-language training runs do not want.
const MAIN_LANGUAGE_SHARE: f64 = 0.90;
/// A threshold with at least this share of its documents within ±2% of it sits in the bulk of the
/// distribution: a small change of the threshold moves many documents (2% is one bin of the report's
/// histograms, the resolution at which it can tell).
const KNIFE_EDGE_SHARE: f64 = 0.05;
const KNIFE_EDGE_WIDTH: f64 = 0.02;
/// Gopher keeps documents of 50 words or more; a median below twice that means most kept documents are
/// barely above the floor, short for language-model pretraining contexts.
const SHORT_MEDIAN_WORDS: f64 = 100.0;
/// Dedup removing at least this share means the sources overlap or the crawl repeats itself: worth
/// deduplicating before filtering next time (it is cheaper) and checking the source mix.
const DUPLICATE_SHARE: f64 = 0.10;
/// Errors above this share are more than the odd broken record.
const ERROR_SHARE: f64 = 0.01;

/// What a rule's drops usually mean, for the rules whose meaning is well known.
fn hint(step: &str, rule: &str) -> &'static str {
    match (step, rule) {
        (_, "too_few_sentences") => {
            "the input may be short-form text (titles, snippets, product listings); C4 keeps pages of at least 5 sentences"
        }
        (_, "gopher_short_doc") | (_, "min_words") | (_, "min_tokens") | (_, "empty") => {
            "the documents are short: check the extraction, or lower the minimum if short texts are wanted"
        }
        (_, "gopher_enough_stop_words") => {
            "few English stop words: the input may not be English (the rule is English-only; set language.allow)"
        }
        (_, "gopher_below_alpha_threshold") | (_, "alnum_ratio") => {
            "many words without letters: tables, numbers, code or markup left in the text"
        }
        (_, "line_punct_ratio") | (_, "short_line_ratio") | (_, "list_ratio") => {
            "lines without end punctuation: menus, lists and headings; the HTML extraction may keep boilerplate"
        }
        (_, r)
            if r.starts_with("dup_") || r.starts_with("top_") || r.starts_with("duplicated_") =>
        {
            "repeated lines or n-grams: templated pages and boilerplate"
        }
        (_, "repeated_ngram_ratio") | (_, "char_dup_ratio") => {
            "repeated text: templated pages and boilerplate"
        }
        (_, "language_not_allowed") => {
            "documents in other languages than language.allow: expected for a multilingual crawl"
        }
        (_, "language_low_confidence") => {
            "the language identifier is unsure: short or mixed-language texts"
        }
        (_, "quality_score") => "low quality score: short, fragmentary or incomplete sentences",
        (_, "curly_bracket") | (_, "javascript") => {
            "code in the text: the HTML extraction may keep scripts"
        }
        ("dedup", _) => "duplicates across the dataset",
        _ => "look at the dropped samples below for this reason",
    }
}

fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 {
        0.0
    } else {
        100.0 * part as f64 / whole as f64
    }
}

/// Every rule, in order of importance.
pub fn issues(facts: &Facts) -> Vec<Issue> {
    let mut out = Vec::new();
    accounting(facts, &mut out);
    errors(facts, &mut out);
    dominant_reasons(facts, &mut out);
    low_yield(facts, &mut out);
    source_yield(facts, &mut out);
    language_mix(facts, &mut out);
    pii_left(facts, &mut out);
    duplication(facts, &mut out);
    contamination(facts, &mut out);
    knife_edges(facts, &mut out);
    short_documents(facts, &mut out);
    partial_checks(facts, &mut out);
    out.sort_by_key(|i| i.level);
    out
}

/// The records on disk must add up to what stats.json says; unreadable lines and unfinished shards are
/// said, never skipped silently.
fn accounting(facts: &Facts, out: &mut Vec<Issue>) {
    let t = &facts.scan.total;
    if let Some(s) = &facts.stats
        && (s.docs_in, s.kept, s.dropped, s.errors) != (t.docs_in, t.kept, t.dropped, t.errors)
    {
        out.push(Issue {
            level: Level::Warning,
            rule: "records_disagree_with_stats",
            title: format!(
                "stats.json counts {} in = {} kept + {} dropped + {} errors, but the record files hold {} = {} + {} + {}",
                s.docs_in, s.kept, s.dropped, s.errors, t.docs_in, t.kept, t.dropped, t.errors
            ),
            detail: "The run may still be going, have been interrupted, or files were changed since. Re-run \
                     the same `tamis run` command to finish it; finished shards are kept."
                .into(),
        });
    }
    if facts.stats.is_none() {
        out.push(Issue {
            level: Level::Warning,
            rule: "no_stats",
            title: "No stats.json: the run has not finished".into(),
            detail: "The numbers here come from the record files alone.".into(),
        });
    }
    if facts.unfinished > 0 {
        out.push(Issue {
            level: Level::Warning,
            rule: "unfinished_shards",
            title: format!("{} unfinished shard file(s) (.tmp)", facts.unfinished),
            detail: "A run is in progress or was interrupted; they are not counted here.".into(),
        });
    }
    if facts.scan.unreadable_count > 0 {
        out.push(Issue {
            level: Level::Warning,
            rule: "unreadable_records",
            title: format!(
                "{} line(s) of the output files are not records tamis wrote",
                facts.scan.unreadable_count
            ),
            detail: format!("First: {}", facts.scan.unreadable.join("; ")),
        });
    }
}

fn errors(facts: &Facts, out: &mut Vec<Issue>) {
    let (docs_in, _, _, errors) = facts.totals();
    if errors == 0 {
        return;
    }
    let kinds = match &facts.stats {
        Some(s) if !s.errors_by_kind.is_empty() => s.errors_by_kind.clone(),
        _ => facts.scan.error_kinds.clone(),
    };
    let mut kinds: Vec<_> = kinds.into_iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let share = percent(errors, docs_in);
    out.push(Issue {
        level: if share / 100.0 >= ERROR_SHARE {
            Level::Warning
        } else {
            Level::Note
        },
        rule: "errors",
        title: format!("{errors} record(s) ({share:.1} %) could not be judged"),
        detail: format!(
            "By kind: {}. Each is in errors/ with its file, line and message.",
            kinds
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    });
}

fn dominant_reasons(facts: &Facts, out: &mut Vec<Issue>) {
    let (docs_in, _, _, errors) = facts.totals();
    let judged = docs_in.saturating_sub(errors);
    for ((step, rule), n) in facts.reasons() {
        let share = n as f64 / judged.max(1) as f64;
        if share >= DOMINANT_REASON_SHARE && n >= 10 {
            out.push(Issue {
                level: Level::Warning,
                rule: "dominant_reason",
                title: format!("{:.0} % dropped by {step} {rule}", share * 100.0),
                detail: format!(
                    "{}. {n} of {judged} documents judged. Look at the dropped samples and the histogram of \
                     this check; change the threshold or remove the step if it does not fit this input.",
                    capitalized(hint(&step, &rule))
                ),
            });
        }
    }
}

fn capitalized(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn low_yield(facts: &Facts, out: &mut Vec<Issue>) {
    let (docs_in, kept, _, _) = facts.totals();
    if docs_in < 10 {
        return;
    }
    let share = kept as f64 / docs_in as f64;
    if share < LOW_YIELD_SHARE {
        out.push(Issue {
            level: Level::Warning,
            rule: "low_yield",
            title: format!("Only {:.1} % of the documents were kept", share * 100.0),
            detail: "Most of the input is thrown away: check that it is the kind of text the config expects \
                     (see the funnel for where it goes) before processing more of it."
                .into(),
        });
    }
}

fn source_yield(facts: &Facts, out: &mut Vec<Issue>) {
    let t = &facts.scan.total;
    if facts.scan.sources.len() < 2 || t.docs_in == 0 {
        return;
    }
    let overall = t.kept as f64 / t.docs_in as f64;
    let weights: Vec<(String, f64)> = facts
        .config
        .as_ref()
        .map(|c| {
            let total: f64 = c.sample.datasets.iter().map(|d| d.weight).sum();
            c.sample
                .datasets
                .iter()
                .map(|d| (d.name.clone(), d.weight / total.max(f64::MIN_POSITIVE)))
                .collect()
        })
        .unwrap_or_default();
    for (source, f) in &facts.scan.sources {
        if f.docs_in < SOURCE_MIN_DOCS {
            continue;
        }
        let rate = f.kept as f64 / f.docs_in as f64;
        if rate < overall * SOURCE_YIELD_RATIO {
            let weight = weights
                .iter()
                .find(|(n, _)| n == source)
                .map(|(_, w)| {
                    format!(
                        " It was sampled at weight {:.0} % but is {:.1} % of what was kept; raise its weight \
                         in [sample] or give it a config of its own if it is wanted.",
                        w * 100.0,
                        percent(f.kept, t.kept)
                    )
                })
                .unwrap_or_default();
            let top = f
                .reasons
                .iter()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0)))
                .map(|((s, r), n)| format!(" Its main reason: {s} {r} ({n})."))
                .unwrap_or_default();
            out.push(Issue {
                level: Level::Warning,
                rule: "source_yield",
                title: format!(
                    "Source {source} keeps {:.1} % of its documents, against {:.1} % overall",
                    rate * 100.0,
                    overall * 100.0
                ),
                detail: format!("{}{}", top.trim_start(), weight),
            });
        }
    }
}

fn language_mix(facts: &Facts, out: &mut Vec<Issue>) {
    let Some(config) = &facts.config else { return };
    if !config.steps.iter().any(|s| s.as_str() == "language") || !config.language.allow.is_empty() {
        return;
    }
    let kept: u64 = facts.scan.languages.values().map(|(k, _)| k).sum();
    let Some((main, n)) = facts
        .scan
        .languages
        .iter()
        .map(|(code, (k, _))| (code, *k))
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
    else {
        return;
    };
    if kept >= 10 && (n as f64) < MAIN_LANGUAGE_SHARE * kept as f64 {
        out.push(Issue {
            level: Level::Note,
            rule: "language_mix",
            title: format!(
                "{:.1} % of the kept documents are not in {main}, the main language",
                100.0 - percent(n, kept)
            ),
            detail: format!(
                "language.allow is empty, so every language is kept. For a {main}-only dataset set \
                 language.allow = [\"{main}\"]; the quality rules (stop words, sentence splitting) are tuned \
                 for English."
            ),
        });
    }
}

fn pii_left(facts: &Facts, out: &mut Vec<Issue>) {
    let Some(config) = &facts.config else { return };
    let modes = serde_json::to_value(&config.pii).unwrap_or_default();
    let mut detected = Vec::new();
    for (kind, tally) in &facts.scan.pii {
        let mode = modes
            .get(kind)
            .and_then(|k| k.get("mode"))
            .and_then(|m| m.as_str())
            .unwrap_or("");
        if mode == "detect" {
            detected.push(format!(
                "{kind} {} in {} documents",
                tally.spans, tally.documents
            ));
        }
    }
    if !detected.is_empty() {
        out.push(Issue {
            level: Level::Warning,
            rule: "pii_left_in_text",
            title: "Personal data left unchanged in kept documents (mode \"detect\")".into(),
            detail: format!(
                "{}. Set the kind's mode to tag, hash or mask to scrub it.",
                detected.join(", ")
            ),
        });
    }
    if let Some(secret) = facts.scan.pii.get("secret") {
        out.push(Issue {
            level: Level::Warning,
            rule: "secrets",
            title: format!(
                "{} secret(s) (keys, tokens) found in {} kept documents",
                secret.spans, secret.documents
            ),
            detail: "Credentials in training data can be memorized and leaked: review the sources they come \
                     from, even though tamis replaced them."
                .into(),
        });
    }
}

fn duplication(facts: &Facts, out: &mut Vec<Issue>) {
    match &facts.dedup {
        Some(d) if d.docs_in > 0 => {
            let share = d.dropped as f64 / d.docs_in as f64;
            if share >= DUPLICATE_SHARE {
                out.push(Issue {
                    level: Level::Warning,
                    rule: "duplication",
                    title: format!("Dedup removed {:.1} % of the documents", share * 100.0),
                    detail: format!(
                        "{} clusters of duplicates; by reason: {}. The sources overlap or repeat themselves: \
                         running dedup before the filters saves judging the copies.",
                        d.clusters,
                        d.dropped_by_reason
                            .iter()
                            .map(|(k, n)| format!("{k} {n}"))
                            .collect::<Vec<_>>()
                            .join(", ")
                    ),
                });
            }
        }
        Some(_) => {}
        None => out.push(Issue {
            level: Level::Note,
            rule: "no_dedup",
            title: "No dedup output found".into(),
            detail: "Web text repeats itself; run `tamis dedup` on the kept records and give its output to \
                     `tamis report --dedup DIR` (or put it beside the run)."
                .into(),
        }),
    }
}

fn contamination(facts: &Facts, out: &mut Vec<Issue>) {
    if let Some(d) = &facts.decontaminate
        && d.contaminated > 0
    {
        out.push(Issue {
            level: Level::Warning,
            rule: "contamination",
            title: format!(
                "{} document(s) share {}-grams with benchmark items",
                d.contaminated, d.ngram
            ),
            detail: format!(
                "By benchmark: {}. Keep them out of training data, or evaluations on those benchmarks \
                 overstate the model.",
                d.by_benchmark
                    .iter()
                    .map(|(k, n)| format!("{k} {n}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
}

fn knife_edges(facts: &Facts, out: &mut Vec<Issue>) {
    for ((step, rule), tally) in &facts.scan.checks {
        let n = tally.values.count();
        if n < 20 {
            continue;
        }
        let t = tally.threshold();
        // Relative width around the threshold; an absolute one around 0, where relative means nothing.
        let half = (t.abs() * KNIFE_EDGE_WIDTH).max(1e-9);
        let near = tally.values.count_between(t - half, t + half);
        // Values equal to the threshold of a boolean rule (0/1) are not a knife edge.
        if t == 0.0 || t == 1.0 && tally.values.max() <= 1.0 && tally.values.min() >= 0.0 {
            continue;
        }
        // Nor are counts at a small whole threshold (FineWeb's `empty`: at least 1 non-empty line): a window
        // under one unit holds only the documents equal to the threshold, and a threshold on a count moves by
        // whole units, never by 2 %.
        if tally.fractional == 0 && half < 1.0 {
            continue;
        }
        if near as f64 >= KNIFE_EDGE_SHARE * n as f64 {
            out.push(Issue {
                level: Level::Note,
                rule: "threshold_in_the_bulk",
                title: format!(
                    "{:.1} % of the documents sit within 2 % of the {step} {rule} threshold ({t})",
                    percent(near, n)
                ),
                detail: "A small change of this threshold moves many documents in or out; see its histogram."
                    .into(),
            });
        }
    }
}

fn short_documents(facts: &Facts, out: &mut Vec<Issue>) {
    let words = &facts.scan.words;
    if words.count() < 10 {
        return;
    }
    let median = words.quantile(0.5);
    if median < SHORT_MEDIAN_WORDS {
        out.push(Issue {
            level: Level::Note,
            rule: "short_documents",
            title: format!("Kept documents are short: median {median:.0} words"),
            detail: "Most kept documents are barely above the usual 50-word floor; for long-context training \
                     raise the minimum length or add longer sources."
                .into(),
        });
    }
}

fn partial_checks(facts: &Facts, out: &mut Vec<Issue>) {
    if let Some(config) = &facts.config
        && !config.evaluate_all
        && facts.scan.judged
    {
        out.push(Issue {
            level: Level::Note,
            rule: "evaluate_all_off",
            title: "Checks stop at each document's first failure (evaluate_all = false)".into(),
            detail: "The check histograms show only the documents that reached each step. Set \
                     evaluate_all = true to see every rule's values on every document."
                .into(),
        });
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::report::scan::{CheckTally, Funnel, Scan};
    use crate::report::{RunStats, StepCount};
    use tamis_core::{Bound, Config};

    fn facts(stats: RunStats, scan: Scan, config: Option<Config>) -> Facts {
        Facts {
            name: "t".into(),
            license: "other".into(),
            stats: Some(stats),
            config,
            scan,
            layout: BTreeMap::new(),
            unfinished: 0,
            dedup: None,
            decontaminate: None,
            issues: Vec::new(),
        }
    }

    fn run(docs_in: u64, kept: u64, reasons: &[(&str, &str, u64)]) -> (RunStats, Scan) {
        let dropped: u64 = reasons.iter().map(|r| r.2).sum();
        let mut steps: Vec<StepCount> = Vec::new();
        let mut total = Funnel {
            docs_in,
            kept,
            dropped,
            ..Default::default()
        };
        for (step, rule, n) in reasons {
            total
                .reasons
                .insert((step.to_string(), rule.to_string()), *n);
            match steps.iter_mut().find(|s| s.step == *step) {
                Some(s) => {
                    s.dropped += n;
                    s.reasons.insert(rule.to_string(), *n);
                }
                None => steps.push(StepCount {
                    step: step.to_string(),
                    docs_in,
                    dropped: *n,
                    reasons: [(rule.to_string(), *n)].into(),
                }),
            }
        }
        let stats = RunStats {
            docs_in,
            kept,
            dropped,
            errors: docs_in - kept - dropped,
            steps,
            ..Default::default()
        };
        total.errors = stats.errors;
        let scan = Scan {
            total,
            ..Default::default()
        };
        (stats, scan)
    }

    fn rules(issues: &[Issue]) -> Vec<&'static str> {
        issues.iter().map(|i| i.rule).collect()
    }

    #[test]
    fn a_rule_dropping_a_fifth_of_the_documents_is_named_with_its_hint() {
        let (stats, scan) = run(
            100,
            50,
            &[
                ("c4_quality", "too_few_sentences", 42),
                ("gopher_quality", "gopher_short_doc", 8),
            ],
        );
        let issues = issues(&facts(stats, scan, None));
        let dominant: Vec<_> = issues
            .iter()
            .filter(|i| i.rule == "dominant_reason")
            .collect();
        assert_eq!(dominant.len(), 1, "{issues:?}");
        assert_eq!(
            dominant[0].title,
            "42 % dropped by c4_quality too_few_sentences"
        );
        assert!(
            dominant[0]
                .detail
                .starts_with("The input may be short-form text")
        );
        // 50 % kept is not a low yield; 8 % for one rule is not dominant.
        assert!(!rules(&issues).contains(&"low_yield"));
    }

    #[test]
    fn low_yield_errors_and_disagreeing_records_are_warnings() {
        let (stats, mut scan) = run(100, 20, &[("heuristics", "min_words", 78)]);
        scan.total.kept = 19;
        let issues = issues(&facts(stats, scan, None));
        let names = rules(&issues);
        for rule in [
            "low_yield",
            "errors",
            "records_disagree_with_stats",
            "dominant_reason",
        ] {
            assert!(names.contains(&rule), "{rule} missing from {names:?}");
        }
        assert!(
            issues
                .iter()
                .take_while(|i| i.level == Level::Warning)
                .count()
                >= 4
        );
        let errors = issues.iter().find(|i| i.rule == "errors").unwrap();
        assert_eq!(errors.title, "2 record(s) (2.0 %) could not be judged");
        assert_eq!(errors.level, Level::Warning);
    }

    #[test]
    fn a_source_far_below_the_run_keep_rate_is_named_with_its_weight() {
        let (stats, mut scan) = run(100, 50, &[("c4_quality", "too_few_sentences", 50)]);
        scan.sources.insert(
            "web".into(),
            Funnel {
                docs_in: 60,
                kept: 45,
                dropped: 15,
                ..Default::default()
            },
        );
        let mut weak = Funnel {
            docs_in: 40,
            kept: 5,
            dropped: 35,
            ..Default::default()
        };
        weak.reasons
            .insert(("c4_quality".into(), "too_few_sentences".into()), 35);
        scan.sources.insert("forum".into(), weak);
        let config = Config::from_toml(
            "[sample]\ntarget_samples = 100\n[[sample.datasets]]\nname = \"web\"\npath = [\"w\"]\nweight = 0.6\n\
             [[sample.datasets]]\nname = \"forum\"\npath = [\"f\"]\nweight = 0.4\n",
        )
        .unwrap();
        let issues = issues(&facts(stats, scan, Some(config)));
        let found: Vec<_> = issues.iter().filter(|i| i.rule == "source_yield").collect();
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].title,
            "Source forum keeps 12.5 % of its documents, against 50.0 % overall"
        );
        assert!(
            found[0].detail.contains("weight 40 %")
                && found[0].detail.contains("10.0 % of what was kept")
        );
    }

    #[test]
    fn a_threshold_in_the_bulk_of_its_values_is_noted_and_one_at_the_edge_is_not() {
        let (stats, mut scan) = run(100, 100, &[]);
        let tally = |values: &[f64], threshold: f64| {
            let mut t = CheckTally {
                values: Default::default(),
                bound: Bound::AtLeast,
                thresholds: [(threshold.to_bits(), values.len() as u64)].into(),
                failed: 0,
                reason: 0,
                fractional: values.iter().filter(|v| v.fract() != 0.0).count() as u64,
            };
            values.iter().for_each(|v| t.values.add(*v));
            t
        };
        let bulk: Vec<f64> = (0..100).map(|i| 0.45 + i as f64 * 0.001).collect();
        let spread: Vec<f64> = (0..100).map(|i| i as f64).collect();
        scan.checks.insert(
            ("quality_score".into(), "quality_score".into()),
            tally(&bulk, 0.5),
        );
        scan.checks.insert(
            ("heuristics".into(), "min_words".into()),
            tally(&spread, 500.0),
        );
        // Half the documents have exactly one non-empty line, FineWeb's `empty` threshold: not a knife edge.
        let lines: Vec<f64> = (0..100).map(|i| (1 + i % 2 * i) as f64).collect();
        scan.checks.insert(
            ("fineweb_quality".into(), "empty".into()),
            tally(&lines, 1.0),
        );
        let issues = issues(&facts(stats, scan, None));
        let edges: Vec<_> = issues
            .iter()
            .filter(|i| i.rule == "threshold_in_the_bulk")
            .collect();
        assert_eq!(edges.len(), 1, "{issues:?}");
        assert!(
            edges[0]
                .title
                .contains("quality_score quality_score threshold (0.5)")
        );
    }

    #[test]
    fn without_a_dedup_output_the_report_recommends_one() {
        let (stats, scan) = run(10, 10, &[]);
        let issues = issues(&facts(stats, scan, None));
        assert_eq!(rules(&issues), vec!["no_dedup"]);
    }
}
