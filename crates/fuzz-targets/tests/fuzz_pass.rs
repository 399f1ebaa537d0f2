//! CI's fuzzing: every target's seeds and kept regression inputs (`fuzz/regressions/<target>/`)
//! must read without a finding, then a short seeded mutation pass runs over each target. The
//! whole file takes about 30 s on two cores (CI allows the fuzzing two minutes).

use std::time::Duration;

use fuzz_targets::runner::{self, FuzzConfig, regressions, work_dir};
use fuzz_targets::targets;

/// Mutated runs per target in CI (about 20 s for all targets on two cores).
const RUNS: u64 = 15_000;

/// The settings of test `test` on target `name` (each test has its own work folder).
fn config(test: &str, name: &str, max_runs: u64) -> FuzzConfig {
    FuzzConfig {
        duration: Duration::from_secs(60),
        max_runs: Some(max_runs),
        seed: 28,
        work: work_dir(&format!("{test}-{name}"), std::process::id()),
        corpus_out: None,
        findings_out: None,
        memory_cap: fuzz_targets::alloc::DEFAULT_CAP,
        time_limit: Duration::from_secs(20),
    }
}

fn describe(findings: &[runner::Finding]) -> String {
    findings
        .iter()
        .take(5)
        .map(|f| {
            format!(
                "{} (input {}: {:?}...)",
                f.what,
                runner::input_name(&f.input),
                String::from_utf8_lossy(&f.input[..f.input.len().min(80)])
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn every_target_has_seeds_and_its_regressions_replay_cleanly() {
    let mut kept = 0;
    for target in targets::all() {
        let seeds = (target.seeds)();
        assert!(!seeds.is_empty(), "{} has no seeds", target.name);
        let inputs: Vec<Vec<u8>> = seeds.into_iter().chain(regressions(&target).into_iter().map(|(_, b)| b)).collect();
        kept += inputs.len();
        let config = config("replay", target.name, 0);
        let stats = runner::fuzz(&target, inputs, &config);
        let _ = std::fs::remove_dir_all(&config.work);
        assert!(stats.findings.is_empty(), "{}:\n{}", target.name, describe(&stats.findings));
    }
    assert!(kept > 40, "only {kept} seeds and regressions");
}

/// Each target's first seed is a valid file: it reads without an error, so that mutations start
/// from an input that reaches the whole reader (later seeds may be edge cases that fail).
#[test]
fn every_first_seed_reads_without_an_error() {
    let work = runner::work_dir("seeds-read", std::process::id());
    for target in targets::all() {
        for (i, seed) in (target.seeds)().into_iter().enumerate().take(1) {
            std::fs::create_dir_all(&work).unwrap();
            let path = target.write_input(&work, &seed).unwrap();
            let result = (target.read)(&path);
            let _ = std::fs::remove_dir_all(&work);
            assert!(result.is_ok(), "{} seed {i}: {}", target.name, result.unwrap_err());
        }
    }
}

#[test]
fn a_short_mutation_pass_over_every_target_finds_nothing() {
    for target in targets::all() {
        let config = config("pass", target.name, RUNS);
        let stats = runner::fuzz(&target, (target.seeds)(), &config);
        let _ = std::fs::remove_dir_all(&config.work);
        assert!(stats.runs >= RUNS, "{}: only {} runs", target.name, stats.runs);
        assert!(stats.findings.is_empty(), "{}:\n{}", target.name, describe(&stats.findings));
    }
}

#[test]
fn the_runner_reports_a_panicking_reader() {
    let target = targets::Target {
        name: "test-panics",
        files: &["input.txt"],
        seeds: || vec![b"fine".to_vec()],
        read: |path| {
            let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
            assert!(!text.contains('!'), "a reader that panics on `!`");
            Ok(())
        },
    };
    let config = config("unit", target.name, 0);
    let stats = runner::fuzz(&target, vec![b"fine".to_vec(), b"bang!".to_vec()], &config);
    let _ = std::fs::remove_dir_all(&config.work);
    assert_eq!(stats.findings.len(), 1, "{stats:?}");
    assert!(stats.findings[0].what.contains("a reader that panics"), "{}", stats.findings[0].what);
    assert_eq!(stats.findings[0].input, b"bang!");
}

#[test]
fn an_error_that_does_not_name_the_file_is_a_finding() {
    let target = targets::Target {
        name: "test-unnamed",
        files: &["input.txt"],
        seeds: || vec![b"x".to_vec()],
        read: |_| Err("something was wrong".into()),
    };
    let config = config("unit", target.name, 0);
    let stats = runner::fuzz(&target, vec![b"x".to_vec()], &config);
    let _ = std::fs::remove_dir_all(&config.work);
    assert_eq!(stats.findings.len(), 1);
    assert!(stats.findings[0].what.contains("does not name"), "{}", stats.findings[0].what);
}

#[test]
fn mutations_are_seeded_and_bounded() {
    use rand::SeedableRng;
    let run = || {
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(5);
        let mut data = b"ngram 1=3\nhello 12 -4.5\n".to_vec();
        let mut out = Vec::new();
        for _ in 0..200 {
            fuzz_targets::mutate::mutate(&mut data, b"other bytes 99", 4096, &mut rng);
            assert!(data.len() <= 4096);
            out.push(data.clone());
        }
        out
    };
    let (a, b) = (run(), run());
    assert_eq!(a, b, "the same seed gives the same inputs");
    assert!(a.iter().collect::<std::collections::HashSet<_>>().len() > 150, "mutations repeat themselves");
}
