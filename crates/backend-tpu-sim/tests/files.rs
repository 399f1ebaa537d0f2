//! Config and topology files: presets, SCALE-Sim's formats, Tessera overrides, and typed errors
//! that say where a file is wrong.

use std::path::{Path, PathBuf};

use backend_tpu_sim::topology::{LayerKind, parse_topology, read_topology};
use backend_tpu_sim::{Dataflow, Gemm, InputType, Timing, TpuConfig, TpuError};

fn write(name: &str, text: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("tessera-tpu-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

#[test]
fn presets_describe_the_chips() {
    let v1 = TpuConfig::preset("tpu-v1").unwrap();
    assert_eq!((v1.rows, v1.cols, v1.dataflow, v1.input), (256, 256, Dataflow::WeightStationary, InputType::Int8));
    assert_eq!((v1.unified_buffer_bytes, v1.accumulator_bytes, v1.weight_fifo_tiles), (24 << 20, 4 << 20, 4));
    assert!((v1.dram_bytes_per_cycle * v1.clock_mhz * 1e6 - 34e9).abs() < 1.0);
    let bf16 = TpuConfig::preset("bf16-128").unwrap();
    assert_eq!((bf16.rows, bf16.input), (128, InputType::Bf16));
    assert!(TpuConfig::preset("tpu-v9").is_none());
}

#[test]
fn scalesim_configs_and_tessera_overrides_load() {
    let cfg = write(
        "scalesim.cfg",
        "[general]\nrun_name = ws32\n\n[architecture_presets]\nArrayHeight:    32\nArrayWidth:     8\n\
         IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 32\nDataflow : os\n",
    );
    let c = TpuConfig::load(&cfg).unwrap();
    assert_eq!((c.name.as_str(), c.rows, c.cols, c.dataflow), ("ws32", 32, 8, Dataflow::OutputStationary));
    assert_eq!((c.unified_buffer_bytes, c.accumulator_bytes, c.timing), (128 * 1024, 32 * 1024, Timing::ScaleSim));

    let ours = write(
        "ours.toml",
        "[tpu]\npreset = tpu-v1\nrows = 64\ninput = bf16\ndram_gb_per_s = 70\nhost_gb_per_s = 7\ntiming = scalesim\n",
    );
    let c = TpuConfig::load(&ours).unwrap();
    assert_eq!((c.rows, c.cols, c.input, c.timing), (64, 256, InputType::Bf16, Timing::ScaleSim));
    assert!((c.dram_bytes_per_cycle - 100.0).abs() < 1e-9, "70 GB/s at 700 MHz");
    assert!((c.host_bytes_per_cycle - 10.0).abs() < 1e-9, "7 GB/s at 700 MHz");
    assert_eq!(TpuConfig::preset("tpu-v1").unwrap().timing, Timing::Faithful);
}

#[test]
fn bad_configs_say_what_and_where() {
    let bad = write("bad.cfg", "[tpu]\npreset = tpu-v1\nrows = many\n");
    let err = TpuConfig::load(&bad).unwrap_err();
    assert!(matches!(err, TpuError::Config { .. }), "{err}");
    assert!(err.to_string().contains("[tpu] rows") && err.to_string().contains("\"many\""), "{err}");
    let unknown = write("unknown.cfg", "[tpu]\npreset = tpu-v9\n");
    assert!(TpuConfig::load(&unknown).unwrap_err().to_string().contains("tpu-v9"));
    let stalled = write("stalled.cfg", "[tpu]\ndram_gb_per_s = 0\n");
    let err = TpuConfig::load(&stalled).unwrap_err().to_string();
    assert!(err.contains("[tpu] dram_gb_per_s") && err.contains("not a positive bandwidth"), "{err}");
    let timing = write("timing.cfg", "[tpu]\ntiming = exact\n");
    assert!(TpuConfig::load(&timing).unwrap_err().to_string().contains("\"exact\" is not faithful or scalesim"));
    let missing = TpuConfig::load(Path::new("/nonexistent/chip.cfg")).unwrap_err();
    assert!(matches!(missing, TpuError::Io { .. }), "{missing}");
}

#[test]
fn topologies_in_both_forms_parse() {
    let gemms =
        parse_topology("Layer, M, N, K,\nfc1, 200, 256, 784,\nfc2, 200, 10, 256,\n", Path::new("mlp.csv")).unwrap();
    assert_eq!(gemms.len(), 2);
    assert_eq!(gemms[1].kind, LayerKind::Gemm(Gemm { m: 200, n: 10, k: 256 }));
    let path = write(
        "conv.csv",
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, Strides,\n\
         conv1, 13, 11, 3, 3, 3, 10, 2,\n",
    );
    let convs = read_topology(&path).unwrap();
    assert_eq!(convs[0].gemm(), Gemm { m: 6 * 5, n: 10, k: 27 });
}

#[test]
fn bad_topologies_name_the_line() {
    let err =
        parse_topology("Layer, M, N, K,\nfc1, 200, 256, 784,\nfc2, 200, ten, 256,\n", Path::new("t.csv")).unwrap_err();
    assert!(err.to_string().starts_with("t.csv:3:"), "{err}");
    let short = parse_topology("Layer, M, N, K,\nfc1, 200,\n", Path::new("t.csv")).unwrap_err();
    assert!(short.to_string().contains("expected 4 fields"), "{short}");
    assert!(parse_topology("", Path::new("t.csv")).is_err());
}
