//! The SQuAD metric on hand-computed cases, the reader's errors and character offsets, and
//! (with ../shared/data) the official files read whole.

use std::collections::HashMap;
use std::path::Path;

use qa::QaError;
use qa::metric::{best_over, evaluate, exact_match, f1, normalize};
use qa::squad::SquadSet;
use qa::tokenize::char_slice;
use serde_json::json;

#[test]
fn normalisation_drops_case_punctuation_articles_and_spaces() {
    assert_eq!(normalize("  The Beatles' \"White Album\"  "), "beatles white album");
    assert_eq!(normalize("an apple, a pear & the"), "apple pear");
    // Articles only as whole words: "theatre", "anew" and "a." stay / lose only the dot.
    assert_eq!(normalize("Theatre anew A."), "theatre anew");
    // Punctuation is removed, not turned into a space: "U.S." becomes "us".
    assert_eq!(normalize("U.S. half-time"), "us halftime");
    // Non-ASCII punctuation is kept (string.punctuation is ASCII) and is a word boundary.
    assert_eq!(normalize("«Zürich»—THE end"), "«zürich»— end");
}

#[test]
fn empty_prediction_scores_as_the_official_script() {
    // Normalised "" == "": exact match; F1 is 0 when no token is shared (v1.1).
    assert!(exact_match("", "the"));
    assert_eq!(f1("", "the"), 0.0);
    assert!(!exact_match("", "Denver Broncos"));
    assert_eq!(f1("", "Denver Broncos"), 0.0);
}

#[test]
fn f1_counts_shared_tokens_with_multiplicity() {
    // "a b b c" vs "b b b d": 2 shared; p = 2/4, r = 2/4, F1 = 0.5.
    assert!((f1("x y y z", "y y y w") - 0.5).abs() < 1e-12);
    // Articles and punctuation do not count: "the Denver Broncos!" vs "Broncos" -> p 1/2, r 1.
    assert!((f1("the Denver Broncos!", "Broncos") - 2.0 / 3.0).abs() < 1e-12);
    assert_eq!(f1("Carolina Panthers", "Denver Broncos"), 0.0);
}

#[test]
fn best_reference_wins_and_missing_predictions_count_zero() {
    let (em, f) = best_over("Santa Clara", &["Santa Clara, California", "Levi's Stadium", "Santa Clara"]);
    assert_eq!((em, f), (1.0, 1.0));
    let doc = json!({"data": [{"title": "t", "paragraphs": [{
    "context": "Super Bowl 50 was played at Levi's Stadium in Santa Clara, California.",
    "qas": [
        {"id": "q1", "question": "Where?", "answers": [
            {"text": "Levi's Stadium", "answer_start": 28},
            {"text": "Santa Clara, California", "answer_start": 46}]},
        {"id": "q2", "question": "Which game?", "answers": [{"text": "Super Bowl 50", "answer_start": 0}]},
        {"id": "q3", "question": "City?", "answers": [{"text": "Santa Clara", "answer_start": 46}]}
    ]}]}]});
    let set = SquadSet::from_json(&doc, Path::new("hand.json"), false).unwrap();
    let predictions: HashMap<String, String> =
        [("q1", "Santa Clara"), ("q2", "Super Bowl")].into_iter().map(|(a, b)| (a.into(), b.into())).collect();
    let score = evaluate(&set, &predictions);
    // q1: EM 0, F1 vs "Santa Clara, California" = 2·(1·2/3)/(1+2/3) = 0.8; q2: EM 0,
    // F1 = 2·(1·2/3)/(5/3) = 0.8; q3 missing: 0. Averages over 3 questions.
    assert_eq!((score.questions, score.missing), (3, 1));
    assert!((score.exact_match - 0.0).abs() < 1e-12);
    assert!((score.f1 - 100.0 * 1.6 / 3.0).abs() < 1e-9, "{}", score.f1);
}

fn one_question(context: &str, question: &str, answer: &str, start: usize) -> serde_json::Value {
    json!({"data": [{"title": "t", "paragraphs": [{"context": context, "qas": [
        {"id": "abc123", "question": question, "answers": [{"text": answer, "answer_start": start}]}]}]}]})
}

