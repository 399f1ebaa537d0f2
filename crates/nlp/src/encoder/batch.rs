//! What a [`super::Bert`] reads: token ids with segment ids, one row per input, padded on the
//! right to the longest row of the batch, with each row's real length (the padded keys are
//! masked out of attention, so a padded row gives the same outputs as the row alone).

use std::sync::Arc;

use tensor_core::{DType, Device, Tensor};

use crate::{NlpError, Result};

/// One input: ids (`[CLS] a [SEP]` or `[CLS] a [SEP] b [SEP]`) and their segment ids (0 for
/// the first sentence with its `[CLS]` and `[SEP]`, 1 for the second with its `[SEP]`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EncodedInput {
    /// Token ids.
    pub ids: Vec<u32>,
    /// Segment (token type) ids, one per token.
    pub segments: Vec<u32>,
}

impl EncodedInput {
    /// Tokens.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether it holds no token.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// A batch of inputs: i64 `ids` and `segments` `[B, T]` and the real `lengths` of the rows
/// (positions `lengths[b]..T` of row `b` are padding).
#[derive(Clone, Debug)]
pub struct BertBatch {
    /// Token ids `[B, T]` (i64).
    pub ids: Tensor,
    /// Segment ids `[B, T]` (i64).
    pub segments: Tensor,
    /// Real tokens per row, each in `1..=T`.
    pub lengths: Vec<usize>,
}

impl BertBatch {
    /// A batch of tensors made elsewhere, checked: `ids` and `segments` i64 `[B, T]` of the same
    /// shape, one length per row, each in `1..=T`.
    pub fn new(ids: Tensor, segments: Tensor, lengths: Vec<usize>) -> Result<BertBatch> {
        let dims = ids.dims().to_vec();
        if dims.len() != 2 || ids.dtype() != DType::I64 {
            return Err(NlpError::Invalid(format!("a BERT reads i64 ids [B, T], got {} {}", ids.dtype(), ids.shape())));
        }
        if segments.dims() != dims.as_slice() || segments.dtype() != DType::I64 {
            return Err(NlpError::Invalid(format!(
                "segment ids must match the ids: ids {} vs segments {} {}",
                ids.shape(),
                segments.dtype(),
                segments.shape()
            )));
        }
        if lengths.len() != dims[0] {
            return Err(NlpError::Invalid(format!("{} lengths for a batch of {} rows", lengths.len(), dims[0])));
        }
        if let Some(bad) = lengths.iter().find(|&&n| n == 0 || n > dims[1]) {
            return Err(NlpError::Invalid(format!("a row length of {bad} does not fit rows of {} positions", dims[1])));
        }
        Ok(BertBatch { ids, segments, lengths })
    }

    /// `inputs` padded with `pad` (segment 0) to the longest of them, on `device`. Every input
    /// needs at least one token and as many segment ids as ids.
    pub fn from_inputs(inputs: &[EncodedInput], pad: u32, device: &Arc<dyn Device>) -> Result<BertBatch> {
        if inputs.is_empty() {
            return Err(NlpError::Invalid("a batch needs at least one input".into()));
        }
        let steps = inputs.iter().map(EncodedInput::len).max().unwrap_or(0);
        let mut ids = Vec::with_capacity(inputs.len() * steps);
        let mut segments = Vec::with_capacity(inputs.len() * steps);
        for (row, input) in inputs.iter().enumerate() {
            if input.is_empty() {
                return Err(NlpError::Invalid(format!("input {row} of the batch has no token")));
            }
            if input.segments.len() != input.ids.len() {
                return Err(NlpError::Invalid(format!(
                    "input {row} has {} ids but {} segment ids",
                    input.ids.len(),
                    input.segments.len()
                )));
            }
            let padding = steps - input.len();
            ids.extend(input.ids.iter().map(|&id| id as i64).chain(std::iter::repeat_n(pad as i64, padding)));
            segments.extend(input.segments.iter().map(|&s| s as i64).chain(std::iter::repeat_n(0, padding)));
        }
        let shape = [inputs.len(), steps];
        BertBatch::new(
            Tensor::from_vec(ids, shape, device)?,
            Tensor::from_vec(segments, shape, device)?,
            inputs.iter().map(EncodedInput::len).collect(),
        )
    }

    /// Rows.
    pub fn rows(&self) -> usize {
        self.ids.dims()[0]
    }

    /// Positions per row (the longest input's length).
    pub fn steps(&self) -> usize {
        self.ids.dims()[1]
    }
}
