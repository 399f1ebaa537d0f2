//! The BERT-style encoder: masked-LM pretraining on shipped text against the majority-token
//! baseline, padding invariance, sentence pairs and segment ids, masking statistics, the model
//! folder, and bad input.

use std::path::PathBuf;
use std::sync::Arc;

use autograd::no_grad;
use backend_cpu::CpuDevice;
use nlp::NlpError;
use nlp::corpus::{prose_sentences, read_text};
use nlp::encoder::{
    Bert, BertBatch, BertConfig, BertVocab, EncodedInput, MASK, Masking, Pooling, PretrainConfig, evaluate_masked,
    load_bert, majority_baseline, mask_inputs, pack_inputs, pretrain, save_bert,
};
use nlp::lm::{MODEL_CONFIG, MODEL_VOCAB};
use nlp::tokenize::WordTokenizer;
use nn_layers::NnError;
use tensor_core::{Device, Tensor, TensorRng};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-bert-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

const TEXT: &str = "the cat sat on the mat . the dog sat on the log . a cat saw the dog .";

fn tiny(vocab: &BertVocab) -> Bert {
    Bert::new(BertConfig::new(vocab.size(), 24, 2, 2, 16), &mut TensorRng::new(7), &device()).unwrap()
}

/// The sentences of the first `chars` characters of Austen's novels, as word tokens.
fn austen_sentences(chars: usize) -> Vec<Vec<String>> {
    let text = read_text(&test_support::repo_data("austen/austen_novels.txt.gz")).unwrap();
    let text: String = text.chars().take(chars).collect();
    let tokenizer = WordTokenizer::default();
    text.split("\n\n").flat_map(|paragraph| prose_sentences(paragraph, &tokenizer)).collect()
}

#[test]
fn a_tiny_bert_beats_the_majority_token_on_held_out_austen() {
    let sentences = austen_sentences(600_000);
    let cut = sentences.len() * 9 / 10;
    let vocab = BertVocab::from_words(sentences[..cut].iter().flatten().map(String::as_str), 3, Some(1000));
    let ids: Vec<Vec<u32>> = sentences.iter().map(|s| vocab.ids(s)).collect();
    let train = pack_inputs(&ids[..cut], &vocab, 32, 1).unwrap();
    let held_out = pack_inputs(&ids[cut..], &vocab, 32, 2).unwrap();
    let config = BertConfig::new(vocab.size(), 32, 1, 2, 64);
    let bert = Bert::new(config, &mut TensorRng::new(0), &device()).unwrap();
    let recipe = PretrainConfig {
        steps: 600,
        batch: 16,
        lr: 2e-3,
        warmup: 30,
        min_lr: 1e-4,
        eval_every: 300,
        eval_inputs: Some(200),
        ..PretrainConfig::default()
    };
    let out = scratch("austen");
    let started = std::time::Instant::now();
    let outcome = pretrain(&bert, &vocab, &train, &held_out, &recipe, Some(&out), &mut |_| {}).unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let last = outcome.history.last().unwrap();
    let batches = recipe.held_out_batches(&held_out, &vocab, &device()).unwrap();
    let baseline = majority_baseline(&train, &vocab, &batches);
    eprintln!(
        "BERT held-out masked-token accuracy {:.3} (loss {:.3}) vs majority {baseline:.3}; {} inputs, {} ids, {seconds:.1} s",
        last.held_out.accuracy,
        last.held_out.loss,
        train.len(),
        vocab.size()
    );
    assert_eq!(evaluate_masked(&bert, &batches).unwrap(), last.held_out, "the same positions are scored");
    assert!(last.held_out.accuracy > baseline + 0.04, "{} vs majority {baseline}", last.held_out.accuracy);
    assert!(out.join("best").join(MODEL_VOCAB).is_file() && out.join("accuracy.svg").is_file());
    let _ = std::fs::remove_dir_all(&out);
}

