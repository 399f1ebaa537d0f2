//! Subword heads on a BERT body: word windows and first-piece alignment, question/context
//! windows and the map back to the context's exact characters (non-ASCII and punctuation), a
//! tiny fine-tune that learns a toy tagging task and a toy span task, and bad input.

mod common;

use std::path::PathBuf;

use nlp::corpus::read_text;
use nlp::encoder::{Bert, BertConfig, BertVocab, Tokenization, save_bert};
use tensor_core::TensorRng;
use transfer::{
    BertSpanReader, BertTagger, Body, FitConfig, Lora, LoraConfig, SpanConfig, TransferError, best_span,
    default_lora_targets, fit, fit_with, span_windows, word_windows,
};

use common::{device, gpt_folder, temp};

fn fixture_vocab() -> BertVocab {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../nlp/tests/fixtures/wordpiece/vocab.txt");
    BertVocab::load(&path).unwrap().with_tokenization(Tokenization::WordPiece { lowercase: false })
}

/// Lines of the shipped Austen novels with at least `min_words` words.
fn austen_lines(n: usize, min_words: usize) -> Vec<String> {
    let text = read_text(&test_support::repo_data("austen/austen_novels.txt.gz")).unwrap();
    text.lines().filter(|l| l.split_whitespace().count() >= min_words).take(n).map(str::to_string).collect()
}

/// A cased WordPiece BERT folder trained on nothing (random weights), vocabulary from Austen.
fn tiny_bert(name: &str, positions: usize, width: usize) -> (PathBuf, BertVocab) {
    let lines = austen_lines(2000, 1);
    let vocab = BertVocab::train_wordpiece(lines.iter().map(String::as_str), 400, 1, false);
    let dir = temp(name);
    let bert =
        Bert::new(BertConfig::new(vocab.size(), positions, 1, 2, width), &mut TensorRng::new(3), &device()).unwrap();
    save_bert(&dir, &bert, &vocab).unwrap();
    (dir, vocab)
}

#[test]
fn labels_land_on_first_pieces_and_windows_cover_every_word_once() {
    let vocab = fixture_vocab();
    let words: Vec<String> =
        "Elizabeth Bennet walked to Meryton with Lydia , Kitty and supercalifragilisticexpialidocious Wickham ."
            .split(' ')
            .map(String::from)
            .collect();
    let windows = word_windows(&vocab, &words, 10).unwrap();
    assert!(windows.len() > 2, "a long sentence is cut");
    let covered: Vec<usize> = windows.iter().flat_map(|w| w.firsts.iter().map(|&(word, _)| word)).collect();
    assert_eq!(covered, (0..words.len()).collect::<Vec<_>>(), "every word once, in order");
    for window in &windows {
        assert!(window.input.len() <= 10);
        assert_eq!(window.input.ids[0], vocab.cls_id());
        assert_eq!(*window.input.ids.last().unwrap(), vocab.sep_id());
        for &(word, at) in &window.firsts {
            let first = vocab.word_ids(&words[word])[0];
            assert_eq!(window.input.ids[at], first, "word {word} ({}) starts at {at}", words[word]);
            assert!(!vocab.token(first).starts_with("##"));
        }
    }
    // A word's other pieces sit between its first piece and the next word's.
    assert!(vocab.word_ids("Elizabeth").len() > 1);
    for window in &windows {
        for pair in window.firsts.windows(2) {
            assert_eq!(pair[1].1, pair[0].1 + vocab.word_ids(&words[pair[0].0]).len().min(8));
        }
        let (last, at) = *window.firsts.last().unwrap();
        assert_eq!(window.input.len(), at + vocab.word_ids(&words[last]).len().min(8) + 1);
    }
}

