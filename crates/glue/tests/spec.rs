//! Spec validation: every shipped spec parses, and each kind of mistake is a typed error that
//! names the file and the key.

use glue::GlueError;
use glue::metrics::Metric;
use glue::registry;
use glue::spec::{TaskKind, load_spec, parse_spec};

const GOOD: &str = r#"{
  "name": "tiny", "data": {"path": "tiny.csv", "format": "csv"}, "kind": "single",
  "text": "text", "label": "label", "metrics": ["accuracy", "f1"],
  "split": {"group": "movie", "seed": 3, "fractions": [0.6, 0.2, 0.2]}
}"#;

#[test]
fn shipped_specs_parse() {
    let specs = registry::builtin().unwrap();
    assert_eq!(specs.len(), 10);
    let pos = specs.iter().find(|s| s.name == "brown-pos").unwrap();
    assert_eq!(pos.kind, TaskKind::Tagging);
    let nli = specs.iter().find(|s| s.name == "vitaminc-nli").unwrap();
    assert_eq!(nli.text, ["evidence", "claim"]);
    assert_eq!(nli.split.group_until.as_deref(), Some(":"));
    let score = specs.iter().find(|s| s.name == "movie-score").unwrap();
    assert_eq!(score.metrics, [Metric::Pearson, Metric::Spearman]);
}

#[test]
fn a_good_spec_parses() {
    let spec = parse_spec(GOOD, "tiny.json").unwrap();
    assert_eq!(spec.split.fractions, [0.6, 0.2, 0.2]);
    assert_eq!(spec.metrics, [Metric::Accuracy, Metric::F1]);
}

#[test]
fn malformed_json_names_the_file() {
    let err = parse_spec("{ \"name\": ", "broken.json").unwrap_err();
    assert!(matches!(err, GlueError::MalformedSpec { ref file, .. } if file == "broken.json"), "{err}");
    assert!(err.to_string().starts_with("broken.json: malformed spec"), "{err}");
}

#[test]
fn a_missing_key_is_named() {
    let text = GOOD.replace(r#""kind": "single","#, "");
    let err = parse_spec(&text, "tiny.json").unwrap_err();
    assert!(matches!(err, GlueError::MissingKey { ref key, .. } if key == "kind"), "{err}");
    let text = GOOD.replace(r#""group": "movie", "#, "");
    let err = parse_spec(&text, "tiny.json").unwrap_err();
    assert!(matches!(err, GlueError::MissingKey { ref key, .. } if key == "split.group"), "{err}");
}

#[test]
fn an_unknown_metric_is_named_with_its_index() {
    let text = GOOD.replace(r#"["accuracy", "f1"]"#, r#"["accuracy", "bleu"]"#);
    let err = parse_spec(&text, "tiny.json").unwrap_err();
    match &err {
        GlueError::UnknownMetric { file, key, metric, .. } => {
            assert_eq!((file.as_str(), key.as_str(), metric.as_str()), ("tiny.json", "metrics[1]", "bleu"));
        }
        other => panic!("expected UnknownMetric, got {other}"),
    }
}

#[test]
fn wrong_types_and_unknown_keys_are_named() {
    let cases = [
        (GOOD.replace(r#""kind": "single""#, r#""kind": "ranking""#), "kind"),
        (GOOD.replace("[0.6, 0.2, 0.2]", "[0.6, 0.2, 0.3]"), "split.fractions"),
        (GOOD.replace(r#""seed": 3"#, r#""seed": "three""#), "split.seed"),
        (GOOD.replace(r#""format": "csv""#, r#""format": "xml""#), "data.format"),
        (GOOD.replace(r#""text": "text""#, r#""txt": "text""#), "txt"),
        (GOOD.replace(r#""metrics": ["accuracy", "f1"]"#, r#""metrics": ["pearson"]"#), "metrics[0]"),
        (GOOD.replace(r#""kind": "single""#, r#""kind": "pair""#), "text"),
    ];
    for (text, key) in cases {
        match parse_spec(&text, "tiny.json").unwrap_err() {
            GlueError::BadKey { file, key: found, .. } => {
                assert_eq!((file.as_str(), found.as_str()), ("tiny.json", key))
            }
            other => panic!("{key}: expected BadKey, got {other}"),
        }
    }
}

#[test]
fn a_missing_spec_file_is_an_io_error() {
    assert!(matches!(load_spec(std::path::Path::new("/nonexistent/spec.json")), Err(GlueError::Io { .. })));
}
