//! A node-local all-reduce over MPI-3 shared memory: every rank of a communicator whose ranks
//! all share one machine maps one window (`MPI_Win_allocate_shared`), in which each rank owns a
//! segment: a control block (atomic generation counters) and two data buffers used in turn.
//!
//! One all-reduce runs in pieces of at most one buffer. Per piece, with generation `g`:
//!
//! 1. each rank copies what the others need of its input into its buffer `g % 2` and publishes
//!    `arrived = g` (release);
//! 2. small pieces: each rank sums the whole piece over the ranks, in rank order, from its own
//!    input and the others' buffers, and is done (one synchronisation);
//! 3. large pieces (reduce-scatter + all-gather): rank r sums chunk r of the piece over the
//!    ranks in rank order into its input and its own buffer, publishes `reduced = g`, waits for
//!    every rank's `reduced`, and copies the other chunks from their owners' buffers.
//!
//! Every element is summed in the same order (rank 0 first) whichever rank computes it, so
//! every rank ends with the same bits. A buffer is written again only at generation `g + 2`,
//! which a rank reaches after seeing every rank arrive at `g + 1`, that is after every rank has
//! finished reading generation `g`: no rank waits for readers.
//!
//! Waiting spins briefly, then yields, then sleeps, and checks now and then that the ranks it
//! waits for still run (a rank killed outside MPI's abort path is reported, not waited for).
//! Every `unsafe` block of the crate is in this module.

use std::cell::Cell;
use std::ffi::c_void;
use std::ops::Add;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use mpi::collective::CommunicatorCollectives;
use mpi::ffi;
use mpi::raw::AsRaw;
use mpi::topology::{Communicator, SimpleCommunicator};

use crate::{DistError, Result};

/// Bytes of a rank's control block, before its buffers (two cache lines).
const CONTROL: usize = 128;
/// Pieces of at most this many bytes (times ranks - 1; the MLP's 38 KB of gradients on 2 ranks)
/// are summed whole by every rank after one synchronisation; larger ones are reduce-scattered
/// and gathered (two synchronisations, less memory traffic).
const WHOLE_BYTES: usize = 64 << 10;
/// Chunk boundaries are multiples of this many elements (a cache line of f32).
const ALIGN: usize = 16;

/// A rank's counters, at the start of its segment.
#[repr(C, align(128))]
struct Control {
    /// The last generation whose input this rank has published.
    arrived: AtomicU64,
    /// The last generation whose chunk this rank has reduced into its buffer.
    reduced: AtomicU64,
    /// Per buffer: the element count and size of the all-reduce that last used it.
    shape: [AtomicU64; 2],
    /// The rank's process id (to notice a rank that died).
    pid: AtomicU64,
}

const _: () = assert!(std::mem::size_of::<Control>() == CONTROL);

/// The element types the shared-memory all-reduce sums. Sealed: f32 and f64, for which every
/// bit pattern is a valid value.
pub trait Element: Copy + Default + Add<Output = Self> + sealed::Sealed + 'static {}
impl Element for f32 {}
impl Element for f64 {}
mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// The shared window of the ranks of one node and this rank's place in it.
pub(crate) struct NodeReducer {
    window: ffi::MPI_Win,
    /// Each rank's segment, as mapped in this process.
    segments: Vec<*mut u8>,
    rank: usize,
    /// Bytes of one data buffer.
    piece_bytes: usize,
    generation: Cell<u64>,
    /// Set by a failed all-reduce: the ranks no longer agree where they are.
    poisoned: Cell<bool>,
    // Dropped after the window is freed.
    _node: SimpleCommunicator,
}

