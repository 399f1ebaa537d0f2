//! Training plots: SVG with axis labels, tick labels and a legend; PNG of the right size with the
//! lines and text drawn; bad points skipped; files chosen by extension and written atomically.

use std::path::{Path, PathBuf};

use nn_layers::NnError;
use nn_layers::train::{LossPlot, PlotFormat, write_loss_svg};

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-plot-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// A train curve every step and a validation point every 80 steps, perplexity-like.
fn ptb_like_plot() -> LossPlot {
    let curve = |step: f64| 600.0 * step.powf(-0.35) + 90.0;
    LossPlot::new("LSTM & friends on <PTB>")
        .x_label("step")
        .y_label("perplexity")
        .series("train", (1..=400).map(|s| (s as f64, curve(s as f64) + 8.0 * (s as f64 * 0.7).sin())))
        .series("validation", (1..=5).map(|e| ((e * 80) as f64, curve((e * 80) as f64) + 10.0)))
}

/// Every `<text>` element of an SVG document: (x, y, content), content unescaped.
fn svg_texts(svg: &str) -> Vec<(f64, f64, String)> {
    svg.split("<text")
        .skip(1)
        .map(|rest| {
            let (tag, after) = rest.split_once('>').unwrap();
            let content = after.split("</text>").next().unwrap().trim();
            let content = content.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&");
            (attribute(tag, "x").parse().unwrap(), attribute(tag, "y").parse().unwrap(), content)
        })
        .collect()
}

/// Checks that tags nest: every opened element is closed in order, attribute quotes balance.
fn assert_well_formed(svg: &str) {
    let mut open: Vec<String> = Vec::new();
    let mut rest = svg;
    while let Some(start) = rest.find('<') {
        let end = rest[start..].find('>').expect("an unterminated tag") + start;
        let tag = &rest[start + 1..end];
        assert_eq!(tag.matches('"').count() % 2, 0, "unbalanced quotes in <{tag}>");
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(open.pop().as_deref(), Some(name.trim()), "</{name}> closes the wrong element");
        } else if !tag.ends_with('/') && !tag.starts_with('?') && !tag.starts_with('!') {
            open.push(tag.split_whitespace().next().unwrap().to_string());
        }
        rest = &rest[end + 1..];
    }
    assert!(open.is_empty(), "unclosed elements: {open:?}");
}

/// Numbers among the text labels that share a coordinate (tick labels of one axis).
fn tick_values(texts: &[(f64, f64, String)], same: impl Fn(&(f64, f64, String)) -> f64) -> Vec<f64> {
    let numeric: Vec<_> = texts.iter().filter(|t| t.2.parse::<f64>().is_ok()).collect();
    let mut best: Vec<f64> = Vec::new();
    for anchor in &numeric {
        let row: Vec<f64> = numeric.iter().filter(|t| same(t) == same(anchor)).map(|t| t.2.parse().unwrap()).collect();
        if row.len() > best.len() {
            best = row;
        }
    }
    best
}

/// A `<polyline>` of an SVG document.
#[derive(Debug)]
struct Polyline {
    stroke: String,
    width: f64,
    points: Vec<(f64, f64)>,
}

/// Every `<polyline>` of an SVG document.
fn polylines(svg: &str) -> Vec<Polyline> {
    svg.split("<polyline")
        .skip(1)
        .map(|rest| {
            let tag = rest.split('>').next().unwrap();
            let points = attribute(tag, "points")
                .split_whitespace()
                .map(|p| {
                    let (x, y) = p.split_once(',').unwrap();
                    (x.parse().unwrap(), y.parse().unwrap())
                })
                .collect();
            Polyline {
                stroke: attribute(tag, "stroke").into(),
                width: attribute(tag, "stroke-width").parse().unwrap(),
                points,
            }
        })
        .collect()
}

/// The value of attribute `name` in the text of an SVG tag.
fn attribute<'a>(tag: &'a str, name: &str) -> &'a str {
    let start = tag.find(&format!(" {name}=\"")).unwrap_or_else(|| panic!("no {name} in {tag}")) + name.len() + 3;
    tag[start..].split('"').next().unwrap()
}

fn decode_png(bytes: &[u8]) -> (u32, u32, Vec<u8>) {
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    (info.width, info.height, pixels)
}

