//! The application data sets' readers: CoNLL-2003 (named entities), SQuAD v1.1 JSON (question
//! answering) and parallel TSV (translation).

use super::{Target, text};

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "conll-2003",
            files: &["train.txt"],
            seeds: || vec![CONLL.as_bytes().to_vec(), super::gzip(CONLL.as_bytes())],
            read: |path| text(ner::conll::read_conll(path)),
        },
        Target {
            name: "squad",
            files: &["train-v1.1.json"],
            seeds: || vec![SQUAD.as_bytes().to_vec()],
            read: |path| text(qa::squad::SquadSet::read(path, true)),
        },
        Target {
            name: "parallel-tsv",
            files: &["train.tsv"],
            seeds: || vec![PARALLEL.as_bytes().to_vec()],
            read: |path| text(translate::data::read_tsv(path, "de", "en")),
        },
    ]
}

const CONLL: &str = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\
                     call NN I-NP O\n. . O O\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n";

const SQUAD: &str = r#"{"version": "1.1", "data": [{"title": "Paris", "paragraphs": [{"context": "Paris is the capital of France. Caf\u00e9s line the Seine.", "qas": [{"id": "q1", "question": "What is the capital of France?", "answers": [{"text": "Paris", "answer_start": 0}]}, {"id": "q2", "question": "What lines the Seine?", "answers": [{"text": "Caf\u00e9s", "answer_start": 32}, {"text": "Caf\u00e9s line", "answer_start": 32}]}]}]}]}"#;

const PARALLEL: &str = "de\ten\tref\nHallo.\tHello.\t1\nWie geht's?\tHow are you?\t2\n\nJa\tYes\t3\n";
