//! Users' images: decoding PNG and JPEG files of any size and colour mode into a model's input
//! (as its folder's config says), and the ImageFolder layout torchvision users know (one
//! subfolder per class) as a training set.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use nn_layers::data::Dataset;
use serde_json::{Value, json};

use crate::use_error::{Result, UseError};

/// How a model reads images: every image is converted to `channels` (1: grey, 3: RGB), resized
/// to `height` x `width` when it differs (bilinear), and each value becomes
/// `(pixel / divide - mean[c]) / std[c]`, laid out channel-first (`[C, H, W]`).
#[derive(Clone, Debug, PartialEq)]
pub struct ImageInput {
    /// Rows of the model's input.
    pub height: usize,
    /// Columns of the model's input.
    pub width: usize,
    /// 1 (grey) or 3 (RGB).
    pub channels: usize,
    /// Pixels are divided by this first (255 maps 8-bit pixels to [0, 1]).
    pub divide: f32,
    /// Per-channel mean subtracted after the division.
    pub mean: Vec<f32>,
    /// Per-channel standard deviation divided by last.
    pub std: Vec<f32>,
}

impl ImageInput {
    /// Pixels divided by 255, no mean or deviation: the MNIST and ImageFolder convention.
    pub fn unit(height: usize, width: usize, channels: usize) -> Self {
        ImageInput { height, width, channels, divide: 255.0, mean: vec![0.0; channels], std: vec![1.0; channels] }
    }

    /// Values per image (`channels * height * width`).
    pub fn len(&self) -> usize {
        self.channels * self.height * self.width
    }

    /// Whether an image has no values (never, for a valid input format).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The `input` object of a model folder's `config.json`.
    pub fn to_json(&self) -> Value {
        json!({
            "kind": "image",
            "height": self.height,
            "width": self.width,
            "channels": self.channels,
            "color": if self.channels == 1 { "grey" } else { "rgb" },
            "layout": "CHW",
            "normalise": { "divide": self.divide, "mean": self.mean, "std": self.std },
        })
    }

    /// Reads the `input` object of `path`'s config.
    pub fn from_json(value: &Value, path: &Path) -> Result<Self> {
        let bad = |msg: String| UseError::folder(path, msg);
        let size = |key: &str| {
            value[key]
                .as_u64()
                .filter(|&n| n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| bad(format!("`input.{key}` must be a positive whole number, found {}", value[key])))
        };
        let (height, width, channels) = (size("height")?, size("width")?, size("channels")?);
        if channels != 1 && channels != 3 {
            return Err(bad(format!("`input.channels` must be 1 or 3, found {channels}")));
        }
        let norm = &value["normalise"];
        let divide = norm["divide"].as_f64().filter(|d| *d > 0.0).ok_or_else(|| {
            bad(format!("`input.normalise.divide` must be a positive number, found {}", norm["divide"]))
        })? as f32;
        let list = |key: &str| -> Result<Vec<f32>> {
            let values: Option<Vec<f32>> =
                norm[key].as_array().map(|a| a.iter().filter_map(Value::as_f64).map(|v| v as f32).collect());
            match values {
                Some(v) if v.len() == channels => Ok(v),
                _ => Err(bad(format!("`input.normalise.{key}` must hold {channels} numbers, found {}", norm[key]))),
            }
        };
        let (mean, std) = (list("mean")?, list("std")?);
        if std.iter().any(|s| *s <= 0.0) {
            return Err(bad("`input.normalise.std` must be positive".into()));
        }
        Ok(ImageInput { height, width, channels, divide, mean, std })
    }

    /// The pixels of a decoded image as this input: converted, resized, normalised, `[C, H, W]`.
    pub fn convert(&self, image: &image::DynamicImage) -> Vec<f32> {
        let (w, h) = (self.width as u32, self.height as u32);
        let resize = |i: &image::DynamicImage| {
            if i.width() == w && i.height() == h { i.clone() } else { i.resize_exact(w, h, FilterType::Triangle) }
        };
        let image = resize(image);
        let raw: Vec<u8> = if self.channels == 1 { image.to_luma8().into_raw() } else { image.to_rgb8().into_raw() };
        let c = self.channels;
        let plane = self.height * self.width;
        let mut out = vec![0.0f32; self.len()];
        for (i, &pixel) in raw.iter().enumerate() {
            let (position, channel) = (i / c, i % c);
            out[channel * plane + position] = (pixel as f32 / self.divide - self.mean[channel]) / self.std[channel];
        }
        out
    }

    /// Reads and converts one image file.
    pub fn load(&self, path: &Path) -> Result<Vec<f32>> {
        Ok(self.convert(&decode(path)?))
    }
}

/// Decodes a PNG or JPEG file (the format is read from its bytes, not its name).
pub fn decode(path: &Path) -> Result<image::DynamicImage> {
    let bad = |msg: String| UseError::Image { path: path.to_path_buf(), msg };
    let reader = image::ImageReader::open(path).map_err(|e| bad(e.to_string()))?;
    let reader = reader.with_guessed_format().map_err(|e| bad(e.to_string()))?;
    if reader.format().is_none() {
        return Err(bad("not a PNG or JPEG file".into()));
    }
    reader.decode().map_err(|e| bad(e.to_string()))
}

/// Whether `path` is named like an image this crate reads.
pub fn is_image_name(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "png" | "jpg" | "jpeg"))
}

