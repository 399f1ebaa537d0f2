//! The floats the training threads share, and how they move between a shared row and a
//! thread's own buffer.
//!
//! A shared row is a `[AtomicU32]` of `f32` bits, and every access to it is atomic with
//! [`Ordering::Relaxed`]: two threads may still overwrite each other's updates (the Hogwild race
//! that stochastic gradient descent tolerates), but they never race in the language's sense,
//! which for plain accesses would be undefined behaviour however the hardware behaved. Relaxed
//! loads and stores of aligned 32-bit values are plain `mov`s on x86-64, yet the compiler never
//! vectorises atomic accesses, and the trainer moves rows of a hundred floats in its inner loop.
//! So on x86-64 the moves are vector loads and stores written in inline assembly. Rust defines
//! an `asm!` block by the abstract-machine operations its instructions perform, and these
//! perform one relaxed atomic access per 4-byte lane: an access wider than 8 bytes may be
//! carried out as several (Intel SDM vol. 3A, 9.1.1), but a naturally aligned lane lies inside
//! one cache line and is read or written whole, the property the JVM relies on when it copies
//! `int` arrays, which Java promises never tear, with vector instructions. Vector intrinsics
//! such as `_mm512_loadu_ps` would not do: the compiler treats them as plain accesses.
//! Elsewhere the moves go one float at a time through [`AtomicU32`].

use std::sync::atomic::{AtomicU32, Ordering};

const _: () = assert!(
    size_of::<AtomicU32>() == size_of::<f32>() && align_of::<AtomicU32>() == align_of::<f32>(),
    "a shared float is an f32's bits in place"
);

/// `values` as floats several threads may access at once, for as long as they are borrowed.
pub(crate) fn as_shared(values: &mut [f32]) -> &[AtomicU32] {
    // SAFETY: `AtomicU32` has the size and alignment of `f32` (asserted above) and every bit
    // pattern is valid for both, so the slice keeps its layout. The exclusive borrow means that
    // no plain access to the floats can happen while the returned slice lives, so every access
    // in that time is atomic; later plain accesses happen after it, through the borrow's end
    // (for threads, the join of their scope).
    unsafe { &*(values as *mut [f32] as *const [AtomicU32]) }
}

/// `out = row`.
#[inline(always)]
pub(crate) fn load(row: &[AtomicU32], out: &mut [f32]) {
    assert_eq!(row.len(), out.len(), "load: lengths differ");
    // SAFETY: `out` holds `row.len()` floats, borrowed mutably.
    unsafe { transfer(row, out.as_mut_ptr(), Move::Load) }
}

/// `row = values`.
#[inline(always)]
pub(crate) fn store(row: &[AtomicU32], values: &[f32]) {
    assert_eq!(row.len(), values.len(), "store: lengths differ");
    // SAFETY: `values` holds `row.len()` floats, which `Move::Store` only reads.
    unsafe { transfer(row, values.as_ptr().cast_mut(), Move::Store) }
}

/// `sum += row`.
#[inline(always)]
pub(crate) fn add_row_to(row: &[AtomicU32], sum: &mut [f32]) {
    assert_eq!(row.len(), sum.len(), "add_row_to: lengths differ");
    // SAFETY: `sum` holds `row.len()` floats, borrowed mutably.
    unsafe { transfer(row, sum.as_mut_ptr(), Move::AddToPrivate) }
}

/// `row += delta`, each float read, added to and written back: an update another thread makes
/// to the same float in between is lost (see the module documentation).
#[inline(always)]
pub(crate) fn add(row: &[AtomicU32], delta: &[f32]) {
    assert_eq!(row.len(), delta.len(), "add: lengths differ");
    // SAFETY: `delta` holds `row.len()` floats, which `Move::AddToShared` only reads.
    unsafe { transfer(row, delta.as_ptr().cast_mut(), Move::AddToShared) }
}

/// Publishes a thread's private copy of `row`: `row += copy − base`, then `copy = base = row`
/// (the merge of local-update SGD), a float at a time as [`add`] does.
#[inline(always)]
pub(crate) fn merge(row: &[AtomicU32], copy: &mut [f32], base: &mut [f32]) {
    assert!(row.len() == copy.len() && row.len() == base.len(), "merge: lengths differ");
    // SAFETY: `copy` and `base` hold `row.len()` floats each, borrowed mutably.
    unsafe { transfer(row, copy.as_mut_ptr(), Move::Merge(base.as_mut_ptr())) }
}

/// What a transfer does, per float, with a shared row and a thread's buffer of equal length.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Move {
    /// buffer = row
    Load,
    /// row = buffer
    Store,
    /// buffer += row
    AddToPrivate,
    /// row += buffer
    AddToShared,
    /// row += buffer − base, then buffer = base = row, with `base` as long as the buffer.
    Merge(*mut f32),
}

