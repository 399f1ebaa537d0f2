//! Splits are deterministic and leakage-safe: no group (movie, page, document, president,
//! chapter) appears in two splits, and loading twice gives the same splits.

use std::collections::HashSet;
use std::path::Path;

use glue::data::split::part_of;
use glue::data::{TaskData, load_task};
use glue::registry;

fn groups(split: &[glue::data::Example]) -> HashSet<&str> {
    split.iter().map(|e| e.group.as_str()).collect()
}

fn assert_disjoint(task: &TaskData) {
    let (train, dev, test) = (groups(&task.train), groups(&task.dev), groups(&task.test));
    assert!(train.is_disjoint(&dev) && train.is_disjoint(&test) && dev.is_disjoint(&test), "{}", task.spec.name);
}

#[test]
fn placement_depends_only_on_group_and_seed() {
    let f = [0.8, 0.1, 0.1];
    let parts: Vec<usize> = (0..2000).map(|i| part_of(&format!("movie {i}"), 27, f)).collect();
    let again: Vec<usize> = (0..2000).map(|i| part_of(&format!("movie {i}"), 27, f)).collect();
    assert_eq!(parts, again);
    // Roughly the fractions.
    let train = parts.iter().filter(|&&p| p == 0).count();
    assert!((1500..1700).contains(&train), "{train}");
    // Another seed moves groups.
    let other: Vec<usize> = (0..2000).map(|i| part_of(&format!("movie {i}"), 28, f)).collect();
    assert_ne!(parts, other);
}

#[test]
fn shipped_tasks_split_by_group_deterministically() {
    let Some(root) = test_support::shared_data("") else { return };
    for name in ["rt-polarity", "vitaminc-nli", "brown-genre", "brown-pos", "sotu-party", "austen-fluency"] {
        let spec = registry::select(&[name.to_string()], None::<&Path>).unwrap().remove(0);
        let task = load_task(&spec, &root).unwrap();
        assert_disjoint(&task);
        let again = load_task(&spec, &root).unwrap();
        assert_eq!(task.test, again.test, "{name}: test split changed between loads");
        assert_eq!(task.train.len(), again.train.len());
    }
}
