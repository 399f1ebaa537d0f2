//! The `Module` trait: a forward pass plus hierarchically named parameters.

use autograd::Var;
use tensor_core::Result;

use crate::{Buffer, Param};

/// A layer or a model. Parameters are named hierarchically (`encoder.0.weight`), as in PyTorch,
/// so checkpoints interoperate.
pub trait Module: Send + Sync {
    /// Computes the output for `input`.
    fn forward(&self, input: &Var) -> Result<Var>;

    /// Calls `visit(name, param)` for every parameter, names prefixed with `prefix`.
    fn visit_params(&self, prefix: &str, visit: &mut dyn FnMut(&str, &Param));

    /// Calls `visit(name, buffer)` for every buffer (state saved with the model but not
    /// trained, such as running statistics). Most layers have none.
    fn visit_buffers(&self, _prefix: &str, _visit: &mut dyn FnMut(&str, &Buffer)) {}

    /// Switches training behaviour (dropout, batch statistics) on or off; containers pass it
    /// on.
    fn set_training(&self, _training: bool) {}

    /// Reseeds the dropout masks that follow from `seed` (a training loop calls it before each
    /// step with a seed made from the run's position, so a resumed run draws the same masks as
    /// an uninterrupted one). Layers without dropout ignore it; a model forwards it to its
    /// dropout layers.
    fn reseed_dropout(&self, _seed: u64) {}
}

/// Joins a prefix and a name with a dot.
pub fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() { name.to_string() } else { format!("{prefix}.{name}") }
}

/// Conveniences every module gets.
pub trait ModuleExt: Module {
    /// Every parameter with its full name, in definition order.
    fn parameters(&self) -> Vec<(String, Param)> {
        let mut out = Vec::new();
        self.visit_params("", &mut |name, p| out.push((name.to_string(), p.clone())));
        out
    }

    /// Every buffer with its full name, in definition order.
    fn buffers(&self) -> Vec<(String, Buffer)> {
        let mut out = Vec::new();
        self.visit_buffers("", &mut |name, b| out.push((name.to_string(), b.clone())));
        out
    }

    /// Number of scalar weights.
    fn num_weights(&self) -> usize {
        self.parameters().iter().map(|(_, p)| p.value().numel()).sum()
    }

    /// Freezes every parameter whose name matches `pattern` (`*` matches any run of
    /// characters); returns how many matched.
    fn freeze(&self, pattern: &str) -> usize {
        self.set_frozen(pattern, true)
    }

    /// Unfreezes every parameter whose name matches `pattern`; returns how many matched.
    fn unfreeze(&self, pattern: &str) -> usize {
        self.set_frozen(pattern, false)
    }

    /// Sets the frozen flag of matching parameters.
    fn set_frozen(&self, pattern: &str, frozen: bool) -> usize {
        let mut count = 0;
        self.visit_params("", &mut |name, p| {
            if glob_match(pattern, name) {
                p.set_frozen(frozen);
                count += 1;
            }
        });
        count
    }

    /// Training mode (dropout active).
    fn train(&self) {
        self.set_training(true)
    }

    /// Evaluation mode (dropout off).
    fn eval(&self) {
        self.set_training(false)
    }

    /// Clears every gradient.
    fn zero_grad(&self) {
        self.visit_params("", &mut |_, p| p.zero_grad());
    }
}

impl<M: Module + ?Sized> ModuleExt for M {}

/// Whether `name` matches `pattern`, where `*` matches any (possibly empty) run.
pub fn glob_match(pattern: &str, name: &str) -> bool {
    let parts: Vec<&str> = pattern.split('*').collect();
    if parts.len() == 1 {
        return pattern == name;
    }
    let (first, last) = (parts[0], parts[parts.len() - 1]);
    if !name.starts_with(first) || name.len() < first.len() + last.len() || !name.ends_with(last) {
        return false;
    }
    let mut rest = &name[first.len()..name.len() - last.len()];
    for middle in &parts[1..parts.len() - 1] {
        match rest.find(middle) {
            Some(at) => rest = &rest[at + middle.len()..],
            None => return false,
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn globs() {
        assert!(glob_match("encoder.*", "encoder.0.weight"));
        assert!(glob_match("*.bias", "head.bias"));
        assert!(glob_match("*lstm*weight*", "enc.lstm.weight_ih_l0"));
        assert!(!glob_match("encoder.*", "decoder.0.weight"));
        assert!(glob_match("head.weight", "head.weight"));
        assert!(!glob_match("a*a", "a"));
    }
}
