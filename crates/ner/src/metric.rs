//! The entity-level metric as CoNLL's `conlleval` script defines it: an entity counts as
//! correct only when a predicted chunk has exactly the gold chunk's type and both boundaries;
//! precision, recall and F1 are micro-averaged over every entity, and also given per type.
//!
//! Chunks are read with conlleval's rules, which also give ill-formed predictions a meaning
//! (a softmax head may predict `O I-PER`): an `I-X` after `O` or after another type starts a
//! new chunk, exactly as `conlleval` (and `seqeval` in its default mode) read it.

use std::collections::BTreeMap;

/// One entity: the tokens `start..end` of a sentence, of type `kind`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entity {
    /// First token.
    pub start: usize,
    /// One past the last token.
    pub end: usize,
    /// The type (`PER`, `LOC`, ...).
    pub kind: String,
}

/// Splits a tag into its prefix (`B`, `I`, `E`, `S` or `O`) and type (empty for `O`).
fn split(tag: &str) -> (&str, &str) {
    match tag.split_once('-') {
        Some((prefix, kind)) => (prefix, kind),
        None => (tag, ""),
    }
}

/// conlleval's `endOfChunk`: whether a chunk that was open at the previous tag ends before `tag`.
fn ends(previous: (&str, &str), current: (&str, &str)) -> bool {
    let ((p, pt), (c, ct)) = (previous, current);
    matches!((p, c), ("B", "B" | "S" | "O") | ("I", "B" | "S" | "O") | ("E" | "S", _))
        || (p != "O" && p != "." && pt != ct)
}

/// conlleval's `startOfChunk`: whether `tag` opens a chunk.
fn starts(previous: (&str, &str), current: (&str, &str)) -> bool {
    let ((p, pt), (c, ct)) = (previous, current);
    matches!((p, c), (_, "B" | "S") | ("E" | "S" | "O", "E" | "I")) || (c != "O" && c != "." && pt != ct)
}

/// The entities of one sentence's tags, read with conlleval's chunk rules.
pub fn entities<S: AsRef<str>>(tags: &[S]) -> Vec<Entity> {
    let mut found = Vec::new();
    let mut open: Option<(usize, &str)> = None;
    let mut previous = ("O", "");
    for (i, tag) in tags.iter().enumerate() {
        let current = split(tag.as_ref());
        if let Some((start, kind)) = open
            && ends(previous, current)
        {
            found.push(Entity { start, end: i, kind: kind.to_string() });
            open = None;
        }
        if starts(previous, current) {
            open = Some((i, current.1));
        }
        previous = current;
    }
    if let Some((start, kind)) = open {
        found.push(Entity { start, end: tags.len(), kind: kind.to_string() });
    }
    found
}

/// Counts and scores of one entity type, or of all of them.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Counts {
    /// Gold entities.
    pub gold: usize,
    /// Predicted entities.
    pub predicted: usize,
    /// Predicted entities that match a gold one exactly.
    pub correct: usize,
}

impl Counts {
    /// correct / predicted (0 when nothing was predicted, as conlleval prints).
    pub fn precision(&self) -> f64 {
        if self.predicted == 0 { 0.0 } else { self.correct as f64 / self.predicted as f64 }
    }

    /// correct / gold (0 when there is no gold entity).
    pub fn recall(&self) -> f64 {
        if self.gold == 0 { 0.0 } else { self.correct as f64 / self.gold as f64 }
    }

    /// The harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 { 0.0 } else { 2.0 * p * r / (p + r) }
    }
}

/// The metric over a corpus: micro-averaged counts and counts per type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct EntityScores {
    /// Over every entity.
    pub overall: Counts,
    /// Per entity type, in name order.
    pub per_type: BTreeMap<String, Counts>,
}

impl EntityScores {
    /// Scores predicted tag sequences against gold ones, sentence by sentence. Sentences are
    /// paired in order; a pair of different lengths is a programming error and panics.
    pub fn compute<G: AsRef<str>, P: AsRef<str>>(gold: &[Vec<G>], predicted: &[Vec<P>]) -> EntityScores {
        assert_eq!(
            gold.len(),
            predicted.len(),
            "entity scores: {} gold vs {} predicted sentences",
            gold.len(),
            predicted.len()
        );
        let mut scores = EntityScores::default();
        for (g, p) in gold.iter().zip(predicted) {
            assert_eq!(g.len(), p.len(), "entity scores: a sentence of {} gold vs {} predicted tags", g.len(), p.len());
            let (gold_entities, predicted_entities) = (entities(g), entities(p));
            for e in &gold_entities {
                scores.overall.gold += 1;
                scores.per_type.entry(e.kind.clone()).or_default().gold += 1;
            }
            for e in &predicted_entities {
                let hit = gold_entities.contains(e);
                let counts = scores.per_type.entry(e.kind.clone()).or_default();
                counts.predicted += 1;
                scores.overall.predicted += 1;
                if hit {
                    counts.correct += 1;
                    scores.overall.correct += 1;
                }
            }
        }
        scores
    }

    /// A conlleval-style table: overall and per-type precision, recall and F1 in percent.
    pub fn table(&self) -> String {
        let row = |name: &str, c: &Counts| {
            format!(
                "{name:<8} precision {:6.2}%  recall {:6.2}%  F1 {:6.2}  ({} predicted, {} gold)\n",
                100.0 * c.precision(),
                100.0 * c.recall(),
                100.0 * c.f1(),
                c.predicted,
                c.gold
            )
        };
        let mut out = row("overall", &self.overall);
        for (kind, counts) in &self.per_type {
            out += &row(kind, counts);
        }
        out
    }
}
