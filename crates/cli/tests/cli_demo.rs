//! The installed binary's main job: `tessera demo` run from an empty folder (no `data/` beside
//! it, as after `cargo install --path crates/cli`) passes every stage on the data compiled in.

mod common;

use common::{lines_starting, tessera_in};

#[test]
fn the_demo_passes_every_stage_from_an_empty_folder() {
    let cwd = std::env::temp_dir().join(format!("tessera-demo-cwd-{}", std::process::id()));
    std::fs::create_dir_all(&cwd).unwrap();
    let run = tessera_in(&cwd, &["demo"]);
    let out = run.ok();
    let stages = lines_starting(out, "== ");
    let numbered: Vec<&str> =
        stages.iter().filter(|s| s.as_bytes().get(3).is_some_and(u8::is_ascii_digit)).copied().collect();
    assert_eq!(numbered.len(), 9, "nine stages:\n{out}");
    for (i, stage) in numbered.iter().enumerate() {
        assert!(stage.starts_with(&format!("== {}. ", i + 1)), "{stage}");
    }
    assert!(out.trim_end().ends_with("demo finished: all stages passed"), "{out}");
    assert_eq!(std::fs::read_dir(&cwd).unwrap().count(), 0, "the demo writes nothing into the working folder");
    std::fs::remove_dir_all(&cwd).unwrap();
}
