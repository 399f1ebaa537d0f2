//! How far apart the machine's two cores are, measured: the round trip of a cache line passed
//! back and forth between two threads.
//!
//! On the 2-vCPU development VM the hypervisor moves the vCPUs between physical cores while a
//! bench runs. For spells they sit close (one L3: a round trip of 60-70 ns); for other spells,
//! of seconds to many minutes, they sit on different L3s (310-330 ns), where every cache line
//! two threads both write crosses the chip, and two Hogwild threads, Tessera's or gensim's,
//! train barely faster than one. Independent processes do not notice. A scaling measurement therefore
//! probes the distance before, between and after its runs and reports the runs made with the
//! cores close on their own.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Round trips at or above this many nanoseconds mean the cores do not share an L3.
pub(crate) const FAR_NS: f64 = 200.0;

/// Trips per batch of a probe.
const PROBE_TRIPS: u64 = 100_000;

/// A cache line to itself, so the probe measures one line's trips and nothing else.
#[repr(align(128))]
struct Line(AtomicU64);

/// Nanoseconds for a cache line to go from one core to the other and back: the fastest of
/// three batches of `trips` (100,000 take 20-120 ms), between two threads pinned to the first
/// two CPUs this process may use (left to the scheduler, both threads can start on one CPU
/// and take turns, which reads as a distant core). `None` on a single CPU.
pub(crate) fn round_trip_ns(trips: u64) -> Option<f64> {
    let cpus = allowed_cpus();
    if cpus.len() < 2 {
        return None;
    }
    let batch = || {
        let line = Arc::new(Line(AtomicU64::new(0)));
        let echo = {
            let (line, cpu) = (Arc::clone(&line), cpus[1]);
            // Answers every odd value with the next even one.
            std::thread::spawn(move || {
                pin_to(cpu);
                for trip in 0..trips {
                    wait_for(&line, 2 * trip + 1);
                    line.0.store(2 * trip + 2, Ordering::Release);
                }
            })
        };
        let (line, cpu) = (Arc::clone(&line), cpus[0]);
        let ping = std::thread::spawn(move || {
            pin_to(cpu);
            // The first trip waits for the other thread to start; time the rest.
            line.0.store(1, Ordering::Release);
            wait_for(&line, 2);
            let started = Instant::now();
            for trip in 1..trips {
                line.0.store(2 * trip + 1, Ordering::Release);
                wait_for(&line, 2 * trip + 2);
            }
            started.elapsed().as_nanos() as f64 / (trips - 1).max(1) as f64
        });
        let _ = echo.join();
        ping.join().unwrap_or(f64::INFINITY)
    };
    (0..3).map(|_| batch()).min_by(f64::total_cmp)
}

/// The CPUs this process may run on (on other systems than Linux, as many as there are).
fn allowed_cpus() -> Vec<usize> {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: `set` is a plain bit mask the call fills in.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            if libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) == 0 {
                return (0..libc::CPU_SETSIZE as usize).filter(|&cpu| libc::CPU_ISSET(cpu, &set)).collect();
            }
        }
    }
    (0..std::thread::available_parallelism().map_or(1, |n| n.get())).collect()
}

/// Keeps the calling thread on `cpu` (Linux; elsewhere the scheduler decides).
fn pin_to(cpu: usize) {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: as above; the call only changes where this thread runs, and failure leaves
        // the scheduler to decide.
        unsafe {
            let mut set: libc::cpu_set_t = std::mem::zeroed();
            libc::CPU_SET(cpu, &mut set);
            libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cpu;
}

/// Spins until `line` holds `value`, yielding the CPU now and then in case the other thread
/// is waiting for it (a busy machine).
fn wait_for(line: &Line, value: u64) {
    let mut spins = 0u32;
    while line.0.load(Ordering::Acquire) != value {
        spins += 1;
        if spins.is_multiple_of(4096) {
            std::thread::yield_now();
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Whether the cores share an L3 now: a probe's round trip under [`FAR_NS`].
pub(crate) fn cores_close() -> bool {
    round_trip_ns(PROBE_TRIPS).is_some_and(|ns| ns < FAR_NS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_round_trip_takes_a_plausible_time() {
        let Some(ns) = round_trip_ns(1_000) else {
            eprintln!("skipped: one CPU, no second core to measure");
            return;
        };
        // From tens of nanoseconds (one chip) to tens of microseconds (one core, the threads
        // taking turns); never zero or absurd.
        assert!(ns > 1.0 && ns < 1e6, "{ns} ns");
    }
}