/// The largest absolute difference between two tensors of one shape.
fn gap(a: &Tensor, b: &Tensor) -> f32 {
    assert_eq!(a.dims(), b.dims());
    let (a, b) =
        (a.try_contiguous().unwrap().to_vec::<f32>().unwrap(), b.try_contiguous().unwrap().to_vec::<f32>().unwrap());
    a.iter().zip(&b).map(|(x, y)| (x - y).abs()).fold(0.0, f32::max)
}

#[test]
fn parameter_names_follow_hugging_face_bert() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let names: Vec<String> = nn_layers::ModuleExt::parameters(&tiny(&vocab)).into_iter().map(|(n, _)| n).collect();
    assert_eq!(names[0], "bert.embeddings.word_embeddings.weight");
    for name in [
        "bert.embeddings.token_type_embeddings.weight",
        "bert.embeddings.LayerNorm.bias",
        "bert.encoder.layer.1.attention.self.query.weight",
        "bert.encoder.layer.1.attention.output.LayerNorm.weight",
        "bert.encoder.layer.0.intermediate.dense.bias",
        "bert.encoder.layer.0.output.dense.weight",
        "bert.pooler.dense.weight",
        "cls.predictions.bias",
        "cls.predictions.transform.LayerNorm.bias",
    ] {
        assert!(names.iter().any(|n| n == name), "{name} missing from {names:?}");
    }
    assert!(!names.iter().any(|n| n.contains("decoder")), "the decoder is the word embedding: {names:?}");
}

#[test]
fn padding_does_not_change_what_real_tokens_give() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let bert = tiny(&vocab);
    let dev = device();
    let short = vocab.encode("the cat sat", 24).unwrap();
    let long = vocab.encode_pair("a dog saw the cat on the mat", "the dog sat", 24).unwrap();
    no_grad(|| {
        let alone = BertBatch::from_inputs(std::slice::from_ref(&short), vocab.pad_id(), &dev).unwrap();
        let padded = BertBatch::from_inputs(&[long.clone(), short.clone()], vocab.pad_id(), &dev).unwrap();
        assert_eq!(padded.lengths, [long.len(), short.len()]);
        let (h_alone, h_padded) = (bert.encode(&alone).unwrap(), bert.encode(&padded).unwrap());
        let row = h_padded.value().try_narrow(0, 1, 1).unwrap().try_narrow(1, 0, short.len()).unwrap();
        let worst = gap(&row, &h_alone.value());
        assert!(worst < 1e-5, "padding changed the short row's states by {worst}");
        for pooling in [Pooling::Cls, Pooling::Mean] {
            let one = bert.pooled(&alone, &h_alone, pooling).unwrap().value();
            let both = bert.pooled(&padded, &h_padded, pooling).unwrap().value().try_narrow(0, 1, 1).unwrap();
            assert!(gap(&one, &both) < 1e-5, "{pooling:?} pooling sees the padding");
        }
        // Without the key-padding mask, the padding would leak into the real tokens.
        let steps = padded.steps();
        let unmasked = BertBatch::new(padded.ids.clone(), padded.segments.clone(), vec![steps, steps]).unwrap();
        let leaked = bert.encode(&unmasked).unwrap().value().try_narrow(0, 1, 1).unwrap().try_narrow(1, 0, short.len());
        assert!(gap(&leaked.unwrap(), &h_alone.value()) > 1e-3, "the test would not see a missing mask");
        // Mean pooling over one unpadded row is the plain mean of its states.
        let mean = bert.pooled(&alone, &h_alone, Pooling::Mean).unwrap().value();
        assert!(gap(&mean, &h_alone.value().mean(&[1], false)) < 1e-6);
    });
}

