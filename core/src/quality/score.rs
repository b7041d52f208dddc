//! A 0–1 quality score: the mean of four signals that prose written for people tends to have and
//! boilerplate, spam and word salad tend to lack.
//!
//! - `length`: enough words to say something, `min(words / target_words, 1)`.
//! - `sentence_length`: mean sentence length in a natural range; 1 between `ideal_sentence_words`
//!   bounds, falling linearly to 0 at half the lower and twice the upper bound.
//! - `diversity`: vocabulary diversity as the moving-average type-token ratio over windows of 100 words
//!   (MATTR, Covington & McFall 2010), which unlike the plain ratio does not fall with length; mapped
//!   linearly from 0.3 (0) to 0.7 (1).
//! - `completeness`: share of lines of three or more words that end like a sentence (`.`, `!`, `?`, a
//!   closing quote or bracket after one); menus, headers and cut-off snippets do not.
//!
//! Every component and the total are recorded as scores so that users can see why a score is low, and
//! the total is checked against `threshold`.

use serde::{Deserialize, Serialize};

use crate::analysis::Text;
use crate::error::{ConfigError, StepError, ensure_unit_interval};
use crate::outcome::Bound;
use crate::step::{Draft, Step};

const MATTR_WINDOW: usize = 100;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
/// Options of the `quality_score` step (see the module doc for the components).
pub struct ScoreConfig {
    /// Drop documents scoring lower.
    pub threshold: f64,
    /// Word count at which the length component is full.
    pub target_words: usize,
    /// Mean sentence lengths (words) that get the full sentence component.
    pub ideal_sentence_words: [f64; 2],
}

impl Default for ScoreConfig {
    fn default() -> Self {
        Self {
            threshold: 0.5,
            target_words: 300,
            ideal_sentence_words: [10.0, 30.0],
        }
    }
}

impl ScoreConfig {
    /// Checks the threshold and bounds, naming the key under `path`.
    pub fn validate(&self, path: &str) -> Result<(), ConfigError> {
        ensure_unit_interval(path, &[("threshold", self.threshold)])?;
        if self.target_words == 0 {
            return Err(ConfigError::new(
                format!("{path}.target_words"),
                "must be at least 1",
            ));
        }
        let [lo, hi] = self.ideal_sentence_words;
        if !(lo > 0.0 && lo <= hi) {
            return Err(ConfigError::new(
                format!("{path}.ideal_sentence_words"),
                "must be [low, high] with 0 < low <= high",
            ));
        }
        Ok(())
    }
}

/// The components and total of the score of one text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct QualityBreakdown {
    /// Length component, 0–1.
    pub length: f64,
    /// Sentence length component, 0–1.
    pub sentence_length: f64,
    /// Vocabulary diversity (MATTR) component, 0–1.
    pub diversity: f64,
    /// Complete-sentence lines component, 0–1.
    pub completeness: f64,
    /// Mean of the four components, checked against `threshold`.
    pub total: f64,
}

/// The `quality_score` step.
pub struct QualityScore {
    config: ScoreConfig,
}

impl QualityScore {
    /// Builds the step; validates its options.
    pub fn new(config: &ScoreConfig) -> Result<Self, ConfigError> {
        config.validate("quality.score")?;
        Ok(Self {
            config: config.clone(),
        })
    }

    /// The score of `text`, component by component.
    pub fn breakdown(&self, text: &str) -> QualityBreakdown {
        self.breakdown_of(crate::analysis::Analysis::default().of(text))
    }

    /// [`Self::breakdown`] from the shared analysis of a text.
    pub fn breakdown_of(&self, text: Text<'_>) -> QualityBreakdown {
        let words = text.lowercase_word_ids();
        let length = (words.len() as f64 / self.config.target_words as f64).min(1.0);
        let sentence_length =
            sentence_component(text.avg_sentence_words(), self.config.ideal_sentence_words);
        let diversity = ((mattr(words) - 0.3) / 0.4).clamp(0.0, 1.0);
        let completeness = completeness(&text);
        let total = (length + sentence_length + diversity + completeness) / 4.0;
        QualityBreakdown {
            length,
            sentence_length,
            diversity,
            completeness,
            total,
        }
    }
}

impl Step for QualityScore {
    fn run(&self, draft: &mut Draft) -> Result<(), StepError> {
        let b = self.breakdown_of(draft.analysis());
        draft.score("quality.length", b.length);
        draft.score("quality.sentence_length", b.sentence_length);
        draft.score("quality.diversity", b.diversity);
        draft.score("quality.completeness", b.completeness);
        draft.score("quality_score", b.total);
        draft.check(
            "quality_score",
            b.total,
            Bound::AtLeast,
            self.config.threshold,
        );
        Ok(())
    }
}

fn sentence_component(avg: f64, [lo, hi]: [f64; 2]) -> f64 {
    if avg <= 0.0 {
        0.0
    } else if avg < lo {
        ((avg - lo / 2.0) / (lo / 2.0)).clamp(0.0, 1.0)
    } else if avg <= hi {
        1.0
    } else {
        ((2.0 * hi - avg) / hi).clamp(0.0, 1.0)
    }
}

