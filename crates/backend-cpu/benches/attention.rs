#![allow(missing_docs)] // criterion_group! generates undocumented items

//! Attention forward + backward on backend-cpu, f32, batch 1, 4 heads, d = 64, causal, at
//! T = 512, 1024 and 2048: the fused kernel (`CpuDevice`) against the same computation as
//! separate ops (the default body, through `PrimitivesOnly`: matmul, mask, max, exp, sum,
//! matmul, ...). Before timing, it prints the peak memory each allocates beyond its inputs
//! during one forward + backward, counted by a wrapper around the allocator the `tessera`
//! binary uses. Threads from `TESSERA_BENCH_THREADS` (default 1).

use std::alloc::{GlobalAlloc, Layout};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use backend_cpu::{CpuDevice, HugePageAllocator};
use criterion::{Criterion, criterion_group, criterion_main};
use tensor_core::{AttentionMask, DType, Device, PrimitivesOnly, Tensor, TensorRng, default_attention_scale};

/// Counts live heap bytes and their peak around [`HugePageAllocator`].
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(bytes: usize) {
    let live = LIVE.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(live, Ordering::Relaxed);
}

// SAFETY: every call forwards to `HugePageAllocator` unchanged; the counters only observe.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { HugePageAllocator.alloc(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let ptr = unsafe { HugePageAllocator.alloc_zeroed(layout) };
        if !ptr.is_null() {
            grew(layout.size());
        }
        ptr
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { HugePageAllocator.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let moved = unsafe { HugePageAllocator.realloc(ptr, layout, new_size) };
        if !moved.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            grew(new_size);
        }
        moved
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

const HEADS: usize = 4;
const WIDTH: usize = 64;
const LENGTHS: [usize; 3] = [512, 1024, 2048];

/// q, k, v and the output gradient, `[1, 4, T, 64]` each.
fn operands(t: usize, device: &Arc<dyn Device>) -> [Tensor; 4] {
    let mut rng = TensorRng::new(t as u64);
    std::array::from_fn(|_| rng.normal([1, HEADS, t, WIDTH], 0.0, 1.0, DType::F32, device).expect("operand"))
}

/// One forward and backward, synchronised.
fn step([q, k, v, grad]: &[Tensor; 4], mask: &AttentionMask) {
    let scale = default_attention_scale(WIDTH);
    let forward = q.try_attention(k, v, mask, scale).expect("attention");
    let (dq, dk, dv) = q.try_attention_backward(k, v, &forward, grad, mask, scale).expect("backward");
    for t in [&dq, &dk, &dv] {
        t.sync().expect("sync");
    }
}

/// Bytes allocated at the peak of one step beyond what was live before it.
fn peak_extra(operands: &[Tensor; 4], mask: &AttentionMask) -> usize {
    let before = LIVE.load(Ordering::Relaxed);
    PEAK.store(before, Ordering::Relaxed);
    step(operands, mask);
    PEAK.load(Ordering::Relaxed) - before
}

fn attention(c: &mut Criterion) {
    let threads = std::env::var("TESSERA_BENCH_THREADS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    // An error means the pool was already built.
    let _ = rayon::ThreadPoolBuilder::new().num_threads(threads).build_global();
    backend_cpu::keep_freed_memory();
    let fused = CpuDevice::shared();
    let separate: Arc<dyn Device> = Arc::new(PrimitivesOnly(fused.clone()));
    let mask = AttentionMask::causal();
    println!("peak extra memory of one forward + backward (causal, batch 1, {HEADS} heads, d {WIDTH}, f32):");
    for t in LENGTHS {
        let [fused_bytes, separate_bytes] = [&fused, &separate].map(|device| peak_extra(&operands(t, device), &mask));
        println!(
            "  T {t:>4}: fused {:>6.2} MiB ({:.0} B per position), separate ops {:>8.2} MiB ({:.0} B per position), {:.1}x",
            fused_bytes as f64 / 1048576.0,
            fused_bytes as f64 / t as f64,
            separate_bytes as f64 / 1048576.0,
            separate_bytes as f64 / t as f64,
            separate_bytes as f64 / fused_bytes as f64
        );
    }
    let mut group = c.benchmark_group(format!("cpu/attention/t{threads}"));
    group.sample_size(10);
    for t in LENGTHS {
        for (name, device) in [("fused", &fused), ("separate", &separate)] {
            let operands = operands(t, device);
            group.bench_function(format!("{name}/causal_b1_h{HEADS}_t{t}_d{WIDTH}_fwdbwd"), |bench| {
                bench.iter(|| step(&operands, &mask))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, attention);
criterion_main!(benches);
