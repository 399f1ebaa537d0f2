//! The TPU simulator's inputs: SCALE-Sim topology files and configs (SCALE-Sim `.cfg` and
//! Tessera's own). A read value is also run through the analytic model, as `tessera tpu-sim`
//! does, so values the reader lets through must not break the simulator either.

use backend_tpu_sim::topology::{Layer, read_topology};
use backend_tpu_sim::{Report, TpuConfig};

use super::{Target, text};

const SCALESIM: &str = "[general]\nrun_name = ws32\n\n[architecture_presets]\nArrayHeight:    32\nArrayWidth:     8\n\
IfmapSramSzkB: 64\nFilterSramSzkB: 64\nOfmapSramSzkB: 32\nDataflow : os\n";

const TESSERA: &str = "[tpu]\npreset = tpu-v1\nrows = 64\ninput = bf16\ndram_gb_per_s = 70\nhost_gb_per_s = 7\n\
timing = scalesim\nunified_buffer_mib = 24\naccumulator_mib = 4\nclock_mhz = 700\nweight_fifo_tiles = 4\n";

const GEMM_TOPOLOGY: &str = "Layer, M, N, K,\nfc1, 200, 2048, 2048,\nfc2, 20, 10, 2048,\n";

const CONV_TOPOLOGY: &str = "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, \
Strides,\nconv1, 28, 28, 5, 5, 1, 8, 1,\nconv2, 12, 12, 3, 3, 8, 16, 2,\n";

pub(super) fn targets() -> Vec<Target> {
    vec![
        Target {
            name: "tpu-topology",
            files: &["topology.csv"],
            seeds: || vec![GEMM_TOPOLOGY.as_bytes().to_vec(), CONV_TOPOLOGY.as_bytes().to_vec()],
            read: |path| {
                let layers = read_topology(path).map_err(|e| e.to_string())?;
                // The simulator's work grows with the layer (one step per fold of the array), as
                // asked: only layers of up to 2^30 MACs are simulated here, to keep runs short.
                let small = |l: &Layer| {
                    let g = l.gemm();
                    (g.m as u128) * (g.n as u128) * (g.k as u128) <= 1 << 30
                };
                let layers: Vec<Layer> = layers.into_iter().filter(small).collect();
                let config = TpuConfig::preset("tpu-v1").expect("a preset");
                Report::fast(&config, &layers);
                Ok(())
            },
        },
        Target {
            name: "tpu-config",
            files: &["tpu.cfg"],
            seeds: || vec![SCALESIM.as_bytes().to_vec(), TESSERA.as_bytes().to_vec()],
            read: |path| {
                let config = TpuConfig::load(path).map_err(|e| e.to_string())?;
                let layers =
                    backend_tpu_sim::topology::parse_topology(CONV_TOPOLOGY, path).map_err(|e| e.to_string())?;
                Report::fast(&config, &layers);
                text::<(), String>(Ok(()))
            },
        },
    ]
}
