//! Recurrent layers with PyTorch's parameter names, shapes and gate order: vanilla RNN (tanh or
//! ReLU), GRU (gates `r, z, n`) and LSTM (gates `i, f, g, o`), stacked and bidirectional, with
//! optional initial states, batch-first or time-first layouts, and variable-length batches.
//!
//! The same weights are applied at every time step (parameter sharing): the input projection
//! of all steps is one matrix product, then each step adds the recurrent projection of the
//! previous hidden state and applies the cell. Padding never leaks: with `lengths`, a sequence's
//! state stops changing after its last token (and, running backwards, starts at it), and its
//! outputs past the end are zero.

mod cell;

use std::sync::Arc;

use autograd::Var;
use tensor_core::{DType, Device, HostBuffer, Result, Tensor, TensorError, TensorRng};

use crate::layers::Dropout;
use crate::{Module, Param, module::join};
pub use cell::CellKind;

/// Sizes and layout of a recurrent stack.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentConfig {
    /// Features per input step.
    pub input: usize,
    /// Hidden units per direction.
    pub hidden: usize,
    /// Stacked layers.
    pub layers: usize,
    /// Run a second, backward-in-time direction and concatenate the two outputs.
    pub bidirectional: bool,
    /// Inputs and outputs are `[N, T, F]` rather than `[T, N, F]`.
    pub batch_first: bool,
    /// Dropout on the outputs of every layer but the last (training only).
    pub dropout: f64,
    /// Whether the layers have `bias_ih` and `bias_hh`.
    pub bias: bool,
    /// Parameter dtype.
    pub dtype: DType,
}

impl RecurrentConfig {
    /// One unidirectional, time-first layer with biases, f32.
    pub fn new(input: usize, hidden: usize) -> Self {
        RecurrentConfig {
            input,
            hidden,
            layers: 1,
            bidirectional: false,
            batch_first: false,
            dropout: 0.0,
            bias: true,
            dtype: DType::F32,
        }
    }

    fn directions(&self) -> usize {
        if self.bidirectional { 2 } else { 1 }
    }
}

/// The hidden state (and, for an LSTM, the cell state) of every layer and direction,
/// `[layers · directions, N, hidden]`, as PyTorch's `h_n` and `c_n`.
#[derive(Clone, Debug)]
pub struct RecurrentState {
    /// Hidden states.
    pub h: Var,
    /// Cell states (LSTM only).
    pub c: Option<Var>,
}

impl RecurrentState {
    /// The same values cut off from the graph: truncated back-propagation through time carries
    /// the state into the next chunk without back-propagating into the previous one.
    pub fn detach(&self) -> RecurrentState {
        RecurrentState { h: self.h.detach(), c: self.c.as_ref().map(Var::detach) }
    }
}

/// The weights of one layer in one direction.
#[derive(Debug)]
struct DirectionWeights {
    weight_ih: Param,
    weight_hh: Param,
    bias_ih: Option<Param>,
    bias_hh: Option<Param>,
}

/// A stack of recurrent layers (PyTorch's `nn.RNN`, `nn.GRU`, `nn.LSTM`). Parameters are named
/// `weight_ih_l{k}`, `weight_hh_l{k}`, `bias_ih_l{k}`, `bias_hh_l{k}`, with `_reverse` for the
/// backward direction; `weight_ih` is `[gates · hidden, input]`.
#[derive(Debug)]
pub struct Recurrent {
    kind: CellKind,
    config: RecurrentConfig,
    weights: Vec<Vec<DirectionWeights>>,
    dropout: Dropout,
}