#[test]
fn spans_map_back_to_the_exact_characters_of_the_answer() {
    let vocab = fixture_vocab();
    let context = "Café «Zürich» — on 3.14 acres, Mr. Darcy's £10,000 estate (Pemberley) stood; naïve façade!";
    let config = SpanConfig { max_question: 8, doc_stride: 4, max_answer: 30 };
    for answer in ["«Zürich»", "Darcy's", "£10,000", "(Pemberley)", "naïve façade!", "Café", "3.14"] {
        let byte = context.find(answer).unwrap();
        let start = context[..byte].chars().count();
        let end = start + answer.chars().count();
        let windows = span_windows(&vocab, "Where was it?", context, Some((start, end)), 20, &config, "q").unwrap();
        assert!(windows.len() > 2, "the context is cut into overlapping windows");
        let labelled: Vec<_> = windows.iter().filter(|w| w.label != (0, 0)).collect();
        assert!(!labelled.is_empty(), "{answer} lies whole inside some window");
        for window in labelled {
            let (a, b) = (window.label.0 - window.context_at, window.label.1 - window.context_at);
            // Scores that peak on the gold pieces give back exactly the answer's characters.
            let mut s = vec![0.0f32; window.input.len()];
            let mut e = vec![0.0f32; window.input.len()];
            s[window.label.0] = 5.0;
            e[window.label.1] = 5.0;
            let (x, y, _) = best_span(window, &s, &e, 30).unwrap();
            assert_eq!((x, y), (a, b));
            let text: String =
                context.chars().skip(window.spans[x].0).take(window.spans[y].1 - window.spans[x].0).collect();
            assert_eq!(text, answer);
        }
    }
    // Consecutive windows share `doc_stride` pieces.
    let windows = span_windows(&vocab, "Where?", context, None, 20, &config, "q").unwrap();
    let room = windows[0].spans.len();
    assert_eq!(windows[1].spans[..4], windows[0].spans[room - 4..]);
}

#[test]
fn a_tiny_bert_learns_to_tag_capitalised_words() {
    let (dir, _) = tiny_bert("tagger", 16, 32);
    let body = Body::load(&dir, None, &device()).unwrap();
    assert!(!body.word_level(), "word-level tagging heads refuse a WordPiece BERT; BertTagger takes it");
    let tagger = BertTagger::new(body, 2, 0.0, 1).unwrap();
    let lines = austen_lines(260, 4);
    let sentences: Vec<Vec<String>> =
        lines.iter().map(|l| l.split_whitespace().take(24).map(String::from).collect()).collect();
    let tags: Vec<Vec<i64>> = sentences
        .iter()
        .map(|s| s.iter().map(|w| i64::from(w.chars().next().is_some_and(char::is_uppercase))).collect())
        .collect();
    let (train, test) = (&sentences[..220], &sentences[220..]);
    let windows = tagger.windows(train).unwrap();
    let config = FitConfig { epochs: 3, batch: 16, lr: 3e-3, ..FitConfig::default() };
    let report =
        fit(&tagger, &windows, &config, |batch, seed| tagger.loss(batch, &tags, Some(seed)), |_, _| {}).unwrap();
    assert!(report.epoch_losses.last().unwrap() < &report.epoch_losses[0]);
    let predicted = tagger.predict(test, 32).unwrap();
    let (mut right, mut total, mut capitals) = (0, 0, 0);
    for (s, sentence) in test.iter().enumerate() {
        assert_eq!(predicted[s].len(), sentence.len(), "one prediction per word");
        for (w, &p) in predicted[s].iter().enumerate() {
            let gold = tags[220 + s][w] as usize;
            right += usize::from(p == gold);
            capitals += gold;
            total += 1;
        }
    }
    let accuracy = right as f64 / total as f64;
    let majority = 1.0 - capitals as f64 / total as f64;
    assert!(accuracy > 0.95 && accuracy > majority + 0.05, "accuracy {accuracy:.3}, majority {majority:.3}");
}