#[test]
fn sentence_pairs_carry_segment_ids_and_segments_matter() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let pair = vocab.encode_pair("The cat sat", "on the mat", 16).unwrap();
    let words: Vec<&str> = pair.ids.iter().map(|&id| vocab.token(id)).collect();
    assert_eq!(words, ["[CLS]", "the", "cat", "sat", "[SEP]", "on", "the", "mat", "[SEP]"]);
    assert_eq!(pair.segments, [0, 0, 0, 0, 0, 1, 1, 1, 1]);
    assert_eq!(vocab.tokenize("the zebra"), [vocab.id("the").unwrap(), vocab.unk_id()]);
    // Too long: the longer sentence is cut first.
    let (a, b) = (vec![vocab.id("cat").unwrap(); 10], vec![vocab.id("dog").unwrap(); 3]);
    let cut = vocab.pair(&a, &b, 10).unwrap();
    assert_eq!((cut.len(), cut.segments.iter().filter(|&&s| s == 1).count()), (10, 4));
    let single = vocab.single(&a, 6).unwrap();
    assert_eq!((single.len(), single.ids[0], single.ids[5]), (6, vocab.cls_id(), vocab.sep_id()));
    // The same ids read as one segment give other states.
    let bert = tiny(&vocab);
    let dev = device();
    let as_one = EncodedInput { ids: pair.ids.clone(), segments: vec![0; pair.len()] };
    no_grad(|| {
        let two = bert.encode(&BertBatch::from_inputs(&[pair], vocab.pad_id(), &dev).unwrap()).unwrap();
        let one = bert.encode(&BertBatch::from_inputs(&[as_one], vocab.pad_id(), &dev).unwrap()).unwrap();
        assert!(gap(&two.value(), &one.value()) > 1e-3);
    });
}

#[test]
fn masking_hides_fifteen_percent_of_the_words_mostly_behind_mask() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let input = vocab.encode(TEXT, 64).unwrap();
    let inputs = vec![input.clone(); 400];
    let masked = mask_inputs(&inputs, &vocab, &Masking::default(), &mut TensorRng::new(1), &device()).unwrap();
    let words = (input.len() - 2) * inputs.len();
    let rows: Vec<i64> = masked.rows.to_vec().unwrap();
    let ids: Vec<i64> = masked.batch.ids.to_vec().unwrap();
    let chosen = rows.len() as f64 / words as f64;
    assert!((chosen - 0.15).abs() < 0.015, "chose {chosen} of the words");
    let mask = vocab.id(MASK).unwrap() as i64;
    let steps = input.len();
    let (mut hidden, mut kept) = (0, 0);
    for (&row, &target) in rows.iter().zip(&masked.targets) {
        let t = row as usize % steps;
        assert!(t > 0 && t < steps - 1, "a special was chosen at position {t}");
        assert_eq!(input.ids[t], target, "the label is the original id");
        hidden += usize::from(ids[row as usize] == mask);
        kept += usize::from(ids[row as usize] == target as i64);
    }
    let (hidden, kept) = (hidden as f64 / rows.len() as f64, kept as f64 / rows.len() as f64);
    assert!((hidden - 0.8).abs() < 0.04 && (0.08..0.16).contains(&kept), "masked {hidden}, kept {kept}");
    assert_eq!(masked.labels.to_vec::<i64>().unwrap(), masked.targets.iter().map(|&t| t as i64).collect::<Vec<_>>());
}

#[test]
fn packed_inputs_keep_every_word_in_order_in_ragged_pairs() {
    let sentences = austen_sentences(40_000);
    let vocab = BertVocab::from_words(sentences.iter().flatten().map(String::as_str), 1, None);
    let ids: Vec<Vec<u32>> = sentences.iter().map(|s| vocab.ids(s)).collect();
    let inputs = pack_inputs(&ids, &vocab, 24, 3).unwrap();
    assert!(
        inputs.iter().all(|i| i.len() <= 24 && i.ids[0] == vocab.cls_id() && *i.ids.last().unwrap() == vocab.sep_id())
    );
    let words: Vec<u32> =
        inputs.iter().flat_map(|i| i.ids.iter().copied().filter(|&id| !vocab.is_special(id))).collect();
    assert_eq!(words, ids.concat(), "packing drops or reorders no word");
    let pairs = inputs.iter().filter(|i| i.segments.contains(&1)).count();
    assert!(pairs > inputs.len() / 3 && pairs < inputs.len(), "{pairs} of {} inputs are pairs", inputs.len());
    let lengths: std::collections::BTreeSet<usize> = inputs.iter().map(EncodedInput::len).collect();
    assert!(lengths.len() > 5, "inputs are ragged: {lengths:?}");
}

