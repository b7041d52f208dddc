//! The page: one HTML file with its CSS and its SVG charts inline, no script and no link to anything
//! outside it, so it opens from disk, offline, and can be mailed or archived as it is.
//!
//! Numbers a test or a script may want to read back carry `data-` attributes (`data-count="kept"`,
//! `data-reason="step/rule"` with `data-n`), and every chart is a `<figure data-chart="...">` with its
//! title in the `<figcaption>`.

use std::fmt::Write;

use anyhow::Result;
use tamis_core::{Bound, ConfigFormat};

use super::advice::Level;
use super::chart::{self, Bars, Histogram};
use super::distribution::Distribution;
use super::scan::{CheckTally, Sample};
use super::{Facts, FunnelStep};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A number with thousands separated by a thin space: `12 345`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    out
}

fn pct(part: u64, whole: u64) -> String {
    if whole == 0 {
        "–".into()
    } else {
        format!("{:.1} %", 100.0 * part as f64 / whole as f64)
    }
}

/// A measured value as the checks print it: integers bare, others with up to 3 decimals.
fn value(v: f64) -> String {
    if v == v.round() && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.3}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

const STYLE: &str = r#"
:root { color-scheme: light; --ink: #1d2430; --muted: #5a6472; --line: #d9dee5; --kept: #377eb8; --dropped: #ff7f00; --warn: #b3261e; --note: #35608f; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--ink); background: #f6f7f9; }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 20px 32px 12px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: var(--muted); }
nav { position: sticky; top: 0; z-index: 1; background: #fff; border-bottom: 1px solid var(--line); padding: 6px 32px; display: flex; flex-wrap: wrap; gap: 4px 16px; font-size: 14px; }
nav a { color: var(--note); text-decoration: none; }
nav a:hover { text-decoration: underline; }
main { max-width: 1180px; margin: 0 auto; padding: 8px 32px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 18px 0; }
h2 { font-size: 19px; margin: 0 0 10px; }
h3 { font-size: 16px; margin: 18px 0 8px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 10px; margin: 16px 0 0; }
.cards div { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.cards dt { color: var(--muted); font-size: 13px; }
.cards dd { margin: 0; font-size: 22px; font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; margin: 8px 0; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f2f5; font-weight: 600; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
figure { margin: 8px 0; }
figcaption { font-weight: 600; font-size: 14px; margin-bottom: 2px; }
figure svg { max-width: 100%; height: auto; display: block; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(430px, 1fr)); gap: 8px 18px; }
.issue { border-left: 4px solid var(--note); padding: 6px 12px; margin: 8px 0; background: #f4f7fb; }
.issue.warning { border-color: var(--warn); background: #fcf3f2; }
.issue b { display: block; }
.issue .level { text-transform: uppercase; font-size: 11px; letter-spacing: .05em; color: var(--muted); }
.samples { display: grid; grid-template-columns: repeat(auto-fill, minmax(340px, 1fr)); gap: 10px; }
.sample { border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; font-size: 13px; }
.sample.kept { border-top: 3px solid var(--kept); }
.sample.dropped { border-top: 3px solid var(--dropped); }
.sample .meta { color: var(--muted); }
.sample .reason { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; font-size: 12px; color: var(--warn); }
.sample blockquote { margin: 6px 0 0; padding: 6px 8px; background: #f6f7f9; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 220px; overflow: auto; }
pre { background: #f6f7f9; padding: 10px; overflow: auto; font-size: 12px; }
.muted { color: var(--muted); }
footer { text-align: center; color: var(--muted); font-size: 13px; padding: 0 0 24px; }
"#;

/// A chart with its id and title.
struct Figure {
    id: String,
    title: String,
    svg: String,
}

impl Figure {
    fn html(&self) -> String {
        format!(
            "<figure data-chart=\"{}\" role=\"img\" aria-label=\"{}\"><figcaption>{}</figcaption>{}</figure>\n",
            escape(&self.id),
            escape(&self.title),
            escape(&self.title),
            self.svg
        )
    }
}

/// Bins of a distribution on a log axis, for lengths (characters, words, tokens).
fn length_histogram(d: &Distribution, x_label: &str) -> Result<String> {
    let lo = d.min().max(1.0);
    let hi = d.max().max(lo * 2.0);
    let bins = 36;
    let counts = d.rebin_log(lo, hi, bins);
    let ratio = (hi / lo).powf(1.0 / bins as f64);
    let edges: Vec<f64> = (0..=bins).map(|i| lo * ratio.powi(i as i32)).collect();
    Histogram {
        x_label,
        edges,
        counts: counts.into_iter().map(|n| vec![n]).collect(),
        series: vec![("kept", chart::FIRST)],
        log_x: true,
        threshold: None,
        size: (540, 260),
    }
    .svg()
}

/// The x range a check's chart shows: the bulk of its values (1st to 99th percentile) and the threshold,
/// unless the threshold is so far off that showing it would squeeze the values into one bar. Returns the
/// range and whether the threshold is in it.
fn check_range(d: &Distribution, t: f64) -> (f64, f64, bool) {
    let (mut lo, mut hi) = (d.quantile(0.01).min(d.min()), d.quantile(0.99).max(d.max()));
    // Long tails: the exact extremes only when they are not far beyond the 1st/99th percentiles.
    let (q1, q99) = (d.quantile(0.01), d.quantile(0.99));
    let span = (q99 - q1).abs().max(1e-9);
    if hi - q99 > 2.0 * span {
        hi = q99;
    }
    if q1 - lo > 2.0 * span {
        lo = q1;
    }
    let span = (hi - lo).max(1e-9);
    let shown = t >= lo - 3.0 * span && t <= hi + 3.0 * span;
    if shown {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    if hi - lo < 1e-9 {
        let pad = if lo.abs() >= 1.0 { lo.abs() * 0.1 } else { 0.5 };
        lo -= pad;
        hi += pad;
    }
    let pad = (hi - lo) * 0.04;
    let (lo, hi) = (lo - pad, hi + pad);
    if lo.is_finite() && hi.is_finite() && hi > lo {
        (lo, hi, shown && t.is_finite())
    } else {
        // Values or a threshold near the ends of the f64 range: the values alone, without the threshold.
        let (a, b) = (d.min(), d.max());
        if a.is_finite() && b.is_finite() && b - a > 0.0 && (b - a).is_finite() {
            (a, b, false)
        } else {
            (a.clamp(-1e300, 0.0) - 1.0, b.clamp(0.0, 1e300) + 1.0, false)
        }
    }
}

fn bound_symbol(bound: Bound) -> &'static str {
    bound.passing_symbol()
}

/// A check's histogram: passing values blue, failing orange, the threshold as a red line.
fn check_histogram(step: &str, rule: &str, tally: &CheckTally) -> Result<String> {
    let t = tally.threshold();
    let (lo, hi, shown) = check_range(&tally.values, t);
    let bins = 30;
    let width = (hi - lo) / bins as f64;
    let mut counts = vec![vec![0u64, 0u64]; bins];
    for (v, n) in tally.values.points() {
        let i = (((v - lo) / width).floor().max(0.0) as usize).min(bins - 1);
        let part = usize::from(!tally.bound.passes(v, t));
        counts[i][part] += n;
    }
    let edges: Vec<f64> = (0..=bins).map(|i| lo + width * i as f64).collect();
    let label = if shown {
        format!("passes {} {}", bound_symbol(tally.bound), value(t))
    } else {
        format!("threshold {} off the axis", value(t))
    };
    Histogram {
        x_label: &format!("{step} / {rule}"),
        edges,
        counts,
        series: vec![("passed", chart::FIRST), ("failed", chart::SECOND)],
        log_x: false,
        threshold: Some((if shown { t } else { f64::NAN }, label)).filter(|(x, _)| x.is_finite()),
        size: (430, 220),
    }
    .svg()
}

/// The quality score of kept and dropped documents, with the configured threshold.
fn quality_histogram(facts: &Facts) -> Result<Option<String>> {
    let (kept, dropped) = (&facts.scan.quality_kept, &facts.scan.quality_dropped);
    if kept.count() + dropped.count() == 0 {
        return Ok(None);
    }
    let bins = 40;
    let (a, b) = (kept.rebin(0.0, 1.0, bins), dropped.rebin(0.0, 1.0, bins));
    let threshold = facts
        .scan
        .checks
        .get(&("quality_score".to_string(), "quality_score".to_string()))
        .map(|c| c.threshold());
    Ok(Some(
        Histogram {
            x_label: "quality score (0-1)",
            edges: (0..=bins).map(|i| i as f64 / bins as f64).collect(),
            counts: a.into_iter().zip(b).map(|(k, d)| vec![k, d]).collect(),
            series: vec![("kept", chart::FIRST), ("dropped", chart::SECOND)],
            log_x: false,
            threshold: threshold.map(|t| (t, format!("threshold {}", value(t)))),
            size: (540, 260),
        }
        .svg()?,
    ))
}

fn stats_row(name: &str, d: &Distribution) -> String {
    format!(
        "<tr data-metric=\"{name}\"><td>{name}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\" data-sum=\"{}\">{}</td></tr>\n",
        count(d.count()),
        value(d.min()),
        value(d.quantile(0.1).round()),
        value(d.quantile(0.5).round()),
        value(d.quantile(0.9).round()),
        value(d.quantile(0.99).round()),
        value(d.max()),
        value((d.mean() * 10.0).round() / 10.0),
        d.sum() as u64,
        count(d.sum() as u64),
    )
}

/// The step that kept or dropped the sample, and what it looked like.
fn sample_html(s: &Sample) -> String {
    let mut meta = vec![format!("source {}", escape(&s.source))];
    if let Some(l) = &s.language {
        meta.push(format!("language {}", escape(l)));
    }
    if let Some(q) = s.quality {
        meta.push(format!("quality {q:.2}"));
    }
    meta.push(format!(
        "{} words, {} characters",
        count(s.words),
        count(s.chars)
    ));
    format!(
        "<div class=\"sample {}\" data-sample=\"{}\"><b>{}</b> <span class=\"muted\">{}</span><br><span class=\"meta\">{}</span>{}<blockquote>{}{}</blockquote></div>\n",
        s.class.as_str(),
        s.class.as_str(),
        escape(&s.id),
        escape(&s.place),
        meta.join(" · "),
        s.reason
            .as_ref()
            .map(|r| format!("<div class=\"reason\">{}</div>", escape(r)))
            .unwrap_or_default(),
        escape(&s.excerpt),
        if s.truncated { " …" } else { "" },
    )
}

/// The page.
pub fn render(facts: &Facts) -> Result<String> {
    let (docs_in, kept, dropped, errors) = facts.totals();
    let mut body = String::new();
    let mut nav: Vec<(&str, &str)> = Vec::new();
    let w = &mut body;

    // Issues first: they are what to act on.
    nav.push(("issues", "Issues"));
    writeln!(
        w,
        "<section id=\"issues\"><h2>Issues and recommendations</h2>"
    )?;
    if facts.issues.is_empty() {
        writeln!(w, "<p class=\"muted\">Nothing stands out.</p>")?;
    }
    for issue in &facts.issues {
        writeln!(
            w,
            "<div class=\"issue {}\" data-issue=\"{}\"><span class=\"level\">{}</span><b>{}</b>{}</div>",
            issue.level.as_str(),
            issue.rule,
            issue.level.as_str(),
            escape(&issue.title),
            escape(&issue.detail)
        )?;
    }
    writeln!(w, "</section>")?;

    // The funnel.
    nav.push(("funnel", "Funnel"));
    let funnel = facts.funnel();
    writeln!(w, "<section id=\"funnel\"><h2>Funnel</h2>")?;
    writeln!(
        w,
        "<p>{} documents in: {} kept, {} dropped, {} errors. Each step drops the documents whose first failed check is one of its rules.</p>",
        count(docs_in),
        count(kept),
        count(dropped),
        count(errors)
    )?;
    let mut bars: Vec<(String, Vec<u64>)> = vec![("docs in".into(), vec![docs_in])];
    if errors > 0 {
        bars.push((
            "judged (less errors)".into(),
            vec![docs_in - errors.min(docs_in)],
        ));
    }
    for s in &funnel {
        bars.push((format!("after {}", s.step), vec![s.left]));
    }
    let mut after = kept;
    if let Some(d) = &facts.dedup
        && d.docs_in == after
    {
        bars.push(("after dedup".into(), vec![d.kept]));
        after = d.kept;
    }
    if let Some(d) = &facts.decontaminate
        && d.docs_in == after
    {
        bars.push(("after decontaminate".into(), vec![d.kept]));
    }
    let mut figures = vec![Figure {
        id: "funnel".into(),
        title: "Documents left after each step".into(),
        svg: Bars {
            x_label: "documents",
            bars,
            parts: vec![("documents", chart::FIRST)],
            width: 760,
        }
        .svg()?,
    }];
    let reasons = facts.reasons();
    if !reasons.is_empty() {
        figures.push(Figure {
            id: "reasons".into(),
            title: "Drops by reason (top 15)".into(),
            svg: Bars {
                x_label: "documents dropped",
                bars: reasons
                    .iter()
                    .take(15)
                    .map(|((s, r), n)| (format!("{s} / {r}"), vec![*n]))
                    .collect(),
                parts: vec![("dropped", chart::SECOND)],
                width: 760,
            }
            .svg()?,
        });
    }
    for f in figures.drain(..) {
        w.push_str(&f.html());
    }
    writeln!(
        w,
        "<table><tr><th>step</th><th class=\"n\">docs in</th><th class=\"n\">dropped</th><th class=\"n\">of judged</th><th class=\"n\">left</th><th>drops by rule</th></tr>"
    )?;
    let judged = docs_in - errors.min(docs_in);
    for FunnelStep {
        step,
        docs_in: reached,
        dropped,
        left,
        reasons,
    } in &funnel
    {
        writeln!(
            w,
            "<tr data-step=\"{}\" data-dropped=\"{dropped}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
            escape(step),
            escape(step),
            count(*reached),
            count(*dropped),
            pct(*dropped, judged),
            count(*left),
            reasons
                .iter()
                .map(|(r, n)| format!("{} {}", escape(r), count(*n)))
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(w, "</table>")?;
    writeln!(
        w,
        "<h3>Every reason</h3><table><tr><th>step</th><th>rule</th><th class=\"n\">dropped</th><th class=\"n\">of docs in</th></tr>"
    )?;
    for ((s, r), n) in &reasons {
        writeln!(
            w,
            "<tr data-reason=\"{}/{}\" data-n=\"{n}\"><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            escape(s),
            escape(r),
            escape(s),
            escape(r),
            count(*n),
            pct(*n, docs_in)
        )?;
    }
    writeln!(w, "</table></section>")?;

    // Sources.
    let sources = &facts.scan.sources;
    if !sources.is_empty() {
        nav.push(("sources", "Sources"));
        writeln!(w, "<section id=\"sources\"><h2>Sources</h2>")?;
        writeln!(
            w,
            "<p class=\"muted\">A record's source is its <code>metadata.source</code> (written by <code>tamis sample</code>), else the folder it was read from.</p>"
        )?;
        let weights: Vec<(String, f64, String)> = facts
            .config
            .as_ref()
            .map(|c| {
                let total: f64 = c.sample.datasets.iter().map(|d| d.weight).sum();
                c.sample
                    .datasets
                    .iter()
                    .map(|d| {
                        (
                            d.name.clone(),
                            d.weight / total.max(f64::MIN_POSITIVE),
                            d.config.clone().unwrap_or_default(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        w.push_str(
            &Figure {
                id: "sources".into(),
                title: "Documents per source".into(),
                svg: Bars {
                    x_label: "documents",
                    bars: sources
                        .iter()
                        .map(|(s, f)| (s.clone(), vec![f.kept, f.dropped, f.errors]))
                        .collect(),
                    parts: vec![
                        ("kept", chart::FIRST),
                        ("dropped", chart::SECOND),
                        ("errors", chart::THIRD),
                    ],
                    width: 760,
                }
                .svg()?,
            }
            .html(),
        );
        writeln!(
            w,
            "<table><tr><th>source</th><th class=\"n\">weight</th><th class=\"n\">docs in</th><th class=\"n\">kept</th><th class=\"n\">dropped</th><th class=\"n\">errors</th><th class=\"n\">keep rate</th><th class=\"n\">share of kept</th><th>main reasons</th></tr>"
        )?;
        let total_kept = facts.scan.total.kept;
        for (s, f) in sources {
            let weight = weights
                .iter()
                .find(|(n, ..)| n == s)
                .map(|(_, w, _)| format!("{:.1} %", w * 100.0))
                .unwrap_or_else(|| "–".into());
            let mut top: Vec<_> = f.reasons.iter().collect();
            top.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            writeln!(
                w,
                "<tr data-source=\"{}\" data-docs-in=\"{}\" data-kept=\"{}\" data-dropped=\"{}\" data-errors=\"{}\"><td>{}</td><td class=\"n\">{weight}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>",
                escape(s),
                f.docs_in,
                f.kept,
                f.dropped,
                f.errors,
                escape(s),
                count(f.docs_in),
                count(f.kept),
                count(f.dropped),
                count(f.errors),
                pct(f.kept, f.docs_in),
                pct(f.kept, total_kept),
                top.iter()
                    .take(3)
                    .map(|((st, r), n)| format!("{} {} {}", escape(st), escape(r), count(**n)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(w, "</table></section>")?;
    }

    // Lengths, tokens and the quality score of kept documents.
    nav.push(("documents", "Documents"));
    writeln!(w, "<section id=\"documents\"><h2>Kept documents</h2>")?;
    writeln!(
        w,
        "<p class=\"muted\">Characters are Unicode scalar values and words whitespace-separated, of the cleaned text; tokens come from the run's <code>tokens</code> step. Percentiles are read from bins 2.2 % wide.</p><div class=\"grid\">"
    )?;
    let scan = &facts.scan;
    if scan.chars.count() > 0 {
        w.push_str(
            &Figure {
                id: "chars".into(),
                title: "Characters per kept document".into(),
                svg: length_histogram(&scan.chars, "characters (log scale)")?,
            }
            .html(),
        );
        w.push_str(
            &Figure {
                id: "words".into(),
                title: "Words per kept document".into(),
                svg: length_histogram(&scan.words, "words (log scale)")?,
            }
            .html(),
        );
    }
    if scan.tokens.count() > 0 {
        w.push_str(
            &Figure {
                id: "tokens".into(),
                title: "Tokens per kept document".into(),
                svg: length_histogram(&scan.tokens, "tokens (log scale)")?,
            }
            .html(),
        );
    }
    if let Some(svg) = quality_histogram(facts)? {
        w.push_str(
            &Figure {
                id: "quality".into(),
                title: "Quality score".into(),
                svg,
            }
            .html(),
        );
    }
    writeln!(w, "</div>")?;
    writeln!(
        w,
        "<table><tr><th>per kept document</th><th class=\"n\">documents</th><th class=\"n\">min</th><th class=\"n\">p10</th><th class=\"n\">p50</th><th class=\"n\">p90</th><th class=\"n\">p99</th><th class=\"n\">max</th><th class=\"n\">mean</th><th class=\"n\">total</th></tr>"
    )?;
    w.push_str(&stats_row("characters", &scan.chars));
    w.push_str(&stats_row("words", &scan.words));
    if scan.tokens.count() > 0 {
        w.push_str(&stats_row("tokens", &scan.tokens));
    }
    writeln!(
        w,
        "</table><p>Text kept: <span data-count=\"kept_bytes\">{}</span> bytes.</p></section>",
        scan.total.kept_bytes
    )?;

    // Checks against their thresholds.
    if !scan.checks.is_empty() {
        nav.push(("checks", "Checks"));
        writeln!(
            w,
            "<section id=\"checks\"><h2>Every check against its threshold</h2><p class=\"muted\">The values each rule measured on every document that reached it (kept and dropped); blue passes, orange fails, the red line is the threshold. Values beyond the 1st and 99th percentiles may be gathered in the edge bars.</p>"
        )?;
        writeln!(
            w,
            "<table><tr><th>step</th><th>rule</th><th>passes when</th><th class=\"n\">documents</th><th class=\"n\">failed</th><th class=\"n\">first failure</th><th class=\"n\">p50</th></tr>"
        )?;
        for ((step, rule), t) in &scan.checks {
            writeln!(
                w,
                "<tr data-check=\"{}/{}\" data-failed=\"{}\"><td>{}</td><td>{}</td><td>value {} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(step),
                escape(rule),
                t.failed,
                escape(step),
                escape(rule),
                bound_symbol(t.bound),
                value(t.threshold()),
                count(t.values.count()),
                count(t.failed),
                count(t.reason),
                value((t.values.quantile(0.5) * 1000.0).round() / 1000.0)
            )?;
        }
        writeln!(w, "</table><div class=\"grid\">")?;
        for ((step, rule), t) in &scan.checks {
            w.push_str(
                &Figure {
                    id: format!("check:{step}/{rule}"),
                    title: format!("{step} / {rule}"),
                    svg: check_histogram(step, rule, t)?,
                }
                .html(),
            );
        }
        writeln!(w, "</div></section>")?;
    }

    // Languages.
    if !scan.languages.is_empty() {
        nav.push(("languages", "Languages"));
        let mut langs: Vec<(&String, &(u64, u64))> = scan.languages.iter().collect();
        langs.sort_by(|a, b| (b.1.0 + b.1.1).cmp(&(a.1.0 + a.1.1)).then(a.0.cmp(b.0)));
        writeln!(w, "<section id=\"languages\"><h2>Languages</h2>")?;
        w.push_str(
            &Figure {
                id: "languages".into(),
                title: "Languages (top 15)".into(),
                svg: Bars {
                    x_label: "documents",
                    bars: langs
                        .iter()
                        .take(15)
                        .map(|(c, (k, d))| ((*c).clone(), vec![*k, *d]))
                        .collect(),
                    parts: vec![("kept", chart::FIRST), ("dropped", chart::SECOND)],
                    width: 760,
                }
                .svg()?,
            }
            .html(),
        );
        writeln!(
            w,
            "<table><tr><th>language (ISO 639-3)</th><th class=\"n\">kept</th><th class=\"n\">dropped</th><th class=\"n\">share of kept</th></tr>"
        )?;
        let kept_langs: u64 = langs.iter().map(|(_, (k, _))| k).sum();
        for (code, (k, d)) in &langs {
            writeln!(
                w,
                "<tr data-language=\"{}\" data-kept=\"{k}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(code),
                escape(code),
                count(*k),
                count(*d),
                pct(*k, kept_langs)
            )?;
        }
        writeln!(w, "</table></section>")?;
    }

    // Personal data.
    nav.push(("pii", "Personal data"));
    writeln!(
        w,
        "<section id=\"pii\"><h2>Personal data in kept documents</h2>"
    )?;
    if scan.pii.is_empty() {
        writeln!(
            w,
            "<p class=\"muted\">None found{}.</p>",
            match &facts.config {
                Some(c) if !c.steps.iter().any(|s| s.as_str() == "pii") =>
                    " (the run had no pii step)",
                _ => "",
            }
        )?;
    } else {
        w.push_str(
            &Figure {
                id: "pii".into(),
                title: "Personal data spans by kind".into(),
                svg: Bars {
                    x_label: "spans in kept documents",
                    bars: scan
                        .pii
                        .iter()
                        .map(|(k, t)| (k.clone(), vec![t.spans]))
                        .collect(),
                    parts: vec![("spans", chart::FIRST)],
                    width: 760,
                }
                .svg()?,
            }
            .html(),
        );
        writeln!(
            w,
            "<p>{} of {} kept documents hold personal data.</p><table><tr><th>kind</th><th class=\"n\">spans</th><th class=\"n\">documents</th></tr>",
            count(scan.kept_with_pii),
            count(scan.total.kept)
        )?;
        for (k, t) in &scan.pii {
            writeln!(
                w,
                "<tr data-pii=\"{}\" data-spans=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                escape(k),
                t.spans,
                escape(k),
                count(t.spans),
                count(t.documents)
            )?;
        }
        writeln!(w, "</table>")?;
    }
    writeln!(w, "</section>")?;

    // Dedup and decontamination.
    if let Some(d) = &facts.dedup {
        nav.push(("dedup", "Dedup"));
        writeln!(
            w,
            "<section id=\"dedup\"><h2>Dedup</h2><p>From <code>{}</code>: {} in, <span data-count=\"dedup_kept\">{}</span> kept, {} dropped ({}), {} errors; {} clusters holding {} documents; {} repeated paragraphs removed.</p>",
            escape(&d.dir.display().to_string()),
            count(d.docs_in),
            d.kept,
            count(d.dropped),
            d.dropped_by_reason
                .iter()
                .map(|(k, n)| format!("{} {}", escape(k), count(*n)))
                .collect::<Vec<_>>()
                .join(", "),
            count(d.errors),
            count(d.clusters),
            count(d.documents_in_clusters),
            count(d.paragraphs_removed)
        )?;
        if !d.size_histogram.is_empty() {
            w.push_str(
                &Figure {
                    id: "clusters".into(),
                    title: "Duplicate clusters by size".into(),
                    svg: Bars {
                        x_label: "clusters",
                        bars: d
                            .size_histogram
                            .iter()
                            .map(|(k, n)| (format!("{k} documents"), vec![*n]))
                            .collect(),
                        parts: vec![("clusters", chart::FIRST)],
                        width: 760,
                    }
                    .svg()?,
                }
                .html(),
            );
        }
        writeln!(w, "</section>")?;
    }
    if let Some(d) = &facts.decontaminate {
        nav.push(("decontamination", "Decontamination"));
        writeln!(
            w,
            "<section id=\"decontamination\"><h2>Decontamination</h2><p>From <code>{}</code>: {} in, {} kept, {} dropped, {} errors; <span data-count=\"contaminated\">{}</span> documents share {}-grams with benchmark items.</p>",
            escape(&d.dir.display().to_string()),
            count(d.docs_in),
            count(d.kept),
            count(d.dropped),
            count(d.errors),
            d.contaminated,
            d.ngram
        )?;
        if !d.by_benchmark.is_empty() {
            w.push_str(
                &Figure {
                    id: "benchmarks".into(),
                    title: "Contaminated documents by benchmark".into(),
                    svg: Bars {
                        x_label: "documents",
                        bars: d
                            .by_benchmark
                            .iter()
                            .map(|(k, n)| (k.clone(), vec![*n]))
                            .collect(),
                        parts: vec![("documents", chart::SECOND)],
                        width: 760,
                    }
                    .svg()?,
                }
                .html(),
            );
            writeln!(
                w,
                "<table><tr><th>document</th><th>benchmark</th><th>item</th><th>matched text</th></tr>"
            )?;
            for (id, b, item, span) in &d.examples {
                writeln!(
                    w,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                    escape(id),
                    escape(b),
                    escape(item),
                    escape(span)
                )?;
            }
            writeln!(w, "</table>")?;
        }
        writeln!(w, "</section>")?;
    }

    // Samples.
    nav.push(("samples", "Samples"));
    writeln!(
        w,
        "<section id=\"samples\"><h2>Samples</h2><p class=\"muted\">{} kept and {} dropped records drawn with a fixed seed (the same run always shows the same records); a dropped record shows its input text and the check it failed.</p>",
        scan.kept_samples.len(),
        scan.dropped_samples.len()
    )?;
    writeln!(w, "<h3>Kept</h3><div class=\"samples\">")?;
    for s in &scan.kept_samples {
        w.push_str(&sample_html(s));
    }
    writeln!(w, "</div><h3>Dropped</h3><div class=\"samples\">")?;
    for s in &scan.dropped_samples {
        w.push_str(&sample_html(s));
    }
    writeln!(w, "</div></section>")?;

    // The config.
    if let Some(config) = &facts.config {
        nav.push(("config", "Config"));
        let mut shown = config.clone();
        if !shown.pii.hash_key.is_empty() {
            shown.pii.hash_key = "(redacted)".into();
        }
        let text = shown
            .render(ConfigFormat::Toml)
            .map_err(|e| anyhow::anyhow!("rendering the config: {e}"))?;
        writeln!(
            w,
            "<section id=\"config\"><h2>Config</h2><details><summary>The run's config with every default filled in (the pii hash key left out)</summary><pre>{}</pre></details></section>",
            escape(&text)
        )?;
    }

    let level_counts = (
        facts
            .issues
            .iter()
            .filter(|i| i.level == Level::Warning)
            .count(),
        facts
            .issues
            .iter()
            .filter(|i| i.level == Level::Note)
            .count(),
    );
    let mut page = String::with_capacity(body.len() + 8192);
    write!(
        page,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{} — tamis report</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<header><h1>{}</h1><p>tamis {} report. {} warning(s), {} note(s).</p>\n<dl class=\"cards\">",
        escape(&facts.name),
        escape(&facts.name),
        env!("CARGO_PKG_VERSION"),
        level_counts.0,
        level_counts.1
    )?;
    for (key, label, n) in [
        ("docs_in", "docs in", docs_in),
        ("kept", "kept", kept),
        ("dropped", "dropped", dropped),
        ("errors", "errors", errors),
    ] {
        write!(
            page,
            "<div><dt>{label}</dt><dd data-count=\"{key}\">{}</dd></div>",
            count(n)
        )?;
    }
    write!(
        page,
        "<div><dt>keep rate</dt><dd>{}</dd></div><div><dt>text kept</dt><dd>{:.1} MB</dd></div></dl></header>\n<nav>",
        pct(kept, docs_in),
        facts.scan.total.kept_bytes as f64 / 1e6
    )?;
    for (id, label) in &nav {
        write!(page, "<a href=\"#{id}\">{label}</a>")?;
    }
    page.push_str("</nav>\n<main>\n");
    page.push_str(&body);
    page.push_str("</main>\n<footer>Made by <code>tamis report</code>; this page loads nothing from anywhere.</footer>\n</body>\n</html>\n");
    Ok(page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_and_numbers() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
        assert_eq!(count(1234567), "1\u{202f}234\u{202f}567");
        assert_eq!(count(999), "999");
        assert_eq!(value(50.0), "50");
        assert_eq!(value(0.61), "0.61");
        assert_eq!(pct(1, 3), "33.3 %");
    }

    #[test]
    fn a_far_threshold_is_left_off_the_axis_and_a_near_one_is_shown() {
        let mut d = Distribution::default();
        (50..500).for_each(|v| d.add(v as f64));
        let (lo, hi, shown) = check_range(&d, 100_000.0);
        assert!(!shown && hi < 1000.0, "{lo} {hi}");
        let (lo, hi, shown) = check_range(&d, 10.0);
        assert!(shown && lo < 10.0 && hi > 490.0, "{lo} {hi}");
    }
}
