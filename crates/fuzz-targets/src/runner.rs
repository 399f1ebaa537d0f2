//! The fuzz loop of one target, in one process: run the corpus, then mutate, run, and keep
//! what reaches new edges, until the time is up. Panics are caught and recorded; an abort (an
//! allocation over the cap, a run past the time limit) ends the process, and the supervisor in
//! `main.rs` keeps the input it finds on disk.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::targets::Target;
use crate::{alloc, coverage, mutate};

/// Inputs grow to at most this many bytes.
pub const MAX_INPUT: usize = 256 << 10;

/// How one fuzzing session of a target is run.
pub struct FuzzConfig {
    /// Stop mutating after this long (the corpus is always run once, whatever this says).
    pub duration: Duration,
    /// Stop mutating after this many runs, if set.
    pub max_runs: Option<u64>,
    /// The mutation stream's seed.
    pub seed: u64,
    /// Where the input is written before each run (and `current.bin`, the raw input).
    pub work: PathBuf,
    /// Where inputs that reach new edges are kept, if anywhere.
    pub corpus_out: Option<PathBuf>,
    /// Where findings are written, if anywhere.
    pub findings_out: Option<PathBuf>,
    /// The cap on one allocation and on the peak of one run, in bytes.
    pub memory_cap: usize,
    /// The time limit of one run.
    pub time_limit: Duration,
}

/// A failed run.
#[derive(Clone, Debug)]
pub struct Finding {
    /// What went wrong.
    pub what: String,
    /// The input.
    pub input: Vec<u8>,
}

/// What a session did.
#[derive(Debug, Default)]
pub struct FuzzStats {
    /// Runs, corpus included.
    pub runs: u64,
    /// Inputs kept (seeds, regressions and new ones).
    pub corpus: usize,
    /// Edges reached by the corpus.
    pub covered: usize,
    /// Edges instrumented (0 when built without coverage).
    pub edges: usize,
    /// The largest peak of one run over the memory live before it, in bytes.
    pub max_peak: usize,
    /// The failed runs.
    pub findings: Vec<Finding>,
}

/// A short, stable name for an input.
pub fn input_name(input: &[u8]) -> String {
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x0100_0000_01b3));
    format!("{hash:016x}")
}

/// The files of a folder, read (a missing folder reads as none).
pub fn read_dir_inputs(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.filter_map(|e| e.ok().map(|e| e.path())).filter(|p| p.is_file()).collect();
    paths.sort();
    paths.into_iter().filter_map(|p| std::fs::read(&p).ok().map(|bytes| (p, bytes))).collect()
}

/// Starts a thread that aborts the process when one run lasts longer than `limit`; returns the
/// clock the loop sets at the start of each run (milliseconds since `origin`, 0 between runs).
fn watchdog(target: &'static str, limit: Duration, origin: Instant) -> Arc<AtomicU64> {
    let started = Arc::new(AtomicU64::new(0));
    let clock = started.clone();
    std::thread::spawn(move || {
        loop {
            std::thread::sleep(Duration::from_millis(50));
            let at = clock.load(Ordering::Relaxed);
            if at != 0 && origin.elapsed().as_millis() as u64 > at + limit.as_millis() as u64 {
                eprintln!("fuzz-targets: {target}: one run took longer than {limit:?} (a hang)");
                std::process::abort();
            }
        }
    });
    started
}

