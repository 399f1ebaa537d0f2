//! `tessera demo`: every capability that exists, run for real on built-in data, one stage each.

use std::sync::Arc;
use std::time::Instant;

use backend_cpu::CpuDevice;
use tensor_core::{DType, Device, Tensor, TensorRng};

use crate::devices::{self, DeviceKind};
use crate::error::CliError;
use crate::train::Arch;

/// Runs every stage on `kind` and prints a summary.
pub fn run(kind: DeviceKind) -> Result<(), CliError> {
    let device = kind.open()?;
    println!("Tessera demo on {}\n", devices::describe(&device));
    stage("1. A neuron layer with broadcasting", || neuron(&device))?;
    stage("2. Matrix multiply, timed and checked against an f64 reference", || matmul(&device))?;
    stage("3. Op conformance against the f64 reference", || conformance_summary(&device))?;
    stage("4. An MLP learns handwritten digits (backprop, Adam, softmax head)", || digits(kind, Arch::Mlp))?;
    stage("5. A CNN learns the same digits (convolution, max pooling, fully connected head)", || {
        digits(kind, Arch::Cnn)
    })?;
    stage("6. A bidirectional LSTM tags parts of speech (Brown sample, held-out documents)", || {
        crate::tagger::demo(kind)
    })?;
    stage("7. N-gram language models of Jane Austen (smoothing, perplexity, next words, fluency, BPE)", || {
        crate::language_model::demo()
    })?;
    stage(
        "8. A recurrent LM and a tiny GPT of the same novels beside the n-grams (LSTM, transformer, mixture, generation)",
        || crate::lm_demo::demo(kind),
    )?;
    stage("9. word2vec on the same novels (CBOW, negative sampling; neighbours, analogies)", crate::word2vec::demo)?;
    if kind == DeviceKind::TpuSim {
        let ledger = devices::tpu_sim().ledger();
        let seconds = ledger.total_cycles() as f64 / (devices::tpu_sim().config().clock_mhz * 1e6);
        println!("== simulated TPU: where the cycles went ({seconds:.3} s at the clock)\n{ledger}\n");
    }
    println!("demo finished: all stages passed");
    Ok(())
}

fn stage(title: &str, body: impl FnOnce() -> Result<(), CliError>) -> Result<(), CliError> {
    println!("== {title}");
    let started = Instant::now();
    body()?;
    println!("   ({:.2} s)\n", started.elapsed().as_secs_f64());
    Ok(())
}

/// sigmoid(x·W + b) for a batch of 4 inputs with 3 features into 2 units: the bias row
/// broadcasts over the batch.
fn neuron(device: &Arc<dyn Device>) -> Result<(), CliError> {
    let x = Tensor::from_vec(vec![0.5f32, -1.0, 2.0, 1.5, 0.0, -0.5, -2.0, 1.0, 0.25, 0.0, 3.0, -1.0], [4, 3], device)?;
    let w = Tensor::from_vec(vec![0.8f32, -0.4, 0.1, 0.9, -0.6, 0.3], [3, 2], device)?;
    let b = Tensor::from_vec(vec![0.1f32, -0.2], [2], device)?;
    let y = x.try_matmul(&w)?.try_add(&b)?.try_sigmoid()?;
    let p = x.try_matmul(&w)?.try_add(&b)?.try_softmax(-1)?;
    println!("   x {} · W {} + b {} -> sigmoid {}", x.shape(), w.shape(), b.shape(), y.shape());
    for (row, probs) in y.to_vec::<f32>()?.chunks(2).zip(p.to_vec::<f32>()?.chunks(2)) {
        println!("   sigmoid {:>7.4} {:>7.4}   softmax {:>7.4} {:>7.4}", row[0], row[1], probs[0], probs[1]);
    }
    Ok(())
}

