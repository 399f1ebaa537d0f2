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
//! - `allreduce <megabytes> <repeats>` (megabytes may be fractional): times a blocking all-reduce (sum) of that many bytes of
//!   f32, MPI's (`MPI_Allreduce`) and the job's own (`Mpi::sum_f32`: over shared memory when
//!   every rank is on this machine), against a plain copy of the same bytes in one process.
//! - `sums`: checks `Mpi::sum_f32` and `Mpi::sum_f64` against a reference summed in rank order
//!   (bit for bit) for lengths from 0 to several pieces, that every rank gets the same bits,
//!   and that ranks passing different lengths get an error instead of waiting for each other.

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
            let (megabytes, repeats): (f64, usize) = (arg(1)?.parse()?, number(2)?.max(1));
            let len = (megabytes * (1 << 20) as f64 / 4.0) as usize;
            let send = vec![1.0f32; len];
            let mut recv = vec![0.0f32; len];
            mpi.world().all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            mpi.barrier();
            let started = Instant::now();
            for _ in 0..repeats {
                mpi.world().all_reduce_into(&send[..], &mut recv[..], SystemOperation::sum());
            }
            let reduce = started.elapsed().as_secs_f64() / repeats as f64;
            // The job's own all-reduce, from a private input to a private output as above.
            mpi.sum_f32_into(&send, &mut recv)?;
            mpi.barrier();
            let started = Instant::now();
            for _ in 0..repeats {
                mpi.sum_f32_into(std::hint::black_box(&send), &mut recv)?;
            }
            let own = started.elapsed().as_secs_f64() / repeats as f64;
            let started = Instant::now();
            for _ in 0..repeats {
                recv.copy_from_slice(std::hint::black_box(&send));
                std::hint::black_box(&recv);
            }
            let copy = started.elapsed().as_secs_f64() / repeats as f64;
            if mpi.rank() == 0 {
                println!(
                    "allreduce ranks {} megabytes {megabytes} allreduce_ms {:.4} copy_ms {:.4} ratio {:.2} shm {} \
                     own_ms {:.4} own_ratio {:.2} busbw_gbs {:.2}",
                    mpi.size(),
                    1e3 * reduce,
                    1e3 * copy,
                    reduce / copy,
                    mpi.shared_memory(),
                    1e3 * own,
                    own / copy,
                    // NCCL's "bus bandwidth": what each link carries in a ring all-reduce.
                    2.0 * (mpi.size() as f64 - 1.0) / mpi.size() as f64 * (4 * len) as f64 / reduce / 1e9
                );
            }
        }
        "sums" => sums(mpi)?,
        "lengths" => lengths(mpi)?,
        other => return Err(format!("unknown mode {other}").into()),
    }
    Ok(())
}

/// A rank that passes an input of the wrong length fails alone (`Lengths`) and the others,
/// already waiting in the same all-reduce, fail too (`Mismatch`) instead of waiting for it.
fn lengths(mpi: &Mpi) -> Result<(), Failure> {
    let mut output = vec![1.0f32; 10];
    let result = if mpi.rank() == 1 { mpi.sum_f32_into(&[1.0; 5], &mut output) } else { mpi.sum_f32(&mut output) };
    match (mpi.rank(), result) {
        (1, Err(error @ distributed::DistError::Lengths { .. }))
        | (_, Err(error @ distributed::DistError::Mismatch { .. })) => {
            println!("lengths ok rank {}: {error}", mpi.rank());
            Ok(())
        }
        (rank, other) => Err(format!("rank {rank}: a wrong length on rank 1 gave {other:?}").into()),
    }
}

/// Rank `rank`'s input of the `sums` check: values of varied signs and magnitudes, so that a
/// different order of summation would show in the low bits.
fn input(rank: usize, len: usize, salt: u64) -> Vec<f64> {
    let mut state = (rank as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ salt;
    (0..len)
        .map(|_| {
            state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let mantissa = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            mantissa * 2f64.powi((state % 24) as i32 - 12)
        })
        .collect()
}

/// The `sums` mode (see the file's documentation); prints `sums ok rank r ...` on success.
fn sums(mpi: &Mpi) -> Result<(), Failure> {
    let (rank, ranks) = (mpi.rank(), mpi.size());
    let piece: usize = std::env::var(distributed::PIECE_VARIABLE).ok().and_then(|v| v.parse().ok()).unwrap_or(512);
    let (f32s, f64s) = (piece * 256, piece * 128);
    let mut lens = vec![0, 1, 2, 3, 15, 16, 17, 31, 33, 1000, 1001, 4097, 8191, 8193, 40_000];
    lens.extend([f32s - 1, f32s, f32s + 1, 2 * f32s + 5, 3 * f32s + 17]);
    let mut hash = 0xcbf2_9ce4_8422_2325u64;
    let mut mix = |bits: u64| hash = (hash ^ bits).wrapping_mul(0x0100_0000_01b3);
    for (i, &len) in lens.iter().enumerate() {
        let salt = i as u64;
        let original: Vec<f32> = input(rank, len, salt).iter().map(|&x| x as f32).collect();
        let mut mine = original.clone();
        mpi.sum_f32(&mut mine)?;
        // Into another buffer: the same bits.
        let mut into = vec![f32::NAN; len];
        mpi.sum_f32_into(&original, &mut into)?;
        if mine.iter().zip(&into).any(|(a, b)| a.to_bits() != b.to_bits()) {
            return Err(format!("f32 length {len}: sum_f32_into differs from sum_f32").into());
        }
        let mut reference = vec![0.0f32; len];
        for r in 0..ranks {
            for (acc, x) in reference.iter_mut().zip(input(r, len, salt)) {
                *acc = if r == 0 { x as f32 } else { *acc + x as f32 };
            }
        }
        if let Some(at) = (0..len).find(|&k| mine[k].to_bits() != reference[k].to_bits()) {
            return Err(format!("f32 length {len}: element {at} is {} not {}", mine[at], reference[at]).into());
        }
        mine.iter().for_each(|x| mix(u64::from(x.to_bits())));
    }
    for &len in &[0, 3, 1001, f64s - 1, f64s + 1, 2 * f64s + 3] {
        let mut mine = input(rank, len, 99);
        mpi.sum_f64(&mut mine)?;
        let mut reference = vec![0.0f64; len];
        for r in 0..ranks {
            for (acc, x) in reference.iter_mut().zip(input(r, len, 99)) {
                *acc = if r == 0 { x } else { *acc + x };
            }
        }
        if mine.iter().zip(&reference).any(|(a, b)| a.to_bits() != b.to_bits()) {
            return Err(format!("f64 length {len}: the sums differ from the reference").into());
        }
        mine.iter().for_each(|x| mix(x.to_bits()));
    }
    let hashes = mpi.all_gather_u64(hash);
    if hashes.iter().any(|&h| h != hashes[0]) {
        return Err(format!("the ranks' sums differ: {hashes:x?}").into());
    }
    // Ranks that disagree on the length fail, on every rank, instead of waiting.
    let mismatch = if mpi.shared_memory() {
        let mut odd = vec![1.0f32; 10 + rank];
        match mpi.sum_f32(&mut odd) {
            Err(error @ distributed::DistError::Mismatch { .. }) => error.to_string(),
            other => return Err(format!("different lengths gave {other:?}").into()),
        }
    } else {
        "not checked".into()
    };
    println!(
        "sums ok rank {rank} of {ranks} shared {} lengths {} mismatch: {mismatch}",
        mpi.shared_memory(),
        lens.len()
    );
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
