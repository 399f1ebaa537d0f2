//! Process CPU time, the fair training budget on a shared machine: wall time counts the time
//! other jobs hold the cores, CPU time counts only the work this process did (all its threads,
//! user and system), so runs with the same thread count and CPU budget get the same compute.

use crate::{Result, TranslateError};

/// CPU seconds this process has used so far (user + system, every thread), from `getrusage`.
#[cfg(unix)]
pub fn process_cpu_seconds() -> Result<f64> {
    // SAFETY: `getrusage` only writes the `rusage` we pass, which lives for the call.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let status = unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut usage) };
    if status != 0 {
        return Err(TranslateError::Invalid(format!("getrusage failed: {}", std::io::Error::last_os_error())));
    }
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 * 1e-6;
    Ok(seconds(usage.ru_utime) + seconds(usage.ru_stime))
}

/// CPU seconds this process has used so far: not measured on this platform (an error).
#[cfg(not(unix))]
pub fn process_cpu_seconds() -> Result<f64> {
    Err(TranslateError::Invalid("a CPU-time budget needs getrusage (Unix)".into()))
}

#[cfg(test)]
mod tests {
    use super::process_cpu_seconds;

    #[test]
    fn cpu_time_advances_with_work() {
        // Spin until 0.1 CPU s have been used, with a generous wall-clock bound for a loaded
        // machine: the clock must move, monotonically, while this thread computes.
        let start = process_cpu_seconds().unwrap();
        let wall = std::time::Instant::now();
        let (mut x, mut last) = (0u64, start);
        while last - start < 0.1 && wall.elapsed().as_secs_f64() < 30.0 {
            for _ in 0..100_000 {
                x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(std::hint::black_box(1));
            }
            let now = process_cpu_seconds().unwrap();
            assert!(now >= last, "CPU time went back from {last} to {now}");
            last = now;
        }
        std::hint::black_box(x);
        assert!(last - start >= 0.1, "30 s of spinning used only {} CPU s", last - start);
    }
}
