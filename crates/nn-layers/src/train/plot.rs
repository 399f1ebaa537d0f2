//! Loss curves as a self-contained SVG file.

use std::fmt::Write as _;
use std::path::Path;

use crate::Result;

/// Writes one or more named series (e.g. train and test loss per epoch) as a line chart.
/// The file is written atomically (temporary file, then rename).
pub fn write_loss_svg(path: &Path, title: &str, series: &[(&str, &[f64])]) -> Result<()> {
    let (width, height, margin) = (640.0, 400.0, 50.0);
    let values: Vec<f64> = series.iter().flat_map(|(_, v)| v.iter().copied()).filter(|v| v.is_finite()).collect();
    let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(a, b), &v| (a.min(v), b.max(v)));
    let (lo, hi) = if lo.is_finite() && hi > lo { (lo, hi) } else { (0.0, 1.0) };
    let longest = series.iter().map(|(_, v)| v.len()).max().unwrap_or(1).max(2);
    let x = |i: usize| margin + (width - 2.0 * margin) * i as f64 / (longest - 1) as f64;
    let y = |v: f64| height - margin - (height - 2.0 * margin) * (v - lo) / (hi - lo);
    let colours = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
    let mut svg = String::new();
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">"#
    );
    let _ = writeln!(
        svg,
        r#"<rect width="100%" height="100%" fill="white"/><text x="{}" y="20" text-anchor="middle">{title}</text>"#,
        width / 2.0
    );
    let _ = writeln!(
        svg,
        r#"<line x1="{margin}" y1="{0}" x2="{1}" y2="{0}" stroke="black"/><line x1="{margin}" y1="{margin}" x2="{margin}" y2="{0}" stroke="black"/>"#,
        height - margin,
        width - margin
    );
    let _ =
        writeln!(svg, r#"<text x="5" y="{}">{hi:.4}</text><text x="5" y="{}">{lo:.4}</text>"#, margin, height - margin);
    for (k, (name, points)) in series.iter().enumerate() {
        let colour = colours[k % colours.len()];
        let path: Vec<String> = points
            .iter()
            .enumerate()
            .filter(|(_, v)| v.is_finite())
            .map(|(i, &v)| format!("{:.1},{:.1}", x(i), y(v)))
            .collect();
        let _ =
            writeln!(svg, r#"<polyline fill="none" stroke="{colour}" stroke-width="2" points="{}"/>"#, path.join(" "));
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{}" fill="{colour}">{name}</text>"#,
            width - margin - 80.0,
            margin + 15.0 * k as f64
        );
    }
    svg.push_str("</svg>\n");
    crate::checkpoint::write_atomically(path, |out| out.write_all(svg.as_bytes()))
}
