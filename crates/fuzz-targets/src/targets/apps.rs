//! The application model folders (NER tagger, QA reader, translation models), QA prediction
//! files and training checkpoints. Each folder seed is one Tessera saved with a tiny model; the
//! input holds its files (config first, then the vocabularies, then the weights).

use std::path::Path;
use std::sync::Arc;

use backend_cpu::CpuDevice;
use ner::conll::Sentence;
use ner::data::NerVocab;
use ner::model::{Head, NerConfig, NerTagger};
use nlp::vocab::{Vocab, VocabConfig};
use nn_layers::layers::{CellKind, Linear, Positions};
use nn_layers::optim::{Adam, AdamConfig};
use nn_layers::train::{TrainPosition, load_training, save_training};
use nn_layers::{Module, ModuleExt, checkpoint};
use serde_json::{Value, json};
use tensor_core::{Device, TensorRng};
use translate::data::Vocabulary;
use translate::rnn::{Attention, RnnConfig, RnnSeq2Seq};
use translate::transformer::{TransformerConfig, TransformerSeq2Seq};

use super::models::folder_seed;
use super::{Target, text};

const NER_FILES: &[&str] = &["config.json", "words.txt", "chars.txt", "weights.safetensors"];
const QA_FILES: &[&str] = &["config.json", "vocab.txt", "weights.safetensors"];
const MT_FILES: &[&str] = &["config.json", "tokenizer.json", "weights.safetensors"];
const TRAIN_FILES: &[&str] = &["train_state.txt", "weights.safetensors"];

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target { name: "ner-folder", files: NER_FILES, seeds: || vec![ner_seed()], read: read_ner },
        Target { name: "qa-folder", files: QA_FILES, seeds: || vec![qa_seed()], read: read_qa },
        Target { name: "mt-folder-rnn", files: MT_FILES, seeds: || vec![mt_seed(false)], read: read_mt },
        Target { name: "mt-folder-transformer", files: MT_FILES, seeds: || vec![mt_seed(true)], read: read_mt },
        Target {
            name: "qa-predictions",
            files: &["predictions.json"],
            seeds: || vec![br#"{"q1": "Paris", "q2": "Caf\u00e9s line", "q3": ""}"#.to_vec()],
            read: |path| text(qa::metric::read_predictions(path)),
        },
        Target { name: "train-checkpoint", files: TRAIN_FILES, seeds: || vec![train_seed()], read: read_train },
        Target {
            name: "conll-lines",
            files: &["train.conllu"],
            seeds: || vec![CONLLU.as_bytes().to_vec(), super::gzip(CONLLU.as_bytes())],
            read: |path| text(nlp::corpus::read_conll_lines(path, true)),
        },
    ]
}

fn device() -> Arc<dyn Device> {
    CpuDevice::shared()
}

fn ner_config(vocab: &NerVocab) -> NerConfig {
    NerConfig { word_dim: 4, char_dim: 3, char_filters: 2, hidden: 3, ..NerConfig::for_vocab(vocab, Head::Crf) }
}

fn ner_seed() -> Vec<u8> {
    folder_seed(NER_FILES, |dir| {
        let sentence = |words: &str, tags: &str| Sentence {
            words: words.split(' ').map(String::from).collect(),
            tags: tags.split(' ').map(String::from).collect(),
        };
        let train = [sentence("EU rejects German call", "B-ORG O B-MISC O"), sentence("Peter went", "B-PER O")];
        let vocab = NerVocab::build(&train, None, &[]);
        let tagger = NerTagger::new(&ner_config(&vocab), &mut TensorRng::new(0), &device()).expect("a tiny tagger");
        ner::folder::save(dir, &tagger, &vocab, json!({"epochs": 1})).expect("the seed folder is written");
    })
}

fn read_ner(folder: &Path) -> Result<(), String> {
    text(ner::folder::load(folder, &device()))
}

fn qa_seed() -> Vec<u8> {
    folder_seed(QA_FILES, |dir| {
        let config = VocabConfig { min_count: 0, ..VocabConfig::default() };
        let vocab = Vocab::build("paris is the capital of france".split(' '), &config);
        let sizes = qa::ReaderConfig { words: vocab.len(), embedding: 4, hidden: 3, layers: 1, dropout: 0.0 };
        let reader = qa::Reader::new(sizes, &mut TensorRng::new(0), &device()).expect("a tiny reader");
        qa::folder::save(dir, &reader, &vocab, json!({"epochs": 1})).expect("the seed folder is written");
    })
}

fn read_qa(folder: &Path) -> Result<(), String> {
    text(qa::folder::load(folder, &device()))
}

/// The model a translation folder's config describes, built as `tessera mt` builds it.
enum MtModel {
    Rnn(Box<RnnSeq2Seq>),
    Transformer(Box<TransformerSeq2Seq>),
}

