//! Tabular data files: IDX images and labels, the digits CSV, gzip, labelled text (CSV, TSV,
//! JSON Lines) and safetensors checkpoints.

use std::path::Path;

use nn_layers::data::{Header, RecordFormat};
use tensor_core::Device;

use super::{Target, gzip, text};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "idx-images",
            files: &["images-idx3-ubyte"],
            seeds: || vec![idx(&[2, 3, 4]), idx(&[1, 28, 28]), idx(&[0, 2, 2])],
            read: |path| text(nn_layers::data::read_idx_images(path)),
        },
        Target {
            name: "idx-labels",
            files: &["labels-idx1-ubyte"],
            seeds: || vec![idx(&[5]), idx(&[0])],
            read: |path| text(nn_layers::data::read_idx_labels(path)),
        },
        Target {
            name: "digits-csv",
            files: &["digits.csv"],
            seeds: || vec![digits_csv(3), digits_csv(1)],
            read: |path| text(nn_layers::data::read_digits_csv(path)),
        },
        Target {
            name: "gzip",
            files: &["digits.csv.gz"],
            seeds: || vec![gzip(&digits_csv(2)), gzip(b""), gzip(&[b'7'; 5000])],
            read: |path| text(nn_layers::data::read_digits_csv(path)),
        },
        Target {
            name: "records-csv",
            files: &["labelled.csv"],
            seeds: || {
                vec![
                    b"id,label,text\n1,pos,\"Good, \"\"really\"\"\nfun\"\n2,neg,bad\r\n".to_vec(),
                    b"label,text\n".to_vec(),
                ]
            },
            read: |path| records(path, RecordFormat::Csv),
        },
        Target {
            name: "records-tsv",
            files: &["labelled.tsv"],
            seeds: || vec![b"label\ttext\npos\tGood\n\nneg\tbad\n".to_vec()],
            read: |path| records(path, RecordFormat::Tsv),
        },
        Target {
            name: "records-jsonl",
            files: &["labelled.jsonl"],
            seeds: || vec![b"{\"text\": \"Good\", \"label\": 1}\n\n{\"text\": \"bad\", \"label\": false}\n".to_vec()],
            read: |path| records(path, RecordFormat::JsonLines),
        },
        Target {
            name: "safetensors",
            files: &["weights.safetensors"],
            seeds: safetensors_seeds,
            read: |path| {
                let device: std::sync::Arc<dyn Device> = backend_cpu::CpuDevice::shared();
                text(nn_layers::checkpoint::load_tensors(path, &device))
            },
        },
    ]
}

/// The text and label fields of a labelled-text file, as `train textcnn` and the GLUE tasks read it.
fn records(path: &Path, format: RecordFormat) -> Result<(), String> {
    text(nn_layers::data::read_records(path, format, Header::FirstLine, &["text", "label"]))
}

/// An IDX file of unsigned bytes with `dims`.
pub(crate) fn idx(dims: &[u32]) -> Vec<u8> {
    let mut out = (0x0800u32 | dims.len() as u32).to_be_bytes().to_vec();
    for d in dims {
        out.extend_from_slice(&d.to_be_bytes());
    }
    let count: u32 = dims.iter().product();
    out.extend((0..count).map(|i| (i * 37 % 256) as u8));
    out
}

/// `rows` rows of the digits CSV.
fn digits_csv(rows: usize) -> Vec<u8> {
    let mut out = String::new();
    for r in 0..rows {
        let row: Vec<String> = (0..64).map(|c| ((r * 7 + c) % 17).to_string()).collect();
        out.push_str(&format!("{},{}\n", row.join(","), r % 10));
    }
    out.into_bytes()
}

/// Checkpoints written by Tessera's own writer: f32, f64 and i64 tensors.
fn safetensors_seeds() -> Vec<Vec<u8>> {
    let device: std::sync::Arc<dyn Device> = backend_cpu::CpuDevice::shared();
    let dir = super::seed_scratch("safetensors");
    let path = dir.join("seed.safetensors");
    let tensors = vec![
        ("w".to_string(), tensor_core::Tensor::from_vec(vec![1.0f32, -2.0, 0.5, 4.0, 5.0, 6.0], [2, 3], &device)),
        ("b".to_string(), tensor_core::Tensor::from_vec(vec![0.25f64, 1.0], [2], &device)),
        ("step".to_string(), tensor_core::Tensor::from_vec(vec![7i64], [1], &device)),
    ];
    let tensors: Vec<(String, tensor_core::Tensor)> =
        tensors.into_iter().map(|(n, t)| (n, t.expect("a valid seed tensor"))).collect();
    nn_layers::checkpoint::save_tensors(&path, &tensors).expect("the seed checkpoint is written");
    let seed = std::fs::read(&path).expect("the seed checkpoint is read back");
    let _ = std::fs::remove_dir_all(&dir);
    let mut seeds = vec![seed];
    for name in ["torch_mlp.safetensors", "torch_rnn.safetensors"] {
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("../nn-layers/tests/fixtures").join(name);
        if let Ok(bytes) = std::fs::read(fixture) {
            seeds.push(bytes);
        }
    }
    seeds
}
