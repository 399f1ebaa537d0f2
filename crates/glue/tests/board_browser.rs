//! The leaderboard page in a real browser: headless Chromium loads the HTML the board writes,
//! runs its sorting script (a click on the score column, injected after load), and the DOM it
//! dumps has the rows in the clicked order; its screenshot is a page with content, not a blank
//! one. Chromium is `$TESSERA_CHROMIUM` or the first of `chromium-headless-shell`, `chromium`,
//! `chromium-browser`, `google-chrome` on the `PATH` (`.ci/run` installs the first); without
//! one the test skips with the reason, and fails under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::Command;

use glue::board::Board;
use glue::record::{RunRecord, TaskResult};
use serde_json::Value;

/// A run of `model` scoring `accuracy` on two tasks.
fn record(model: &str, seed: u64, accuracy: [f64; 2]) -> RunRecord {
    let task = |name: &str, value: f64| TaskResult {
        task: name.into(),
        metrics: vec![("accuracy".into(), value)],
        dev_metrics: vec![("accuracy".into(), value)],
        score: value,
        seconds: 1.0,
        examples_per_second: 100.0,
        counts: [80, 10, 10],
        classes: vec!["neg".into(), "pos".into()],
        confusion: Some(vec![vec![4, 1], vec![1, 4]]),
        config: Value::Null,
    };
    RunRecord {
        model: model.into(),
        seed,
        device: "cpu".into(),
        quick: false,
        wall_seconds: 2.0,
        tasks: vec![task("task-a", accuracy[0]), task("task-b", accuracy[1])],
        extra: Value::Null,
    }
}

/// The browser to drive, if there is one.
fn chromium() -> Result<PathBuf, String> {
    if let Ok(path) = std::env::var("TESSERA_CHROMIUM") {
        return Ok(PathBuf::from(path));
    }
    let names = ["chromium-headless-shell", "chromium", "chromium-browser", "google-chrome"];
    let path = std::env::var_os("PATH").unwrap_or_default();
    for name in names {
        for dir in std::env::split_paths(&path) {
            if dir.join(name).is_file() {
                return Ok(dir.join(name));
            }
        }
    }
    Err(format!("none of {names:?} is on the PATH (`apt-get install chromium-headless-shell`)"))
}

/// Runs the browser headless on `page` with `args`; its standard output.
fn browse(browser: &Path, page: &Path, args: &[&str]) -> String {
    let output = Command::new(browser)
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars"])
        .args(args)
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// The model names of the board's rows, in the order of `dom`.
fn row_models(dom: &str) -> Vec<String> {
    let body = &dom[dom.find("<tbody>").unwrap()..dom.find("</tbody>").unwrap()];
    body.split("<tr>").skip(1).map(|row| row["<td>".len()..row.find("</td>").unwrap()].to_string()).collect()
}

#[test]
fn the_leaderboard_renders_and_sorts_in_chromium() {
    let Some(browser) = test_support::require("headless Chromium", chromium()) else { return };
    let dir = std::env::temp_dir().join(format!("glue-board-browser-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let board = Board::new(vec![
        record("middle", 0, [0.70, 0.60]),
        record("best", 0, [0.90, 0.80]),
        record("best", 1, [0.92, 0.82]),
        record("worst", 0, [0.50, 0.50]),
    ]);
    let html = board.html();
    assert_eq!(row_models(&html), ["best", "middle", "worst"], "the board ranks by score");

    // One click on "score" sorts descending; a second, ascending.
    let click = "<script>const th = document.querySelectorAll('#board th')[3]; th.click(); CLICKS</script></body>";
    let page = dir.join("board.html");
    std::fs::write(&page, html.replace("</body>", &click.replace("CLICKS", ""))).unwrap();
    assert_eq!(row_models(&browse(&browser, &page, &["--dump-dom"])), ["best", "middle", "worst"]);
    std::fs::write(&page, html.replace("</body>", &click.replace("CLICKS", "th.click();"))).unwrap();
    assert_eq!(row_models(&browse(&browser, &page, &["--dump-dom"])), ["worst", "middle", "best"]);

    // The screenshot has the window's size and shows the page (many colours, not a blank).
    let shot = dir.join("board.png");
    std::fs::write(&page, &html).unwrap();
    browse(&browser, &page, &["--window-size=1000,700", &format!("--screenshot={}", shot.display())]);
    let decoder = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&shot).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1000, 700));
    let channels = info.color_type.samples();
    let mut colours: Vec<&[u8]> = pixels[..info.buffer_size()].chunks(channels).collect();
    colours.sort();
    colours.dedup();
    assert!(colours.len() > 20, "only {} distinct colours: a blank page?", colours.len());
    let dark = pixels[..info.buffer_size()].chunks(channels).filter(|p| p[..3].iter().all(|&c| c < 100)).count();
    assert!(dark > 1000, "only {dark} dark pixels: no text rendered?");
    let _ = std::fs::remove_dir_all(&dir);
}
