//! What every step is built on: the [`Step`] trait, the [`Draft`] a step reads and rewrites, and the
//! [`Rules`] ledger that records each rule a step runs.
//!
//! This is the bottom of the core: steps import it and nothing above it (not the config, not the pipeline,
//! not the registry), so a step is one file that knows only its own options and these types.

use std::ops::ControlFlow;

use crate::analysis::{Analysis, Text};
use crate::error::StepError;
use crate::outcome::{Bound, Check, Hashes, LanguageGuess, Outcome, PiiSpan, Score, Verdict};

/// One judgment step.
pub trait Step: Send + Sync {
    /// Judges (and may rewrite) the draft. An `Err` means the document could not be judged at all;
    /// a document that fails a rule is recorded in the draft's [`Rules`] instead.
    fn run(&self, draft: &mut Draft) -> Result<(), StepError>;
}

/// Whether a step goes on to its next rule: `Break` after a failed rule, unless every rule is to be
/// evaluated. Rules return it so that a step reads as a list of `rules.at_least(...)?;` lines.
pub type Flow = ControlFlow<()>;

/// A document on its way through the pipeline.
#[derive(Debug, Clone)]
pub struct Draft {
    /// The document's id.
    pub id: String,
    /// The current text; read it with [`Draft::text`] or [`Draft::read`], rewrite it with
    /// [`Draft::set_text`], which drops the cached analysis of the old text.
    text: String,
    analysis: Analysis,
    /// The raw page, until the `html` step has turned it into text.
    pub html: Option<String>,
    /// The page URL, when the record has one.
    pub url: Option<String>,
    /// The page title, once the `html` step found one.
    pub title: Option<String>,
    /// What the page declares about itself (author, date, site name, language), from the `html` step.
    pub page: Option<crate::html::PageMeta>,
    /// Every rule run so far.
    pub checks: Vec<Check>,
    /// Personal data found so far.
    pub pii: Vec<PiiSpan>,
    /// The detected language.
    pub language: Option<LanguageGuess>,
    /// Scores recorded so far.
    pub scores: Vec<Score>,
    /// The fingerprint.
    pub hashes: Option<Hashes>,
    /// The token count.
    pub tokens: Option<u32>,
    evaluate_all: bool,
    step: &'static str,
}

impl Draft {
    /// A draft of a plain-text document, as a step sees it; for tests and for runtimes that drive single
    /// steps.
    pub fn new(id: impl Into<String>, text: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            text: text.into(),
            analysis: Analysis::default(),
            html: None,
            url: None,
            title: None,
            page: None,
            checks: Vec::new(),
            pii: Vec::new(),
            language: None,
            scores: Vec::new(),
            hashes: None,
            tokens: None,
            evaluate_all: false,
            step: "",
        }
    }

    /// Every rule runs even after a failure.
    pub fn with_evaluate_all(mut self, evaluate_all: bool) -> Self {
        self.evaluate_all = evaluate_all;
        self
    }

    /// Marks which step is running, so that its checks carry its name.
    pub fn enter(&mut self, step: &'static str) {
        self.step = step;
    }

    /// The current text.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// Replaces the text. The cached analysis describes the old text, so it is dropped, unless the new
    /// text is the same (a normalization that changed nothing).
    pub fn set_text(&mut self, text: String) {
        if text != self.text {
            self.text = text;
            self.analysis = Analysis::default();
        }
    }

    /// Takes the text out, leaving an empty one (and no analysis).
    pub fn take_text(&mut self) -> String {
        self.analysis = Analysis::default();
        std::mem::take(&mut self.text)
    }

    /// The text with its shared analysis, and the ledger to record rules in: what a judging step needs, in
    /// two borrows that can be held at once.
    pub fn read(&mut self) -> (Text<'_>, Rules<'_>) {
        (
            self.analysis.of(&self.text),
            Rules {
                checks: &mut self.checks,
                scores: &mut self.scores,
                step: self.step,
                evaluate_all: self.evaluate_all,
            },
        )
    }

    /// The text with its shared analysis, for a step that only measures.
    pub fn analysis(&self) -> Text<'_> {
        self.analysis.of(&self.text)
    }

    /// Records that `rule` measured `value` against `threshold`; see [`Rules::check`].
    pub fn check(&mut self, rule: &str, value: f64, bound: Bound, threshold: f64) -> bool {
        self.read().1.check(rule, value, bound, threshold)
    }

    /// Records a named number (a score, a ratio) that is not itself a rule.
    pub fn score(&mut self, name: &str, value: f64) {
        self.read().1.score(name, value);
    }

    /// Whether every rule runs even after one failed (`evaluate_all` in the config).
    pub fn evaluate_all(&self) -> bool {
        self.evaluate_all
    }

    /// The first failed check, which is the reason for a drop.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| !c.passed)
    }

    pub(crate) fn into_outcome(self) -> Outcome {
        let reason = self.first_failure().cloned();
        Outcome {
            id: self.id,
            verdict: if reason.is_some() {
                Verdict::Drop
            } else {
                Verdict::Keep
            },
            reason,
            text: self.text,
            title: self.title,
            page: self.page,
            checks: self.checks,
            pii: self.pii,
            language: self.language,
            scores: self.scores,
            hashes: self.hashes,
            tokens: self.tokens,
        }
    }
}

