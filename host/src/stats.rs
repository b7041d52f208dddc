//! Run accounting: every input record ends as exactly one of kept, dropped or error, per shard and in total,
//! and the run fails if the sums disagree.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use tamis_core::{Outcome, StepName, Verdict};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepStats {
    pub step: String,
    /// Documents that reached the step (all judged documents, with `evaluate_all`).
    pub docs_in: u64,
    pub dropped: u64,
    /// Drops by rule.
    pub reasons: BTreeMap<String, u64>,
    /// Time spent in the step, summed over workers.
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    pub docs_in: u64,
    pub kept: u64,
    pub dropped: u64,
    pub errors: u64,
    /// Bytes of the input records as read (uncompressed).
    pub bytes_in: u64,
    /// Bytes of text in kept documents.
    pub bytes_kept: u64,
    pub steps: Vec<StepStats>,
    /// Errors by message with the document-specific part cut off (`invalid JSON`, `sandbox trap`).
    pub errors_by_kind: BTreeMap<String, u64>,
}

impl crate::job::Tally for Stats {
    fn merge(&mut self, other: &Self) {
        Stats::merge(self, other)
    }
    fn check_accounting(&self) -> Result<(), String> {
        Stats::check_accounting(self)
    }
    fn progress(&self) -> (u64, u64) {
        (self.docs_in, self.bytes_in)
    }
}

impl Stats {
    pub fn new(steps: &[StepName]) -> Self {
        Self {
            steps: steps
                .iter()
                .map(|s| StepStats {
                    step: s.as_str().to_string(),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }
    }

    pub fn record_outcome(&mut self, outcome: &Outcome, evaluate_all: bool) {
        self.docs_in += 1;
        let dropped_at = outcome.reason.as_ref().map(|r| r.step.as_str());
        let mut reached = true;
        for step in &mut self.steps {
            if reached || evaluate_all {
                step.docs_in += 1;
            }
            if Some(step.step.as_str()) == dropped_at {
                step.dropped += 1;
                if let Some(reason) = &outcome.reason {
                    *step.reasons.entry(reason.rule.clone()).or_default() += 1;
                }
                reached = false;
            }
        }
        match outcome.verdict {
            Verdict::Keep => {
                self.kept += 1;
                self.bytes_kept += outcome.text.len() as u64;
            }
            Verdict::Drop => self.dropped += 1,
        }
    }

    /// Counts one error under its stable kind (see [`engine_error_kind`] and `RecordError`); the details are
    /// in the error record, never in the key, so `errors_by_kind` has a handful of keys however many errors.
    pub fn record_error(&mut self, kind: &str) {
        self.docs_in += 1;
        self.errors += 1;
        *self.errors_by_kind.entry(kind.to_string()).or_default() += 1;
    }

    pub fn add_step_nanos(&mut self, nanos: &[u64]) {
        for (step, n) in self.steps.iter_mut().zip(nanos) {
            step.seconds += *n as f64 / 1e9;
        }
    }

    pub fn merge(&mut self, other: &Stats) {
        self.docs_in += other.docs_in;
        self.kept += other.kept;
        self.dropped += other.dropped;
        self.errors += other.errors;
        self.bytes_in += other.bytes_in;
        self.bytes_kept += other.bytes_kept;
        for (mine, theirs) in self.steps.iter_mut().zip(&other.steps) {
            mine.docs_in += theirs.docs_in;
            mine.dropped += theirs.dropped;
            mine.seconds += theirs.seconds;
            for (rule, n) in &theirs.reasons {
                *mine.reasons.entry(rule.clone()).or_default() += n;
            }
        }
        for (kind, n) in &other.errors_by_kind {
            *self.errors_by_kind.entry(kind.clone()).or_default() += n;
        }
    }

    /// `docs_in = kept + dropped + errors`, or the message saying by how much it is off.
    pub fn check_accounting(&self) -> Result<(), String> {
        check_accounting(self.docs_in, self.kept, self.dropped, self.errors)
    }

    /// The summary table printed at the end of a run.
    pub fn table(&self, seconds: f64) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<20} {:>10} {:>10} {:>9}  {}\n",
            "step", "docs in", "dropped", "seconds", "drops by reason"
        ));
        for step in &self.steps {
            let mut reasons: Vec<_> = step.reasons.iter().collect();
            reasons.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
            let reasons = reasons
                .iter()
                .map(|(r, n)| format!("{r} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!(
                "{:<20} {:>10} {:>10} {:>9.2}  {}\n",
                step.step, step.docs_in, step.dropped, step.seconds, reasons
            ));
        }
        let mb = self.bytes_in as f64 / 1e6;
        out.push_str(&format!(
            "total: {} in = {} kept + {} dropped + {} errors; {:.1} MB in {:.2} s = {:.2} MB/s, {:.0} docs/s\n",
            self.docs_in,
            self.kept,
            self.dropped,
            self.errors,
            mb,
            seconds,
            if seconds > 0.0 { mb / seconds } else { 0.0 },
            if seconds > 0.0 { self.docs_in as f64 / seconds } else { 0.0 },
        ));
        if !self.errors_by_kind.is_empty() {
            let kinds = self
                .errors_by_kind
                .iter()
                .map(|(k, n)| format!("{k} {n}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.push_str(&format!("errors by kind: {kinds}\n"));
        }
        out
    }
}

