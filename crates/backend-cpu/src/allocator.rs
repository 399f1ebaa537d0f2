//! The process's allocator, tuned for training loops.
//!
//! A training step allocates and frees the same multi-megabyte tensors every iteration. By
//! default glibc's malloc serves such blocks with `mmap` and hands freed memory at the top of
//! the heap back to the kernel, so every step page-faults its tensors in again and the kernel
//! zeroes each page: about a fifth of a convolution step's time on this machine. Keeping freed
//! memory for reuse, as PyTorch's and XLA's allocators do, removes that cost; peak resident
//! memory does not grow, since only memory that was once in use is kept.

/// Tells glibc's malloc to keep freed memory for reuse: blocks up to 32 MiB come from the heap
/// (not `mmap`), the heap is not trimmed below 1 GiB of free space, and it grows 64 MiB at a
/// time. A process-wide setting, so binaries opt in (the `tessera` CLI and the benches do);
/// elsewhere, and with other C libraries, it does nothing. Returns whether it took effect.
pub fn keep_freed_memory() -> bool {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        const MIB: libc::c_int = 1 << 20;
        // SAFETY: mallopt only changes malloc's tuning parameters; it is safe to call at any
        // time, and returns 0 for a value it rejects.
        unsafe {
            libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * MIB) == 1
                && libc::mallopt(libc::M_TRIM_THRESHOLD, 1024 * MIB) == 1
                && libc::mallopt(libc::M_TOP_PAD, 64 * MIB) == 1
        }
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    {
        false
    }
}

#[cfg(test)]
mod tests {
    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_setting() {
        assert!(super::keep_freed_memory(), "mallopt rejected a value");
        // Memory still works, and large blocks come and go.
        let block = vec![1u8; 8 << 20];
        assert_eq!(block.iter().map(|&b| b as usize).sum::<usize>(), 8 << 20);
    }
}
