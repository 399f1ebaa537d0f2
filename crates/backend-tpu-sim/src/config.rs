//! The simulated chip: array geometry, dataflow, number format, clock and memories; presets,
//! and loading from a SCALE-Sim `.cfg` or a Tessera config that overrides a preset.

use std::path::Path;

use ini::Ini;

use crate::scalesim_memory::{Interface, ScaleSimMemory};
use crate::{Dataflow, InputType, Timing, TpuError};

/// Everything the simulator needs to know about the chip.
#[derive(Clone, Debug, PartialEq)]
pub struct TpuConfig {
    /// A name for reports.
    pub name: String,
    /// Processing-element rows.
    pub rows: usize,
    /// Processing-element columns.
    pub cols: usize,
    /// Which operand stays in the PEs.
    pub dataflow: Dataflow,
    /// Operand type inside the array.
    pub input: InputType,
    /// Clock, for times and TOPS.
    pub clock_mhz: f64,
    /// On-chip buffer for inputs and activations, bytes.
    pub unified_buffer_bytes: u64,
    /// Accumulator memory for outputs, bytes.
    pub accumulator_bytes: u64,
    /// Weight tiles the weight FIFO holds.
    pub weight_fifo_tiles: usize,
    /// Off-chip (weight) memory bandwidth, bytes per cycle.
    pub dram_bytes_per_cycle: f64,
    /// Host link bandwidth for inputs and outputs that do not fit in the unified buffer, bytes
    /// per cycle.
    pub host_bytes_per_cycle: f64,
    /// How cycles are counted: TPU-faithful (the presets) or SCALE-Sim's (its `.cfg` files).
    pub timing: Timing,
    /// SCALE-Sim's scratchpads and DRAM interfaces, from a SCALE-Sim `.cfg`: in the SCALE-Sim
    /// timing with `InterfaceBandwidth: USER` they add SCALE-Sim's stalls and DRAM traffic.
    pub scalesim_memory: Option<ScaleSimMemory>,
}

const MIB: u64 = 1 << 20;

impl TpuConfig {
    /// The presets by name: `tpu-v1` (the 2017 paper's inference chip) and `bf16-128` (a
    /// 128x128 bf16 matrix unit of the TPU v2/v3 generation).
    pub fn preset(name: &str) -> Option<TpuConfig> {
        match name {
            "tpu-v1" => Some(TpuConfig {
                name: "tpu-v1".into(),
                rows: 256,
                cols: 256,
                dataflow: Dataflow::WeightStationary,
                input: InputType::Int8,
                clock_mhz: 700.0,
                unified_buffer_bytes: 24 * MIB,
                accumulator_bytes: 4 * MIB,
                weight_fifo_tiles: 4,
                // 34 GB/s of DDR3 weight memory at 700 MHz.
                dram_bytes_per_cycle: 34e9 / 700e6,
                // PCIe Gen3 x16, 14 GB/s.
                host_bytes_per_cycle: 14e9 / 700e6,
                timing: Timing::Faithful,
                scalesim_memory: None,
            }),
            "bf16-128" => Some(TpuConfig {
                name: "bf16-128".into(),
                rows: 128,
                cols: 128,
                dataflow: Dataflow::WeightStationary,
                input: InputType::Bf16,
                clock_mhz: 940.0,
                unified_buffer_bytes: 16 * MIB,
                accumulator_bytes: 4 * MIB,
                weight_fifo_tiles: 4,
                // 450 GB/s of HBM per core at 940 MHz.
                dram_bytes_per_cycle: 450e9 / 940e6,
                // PCIe Gen3 x16, 16 GB/s.
                host_bytes_per_cycle: 16e9 / 940e6,
                timing: Timing::Faithful,
                scalesim_memory: None,
            }),
            _ => None,
        }
    }

