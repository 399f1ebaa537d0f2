//! Learning a WordPiece vocabulary from word counts, by BPE merges over words written as pieces
//! (what Hugging Face's `WordPieceTrainer` does too).
//!
//! Every word of the basic split (see [`super::wordpiece::basic_split`]) starts as its
//! characters, the first as itself and each later one as a continuation (`##c`); the alphabet is
//! every such piece seen. Then, until the vocabulary is full, the adjacent pair of pieces with
//! the highest count (summed over words, each word weighted by its count; ties go to the pair
//! whose pieces were made first) is merged into one piece everywhere: `a` + `##b` gives `ab`,
//! `##a` + `##b` gives `##ab`. Pair counts are kept up to date incrementally (only the words
//! holding the merged pair are rewritten) and the best pair is found through a max-heap whose
//! stale entries are skipped, so a merge costs the words it touches, not the corpus.
//!
//! Because the greedy longest-match reader can only use pieces it finds, every merge of a
//! trained vocabulary is a piece the reader may pick; words whose characters were all seen
//! always have a split, so `[UNK]` is left for characters never seen in training.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::wordpiece::CONTINUATION;

/// A vocabulary of at most `size` pieces (`specials` first, then the alphabet by falling count,
/// then the merges in the order they were made) learned from `counts` (normalised word to
/// count). Words seen fewer than `min_count` times are left out, as are characters only they
/// hold.
pub fn train_wordpiece(counts: &HashMap<String, u64>, size: usize, min_count: u64, specials: &[&str]) -> Vec<String> {
    let mut words: Vec<(&str, u64)> =
        counts.iter().filter(|&(_, &n)| n >= min_count.max(1)).map(|(w, &n)| (w.as_str(), n)).collect();
    words.sort_unstable();
    let mut pieces: Vec<String> = specials.iter().map(|s| s.to_string()).collect();
    let mut index: HashMap<String, u32> = pieces.iter().enumerate().map(|(i, p)| (p.clone(), i as u32)).collect();

    let mut alphabet: HashMap<String, u64> = HashMap::new();
    for &(word, n) in &words {
        for (i, c) in word.chars().enumerate() {
            let piece = if i == 0 { c.to_string() } else { format!("{CONTINUATION}{c}") };
            *alphabet.entry(piece).or_default() += n;
        }
    }
    let mut alphabet: Vec<(String, u64)> = alphabet.into_iter().collect();
    alphabet.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    for (piece, _) in alphabet {
        if pieces.len() >= size {
            return pieces;
        }
        if !index.contains_key(&piece) {
            index.insert(piece.clone(), pieces.len() as u32);
            pieces.push(piece);
        }
    }

    let mut symbols: Vec<Vec<u32>> = words
        .iter()
        .map(|(word, _)| {
            word.chars()
                .enumerate()
                .map(|(i, c)| {
                    let piece = if i == 0 { c.to_string() } else { format!("{CONTINUATION}{c}") };
                    index[&piece]
                })
                .collect()
        })
        .collect();
    let mut pair_counts: HashMap<(u32, u32), u64> = HashMap::new();
    let mut where_found: HashMap<(u32, u32), HashSet<usize>> = HashMap::new();
    for (w, syms) in symbols.iter().enumerate() {
        for pair in syms.windows(2) {
            *pair_counts.entry((pair[0], pair[1])).or_default() += words[w].1;
            where_found.entry((pair[0], pair[1])).or_default().insert(w);
        }
    }
    let mut heap: BinaryHeap<(u64, Reverse<(u32, u32)>)> =
        pair_counts.iter().map(|(&pair, &n)| (n, Reverse(pair))).collect();
    while pieces.len() < size {
        let Some((n, Reverse(pair))) = heap.pop() else { break };
        if n == 0 || pair_counts.get(&pair) != Some(&n) {
            continue;
        }
        let merged = format!("{}{}", pieces[pair.0 as usize], pieces[pair.1 as usize].trim_start_matches(CONTINUATION));
        let new_id = match index.get(&merged) {
            Some(&id) => id,
            None => {
                index.insert(merged.clone(), pieces.len() as u32);
                pieces.push(merged);
                pieces.len() as u32 - 1
            }
        };
        let mut touched: HashMap<(u32, u32), i64> = HashMap::new();
        let holders: Vec<usize> = where_found.remove(&pair).map(|s| s.into_iter().collect()).unwrap_or_default();
        for w in holders {
            let weight = words[w].1 as i64;
            let old = std::mem::take(&mut symbols[w]);
            for p in old.windows(2) {
                *touched.entry((p[0], p[1])).or_default() -= weight;
            }
            let mut new = Vec::with_capacity(old.len());
            let mut i = 0;
            while i < old.len() {
                if i + 1 < old.len() && (old[i], old[i + 1]) == pair {
                    new.push(new_id);
                    i += 2;
                } else {
                    new.push(old[i]);
                    i += 1;
                }
            }
            for p in new.windows(2) {
                *touched.entry((p[0], p[1])).or_default() += weight;
                where_found.entry((p[0], p[1])).or_default().insert(w);
            }
            symbols[w] = new;
        }
        pair_counts.remove(&pair);
        for (p, delta) in touched {
            if p == pair || delta == 0 {
                continue;
            }
            let count = pair_counts.entry(p).or_default();
            *count = (*count as i64 + delta).max(0) as u64;
            heap.push((*count, Reverse(p)));
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frequent_pairs_merge_first_and_continuations_keep_their_prefix() {
        let counts: HashMap<String, u64> =
            [("low", 5), ("lower", 2), ("newest", 6), ("widest", 3)].iter().map(|(w, n)| (w.to_string(), *n)).collect();
        let vocab = train_wordpiece(&counts, 40, 1, &["[UNK]"]);
        assert_eq!(vocab[0], "[UNK]");
        // "##e" + "##s" occurs 9 times (newest, widest), as does "##s" + "##t": the first made wins.
        assert!(vocab.contains(&"##est".to_string()), "{vocab:?}");
        assert!(vocab.contains(&"low".to_string()), "{vocab:?}");
        assert!(vocab.iter().all(|p| !p.contains("####")));
        let unique: HashSet<&String> = vocab.iter().collect();
        assert_eq!(unique.len(), vocab.len());
    }
}
