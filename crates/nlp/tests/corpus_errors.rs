//! Malformed rated-text files get typed errors naming the file and line; nothing panics.

use std::path::PathBuf;

use nlp::NlpError;
use nlp::corpus::{read_brown, read_rated_text};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tessera-nlp-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

fn line_of(result: nlp::Result<Vec<nlp::corpus::RatedText>>) -> (usize, String) {
    match result {
        Err(e @ NlpError::Parse { line, .. }) => (line, e.to_string()),
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn reads_crlf_and_reports_bad_lines() {
    let good = write("good.txt", b"1\t2.5\tA fine film.\r\n2\t-1\tDull, and long.\r\n\r\n");
    let rows = read_rated_text(&good).unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!((rows[0].text.as_str(), rows[1].score), ("A fine film.", -1.0));

    let (line, msg) = line_of(read_rated_text(&write("cols.txt", b"1\t2.5\tok\n2\tno text here\n")));
    assert!(line == 2 && msg.contains("3 tab-separated fields") && msg.contains("cols.txt:2"), "{msg}");
    let (line, msg) = line_of(read_rated_text(&write("score.txt", b"1\tgreat\tok\n")));
    assert!(line == 1 && msg.contains("`great` is not a number"), "{msg}");
    let (line, msg) = line_of(read_rated_text(&write("utf8.txt", b"1\t1\tok\n2\t1\tbad \xff byte\n")));
    assert!(line == 2 && msg.contains("invalid UTF-8"), "{msg}");
    let (_, msg) = line_of(read_rated_text(&write("empty.txt", b"\n\n")));
    assert!(msg.contains("no rated sentences"), "{msg}");
    let missing = read_rated_text(std::path::Path::new("/nonexistent/ratings.txt")).unwrap_err().to_string();
    assert!(missing.contains("/nonexistent/ratings.txt"), "{missing}");
}

#[test]
fn malformed_tagged_documents_name_the_line() {
    let good = write(
        "brown.jsonl",
        b"{\"id\": \"ca01\", \"genre\": \"news\", \"tagged_text\": \"\\n\\tThe/at jury/nn ./.\\n\"}\n",
    );
    let docs = read_brown(&good).unwrap();
    assert_eq!(
        docs[0].sentences,
        vec![vec![("The".into(), "at".into()), ("jury".into(), "nn".into()), (".".into(), ".".into())]]
    );
    let (line, msg) = match read_brown(&write(
        "bad.jsonl",
        b"{\"id\": \"a\", \"genre\": \"g\", \"tagged_text\": \"x/y\"}\n{oops\n",
    )) {
        Err(e @ NlpError::Parse { line, .. }) => (line, e.to_string()),
        other => panic!("{other:?}"),
    };
    assert!(line == 2 && msg.contains("not JSON"), "{msg}");
    let untagged =
        read_brown(&write("untagged.jsonl", b"{\"id\": \"a\", \"genre\": \"g\", \"tagged_text\": \"word\"}\n"));
    assert!(untagged.unwrap_err().to_string().contains("`word` is not word/tag"));
}

#[test]
fn a_gzip_bomb_read_whole_is_a_typed_error_naming_the_file() {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(&vec![b'a'; 40 << 20]).unwrap();
    let bomb = write("bomb.arpa.gz", &encoder.finish().unwrap());
    let err = nlp::corpus::read_bytes(&bomb).unwrap_err().to_string();
    assert!(err.contains("bomb.arpa.gz") && err.contains("decompression bomb"), "{err}");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    encoder.write_all(b"the cat sat\n").unwrap();
    assert_eq!(nlp::corpus::read_bytes(&write("ok.txt.gz", &encoder.finish().unwrap())).unwrap(), b"the cat sat\n");
}