#[test]
fn a_model_folder_round_trips() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let bert = tiny(&vocab);
    let dev = device();
    let folder = scratch("folder");
    save_bert(&folder, &bert, &vocab).unwrap();
    let (loaded, loaded_vocab) = load_bert(&folder, &dev).unwrap();
    assert_eq!(loaded_vocab, vocab);
    assert_eq!(loaded.config(), bert.config());
    let batch =
        BertBatch::from_inputs(&[vocab.encode_pair("the cat", "sat", 24).unwrap()], vocab.pad_id(), &dev).unwrap();
    no_grad(|| {
        let (a, b) = (bert.pool(&batch, Pooling::Cls).unwrap(), loaded.pool(&batch, Pooling::Cls).unwrap());
        assert_eq!(a.value().to_vec::<f32>().unwrap(), b.value().to_vec::<f32>().unwrap());
    });
    let _ = std::fs::remove_dir_all(&folder);
}

#[test]
fn bad_input_is_a_typed_error() {
    let vocab = BertVocab::build([TEXT], 1, None);
    let bert = tiny(&vocab);
    let dev = device();
    // Longer than the positions.
    let long = vocab.single(&[vocab.id("cat").unwrap(); 40], 64).unwrap();
    let batch = BertBatch::from_inputs(&[long], vocab.pad_id(), &dev).unwrap();
    assert!(matches!(bert.encode(&batch), Err(NlpError::ContextTooLong { tokens: 42, context: 24 })));
    // Segment ids of another width than the ids, lengths that do not fit.
    let ids = Tensor::from_vec(vec![2i64; 10], [2, 5], &dev).unwrap();
    let wide = Tensor::from_vec(vec![0i64; 12], [2, 6], &dev).unwrap();
    let error = BertBatch::new(ids.clone(), wide, vec![5, 5]).unwrap_err();
    assert!(matches!(&error, NlpError::Invalid(m) if m.contains("segment ids must match")), "{error}");
    assert!(BertBatch::new(ids.clone(), ids.try_zeros_like().unwrap(), vec![5, 6]).is_err());
    let ragged = EncodedInput { ids: vec![2, 3], segments: vec![0] };
    assert!(matches!(BertBatch::from_inputs(&[ragged], 0, &dev), Err(NlpError::Invalid(_))));
    assert!(Bert::new(BertConfig::new(vocab.size(), 24, 2, 3, 16), &mut TensorRng::new(0), &dev).is_err());
    // A folder whose config says another width than its weights.
    let folder = scratch("bad");
    save_bert(&folder, &bert, &vocab).unwrap();
    let config = std::fs::read_to_string(folder.join(MODEL_CONFIG)).unwrap();
    std::fs::write(folder.join(MODEL_CONFIG), config.replace("\"width\": 16", "\"width\": 32")).unwrap();
    let error = load_bert(&folder, &dev).unwrap_err();
    assert!(matches!(error, NlpError::Nn(NnError::ShapeMismatch { .. })), "{error}");
    // A vocabulary without [MASK].
    std::fs::write(folder.join(MODEL_CONFIG), config).unwrap();
    let tokens = std::fs::read_to_string(folder.join(MODEL_VOCAB)).unwrap();
    std::fs::write(folder.join(MODEL_VOCAB), tokens.replace("[MASK]\n", "")).unwrap();
    let error = load_bert(&folder, &dev).unwrap_err();
    assert!(error.to_string().contains("[MASK]"), "{error}");
    std::fs::remove_file(folder.join(MODEL_VOCAB)).unwrap();
    assert!(matches!(load_bert(&folder, &dev), Err(NlpError::Io { .. })));
    let _ = std::fs::remove_dir_all(&folder);
}
