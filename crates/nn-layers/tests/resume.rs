//! Resumable training: a run interrupted at arbitrary steps (here: the data source panics on its
//! n-th batch, as a kill would stop the process mid-step) and resumed from its last training
//! checkpoint ends with weights bit-identical to an uninterrupted run; a kill between the two
//! renames of a checkpoint write, or a half-written temporary folder, never loses the previous
//! checkpoint.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use backend_cpu::CpuDevice;
use nn_layers::data::{Dataset, Examples};
use nn_layers::layers::{Activation, Linear, Sequential};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{FitConfig, TRAIN_STATE, fit_classifier, load_training, save_training};
use nn_layers::{ModuleExt, Result};
use tensor_core::{Device, Tensor, TensorRng};

const EPOCHS: usize = 3;
const BATCH: usize = 8;

fn model(device: &Arc<dyn Device>) -> Sequential {
    let mut rng = TensorRng::new(3);
    Sequential::new()
        .push(Linear::new(6, 16, &mut rng, device).unwrap())
        .push(Activation::Relu)
        .push(Linear::new(16, 3, &mut rng, device).unwrap())
}

fn data() -> Dataset {
    let features: Vec<f32> = (0..60 * 6).map(|i| ((i * 37) % 23) as f32 / 23.0 - 0.5).collect();
    Dataset::new(features, vec![6], (0..60).map(|i| (i * 7 % 3) as i64).collect()).unwrap()
}

/// The dataset, failing (as a killed process stops) on batch number `kill_at` if set.
struct Killable {
    data: Dataset,
    served: AtomicUsize,
    kill_at: Option<usize>,
}

impl Examples for Killable {
    fn count(&self) -> usize {
        self.data.count()
    }

    fn batch_of(&self, indices: &[usize], device: &Arc<dyn Device>) -> Result<(Tensor, Tensor)> {
        let n = self.served.fetch_add(1, Ordering::SeqCst);
        assert!(Some(n) != self.kill_at, "killed");
        self.data.batch_of(indices, device)
    }
}

fn config(checkpoint: Option<&Path>) -> FitConfig {
    let mut config = FitConfig::new(EPOCHS, BATCH, 11).with_cosine(3e-2, 60);
    config.checkpoint = checkpoint.map(|dir| (dir.to_path_buf(), 2));
    config
}

fn weights(net: &Sequential) -> Vec<u32> {
    net.parameters().iter().flat_map(|(_, p)| p.value().to_vec::<f32>().unwrap()).map(f32::to_bits).collect()
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-resume-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_run_killed_at_any_step_resumes_to_bit_identical_weights() {
    let device = CpuDevice::shared();
    let reference = model(&device);
    let mut opt = Adam::new(reference.parameters(), AdamConfig::adam(3e-2));
    let whole = fit_classifier(&reference, &mut opt, &data(), None, config(None), &device, |_| {}).unwrap();
    let expected = weights(&reference);

    // 8 batches an epoch, 24 in all: kill at several steps, mid-epoch and at epoch ends.
    for (case, kills) in [vec![5], vec![3, 9, 17], vec![8, 16], vec![1, 2, 23]].into_iter().enumerate() {
        let root = scratch(&format!("kills-{case}"));
        let dir = root.join("ckpt");
        let mut served = 0;
        let mut result = None;
        let mut kill_list = kills.clone().into_iter();
        for attempt in 0..=kills.len() {
            let net = model(&device);
            let mut opt = Adam::new(net.parameters(), AdamConfig::adam(3e-2));
            let mut config = config(Some(&dir));
            // A run killed before its first checkpoint starts afresh.
            if attempt > 0 && (dir.exists() || root.join("ckpt.old").exists()) {
                config.resume = Some(load_training(&dir, &net, &mut opt).unwrap());
            }
            let resumed_at = config.resume.as_ref().map_or(0, |p| (p.epoch - 1) * 8 + p.batches_done);
            // The kill is at global batch k: batch k - resumed_at of this process.
            let kill_at = kill_list.next().map(|k| k - resumed_at.min(k));
            let source = Killable { data: data(), served: AtomicUsize::new(0), kill_at };
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                fit_classifier(&net, &mut opt, &source, None, config, &device, |_| {})
            }));
            served += source.served.load(Ordering::SeqCst);
            match outcome {
                Ok(history) => {
                    result = Some((history.unwrap(), weights(&net)));
                    break;
                }
                Err(_) => assert!(kill_at.is_some(), "only a planned kill stops the run"),
            }
        }
        let (history, got) = result.expect("the last attempt finishes");
        assert_eq!(got, expected, "kills at {kills:?}: the weights differ from the uninterrupted run");
        assert!(served >= 24, "kills at {kills:?}: {served} batches served");
        let losses = |h: &[nn_layers::train::EpochStats]| h.iter().map(|e| e.train_loss.to_bits()).collect::<Vec<_>>();
        assert_eq!(losses(&history), losses(&whole), "kills at {kills:?}: the epoch losses differ");
        let _ = std::fs::remove_dir_all(&root);
    }
}

