//! The core of reverse-mode differentiation, in one place: ops record a node (their inputs and
//! a backward closure) when an input needs a gradient; `backward` orders the nodes
//! topologically and applies each closure once, in reverse, accumulating gradients.

use std::cell::Cell;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tensor_core::{Result, Tensor, TensorError};

use crate::Var;

/// A backward rule: given the gradient of the op's output, the gradients of its inputs
/// (`None` for inputs that need none). Run at most once, then dropped with what it saved.
pub(crate) type BackwardFn = Box<dyn FnOnce(&Tensor) -> Result<Vec<Option<Tensor>>> + Send + Sync>;

/// What an op recorded: its inputs and its backward rule.
pub(crate) struct Node {
    pub(crate) inputs: Vec<Var>,
    pub(crate) backward: BackwardFn,
    /// Set for `narrow` (axis, start): its gradient is added in place into the matching slice
    /// of one buffer per input, instead of a zero-padded full-size tensor per slice. A sequence
    /// split into T steps then costs O(T) in the backward, not O(T²).
    pub(crate) slice_of: Option<(usize, usize)>,
    /// Where the op's rule recorded it, for anomaly reports.
    pub(crate) op: &'static std::panic::Location<'static>,
}

thread_local! {
    static GRAD_ENABLED: Cell<bool> = const { Cell::new(true) };
}

/// Whether ops currently record graph nodes (false inside [`no_grad`]).
pub fn is_grad_enabled() -> bool {
    GRAD_ENABLED.with(Cell::get)
}

/// Runs `f` without recording any graph (inference, optimizer updates); restores the previous
/// mode afterwards, even if `f` panics.
pub fn no_grad<T>(f: impl FnOnce() -> T) -> T {
    struct Restore(bool);
    impl Drop for Restore {
        fn drop(&mut self) {
            GRAD_ENABLED.with(|g| g.set(self.0));
        }
    }
    let _restore = Restore(GRAD_ENABLED.with(|g| g.replace(false)));
    f()
}

fn key(var: &Var) -> usize {
    Arc::as_ptr(&var.inner) as *const () as usize
}

/// The non-leaf vars reachable from `root`, each after every var that uses it.
fn topological_order(root: &Var) -> Vec<Var> {
    let mut order = Vec::new();
    let mut visited = HashSet::new();
    // Iterative post-order DFS: (var, inputs already pushed).
    let mut stack = vec![(root.clone(), false)];
    while let Some((var, expanded)) = stack.pop() {
        if expanded {
            order.push(var);
            continue;
        }
        if !visited.insert(key(&var)) {
            continue;
        }
        if var.is_leaf() {
            continue;
        }
        // A freed node keeps its place in the order, so `backward` reports it.
        let inputs = var.node_inputs().unwrap_or_default();
        stack.push((var, true));
        for input in inputs {
            if input.requires_grad() && !visited.contains(&key(&input)) {
                stack.push((input, false));
            }
        }
    }
    order.reverse();
    order
}

/// Called with each leaf once its gradient of this backward pass is final (see
/// [`Var::backward_with_hook`]).
pub(crate) type ReadyHook<'a> = &'a mut dyn FnMut(&Var) -> Result<()>;

/// How many recorded uses each leaf that requires a gradient has in `order`: its gradient is
/// final once that many nodes have been applied (the counts a gradient-ready hook waits on).
fn leaf_uses(order: &[Var]) -> HashMap<usize, (Var, usize)> {
    let mut uses: HashMap<usize, (Var, usize)> = HashMap::new();
    for var in order {
        for input in var.node_inputs().unwrap_or_default() {
            if input.is_leaf() && input.requires_grad() {
                uses.entry(key(&input)).or_insert_with(|| (input.clone(), 0)).1 += 1;
            }
        }
    }
    uses
}

/// Back-propagates `seed` (the gradient of `root`) to every leaf that requires a gradient,
/// adding into the leaves' `.grad()`. Frees the graph as it goes. With `ready`, each leaf is
/// passed to it as soon as the last node that uses it has been applied, so a caller can start
/// work on that gradient (an all-reduce) while earlier layers are still being differentiated;
/// leaves no applied node reached are passed at the end, in order of first use.
pub(crate) fn backward(root: &Var, seed: Tensor, mut ready: Option<ReadyHook<'_>>) -> Result<()> {
    if !root.requires_grad() {
        return Err(TensorError::invalid("backward", "the output does not depend on any var that requires a gradient"));
    }
    if root.is_leaf() {
        root.accumulate_grad(seed)?;
        return match ready {
            Some(hook) => hook(root),
            None => Ok(()),
        };
    }
    let order = topological_order(root);
    let mut uses = if ready.is_some() { leaf_uses(&order) } else { HashMap::new() };
    let mut first_use: Vec<usize> = Vec::new();
    if ready.is_some() {
        let mut seen = HashSet::new();
        for var in &order {
            for input in var.node_inputs().unwrap_or_default() {
                let k = key(&input);
                if uses.contains_key(&k) && seen.insert(k) {
                    first_use.push(k);
                }
            }
        }
    }
    let mut pending: HashMap<usize, Tensor> = HashMap::from([(key(root), seed)]);
    // Pending gradients this pass allocated itself, which slices may be added into in place.
    let mut owned: HashSet<usize> = HashSet::new();
    for var in order {
        let Some(grad) = pending.remove(&key(&var)) else { continue };
        let node = var.take_node().ok_or_else(|| {
            TensorError::invalid(
                "backward",
                "the graph was already freed by an earlier backward; run the forward pass again",
            )
        })?;
        if let (Some((axis, start)), [input]) = (node.slice_of, node.inputs.as_slice())
            && input.requires_grad()
            && !input.is_leaf()
        {
            let k = key(input);
            let buffer = match pending.remove(&k) {
                Some(existing) if owned.contains(&k) => existing,
                Some(existing) => existing.try_add(&existing.try_zeros_like()?)?,
                None => input.value().try_zeros_like()?,
            };
            buffer.try_narrow(axis as isize, start, grad.dims()[axis])?.try_add_scaled_(1.0, &grad)?;
            pending.insert(k, buffer);
            owned.insert(k);
            continue;
        }
        let shapes: Vec<Vec<usize>> = if crate::anomaly::enabled() {
            node.inputs.iter().map(|v| v.value().dims().to_vec()).collect()
        } else {
            Vec::new()
        };
        let input_grads = (node.backward)(&grad)?;
        if crate::anomaly::enabled() {
            let produced: Vec<&Tensor> = input_grads.iter().flatten().collect();
            crate::anomaly::check(node.op, "backward", &shapes, &produced);
        }
        for (input, input_grad) in node.inputs.iter().zip(input_grads) {
            let Some(input_grad) = input_grad else { continue };
            if !input.requires_grad() {
                continue;
            }
            if input.is_leaf() {
                input.accumulate_grad(input_grad)?;
                if let Some(hook) = ready.as_mut() {
                    let k = key(input);
                    if let Some((_, left)) = uses.get_mut(&k) {
                        *left -= 1;
                        if *left == 0 {
                            let (leaf, _) = uses.remove(&k).expect("just found");
                            hook(&leaf)?;
                        }
                    }
                }
            } else {
                let k = key(input);
                owned.remove(&k);
                match pending.remove(&k) {
                    Some(existing) => pending.insert(k, existing.try_add(&input_grad)?),
                    None => pending.insert(k, input_grad),
                };
            }
        }
    }
    if let Some(hook) = ready {
        for k in first_use {
            if let Some((leaf, _)) = uses.remove(&k) {
                hook(&leaf)?;
            }
        }
    }
    Ok(())
}