impl NodeReducer {
    /// Collective over `world`: maps a window with buffers of `piece_bytes` when every rank of
    /// `world` shares this machine (`MPI_Comm_split_type(MPI_COMM_TYPE_SHARED)`); `None` (on
    /// every rank) otherwise. Every rank must pass the same `piece_bytes`.
    pub(crate) fn new(world: &SimpleCommunicator, piece_bytes: usize) -> Result<Option<NodeReducer>> {
        let node = world.split_shared(world.rank());
        if node.size() != world.size() {
            return Ok(None);
        }
        let piece_bytes = piece_bytes.max(4096).next_multiple_of(CONTROL);
        // One control block more than needed: segments are only 8-aligned (Open MPI puts a
        // header before them), so each rank's part starts at the next multiple of 128, which is
        // the same place in every process (the mappings are page-aligned).
        let segment = (2 * CONTROL + 2 * piece_bytes).next_multiple_of(4096);
        let mut base: *mut u8 = std::ptr::null_mut();
        // SAFETY: a constant of rsmpi's C shim, set before `main` and never written.
        let mut window = unsafe { ffi::RSMPI_WIN_NULL };
        // SAFETY: a collective call every rank of `node` makes with the same arguments; `base`
        // and `window` are valid places for the out-parameters (baseptr is a `void**` passed as
        // `void*`, as the C API declares it).
        let code = unsafe {
            ffi::MPI_Win_allocate_shared(
                segment as ffi::MPI_Aint,
                1,
                ffi::RSMPI_INFO_NULL,
                node.as_raw(),
                (&raw mut base).cast::<c_void>(),
                &mut window,
            )
        };
        if code != 0 {
            return Err(DistError::SharedMemory(format!("MPI_Win_allocate_shared failed ({code})")));
        }
        let mut reducer = NodeReducer {
            window,
            segments: Vec::new(),
            rank: node.rank() as usize,
            piece_bytes,
            generation: Cell::new(0),
            poisoned: Cell::new(false),
            _node: node,
        };
        for rank in 0..reducer._node.size() {
            let (mut size, mut unit, mut pointer): (ffi::MPI_Aint, i32, *mut u8) = (0, 0, std::ptr::null_mut());
            // SAFETY: `window` is a live shared window of this communicator and `rank` one of
            // its ranks; the out-parameters are valid places.
            let code = unsafe {
                ffi::MPI_Win_shared_query(
                    reducer.window,
                    rank,
                    &mut size,
                    &mut unit,
                    (&raw mut pointer).cast::<c_void>(),
                )
            };
            if code != 0 || (size as usize) < segment || pointer.is_null() || !pointer.cast::<u64>().is_aligned() {
                // Leaked, not freed: the free is collective, and the other ranks may be waiting
                // in the barrier below rather than in it.
                reducer.poisoned.set(true);
                return Err(DistError::SharedMemory(format!(
                    "rank {rank}'s segment is unusable (MPI_Win_shared_query {code}, {size} bytes at {pointer:p})"
                )));
            }
            // SAFETY: at most 120 bytes into a segment of `segment` bytes, which leaves
            // `CONTROL + 2 * piece_bytes` after it.
            reducer.segments.push(unsafe { pointer.add(pointer.align_offset(CONTROL)) });
        }
        let own = reducer.control(reducer.rank);
        for counter in [&own.arrived, &own.reduced, &own.shape[0], &own.shape[1]] {
            counter.store(0, Ordering::Relaxed);
        }
        own.pid.store(u64::from(std::process::id()), Ordering::Release);
        // Every rank's counters are zero before any rank uses them.
        reducer._node.barrier();
        Ok(Some(reducer))
    }

    fn ranks(&self) -> usize {
        self.segments.len()
    }

    fn control(&self, rank: usize) -> &Control {
        // SAFETY: each segment starts with a `Control` (128-byte aligned, see `new`)
        // that stays mapped while `self` lives; its fields are atomics, so shared access from
        // every process is sound, and every bit pattern is a valid `Control`.
        unsafe { &*self.segments[rank].cast::<Control>() }
    }

    /// Start of `rank`'s data buffer `buffer` (0 or 1).
    fn buffer<T: Element>(&self, rank: usize, buffer: usize) -> *mut T {
        // SAFETY: the segment holds the control block and two buffers of `piece_bytes`
        // (`new` checked its size), so the offset stays within it; it is a multiple of 128,
        // so the pointer is aligned for `T`.
        unsafe { self.segments[rank].add(CONTROL + buffer * self.piece_bytes).cast::<T>() }
    }

    /// Writes into `data`, on every rank, the sum over the ranks of their `input` (`data` itself
    /// when `None`; otherwise of `data`'s length), in rank order so that every rank gets the
    /// same bits. Every rank must call it in the same order with the same length and type; a
    /// mismatch is [`DistError::Mismatch`] on every rank, after which every call fails.
    pub(crate) fn all_reduce_sum<T: Element>(&self, input: Option<&[T]>, output: &mut [T]) -> Result<()> {
        let data = output;
        if self.poisoned.get() {
            return Err(DistError::SharedMemory("an earlier all-reduce failed".into()));
        }
        if let Some(input) = input.filter(|input| input.len() != data.len()) {
            self.fail_collectively();
            return Err(DistError::Lengths { input: input.len(), output: data.len() });
        }
        let shape = ((data.len() as u64) << 4) | std::mem::size_of::<T>() as u64;
        let piece = self.piece_bytes / std::mem::size_of::<T>();
        let mut start = 0;
        loop {
            let end = (start + piece).min(data.len());
            let result = self.piece(input.map(|input| &input[start..end]), &mut data[start..end], shape);
            if result.is_err() {
                self.fail_collectively();
                return result;
            }
            start = end;
            if start == data.len() {
                return Ok(());
            }
        }
    }