#[test]
fn svg_has_axis_labels_tick_labels_and_a_legend() {
    let svg = ptb_like_plot().to_svg().unwrap();
    assert!(svg.starts_with("<svg") && svg.trim_end().ends_with("</svg>"), "{}", &svg[..80]);
    assert_well_formed(&svg);
    let texts = svg_texts(&svg);
    let contents: Vec<&str> = texts.iter().map(|t| t.2.as_str()).collect();
    for label in ["LSTM & friends on <PTB>", "step", "perplexity", "train", "validation"] {
        assert!(contents.contains(&label), "`{label}` missing from the texts {contents:?}");
    }
    // x ticks share a y coordinate and increase; y ticks share an x coordinate and span the data.
    let x_ticks = tick_values(&texts, |t| t.1);
    let y_ticks = tick_values(&texts, |t| t.0);
    assert!(x_ticks.len() >= 4 && x_ticks.windows(2).all(|w| w[0] < w[1]), "x ticks {x_ticks:?}");
    assert!(x_ticks.contains(&100.0) && x_ticks.contains(&400.0), "round step ticks expected: {x_ticks:?}");
    assert!(y_ticks.len() >= 4, "y ticks {y_ticks:?}");
    assert!(y_ticks.iter().all(|&v| (100.0..=720.0).contains(&v)), "y ticks within the data: {y_ticks:?}");
    assert!(svg.contains("rotate(270"), "the y axis label is drawn vertically");
    // Each tick label has its tick mark: a short black stroke out of the axis.
    let tick_marks = polylines(&svg)
        .into_iter()
        .filter(|line| {
            let short = |a: f64, b: f64| (a - b).abs() > 0.0 && (a - b).abs() <= 10.0;
            let points = &line.points;
            line.stroke == "#000000"
                && points.len() == 2
                && (short(points[0].0, points[1].0) != short(points[0].1, points[1].1))
        })
        .count();
    assert!(tick_marks >= x_ticks.len() + y_ticks.len(), "{tick_marks} tick marks for {x_ticks:?} and {y_ticks:?}");
}

#[test]
fn log_scale_ticks_are_decade_marks_or_round_values() {
    let wide = LossPlot::new("wide").log_y(true).series("train", [(1.0, 2000.0), (2.0, 300.0), (3.0, 9.0)]);
    let ticks = tick_values(&svg_texts(&wide.to_svg().unwrap()), |t| t.0);
    assert_eq!(ticks.iter().filter(|v| [10.0, 100.0, 1000.0].contains(v)).count(), 3, "decades in {ticks:?}");
    for v in &ticks {
        let mantissa = v / 10f64.powf(v.log10().floor());
        assert!([1.0, 2.0, 5.0].iter().any(|m| (mantissa - m).abs() < 1e-9), "{v} is not a 1-2-5 mark: {ticks:?}");
    }

    // 110..150 holds no decade mark at all; the axis still gets round ticks.
    let narrow = LossPlot::new("narrow").log_y(true).series("valid", [(1.0, 150.0), (2.0, 120.0), (3.0, 110.0)]);
    let ticks = tick_values(&svg_texts(&narrow.to_svg().unwrap()), |t| t.0);
    assert!(ticks.len() >= 3, "{ticks:?}");
    assert!(ticks.iter().all(|&v| (105.0..=160.0).contains(&v) && v % 5.0 == 0.0), "{ticks:?}");
}

#[test]
fn png_has_the_signature_the_size_the_lines_and_the_text() {
    let bytes = ptb_like_plot().size(640, 400).to_png().unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    let (width, height, pixels) = decode_png(&bytes);
    assert_eq!((width, height), (640, 400));
    let rgb = |i: usize| (pixels[3 * i], pixels[3 * i + 1], pixels[3 * i + 2]);
    let count = |colour: (u8, u8, u8)| (0..(width * height) as usize).filter(|&i| rgb(i) == colour).count();
    assert!(count((31, 119, 180)) > 500, "the first series (blue) is drawn");
    assert!(count((214, 39, 40)) > 200, "the second series (red) is drawn");
    // Text is rasterised: dark pixels in the left margin (y tick labels and the axis label).
    let dark_in_margin = (0..height as usize)
        .flat_map(|y| (0..60).map(move |x| y * width as usize + x))
        .filter(|&i| {
            let (r, g, b) = rgb(i);
            u32::from(r) + u32::from(g) + u32::from(b) < 200
        })
        .count();
    assert!(dark_in_margin > 100, "only {dark_in_margin} dark pixels where the labels go");
}

