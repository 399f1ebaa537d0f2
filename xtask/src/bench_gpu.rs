//! The backend-gpu section of `cargo xtask bench`: matmul GFLOP/s beside backend-cpu's on the same
//! shapes (from the same run) and, on a known GPU, as a fraction of its f32 peak; softmax and the
//! elementwise chain as effective bandwidth; causal attention through the fused kernels beside
//! the default body on the same adapter. On a software adapter (lavapipe) the section says the
//! numbers are a smoke test only.

use std::fmt::Write as _;
use std::path::Path;

use crate::bench::show;

/// Dense f32 peak (no tensor cores) of GPUs whose name the adapter reports, in GFLOP/s.
const F32_PEAKS: [(&str, f64); 1] = [("H200", 66_900.0)];

pub(crate) fn report(root: &Path, nanos: impl Fn(&str, &str) -> Option<f64>) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "## backend-gpu (synced after every iteration)\n");
    let adapter = std::fs::read_to_string(root.join("target/criterion/gpu-adapter.txt")).unwrap_or_default();
    if adapter.is_empty() {
        let _ = writeln!(out, "no GPU bench ran (no adapter; see the bench's output)\n");
        return out;
    }
    let _ = writeln!(out, "adapter: {}\n", adapter.trim());
    let peak = F32_PEAKS.iter().find(|(name, _)| adapter.contains(name)).map(|&(_, p)| p);
    let _ = writeln!(
        out,
        "| matmul f32 | gpu GFLOP/s | cpu GFLOP/s (t2) | gpu / cpu | fraction of f32 peak |\n|---|---|---|---|---|"
    );
    for (id, n) in cases(root, "gpu_matmul_f32") {
        let Some(ns) = nanos("gpu_matmul_f32", &id) else { continue };
        let flops = 2.0 * (n as f64).powi(3);
        let gpu = flops / ns;
        let cpu = nanos("cpu_matmul_f32_t2", &id).map(|ns| flops / ns);
        let ratio = cpu.map(|c| gpu / c);
        let fraction = peak.map(|p| gpu / p);
        let _ = writeln!(out, "| {id} | {gpu:.1} | {} | {} | {} |", show(cpu, 1), show(ratio, 2), show(fraction, 3));
    }
    let _ = writeln!(out, "\n| case | time (ms) | effective GB/s |\n|---|---|---|");
    for (id, rows) in cases(root, "gpu_softmax_f32") {
        if let Some(ns) = nanos("gpu_softmax_f32", &id) {
            let bytes = 2.0 * 4.0 * (rows * rows) as f64;
            let _ = writeln!(out, "| softmax {id} | {:.3} | {:.2} |", ns / 1e6, bytes / ns);
        }
    }
    for (id, len) in cases(root, "gpu_elementwise_chain_f32") {
        if let Some(ns) = nanos("gpu_elementwise_chain_f32", &id) {
            let bytes = 5.0 * 2.0 * 4.0 * len as f64;
            let _ = writeln!(out, "| 5-op elementwise chain, {len} floats | {:.3} | {:.2} |", ns / 1e6, bytes / ns);
        }
    }
    let _ = writeln!(
        out,
        "\n| causal attention [1, 4, T, 64] | fused (ms) | default body (ms) | default / fused |\n|---|---|---|---|"
    );
    for (id, steps) in cases(root, "gpu_attention_f32") {
        let Some(pass) = id.split_once("_fused_").map(|(_, pass)| pass) else { continue };
        let fused = nanos("gpu_attention_f32", &id);
        let default = nanos("gpu_attention_f32", &id.replace("_fused_", "_default_"));
        let ms = |ns: Option<f64>| ns.map(|ns| ns / 1e6);
        let ratio = fused.zip(default).map(|(f, d)| d / f);
        let pass = pass.replace('_', " + ");
        let _ = writeln!(
            out,
            "| T = {steps}, {pass} | {} | {} | {} |",
            show(ms(fused), 3),
            show(ms(default), 3),
            show(ratio, 2)
        );
    }
    out
}

/// The case ids criterion recorded for `group`, with their leading size, smallest first (the
/// bench picks its sizes by adapter).
fn cases(root: &Path, group: &str) -> Vec<(String, usize)> {
    let Ok(entries) = std::fs::read_dir(root.join("target/criterion").join(group)) else { return Vec::new() };
    let mut cases: Vec<(String, usize)> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter_map(|id| Some((id.clone(), id.split('x').next()?.parse().ok()?)))
        .collect();
    cases.sort_by_key(|&(_, size)| size);
    cases
}

#[cfg(test)]
mod tests {
    #[test]
    fn attention_rows_pair_fused_with_default() {
        let root = std::env::temp_dir().join(format!("tessera-bench-gpu-{}", std::process::id()));
        let group = root.join("target/criterion/gpu_attention_f32");
        for id in ["512x64_fused_forward", "512x64_default_forward", "1024x64_fused_forward_backward"] {
            std::fs::create_dir_all(group.join(id)).unwrap();
        }
        std::fs::write(root.join("target/criterion/gpu-adapter.txt"), "llvmpipe [software: smoke test only]\n")
            .unwrap();
        let nanos = |_: &str, id: &str| match id {
            "512x64_fused_forward" => Some(2e6),
            "512x64_default_forward" => Some(8e6),
            "1024x64_fused_forward_backward" => Some(5e6),
            _ => None,
        };
        let report = super::report(&root, nanos);
        std::fs::remove_dir_all(&root).unwrap();
        assert!(report.contains("| T = 512, forward | 2.000 | 8.000 | 4.00 |"), "{report}");
        // A fused case without its default still gets a row, with the gap shown as such.
        assert!(report.contains("| T = 1024, forward + backward | 5.000 | - | - |"), "{report}");
    }
}
