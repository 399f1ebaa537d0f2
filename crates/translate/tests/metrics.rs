//! Tessera's BLEU and chrF against sacreBLEU's own numbers on the committed fixture (made by
//! `fixtures/make_mt_metric_fixtures.py`): equal to 0.01 on every case.

use serde_json::Value;
use translate::metrics::{corpus_bleu, corpus_chrf};

fn strings(value: &Value) -> Vec<String> {
    value.as_array().expect("a list").iter().map(|s| s.as_str().expect("a string").to_string()).collect()
}

#[test]
fn bleu_and_chrf_equal_sacrebleu_on_every_fixture_case() {
    let text = include_str!("fixtures/mt_metrics.json");
    let fixture: Value = serde_json::from_str(text).unwrap();
    let cases = fixture["cases"].as_object().unwrap();
    assert!(cases.len() >= 10, "the fixture holds {} cases", cases.len());
    for (name, case) in cases {
        let hyps = strings(&case["hypotheses"]);
        let refs = strings(&case["references"]);
        let bleu = corpus_bleu(&hyps, &refs).unwrap().score;
        let chrf = corpus_chrf(&hyps, &refs).unwrap();
        let (want_bleu, want_chrf) = (case["bleu"].as_f64().unwrap(), case["chrf"].as_f64().unwrap());
        assert!((bleu - want_bleu).abs() < 0.01, "{name}: BLEU {bleu} vs sacreBLEU {want_bleu}");
        assert!((chrf - want_chrf).abs() < 0.01, "{name}: chrF {chrf} vs sacreBLEU {want_chrf}");
    }
}