thread_local! {
    /// Whether this thread is running a target (its panics are findings, noted quietly).
    static IN_RUN: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
    /// Where this thread's last panic in a run happened.
    static PANIC_PLACE: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

/// Installs, once, a panic hook that only notes the place of a panic inside a run (thousands of
/// expected-looking panics must not each print or symbolise a backtrace) and hands every other
/// panic to the hook that was there before.
fn quiet_panics() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if IN_RUN.with(std::cell::Cell::get) {
                let place = info.location().map_or_else(String::new, |l| format!(" at {}:{}", l.file(), l.line()));
                PANIC_PLACE.with(|p| *p.borrow_mut() = place);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs one input: Ok, or what went wrong.
fn run_one(
    target: &Target,
    config: &FuzzConfig,
    input: &[u8],
    clock: &AtomicU64,
    origin: Instant,
) -> (Result<(), String>, usize) {
    if target.is_folder() {
        // The raw input, so that the supervisor can keep it if the run aborts.
        let _ = std::fs::write(config.work.join("current.bin"), input);
    }
    coverage::clear();
    let before = alloc::live();
    alloc::reset_peak();
    clock.store(origin.elapsed().as_millis() as u64 + 1, Ordering::Relaxed);
    IN_RUN.with(|r| r.set(true));
    let outcome = catch_unwind(AssertUnwindSafe(|| target.check(&config.work, input)));
    IN_RUN.with(|r| r.set(false));
    clock.store(0, Ordering::Relaxed);
    let peak = alloc::peak().saturating_sub(before);
    let result = match outcome {
        Ok(Ok(())) if peak > config.memory_cap => Err(format!("peak memory {peak} bytes is over the cap")),
        Ok(result) => result,
        Err(panic) => {
            let message = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("(no message)");
            Err(format!("panic: {message}{}", PANIC_PLACE.with(|p| p.borrow().clone())))
        }
    };
    (result, peak)
}

/// Fuzzes `target` from `corpus` (seeds and regressions) for the configured time.
pub fn fuzz(target: &Target, corpus: Vec<Vec<u8>>, config: &FuzzConfig) -> FuzzStats {
    std::fs::create_dir_all(&config.work).expect("the work folder can be created");
    alloc::set_current_input(target.name);
    let previous_cap = alloc::set_cap(config.memory_cap);
    quiet_panics();
    let origin = Instant::now();
    let clock = watchdog(target.name, config.time_limit, origin);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let mut seen = coverage::Seen::default();
    let mut stats = FuzzStats { edges: coverage::edges(), ..FuzzStats::default() };
    let mut kept: Vec<Vec<u8>> = Vec::new();
    let record = |stats: &mut FuzzStats, what: String, input: &[u8]| {
        if let Some(dir) = &config.findings_out {
            let _ = std::fs::create_dir_all(dir);
            let _ = std::fs::write(dir.join(format!("finding-{}", input_name(input))), input);
        }
        eprintln!("fuzz-targets: {}: {what}", target.name);
        stats.findings.push(Finding { what, input: input.to_vec() });
    };
    for input in corpus {
        let (result, peak) = run_one(target, config, &input, &clock, origin);
        stats.runs += 1;
        stats.max_peak = stats.max_peak.max(peak);
        seen.absorb();
        if let Err(what) = result {
            record(&mut stats, what, &input);
        }
        kept.push(input);
    }
    let start = Instant::now();
    let mut mutated = 0u64;
    while !kept.is_empty() && start.elapsed() < config.duration && config.max_runs.is_none_or(|max| mutated < max) {
        let mut input = kept[rng.random_range(0..kept.len())].clone();
        let other = kept[rng.random_range(0..kept.len())].clone();
        mutate::mutate(&mut input, &other, MAX_INPUT, &mut rng);
        let (result, peak) = run_one(target, config, &input, &clock, origin);
        stats.runs += 1;
        mutated += 1;
        stats.max_peak = stats.max_peak.max(peak);
        let new = seen.absorb();
        match result {
            Err(what) => record(&mut stats, what, &input),
            Ok(()) if new => {
                if let Some(dir) = &config.corpus_out {
                    let _ = std::fs::create_dir_all(dir);
                    let _ = std::fs::write(dir.join(input_name(&input)), &input);
                }
                kept.push(input);
            }
            Ok(()) => {}
        }
    }
    alloc::set_cap(previous_cap);
    stats.corpus = kept.len();
    stats.covered = seen.covered();
    stats
}

/// The regression inputs of `target` kept in the repository (`fuzz/regressions/<target>/`).
pub fn regressions(target: &Target) -> Vec<(PathBuf, Vec<u8>)> {
    read_dir_inputs(&regressions_dir().join(target.name))
}

/// A scratch folder for the inputs of process `pid` on `target`: in `/dev/shm` where there is
/// one (writing a file there costs microseconds, on a disk it can cost milliseconds), else in
/// the temporary folder.
pub fn work_dir(target: &str, pid: u32) -> PathBuf {
    let shm = Path::new("/dev/shm");
    let base = if shm.is_dir() { shm.to_path_buf() } else { std::env::temp_dir() };
    base.join(format!("tessera-fuzz-{target}-{pid}"))
}

/// `fuzz/regressions` in the workspace.
pub fn regressions_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/regressions")
}
