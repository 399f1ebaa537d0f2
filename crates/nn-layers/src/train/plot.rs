//! Training curves a reader can read: axes with ticks and labels, a legend, several series (train
//! every step, validation every epoch), a linear or logarithmic y axis, as SVG or PNG.
//!
//! Drawn with `plotters`. Text is measured and, in PNG files, rasterised with a DejaVu Sans subset
//! compiled into the crate (`assets/DejaVuSans-subset.ttf`, see `assets/SOURCE.md`), so plots look
//! the same on a headless machine with no system fonts. SVG files keep their text as text.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged, ValueFormatter};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use crate::{NnError, Result};

/// The font every plot draws its text with.
static FONT_BYTES: &[u8] = include_bytes!("../../assets/DejaVuSans-subset.ttf");

/// Colours of successive series (Tableau 10: distinct, and readable on white).
const PALETTE: [RGBColor; 6] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
    RGBColor(255, 127, 14),
    RGBColor(140, 86, 75),
];

/// Series with at most this many points also get a dot per point (e.g. validation per epoch).
const MARKER_LIMIT: usize = 60;

/// Writes one or more named series (e.g. train and test loss per epoch) as an SVG line chart with
/// x axis "epoch" (the `i`-th value is epoch `i + 1`) and y axis "loss". The file is written as
/// SVG whatever its extension, atomically (temporary file, then rename). Non-finite values are
/// left out. For other labels, a log scale, PNG, or series sampled at different x values, use
/// [`LossPlot`].
pub fn write_loss_svg(path: &Path, title: &str, series: &[(&str, &[f64])]) -> Result<()> {
    let plot = series
        .iter()
        .fold(LossPlot::new(title).x_label("epoch"), |plot, (name, values)| plot.series_per_index(*name, values));
    plot.write_as(path, PlotFormat::Svg)
}

/// The file format of a plot.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PlotFormat {
    /// Scalable vector graphics, text kept as text.
    Svg,
    /// An RGB PNG image.
    Png,
}

impl PlotFormat {
    /// The format named by `path`'s extension (`.svg` or `.png`, any case).
    pub fn from_path(path: &Path) -> Result<Self> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("svg") => Ok(PlotFormat::Svg),
            Some("png") => Ok(PlotFormat::Png),
            other => Err(NnError::format(
                path,
                format!(
                    "a plot is written as .svg or .png, chosen by the file name; this one ends in {}",
                    other.map_or("no extension".to_string(), |e| format!("`.{e}`"))
                ),
            )),
        }
    }
}

/// One named line of a plot.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The legend entry.
    pub name: String,
    /// `(x, y)` points in drawing order; points with a non-finite coordinate are left out (and,
    /// on a log y axis, those with y <= 0).
    pub points: Vec<(f64, f64)>,
}

/// A line chart of training curves, built step by step and written as SVG or PNG.
///
/// ```no_run
/// # use nn_layers::train::LossPlot;
/// let train = [(1.0, 6.9), (2.0, 6.1), (3.0, 5.6), (4.0, 5.4)];
/// LossPlot::new("LSTM on PTB")
///     .x_label("step")
///     .y_label("perplexity")
///     .log_y(true)
///     .series("train", train)
///     .series("validation", [(2.0, 6.3), (4.0, 5.7)])
///     .write(std::path::Path::new("curve.png"))?;
/// # Ok::<(), nn_layers::NnError>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct LossPlot {
    title: String,
    x_label: String,
    y_label: String,
    log_y: bool,
    size: (u32, u32),
    series: Vec<Series>,
}

impl LossPlot {
    /// An empty plot titled `title`, 800 x 500 pixels, axes "step" and "loss", linear scales.
    pub fn new(title: impl Into<String>) -> Self {
        LossPlot {
            title: title.into(),
            x_label: "step".into(),
            y_label: "loss".into(),
            log_y: false,
            size: (800, 500),
            series: Vec::new(),
        }
    }

    /// Names the x axis (e.g. "step", "epoch").
    pub fn x_label(mut self, label: impl Into<String>) -> Self {
        self.x_label = label.into();
        self
    }

