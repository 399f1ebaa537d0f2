//! `tessera tpu-sim`: the simulated TPU's cycle report for a GEMM or a layer list.

use std::path::PathBuf;

use backend_tpu_sim::topology::{Layer, LayerKind, read_topology};
use backend_tpu_sim::{Dataflow, Gemm, Report, Timing, TpuConfig, simulate};

use crate::error::CliError;

/// Arguments of `tessera tpu-sim`.
#[derive(clap::Args, Debug)]
pub struct TpuSimArgs {
    /// A preset chip: tpu-v1 or bf16-128.
    #[arg(long, default_value = "tpu-v1", conflicts_with = "config")]
    preset: String,
    /// A config file instead of a preset: SCALE-Sim's .cfg, or a Tessera file with a [tpu]
    /// section (`preset = ...` plus any field to override).
    #[arg(long)]
    config: Option<PathBuf>,
    /// A GEMM `M,N,K` ([M, K] x [K, N]); repeatable.
    #[arg(long, value_parser = parse_gemm)]
    gemm: Vec<Gemm>,
    /// A SCALE-Sim topology file (GEMM or convolution form).
    #[arg(long)]
    topology: Option<PathBuf>,
    /// Override the array, e.g. `128x128`.
    #[arg(long, value_parser = parse_array)]
    array: Option<(usize, usize)>,
    /// Override the dataflow: ws, os or is.
    #[arg(long, value_parser = parse_dataflow)]
    dataflow: Option<Dataflow>,
    /// How to count cycles: faithful (the memory path, overlapped folds, stalls by cause) or
    /// scalesim (SCALE-Sim 3.0's accounting). Default: the config's (faithful for presets,
    /// scalesim for SCALE-Sim .cfg files).
    #[arg(long, value_parser = parse_timing)]
    timing: Option<Timing>,
    /// Write the run as a Chrome trace-event timeline (JSON; opens in Perfetto).
    #[arg(long)]
    trace: Option<PathBuf>,
    /// Also step the array and the memory path cycle by cycle (slow for large layers) and
    /// check that they agree with the fast mode.
    #[arg(long)]
    stepped: bool,
}

fn parse_gemm(text: &str) -> Result<Gemm, String> {
    let dims: Vec<usize> = text
        .split(',')
        .map(|d| d.trim().parse().map_err(|_| format!("{d:?} is not a size")))
        .collect::<Result<_, _>>()?;
    match dims[..] {
        [m, n, k] if m > 0 && n > 0 && k > 0 => Ok(Gemm { m, n, k }),
        _ => Err(format!("{text:?} is not M,N,K with three positive sizes")),
    }
}

fn parse_array(text: &str) -> Result<(usize, usize), String> {
    let (rows, cols) = text.split_once('x').ok_or_else(|| format!("{text:?} is not ROWSxCOLS"))?;
    match (rows.trim().parse(), cols.trim().parse()) {
        (Ok(r), Ok(c)) if r > 0 && c > 0 => Ok((r, c)),
        _ => Err(format!("{text:?} is not ROWSxCOLS with positive sizes")),
    }
}

fn parse_timing(text: &str) -> Result<Timing, String> {
    Timing::from_name(text).ok_or_else(|| format!("{text:?} is not faithful or scalesim"))
}

fn parse_dataflow(text: &str) -> Result<Dataflow, String> {
    Dataflow::from_short_name(text).ok_or_else(|| format!("{text:?} is not ws, os or is"))
}

/// Runs `tessera tpu-sim`.
pub fn run(args: &TpuSimArgs) -> Result<(), CliError> {
    let mut config = match &args.config {
        Some(path) => TpuConfig::load(path)?,
        None => TpuConfig::preset(&args.preset).ok_or_else(|| {
            CliError::Usage(format!("unknown preset {:?}; presets: {:?}", args.preset, TpuConfig::PRESETS))
        })?,
    };
    if let Some((rows, cols)) = args.array {
        (config.rows, config.cols) = (rows, cols);
    }
    if let Some(dataflow) = args.dataflow {
        config.dataflow = dataflow;
    }
    if let Some(timing) = args.timing {
        config.timing = timing;
    }
    let mut layers: Vec<Layer> = args
        .gemm
        .iter()
        .enumerate()
        .map(|(i, &g)| Layer { name: format!("gemm{}", i + 1), kind: LayerKind::Gemm(g) })
        .collect();
    if let Some(path) = &args.topology {
        layers.extend(read_topology(path)?);
    }
    if layers.is_empty() {
        return Err(CliError::Usage("give a layer: --gemm M,N,K or --topology FILE".into()));
    }
    let report = Report::fast(&config, &layers);
    print!("{report}");
    if args.stepped {
        for (layer, source) in report.layers.iter().zip(&layers) {
            let g = layer.plan.gemm;
            let lhs: Vec<f32> = (0..g.m * g.k).map(|i| (i % 5) as f32 - 2.0).collect();
            let rhs: Vec<f32> = (0..g.k * g.n).map(|i| (i % 3) as f32 - 1.0).collect();
            let (_, run) = simulate::stepped_layer::<f32>(&config, source.kind, &lhs, &rhs);
            let counts = run.counts;
            if counts != layer.counts || run.schedule != layer.schedule {
                return Err(CliError::Check(format!("{}: the stepped array disagrees with the fast mode", layer.name)));
            }
            println!(
                "{}: the stepped array and memory agree with the fast mode ({} cycles)",
                layer.name, counts.cycles
            );
        }
    }
    if let Some(path) = &args.trace {
        nn_layers::checkpoint::write_atomically(path, |out| report.write_chrome_trace(out))?;
        println!("trace written to {}", path.display());
    }
    if config.timing == Timing::ScaleSim {
        println!("(cycles are counts; SCALE-Sim reports the last cycle's index, one less)");
    }
    Ok(())
}
