//! Peak memory for command summaries.

/// Peak resident memory of this process in MB (Linux `VmHWM`), if the system reports it.
pub fn peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// `", peak memory N MB"`, or nothing where the system does not say.
pub fn memory_note() -> String {
    peak_memory_mb().map_or_else(String::new, |mb| format!(", peak memory {mb:.0} MB"))
}