    /// Names the y axis (e.g. "loss", "perplexity").
    pub fn y_label(mut self, label: impl Into<String>) -> Self {
        self.y_label = label.into();
        self
    }

    /// A logarithmic y axis (for perplexities, or losses spanning decades) when `log` is true.
    pub fn log_y(mut self, log: bool) -> Self {
        self.log_y = log;
        self
    }

    /// The image size in pixels (PNG) or user units (SVG); each side is kept within 200..=8192.
    pub fn size(mut self, width: u32, height: u32) -> Self {
        self.size = (width.clamp(200, 8192), height.clamp(200, 8192));
        self
    }

    /// Adds a series of `(x, y)` points, e.g. validation loss at the step each epoch ended.
    pub fn series(mut self, name: impl Into<String>, points: impl IntoIterator<Item = (f64, f64)>) -> Self {
        self.series.push(Series { name: name.into(), points: points.into_iter().collect() });
        self
    }

    /// Adds a series sampled once per step or epoch: the `i`-th value is drawn at x = `i + 1`.
    pub fn series_per_index(self, name: impl Into<String>, values: &[f64]) -> Self {
        self.series(name, values.iter().enumerate().map(|(i, &v)| ((i + 1) as f64, v)))
    }

    /// The series added so far.
    pub fn series_list(&self) -> &[Series] {
        &self.series
    }

    /// Writes the plot to `path`, as SVG or PNG by its extension, atomically (temporary file,
    /// fsync, rename): an error leaves whatever was at `path` untouched.
    pub fn write(&self, path: &Path) -> Result<()> {
        self.write_as(path, PlotFormat::from_path(path)?)
    }

    /// Writes the plot to `path` in `format` whatever the extension, atomically.
    pub fn write_as(&self, path: &Path, format: PlotFormat) -> Result<()> {
        let bytes = match format {
            PlotFormat::Svg => self.to_svg()?.into_bytes(),
            PlotFormat::Png => self.to_png()?,
        };
        crate::checkpoint::write_atomically(path, |out| out.write_all(&bytes))
    }

    /// The plot as an SVG document.
    pub fn to_svg(&self) -> Result<String> {
        let mut svg = String::new();
        self.draw(SVGBackend::with_string(&mut svg, self.size))?;
        Ok(svg)
    }

    /// The plot as a PNG file's bytes (8-bit RGB).
    pub fn to_png(&self) -> Result<Vec<u8>> {
        let (width, height) = self.size;
        let mut pixels = vec![0u8; width as usize * height as usize * 3];
        self.draw(BitMapBackend::with_buffer(&mut pixels, self.size))?;
        let mut png = Vec::new();
        let mut encoder = png::Encoder::new(&mut png, width, height);
        encoder.set_color(png::ColorType::Rgb);
        encoder.set_depth(png::BitDepth::Eight);
        encoder
            .write_header()
            .and_then(|mut writer| writer.write_image_data(&pixels))
            .map_err(|e| NnError::Invalid(format!("plot `{}`: encoding the PNG failed: {e}", self.title)))?;
        Ok(png)
    }

    /// Draws axes, mesh, series and legend onto `backend`.
    fn draw<DB: DrawingBackend>(&self, backend: DB) -> Result<()> {
        register_font()?;
        let failed =
            |e: &dyn std::fmt::Display| NnError::Invalid(format!("plot `{}`: drawing failed: {e}", self.title));
        let lines = self.drawable_series();
        let (x_range, y_range) = bounds(&lines, self.log_y);
        let root = backend.into_drawing_area();
        root.fill(&WHITE).map_err(|e| failed(&e))?;
        let mut builder = ChartBuilder::on(&root);
        builder.caption(&self.title, ("sans-serif", 22)).margin(15).x_label_area_size(55).y_label_area_size(75);
        if self.log_y {
            let chart = builder.build_cartesian_2d(x_range, LogAxis::new(y_range)).map_err(|e| failed(&e))?;
            self.draw_chart(chart, &lines).map_err(|e| failed(&e))?;
        } else {
            let chart = builder.build_cartesian_2d(x_range, y_range).map_err(|e| failed(&e))?;
            self.draw_chart(chart, &lines).map_err(|e| failed(&e))?;
        }
        root.present().map_err(|e| failed(&e))
    }

