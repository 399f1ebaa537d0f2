//! The process's allocator, tuned for training loops.
//!
//! A training step allocates and frees the same multi-megabyte tensors every iteration. By
//! default glibc's malloc serves such blocks with `mmap` and hands freed memory at the top of
//! the heap back to the kernel, so every step page-faults its tensors in again and the kernel
//! zeroes each page: about a fifth of a convolution step's time on this machine. Keeping freed
//! memory for reuse, as PyTorch's and XLA's allocators do, removes that cost; peak resident
//! memory does not grow, since only memory that was once in use is kept.

use std::alloc::{GlobalAlloc, Layout};

use os_memory::HUGE_PAGE;

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

/// The system allocator, with every block of [`HUGE_BLOCK_MIN`] bytes or more that is allocated
/// uninitialised starting on a 2 MiB boundary and marked for transparent huge pages
/// (`madvise(MADV_HUGEPAGE)`) before it is first written, as PyTorch can for its large CPU
/// tensors (`THP_MEM_ALLOC_ENABLE`).
///
/// On 4 KiB pages a large matrix lies on physical pages scattered at random, so which of its
/// cache lines share a set of the physically indexed L2 changes from run to run, and a GEMM's
/// speed with it: a 1024³ product on one thread reached 88-91.5 % of the FMA peak with its
/// operands and result on 4 KiB pages and 91-94.5 % on 2 MiB pages (six alternating bench
/// runs each, medians 90.5 % and 92 %). Blocks allocated zeroed keep 4 KiB pages, which the
/// kernel faults in only where they are touched: a sparse table (word2vec's word lookup, say)
/// would otherwise hold whole 2 MiB pages it barely uses. Grown blocks (`realloc`) keep them too,
/// since growth leaves capacity unwritten.
///
/// Install it in a binary with
/// `#[global_allocator] static ALLOCATOR: backend_cpu::HugePageAllocator = backend_cpu::HugePageAllocator;`
/// (the `tessera` binary and the benches do). On systems other than Linux with glibc it is the
/// system allocator.
pub struct HugePageAllocator;

/// Blocks allocated uninitialised from this size on are put on huge pages.
pub const HUGE_BLOCK_MIN: usize = 2 * HUGE_PAGE;

/// glibc's `malloc` aligns every block to 16 bytes.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
const MALLOC_ALIGN: usize = 16;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
// SAFETY: every block comes from glibc's `malloc` family (`malloc`, `calloc`, `posix_memalign`,
// `realloc`), each at least as aligned as its layout asks, and goes back through `free` or
// `realloc`, which take any of them.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let huge = layout.size() >= HUGE_BLOCK_MIN && layout.align() <= HUGE_PAGE;
        if !huge && layout.align() <= MALLOC_ALIGN {
            // SAFETY: plain `malloc`; GlobalAlloc callers never ask for zero bytes.
            return unsafe { libc::malloc(layout.size()) }.cast();
        }
        let align = if huge { HUGE_PAGE } else { layout.align().max(std::mem::size_of::<usize>()) };
        let mut ptr = std::ptr::null_mut();
        // SAFETY: `align` is a power of two and a multiple of the pointer size.
        if unsafe { libc::posix_memalign(&mut ptr, align, layout.size()) } != 0 {
            return std::ptr::null_mut();
        }
        if huge {
            // SAFETY: the block just allocated.
            unsafe { os_memory::advise_huge_pages(ptr.cast(), layout.size()) };
        }
        ptr.cast()
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `calloc`, which leaves fresh pages untouched until used.
            return unsafe { libc::calloc(1, layout.size()) }.cast();
        }
        // SAFETY: forwarded from the caller; the block holds `layout.size()` bytes.
        unsafe {
            let ptr = self.alloc(layout);
            if !ptr.is_null() {
                std::ptr::write_bytes(ptr, 0, layout.size());
            }
            ptr
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        // SAFETY: `ptr` came from this allocator, so from the `malloc` family.
        unsafe { libc::free(ptr.cast()) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if layout.align() <= MALLOC_ALIGN {
            // SAFETY: `ptr` came from the `malloc` family; `realloc` keeps 16-byte alignment.
            return unsafe { libc::realloc(ptr.cast(), new_size) }.cast();
        }
        // SAFETY: the caller guarantees the new layout is valid; the old block holds
        // `layout.size()` bytes, the new one `new_size`, and they do not overlap.
        unsafe {
            let new = self.alloc(Layout::from_size_align_unchecked(new_size, layout.align()));
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                libc::free(ptr.cast());
            }
            new
        }
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
// SAFETY: every call is forwarded to `System`.
unsafe impl GlobalAlloc for HugePageAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded from the caller.
        unsafe { std::alloc::System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded from the caller.
        unsafe { std::alloc::System.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    fn glibc_takes_the_setting() {
        assert!(keep_freed_memory(), "mallopt rejected a value");
        // Memory still works, and large blocks come and go.
        let block = vec![1u8; 8 << 20];
        assert_eq!(block.iter().map(|&b| b as usize).sum::<usize>(), 8 << 20);
    }

    /// Large uninitialised blocks start on a huge page; every kind of block keeps its contents
    /// through growth and shrinking across the threshold and is zeroed when asked.
    #[test]
    fn blocks_are_aligned_zeroed_and_reallocate_intact() {
        let allocator = HugePageAllocator;
        let fill = |bytes: &mut [u8], from: usize| {
            bytes.iter_mut().enumerate().for_each(|(i, b)| *b = ((from + i) % 251) as u8)
        };
        let intact = |bytes: &[u8]| bytes.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8);
        for size in [24, HUGE_BLOCK_MIN - 8, HUGE_BLOCK_MIN, 3 * HUGE_BLOCK_MIN + 8] {
            for (align, zeroed) in [(8, false), (8, true), (64, false), (64, true)] {
                let layout = Layout::from_size_align(size, align).expect("layout");
                // SAFETY: non-zero sizes; each block is used within its size and freed with the
                // layout it has at that point.
                unsafe {
                    let ptr = if zeroed { allocator.alloc_zeroed(layout) } else { allocator.alloc(layout) };
                    assert!(!ptr.is_null());
                    assert_eq!(ptr as usize % align, 0, "{size} bytes aligned to {align}");
                    if zeroed {
                        assert!(std::slice::from_raw_parts(ptr, size).iter().all(|&b| b == 0), "{size} zeroed");
                    } else if size >= HUGE_BLOCK_MIN {
                        assert_eq!(ptr as usize % HUGE_PAGE, 0, "{size} bytes start on a huge page");
                    }
                    fill(std::slice::from_raw_parts_mut(ptr, size), 0);
                    let mut now = (ptr, size);
                    for new_size in [size * 2, HUGE_BLOCK_MIN / 2, size + 1] {
                        let moved =
                            allocator.realloc(now.0, Layout::from_size_align(now.1, align).expect("layout"), new_size);
                        assert!(!moved.is_null());
                        assert_eq!(moved as usize % align, 0);
                        let kept = now.1.min(new_size);
                        let bytes = std::slice::from_raw_parts_mut(moved, new_size);
                        assert!(intact(&bytes[..kept]), "{size} -> {new_size}, aligned to {align}");
                        fill(&mut bytes[kept..], kept);
                        now = (moved, new_size);
                    }
                    allocator.dealloc(now.0, Layout::from_size_align(now.1, align).expect("layout"));
                }
            }
        }
    }
}