impl Move {
    /// The move for the floats from `start` on (`Merge`'s second buffer moves along).
    #[inline(always)]
    fn from(self, start: usize) -> Move {
        match self {
            Move::Merge(base) => Move::Merge(base.wrapping_add(start)),
            other => other,
        }
    }
}

/// A shared float's value.
#[inline(always)]
fn get(lane: &AtomicU32) -> f32 {
    f32::from_bits(lane.load(Ordering::Relaxed))
}

/// Sets a shared float.
#[inline(always)]
fn set(lane: &AtomicU32, value: f32) {
    lane.store(value.to_bits(), Ordering::Relaxed)
}

/// Performs `op` with the widest vectors the CPU has.
///
/// # Safety
/// `private` points at `row.len()` floats of this thread's own, valid for reads, and for
/// writes when `op` is `Load`, `AddToPrivate` or `Merge`; so does `Merge`'s pointer, valid for
/// reads and writes, and the two do not overlap.
#[inline(always)]
unsafe fn transfer(row: &[AtomicU32], private: *mut f32, op: Move) {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F; the rest is the caller's.
            return unsafe { transfer_avx512(row, private, op) };
        }
        if std::arch::is_x86_feature_detected!("avx") {
            // SAFETY: the CPU has AVX; the rest is the caller's.
            return unsafe { transfer_avx(row, private, op) };
        }
    }
    // SAFETY: the caller's.
    unsafe { transfer_one_by_one(row, private, op) }
}

/// [`transfer`] one float at a time.
///
/// # Safety
/// As [`transfer`].
#[inline(always)]
unsafe fn transfer_one_by_one(row: &[AtomicU32], private: *mut f32, op: Move) {
    for (i, lane) in row.iter().enumerate() {
        // SAFETY: `i < row.len()`, and the caller's guarantees for `private`.
        unsafe {
            let private = private.add(i);
            match op {
                Move::Load => *private = get(lane),
                Move::Store => set(lane, *private),
                Move::AddToPrivate => *private += get(lane),
                Move::AddToShared => set(lane, get(lane) + *private),
                Move::Merge(base) => {
                    let base = base.add(i);
                    let merged = get(lane) + (*private - *base);
                    set(lane, merged);
                    (*private, *base) = (merged, merged);
                }
            }
        }
    }
}

/// The mask of the first `min(remaining, 16)` lanes of a 16-float vector.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn lane_mask(remaining: usize) -> u16 {
    if remaining >= 16 { u16::MAX } else { (1u16 << remaining) - 1 }
}

/// Vector `VECTOR` of a row (its floats `16·VECTOR..16·VECTOR + 16`) as one load: one relaxed
/// atomic load per lane (see the module documentation). With `Some(mask)` only the lanes under
/// the mask are read, the others are zero. The offset is part of the instruction, so a kernel
/// that walks a row vector by vector spends no instruction on addresses.
///
/// # Safety
/// The CPU has AVX-512F, and the lanes read lie inside one live `[AtomicU32]` at `row`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn load16<const VECTOR: usize>(
    row: *const AtomicU32,
    mask: Option<u16>,
) -> std::arch::x86_64::__m512 {
    use std::arch::asm;
    let value;
    // SAFETY (both blocks): the caller's; each reads the lanes it is given and nothing else.
    match mask {
        None => unsafe {
            asm!("vmovups {value}, zmmword ptr [{row} + {offset}]", row = in(reg) row, offset = const 64 * VECTOR,
                value = out(zmm_reg) value, options(nostack, preserves_flags, readonly))
        },
        Some(mask) => unsafe {
            asm!("vmovups {value} {{{mask}}} {{z}}, zmmword ptr [{row} + {offset}]", row = in(reg) row,
                offset = const 64 * VECTOR, mask = in(kreg) mask, value = out(zmm_reg) value,
                options(nostack, preserves_flags, readonly))
        },
    }
    value
}

/// Stores `value` as vector `VECTOR` of a row in one store: one relaxed atomic store per lane.
/// With `Some(mask)` only the lanes under the mask are written.
///
/// # Safety
/// As [`load16`], for the lanes written.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
pub(crate) unsafe fn store16<const VECTOR: usize>(
    row: *const AtomicU32,
    mask: Option<u16>,
    value: std::arch::x86_64::__m512,
) {
    use std::arch::asm;
    // SAFETY (both blocks): the caller's; each writes the lanes it is given and nothing else.
    // Atomics may be written through a shared reference, so a pointer from one is valid for it.
    match mask {
        None => unsafe {
            asm!("vmovups zmmword ptr [{row} + {offset}], {value}", row = in(reg) row, offset = const 64 * VECTOR,
                value = in(zmm_reg) value, options(nostack, preserves_flags))
        },
        Some(mask) => unsafe {
            asm!("vmovups zmmword ptr [{row} + {offset}] {{{mask}}}, {value}", row = in(reg) row,
                offset = const 64 * VECTOR, mask = in(kreg) mask, value = in(zmm_reg) value,
                options(nostack, preserves_flags))
        },
    }
}