impl MtModel {
    fn module(&self) -> &dyn Module {
        match self {
            MtModel::Rnn(m) => m.as_ref(),
            MtModel::Transformer(m) => m.as_ref(),
        }
    }
}

fn mt_seed(transformer: bool) -> Vec<u8> {
    folder_seed(MT_FILES, |dir| {
        let tokenizer = super::text::tokenizer_with(&["<pad>", "<s>", "</s>"]);
        let vocab = Vocabulary::from_tokenizer(tokenizer).expect("the specials come first");
        let v = vocab.size();
        let model = if transformer {
            let config = TransformerConfig {
                layers: 1,
                width: 4,
                heads: 2,
                ff: 8,
                max_positions: 16,
                positions: Positions::Learned,
                ..TransformerConfig::small(v)
            };
            json!({ "model": config.to_json(), "data": {"src": "de", "tgt": "en"} })
        } else {
            let config = RnnConfig {
                cell: CellKind::Lstm,
                embed: 4,
                hidden: 3,
                attention: Attention::Bahdanau,
                ..RnnConfig::small(v)
            };
            json!({ "model": config.to_json(), "data": {"src": "de", "tgt": "en"} })
        };
        let built = build_mt(&model["model"]).expect("a tiny translation model");
        vocab.save(&dir.join("tokenizer.json")).expect("the tokenizer is written");
        checkpoint::save(&dir.join("weights.safetensors"), built.module(), None).expect("the weights are written");
        std::fs::write(dir.join("config.json"), model.to_string()).expect("the config is written");
    })
}

fn build_mt(model: &Value) -> Result<MtModel, String> {
    let mut rng = TensorRng::new(0);
    match model["arch"].as_str() {
        Some("rnn") => RnnConfig::from_json(model)
            .and_then(|c| RnnSeq2Seq::new(c, &mut rng, &device()))
            .map(|m| MtModel::Rnn(Box::new(m)))
            .map_err(|e| e.to_string()),
        Some("transformer") => TransformerConfig::from_json(model)
            .and_then(|c| TransformerSeq2Seq::new(c, &mut rng, &device()))
            .map(|m| MtModel::Transformer(Box::new(m)))
            .map_err(|e| e.to_string()),
        other => Err(format!("unknown model.arch {other:?}")),
    }
}

/// Loads a translation folder in the order `tessera mt` does (cli's `mt_model::load`, which
/// this crate cannot depend on: the cli pulls in the GPU backend): config, the size check
/// against the weights, the model, its weights, the tokenizer.
fn read_mt(folder: &Path) -> Result<(), String> {
    let config_path = folder.join("config.json");
    let weights = folder.join("weights.safetensors");
    let name = |e: &dyn std::fmt::Display| format!("{}: {e}", config_path.display());
    let text = std::fs::read_to_string(&config_path).map_err(|e| name(&e))?;
    let config: Value = serde_json::from_str(&text).map_err(|e| name(&e))?;
    translate::bounds::check_fits(&config["model"], &config_path, &weights).map_err(|e| e.to_string())?;
    let model = build_mt(&config["model"]).map_err(|e| name(&e))?;
    checkpoint::load(&weights, model.module(), None).map_err(|e| e.to_string())?;
    let vocab = Vocabulary::load(&folder.join("tokenizer.json")).map_err(|e| e.to_string())?;
    let expected = config["model"]["vocab_size"].as_u64().unwrap_or(0) as usize;
    if vocab.size() != expected {
        return Err(name(&format!("the tokenizer holds {} tokens, the config says {expected}", vocab.size())));
    }
    Ok(())
}

fn train_model() -> (Linear, Adam) {
    let linear = Linear::new(3, 2, &mut TensorRng::new(0), &device()).expect("a tiny layer");
    let adam = Adam::new(linear.parameters(), AdamConfig::adam(0.01));
    (linear, adam)
}

fn train_seed() -> Vec<u8> {
    folder_seed(TRAIN_FILES, |dir| {
        let (model, adam) = train_model();
        let position = TrainPosition { epoch: 2, batches_done: 5, step: 17, ..TrainPosition::default() };
        save_training(dir, &model, &adam, &position).expect("the seed checkpoint is written");
    })
}

fn read_train(folder: &Path) -> Result<(), String> {
    let (model, mut adam) = train_model();
    text(load_training(folder, &model, &mut adam))
}

const CONLLU: &str = "# sent_id = 1\n# text = The cat sat.\n1\tThe\tthe\tDET\tDT\t_\t2\tdet\t_\t_\n\
                      2\tcat\tcat\tNOUN\tNN\t_\t3\tnsubj\t_\t_\n3\tsat\tsit\tVERB\tVBD\t_\t0\troot\t_\t_\n\
                      4\t.\t.\tPUNCT\t.\t_\t3\tpunct\t_\t_\n\n1-2\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n";
