//! Advice to the operating system about how to back large buffers: a Linux detail that the
//! CPU backend's allocator and word2vec's weight matrices use, kept out of the
//! backend-agnostic `tensor-core`.
//!
//! ```
//! let mut table = vec![0f32; 1 << 20];
//! os_memory::advise_huge_pages_of(&mut table);
//! assert!(table.iter().all(|&x| x == 0.0), "advice never changes contents");
//! ```

/// A transparent huge page on x86-64 Linux.
pub const HUGE_PAGE: usize = 2 << 20;

/// Marks the whole [`HUGE_PAGE`]s that lie inside `len` bytes from `start` for transparent huge
/// pages (`madvise(MADV_HUGEPAGE)`), so that the kernel backs them with huge pages when they
/// are first touched: memory read at random (a large matrix, a table of word vectors) then
/// costs one TLB entry per 2 MiB instead of one per 4 KiB. A no-op off Linux, and where no
/// whole huge page fits.
///
/// # Safety
///
/// The bytes must lie inside one live allocation. The advice changes how the kernel backs
/// them, never their contents, and its failure is harmless.
pub unsafe fn advise_huge_pages(start: *mut u8, len: usize) {
    #[cfg(target_os = "linux")]
    {
        let (first, end) = ((start as usize).next_multiple_of(HUGE_PAGE), start as usize + len);
        let span = end.saturating_sub(first) / HUGE_PAGE * HUGE_PAGE;
        if span > 0 {
            // SAFETY: `first..first + span` lies inside the caller's allocation.
            unsafe { libc::madvise(first as *mut libc::c_void, span, libc::MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (start, len);
}

/// [`advise_huge_pages`] for the memory of `buffer`, which it leaves as it is.
pub fn advise_huge_pages_of<T>(buffer: &mut [T]) {
    // SAFETY: the slice's own bytes, inside its allocation.
    unsafe { advise_huge_pages(buffer.as_mut_ptr().cast(), std::mem::size_of_val(buffer)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The mapping holding the advised pages carries the kernel's `hg` flag (huge-page advice)
    /// in /proc/self/smaps exactly when the kernel has transparent huge pages; without them the
    /// kernel refuses the advice and the fallback is plain pages, which the flag's absence shows.
    /// Either way the advice leaves the contents alone.
    #[test]
    #[cfg(target_os = "linux")]
    fn advised_pages_are_marked_and_keep_their_contents() {
        let mut buffer: Vec<u8> = (0..3 * HUGE_PAGE).map(|i| (i % 251) as u8).collect();
        let middle = buffer.as_ptr() as usize + HUGE_PAGE + HUGE_PAGE / 2;
        // SAFETY: the buffer's own bytes.
        unsafe { advise_huge_pages(buffer.as_mut_ptr(), buffer.len()) };
        assert!(buffer.iter().enumerate().all(|(i, &b)| b == (i % 251) as u8));
        let kernel_has_thp = std::path::Path::new("/sys/kernel/mm/transparent_hugepage").exists();
        let smaps = std::fs::read_to_string("/proc/self/smaps").expect("/proc/self/smaps");
        let (mut in_mapping, mut flags) = (false, None);
        for line in smaps.lines() {
            // A mapping starts with its address range, `start-end`, in hex.
            let first = line.split_whitespace().next().unwrap_or("");
            let range = first.split_once('-').and_then(|(from, to)| {
                Some(usize::from_str_radix(from, 16).ok()?..usize::from_str_radix(to, 16).ok()?)
            });
            match range {
                Some(range) => in_mapping = range.contains(&middle),
                None if in_mapping && first == "VmFlags:" => flags = Some(line.to_string()),
                None => {}
            }
        }
        let flags = flags.expect("the buffer's mapping in /proc/self/smaps");
        let marked = flags.split_whitespace().any(|f| f == "hg");
        assert_eq!(marked, kernel_has_thp, "{flags} (transparent huge pages in this kernel: {kernel_has_thp})");
    }

    #[test]
    fn too_small_a_range_is_left_alone() {
        let mut small = vec![7u8; 4096];
        // No whole huge page fits, so nothing is advised.
        advise_huge_pages_of(&mut small);
        assert!(small.iter().all(|&b| b == 7));
    }
}
