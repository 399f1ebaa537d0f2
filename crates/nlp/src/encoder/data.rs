//! Pretraining inputs from running text: consecutive sentences packed into inputs of up to a
//! given length, each input with two or more sentences split at a sentence boundary into a
//! sentence pair (`[CLS] a [SEP] b [SEP]`, segments 0 and 1), and half of the others split
//! within their one sentence, so that the model reads both input forms and trains its segment
//! embeddings, as BERT's inputs (spans of text, not necessarily whole sentences) did; there is
//! no next-sentence objective (as in RoBERTa).

use tensor_core::TensorRng;

use super::{BertVocab, EncodedInput};
use crate::{NlpError, Result};

/// Packs `sentences` (word ids, without specials) in order into inputs of at most `max_len`
/// tokens, specials included. One input in ten is packed to a shorter random length (BERT's
/// `short_seq_prob`), so batches are ragged; a sentence longer than an input is cut into
/// pieces. Draws come from `seed`.
pub fn pack_inputs(sentences: &[Vec<u32>], vocab: &BertVocab, max_len: usize, seed: u64) -> Result<Vec<EncodedInput>> {
    if max_len < 5 {
        return Err(NlpError::Invalid(format!("inputs of {max_len} tokens cannot hold a sentence pair (at least 5)")));
    }
    let room = max_len - 3;
    let mut rng = TensorRng::new(seed);
    let mut pieces = sentences.iter().filter(|s| !s.is_empty()).flat_map(|s| s.chunks(room));
    let mut inputs = Vec::new();
    let mut pack: Vec<&[u32]> = Vec::new();
    let mut target = room;
    let mut held = 0;
    loop {
        let next = pieces.next();
        let full = next.is_none_or(|piece| held + piece.len() > target);
        if full && !pack.is_empty() {
            inputs.push(finish(&pack, vocab, max_len, &mut rng)?);
            pack.clear();
            held = 0;
            target = if rng.next_u64().is_multiple_of(10) {
                2 + (rng.next_u64() % (room as u64 - 1)) as usize
            } else {
                room
            };
        }
        let Some(piece) = next else { break };
        pack.push(piece);
        held += piece.len();
    }
    Ok(inputs)
}

/// One input of the packed sentences: a pair split at a random sentence boundary; one sentence
/// (or piece) alone is split at a random word half of the time, and stays a single sentence
/// otherwise.
fn finish(pack: &[&[u32]], vocab: &BertVocab, max_len: usize, rng: &mut TensorRng) -> Result<EncodedInput> {
    if pack.len() >= 2 {
        let split = 1 + (rng.next_u64() % (pack.len() as u64 - 1)) as usize;
        return vocab.pair(&pack[..split].concat(), &pack[split..].concat(), max_len);
    }
    let words = pack.concat();
    if words.len() >= 2 && rng.next_u64().is_multiple_of(2) {
        let split = 1 + (rng.next_u64() % (words.len() as u64 - 1)) as usize;
        return vocab.pair(&words[..split], &words[split..], max_len);
    }
    vocab.single(&words, max_len)
}