#[test]
fn a_kill_during_a_checkpoint_write_keeps_the_previous_checkpoint() {
    let device = CpuDevice::shared();
    let root = scratch("write");
    let dir = root.join("ckpt");
    let net = model(&device);
    let mut opt = Adam::new(net.parameters(), AdamConfig::adam(3e-2));
    let mut config = config(Some(&dir));
    config.epochs = 1;
    fit_classifier(&net, &mut opt, &data(), None, config, &device, |_| {}).unwrap();
    let saved = std::fs::read(dir.join(TRAIN_STATE)).unwrap();

    // Killed while writing the next one: a half-written temporary folder beside it.
    let tmp = root.join("ckpt.tmp-999999");
    std::fs::create_dir_all(&tmp).unwrap();
    std::fs::write(tmp.join(TRAIN_STATE), "tessera-train-st").unwrap();
    let fresh = model(&device);
    let mut fresh_opt = Adam::new(fresh.parameters(), AdamConfig::adam(3e-2));
    let position = load_training(&dir, &fresh, &mut fresh_opt).unwrap();
    assert_eq!((position.epoch, position.batches_done, position.step), (2, 0, 8));
    assert_eq!(weights(&fresh), weights(&net));

    // Killed between the two renames: only `ckpt.old` holds a checkpoint.
    std::fs::rename(&dir, root.join("ckpt.old")).unwrap();
    let again = model(&device);
    let mut again_opt = Adam::new(again.parameters(), AdamConfig::adam(3e-2));
    assert_eq!(load_training(&dir, &again, &mut again_opt).unwrap().step, 8);
    assert_eq!(weights(&again), weights(&net));

    // The next save replaces it whole, and leaves no temporary or old folder of its own.
    save_training(&dir, &net, &opt, &position).unwrap();
    assert_eq!(std::fs::read(dir.join(TRAIN_STATE)).unwrap(), saved);
    assert!(!root.join("ckpt.old").exists());
    let _ = std::fs::remove_dir_all(&root);
}

#[test]
fn a_folder_without_a_checkpoint_is_a_typed_error() {
    let device = CpuDevice::shared();
    let root = scratch("missing");
    let net = model(&device);
    let mut opt = Adam::new(net.parameters(), AdamConfig::adam(3e-2));
    let error = load_training(&root.join("nothing"), &net, &mut opt).unwrap_err().to_string();
    assert!(error.contains("nothing") && error.contains("no training checkpoint"), "{error}");
    std::fs::create_dir_all(root.join("bad")).unwrap();
    std::fs::write(root.join("bad").join(TRAIN_STATE), "tessera-train-state 1\nepoch x\n").unwrap();
    let error = load_training(&root.join("bad"), &net, &mut opt).unwrap_err().to_string();
    assert!(error.contains(TRAIN_STATE) && error.contains("line 2"), "{error}");
    let _ = std::fs::remove_dir_all(&root);
}
