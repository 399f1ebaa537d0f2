//! A grid of grayscale tiles written as a PNG: kernels, feature maps and inputs side by side.

use std::path::Path;

use nn_layers::NnError;
use nn_layers::checkpoint::write_atomically;

use crate::error::CliError;

/// How a tile's values map to gray levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scale {
    /// Min to black, max to white.
    MinMax,
    /// Zero to mid-gray, ±max|v| to white/black (signed weights).
    Signed,
}

/// An 8-bit grayscale canvas of `rows x cols` square tiles of `tile` pixels with a `gap`.
pub struct TileGrid {
    tile: usize,
    gap: usize,
    width: usize,
    height: usize,
    pixels: Vec<u8>,
}

impl TileGrid {
    /// A canvas (background a light gray) for `rows x cols` tiles.
    pub fn new(rows: usize, cols: usize, tile: usize, gap: usize) -> Self {
        let width = cols * tile + (cols + 1) * gap;
        let height = rows * tile + (rows + 1) * gap;
        TileGrid { tile, gap, width, height, pixels: vec![200; width * height] }
    }

    /// Draws an `h x w` row-major image into tile (`row`, `col`), scaled by nearest neighbour.
    pub fn put(&mut self, row: usize, col: usize, values: &[f32], [h, w]: [usize; 2], scale: Scale) {
        let (lo, hi) = match scale {
            Scale::MinMax => values.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(l, h), &v| (l.min(v), h.max(v))),
            Scale::Signed => {
                let m = values.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                (-m, m)
            }
        };
        let span = if hi > lo { hi - lo } else { 1.0 };
        let (x0, y0) = (self.gap + col * (self.tile + self.gap), self.gap + row * (self.tile + self.gap));
        for y in 0..self.tile {
            for x in 0..self.tile {
                let v = values[(y * h / self.tile) * w + x * w / self.tile];
                let level = if hi > lo { (v - lo) / span } else { 0.5 };
                self.pixels[(y0 + y) * self.width + x0 + x] = (level.clamp(0.0, 1.0) * 255.0).round() as u8;
            }
        }
    }

    /// Encodes the canvas as PNG at `path`, atomically (a temporary file, then a rename).
    pub fn save_png(&self, path: &Path) -> Result<(), CliError> {
        let mut bytes = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut bytes, self.width as u32, self.height as u32);
            encoder.set_color(png::ColorType::Grayscale);
            encoder.set_depth(png::BitDepth::Eight);
            let encoded = encoder.write_header().and_then(|mut w| w.write_image_data(&self.pixels));
            encoded.map_err(|e| NnError::format(path, format!("PNG encoding failed: {e}")))?;
        }
        Ok(write_atomically(path, |out| out.write_all(&bytes))?)
    }
}