/// The ledger of one step's rules on one document.
///
/// Each rule is one call that measures, compares, records the [`Check`] and says whether to go on. A
/// threshold is an `Option`: published filters switch a rule off with a threshold of 0 (datatrove's
/// `if self.min_doc_words and ...`), which a step turns into `None` once, with [`off_if_zero`], instead of
/// testing at every rule; a plain `f64` is always on.
#[derive(Debug)]
pub struct Rules<'d> {
    checks: &'d mut Vec<Check>,
    scores: &'d mut Vec<Score>,
    step: &'static str,
    evaluate_all: bool,
}

impl Rules<'_> {
    /// Records that `rule` measured `value` against `threshold`. Returns whether the step should go on to
    /// its next rule: true when the rule passed, or when every rule is to be evaluated anyway.
    ///
    /// A ratio over nothing (0/0, x/0) is recorded as 0 or as the largest finite number: outcomes travel as
    /// JSON, which has no NaN or infinity, and must compare equal to themselves after the trip.
    pub fn check(&mut self, rule: &str, value: f64, bound: Bound, threshold: f64) -> bool {
        let value = finite(value);
        let passed = bound.passes(value, threshold);
        self.checks.push(Check {
            step: self.step.to_string(),
            rule: rule.to_string(),
            value,
            bound,
            threshold,
            passed,
        });
        passed || self.evaluate_all
    }

    /// The rule `value >= threshold`; no check at all when the threshold is `None` (switched off).
    pub fn at_least(&mut self, rule: &str, value: f64, threshold: impl Into<Option<f64>>) -> Flow {
        self.bounded(rule, value, Bound::AtLeast, threshold.into())
    }

    /// The rule `value <= threshold`; no check at all when the threshold is `None` (switched off).
    pub fn at_most(&mut self, rule: &str, value: f64, threshold: impl Into<Option<f64>>) -> Flow {
        self.bounded(rule, value, Bound::AtMost, threshold.into())
    }

    /// A rule that fails when `failed` is true (recorded as `1 < 1` or `0 < 1`).
    pub fn must_not(&mut self, rule: &str, failed: bool) -> Flow {
        self.bounded(rule, f64::from(u8::from(failed)), Bound::Below, Some(1.0))
    }

    fn bounded(&mut self, rule: &str, value: f64, bound: Bound, threshold: Option<f64>) -> Flow {
        match threshold {
            Some(threshold) if !self.check(rule, value, bound, threshold) => Flow::Break(()),
            _ => Flow::Continue(()),
        }
    }

    /// Records a named number (a score, a ratio) that is not itself a rule.
    pub fn score(&mut self, name: &str, value: f64) {
        self.scores.push(Score {
            name: name.to_string(),
            value: finite(value),
        });
    }
}

/// A threshold that a value of 0 switches off, as in datatrove's filters.
pub fn off_if_zero(threshold: f64) -> Option<f64> {
    (threshold != 0.0).then_some(threshold)
}

fn finite(value: f64) -> f64 {
    if value.is_nan() {
        0.0
    } else {
        value.clamp(f64::MIN, f64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rewriting_the_text_drops_its_analysis() {
        let mut draft = Draft::new("d", "one two three");
        assert_eq!(draft.analysis().whitespace_words().len(), 3);
        draft.set_text("one two".into());
        assert_eq!(draft.analysis().whitespace_words().len(), 2);
        draft.set_text("one two".into());
        assert_eq!(draft.analysis().words().to_vec(), ["one", "two"]);
    }

    #[test]
    fn a_rule_switched_off_records_nothing() {
        let mut draft = Draft::new("d", "x");
        draft.enter("gopher_quality");
        let (_, mut rules) = draft.read();
        assert_eq!(
            rules.at_least("a", 1.0, off_if_zero(0.0)),
            Flow::Continue(())
        );
        assert_eq!(rules.at_least("b", 1.0, 2.0), Flow::Break(()));
        assert_eq!(rules.must_not("c", false), Flow::Continue(()));
        assert_eq!(draft.checks.len(), 2);
        assert_eq!(draft.checks[0].step, "gopher_quality");
        assert!(draft.checks[1].passed);
        assert_eq!(draft.first_failure().unwrap().rule, "b");
    }
}
