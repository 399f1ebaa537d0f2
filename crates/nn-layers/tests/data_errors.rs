//! Malformed input files give typed errors that name the file and the problem.

use std::path::PathBuf;

use nn_layers::NnError;
use nn_layers::data::{read_digits_csv, read_idx_images, read_idx_labels};

fn write(name: &str, bytes: &[u8]) -> PathBuf {
    let path = std::env::temp_dir().join(format!("tessera-{}-{name}", std::process::id()));
    std::fs::write(&path, bytes).unwrap();
    path
}

#[test]
fn idx_problems_are_named() {
    let missing = PathBuf::from("/nonexistent/train-images-idx3-ubyte");
    assert!(matches!(read_idx_images(&missing), Err(NnError::Io { .. })));

    let short = write("short.idx", &[0, 0, 8]);
    let err = read_idx_labels(&short).unwrap_err();
    assert!(err.to_string().contains("short.idx") && err.to_string().contains("header"), "{err}");

    let mut labels_file = vec![0, 0, 8, 1, 0, 0, 0, 12];
    labels_file.extend([1u8; 12]);
    let labels_as_images = write("labels.idx", &labels_file);
    let err = read_idx_images(&labels_as_images).unwrap_err();
    assert!(err.to_string().contains("magic"), "{err}");

    let truncated = write("truncated.idx", &[0, 0, 8, 1, 0, 0, 0, 3, 5, 7]);
    let err = read_idx_labels(&truncated).unwrap_err();
    assert!(err.to_string().contains("promises 3 bytes"), "{err}");
    assert_eq!(read_idx_labels(&write("ok.idx", &[0, 0, 8, 1, 0, 0, 0, 2, 5, 7])).unwrap(), vec![5, 7]);

    let not_gzip = write("bad.idx.gz", b"plain bytes");
    assert!(read_idx_labels(&not_gzip).unwrap_err().to_string().contains("gzip"));
}

#[test]
fn csv_problems_name_the_line() {
    let mut row: Vec<String> = (0..64).map(|_| "1".to_string()).collect();
    row.push("3".into());
    let good = row.join(",");
    let bad_field = format!("{good}\n{}", good.replacen('1', "x", 1));
    let err = read_digits_csv(&write("digits.csv", bad_field.as_bytes())).unwrap_err();
    assert!(err.to_string().contains("line 2, column 1"), "{err}");
    let short = "1,2,3\n";
    assert!(read_digits_csv(&write("short.csv", short.as_bytes())).unwrap_err().to_string().contains("3 fields"));
    assert_eq!(read_digits_csv(&write("good.csv", good.as_bytes())).unwrap().len(), 1);
}

#[test]
fn a_gzip_bomb_is_refused_and_ordinary_gzip_reads_whole() {
    use nn_layers::data::{GZIP_FLOOR, read_maybe_gz};
    use std::io::Write;
    let gzip = |bytes: &[u8]| {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    };
    // 40 MiB of zeros compress to about 40 KiB: far past 100 times that, and past the floor.
    let zeros = vec![0u8; 40 << 20];
    let bomb = write("bomb.gz", &gzip(&zeros));
    let err = read_maybe_gz(&bomb).unwrap_err().to_string();
    assert!(err.contains("bomb.gz") && err.contains("decompression bomb"), "{err}");
    // Up to the floor, any expansion is read.
    let floor = write("floor.gz", &gzip(&zeros[..GZIP_FLOOR]));
    assert_eq!(read_maybe_gz(&floor).unwrap().len(), GZIP_FLOOR);
    let text = b"1,2,3\n".repeat(1000);
    assert_eq!(read_maybe_gz(&write("text.csv.gz", &gzip(&text))).unwrap(), text);
}