#[test]
fn non_finite_and_empty_series_are_skipped_not_fatal() {
    let plot = LossPlot::new("diverged")
        .series("train", [(1.0, 2.0), (2.0, f64::NAN), (3.0, 1.5), (f64::INFINITY, 1.0), (4.0, 1.2)])
        .series("exploded", [(1.0, f64::NAN), (2.0, f64::INFINITY)])
        .series("empty", []);
    let svg = plot.to_svg().unwrap();
    assert_well_formed(&svg);
    assert!(!svg.contains("NaN") && !svg.contains("inf"), "non-finite values leaked into the SVG");
    let train_line = polylines(&svg).into_iter().find(|line| line.stroke == "#1F77B4" && line.width == 2.0);
    let points = train_line.expect("the train series is drawn").points;
    assert_eq!(points.len(), 3, "the three finite points of `train`: {points:?}");
    let texts: Vec<String> = svg_texts(&svg).into_iter().map(|t| t.2).collect();
    assert!(texts.contains(&"exploded (no finite values)".to_string()), "{texts:?}");
    assert!(texts.contains(&"empty".to_string()));
    assert_eq!(&plot.to_png().unwrap()[..4], b"\x89PNG");

    // On a log axis, y <= 0 cannot be drawn either; a plot with nothing drawable still renders.
    let log = LossPlot::new("log").log_y(true).series("zeros", [(1.0, 0.0), (2.0, -1.0)]);
    let texts: Vec<String> = svg_texts(&log.to_svg().unwrap()).into_iter().map(|t| t.2).collect();
    assert!(texts.contains(&"zeros (no finite positive values)".to_string()), "{texts:?}");
    assert!(LossPlot::new("nothing").to_png().is_ok());
}

#[test]
fn write_picks_the_format_from_the_extension_atomically() {
    let dir = temp_dir("write");
    let plot = ptb_like_plot();
    plot.write(&dir.join("curve.svg")).unwrap();
    plot.write(&dir.join("curve.PNG")).unwrap();
    assert!(std::fs::read_to_string(dir.join("curve.svg")).unwrap().starts_with("<svg"));
    assert_eq!(&std::fs::read(dir.join("curve.PNG")).unwrap()[..8], b"\x89PNG\r\n\x1a\n");

    let jpg = dir.join("curve.jpg");
    match plot.write(&jpg) {
        Err(NnError::Format { path, msg }) => {
            assert_eq!(path, jpg);
            assert!(msg.contains(".svg or .png") && msg.contains("`.jpg`"), "{msg}");
        }
        other => panic!("expected a format error, got {other:?}"),
    }
    assert!(PlotFormat::from_path(Path::new("curve")).unwrap_err().to_string().contains("no extension"));
    let mut names: Vec<String> =
        std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    assert_eq!(names, ["curve.PNG", "curve.svg"], "no temporary file or .jpg left behind");

    // A missing folder is an I/O error naming the temporary file's folder, not a panic.
    let missing = dir.join("no-such-dir").join("curve.svg");
    assert!(matches!(plot.write(&missing), Err(NnError::Io { .. })));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn write_loss_svg_keeps_its_signature_and_labels_epochs() {
    let dir = temp_dir("legacy");
    let path = dir.join("mlp.svg");
    write_loss_svg(&path, "MLP cross-entropy per epoch", &[("train", &[0.9, 0.5, 0.4]), ("test", &[0.8, 0.6, 0.5])])
        .unwrap();
    let svg = std::fs::read_to_string(&path).unwrap();
    assert_well_formed(&svg);
    let texts = svg_texts(&svg);
    let contents: Vec<&str> = texts.iter().map(|t| t.2.as_str()).collect();
    for label in ["MLP cross-entropy per epoch", "epoch", "loss", "train", "test"] {
        assert!(contents.contains(&label), "`{label}` missing from {contents:?}");
    }
    assert_eq!(tick_values(&texts, |t| t.1), [1.0, 2.0, 3.0], "one x tick per epoch");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn extreme_values_render_without_panicking() {
    let cases: [(&str, Vec<(f64, f64)>); 6] = [
        ("huge spread", vec![(1.0, f64::MAX), (2.0, f64::MIN), (3.0, 0.0)]),
        ("one ulp apart", vec![(1.0, 1.0), (1.0 + f64::EPSILON, 1.0 + f64::EPSILON)]),
        ("diverging", vec![(1.0, 2.0), (2.0, 1e30), (3.0, 1e300)]),
        ("tiny", vec![(1.0, 1e-300), (2.0, 2e-300), (3.0, f64::MIN_POSITIVE)]),
        ("one point", vec![(1e20, 5.0)]),
        ("flat", vec![(-1e300, 3.0), (1e300, 3.0)]),
    ];
    for (name, points) in cases {
        for log_y in [false, true] {
            let plot = LossPlot::new(name).log_y(log_y).series(name, points.clone()).size(300, 200);
            let svg = plot.to_svg().unwrap_or_else(|e| panic!("{name}, log {log_y}: {e}"));
            assert!(svg_texts(&svg).iter().any(|t| t.2 == name), "{name}: legend entry");
            assert_eq!(&plot.to_png().unwrap()[..4], b"\x89PNG");
        }
    }
}