    /// Draws the mesh with ticks and axis labels, each series, and the legend.
    fn draw_chart<'a, DB: DrawingBackend + 'a, Y: Ranged<ValueType = f64> + ValueFormatter<f64>>(
        &self,
        mut chart: ChartContext<'a, DB, Cartesian2d<RangedCoordf64, Y>>,
        lines: &[Series],
    ) -> std::result::Result<(), DrawingAreaErrorKind<DB::ErrorType>> {
        let x_span = chart.x_range();
        let integral_x = lines.iter().flat_map(|s| &s.points).all(|&(x, _)| x.fract() == 0.0);
        // Integer x (steps, epochs) on a short axis: one tick per integer, never at halves.
        let x_ticks = if integral_x { (x_span.end - x_span.start).round().clamp(1.0, 9.0) as usize + 1 } else { 10 };
        chart
            .configure_mesh()
            .x_desc(self.x_label.as_str())
            .y_desc(self.y_label.as_str())
            .x_labels(x_ticks)
            .y_labels(8)
            .x_label_formatter(&|x| tick_label(*x))
            .y_label_formatter(&|y| tick_label(*y))
            .label_style(("sans-serif", 14))
            .axis_desc_style(("sans-serif", 16))
            .max_light_lines(4)
            .bold_line_style(RGBColor(200, 200, 200))
            .light_line_style(RGBColor(238, 238, 238))
            .draw()?;
        for (k, line) in lines.iter().enumerate() {
            let colour = PALETTE[k % PALETTE.len()];
            chart
                .draw_series(LineSeries::new(line.points.iter().copied(), colour.stroke_width(2)))?
                .label(line.name.as_str())
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 22, y)], colour.stroke_width(3)));
            if line.points.len() <= MARKER_LIMIT {
                chart.draw_series(line.points.iter().map(|&point| Circle::new(point, 3, colour.filled())))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.85))
            .border_style(RGBColor(160, 160, 160))
            .label_font(("sans-serif", 15))
            .draw()
    }

    /// The series with only their drawable points; a series left with none says so in its name.
    fn drawable_series(&self) -> Vec<Series> {
        self.series
            .iter()
            .map(|series| {
                let points: Vec<(f64, f64)> = series
                    .points
                    .iter()
                    .copied()
                    .filter(|&(x, y)| x.is_finite() && y.is_finite() && (!self.log_y || y > 0.0))
                    .collect();
                let name = if points.is_empty() && !series.points.is_empty() {
                    format!("{} (no finite{} values)", series.name, if self.log_y { " positive" } else { "" })
                } else {
                    series.name.clone()
                };
                Series { name, points }
            })
            .collect()
    }
}

/// Registers the bundled font under the family name `sans-serif`, once per process.
fn register_font() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok =
        *REGISTERED.get_or_init(|| plotters::style::register_font("sans-serif", FontStyle::Normal, FONT_BYTES).is_ok());
    if ok {
        Ok(())
    } else {
        Err(NnError::Invalid("plot: the bundled font DejaVuSans-subset.ttf does not parse".into()))
    }
}

/// The x and y ranges that show every point with a small margin (unit ranges when there is none).
fn bounds(lines: &[Series], log_y: bool) -> (std::ops::Range<f64>, std::ops::Range<f64>) {
    let extent = |pick: fn(&(f64, f64)) -> f64| {
        let values = lines.iter().flat_map(|s| &s.points).map(pick);
        values.fold(None, |acc: Option<(f64, f64)>, v| Some(acc.map_or((v, v), |(lo, hi)| (lo.min(v), hi.max(v)))))
    };
    let x = extent(|p| p.0).map_or(0.0..1.0, |(lo, hi)| padded(lo, hi, 0.02));
    let y = match (extent(|p| p.1), log_y) {
        (Some((lo, hi)), false) => padded(lo, hi, 0.05),
        (Some((lo, hi)), true) => {
            let decades = padded(lo.log10(), hi.log10(), 0.05);
            10f64.powf(decades.start).max(f64::MIN_POSITIVE)..10f64.powf(decades.end).min(f64::MAX)
        }
        (None, false) => 0.0..1.0,
        (None, true) => 1.0..10.0,
    };
    (x, y)
}

