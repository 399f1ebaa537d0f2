//! A counting global allocator with a cap: the fuzz targets' "never allocates more than the
//! input can justify", measured rather than hoped for.
//!
//! Every allocation is counted (bytes live now, and the peak since [`reset_peak`]). A single
//! request over the cap is refused before it reaches the system: the allocator prints which
//! request and which input ([`set_current_input`]) on stderr and aborts, because a global
//! allocator must not unwind. The fuzz supervisor sees the abort and keeps the input. A peak
//! over the cap made of smaller allocations is checked after each run ([`peak`]).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The default cap: 100 MiB, for one allocation and for the peak of one run.
pub const DEFAULT_CAP: usize = 100 << 20;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static CAP: AtomicUsize = AtomicUsize::new(usize::MAX);
static INPUT_NAME: AtomicUsize = AtomicUsize::new(0);
static INPUT_NAME_LEN: AtomicUsize = AtomicUsize::new(0);

/// The allocator: the system's, counted and capped.
pub struct CappedAllocator;

impl CappedAllocator {
    fn count(&self, size: usize) {
        let live = LIVE.fetch_add(size, Ordering::Relaxed) + size;
        PEAK.fetch_max(live, Ordering::Relaxed);
    }

    fn check(&self, size: usize) {
        if size > CAP.load(Ordering::Relaxed) {
            refuse(size);
        }
    }
}

// SAFETY: every method forwards to `System` with the caller's layout unchanged; the counters
// are plain atomics and the refusal path never returns.
unsafe impl GlobalAlloc for CappedAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: the caller upholds `GlobalAlloc::alloc`'s contract, which `System` shares.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            self.count(layout.size());
        }
        ptr
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.check(layout.size());
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            self.count(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` came from this allocator, that is from `System`, with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.check(new_size);
        // SAFETY: `ptr` came from `System` with `layout`; the caller checked `new_size`.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
            self.count(new_size);
        }
        new
    }
}

/// Prints the refused request (without allocating) and aborts.
#[cold]
fn refuse(size: usize) -> ! {
    let mut line = [0u8; 160];
    let mut at = 0;
    let mut put = |bytes: &[u8]| {
        for &b in bytes {
            if at < line.len() {
                line[at] = b;
                at += 1;
            }
        }
    };
    put(b"fuzz-targets: refused an allocation of ");
    let mut digits = [0u8; 20];
    let mut n = size;
    let mut len = 0;
    loop {
        digits[19 - len] = b'0' + (n % 10) as u8;
        len += 1;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    put(&digits[20 - len..]);
    put(b" bytes (over the cap) while reading ");
    let (name, name_len) = (INPUT_NAME.load(Ordering::Relaxed), INPUT_NAME_LEN.load(Ordering::Relaxed));
    if name != 0 {
        // SAFETY: `set_current_input` stores the address and length of a `&'static str`.
        put(unsafe { std::slice::from_raw_parts(name as *const u8, name_len) });
    }
    put(b"\n");
    // SAFETY: writes `at` initialised bytes of a stack buffer to stderr; no allocation.
    unsafe { libc::write(2, line.as_ptr().cast(), at) };
    std::process::abort()
}

/// Sets the cap on one allocation (`usize::MAX`: none). Returns the previous cap.
pub fn set_cap(bytes: usize) -> usize {
    CAP.swap(bytes, Ordering::Relaxed)
}

/// Names what is being read, for the message of a refused allocation.
pub fn set_current_input(name: &'static str) {
    INPUT_NAME_LEN.store(name.len(), Ordering::Relaxed);
    INPUT_NAME.store(name.as_ptr() as usize, Ordering::Relaxed);
}

/// Bytes allocated and not yet freed.
pub fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

/// The most bytes live at once since the last [`reset_peak`].
pub fn peak() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Starts a new peak measurement from the bytes live now.
pub fn reset_peak() {
    PEAK.store(LIVE.load(Ordering::Relaxed), Ordering::Relaxed);
}
