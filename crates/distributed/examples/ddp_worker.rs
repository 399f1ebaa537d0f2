//! The program the MPI tests and the distributed benchmark launch under `mpirun`:
//!
//! - `train mlp|cnn|lstm <global-batch> <steps> <out>`: trains from a fixed seed on the shipped
//!   digits (MLP, CNN) or a seeded token stream (an LSTM language model), data-parallel over
//!   the job's ranks; checks that every rank holds bit-identical parameters, and rank 0 writes
//!   them to `<out>` (f32, little-endian, in parameter order).
//! - `fault panic|error|kill <step>`: trains the MLP; rank 1 panics, returns an error or kills
//!   itself (SIGKILL) at that step, so the tests can time how fast the whole job ends.
//! - `bench mlp|cnn|lstm <global-batch> <steps> [overlap|serial]`: times training steps and
//!   prints throughput and where backward's time went.
//! - `allreduce <megabytes> <repeats>`: times a blocking all-reduce (sum) of that many bytes of
//!   f32 against a plain copy of the same bytes in one process.

use std::sync::Arc;
use std::time::Instant;

use autograd::Var;
use distributed::{DataParallel, DdpConfig, Mpi};
use nlp::lm::{LmNetwork, LmState, RnnLm, RnnLmConfig};
use nn_layers::data::{Dataset, read_digits_csv};
use nn_layers::layers::{Activation, CellKind, Linear, Sequential};
use nn_layers::loss::{CrossEntropy, cross_entropy};
use nn_layers::models::{LeNetConfig, lenet};
use nn_layers::optim::{Optimizer, Sgd, SgdConfig};
use nn_layers::train::{FitConfig, Replicas, fit_classifier_on, shard_range};
use nn_layers::{Module, ModuleExt, NnError};
use tensor_core::{Device, Tensor, TensorRng};

type Failure = Box<dyn std::error::Error>;