/// The stable kind of an error the engine returned for a document: the sandbox's own failures, a panic, or
/// the step that failed (the core's step errors start with the step's name).
pub fn engine_error_kind(message: &str, steps: &[StepName]) -> String {
    for (prefix, kind) in [
        ("sandbox timeout", "sandbox timeout"),
        ("sandbox trap", "sandbox trap"),
        ("core panicked", "core panicked"),
    ] {
        if message.starts_with(prefix) {
            return kind.into();
        }
    }
    match message.split_once(':') {
        Some((step, _)) if steps.iter().any(|s| s.as_str() == step) => format!("step {step}"),
        _ if message.starts_with("document has") => "document without usable text".into(),
        _ => "core error".into(),
    }
}

/// Every record in ends as exactly one of kept, dropped or error: the check every command makes before it
/// reports success.
pub fn check_accounting(docs_in: u64, kept: u64, dropped: u64, errors: u64) -> Result<(), String> {
    let out = kept + dropped + errors;
    if out == docs_in {
        Ok(())
    } else {
        Err(format!(
            "accounting mismatch: {docs_in} documents in, but {kept} kept + {dropped} dropped + {errors} errors = {out}"
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tamis_core::{Bound, Check};

    fn outcome(reason: Option<(&str, &str)>) -> Outcome {
        let reason = reason.map(|(step, rule)| Check {
            step: step.into(),
            rule: rule.into(),
            value: 1.0,
            bound: Bound::AtLeast,
            threshold: 2.0,
            passed: false,
        });
        Outcome {
            id: "d".into(),
            verdict: if reason.is_some() {
                Verdict::Drop
            } else {
                Verdict::Keep
            },
            reason,
            text: "text".into(),
            title: None,
            page: None,
            checks: Vec::new(),
            pii: Vec::new(),
            language: None,
            scores: Vec::new(),
            hashes: None,
            tokens: None,
        }
    }

    #[test]
    fn drops_count_at_their_step_and_stop_the_count_of_later_steps() {
        let mut stats = Stats::new(&[
            StepName::Normalize,
            StepName::GopherQuality,
            StepName::Fingerprint,
        ]);
        stats.record_outcome(&outcome(None), false);
        stats.record_outcome(
            &outcome(Some(("gopher_quality", "gopher_short_doc"))),
            false,
        );
        stats.record_error("invalid JSON");
        let docs_in: Vec<u64> = stats.steps.iter().map(|s| s.docs_in).collect();
        assert_eq!(docs_in, vec![2, 2, 1]);
        assert_eq!(stats.steps[1].reasons.get("gopher_short_doc"), Some(&1));
        assert_eq!(stats.errors_by_kind.get("invalid JSON"), Some(&1));
        assert_eq!(
            (stats.docs_in, stats.kept, stats.dropped, stats.errors),
            (3, 1, 1, 1)
        );
        assert!(stats.check_accounting().is_ok());

        let mut total = Stats::new(&[
            StepName::Normalize,
            StepName::GopherQuality,
            StepName::Fingerprint,
        ]);
        total.merge(&stats);
        total.merge(&stats);
        assert_eq!(total.steps[1].reasons.get("gopher_short_doc"), Some(&2));
        total.kept += 1;
        assert!(
            total
                .check_accounting()
                .unwrap_err()
                .contains("6 documents in")
        );
    }
}