/// `lo..hi` widened by `fraction` of its width on each side, or by a tenth of its magnitude (at
/// least 0.1) when it is a single value. The ends stay within ±f64::MAX / 4 so that the width is
/// finite (`plotters` never finishes placing ticks on an infinitely wide axis).
fn padded(lo: f64, hi: f64, fraction: f64) -> std::ops::Range<f64> {
    const LIMIT: f64 = f64::MAX / 4.0;
    let margin = if hi > lo { hi * fraction - lo * fraction } else { lo.abs().max(1.0) * 0.1 };
    (lo - margin).clamp(-LIMIT, LIMIT)..(hi + margin).clamp(-LIMIT, LIMIT)
}

/// A tick value with at most four significant digits and no trailing zeros (`0.25`, `1500`,
/// `1.2e-5`).
#[allow(clippy::expect_used, reason = "an invariant, not input: `{:e}` writes an exponent")]
fn tick_label(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{}", if value == 0.0 { 0.0 } else { value });
    }
    let magnitude = value.abs().log10().floor();
    if !(-3.0..6.0).contains(&magnitude) {
        let text = format!("{value:.3e}");
        let (mantissa, exponent) = text.split_once('e').expect("`{:e}` writes an exponent");
        return format!("{}e{exponent}", trim_zeros(mantissa));
    }
    let decimals = (3.0 - magnitude).max(0.0) as usize;
    trim_zeros(&format!("{value:.decimals$}")).to_string()
}

/// `1.500` -> `1.5`, `2.000` -> `2`; integers stay as they are.
fn trim_zeros(number: &str) -> &str {
    if number.contains('.') { number.trim_end_matches('0').trim_end_matches('.') } else { number }
}

/// A base-10 logarithmic axis over a positive range whose ticks are always readable: the 1-2-5
/// steps of each decade, every integer mantissa on a range under a decade or two, or evenly
/// spaced round values on a range too narrow to hold a decade mark (`plotters`' own log axis
/// gives no tick at all there).
#[derive(Clone, Debug)]
struct LogAxis {
    range: std::ops::Range<f64>,
}

impl LogAxis {
    fn new(range: std::ops::Range<f64>) -> Self {
        LogAxis { range }
    }

    /// Values `m * 10^d` inside the range for every decade `d` and each mantissa `m`.
    fn decade_marks(&self, mantissas: &[f64]) -> Vec<f64> {
        let (low, high) = (self.range.start, self.range.end);
        let first = low.log10().floor() as i32;
        let last = high.log10().ceil() as i32;
        (first..=last)
            .flat_map(|decade| mantissas.iter().map(move |m| m * 10f64.powi(decade)))
            .filter(|&v| v >= low * (1.0 - 1e-9) && v <= high * (1.0 + 1e-9))
            .collect()
    }
}

impl Ranged for LogAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let (low, high) = (self.range.start.ln(), self.range.end.ln());
        let fraction = (value.ln() - low) / (high - low);
        limit.0 + (fraction * f64::from(limit.1 - limit.0)).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        let most = hint.max_num_points().max(2);
        for mantissas in [&[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0][..], &[1.0, 2.0, 5.0], &[1.0]] {
            let marks = self.decade_marks(mantissas);
            if marks.len() <= most && marks.len() >= 3.min(most) {
                return marks;
            }
        }
        let powers = self.decade_marks(&[1.0]);
        if powers.len() > most {
            let stride = powers.len().div_ceil(most);
            return powers.into_iter().step_by(stride).collect();
        }
        linear_ticks(self.range.start, self.range.end, most)
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

/// At most `most` round values (multiples of 1, 2 or 5 times a power of ten) in `[low, high]`.
fn linear_ticks(low: f64, high: f64, most: usize) -> Vec<f64> {
    let span = high - low;
    let power = 10f64.powf((span / most.max(1) as f64).log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|&s| span / s <= most as f64);
    let Some(step) = step.filter(|s| s.is_normal()) else {
        return vec![low, high]; // A span too small or too large for round steps: mark its ends.
    };
    let (first, last) = ((low / step).ceil() as i64, (high / step).floor() as i64);
    (first..=last).map(|i| i as f64 * step).collect()
}