fn main() {
    let mpi = match Mpi::init() {
        Ok(mpi) => mpi,
        Err(error) => {
            eprintln!("ddp_worker: {error}");
            std::process::exit(2);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Err(error) = run(&mpi, &args) {
        mpi.abort(&error.to_string());
    }
}

fn run(mpi: &Mpi, args: &[String]) -> Result<(), Failure> {
    let arg = |i: usize| args.get(i).map(String::as_str).ok_or_else(|| format!("missing argument {i}: {args:?}"));
    let number = |i: usize| -> Result<usize, Failure> { Ok(arg(i)?.parse()?) };
    match arg(0)? {
        "train" => {
            let (model, mut optimizer) = build(arg(1)?)?;
            let mut ddp = DataParallel::new(mpi, model.module(), DdpConfig::default())?;
            model.train(&mut ddp, optimizer.as_mut(), number(2)?, number(3)?)?;
            let hash = ddp.check_in_sync()?;
            println!("rank {} hash {hash:016x}", mpi.rank());
            if mpi.rank() == 0 {
                let mut bytes = Vec::new();
                for (_, p) in model.module().parameters() {
                    bytes.extend(p.value().to_vec::<f32>()?.iter().flat_map(|x| x.to_le_bytes()));
                }
                std::fs::write(arg(4)?, bytes)?;
            }
        }
        "fault" => {
            let (model, mut optimizer) = build("mlp")?;
            let ddp = DataParallel::new(mpi, model.module(), DdpConfig::default())?;
            let mut faulty = Faulty { inner: ddp, mode: arg(1)?.to_string(), at: number(2)?, step: 0 };
            model.train(&mut faulty, optimizer.as_mut(), 64, 1000)?;
        }
        "bench" => {
            let (model, mut optimizer) = build(arg(1)?)?;
            let overlap = args.get(4).is_none_or(|m| m != "serial");
            let mut ddp = DataParallel::new(mpi, model.module(), DdpConfig { overlap, ..DdpConfig::default() })?;
            let (batch, steps) = (number(2)?, number(3)?);
            model.train(&mut ddp, optimizer.as_mut(), batch, 3)?;
            ddp.reset_stats();
            mpi.barrier();
            let started = Instant::now();
            model.train(&mut ddp, optimizer.as_mut(), batch, steps)?;
            mpi.barrier();
            let seconds = started.elapsed().as_secs_f64();
            let stats = ddp.stats();
            if mpi.rank() == 0 {
                println!(
                    "bench {} ranks {} steps {steps} seconds {seconds:.4} examples_per_s {:.1} backward_s {:.4} \
                     exposed_s {:.4} overlapped_buckets {} buckets {} bytes_per_step {}",
                    arg(1)?,
                    mpi.size(),
                    (steps * batch) as f64 / seconds,
                    stats.backward_seconds,
                    stats.exposed_seconds,
                    stats.overlapped_buckets,
                    stats.buckets,
                    stats.bytes / stats.steps.max(1)
                );
            }
        }
        "allreduce" => {
            use mpi::collective::{CommunicatorCollectives, SystemOperation};
            let (megabytes, repeats) = (number(1)?, number(2)?.max(1));
            let len = megabytes * (1 << 20) / 4;
            let send = vec![1.0f32; len];
            let mut recv = vec![0.0f32; len];
            mpi.world().all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            mpi.barrier();
            let started = Instant::now();
            for _ in 0..repeats {
                mpi.world().all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            }
            let reduce = started.elapsed().as_secs_f64() / repeats as f64;
            let started = Instant::now();
            for _ in 0..repeats {
                recv.copy_from_slice(std::hint::black_box(&send));
                std::hint::black_box(&recv);
            }
            let copy = started.elapsed().as_secs_f64() / repeats as f64;
            if mpi.rank() == 0 {
                println!(
                    "allreduce ranks {} megabytes {megabytes} allreduce_ms {:.3} copy_ms {:.3} ratio {:.2} busbw_gbs {:.2}",
                    mpi.size(),
                    1e3 * reduce,
                    1e3 * copy,
                    reduce / copy,
                    // NCCL's "bus bandwidth": what each link carries in a ring all-reduce.
                    2.0 * (mpi.size() as f64 - 1.0) / mpi.size() as f64 * (4 * len) as f64 / reduce / 1e9
                );
            }
        }
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}

/// Rank 1 fails at step `at` (the others train on and wait for it in the all-reduce).
struct Faulty<'m> {
    inner: DataParallel<'m>,
    mode: String,
    at: usize,
    step: usize,
}

impl Replicas for Faulty<'_> {
    fn rank(&self) -> usize {
        self.inner.rank()
    }

    fn world(&self) -> usize {
        self.inner.world()
    }

    fn backward(&mut self, loss: Option<&Var>, local: usize, global: usize) -> nn_layers::Result<()> {
        self.step += 1;
        if self.rank() == 1 && self.step == self.at {
            match self.mode.as_str() {
                "panic" => panic!("injected panic on rank 1 at step {}", self.at),
                "error" => return Err(NnError::Invalid(format!("injected error on rank 1 at step {}", self.at))),
                _ => {
                    eprintln!("rank 1 kills itself at step {}", self.at);
                    let pid = std::process::id().to_string();
                    let _ = std::process::Command::new("kill").args(["-9", &pid]).status();
                }
            }
        }
        self.inner.backward(loss, local, global)
    }

    fn sum(&mut self, values: &mut [f64]) -> nn_layers::Result<()> {
        self.inner.sum(values)
    }
}

/// A model of the tests with its training data.
enum Model {
    Classifier(Sequential, Dataset),
    Language(RnnLm, Vec<i64>),
}

const STREAMS_LEN: usize = 4000;
const WINDOW: usize = 10;
const VOCAB: usize = 40;

fn build(kind: &str) -> Result<(Model, Box<dyn Optimizer>), Failure> {
    let device: Arc<dyn Device> = backend_cpu::CpuDevice::shared();
    // Each rank starts from a different seed; DataParallel::new replaces the others' weights
    // by rank 0's, which the equivalence tests depend on.
    let seed = 7 + std::env::var("OMPI_COMM_WORLD_RANK").ok().and_then(|r| r.parse::<u64>().ok()).unwrap_or(0);
    let mut rng = TensorRng::new(seed);
    let digits = || read_digits_csv(&test_support::repo_data("sklearn-digits/digits.csv.gz"));
    let model = match kind {
        "mlp" => {
            let net = Sequential::new()
                .push(Linear::new(64, 128, &mut rng, &device)?)
                .push(Activation::Relu)
                .push(Linear::new(128, 10, &mut rng, &device)?);
            Model::Classifier(net, digits()?)
        }
        "cnn" => {
            let config = LeNetConfig { channels: [8, 16], hidden: 64, ..LeNetConfig::for_digits([8, 8], 10) };
            Model::Classifier(lenet(&config, &mut rng, &device)?, digits()?.with_feature_dims(vec![1, 8, 8])?)
        }
        "lstm" => {
            let config = RnnLmConfig {
                cell: CellKind::Lstm,
                vocab_size: VOCAB,
                embed: 32,
                hidden: 64,
                layers: 1,
                dropout: 0.0,
                tie_weights: false,
                init_range: 0.1,
            };
            // A seeded stream with some structure (each id often follows its predecessor + 1).
            let mut ids = Vec::with_capacity(STREAMS_LEN);
            let mut state = 12345u64;
            let mut last = 0i64;
            for _ in 0..STREAMS_LEN {
                state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                last = if state >> 62 == 0 { ((state >> 33) % VOCAB as u64) as i64 } else { (last + 1) % VOCAB as i64 };
                ids.push(last);
            }
            Model::Language(RnnLm::new(config, &mut rng, &device)?, ids)
        }
        other => return Err(format!("unknown model {other}").into()),
    };
    let optimizer = Sgd::new(model.module().parameters(), SgdConfig { momentum: 0.9, ..SgdConfig::new(0.05) });
    Ok((model, Box::new(optimizer)))
}

impl Model {
    fn module(&self) -> &dyn Module {
        match self {
            Model::Classifier(net, _) => net,
            Model::Language(lm, _) => lm,
        }
    }

    /// `steps` optimizer steps on global batches of `batch` examples (streams for the LM).
    fn train<R: Replicas>(
        &self,
        replicas: &mut R,
        optimizer: &mut dyn Optimizer,
        batch: usize,
        steps: usize,
    ) -> Result<(), Failure> {
        let device: Arc<dyn Device> = backend_cpu::CpuDevice::shared();
        match self {
            Model::Classifier(net, data) => {
                // Whole epochs of `batch`, the last one cut so that `steps` steps run.
                let subset_len = (steps * batch).min(data.len());
                let subset = data.split(subset_len as f64 / data.len() as f64, 0).0;
                let epochs = (steps * batch).div_ceil(subset.len());
                fit_classifier_on(
                    replicas,
                    net,
                    optimizer,
                    &subset,
                    None,
                    FitConfig::new(epochs, batch, 3),
                    &device,
                    |_| {},
                )?;
            }
            Model::Language(lm, ids) => {
                // `batch` parallel streams cut from the id stream; this rank reads its shard.
                let per_stream = ids.len() / batch;
                let mine = shard_range(batch, replicas.rank(), replicas.world());
                let mut carried: Option<LmState> = None;
                for step in 0..steps {
                    let start = (step * WINDOW) % (per_stream - WINDOW - 1);
                    if start == 0 {
                        carried = None;
                    }
                    let (mut inputs, mut targets) = (Vec::new(), Vec::new());
                    for t in 0..WINDOW {
                        for s in mine.clone() {
                            inputs.push(ids[s * per_stream + start + t]);
                            targets.push(ids[s * per_stream + start + t + 1]);
                        }
                    }
                    let inputs = Tensor::from_vec(inputs, [WINDOW, mine.len()], &device)?;
                    let targets = Tensor::from_vec(targets, [WINDOW * mine.len()], &device)?;
                    optimizer.zero_grad();
                    let (logits, next) = lm.forward_window(&inputs, carried.as_ref(), None)?;
                    let loss = cross_entropy(&logits, &targets, CrossEntropy::default())?;
                    replicas.backward(Some(&loss), mine.len(), batch)?;
                    optimizer.step()?;
                    carried = Some(next.detach());
                }
            }
        }
        Ok(())
    }
}