    /// Publishes one more generation with a shape no all-reduce has (the low four bits of a
    /// real shape are an element size, 4 or 8), so that every rank waiting for this one fails
    /// with [`DistError::Mismatch`] instead of waiting on; then refuses further use.
    fn fail_collectively(&self) {
        if !self.poisoned.get() && self.ranks() > 1 {
            let generation = self.generation.get() + 1;
            self.generation.set(generation);
            let control = self.control(self.rank);
            control.shape[(generation % 2) as usize].store(u64::MAX, Ordering::Relaxed);
            control.arrived.store(generation, Ordering::Release);
        }
        self.poisoned.set(true);
    }

    /// One piece (at most one buffer) of an all-reduce of `shape`.
    fn piece<T: Element>(&self, input: Option<&[T]>, data: &mut [T], shape: u64) -> Result<()> {
        let (ranks, me, len) = (self.ranks(), self.rank, data.len());
        if ranks == 1 {
            if let Some(input) = input {
                data.copy_from_slice(input);
            }
            return Ok(());
        }
        let generation = self.generation.get() + 1;
        self.generation.set(generation);
        let which = (generation % 2) as usize;
        let whole = len * std::mem::size_of::<T>() * (ranks - 1) <= WHOLE_BYTES;
        let bound = |rank: usize| if rank == ranks { len } else { rank * len / ranks / ALIGN * ALIGN };
        let own = self.buffer::<T>(me, which);
        // 1. Publish the input: all of it, or every chunk but our own (we reduce that one).
        for rank in 0..ranks {
            if whole || rank != me {
                let (lo, hi) = if whole { (0, len) } else { (bound(rank), bound(rank + 1)) };
                // SAFETY: `own` is this rank's buffer `which`, of at least `len` elements. No
                // rank reads it now: they read it last at generation - 2 and have since
                // published generation - 1, which this rank waited for.
                let from = input.map_or(&data[lo..hi], |input| &input[lo..hi]);
                unsafe { std::ptr::copy_nonoverlapping(from.as_ptr(), own.add(lo), hi - lo) };
                if whole {
                    break;
                }
            }
        }
        let control = self.control(me);
        control.shape[which].store(shape, Ordering::Relaxed);
        control.arrived.store(generation, Ordering::Release);
        for rank in (0..ranks).filter(|&r| r != me) {
            self.wait(rank, || self.control(rank).arrived.load(Ordering::Acquire) >= generation)?;
        }
        for rank in (0..ranks).filter(|&r| r != me) {
            let theirs = self.control(rank).shape[which].load(Ordering::Relaxed);
            if theirs != shape {
                return Err(DistError::Mismatch { rank, ours: shape >> 4, theirs: theirs >> 4 });
            }
        }
        let mine = if whole { 0..len } else { bound(me)..bound(me + 1) };
        // SAFETY: every rank has published generation `generation` with the same shape, so its
        // buffer `which` holds the input it published at least over `mine` (all of it when
        // whole, every chunk but its own otherwise), and it writes there again only after this
        // rank publishes `generation + 1`; this rank's own input is read from `input` or
        // `data`.
        let sources: Vec<Option<&[T]>> = (0..ranks)
            .map(|rank| {
                (rank != me).then(|| unsafe {
                    std::slice::from_raw_parts(self.buffer::<T>(rank, which).add(mine.start).cast_const(), mine.len())
                })
            })
            .collect();
        if whole {
            // SAFETY: nothing is published.
            unsafe { sum_in_rank_order(input, data, mine, &sources, None) };
            return Ok(());
        }
        // 2. Reduce our chunk into our input and into our buffer for the others.
        // SAFETY: `own` is this rank's buffer (at least `len` elements), which no slice of
        // `sources` covers; no other rank reads its chunk `me` before this rank publishes
        // `reduced = generation`, and it is never written through anything else meanwhile.
        unsafe { sum_in_rank_order(input, data, mine, &sources, Some(own)) };
        control.reduced.store(generation, Ordering::Release);
        // 3. Gather the other chunks from their owners.
        for rank in (0..ranks).filter(|&r| r != me) {
            self.wait(rank, || self.control(rank).reduced.load(Ordering::Acquire) >= generation)?;
            let (lo, hi) = (bound(rank), bound(rank + 1));
            // SAFETY: `rank` published `reduced = generation`: chunk `rank` of its buffer holds
            // the sum, and it writes that buffer again only after this rank publishes
            // `generation + 1`.
            let chunk =
                unsafe { std::slice::from_raw_parts(self.buffer::<T>(rank, which).add(lo).cast_const(), hi - lo) };
            data[lo..hi].copy_from_slice(chunk);
        }
        Ok(())
    }