impl Recurrent {
    /// A stack initialised as PyTorch does: every weight and bias U(±1/√hidden).
    pub fn new(kind: CellKind, config: RecurrentConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        if config.hidden == 0 || config.layers == 0 {
            return Err(TensorError::invalid("recurrent", "hidden size and layer count must be positive"));
        }
        let bound = 1.0 / (config.hidden as f64).sqrt();
        let rows = kind.gates() * config.hidden;
        let mut param = |dims: &[usize]| rng.uniform(dims, -bound, bound, config.dtype, device).map(Param::new);
        let mut weights = Vec::new();
        for layer in 0..config.layers {
            let inputs = if layer == 0 { config.input } else { config.hidden * config.directions() };
            let mut directions = Vec::new();
            for _ in 0..config.directions() {
                directions.push(DirectionWeights {
                    weight_ih: param(&[rows, inputs])?,
                    weight_hh: param(&[rows, config.hidden])?,
                    bias_ih: config.bias.then(|| param(&[rows])).transpose()?,
                    bias_hh: config.bias.then(|| param(&[rows])).transpose()?,
                });
            }
            weights.push(directions);
        }
        let dropout = Dropout::new(config.dropout, rng.next_u64())?;
        Ok(Recurrent { kind, config, weights, dropout })
    }

    /// `nn.LSTM`.
    pub fn lstm(config: RecurrentConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Self::new(CellKind::Lstm, config, rng, device)
    }

    /// `nn.GRU`.
    pub fn gru(config: RecurrentConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Self::new(CellKind::Gru, config, rng, device)
    }

    /// `nn.RNN` with tanh.
    pub fn rnn(config: RecurrentConfig, rng: &mut TensorRng, device: &Arc<dyn Device>) -> Result<Self> {
        Self::new(CellKind::RnnTanh, config, rng, device)
    }

    /// Sets every LSTM forget-gate bias so the gate starts open (the sum `bias_ih + bias_hh`
    /// of the forget block becomes `value`; 1 is the usual choice, after Gers et al. and
    /// Jozefowicz et al.): early in training the cell state, and gradients along it, pass
    /// through many steps. Does nothing for other cells or without biases.
    pub fn init_forget_bias(&self, value: f64) -> Result<()> {
        if self.kind != CellKind::Lstm {
            return Ok(());
        }
        let hidden = self.config.hidden;
        for w in self.weights.iter().flatten() {
            for (bias, fill) in [(&w.bias_ih, value), (&w.bias_hh, 0.0)] {
                let Some(b) = bias else { continue };
                let mut values = b.value().to_f64_vec()?;
                values[hidden..2 * hidden].fill(fill);
                let count = values.len();
                let dtype = b.value().dtype();
                b.set_value(Tensor::from_buffer(HostBuffer::from_f64(dtype, &values), [count], b.value().device())?)?;
            }
        }
        Ok(())
    }

    /// The cell type.
    pub fn kind(&self) -> CellKind {
        self.kind
    }

    /// The sizes and layout.
    pub fn config(&self) -> &RecurrentConfig {
        &self.config
    }

