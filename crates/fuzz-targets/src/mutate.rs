//! The mutations: what a damaged, hostile or unusual file looks like to a reader.
//!
//! Truncation, byte flips and random bytes, inserted and deleted runs, splices with another
//! corpus entry, duplicated sections, numbers replaced by huge, negative, zero, NaN or infinite
//! ones (in text and as binary integers), invalid UTF-8 and very long lines.

use rand::{Rng, RngCore};

/// Numbers a text field is replaced with.
const TEXT_NUMBERS: &[&str] = &[
    "0",
    "-1",
    "1",
    "2",
    "-0",
    "255",
    "256",
    "65536",
    "4294967295",
    "4294967296",
    "2147483648",
    "-2147483649",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "99999999999999999999999",
    "1e308",
    "1e309",
    "-1e309",
    "NaN",
    "nan",
    "inf",
    "-inf",
    "infinity",
    "1e-320",
    "0.5",
    "-0.5",
    "3.4028236e38",
    "",
];

/// Binary integers written over a file's bytes (little- and big-endian are both tried).
const BINARY_NUMBERS: &[u64] = &[
    0,
    1,
    2,
    0x7f,
    0x80,
    0xff,
    0x7fff,
    0xffff,
    0x7fff_ffff,
    0x8000_0000,
    0xffff_ffff,
    0x1_0000_0000,
    0x7fff_ffff_ffff_ffff,
    0x8000_0000_0000_0000,
    u64::MAX,
    1 << 40,
];

/// Mutates `data` in place with 1 to 4 random mutations; `other` is another corpus entry to
/// splice from. The result is at most `max_len` bytes.
pub fn mutate(data: &mut Vec<u8>, other: &[u8], max_len: usize, rng: &mut impl RngCore) {
    let rounds = 1 + rng.random_range(0..4);
    for _ in 0..rounds {
        mutate_once(data, other, rng);
    }
    data.truncate(max_len);
}

fn mutate_once(data: &mut Vec<u8>, other: &[u8], rng: &mut impl RngCore) {
    let len = data.len();
    let pos = |rng: &mut dyn RngCore| if len == 0 { 0 } else { rng.random_range(0..len) };
    match rng.random_range(0..13) {
        0 => {
            // Truncate.
            let at = pos(rng);
            data.truncate(at);
        }
        1 if len > 0 => {
            // Flip a bit.
            let at = pos(rng);
            data[at] ^= 1 << rng.random_range(0..8);
        }
        2 if len > 0 => {
            // Random bytes.
            for _ in 0..rng.random_range(1..5) {
                let at = pos(rng);
                data[at] = rng.random();
            }
        }
        3 if len > 0 => {
            // Delete a run.
            let at = pos(rng);
            let end = (at + rng.random_range(1..=64)).min(len);
            data.drain(at..end);
        }
        4 => {
            // Insert random bytes.
            let at = pos(rng);
            let run: Vec<u8> = (0..rng.random_range(1..16)).map(|_| rng.random()).collect();
            data.splice(at..at, run);
        }
        5 if len > 0 => {
            // Duplicate a section.
            let at = pos(rng);
            let end = (at + rng.random_range(1..=len.min(4096))).min(len);
            let section = data[at..end].to_vec();
            let to = pos(rng);
            data.splice(to..to, section);
        }
        6 if !other.is_empty() => {
            // Splice: our head, the other's tail.
            let at = pos(rng);
            let from = rng.random_range(0..other.len());
            data.truncate(at);
            data.extend_from_slice(&other[from..]);
        }
        7 => replace_text_number(data, rng),
        8 if len > 0 => {
            // A binary integer over the bytes.
            let value = BINARY_NUMBERS[rng.random_range(0..BINARY_NUMBERS.len())];
            let width = [1usize, 2, 4, 8][rng.random_range(0..4)];
            let bytes = if rng.random() { value.to_le_bytes() } else { value.to_be_bytes() };
            let bytes = if bytes[0] == 0 && width < 8 { &bytes[8 - width..] } else { &bytes[..width] };
            let at = pos(rng);
            let end = (at + width).min(len);
            data[at..end].copy_from_slice(&bytes[..end - at]);
        }
        9 => {
            // Invalid UTF-8.
            let bad: &[&[u8]] = &[b"\xff", b"\xc3", b"\xe2\x82", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\x00"];
            let at = pos(rng);
            let bytes = bad[rng.random_range(0..bad.len())];
            data.splice(at..at, bytes.iter().copied());
        }
        10 => {
            // A very long line.
            let at = pos(rng);
            let byte = [b'a', b' ', b'\t', b'9', b'{', b'[', b'"', b','][rng.random_range(0..8)];
            let run = vec![byte; rng.random_range(1000..70_000)];
            data.splice(at..at, run);
        }
        11 if len > 0 => {
            // Swap two bytes of structure.
            let (a, b) = (pos(rng), pos(rng));
            data.swap(a, b);
        }
        _ => {
            // Insert a line break or a separator where a format expects one.
            let at = pos(rng);
            let seps: &[&[u8]] = &[b"\n", b"\r\n", b"\t", b",", b" ", b"\"", b"}", b"]", b"=", b"["];
            let sep = seps[rng.random_range(0..seps.len())];
            data.splice(at..at, sep.iter().copied());
        }
    }
}

/// Replaces one decimal number in `data` (a run of digits, with its sign, point and exponent)
/// with one of [`TEXT_NUMBERS`]; inserts one when there is none.
fn replace_text_number(data: &mut Vec<u8>, rng: &mut impl RngCore) {
    let replacement = TEXT_NUMBERS[rng.random_range(0..TEXT_NUMBERS.len())].as_bytes();
    let starts: Vec<usize> =
        (0..data.len()).filter(|&i| data[i].is_ascii_digit() && (i == 0 || !data[i - 1].is_ascii_digit())).collect();
    if starts.is_empty() {
        let at = if data.is_empty() { 0 } else { rng.random_range(0..data.len()) };
        data.splice(at..at, replacement.iter().copied());
        return;
    }
    let mut start = starts[rng.random_range(0..starts.len())];
    if start > 0 && data[start - 1] == b'-' {
        start -= 1;
    }
    let mut end = start + 1;
    while end < data.len() && matches!(data[end], b'0'..=b'9' | b'.' | b'e' | b'E' | b'-' | b'+') {
        end += 1;
    }
    data.splice(start..end, replacement.iter().copied());
}
