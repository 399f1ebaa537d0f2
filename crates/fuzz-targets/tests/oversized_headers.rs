//! Every reader whose file states a size (a header count, dimensions, a config's widths) is
//! given one that claims far more than the file holds: each must answer with a typed error that
//! names the file, having allocated less than 100 MiB at its peak.

use fuzz_targets::targets::{self, join_files};
use fuzz_targets::{alloc, runner};

const LIMIT: usize = 100 << 20;

/// Big-endian IDX header words, then a few bytes.
fn idx(words: &[u32]) -> Vec<u8> {
    let mut out: Vec<u8> = words.iter().flat_map(|w| w.to_be_bytes()).collect();
    out.extend_from_slice(&[1, 2, 3, 4, 5]);
    out
}

/// A safetensors file whose header promises a `[n, n]` f32 tensor over 8 bytes of data.
fn safetensors(n: u64) -> Vec<u8> {
    let header = format!(
        "{{\"w\":{{\"dtype\":\"F32\",\"shape\":[{n},{n}],\"data_offsets\":[0,{}]}}}}",
        n.saturating_mul(n).saturating_mul(4)
    );
    let mut out = (header.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(&[0; 8]);
    out
}

/// A seed folder of `target` with its config's `key` (or JSON pointer `/a/b`) set to `value`.
fn folder_with(target: &str, key: &str, value: &str) -> Vec<u8> {
    let seed = (targets::find(target).expect("a target").seeds)().remove(0);
    let parts = targets::split_files(&seed);
    let mut config: serde_json::Value = serde_json::from_slice(parts[0]).expect("the seed config is JSON");
    let value = serde_json::from_str(value).expect("a JSON value");
    match key.strip_prefix('/') {
        Some(_) => *config.pointer_mut(key).expect("the seed config has the key") = value,
        None => config[key] = value,
    }
    let config = serde_json::to_vec(&config).expect("JSON serialises");
    let mut files: Vec<&[u8]> = vec![&config];
    files.extend(&parts[1..]);
    join_files(&files)
}

fn cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        ("idx-images", idx(&[0x0803, 60_000, 28_000, 28_000])),
        ("idx-images", idx(&[0x0803, u32::MAX, u32::MAX, u32::MAX])),
        ("idx-labels", idx(&[0x0801, u32::MAX])),
        ("safetensors", safetensors(1 << 20)),
        ("safetensors", safetensors(1 << 40)),
        ("arpa", b"\\data\\\nngram 1=1000000000000\n\n\\1-grams:\n-1.0\ta\n\n\\end\\\n".to_vec()),
        ("arpa", b"\\data\\\nngram 1=2\nngram 2=99999999999999\n\n\\1-grams:\n-1\ta\n-1\tb\n\n\\2-grams:\n-1\ta b\n\n\\end\\\n".to_vec()),
        ("word2vec-text", b"1000000000000 1000000\nthe 1 2 3\n".to_vec()),
        ("word2vec-binary", b"1000000000 300\nthe \x00\x00\x80\x3f\n".to_vec()),
        ("word2vec-binary", b"3 4611686018427387904\nthe \x00\x00\x80\x3f\n".to_vec()),
        ("digits-csv", format!("{}\n", vec!["99999999999999999999"; 65].join(",")).into_bytes()),
        ("vocab-counts", b"the\t18446744073709551615\ncat\t99999999999999999999999\n".to_vec()),
        ("tpu-topology", b"Layer, M, N, K,\nfc1, 1000000000000, 1000000000000, 1000000000000,\n".to_vec()),
        ("tpu-config", b"[architecture_presets]\nArrayHeight: 4000000000\nArrayWidth: 4000000000\nIfmapSramSzkB: 18446744073709551615\nFilterSramSzkB: 1\nOfmapSramSzkB: 1\nDataflow: ws\n".to_vec()),
        ("tpu-config", b"[tpu]\nrows = 100000000000\ncols = 100000000000\nunified_buffer_mib = 1e300\n".to_vec()),
        ("lm-folder-words", folder_with("lm-folder-words", "vocab_size", "1000000000")),
        ("lm-folder-words", folder_with("lm-folder-words", "hidden", "100000000")),
        ("lm-folder-gpt", folder_with("lm-folder-gpt", "width", "1000000")),
        ("lm-folder-gpt", folder_with("lm-folder-gpt", "context", "10000000000")),
        ("lm-folder-bpe", folder_with("lm-folder-bpe", "layers", "100000000000")),
        ("bert-folder", folder_with("bert-folder", "intermediate", "1000000000")),
        ("bert-folder", folder_with("bert-folder", "positions", "100000000000")),
        ("lora-adapters", safetensors(1 << 20)),
        ("train-checkpoint", join_files(&[b"tessera-train-state 1\nepoch 1\n", &safetensors(1 << 20)])),
        ("ner-folder", folder_with("ner-folder", "/model/words", "1000000000")),
        ("ner-folder", folder_with("ner-folder", "/model/hidden", "100000000")),
        ("ner-folder", folder_with("ner-folder", "/model/char_filters", "18446744073709551615")),
        ("qa-folder", folder_with("qa-folder", "/model/words", "1000000000")),
        ("qa-folder", folder_with("qa-folder", "/model/hidden", "100000000")),
        ("mt-folder-rnn", folder_with("mt-folder-rnn", "/model/vocab_size", "1000000000")),
        ("mt-folder-rnn", folder_with("mt-folder-rnn", "/model/hidden", "100000000")),
        ("mt-folder-transformer", folder_with("mt-folder-transformer", "/model/max_positions", "10000000000")),
        ("mt-folder-transformer", folder_with("mt-folder-transformer", "/model/ff", "1000000000")),
    ]
}

#[test]
fn headers_that_claim_more_than_the_file_holds_are_typed_errors_within_100_mib() {
    alloc::set_cap(LIMIT);
    let work = runner::work_dir("oversized", std::process::id());
    std::fs::create_dir_all(&work).unwrap();
    for (i, (name, input)) in cases().into_iter().enumerate() {
        let target = targets::find(name).expect("a target");
        let path = target.write_input(&work, &input).unwrap();
        let before = alloc::live();
        alloc::reset_peak();
        let result = (target.read)(&path);
        let peak = alloc::peak().saturating_sub(before);
        let message = match result {
            Err(message) => message,
            Ok(()) => panic!("case {i} ({name}): read without an error"),
        };
        assert!(message.contains(&path.display().to_string()), "case {i} ({name}): `{message}` does not name the file");
        assert!(peak < LIMIT, "case {i} ({name}): peak {peak} bytes");
        eprintln!("case {i} ({name}): peak {:.1} KiB: {message}", peak as f64 / 1024.0);
    }
    let _ = std::fs::remove_dir_all(&work);
}
