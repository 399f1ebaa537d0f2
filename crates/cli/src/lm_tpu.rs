//! `tessera lm tpu-step`: one GPT training step on the simulated TPU, per chip, and where its
//! cycles went — the products on the systolic array (with the array's utilisation and stalls)
//! against the element-wise work on the vector unit.

use std::sync::Arc;

use autograd::{Var, clip_grad_norm};
use backend_tpu_sim::{Ledger, TpuConfig, TpuDevice};
use nlp::lm::{Gpt, GptConfig};
use nn_layers::ModuleExt;
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::optim::{Adam, AdamConfig, Optimizer};
use tensor_core::{Device, TensorRng};

use crate::error::CliError;

/// Arguments of `tessera lm tpu-step`.
#[derive(clap::Args, Debug)]
pub struct TpuStepArgs {
    /// Chips to simulate (presets), comma-separated.
    #[arg(long, value_delimiter = ',', default_value = "tpu-v1,bf16-128")]
    pub presets: Vec<String>,
    /// Transformer blocks.
    #[arg(long, default_value_t = 4)]
    pub layers: usize,
    /// Attention heads per block.
    #[arg(long, default_value_t = 4)]
    pub heads: usize,
    /// Features per position.
    #[arg(long, default_value_t = 128)]
    pub width: usize,
    /// Positions per window.
    #[arg(long, default_value_t = 64)]
    pub context: usize,
    /// Windows per step.
    #[arg(long, default_value_t = 12)]
    pub batch: usize,
    /// Vocabulary size (65 is Shakespeare's characters).
    #[arg(long, default_value_t = 65)]
    pub vocab: usize,
}

/// What one step cost on one chip.
#[derive(Debug)]
pub struct StepCost {
    /// The chip's description.
    pub chip: String,
    /// Its array's processing elements.
    pub pes: usize,
    /// Its clock.
    pub clock_mhz: f64,
    /// Tokens the step trained on.
    pub tokens: usize,
    /// Everything the step was charged.
    pub ledger: Ledger,
}

impl StepCost {
    /// Cycles charged to matrix products (the array).
    pub fn array_cycles(&self) -> u64 {
        self.ledger.array.cycles
    }

    /// Useful MACs per PE-cycle over the whole step (vector-unit time included).
    pub fn step_utilisation(&self) -> f64 {
        let total = self.ledger.total_cycles();
        if total == 0 { 0.0 } else { self.ledger.array.useful_macs as f64 / (total as f64 * self.pes as f64) }
    }
}

/// Runs one training step (forward, cross-entropy, backward, clipping, AdamW) of a GPT sized
/// by `args` on a fresh simulated chip `preset` and returns its ledger.
pub fn simulate_step(args: &TpuStepArgs, preset: &str) -> Result<StepCost, CliError> {
    let config = TpuConfig::preset(preset)
        .ok_or_else(|| CliError::Usage(format!("unknown preset {preset:?}; presets: {:?}", TpuConfig::PRESETS)))?;
    let (pes, clock_mhz, chip) = (config.rows * config.cols, config.clock_mhz, config.name.clone());
    let tpu = Arc::new(TpuDevice::new(config));
    let device: Arc<dyn Device> = tpu.clone();
    let mut rng = TensorRng::new(0);
    let gpt_config = GptConfig {
        layers: args.layers,
        heads: args.heads,
        width: args.width,
        context: args.context,
        ..GptConfig::nano_shakespeare(args.vocab)
    };
    let model = Gpt::new(gpt_config, &mut rng, &device)?;
    let params = model.parameters();
    let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
    let adam_config = AdamConfig { betas: (0.9, 0.99), weight_decay: 0.1, ..AdamConfig::adamw(1e-3) };
    let mut adam = Adam::new(params, adam_config).without_decay(|_, p| p.value().rank() < 2);
    let (batch, context) = (args.batch, args.context);
    let ids = rng.integers([batch, context + 1], args.vocab as u64, &device)?;
    let inputs = ids.narrow(1, 0, context).contiguous();
    let targets = ids.narrow(1, 1, context).contiguous().reshape([batch * context]);
    tpu.reset_ledger();
    adam.zero_grad();
    let logits = model.forward_ids(&inputs, None, None)?.reshape([batch * context, args.vocab])?;
    let loss = cross_entropy(&logits, &targets, CrossEntropy::default())?;
    loss.backward()?;
    clip_grad_norm(&leaves, 1.0)?;
    adam.step()?;
    leaves[0].value().sync()?;
    Ok(StepCost { chip, pes, clock_mhz, tokens: batch * context, ledger: tpu.ledger() })
}

/// Runs `tessera lm tpu-step`.
pub fn run(args: &TpuStepArgs) -> Result<(), CliError> {
    println!(
        "GPT training step: {} layers, {} heads, {} wide, context {}, batch {}, vocabulary {}",
        args.layers, args.heads, args.width, args.context, args.batch, args.vocab
    );
    let mut costs = Vec::new();
    for preset in &args.presets {
        let cost = simulate_step(args, preset)?;
        println!("\n== {} ({} PEs at {} MHz)\n{}", cost.chip, cost.pes, cost.clock_mhz, cost.ledger);
        costs.push(cost);
    }
    println!(
        "\n{:<28} {:>12} {:>8} {:>10} {:>11} {:>11} {:>10}",
        "chip", "cycles", "array", "stalls", "array util", "step util", "tokens/s"
    );
    for cost in &costs {
        let total = cost.ledger.total_cycles();
        let seconds = total as f64 / (cost.clock_mhz * 1e6);
        println!(
            "{:<28} {:>12} {:>7.1}% {:>10} {:>10.1}% {:>10.1}% {:>10.0}",
            cost.chip,
            total,
            100.0 * cost.array_cycles() as f64 / total.max(1) as f64,
            cost.ledger.array.stall_cycles(),
            100.0 * cost.ledger.array.utilisation(cost.pes),
            100.0 * cost.step_utilisation(),
            cost.tokens as f64 / seconds.max(f64::MIN_POSITIVE)
        );
    }
    println!(
        "array: share of the step's cycles spent in matrix products; array util: useful MACs per \
         PE-cycle while the array runs; step util: the same over the whole step"
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiny() -> TpuStepArgs {
        TpuStepArgs { presets: vec![], layers: 1, heads: 2, width: 16, context: 8, batch: 2, vocab: 11 }
    }

    #[test]
    fn a_step_charges_the_array_and_the_vector_unit_on_both_chips() {
        for preset in TpuConfig::PRESETS {
            let cost = simulate_step(&tiny(), preset).unwrap();
            let ledger = &cost.ledger;
            assert!(ledger.array.useful_macs > 0, "{preset}: no products on the array");
            assert!(cost.array_cycles() > 0 && cost.array_cycles() < ledger.total_cycles(), "{preset}");
            // Attention and the loss run as their default bodies: products on the array, the
            // softmax's exp, max and sum on the vector unit.
            for op in ["matmul", "unary", "binary", "reduce"] {
                assert!(ledger.ops.get(op).is_some_and(|c| c.calls > 0 && c.cycles > 0), "{preset}: {op} missing");
            }
            assert_eq!(ledger.ops["matmul"].cycles, cost.array_cycles(), "{preset}: products are the array's");
            let (array, step) = (ledger.array.utilisation(cost.pes), cost.step_utilisation());
            assert!(0.0 < step && step < array && array <= 1.0, "{preset}: {step} {array}");
        }
    }

    #[test]
    fn an_unknown_chip_is_a_usage_error() {
        assert!(matches!(simulate_step(&tiny(), "tpu-v9"), Err(CliError::Usage(_))));
    }
}
