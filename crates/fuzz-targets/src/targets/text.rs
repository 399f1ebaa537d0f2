//! Text formats: ARPA, word2vec vectors, vocabularies, `tokenizer.json`, the Brown JSONL, the
//! VADER rated sentences and plain text corpora.

use nlp::encoder::BertVocab;
use nlp::lm::{CharVocab, WordVocab};
use nlp::tokenize::{BpeTokenizer, BpeTrainer};
use nlp::vocab::{Vocab, VocabConfig};
use nlp::word2vec::{Embeddings, VectorFormat};

use super::{Target, gzip, seed_scratch, text};

const SENTENCES: &str = "the cat sat on the mat .\nthe dog saw the cat .\na bird sang on the mat .\n";

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "arpa",
            files: &["model.arpa"],
            seeds: || vec![ARPA.as_bytes().to_vec(), ARPA.replace("\\3-grams:", "\\3-grams:\n").into_bytes()],
            read: |path| text(nlp::ngram::read_arpa(path)),
        },
        Target {
            name: "word2vec-text",
            files: &["vectors.txt"],
            seeds: || vec![vectors(VectorFormat::Text)],
            read: |path| text(Embeddings::load(path, false)),
        },
        Target {
            name: "word2vec-binary",
            files: &["vectors.bin"],
            seeds: || vec![vectors(VectorFormat::BinaryC), vectors(VectorFormat::BinaryGensim)],
            read: |path| text(Embeddings::load(path, true)),
        },
        Target {
            name: "vocab-counts",
            files: &["counts.tsv"],
            seeds: || {
                let counted = [("the", 5u64), ("cat", 2), ("mat", 1)];
                vec![saved("counts", |p| Vocab::from_counts(counted, &VocabConfig::default()).save_counts(p))]
            },
            read: |path| text(Vocab::load_counts(path)),
        },
        Target {
            name: "word-vocab",
            files: &["vocab.txt"],
            seeds: || vec![saved("words", |p| WordVocab::build(SENTENCES.split_whitespace(), 1, None).save(p))],
            read: |path| text(WordVocab::load(path)),
        },
        Target {
            name: "char-vocab",
            files: &["chars.json"],
            seeds: || vec![saved("chars", |p| CharVocab::build("héllo wörld\n").save(p))],
            read: |path| text(CharVocab::load(path)),
        },
        Target {
            name: "bert-vocab",
            files: &["vocab.txt"],
            seeds: || vec![saved("bert", |p| BertVocab::from_words(SENTENCES.split_whitespace(), 1, None).save(p))],
            read: |path| text(BertVocab::load(path)),
        },
        Target {
            name: "tokenizer-json",
            files: &["tokenizer.json"],
            seeds: || vec![saved("bpe", |p| tokenizer().save(p))],
            read: |path| text(BpeTokenizer::load(path)),
        },
        Target {
            name: "brown-jsonl",
            files: &["brown.jsonl"],
            seeds: || vec![BROWN.as_bytes().to_vec(), gzip(BROWN.as_bytes())],
            read: |path| text(nlp::corpus::read_brown(path)),
        },
        Target {
            name: "vader",
            files: &["ratings.txt"],
            seeds: || vec![VADER.as_bytes().to_vec(), VADER.replace('\n', "\r\n").into_bytes()],
            read: |path| text(nlp::corpus::read_rated_text(path)),
        },
        Target {
            name: "sentences",
            files: &["corpus.txt"],
            seeds: || vec![SENTENCES.as_bytes().to_vec()],
            read: |path| {
                let vocab = WordVocab::build(SENTENCES.split_whitespace(), 1, None);
                text(nlp::lm::TokenStream::read(path, &vocab))
            },
        },
        Target {
            name: "mediawiki",
            files: &["pages.xml"],
            seeds: || vec![MEDIAWIKI.as_bytes().to_vec()],
            read: |path| text(nlp::corpus::read_text(path).map(|xml| nlp::corpus::wiki_articles(&xml))),
        },
    ]
}

const ARPA: &str = "\\data\\\nngram 1=4\nngram 2=3\nngram 3=1\n\n\\1-grams:\n-1.0\t<s>\t-0.5\n-0.6\t</s>\n-0.5\tthe\t-0.3\n\
-0.7\tcat\t-0.2\n\n\\2-grams:\n-0.2\t<s> the\t-0.1\n-0.3\tthe cat\n-0.4\tcat </s>\n\n\\3-grams:\n-0.1\t<s> the cat\n\n\\end\\\n";

const BROWN: &str = "{\"id\": \"ca01\", \"genre\": \"news\", \"tagged_text\": \"The/at Fulton/np-tl County/nn-tl \
said/vbd ./.\\n\\nIt/pps was/bedz fine/jj ./.\"}\n{\"id\": \"cb02\", \"genre\": \"editorial\", \"tagged_text\": \
\"Yes/rb ./.\"}\n";

const VADER: &str = "1_1\t2.5\tThe movie was great fun.\n1_2\t-1.75\tA dull, tired film.\n\n1_3\t0\tIt exists.\n";

/// The bytes a writer leaves in a file.
fn saved<E: std::fmt::Debug>(name: &str, write: impl FnOnce(&std::path::Path) -> Result<(), E>) -> Vec<u8> {
    let dir = seed_scratch(name);
    let path = dir.join("seed");
    write(&path).expect("the seed is written");
    let bytes = std::fs::read(&path).expect("the seed is read back");
    let _ = std::fs::remove_dir_all(&dir);
    bytes
}

/// Three 4-dimensional vectors in `format`.
pub(super) fn vectors(format: VectorFormat) -> Vec<u8> {
    let words = ["the", "cat", "mat"].map(String::from).to_vec();
    let values = (0..12).map(|i| i as f32 * 0.25 - 1.0).collect();
    let embeddings = Embeddings::new(words, 4, values).expect("valid seed vectors");
    saved("vectors", |p| embeddings.save(p, format))
}

/// A small byte-level BPE tokenizer.
pub(crate) fn tokenizer() -> BpeTokenizer {
    tokenizer_with(&["<|endoftext|>"])
}

/// A small byte-level BPE tokenizer whose first tokens are `specials`.
pub(crate) fn tokenizer_with(specials: &[&str]) -> BpeTokenizer {
    let special_tokens = specials.iter().map(|s| s.to_string()).collect();
    let trainer = BpeTrainer { vocab_size: 280, min_frequency: 1, special_tokens };
    trainer.train(SENTENCES.lines()).expect("a tokenizer trains on the seed text")
}

/// Two pages of a MediaWiki export: a redirect and an article with every kind of markup.
const MEDIAWIKI: &str = "<mediawiki><page><title>AccessibleComputing</title><text xml:space=\"preserve\">#REDIRECT \
    [[Computer accessibility]]</text></page><page><title>Albedo</title><text xml:space=\"preserve\">{{Infobox|a={{b}}}}\n\
    &apos;&apos;&apos;Albedo&apos;&apos;&apos; is the [[reflection (physics)|reflectivity]] of a [[surface]].\
    &lt;ref name=&quot;a&quot;&gt;{{cite web|url=x}}&lt;/ref&gt; See [http://example.org the site].\n\
    == History ==\n* [[File:A.png|thumb|a [[caption]]]] caf&#233;\n{| class=x\n| cell\n|}\n&lt;!-- c --&gt;\
    [[Category:Optics]] [[de:Albedo]]</text></page></mediawiki>";