#[test]
fn a_tiny_bert_learns_to_point_at_the_name() {
    let (dir, vocab) = tiny_bert("span", 32, 32);
    let names: Vec<&str> =
        ["Emma", "Anne", "Elinor", "Fanny", "Jane", "Harriet", "Catherine", "Marianne", "Lady", "Mrs"]
            .into_iter()
            .filter(|n| vocab.word_ids(n).len() == 1)
            .collect();
    assert!(names.len() >= 3, "{names:?}");
    let fillers: Vec<String> = austen_lines(300, 1)
        .iter()
        .flat_map(|l| l.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase()) && vocab.word_ids(w).len() == 1)
        .take(400)
        .collect();
    let mut rng = TensorRng::new(5);
    let mut pick = |n: usize| (rng.next_u64() % n as u64) as usize;
    let examples: Vec<(String, (usize, usize), String)> = (0..300)
        .map(|_| {
            let mut words: Vec<&str> = (0..8).map(|_| fillers[pick(fillers.len())].as_str()).collect();
            let name = names[pick(names.len())];
            words.insert(pick(9), name);
            let context = words.join(" ");
            let start = context[..context.find(name).unwrap()].chars().count();
            (context, (start, start + name.chars().count()), name.to_string())
        })
        .collect();
    let body = Body::load(&dir, None, &device()).unwrap();
    let reader = BertSpanReader::new(body, SpanConfig { max_question: 8, doc_stride: 4, max_answer: 5 }, 2).unwrap();
    let windows: Vec<_> = examples[..260]
        .iter()
        .flat_map(|(c, span, _)| reader.windows("who is named ?", c, Some(*span), "toy").unwrap())
        .collect();
    let config = FitConfig { epochs: 4, batch: 16, lr: 3e-3, ..FitConfig::default() };
    fit(&reader, &windows, &config, |batch, seed| reader.loss(batch, Some(seed)), |_, _| {}).unwrap();
    let items: Vec<(&str, &str)> = examples[260..].iter().map(|(c, _, _)| ("who is named ?", c.as_str())).collect();
    let answers = reader.answer(&items, 16).unwrap();
    let exact = answers.iter().zip(&examples[260..]).filter(|(a, (_, _, name))| &a.text == name).count();
    assert!(exact >= 36, "{exact} of 40 exact; e.g. {:?}", &answers[..3]);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bad_input_is_a_typed_error() {
    let gpt = gpt_folder("bert-tasks-gpt");
    let body = Body::load(&gpt, None, &device()).unwrap();
    assert!(matches!(BertTagger::new(body, 9, 0.0, 0), Err(TransferError::WrongKind { .. })));
    let body = Body::load(&gpt, None, &device()).unwrap();
    assert!(matches!(BertSpanReader::new(body, SpanConfig::default(), 0), Err(TransferError::WrongKind { .. })));
    let vocab = fixture_vocab();
    let config = SpanConfig::default();
    let unknown = span_windows(&vocab, "Who?", "☃☃ ☂☂ ☄", None, 64, &config, "q7");
    match unknown {
        Err(e @ TransferError::AllUnknown { .. }) => assert!(e.to_string().contains("q7"), "{e}"),
        other => panic!("expected AllUnknown, got {other:?}"),
    }
    assert!(matches!(span_windows(&vocab, "Who?", "  ", None, 64, &config, "q"), Err(TransferError::Invalid(_))));
    assert!(matches!(span_windows(&vocab, "", "Emma", None, 64, &config, "q"), Err(TransferError::Invalid(_))));
    assert!(matches!(span_windows(&vocab, "Who?", "Emma", None, 8, &config, "q"), Err(TransferError::Invalid(_))));
}

#[test]
fn lora_on_the_tagger_trains_adapters_and_head_only_then_merges() {
    let (dir, _) = tiny_bert("tagger-lora", 16, 32);
    let body = Body::load(&dir, None, &device()).unwrap();
    let tagger = BertTagger::new(body, 2, 0.0, 1).unwrap();
    let lora = Lora::attach(
        tagger.body.module(),
        &LoraConfig { rank: 2, alpha: 4.0, targets: default_lora_targets(tagger.body.kind()), seed: 0 },
    )
    .unwrap();
    let query = |t: &BertTagger| {
        let mut value = None;
        t.body.module().visit_params("", &mut |n, p| {
            if n == "bert.encoder.layer.0.attention.self.query.weight" {
                value = Some(p.value().to_vec::<f32>().unwrap());
            }
        });
        value.unwrap()
    };
    let before = query(&tagger);
    let sentences: Vec<Vec<String>> =
        austen_lines(40, 4).iter().map(|l| l.split_whitespace().take(12).map(String::from).collect()).collect();
    let tags: Vec<Vec<i64>> = sentences
        .iter()
        .map(|s| s.iter().map(|w| i64::from(w.chars().next().is_some_and(char::is_uppercase))).collect())
        .collect();
    let windows = tagger.windows(&sentences).unwrap();
    let config = FitConfig { epochs: 1, batch: 8, lr: 3e-3, ..FitConfig::default() };
    let report =
        fit_with(&tagger, &lora.parameters(), &windows, &config, |b, s| tagger.loss(b, &tags, Some(s)), |_, _| {})
            .unwrap();
    assert_eq!(report.trained_weights, lora.num_weights() + 32 * 2 + 2, "adapters and head only");
    assert_eq!(query(&tagger), before, "the base weight is untouched");
    let unmerged = tagger.predict(&sentences, 16).unwrap();
    lora.merge().unwrap();
    assert_ne!(query(&tagger), before);
    assert_eq!(tagger.predict(&sentences, 16).unwrap(), unmerged, "merged predicts as unmerged");
    let _ = std::fs::remove_dir_all(&dir);
}