/// Moving-average type-token ratio over lower-cased words; the plain ratio for texts shorter than a window.
fn mattr(words: &[u32]) -> f64 {
    if words.is_empty() {
        return 0.0;
    }
    let window = MATTR_WINDOW.min(words.len());
    // Occurrences of each word id in the current window, and how many ids occur at all.
    let mut counts = vec![0u32; words.iter().max().map_or(0, |&m| m as usize + 1)];
    let mut distinct = 0usize;
    for &w in &words[..window] {
        distinct += usize::from(counts[w as usize] == 0);
        counts[w as usize] += 1;
    }
    let mut sum = distinct as f64 / window as f64;
    let mut windows = 1usize;
    for i in window..words.len() {
        let out = words[i - window] as usize;
        counts[out] -= 1;
        distinct -= usize::from(counts[out] == 0);
        let w = words[i] as usize;
        distinct += usize::from(counts[w] == 0);
        counts[w] += 1;
        sum += distinct as f64 / window as f64;
        windows += 1;
    }
    sum / windows as f64
}

/// Share of lines of three or more words that end like a sentence; 0 when there is no such line.
fn completeness(text: &str) -> f64 {
    let (mut complete, mut lines) = (0usize, 0usize);
    for line in text.lines() {
        let line = line.trim();
        if line.split_whitespace().nth(2).is_none() {
            continue;
        }
        lines += 1;
        let trimmed = line.trim_end_matches(['"', '\'', ')', ']', '”', '’', '»']);
        if trimmed.ends_with(['.', '!', '?', '。', '！', '？', '…']) {
            complete += 1;
        }
    }
    if lines == 0 {
        0.0
    } else {
        complete as f64 / lines as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn score() -> QualityScore {
        QualityScore::new(&ScoreConfig::default()).unwrap()
    }

    const PROSE: &str = "The old mill stood at the edge of the village for nearly two centuries. Farmers brought \
        their grain from miles around, and the miller's family kept careful records of every sack. When the river \
        changed its course after the great flood, the wheel stopped turning for good. Today the building houses a \
        small museum that tells the story of the valley and its people.";

    #[test]
    fn components_stay_within_zero_and_one() {
        for text in [
            "",
            "a",
            PROSE,
            "Home | About | Contact",
            &"spam ".repeat(500),
        ] {
            let b = score().breakdown(text);
            for v in [
                b.length,
                b.sentence_length,
                b.diversity,
                b.completeness,
                b.total,
            ] {
                assert!((0.0..=1.0).contains(&v), "{text:?}: {b:?}");
            }
        }
    }

    #[test]
    fn prose_outscores_navigation_and_repetition() {
        let prose = score().breakdown(PROSE).total;
        let menu = score()
            .breakdown("Home\nAbout us\nProducts and services\nContact the team\nLogin")
            .total;
        let spam = score().breakdown(&"buy cheap pills now ".repeat(100)).total;
        assert!(
            prose > menu && prose > spam,
            "prose {prose}, menu {menu}, spam {spam}"
        );
    }

    #[test]
    fn sentence_component_is_flat_inside_the_ideal_range_and_linear_outside() {
        let ideal = [10.0, 30.0];
        assert_eq!(sentence_component(10.0, ideal), 1.0);
        assert_eq!(sentence_component(30.0, ideal), 1.0);
        assert_eq!(sentence_component(5.0, ideal), 0.0);
        assert_eq!(sentence_component(7.5, ideal), 0.5);
        assert_eq!(sentence_component(45.0, ideal), 0.5);
        assert_eq!(sentence_component(60.0, ideal), 0.0);
    }

    #[test]
    fn mattr_ignores_length_for_repetitive_and_diverse_text() {
        let mattr_of = |text: &str| {
            mattr(
                crate::analysis::Analysis::default()
                    .of(text)
                    .lowercase_word_ids(),
            )
        };
        assert_eq!(mattr_of("a b A b"), 0.5);
        assert!((mattr_of(&"x y ".repeat(200)) - 2.0 / 100.0).abs() < 1e-12);
    }

    #[test]
    fn completeness_counts_sentence_like_lines() {
        assert_eq!(
            completeness("This line ends well.\nThis one does not\nok"),
            0.5
        );
        assert_eq!(completeness("He said \"this is fine.\""), 1.0);
    }

    #[test]
    fn threshold_is_inclusive_and_recorded() {
        let total = score().breakdown(PROSE).total;
        let mut at = Draft::new("d", PROSE);
        QualityScore::new(&ScoreConfig {
            threshold: total,
            ..Default::default()
        })
        .unwrap()
        .run(&mut at)
        .unwrap();
        assert!(at.first_failure().is_none());
        assert_eq!(at.scores.last().unwrap().value, total);
        let mut above = Draft::new("d", PROSE);
        let strict = ScoreConfig {
            threshold: (total + 1.0) / 2.0,
            ..Default::default()
        };
        QualityScore::new(&strict).unwrap().run(&mut above).unwrap();
        assert_eq!(above.first_failure().unwrap().rule, "quality_score");
    }
}
