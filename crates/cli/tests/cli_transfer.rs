//! `tessera transfer` end to end on a small VADER-format file and a word2vec file written here:
//! a run prints its epochs and a summary and writes its curve; a sweep writes its table; bad
//! input is one typed message.

mod common;

use common::{lines_starting, number_after, scratch, tessera};

/// A VADER-format file of 120 sentences (sign of the score = sentiment) and 8-wide vectors in
/// which the sentiment words point two ways.
fn inputs() -> (String, String) {
    let data = scratch("transfer", "snippets.txt");
    let (good, bad, filler) = (["good", "great", "fine"], ["bad", "awful", "poor"], ["the", "film", "was", "a"]);
    let mut text = String::new();
    for i in 0..120 {
        let (word, score) = if i % 2 == 0 { (good[i % 3], 1.5) } else { (bad[i % 3], -1.5) };
        text.push_str(&format!(
            "{i}\t{score}\t{} {} {word} {}\n",
            filler[i % 4],
            filler[(i + 1) % 4],
            filler[(i + 2) % 4]
        ));
    }
    std::fs::write(&data, text).unwrap();
    let vectors = scratch("transfer", "vectors.txt");
    let mut text = String::from("10 8\n");
    for (k, w) in good.iter().chain(&bad).chain(&filler).enumerate() {
        let sign = if k < 3 {
            1.0
        } else if k < 6 {
            -1.0
        } else {
            0.0
        };
        let v: Vec<String> = (0..8).map(|d| format!("{:.3}", sign + 0.1 * ((k * 8 + d) as f64).sin())).collect();
        text.push_str(&format!("{w} {}\n", v.join(" ")));
    }
    std::fs::write(&vectors, text).unwrap();
    (data.display().to_string(), vectors.display().to_string())
}

#[test]
fn transfer_run_curve_and_errors() {
    let (data, vectors) = inputs();
    let out = scratch("transfer", "run");
    let out = out.display().to_string();
    let common = ["--data", &data, "--test", "40", "--dev", "20", "--epochs", "20", "--lr", "0.05"];
    let run = tessera(
        &[
            &["transfer", "--pretrained", &vectors, "--mode", "features", "--labels", "20", "--out", &out][..],
            &common[..],
        ]
        .concat(),
    );
    let text = run.ok();
    let epochs = lines_starting(text, "epoch ");
    assert!(!epochs.is_empty(), "{text}");
    let summary = text.lines().last().unwrap();
    assert!(
        summary.contains("features (word vectors), 20 labels") && summary.contains("on cached features"),
        "{summary}"
    );
    assert!(number_after(summary, "test") > 0.9, "the sentiment words' vectors separate the classes: {summary}");
    let run = tessera(
        &[
            &["transfer", "--pretrained", &vectors, "--mode", "scratch", "--labels", "20", "--out", &out][..],
            &common[..],
        ]
        .concat(),
    );
    run.ok();
    let svg = std::fs::read_to_string(format!("{out}/curve.svg")).unwrap();
    assert!(svg.starts_with("<svg") || svg.contains("<svg"), "an SVG curve");
    // A sweep: one row per mode and budget.
    let sweep = scratch("transfer", "sweep").display().to_string();
    let run = tessera(
        &[
            &["transfer", "curve", "--pretrained", &vectors, "--modes", "scratch,features", "--labels", "10,all"][..],
            &["--seeds", "2", "--out", &sweep][..],
            &common[..],
        ]
        .concat(),
    );
    run.ok();
    let table = std::fs::read_to_string(format!("{sweep}/curve.tsv")).unwrap();
    assert_eq!(table.lines().count(), 1 + 4, "{table}");
    assert!(table.lines().skip(1).all(|l| l.split('\t').nth(5) == Some("2")), "two seeds per row:\n{table}");
    // Bad input: LoRA on word vectors, one class, an unknown mode.
    let error = tessera(&[&["transfer", "--pretrained", &vectors, "--mode", "lora"][..], &common[..]].concat());
    assert!(error.error().contains("LoRA adapts weight matrices"), "{}", error.stderr);
    let error = tessera(&[&["transfer", "--pretrained", &vectors, "--mode", "sideways"][..], &common[..]].concat());
    assert!(error.error().contains("expected scratch, features"), "{}", error.stderr);
    let error = tessera(&[&["transfer", "--pretrained", &vectors, "--freeze", "encoder.*"][..], &common[..]].concat());
    assert!(error.error().contains("matches no parameter"), "{}", error.stderr);
}

#[test]
fn pool_text_writes_the_training_pool_and_never_dev_or_test() {
    let (data, vectors) = inputs();
    // 120 distinct sentences, so that set arithmetic on the written lines is exact.
    let unique = scratch("transfer", "unique.txt");
    let text: String = (0..120)
        .map(|i| format!("{i}\t{}\tsentence number w{i} here\n", if i % 2 == 0 { 1.0 } else { -1.0 }))
        .collect();
    std::fs::write(&unique, text).unwrap();
    let unique = unique.display().to_string();
    let pool_text = |test: &str, dev: &str, name: &str| -> (String, Vec<String>) {
        let out = scratch("transfer", name).display().to_string();
        let run = tessera(&["transfer", "pool-text", "--data", &unique, "--test", test, "--dev", dev, "-o", &out]);
        let stdout = run.ok().to_string();
        (stdout, std::fs::read_to_string(&out).unwrap().lines().map(String::from).collect())
    };
    let (stdout, pool) = pool_text("40", "20", "pool.txt");
    assert!(stdout.contains("wrote 60 pool sentences") && stdout.contains("(held out: 20 dev, 40 test)"), "{stdout}");
    assert_eq!(pool.len(), 60);
    assert!(pool.iter().all(|s| s.split(' ').count() == 4), "tokenised, one sentence per line: {pool:?}");
    // The split is fixed: without a dev split the same 40 test sentences are held out, so the
    // pool is the dev split and the pool above, and never meets the test split.
    let (_, pool_and_dev) = pool_text("40", "0", "pool-and-dev.txt");
    let (_, all) = pool_text("0", "0", "all.txt");
    assert_eq!((pool_and_dev.len(), all.len()), (80, 120));
    assert!(pool.iter().all(|s| pool_and_dev.contains(s)));
    let test: Vec<&String> = all.iter().filter(|s| !pool_and_dev.contains(s)).collect();
    assert_eq!(test.len(), 40);
    assert!(pool.iter().all(|s| !test.contains(&s)), "no test sentence in the pool");
    // --unlabelled-pool feeds that text to the adaptation modes; it excludes --target.
    let out = scratch("transfer", "unlabelled-pool").display().to_string();
    let common = ["--data", &data, "--test", "40", "--dev", "20", "--epochs", "3", "--labels", "20", "--out", &out];
    let run = tessera(
        &[&["transfer", "--pretrained", &vectors, "--mode", "coral", "--unlabelled-pool"][..], &common].concat(),
    );
    assert!(run.ok().lines().last().unwrap().contains("coral"), "{}", run.stdout);
    let error = tessera(&[&["transfer", "--pretrained", &vectors, "--mode", "coral"][..], &common].concat());
    assert!(error.error().contains("needs unlabelled target-domain text"), "{}", error.stderr);
    let error = tessera(
        &[&["transfer", "--pretrained", &vectors, "--unlabelled-pool", "--target", &data][..], &common].concat(),
    );
    assert!(error.stderr.contains("cannot be used with"), "{}", error.stderr);
}
