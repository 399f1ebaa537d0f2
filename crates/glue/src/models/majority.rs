//! The floor: the training split's most frequent class, its mean score, or (tagging) each
//! word's most frequent training tag, falling back to the most frequent tag overall.

use std::collections::HashMap;

use serde_json::json;

use super::{Context, Fitted, Model, Outputs, class_of, score_of};
use crate::data::{Example, Target, TaskData};
use crate::error::Result;
use crate::spec::TaskKind;

/// The majority-class baseline.
pub struct Majority;

fn most_frequent(counts: &HashMap<usize, usize>) -> usize {
    // Ties go to the lower id so the choice does not depend on hash order.
    counts.iter().max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(a.0))).map_or(0, |(&c, _)| c)
}

impl Model for Majority {
    fn name(&self) -> &'static str {
        "majority"
    }

    fn supports(&self, _kind: TaskKind) -> bool {
        true
    }

    fn fit(&self, task: &TaskData, _ctx: &Context) -> Result<Fitted> {
        let seen = task.train.len();
        let (dev, test, config) = match task.spec.kind {
            TaskKind::Regression => {
                let mean = task.train.iter().map(score_of).sum::<f64>() / seen.max(1) as f64;
                let fill = |split: &[Example]| Outputs::Scores(vec![mean; split.len()]);
                (fill(&task.dev), fill(&task.test), json!({ "mean": mean }))
            }
            TaskKind::Tagging => {
                let mut per_word: HashMap<String, HashMap<usize, usize>> = HashMap::new();
                let mut overall = HashMap::new();
                for e in &task.train {
                    if let Target::Tags(tags) = &e.target {
                        for (w, &t) in e.tokens.iter().zip(tags) {
                            *per_word.entry(w.to_lowercase()).or_default().entry(t).or_insert(0) += 1;
                            *overall.entry(t).or_insert(0) += 1;
                        }
                    }
                }
                let best: HashMap<String, usize> =
                    per_word.iter().map(|(w, c)| (w.clone(), most_frequent(c))).collect();
                let fallback = most_frequent(&overall);
                let tag = |split: &[Example]| {
                    Outputs::Tags(
                        split
                            .iter()
                            .map(|e| {
                                e.tokens.iter().map(|w| *best.get(&w.to_lowercase()).unwrap_or(&fallback)).collect()
                            })
                            .collect(),
                    )
                };
                (tag(&task.dev), tag(&task.test), json!({ "rule": "most frequent tag per word", "fallback": fallback }))
            }
            TaskKind::Single | TaskKind::Pair => {
                let mut counts = HashMap::new();
                for e in &task.train {
                    *counts.entry(class_of(e)).or_insert(0) += 1;
                }
                let class = most_frequent(&counts);
                let fill = |split: &[Example]| Outputs::Classes(vec![class; split.len()]);
                (fill(&task.dev), fill(&task.test), json!({ "class": task.classes.get(class) }))
            }
        };
        Ok(Fitted { dev, test, config, examples_seen: seen })
    }
}