#[test]
fn answers_map_to_whole_tokens_and_back_including_non_ascii() {
    let context = "Die Brücke über die Limmat (1990er) führt nach Zürich — 42 km.";
    let start = context
        .chars()
        .take_while(|_| true)
        .collect::<String>()
        .find("1990")
        .map(|b| context[..b].chars().count())
        .unwrap();
    let doc = one_question(context, "Wann?", "1990", start);
    let set = SquadSet::from_json(&doc, Path::new("de.json"), true).unwrap();
    let paragraph = &set.paragraphs[0];
    let (a, b) = paragraph.questions[0].span.unwrap();
    assert_eq!(char_slice(context, paragraph.tokens[a].start, paragraph.tokens[b].end), "1990");
    for token in &paragraph.tokens {
        assert_eq!(char_slice(context, token.start, token.end), token.text);
    }
    let zurich = paragraph.tokens.iter().find(|t| t.text == "Zürich").unwrap();
    assert_eq!(char_slice(context, zurich.start, zurich.end), "Zürich");
}

#[test]
fn bad_records_are_typed_errors_naming_file_and_question() {
    let wrong = one_question("Paris is in France.", "Where is Paris?", "France", 3);
    let error = SquadSet::from_json(&wrong, Path::new("bad.json"), true).unwrap_err();
    assert!(matches!(error, QaError::Record { .. }));
    let text = error.to_string();
    assert!(text.starts_with("bad.json: question abc123: answer_start 3"), "{text}");
    assert!(text.contains("\"France\""), "{text}");

    let beyond = one_question("Paris.", "Where?", "France", 40);
    assert!(SquadSet::from_json(&beyond, Path::new("b.json"), false).unwrap_err().to_string().contains("abc123"));

    let empty_question = one_question("Paris is in France.", "  ", "France", 12);
    let text = SquadSet::from_json(&empty_question, Path::new("q.json"), false).unwrap_err().to_string();
    assert_eq!(text, "q.json: question abc123: the question is empty");

    let empty_context = one_question("", "Where?", "France", 0);
    let text = SquadSet::from_json(&empty_context, Path::new("c.json"), false).unwrap_err().to_string();
    assert_eq!(text, "c.json: article 0 paragraph 0: the context is empty");

    let not_squad = json!({"version": "1.1"});
    assert!(matches!(SquadSet::from_json(&not_squad, Path::new("x.json"), false), Err(QaError::Format { .. })));
}

#[test]
fn unreadable_files_are_typed_errors() {
    let dir = std::env::temp_dir().join(format!("qa-squad-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let broken = dir.join("broken.json");
    std::fs::write(&broken, "{\"data\": [").unwrap();
    let error = SquadSet::read(&broken, false).unwrap_err();
    assert!(error.to_string().starts_with(&format!("{}: invalid JSON", broken.display())), "{error}");
    let absent = dir.join("absent.json");
    let error = SquadSet::read(&absent, false).unwrap_err().to_string();
    assert!(error.starts_with(&format!("{}: ", absent.display())), "{error}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn official_files_read_whole_with_every_answer_on_token_boundaries() {
    let Some(dir) = test_support::shared_data("squad") else { return };
    let dev = SquadSet::read(&dir.join("dev-v1.1.json.gz"), false).unwrap();
    assert_eq!((dev.paragraphs.len(), dev.len()), (2067, 10570));
    let references: usize = dev.questions().map(|(_, q)| q.answers.len()).sum();
    assert_eq!(references, 34726);
    // Scoring the first reference as the prediction gives 100 / 100.
    let predictions = dev.questions().map(|(_, q)| (q.id.clone(), q.answers[0].text.clone())).collect();
    let score = evaluate(&dev, &predictions);
    assert_eq!((score.exact_match, score.f1), (100.0, 100.0));
    for paragraph in dev.paragraphs.iter().take(200) {
        let broken = SquadSet::from_json(
            &json!({"data": [{"paragraphs": [{"context": paragraph.context, "qas": paragraph.questions.iter().map(|q| json!({
                "id": q.id, "question": q.text,
                "answers": q.answers.iter().map(|a| json!({"text": a.text, "answer_start": a.start})).collect::<Vec<_>>()
            })).collect::<Vec<_>>()}]}]}),
            Path::new("dev"),
            true,
        )
        .unwrap();
        let p = &broken.paragraphs[0];
        for q in &p.questions {
            let (a, b) = q.span.unwrap();
            assert_eq!(char_slice(&p.context, p.tokens[a].start, p.tokens[b].end), q.answers[0].text);
        }
    }
}