/// [`transfer`] 16 floats at a time, the last vector masked to the row's length.
///
/// # Safety
/// As [`transfer`], and the CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn transfer_avx512(row: &[AtomicU32], private: *mut f32, op: Move) {
    let whole = row.len() / 16 * 16;
    // SAFETY (both blocks): the lanes moved lie in `start..row.len()`, inside `row` and the
    // caller's buffer; the rest is the caller's.
    for start in (0..whole).step_by(16) {
        unsafe { move16(row.as_ptr().add(start), private.add(start), None, op.from(start)) };
    }
    if whole < row.len() {
        unsafe {
            move16(row.as_ptr().add(whole), private.add(whole), Some(lane_mask(row.len() - whole)), op.from(whole))
        };
    }
}

/// `op` on 16 shared floats and 16 of the caller's, or on the lanes under `mask`.
///
/// # Safety
/// The CPU has AVX-512F; the lanes moved lie inside one live `[AtomicU32]` at `shared` and
/// inside the caller's floats at `private`, valid for writes when `op` writes them.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
unsafe fn move16(shared: *const AtomicU32, private: *mut f32, mask: Option<u16>, op: Move) {
    use std::arch::x86_64::{_mm512_add_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_sub_ps};
    let lanes = mask.unwrap_or(u16::MAX);
    // SAFETY: the caller's.
    unsafe {
        match op {
            Move::Load => _mm512_mask_storeu_ps(private, lanes, load16::<0>(shared, mask)),
            Move::Store => store16::<0>(shared, mask, _mm512_maskz_loadu_ps(lanes, private)),
            Move::AddToPrivate => _mm512_mask_storeu_ps(
                private,
                lanes,
                _mm512_add_ps(_mm512_maskz_loadu_ps(lanes, private), load16::<0>(shared, mask)),
            ),
            Move::AddToShared => store16::<0>(
                shared,
                mask,
                _mm512_add_ps(load16::<0>(shared, mask), _mm512_maskz_loadu_ps(lanes, private)),
            ),
            Move::Merge(base) => {
                let change = _mm512_sub_ps(_mm512_maskz_loadu_ps(lanes, private), _mm512_maskz_loadu_ps(lanes, base));
                let merged = _mm512_add_ps(load16::<0>(shared, mask), change);
                store16::<0>(shared, mask, merged);
                _mm512_mask_storeu_ps(private, lanes, merged);
                _mm512_mask_storeu_ps(base, lanes, merged);
            }
        }
    }
}

/// The 8 lanes at `lanes` as one AVX load: one relaxed atomic load per lane.
///
/// # Safety
/// The CPU has AVX, and the 8 lanes lie inside one live `[AtomicU32]`.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
unsafe fn load8(lanes: *const AtomicU32) -> std::arch::x86_64::__m256 {
    let value;
    // SAFETY: the caller's; the block reads the 8 lanes and nothing else.
    unsafe {
        std::arch::asm!(
            "vmovups {value}, ymmword ptr [{lanes}]",
            lanes = in(reg) lanes,
            value = out(ymm_reg) value,
            options(nostack, preserves_flags, readonly),
        )
    };
    value
}

/// Stores `value` into the 8 lanes at `lanes` as one AVX store: one relaxed atomic store per
/// lane.
///
/// # Safety
/// As [`load8`].
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
unsafe fn store8(lanes: *const AtomicU32, value: std::arch::x86_64::__m256) {
    // SAFETY: the caller's; the block writes the 8 lanes and nothing else.
    unsafe {
        std::arch::asm!(
            "vmovups ymmword ptr [{lanes}], {value}",
            lanes = in(reg) lanes,
            value = in(ymm_reg) value,
            options(nostack, preserves_flags),
        )
    };
}