/// The image files of `dir` (PNG and JPEG by name), sorted by name.
pub fn images_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let entries = std::fs::read_dir(dir).map_err(|e| UseError::data(dir, None, format!("cannot list: {e}")))?;
    let mut files = Vec::new();
    for entry in entries {
        let path = entry.map_err(|e| UseError::data(dir, None, format!("cannot list: {e}")))?.path();
        if path.is_file() && is_image_name(&path) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// An ImageFolder: class names (the subfolders, sorted) and each image's path and class.
#[derive(Clone, Debug, PartialEq)]
pub struct ImageFolder {
    /// The root folder.
    pub root: PathBuf,
    /// Class names, sorted; a class's index is its label.
    pub classes: Vec<String>,
    /// Every image with its class index, class by class, names sorted.
    pub images: Vec<(PathBuf, usize)>,
}

impl ImageFolder {
    /// Lists `root`: one subfolder per class, at least two classes, each with an image.
    pub fn scan(root: &Path) -> Result<Self> {
        let listing = std::fs::read_dir(root).map_err(|e| UseError::data(root, None, format!("cannot list: {e}")))?;
        let mut classes = Vec::new();
        for entry in listing {
            let path = entry.map_err(|e| UseError::data(root, None, format!("cannot list: {e}")))?.path();
            if path.is_dir() {
                let name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                    UseError::data(&path, None, "a class folder's name must be UTF-8 (it becomes the label)")
                })?;
                classes.push(name.to_string());
            }
        }
        classes.sort();
        if classes.len() < 2 {
            return Err(UseError::data(
                root,
                None,
                format!(
                    "an image folder needs one subfolder per class and at least two classes, found {}",
                    classes.len()
                ),
            ));
        }
        let mut images = Vec::new();
        for (label, class) in classes.iter().enumerate() {
            let dir = root.join(class);
            let files = images_in(&dir)?;
            if files.is_empty() {
                return Err(UseError::data(&dir, None, "class folder has no .png, .jpg or .jpeg file"));
            }
            images.extend(files.into_iter().map(|f| (f, label)));
        }
        Ok(ImageFolder { root: root.to_path_buf(), classes, images })
    }

    /// The input format its images suggest: the first image's size, grey when every one of 64
    /// images spread over the classes is grey, RGB otherwise; pixels divided by 255.
    pub fn suggested_input(&self) -> Result<ImageInput> {
        let (first, _) = &self.images[0];
        let image = decode(first)?;
        let grey = self
            .images
            .iter()
            .step_by((self.images.len() / 64).max(1))
            .take(64)
            .map(|(p, _)| decode(p).map(|i| !i.color().has_color()))
            .collect::<Result<Vec<bool>>>()?
            .into_iter()
            .all(|g| g);
        Ok(ImageInput::unit(image.height() as usize, image.width() as usize, if grey { 1 } else { 3 }))
    }

    /// Every image read as `input`: a dataset of `[C * H * W]` examples labelled by class.
    pub fn dataset(&self, input: &ImageInput) -> Result<Dataset> {
        let mut features = Vec::with_capacity(self.images.len() * input.len());
        for (path, _) in &self.images {
            features.extend(input.load(path)?);
        }
        let labels = self.images.iter().map(|(_, l)| *l as i64).collect();
        Ok(Dataset::new(features, vec![input.len()], labels)?)
    }

    /// Checks that `other` (a separate test folder) has exactly these classes.
    pub fn check_same_classes(&self, other: &ImageFolder) -> Result<()> {
        if self.classes != other.classes {
            return Err(UseError::data(
                &other.root,
                None,
                format!("classes {:?} differ from the training folder's {:?}", other.classes, self.classes),
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("tessera-images-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join(name)
    }

    #[test]
    fn colour_images_become_channel_first_planes_or_grey() {
        // Two pixels: pure red, then pure blue.
        let path = scratch("two.png");
        image::RgbImage::from_raw(2, 1, vec![255, 0, 0, 0, 0, 255]).unwrap().save(&path).unwrap();
        let rgb = ImageInput::unit(1, 2, 3).load(&path).unwrap();
        assert_eq!(rgb, [1.0, 0.0, 0.0, 0.0, 0.0, 1.0], "R plane, G plane, B plane");
        let grey = ImageInput::unit(1, 2, 1).load(&path).unwrap();
        assert!(grey[0] > grey[1] && grey[1] > 0.0, "red is lighter than blue in luma: {grey:?}");
        let normalised = ImageInput { mean: vec![0.5; 3], std: vec![0.5; 3], ..ImageInput::unit(1, 2, 3) };
        assert_eq!(normalised.load(&path).unwrap(), [1.0, -1.0, -1.0, -1.0, -1.0, 1.0]);
        let json = normalised.to_json();
        assert_eq!(ImageInput::from_json(&json, &path).unwrap(), normalised);
    }

    #[test]
    fn jpeg_of_any_size_is_resized_and_a_bad_file_is_named() {
        let path = scratch("big.jpg");
        image::RgbImage::from_fn(40, 30, |x, _| image::Rgb([(x * 6) as u8, 100, 200])).save(&path).unwrap();
        let values = ImageInput::unit(8, 8, 1).load(&path).unwrap();
        assert_eq!(values.len(), 64);
        assert!(values.iter().all(|v| (0.0..=1.0).contains(v)));
        assert!(values[7] > values[0], "the gradient survives the resize");
        let bad = scratch("bad.jpg");
        std::fs::write(&bad, &std::fs::read(&path).unwrap()[..100]).unwrap();
        let error = ImageInput::unit(8, 8, 1).load(&bad).unwrap_err().to_string();
        assert!(error.starts_with(&format!("{}: unreadable image: ", bad.display())), "{error}");
    }
}