    /// Waits until `ready`: spins for a few microseconds, then yields, then sleeps; fails when
    /// `rank`'s process has gone.
    fn wait(&self, rank: usize, ready: impl Fn() -> bool) -> Result<()> {
        for _ in 0..256 {
            if ready() {
                return Ok(());
            }
            std::hint::spin_loop();
        }
        let started = Instant::now();
        let mut checked = started;
        loop {
            for _ in 0..64 {
                if ready() {
                    return Ok(());
                }
                std::hint::spin_loop();
            }
            let waited = started.elapsed();
            if waited < Duration::from_micros(50) {
                continue;
            } else if waited < Duration::from_millis(2) {
                std::thread::yield_now();
            } else {
                std::thread::sleep(Duration::from_micros(50));
            }
            if checked.elapsed() > Duration::from_millis(200) {
                checked = Instant::now();
                if !alive(self.control(rank).pid.load(Ordering::Acquire)) {
                    return Err(DistError::RankGone { rank });
                }
            }
        }
    }
}

/// `data[range] = sum over ranks (in rank order) of sources[rank]`, where `None` stands for
/// this rank's input (`input[range]`, or `data[range]` itself) and each slice covers `range`;
/// the result also goes
/// to `publish[range]`, this rank's own buffer, which no slice in `sources` covers and which no
/// other rank reads meanwhile.
///
/// # Safety
///
/// `publish`, when given, is valid for writes of `range.end` elements, overlaps neither `data`
/// nor any slice of `sources`, and nothing else reads or writes its `range` during the call.
unsafe fn sum_in_rank_order<T: Element>(
    input: Option<&[T]>,
    data: &mut [T],
    range: std::ops::Range<usize>,
    sources: &[Option<&[T]>],
    publish: Option<*mut T>,
) {
    const BLOCK: usize = 1024;
    let mut acc = [T::default(); BLOCK];
    let mut start = range.start;
    while start < range.end {
        let end = (start + BLOCK).min(range.end);
        let acc = &mut acc[..end - start];
        let (lo, hi) = (start - range.start, end - range.start);
        for (rank, source) in sources.iter().enumerate() {
            let source = match source {
                Some(slice) => &slice[lo..hi],
                None => input.map_or(&data[start..end], |input| &input[start..end]),
            };
            if rank == 0 {
                acc.copy_from_slice(source);
            } else {
                for (a, s) in acc.iter_mut().zip(source) {
                    *a = *a + *s;
                }
            }
        }
        data[start..end].copy_from_slice(acc);
        if let Some(out) = publish {
            // SAFETY: the caller's guarantee (see `# Safety`).
            unsafe { std::ptr::copy_nonoverlapping(acc.as_ptr(), out.add(start), end - start) };
        }
        start = end;
    }
}

/// Whether process `pid` still exists.
fn alive(pid: u64) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else { return true };
    // SAFETY: `kill` with signal 0 sends nothing; it only checks that the process exists.
    let code = unsafe { libc::kill(pid, 0) };
    code == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH)
}

impl Drop for NodeReducer {
    fn drop(&mut self) {
        if self.poisoned.get() {
            // Leaked: the free is collective, and a rank that failed or left the protocol
            // would keep it waiting. A job in this state ends by aborting.
            return;
        }
        // SAFETY: `window` is live and freed once; no reference into it outlives `self`.
        // `MPI_Win_free` is collective: `Mpi` drops this only on the way to `MPI_Finalize`,
        // which every rank of a job that did not abort reaches.
        unsafe { ffi::MPI_Win_free(&mut self.window) };
    }
}