    /// The preset names.
    pub const PRESETS: [&'static str; 2] = ["tpu-v1", "bf16-128"];

    /// Processing elements.
    pub fn pes(&self) -> usize {
        self.rows * self.cols
    }

    /// Loads a config file: a SCALE-Sim `.cfg` (it has `[architecture_presets]`), or a Tessera
    /// file whose `[tpu]` section names a `preset` and overrides any field.
    pub fn load(path: &Path) -> Result<TpuConfig, TpuError> {
        let text = std::fs::read_to_string(path).map_err(|e| TpuError::io(path, e))?;
        let ini = Ini::load_from_str(&text).map_err(|e| TpuError::parse(path, 0, e.to_string()))?;
        let origin = path.display().to_string();
        if ini.section(Some("architecture_presets")).is_some() {
            Self::from_scalesim(&ini, &origin)
        } else {
            Self::from_tessera(&ini, &origin)
        }
    }

    /// SCALE-Sim's `[architecture_presets]`: array, dataflow and SRAM sizes (the ifmap and
    /// filter SRAMs become the unified buffer, the ofmap SRAM the accumulators), counted in
    /// SCALE-Sim's timing. The rest comes from `bf16-128`; SCALE-Sim has no number format or
    /// clock.
    #[allow(clippy::expect_used, reason = "an invariant, not input: a preset")]
    fn from_scalesim(ini: &Ini, origin: &str) -> Result<TpuConfig, TpuError> {
        let section = Section::new(ini, "architecture_presets", origin)?;
        let mut config = TpuConfig::preset("bf16-128").expect("a preset");
        config.name = ini
            .section(Some("general"))
            .and_then(|s| s.get("run_name"))
            .map_or_else(|| "scalesim".into(), |n| n.trim().to_string());
        config.rows = section.number("ArrayHeight")?;
        config.cols = section.number("ArrayWidth")?;
        config.dataflow = section.dataflow("Dataflow")?;
        let kib = |key| {
            section.number(key).and_then(|kb: u64| {
                kb.checked_mul(1024)
                    .ok_or_else(|| section.error(key, format!("{kb} kB does not fit in 64 bits of bytes")))
            })
        };
        config.unified_buffer_bytes = kib("IfmapSramSzkB")?.saturating_add(kib("FilterSramSzkB")?);
        config.accumulator_bytes = kib("OfmapSramSzkB")?;
        config.timing = Timing::ScaleSim;
        config.scalesim_memory = Some(ScaleSimMemory {
            ifmap_bytes: kib("IfmapSramSzkB")?,
            filter_bytes: kib("FilterSramSzkB")?,
            ofmap_bytes: kib("OfmapSramSzkB")?,
            interface: Self::scalesim_interface(ini, origin)?,
        });
        config.check(&section, ["ArrayHeight", "ArrayWidth", "IfmapSramSzkB", "OfmapSramSzkB"])?;
        Ok(config)
    }

    /// `[run_presets] InterfaceBandwidth` (CALC when absent); in USER mode the ofmap interface
    /// carries `[architecture_presets] Bandwidth` (its first value) words a cycle and the ifmap
    /// and filter interfaces `[layout] IfmapSRAMBankBandwidth` and `FilterSRAMBankBandwidth`
    /// (10 when absent), as SCALE-Sim 3.0 wires them.
    fn scalesim_interface(ini: &Ini, origin: &str) -> Result<Interface, TpuError> {
        let mode = ini
            .section(Some("run_presets"))
            .and_then(|s| s.iter().find(|(k, _)| k.eq_ignore_ascii_case("InterfaceBandwidth")))
            .map_or("CALC", |(_, v)| v.trim());
        if mode.eq_ignore_ascii_case("CALC") {
            return Ok(Interface::Calc);
        }
        if !mode.eq_ignore_ascii_case("USER") {
            return Err(TpuError::Config {
                origin: origin.to_string(),
                key: "[run_presets] InterfaceBandwidth".into(),
                msg: format!("{mode:?} is not USER or CALC"),
            });
        }
        let section = Section::new(ini, "architecture_presets", origin)?;
        let first = section.get("Bandwidth").and_then(|v| v.split(',').next()).unwrap_or("");
        let ofmap = first
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|&bw| bw > 0)
            .ok_or_else(|| section.error("Bandwidth", format!("{first:?} is not a positive number of words")))?;
        let (ifmap, filter) = match ini.section(Some("layout")) {
            Some(_) => {
                let layout = Section::new(ini, "layout", origin)?;
                let bank = |key| -> Result<u64, TpuError> {
                    let bw: u64 = layout.number_or(key, 10)?;
                    if bw == 0 { Err(layout.error(key, "must be positive".into())) } else { Ok(bw) }
                };
                (bank("IfmapSRAMBankBandwidth")?, bank("FilterSRAMBankBandwidth")?)
            }
            None => (10, 10),
        };
        Ok(Interface::User { ifmap, filter, ofmap })
    }

