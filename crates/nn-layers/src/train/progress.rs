//! A progress bar with rate and ETA for long loops (hidden when output is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar over a known number of steps.
pub struct Progress {
    bar: ProgressBar,
}

impl Progress {
    /// A bar of `total` steps labelled `label`.
    pub fn new(total: u64, label: &str) -> Self {
        let bar = ProgressBar::new(total);
        let style = ProgressStyle::with_template("{prefix:>12} [{bar:30}] {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> ");
        bar.set_style(style);
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    /// A counter for loops of unknown length (e.g. streaming a corpus): count, unit and rate.
    pub fn counter(label: &str, unit: &str) -> Self {
        let bar = ProgressBar::new_spinner();
        let template = format!("{{prefix:>12}} {{spinner}} {{human_pos}} {unit} ({{per_sec}}) {{msg}}");
        bar.set_style(ProgressStyle::with_template(&template).unwrap_or_else(|_| ProgressStyle::default_spinner()));
        bar.set_prefix(label.to_string());
        Progress { bar }
    }

    /// Moves to step `position` and shows `message`.
    pub fn set(&self, position: u64, message: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_message(message);
        self.bar.set_position(position);
    }

    /// Advances by `n` steps, keeping the message.
    pub fn advance(&self, n: u64) {
        self.bar.inc(n);
    }

    /// Advances by one step and shows `message` (e.g. the running loss).
    pub fn step(&self, message: impl Into<std::borrow::Cow<'static, str>>) {
        self.bar.set_message(message);
        self.bar.inc(1);
    }

    /// Removes the bar.
    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}