    /// Runs the stack over `input` (`[T, N, F]`, or `[N, T, F]` when batch-first). `lengths`
    /// (one per sequence, at most T) marks the real steps of a padded batch; `state` gives
    /// initial states (zeros otherwise). Returns the top layer's outputs `[T, N, D·hidden]` (or
    /// batch-first) and the final states.
    pub fn forward_with(
        &self,
        input: &Var,
        lengths: Option<&[usize]>,
        state: Option<&RecurrentState>,
    ) -> Result<(Var, RecurrentState)> {
        let cfg = &self.config;
        let dims = input.dims();
        if dims.len() != 3 || dims[2] != cfg.input {
            return Err(TensorError::invalid(
                "recurrent",
                format!("expects [T, N, {}] (or [N, T, {}] batch-first), got {}", cfg.input, cfg.input, input.shape()),
            ));
        }
        let x = if cfg.batch_first { input.transpose(0, 1)? } else { input.clone() };
        let (steps, batch) = (x.dims()[0], x.dims()[1]);
        let value = x.value();
        let masks = lengths.map(|l| step_masks(l, steps, batch, &value)).transpose()?;
        let slots = cfg.layers * cfg.directions();
        let initial = |which: Option<&Var>, slot: usize| -> Result<Var> {
            match which {
                Some(s) => {
                    if s.dims() != [slots, batch, cfg.hidden] {
                        return Err(TensorError::invalid(
                            "recurrent",
                            format!("initial state must be [{slots}, {batch}, {}], got {}", cfg.hidden, s.shape()),
                        ));
                    }
                    s.narrow(0, slot, 1)?.squeeze(0)
                }
                None => Ok(Var::constant(Tensor::zeros([batch, cfg.hidden], value.dtype(), value.device())?)),
            }
        };
        let mut layer_input = x;
        let (mut final_h, mut final_c) = (Vec::new(), Vec::new());
        for (layer, directions) in self.weights.iter().enumerate() {
            if layer > 0 {
                layer_input = self.dropout.forward(&layer_input)?;
            }
            let mut outputs = Vec::new();
            for (d, w) in directions.iter().enumerate() {
                let slot = layer * cfg.directions() + d;
                let h0 = initial(state.map(|s| &s.h), slot)?;
                let c0 = match self.kind {
                    CellKind::Lstm => Some(initial(state.and_then(|s| s.c.as_ref()), slot)?),
                    _ => None,
                };
                let run = cell::Run { kind: self.kind, hidden: cfg.hidden, masks: masks.as_deref(), reverse: d == 1 };
                let (out, h, c) = run.direction(&layer_input, w, h0, c0)?;
                outputs.push(out);
                final_h.push(h.unsqueeze(0)?);
                final_c.extend(c.map(|c| c.unsqueeze(0)).transpose()?);
            }
            layer_input =
                if outputs.len() == 1 { outputs.remove(0) } else { Var::cat(&outputs.iter().collect::<Vec<_>>(), 2)? };
        }
        let output = if cfg.batch_first { layer_input.transpose(0, 1)? } else { layer_input };
        let h = Var::cat(&final_h.iter().collect::<Vec<_>>(), 0)?;
        let c = (!final_c.is_empty()).then(|| Var::cat(&final_c.iter().collect::<Vec<_>>(), 0)).transpose()?;
        Ok((output, RecurrentState { h, c }))
    }
}

/// Per-step masks `[N, 1]` (1 for a real step, 0 for padding) from sequence lengths.
fn step_masks(lengths: &[usize], steps: usize, batch: usize, like: &Tensor) -> Result<Vec<Tensor>> {
    if lengths.len() != batch || lengths.iter().any(|&l| l > steps) {
        return Err(TensorError::invalid(
            "recurrent",
            format!("lengths {lengths:?} must give one length <= {steps} for each of {batch} sequences"),
        ));
    }
    (0..steps)
        .map(|t| {
            let values: Vec<f64> = lengths.iter().map(|&l| if t < l { 1.0 } else { 0.0 }).collect();
            Tensor::from_buffer(HostBuffer::from_f64(like.dtype(), &values), [batch, 1], like.device())
        })
        .collect()
}

impl Module for Recurrent {
    /// The top layer's outputs for full-length sequences from zero states.
    fn forward(&self, input: &Var) -> Result<Var> {
        Ok(self.forward_with(input, None, None)?.0)
    }

    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param)) {
        for (layer, directions) in self.weights.iter().enumerate() {
            for (d, w) in directions.iter().enumerate() {
                let suffix = format!("l{layer}{}", if d == 1 { "_reverse" } else { "" });
                visit(&join(prefix, &format!("weight_ih_{suffix}")), &w.weight_ih);
                visit(&join(prefix, &format!("weight_hh_{suffix}")), &w.weight_hh);
                if let (Some(bi), Some(bh)) = (&w.bias_ih, &w.bias_hh) {
                    visit(&join(prefix, &format!("bias_ih_{suffix}")), bi);
                    visit(&join(prefix, &format!("bias_hh_{suffix}")), bh);
                }
            }
        }
    }

    fn set_training(&self, training: bool) {
        self.dropout.set_training(training);
    }

    fn reseed_dropout(&self, seed: u64) {
        self.dropout.reseed(seed);
    }
}