    /// A Tessera config: `[tpu]` with `preset` (default `tpu-v1`) and any of `rows`, `cols`,
    /// `dataflow`, `input` (`f32`, `bf16`, `int8`), `clock_mhz`, `unified_buffer_mib`,
    /// `accumulator_mib`, `weight_fifo_tiles`, `dram_gb_per_s`, `host_gb_per_s`, `timing`
    /// (`faithful` or `scalesim`).
    fn from_tessera(ini: &Ini, origin: &str) -> Result<TpuConfig, TpuError> {
        let section = Section::new(ini, "tpu", origin)?;
        let preset = section.get("preset").unwrap_or("tpu-v1");
        let mut c = TpuConfig::preset(preset).ok_or_else(|| {
            section.error("preset", format!("unknown preset {preset:?}; presets: {:?}", Self::PRESETS))
        })?;
        c.rows = section.number_or("rows", c.rows)?;
        c.cols = section.number_or("cols", c.cols)?;
        if section.get("dataflow").is_some() {
            c.dataflow = section.dataflow("dataflow")?;
        }
        if let Some(input) = section.get("input") {
            c.input = match input.trim() {
                "f32" => InputType::F32,
                "bf16" => InputType::Bf16,
                "int8" => InputType::Int8,
                other => return Err(section.error("input", format!("{other:?} is not f32, bf16 or int8"))),
            };
        }
        c.clock_mhz = section.number_or("clock_mhz", c.clock_mhz)?;
        c.unified_buffer_bytes =
            (section.number_or("unified_buffer_mib", c.unified_buffer_bytes as f64 / MIB as f64)? * MIB as f64) as u64;
        c.accumulator_bytes =
            (section.number_or("accumulator_mib", c.accumulator_bytes as f64 / MIB as f64)? * MIB as f64) as u64;
        c.weight_fifo_tiles = section.number_or("weight_fifo_tiles", c.weight_fifo_tiles)?;
        if let Some(timing) = section.get("timing") {
            c.timing = Timing::from_name(timing)
                .ok_or_else(|| section.error("timing", format!("{timing:?} is not faithful or scalesim")))?;
        }
        c.check(&section, ["rows", "cols", "unified_buffer_mib", "accumulator_mib"])?;
        if !(c.clock_mhz > 0.0 && c.clock_mhz.is_finite()) {
            return Err(section.error("clock_mhz", format!("{} MHz is not a positive clock", c.clock_mhz)));
        }
        c.dram_bytes_per_cycle = section.bandwidth("dram_gb_per_s", c.dram_bytes_per_cycle, c.clock_mhz)?;
        c.host_bytes_per_cycle = section.bandwidth("host_gb_per_s", c.host_bytes_per_cycle, c.clock_mhz)?;
        c.name = section.get("name").unwrap_or(preset).to_string();
        Ok(c)
    }
}

/// The largest array side a config may ask for: far beyond any real systolic array (the
/// TPU v1's is 256), small enough that the array's PE count and per-fold arithmetic stay exact.
pub const MAX_ARRAY_SIDE: usize = 1 << 16;

impl TpuConfig {
    /// Checks the sizes a file set: array sides in `1..=MAX_ARRAY_SIDE`, buffers of at least
    /// one byte. `keys` name the file's keys for rows, cols, the unified buffer and the
    /// accumulators, for the error.
    fn check(&self, section: &Section<'_>, keys: [&str; 4]) -> Result<(), TpuError> {
        for (value, key) in [(self.rows, keys[0]), (self.cols, keys[1])] {
            if !(1..=MAX_ARRAY_SIDE).contains(&value) {
                return Err(section.error(key, format!("{value} is not an array side in 1..={MAX_ARRAY_SIDE}")));
            }
        }
        for (value, key) in [(self.unified_buffer_bytes, keys[2]), (self.accumulator_bytes, keys[3])] {
            if value == 0 {
                return Err(section.error(key, "a buffer must hold at least one byte".into()));
            }
        }
        Ok(())
    }
}

/// One INI section, read with case-insensitive keys (as Python's ConfigParser does).
struct Section<'a> {
    properties: &'a ini::Properties,
    name: &'static str,
    origin: &'a str,
}

impl<'a> Section<'a> {
    fn new(ini: &'a Ini, name: &'static str, origin: &'a str) -> Result<Self, TpuError> {
        let properties = ini.section(Some(name)).ok_or_else(|| TpuError::Config {
            origin: origin.to_string(),
            key: name.into(),
            msg: "missing section".into(),
        })?;
        Ok(Section { properties, name, origin })
    }

    fn get(&self, key: &str) -> Option<&'a str> {
        self.properties.iter().find(|(k, _)| k.eq_ignore_ascii_case(key)).map(|(_, v)| v.trim())
    }

    fn error(&self, key: &str, msg: String) -> TpuError {
        TpuError::Config { origin: self.origin.to_string(), key: format!("[{}] {key}", self.name), msg }
    }

    fn number<T: std::str::FromStr>(&self, key: &str) -> Result<T, TpuError> {
        let value = self.get(key).ok_or_else(|| self.error(key, "missing".into()))?;
        value.parse().map_err(|_| self.error(key, format!("{value:?} is not a number")))
    }

    fn number_or<T: std::str::FromStr>(&self, key: &str, default: T) -> Result<T, TpuError> {
        if self.get(key).is_some() { self.number(key) } else { Ok(default) }
    }

    /// A bandwidth in GB/s (default: `bytes_per_cycle` as it is), as bytes per cycle at
    /// `clock_mhz`; it must be positive.
    fn bandwidth(&self, key: &str, bytes_per_cycle: f64, clock_mhz: f64) -> Result<f64, TpuError> {
        let gb_per_s: f64 = self.number_or(key, bytes_per_cycle * clock_mhz / 1e3)?;
        if !(gb_per_s > 0.0 && gb_per_s.is_finite()) {
            return Err(self.error(key, format!("{gb_per_s} GB/s is not a positive bandwidth")));
        }
        Ok(gb_per_s * 1e3 / clock_mhz)
    }

    fn dataflow(&self, key: &str) -> Result<Dataflow, TpuError> {
        let value = self.get(key).ok_or_else(|| self.error(key, "missing".into()))?;
        Dataflow::from_short_name(value).ok_or_else(|| self.error(key, format!("{value:?} is not ws, os or is")))
    }
}
