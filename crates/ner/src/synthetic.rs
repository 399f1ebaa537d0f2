//! A synthetic tagging task for tests, examples and benchmarks: short sentences from templates
//! in which people (`B-PER I-PER`), places (`B-LOC`, `B-LOC I-LOC`) and organisations
//! (`B-ORG`) must be told apart by their words and by their context (the same surname is a
//! person after a first name and an organisation before "Corp").

use crate::conll::Sentence;

const FIRST: &[&str] = &["Anna", "Bruno", "Clara", "Dmitri", "Elena", "Farid", "Greta", "Hugo", "Ines", "Jonas"];
const LAST: &[&str] = &["Keller", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quinn", "Rossi"];
const PLACES: &[&[&str]] = &[&["Paris"], &["Lagos"], &["Oslo"], &["New", "York"], &["Buenos", "Aires"], &["Kyoto"]];
const FILLER: &[&str] = &["today", "again", "quietly", "early", "later"];

/// A SplitMix64 stream: the generator needs no dependency and is the same everywhere.
struct Stream(u64);

impl Stream {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) % n as u64) as usize
    }
}

/// `count` sentences drawn with `seed`.
pub fn sentences(count: usize, seed: u64) -> Vec<Sentence> {
    let mut rng = Stream(seed);
    (0..count)
        .map(|_| {
            let mut s = Sentence { words: Vec::new(), tags: Vec::new() };
            let mut push = |word: &str, tag: &str| {
                s.words.push(word.to_string());
                s.tags.push(tag.to_string());
            };
            let (first, last) = (FIRST[rng.below(FIRST.len())], LAST[rng.below(LAST.len())]);
            let place = PLACES[rng.below(PLACES.len())];
            let filler = FILLER[rng.below(FILLER.len())];
            let put_place = |push: &mut dyn FnMut(&str, &str)| {
                for (i, w) in place.iter().enumerate() {
                    push(w, if i == 0 { "B-LOC" } else { "I-LOC" });
                }
            };
            match rng.below(3) {
                0 => {
                    push(first, "B-PER");
                    push(last, "I-PER");
                    push("flew", "O");
                    push("to", "O");
                    put_place(&mut push);
                    push(filler, "O");
                }
                1 => {
                    push(last, "B-ORG");
                    push("Corp", "I-ORG");
                    push("opened", "O");
                    push("in", "O");
                    put_place(&mut push);
                }
                _ => {
                    push("in", "O");
                    put_place(&mut push);
                    push(",", "O");
                    push(first, "B-PER");
                    push("met", "O");
                    push(last, "B-ORG");
                    push("Corp", "I-ORG");
                    push(filler, "O");
                }
            }
            push(".", "O");
            s
        })
        .collect()
}