/// [`transfer`] 8 floats at a time with AVX vectors, the last few one by one.
///
/// # Safety
/// As [`transfer`], and the CPU has AVX.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx")]
unsafe fn transfer_avx(row: &[AtomicU32], private: *mut f32, op: Move) {
    use std::arch::x86_64::{_mm256_add_ps, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_sub_ps};
    let whole = row.len() / 8 * 8;
    for start in (0..whole).step_by(8) {
        // SAFETY: `start + 8 <= row.len()`: inside `row` and the caller's buffer.
        unsafe {
            let (shared, private) = (row.as_ptr().add(start), private.add(start));
            match op {
                Move::Load => _mm256_storeu_ps(private, load8(shared)),
                Move::Store => store8(shared, _mm256_loadu_ps(private)),
                Move::AddToPrivate => _mm256_storeu_ps(private, _mm256_add_ps(_mm256_loadu_ps(private), load8(shared))),
                Move::AddToShared => store8(shared, _mm256_add_ps(load8(shared), _mm256_loadu_ps(private))),
                Move::Merge(base) => {
                    let base = base.add(start);
                    let change = _mm256_sub_ps(_mm256_loadu_ps(private), _mm256_loadu_ps(base));
                    let merged = _mm256_add_ps(load8(shared), change);
                    store8(shared, merged);
                    _mm256_storeu_ps(private, merged);
                    _mm256_storeu_ps(base, merged);
                }
            }
        }
    }
    // SAFETY: the rest of the row and of the buffers.
    unsafe { transfer_one_by_one(&row[whole..], private.add(whole), op.from(whole)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn floats(row: &[AtomicU32]) -> Vec<f32> {
        row.iter().map(get).collect()
    }

    /// Every implementation of every move agrees with plain arithmetic, at lengths around each
    /// vector width.
    #[test]
    fn every_move_matches_plain_loops() {
        type Transfer = unsafe fn(&[AtomicU32], *mut f32, Move);
        let mut implementations: Vec<(&str, Transfer)> = vec![("one by one", transfer_one_by_one)];
        #[cfg(target_arch = "x86_64")]
        {
            implementations.push(("dispatched", transfer));
            if std::arch::is_x86_feature_detected!("avx") {
                implementations.push(("avx", transfer_avx));
            }
            if std::arch::is_x86_feature_detected!("avx512f") {
                implementations.push(("avx512", transfer_avx512));
            }
        }
        for (name, implementation) in implementations {
            for len in [0, 1, 3, 7, 8, 9, 15, 16, 17, 100, 129] {
                let shared: Vec<f32> = (0..len).map(|i| i as f32 * 0.5 - 3.0).collect();
                let private: Vec<f32> = (0..len).map(|i| (i as f32).sin()).collect();
                let base: Vec<f32> = (0..len).map(|i| (i as f32).cos()).collect();
                let zip = |a: &[f32], b: &[f32], f: fn(f32, f32) -> f32| -> Vec<f32> {
                    a.iter().zip(b).map(|(a, b)| f(*a, *b)).collect()
                };
                let merged: Vec<f32> = zip(&shared, &zip(&private, &base, |p, b| p - b), |s, c| s + c);
                // Each move, and the row, buffer and base it should leave.
                let moves: [(&str, [Vec<f32>; 3]); 5] = [
                    ("load", [shared.clone(), shared.clone(), base.clone()]),
                    ("store", [private.clone(), private.clone(), base.clone()]),
                    ("add to private", [shared.clone(), zip(&private, &shared, |p, s| p + s), base.clone()]),
                    ("add to shared", [zip(&shared, &private, |s, p| s + p), private.clone(), base.clone()]),
                    ("merge", [merged.clone(), merged.clone(), merged.clone()]),
                ];
                for (move_name, [want_row, want_buffer, want_base]) in moves {
                    let (mut row, mut buffer, mut base) = (shared.clone(), private.clone(), base.clone());
                    let op = match move_name {
                        "load" => Move::Load,
                        "store" => Move::Store,
                        "add to private" => Move::AddToPrivate,
                        "add to shared" => Move::AddToShared,
                        _ => Move::Merge(base.as_mut_ptr()),
                    };
                    let row = as_shared(&mut row);
                    // SAFETY: `buffer` and `base` hold `row.len()` floats each, borrowed mutably.
                    unsafe { implementation(row, buffer.as_mut_ptr(), op) };
                    let context = format!("{name}: {move_name} of {len}");
                    assert_eq!(floats(row), want_row, "{context}: row");
                    assert_eq!(buffer, want_buffer, "{context}: buffer");
                    assert_eq!(base, want_base, "{context}: base");
                }
            }
        }
    }

    /// Threads storing whole rows while another loads them: every float read is one some thread
    /// wrote, never a mix of two (the lanes are moved whole).
    #[test]
    fn racing_moves_never_tear_a_float() {
        const LEN: usize = 37;
        // Patterns whose halves differ, so that a float made of two would match neither.
        let patterns = [0x1234_5678u32, 0x9abc_def0, 0x0f0f_f0f0];
        let mut data = vec![f32::from_bits(patterns[0]); LEN];
        let row = as_shared(&mut data);
        std::thread::scope(|scope| {
            for &pattern in &patterns[1..] {
                scope.spawn(move || {
                    let values = [f32::from_bits(pattern); LEN];
                    for _ in 0..20_000 {
                        store(row, &values);
                    }
                });
            }
            let mut seen = [0f32; LEN];
            for _ in 0..20_000 {
                load(row, &mut seen);
                assert!(seen.iter().all(|x| patterns.contains(&x.to_bits())), "{seen:?}");
            }
        });
    }
}
