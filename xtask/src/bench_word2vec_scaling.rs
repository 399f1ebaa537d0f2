//! Two threads over one, for Tessera and for gensim, from back-to-back pairs of one-epoch runs,
//! with probes of how far apart the cores are before, between and after the runs of each pair
//! (see [`crate::core_distance`]).

use std::fmt::Write as _;
use std::path::Path;

use crate::bench_peers::median;
use crate::bench_word2vec::{MODES, gensim_words_per_second, tessera_words_per_second};
use crate::core_distance::{FAR_NS, cores_close};

/// Pairs of Tessera runs per mode: single pairs spread from about 0.9x to 2.2x on the shared
/// 2-core development machine, so the median needs several.
const TESSERA_PAIRS: usize = 9;

/// Pairs of gensim runs per mode (each pair takes half a minute or more).
const GENSIM_PAIRS: usize = 5;

/// One pair: two threads' words/s over one thread's, and whether the cores were close
/// throughout.
struct Pair {
    ratio: f64,
    close: bool,
}

/// Two threads over one from two one-epoch runs made back to back (the two-thread one first
/// with `two_first`, so that a drift of the host's speed between the runs favours neither side
/// over alternate pairs): on a shared host the speed drifts by more than the effect between
/// runs minutes apart, while a pair sees nearly the same machine. The cores count as close when
/// probes before, between and after the runs all find them so. `None` when a run fails.
fn paired_scaling(speed: &dyn Fn(usize) -> Option<f64>, two_first: bool) -> Option<Pair> {
    let mut close = cores_close();
    let mut measure = |threads| {
        let words_per_second = speed(threads);
        close &= cores_close();
        words_per_second
    };
    let (one, two) = if two_first {
        let two = measure(2)?;
        (measure(1)?, two)
    } else {
        let one = measure(1)?;
        (one, measure(2)?)
    };
    Some(Pair { ratio: two / one, close })
}

/// "1.78x (7 pairs)" over the pairs `keep` selects.
fn summary(pairs: &[Pair], keep: impl Fn(&Pair) -> bool) -> String {
    let ratios: Vec<f64> = pairs.iter().filter(|p| keep(p)).map(|p| p.ratio).collect();
    let n = ratios.len();
    median(ratios).map_or("-".into(), |r| format!("{r:.2}x ({n})"))
}

/// Every pair's ratio, those with the cores apart marked with an asterisk.
fn listing(pairs: &[Pair]) -> String {
    let shown: Vec<String> =
        pairs.iter().map(|p| format!("{:.2}{}", p.ratio, if p.close { "" } else { "*" })).collect();
    shown.join(", ")
}

/// The scaling table: medians over the pairs with the cores close and over all pairs, Tessera's
/// and (with a `python` that has gensim) gensim's.
pub(crate) fn report(tessera: &Path, python: Option<&Path>, corpus: &Path, root: &Path) -> String {
    let output = &root.join("target/w2v-scaling.txt");
    let ours = |flags| move |threads| tessera_words_per_second(tessera, corpus, flags, threads, 1, output);
    let theirs = |flags| move |threads| gensim_words_per_second(python?, corpus, flags, threads, 1, output);
    // Pair by pair, every mode in turn, so a noisy spell of the host spreads over the modes
    // instead of taking one mode's pairs all together.
    let mut ours_pairs: Vec<Vec<Pair>> = MODES.iter().map(|_| Vec::new()).collect();
    let mut theirs_pairs: Vec<Vec<Pair>> = MODES.iter().map(|_| Vec::new()).collect();
    for pair in 0..TESSERA_PAIRS.max(GENSIM_PAIRS) {
        for (((_, flags, gensim_flags), ours_pairs), theirs_pairs) in
            MODES.iter().zip(&mut ours_pairs).zip(&mut theirs_pairs)
        {
            if pair < TESSERA_PAIRS {
                ours_pairs.extend(paired_scaling(&ours(flags), pair % 2 == 1));
            }
            if pair < GENSIM_PAIRS && python.is_some() {
                theirs_pairs.extend(paired_scaling(&theirs(gensim_flags), pair % 2 == 1));
            }
        }
    }
    let mut out = format!(
        "\nScaling, 2 threads / 1 thread, medians of back-to-back pairs of one-epoch runs (1 thread then 2, and \
         2 then 1 in every other pair; {TESSERA_PAIRS} pairs per mode for Tessera, {GENSIM_PAIRS} for gensim), \
         over the pairs made with the two cores close (a cache line's round trip between them under {FAR_NS:.0} \
         ns before, between and after the runs) and over all pairs; pairs counted in brackets:\n\n\
         | mode | Tessera, cores close | Tessera, all pairs | gensim, cores close | gensim, all pairs |\n\
         |---|---|---|---|---|\n"
    );
    for (((mode, _, _), ours), theirs) in MODES.iter().zip(&ours_pairs).zip(&theirs_pairs) {
        let _ = writeln!(
            out,
            "| {mode} | {} | {} | {} | {} |",
            summary(ours, |p| p.close),
            summary(ours, |_| true),
            summary(theirs, |p| p.close),
            summary(theirs, |_| true)
        );
    }
    let _ = writeln!(out, "\nEach pair (* the cores far apart during it):");
    for (((mode, _, _), ours), theirs) in MODES.iter().zip(&ours_pairs).zip(&theirs_pairs) {
        let _ = writeln!(out, "- {mode}: Tessera {}; gensim {}", listing(ours), listing(theirs));
    }
    out
}
