//! Scaled dot-product attention's arguments, shared by the tensor API, the default device
//! bodies and the backends' fused kernels.
//!
//! With queries `q` = `[B, H, Tq, d]`, keys `k` = `[B, H, Tk, d]` and values
//! `v` = `[B, H, Tk, dv]`, attention is `softmax(scale · q kᵀ + mask) v`, where the mask keeps
//! the keys a query may see. Both masks here keep a *prefix* of the keys for every query
//! (causal: the keys up to the query's own position; key padding: the real keys before the
//! padding), so every backend describes one query row's visible keys by a single count,
//! [`AttentionMask::visible_keys`].

use crate::{Result, TensorError, View};

/// Which keys each query of a scaled dot-product attention may see.
///
/// A query row that can see no key at all (a fully padded batch entry, or a causal query
/// before the first key when `Tq > Tk`) outputs zeros, its log-sum-exp is `-inf` (the log of an
/// empty sum), and its gradients are zero.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct AttentionMask {
    /// Causal masking, aligned bottom-right: with `Tq` queries and `Tk` keys, query `i` sees key
    /// `j` iff `j <= i + (Tk - Tq)`. With `Tq = Tk` that is the usual lower triangle; with
    /// `Tq < Tk` the queries are the last `Tq` positions of the sequence, as in incremental
    /// decoding against a cache of `Tk` keys (`Tq = 1` sees every key).
    pub causal: bool,
    /// Key padding: entry `b` is how many leading keys of batch entry `b` are real (the rest
    /// are padding that no query sees). `None`: every key is real.
    pub key_lengths: Option<Vec<usize>>,
}

impl AttentionMask {
    /// No mask: every query sees every key.
    pub fn none() -> Self {
        AttentionMask::default()
    }

    /// Causal masking (bottom-right aligned), without key padding.
    pub fn causal() -> Self {
        AttentionMask { causal: true, key_lengths: None }
    }

    /// This mask with key padding: `lengths[b]` real keys in batch entry `b`.
    pub fn with_key_lengths(mut self, lengths: Vec<usize>) -> Self {
        self.key_lengths = Some(lengths);
        self
    }

    /// Whether every query sees every key (neither causal nor padded).
    pub fn is_unmasked(&self) -> bool {
        !self.causal && self.key_lengths.is_none()
    }

    /// How many leading keys query `query` of batch entry `batch` sees, for `queries` queries
    /// and `keys` keys: it sees keys `0..visible_keys(..)`. `batch` must index
    /// [`AttentionMask::key_lengths`] when that is set (the tensor layer checks it).
    pub fn visible_keys(&self, batch: usize, query: usize, queries: usize, keys: usize) -> usize {
        let causal = if self.causal { (query + 1 + keys).saturating_sub(queries).min(keys) } else { keys };
        match &self.key_lengths {
            Some(lengths) => causal.min(lengths[batch]),
            None => causal,
        }
    }

    /// Checks the mask against a batch of `batch` entries with `keys` keys each.
    pub(crate) fn check(&self, op: &'static str, batch: usize, keys: usize) -> Result<()> {
        let Some(lengths) = &self.key_lengths else { return Ok(()) };
        if lengths.len() != batch {
            return Err(TensorError::invalid(
                op,
                format!("the mask has {} key lengths for a batch of {batch}", lengths.len()),
            ));
        }
        if let Some((b, &len)) = lengths.iter().enumerate().find(|&(_, &len)| len > keys) {
            return Err(TensorError::invalid(
                op,
                format!("key length {len} of batch entry {b} exceeds the {keys} keys"),
            ));
        }
        Ok(())
    }
}

/// The arguments of one attention call at the device level (grouped: with the backward's three
/// extra views they are too many for one signature).
#[derive(Clone, Copy, Debug)]
pub struct AttentionInputs<'a> {
    /// Queries `[B, H, Tq, d]`.
    pub q: View<'a>,
    /// Keys `[B, H, Tk, d]`.
    pub k: View<'a>,
    /// Values `[B, H, Tk, dv]`.
    pub v: View<'a>,
    /// Which keys each query sees.
    pub mask: &'a AttentionMask,
    /// The factor on `q kᵀ`, usually `1 / sqrt(d)`.
    pub scale: f64,
}

impl AttentionInputs<'_> {
    /// `[B, H, Tq, Tk, d, dv]`.
    pub fn sizes(&self) -> [usize; 6] {
        let (q, v) = (self.q.dims(), self.v.dims());
        [q[0], q[1], q[2], v[2], q[3], v[3]]
    }
}

/// The usual attention scale for head width `d`: `1 / sqrt(d)` (1 for `d = 0`).
pub fn default_attention_scale(d: usize) -> f64 {
    if d == 0 { 1.0 } else { 1.0 / (d as f64).sqrt() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causal_masks_align_bottom_right() {
        let causal = AttentionMask::causal();
        // Tq = Tk: the lower triangle.
        assert_eq!((0..4).map(|i| causal.visible_keys(0, i, 4, 4)).collect::<Vec<_>>(), [1, 2, 3, 4]);
        // Tq < Tk: the last queries of a longer sequence; one query sees everything.
        assert_eq!((0..2).map(|i| causal.visible_keys(0, i, 2, 5)).collect::<Vec<_>>(), [4, 5]);
        assert_eq!(causal.visible_keys(0, 0, 1, 7), 7);
        // Tq > Tk: the first queries see no key.
        assert_eq!((0..4).map(|i| causal.visible_keys(0, i, 4, 2)).collect::<Vec<_>>(), [0, 0, 1, 2]);
        let padded = AttentionMask::causal().with_key_lengths(vec![3, 1]);
        assert_eq!((0..5).map(|i| padded.visible_keys(0, i, 5, 5)).collect::<Vec<_>>(), [1, 2, 3, 3, 3]);
        assert_eq!(padded.visible_keys(1, 4, 5, 5), 1);
        assert!(AttentionMask::none().is_unmasked() && !padded.is_unmasked());
    }

    #[test]
    fn key_lengths_are_checked() {
        let mask = AttentionMask::none().with_key_lengths(vec![2, 6]);
        assert!(mask.check("attention", 2, 6).is_ok());
        let error = mask.check("attention", 2, 5).unwrap_err().to_string();
        assert_eq!(error, "attention: key length 6 of batch entry 1 exceeds the 5 keys");
        let error = mask.check("attention", 3, 6).unwrap_err().to_string();
        assert_eq!(error, "attention: the mask has 2 key lengths for a batch of 3");
        assert_eq!(default_attention_scale(64), 0.125);
    }
}