/// A 512³ f32 product, best of 5, checked element by element against the f64 CPU product.
fn matmul(device: &Arc<dyn Device>) -> Result<(), CliError> {
    let n = 512;
    let mut rng = TensorRng::new(42);
    let a = rng.uniform([n, n], -1.0, 1.0, DType::F32, device)?;
    let b = rng.uniform([n, n], -1.0, 1.0, DType::F32, device)?;
    let mut best = f64::INFINITY;
    let mut product = a.try_matmul(&b)?;
    for _ in 0..5 {
        let started = Instant::now();
        product = a.try_matmul(&b)?;
        product.sync()?;
        best = best.min(started.elapsed().as_secs_f64());
    }
    let cpu: Arc<dyn Device> = CpuDevice::shared();
    let reference =
        a.try_to_device(&cpu)?.try_cast(DType::F64)?.try_matmul(&b.try_to_device(&cpu)?.try_cast(DType::F64)?)?;
    let got = product.to_f64_vec()?;
    let want = reference.to_f64_vec()?;
    let max_error = got.iter().zip(&want).map(|(g, w)| (g - w).abs()).fold(0.0, f64::max);
    let gflops = 2.0 * (n as f64).powi(3) / best / 1e9;
    println!(
        "   [{n}, {n}] x [{n}, {n}] f32: {:.2} ms, {gflops:.1} GFLOP/s; max |error| vs f64 = {max_error:.2e}",
        best * 1e3
    );
    if max_error > 1e-3 {
        return Err(CliError::Check(format!("matmul error {max_error:.2e} exceeds 1e-3")));
    }
    Ok(())
}

fn conformance_summary(device: &Arc<dyn Device>) -> Result<(), CliError> {
    let report = tensor_core::conformance::run(device, DType::F32);
    let cases: usize = report.ops.iter().map(|o| o.cases).sum();
    let (native, composites) = report.native_composites();
    println!(
        "   {} ops, {cases} cases, {} failed; composites run natively: {native}/{composites}",
        report.ops.len(),
        report.failures()
    );
    if report.failures() > 0 {
        return Err(CliError::Check(format!("{} conformance cases failed\n{report}", report.failures())));
    }
    Ok(())
}

/// `tessera conformance`.
pub fn conformance(kind: DeviceKind, verbose: bool) -> Result<(), CliError> {
    let device = kind.open()?;
    for dtype in [DType::F32, DType::F64] {
        if !device.supports(dtype) {
            println!("conformance on {} ({dtype}): skipped, the device does not store {dtype}", device.name());
            continue;
        }
        let report = tensor_core::conformance::run(&device, dtype);
        if verbose {
            print!("{report}");
        } else {
            println!("{}", report.to_string().lines().next().unwrap_or_default());
        }
        if report.failures() > 0 {
            return Err(CliError::Check(format!("{} conformance cases failed", report.failures())));
        }
    }
    Ok(())
}

/// Trains a small MLP (64-64-10) or CNN on the built-in 8x8 digits, reloads the model folder
/// and re-evaluates it.
fn digits(kind: DeviceKind, arch: Arch) -> Result<(), CliError> {
    let dir = std::env::temp_dir().join(format!("tessera-demo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| nn_layers::NnError::io(&dir, e))?;
    let out = dir.join(format!("digits-{arch:?}"));
    let data = crate::train::DataArgs {
        dataset: crate::train::DatasetKind::Digits,
        data_dir: None,
        images: None,
        test_images: None,
        test_fraction: 0.2,
        image_size: None,
        channels: None,
        device: kind,
    };
    let (epochs, lr) = match arch {
        Arch::Mlp => (20, 5e-3),
        Arch::Cnn => (12, 3e-3),
    };
    let args = crate::train::TrainArgs {
        data: data.clone(),
        hidden: Some(64),
        epochs,
        batch_size: 32,
        lr,
        seed: 0,
        out: Some(out.clone()),
        skip_nonfinite: false,
        detect_anomaly: false,
        resume: crate::train::ResumeArgs::default(),
    };
    let history = crate::train::train(&args, arch, &crate::job::Job::alone())?;
    let trained = history.last().and_then(|e| e.eval).map_or(0.0, |(_, a)| a);
    let eval_args = crate::train::EvalArgs { checkpoint: out, data, limit: None, predictions: None };
    let (_, reloaded) = crate::train::eval(&eval_args)?;
    let _ = std::fs::remove_dir_all(&dir);
    if (reloaded - trained).abs() > 1e-9 || reloaded < 0.9 {
        return Err(CliError::Check(format!(
            "{arch:?} digits accuracy {trained:.4} after training, {reloaded:.4} after reload"
        )));
    }
    Ok(())
}
