//! The seam between a training loop and data parallelism: a loop written against [`Replicas`]
//! trains alone with [`Alone`] and across processes with an implementation that averages
//! gradients over them (the `distributed` crate's MPI one), with no other change.

use autograd::Var;

use crate::Result;

/// The copies of one training job that split each global batch between them. Every replica
/// runs the same loop on the same global batches; each takes its [`Replicas::shard`] of every
/// batch, and [`Replicas::backward`] leaves every replica holding the gradient of the whole
/// batch's mean loss, so their updates stay identical.
pub trait Replicas {
    /// This replica's index, `0..world()`; replica 0 alone writes files and shows progress.
    fn rank(&self) -> usize;

    /// How many replicas there are.
    fn world(&self) -> usize;

    /// Back-propagates `loss`, the mean over this replica's `local` examples of a global batch
    /// of `global`, and leaves in every parameter's gradient the mean over the whole global
    /// batch (each replica's gradient weighted by `local / global` and summed). `None` when
    /// this replica's shard is empty (a last batch smaller than the world): it contributes
    /// zeros but still takes part.
    fn backward(&mut self, loss: Option<&Var>, local: usize, global: usize) -> Result<()>;

    /// Adds `values` up over the replicas, in place (losses and counts for reporting).
    fn sum(&mut self, values: &mut [f64]) -> Result<()>;

    /// This replica's part of a global batch: a contiguous slice, the first `len % world`
    /// replicas one longer, so the shards of every replica together are the batch.
    fn shard<'a, T>(&self, global: &'a [T]) -> &'a [T]
    where
        Self: Sized,
    {
        &global[shard_range(global.len(), self.rank(), self.world())]
    }
}

/// The positions of replica `rank` of `world` in a batch of `len` (see [`Replicas::shard`]).
pub fn shard_range(len: usize, rank: usize, world: usize) -> std::ops::Range<usize> {
    let world = world.max(1);
    let (base, extra) = (len / world, len % world);
    let start = rank * base + rank.min(extra);
    start..start + base + usize::from(rank < extra)
}

/// Training alone: backward as usual, sums of one.
#[derive(Clone, Copy, Debug, Default)]
pub struct Alone;

impl Replicas for Alone {
    fn rank(&self) -> usize {
        0
    }

    fn world(&self) -> usize {
        1
    }

    fn backward(&mut self, loss: Option<&Var>, _local: usize, _global: usize) -> Result<()> {
        if let Some(loss) = loss {
            loss.backward()?;
        }
        Ok(())
    }

    fn sum(&mut self, _values: &mut [f64]) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::shard_range;

    #[test]
    fn shards_cover_the_batch_once_in_order() {
        for len in [0usize, 1, 5, 64, 65] {
            for world in 1..=4 {
                let mut next = 0;
                for rank in 0..world {
                    let range = shard_range(len, rank, world);
                    assert_eq!(range.start, next);
                    assert!(range.len() + 1 >= len / world && range.len() <= len.div_ceil(world));
                    next = range.end;
                }
                assert_eq!(next, len);
            }
        }
    }
}
