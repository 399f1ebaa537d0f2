//! The pretraining corpus built from the shared data: every source contributes to both sides,
//! the Wikipedia text carries no markup, and no evaluation text (VitaminC's claims) leaks in.

use nlp::corpus::{PRETRAINING_SOURCES, build_pretraining_corpus, source_documents};

#[test]
fn the_shipped_corpus_builds_with_every_source_on_both_sides() {
    let Some(data) = test_support::shared_data("shakespeare") else { return };
    let data = data.parent().unwrap().to_path_buf();
    let corpus = build_pretraining_corpus(&data, 20).unwrap();
    assert_eq!(corpus.sources.len(), PRETRAINING_SOURCES.len());
    for s in &corpus.sources {
        assert!(s.documents[0] > 0 && s.documents[1] > 0, "{s:?}");
        assert!(s.chars[0] > 10 * s.chars[1] / 2, "about 1 in 20 documents is held out: {s:?}");
    }
    let total: usize = corpus.sources.iter().map(|s| s.chars[0] + s.chars[1]).sum();
    assert!(total > 20_000_000, "{total} characters");

    let wiki = PRETRAINING_SOURCES.iter().find(|s| s.name == "wikipedia").unwrap();
    let articles = source_documents(wiki, &data).unwrap();
    assert!(articles.len() > 90, "{} articles", articles.len());
    assert!(articles[0].starts_with("Anarchism\nAnarchism is a political philosophy"), "{}", &articles[0][..200]);
    for marker in ["{{", "}}", "[[", "]]", "<ref", "&lt;", "&quot;", "'''"] {
        let hits = articles.iter().filter(|a| a.contains(marker)).count();
        assert!(hits <= articles.len() / 20, "{marker} left in {hits} articles");
    }

    // No VitaminC claim appears in the pretraining text.
    let Some(vitaminc) = test_support::shared_data("vitaminc/vitaminc_bigbench.tsv.gz") else { return };
    let bytes = nlp::corpus::read_bytes(&vitaminc).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let claims: Vec<&str> =
        text.lines().skip(1).filter_map(|l| l.split('\t').nth(2)).filter(|c| c.len() > 40).collect();
    assert!(claims.len() > 100, "{} claims read", claims.len());
    for claim in claims.iter().take(500) {
        assert!(
            !corpus.train.contains(claim) && !corpus.valid.contains(claim),
            "a VitaminC claim in the corpus: {claim}"
        );
    }
}
