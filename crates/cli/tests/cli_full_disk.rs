//! A job told to write where it cannot (a full file system, a read-only one) fails with one
//! typed error line naming the file, and the model folder an earlier run wrote there is left
//! byte for byte as it was. The location is a 1 MiB tmpfs mounted for the test (it needs root
//! or CAP_SYS_ADMIN, which the CI machine has; elsewhere it skips with the reason).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::tessera;

/// A small tmpfs, unmounted (and its mount point removed) when dropped.
struct TinyFs {
    dir: PathBuf,
}

impl TinyFs {
    fn mount(name: &str) -> Result<TinyFs, String> {
        let dir = std::env::temp_dir().join(format!("tessera-tinyfs-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let fs = TinyFs { dir };
        fs.run(&["-t", "tmpfs", "-o", "size=1m", "tmpfs"], &[fs.dir.as_os_str().to_str().unwrap_or_default()])?;
        Ok(fs)
    }

    fn run(&self, options: &[&str], paths: &[&str]) -> Result<(), String> {
        let out = Command::new("mount").args(options).args(paths).output().map_err(|e| format!("mount: {e}"))?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!("mount {}: {}", options.join(" "), String::from_utf8_lossy(&out.stderr).trim()))
        }
    }

    fn remount_read_only(&self) {
        self.run(&["-o", "remount,ro"], &[self.dir.to_str().unwrap()]).unwrap();
    }
}

impl Drop for TinyFs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir(&self.dir);
    }
}

/// Every file of `folder` with its bytes, in name order.
fn snapshot(folder: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<(String, Vec<u8>)> = std::fs::read_dir(folder)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap())
        })
        .collect();
    files.sort();
    files
}

fn train(out: &Path, hidden: &str) -> common::Run {
    let out = out.to_str().unwrap();
    tessera(&["train", "mlp", "--dataset", "digits", "--epochs", "1", "--hidden", hidden, "--out", out])
}

#[test]
fn a_full_or_read_only_destination_is_an_error_and_the_earlier_folder_survives() {
    let Some(fs) = test_support::require("a 1 MiB tmpfs mount (root or CAP_SYS_ADMIN)", TinyFs::mount("full")) else {
        return;
    };
    let model = fs.dir.join("model");
    train(&model, "8").ok();
    let before = snapshot(&model);
    assert!(before.iter().any(|(name, _)| name == "weights.safetensors"), "{before:?}");

    // Fill the file system, then ask for a bigger model in the same folder.
    let filler = fs.dir.join("filler");
    let mut file = std::fs::File::create(&filler).unwrap();
    let block = vec![7u8; 4096];
    while std::io::Write::write_all(&mut file, &block).is_ok() {}
    drop(file);
    let message = train(&model, "64").error().to_string();
    eprintln!("full: {message}");
    assert!(message.contains("No space left on device"), "{message}");
    assert!(message.contains(model.to_str().unwrap()), "the error names the file: {message}");
    assert_eq!(snapshot(&model), before, "the earlier model folder is left as it was");

    // Read-only: room again, but no writes allowed.
    std::fs::remove_file(&filler).unwrap();
    fs.remount_read_only();
    let message = train(&model, "64").error().to_string();
    eprintln!("read-only: {message}");
    assert!(message.contains("Read-only file system"), "{message}");
    assert!(message.contains(model.to_str().unwrap()), "the error names the file: {message}");
    assert_eq!(snapshot(&model), before, "the earlier model folder is left as it was");
}
