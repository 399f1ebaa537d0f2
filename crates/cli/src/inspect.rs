//! `tessera inspect cnn`: the first convolution's kernels and the feature maps they produce for
//! one test image, as one PNG grid (input on the first row, kernels on the second, ReLU
//! feature maps on the third).

use std::path::PathBuf;

use autograd::Var;
use nn_layers::{ModuleExt, NnError};

use crate::error::CliError;
use crate::image_data::{self, DataArgs};
use crate::picture::{Scale, TileGrid};
use crate::train::{Arch, load_classifier};

/// Options of `tessera inspect cnn`.
#[derive(clap::Args, Debug)]
pub struct InspectArgs {
    /// Model folder (or older single-file checkpoint) written by `tessera train cnn`.
    #[arg(long, default_value = "cnn")]
    pub checkpoint: PathBuf,
    /// Data and device (the image comes from the test split).
    #[command(flatten)]
    pub data: DataArgs,
    /// Which test image to run.
    #[arg(long, default_value_t = 0)]
    pub index: usize,
    /// Where to write the PNG.
    #[arg(long, default_value = "cnn-features.png")]
    pub out: PathBuf,
}

/// Pixels per tile.
const TILE: usize = 56;

/// Writes the PNG and returns (kernels, feature-map size).
pub fn cnn(args: &InspectArgs) -> Result<(usize, [usize; 2]), CliError> {
    let device = args.data.device.open()?;
    let loaded = load_classifier(&args.checkpoint, &args.data, &device)?;
    if loaded.arch != Arch::Cnn {
        return Err(NnError::format(&args.checkpoint, "an MLP checkpoint has no convolution kernels to show").into());
    }
    let model = loaded.model;
    model.eval();
    let data = image_data::load(&args.data, 0, loaded.input.as_ref())?;
    let test_set = data.test;
    if args.index >= test_set.len() {
        return Err(NnError::Invalid(format!(
            "--index {} but the test split has {} images",
            args.index,
            test_set.len()
        ))
        .into());
    }
    let (channels, side) = (data.input.channels, [data.input.height, data.input.width]);
    let (x, label) = test_set.batch(&[args.index], &device)?;
    let image = x.try_reshape([1, channels, side[0], side[1]])?;
    // The first conv + ReLU of the LeNet (modules 0 and 1).
    let weight = model.parameters()[0].1.value();
    let maps = model.forward_prefix(&Var::constant(image.clone()), 2)?.value();
    let (kernels, map_size) = (weight.dims()[0], [maps.dims()[2], maps.dims()[3]]);
    let mut grid = TileGrid::new(3, kernels, TILE, 4);
    grid.put(0, 0, &image.to_vec::<f32>()?[..side[0] * side[1]], side, Scale::MinMax);
    let kernel_values = weight.to_vec::<f32>()?;
    let map_values = maps.to_vec::<f32>()?;
    // The kernels' first input channel (the only one for grey images).
    let (k, m) = (weight.dims()[2] * weight.dims()[3], map_size[0] * map_size[1]);
    let per_kernel = k * weight.dims()[1];
    for i in 0..kernels {
        grid.put(1, i, &kernel_values[i * per_kernel..][..k], [weight.dims()[2], weight.dims()[3]], Scale::Signed);
        grid.put(2, i, &map_values[i * m..][..m], map_size, Scale::MinMax);
    }
    grid.save_png(&args.out)?;
    println!(
        "wrote {}: test image {} (label {}), {kernels} kernels {}x{}, {kernels} feature maps {}x{}",
        args.out.display(),
        args.index,
        label.to_vec::<i64>()?[0],
        weight.dims()[2],
        weight.dims()[3],
        map_size[0],
        map_size[1]
    );
    Ok((kernels, map_size))
}
