//! Shared setup for Tessera's criterion benches: thread pools and the shapes each bench uses.
//!
//! Bench ids follow `<backend>/<op>/t<threads>/<shape>`; `cargo xtask bench` reads criterion's
//! estimates under those ids and prints them beside the peers.

#![warn(missing_docs)]

pub mod fma_peak;

/// The allocator the `tessera` binary runs with (large blocks on transparent huge pages), so
/// benches measure what users run.
#[global_allocator]
static ALLOCATOR: backend_cpu::HugePageAllocator = backend_cpu::HugePageAllocator;

/// Square GEMM sizes, then the 4096x1024 by 1024x256 case (m, k, n).
pub const MATMUL_SHAPES: [(usize, usize, usize); 7] = [
    (64, 64, 64),
    (128, 128, 128),
    (256, 256, 256),
    (512, 512, 512),
    (1024, 1024, 1024),
    (2048, 2048, 2048),
    (4096, 1024, 256),
];

/// Threads to bench with, from `TESSERA_BENCH_THREADS` (default 1).
pub fn bench_threads() -> usize {
    std::env::var("TESSERA_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).filter(|&t| t > 0).unwrap_or(1)
}

/// Sizes rayon's global pool to [`bench_threads`] (once per process), tunes the allocator as
/// the `tessera` binary does ([`backend_cpu::keep_freed_memory`]) and returns the count.
/// Benches then run on the calling thread with no per-iteration hand-off; Tessera's kernels
/// use `rayon::current_num_threads()` threads, so 1 means fully serial.
pub fn init_threads() -> usize {
    // The allocator setting the `tessera` binary runs with, so benches measure what users run.
    backend_cpu::keep_freed_memory();
    let threads = bench_threads();
    // An error means the pool was already built by an earlier bench in this process.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    threads
}

/// Square matmul sizes on backend-gpu; a software adapter runs the first half.
pub const GPU_MATMUL_SIZES: [usize; 6] = [64, 128, 256, 1024, 2048, 4096];

/// Rows (= columns) of the softmax bench on backend-gpu; a software adapter runs the first half.
pub const GPU_SOFTMAX_ROWS: [usize; 4] = [128, 256, 2048, 8192];

/// Lengths of the elementwise-chain bench on backend-gpu; a software adapter runs the first half.
pub const GPU_CHAIN_SIZES: [usize; 4] = [4096, 65_536, 4_194_304, 16_777_216];

/// Sequence lengths of the attention bench on backend-gpu (causal, one sequence of
/// [`GPU_ATTENTION_HEADS`] heads of width 64), fused kernels against the default body; every
/// adapter runs both.
pub const GPU_ATTENTION_STEPS: [usize; 2] = [512, 1024];

/// Heads of the attention bench on backend-gpu.
pub const GPU_ATTENTION_HEADS: usize = 4;
