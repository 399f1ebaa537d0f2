//! `DataParallel`: PyTorch's DistributedDataParallel over [`Mpi`]. Rank 0's parameters and
//! buffers are broadcast at the start; each backward averages the gradients over the ranks in
//! size-bounded buckets, started from the autograd hook as soon as a bucket's gradients are
//! final (overlapping the rest of backward), always in the plan's order, so every rank applies
//! the same update.

use std::collections::HashMap;
use std::time::Instant;

use autograd::Var;
use mpi::collective::{CommunicatorCollectives, SystemOperation};
use mpi::request::{LocalScope, RequestCollection};
use nn_layers::train::Replicas;
use nn_layers::{Module, ModuleExt};
use tensor_core::{DType, Tensor};

use crate::buckets::BucketPlan;
use crate::{DistError, Mpi, Result};

/// Settings of [`DataParallel`].
#[derive(Clone, Copy, Debug)]
pub struct DdpConfig {
    /// Upper bound of one all-reduce, in bytes (PyTorch's `bucket_cap_mb`); a larger
    /// parameter travels alone.
    pub bucket_bytes: usize,
    /// Start each bucket's all-reduce during backward (true) or all of them after it (false,
    /// for measuring what overlap hides).
    pub overlap: bool,
}

impl Default for DdpConfig {
    /// 1 MiB buckets, overlapped: the models here are small, so smaller buckets than
    /// PyTorch's 25 MB give backward something to overlap.
    fn default() -> Self {
        DdpConfig { bucket_bytes: 1 << 20, overlap: true }
    }
}

/// Where the time of the backward passes went, summed since the start (or the last reset).
#[derive(Clone, Copy, Debug, Default)]
pub struct CommStats {
    /// Backward passes run.
    pub steps: usize,
    /// Seconds from the start of backward to the averaged gradients being in place.
    pub backward_seconds: f64,
    /// Seconds spent waiting for all-reduces after backward finished (communication that
    /// overlap did not hide), plus copying the results back.
    pub exposed_seconds: f64,
    /// Buckets whose all-reduce started while backward was still running.
    pub overlapped_buckets: usize,
    /// Buckets all-reduced in all.
    pub buckets: usize,
    /// Bytes all-reduced per rank.
    pub bytes: usize,
}

/// Data-parallel training of one model over every rank of an MPI job; a [`Replicas`] for the
/// training loops (`nn_layers::train::fit_classifier_on`, the language-model trainer).
pub struct DataParallel<'m> {
    mpi: &'m Mpi,
    config: DdpConfig,
    leaves: Vec<Var>,
    index: HashMap<usize, usize>,
    plan: BucketPlan,
    send: Vec<Vec<f32>>,
    recv: Vec<Vec<f32>>,
    stats: CommStats,
}

impl<'m> DataParallel<'m> {
    /// Takes `model`'s trainable parameters (f32; frozen ones are left out), copies rank 0's
    /// parameters and buffers to every rank, and plans the buckets.
    pub fn new(mpi: &'m Mpi, model: &dyn Module, config: DdpConfig) -> Result<DataParallel<'m>> {
        broadcast_module(mpi, model)?;
        let params: Vec<_> = model.parameters().into_iter().filter(|(_, p)| !p.is_frozen()).collect();
        for (name, p) in &params {
            if p.value().dtype() != DType::F32 {
                return Err(DistError::DType { name: name.clone(), dtype: p.value().dtype() });
            }
        }
        let leaves: Vec<Var> = params.iter().map(|(_, p)| p.leaf().clone()).collect();
        let lens: Vec<usize> = leaves.iter().map(|v| v.value().numel()).collect();
        let plan = BucketPlan::new(&lens, (config.bucket_bytes / 4).max(1));
        let index = leaves.iter().enumerate().map(|(i, v)| (v.id(), i)).collect();
        let send = plan.sizes.iter().map(|&n| vec![0.0; n]).collect();
        // Over shared memory the sums land in the send buffers.
        let recv = plan.sizes.iter().map(|&n| vec![0.0; if mpi.shared_memory() { 0 } else { n }]).collect();
        Ok(DataParallel { mpi, config, leaves, index, plan, send, recv, stats: CommStats::default() })
    }

    /// The bucket plan (the same on every rank).
    pub fn plan(&self) -> &BucketPlan {
        &self.plan
    }

    /// Where backward's time went so far.
    pub fn stats(&self) -> CommStats {
        self.stats
    }

    /// Clears [`DataParallel::stats`] (after a warm-up).
    pub fn reset_stats(&mut self) {
        self.stats = CommStats::default();
    }

    /// A hash of every parameter's bits (FNV-1a over the f32 values in order).
    pub fn parameters_hash(&self) -> Result<u64> {
        let mut hash = 0xcbf2_9ce4_8422_2325u64;
        for leaf in &self.leaves {
            for x in leaf.value().to_vec::<f32>()? {
                for byte in x.to_bits().to_le_bytes() {
                    hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
                }
            }
        }
        Ok(hash)
    }

    /// Checks that every rank holds bit-identical parameters ([`DistError::OutOfSync`] with
    /// every rank's hash otherwise).
    pub fn check_in_sync(&self) -> Result<u64> {
        let hashes = self.mpi.all_gather_u64(self.parameters_hash()?);
        if hashes.iter().any(|&h| h != hashes[0]) {
            return Err(DistError::OutOfSync(hashes));
        }
        Ok(hashes[0])
    }

    /// Copies bucket `bucket`'s gradients, times `scale`, into its send buffer (zeros for a
    /// parameter without a gradient).
    fn fill(&self, bucket: usize, send: &mut [f32], scale: f32) -> Result<()> {
        for slot in self.plan.members(bucket) {
            let out = &mut send[slot.offset..slot.offset + slot.len];
            match self.leaves[slot.param].grad() {
                Some(grad) => {
                    for (o, g) in out.iter_mut().zip(grad.to_vec::<f32>()?) {
                        *o = g * scale;
                    }
                }
                None => out.fill(0.0),
            }
        }
        Ok(())
    }

    /// The buckets that `leaf`'s final gradient makes ready, in bucket order: counts the leaf
    /// off its bucket, then moves `next` past every bucket from `next` on whose gradients are
    /// all final and returns them. None while [`DdpConfig::overlap`] is off: every bucket then
    /// waits for the end of backward.
    fn newly_ready(&self, leaf: usize, left: &mut [usize], next: &mut usize) -> std::ops::Range<usize> {
        let start = *next;
        if !self.config.overlap {
            return start..start;
        }
        if let Some(&param) = self.index.get(&leaf) {
            left[self.plan.slots[param].bucket] -= 1;
        }
        while *next < left.len() && left[*next] == 0 {
            *next += 1;
        }
        start..*next
    }

    /// Backward over shared memory: each bucket, once ready (in order; all after backward
    /// without [`DdpConfig::overlap`]), is filled and summed in place, blocking until every
    /// rank has summed it; the sums land in `self.send`. The time spent in those all-reduces
    /// counts as exposed: nothing runs beside them.
    fn reduce_shared(&mut self, loss: Option<&Var>, scale: f32) -> Result<()> {
        let buckets = self.plan.sizes.len();
        let mut left: Vec<usize> = (0..buckets).map(|b| self.plan.members(b).count()).collect();
        let mut send = std::mem::take(&mut self.send);
        let this = &*self;
        let (mut next, mut overlapped, mut exposed) = (0usize, 0usize, 0.0);
        let mut first_error: Option<DistError> = None;
        let run = |bucket: usize, send: &mut Vec<f32>, exposed: &mut f64| {
            let filled = this.fill(bucket, send, scale);
            let started = Instant::now();
            // Summed even when filling failed, so that the ranks' all-reduces stay matched.
            let summed = this.mpi.sum_f32(send);
            *exposed += started.elapsed().as_secs_f64();
            filled.and(summed)
        };
        if let Some(loss) = loss {
            let backward = loss.backward_with_hook(&mut |leaf| {
                for bucket in this.newly_ready(leaf.id(), &mut left, &mut next) {
                    if let Err(error) = run(bucket, &mut send[bucket], &mut exposed) {
                        first_error.get_or_insert(error);
                    }
                    overlapped += 1;
                }
                Ok(())
            });
            if let Err(error) = backward {
                first_error.get_or_insert(error.into());
            }
        }
        while next < buckets {
            if let Err(error) = run(next, &mut send[next], &mut exposed) {
                first_error.get_or_insert(error);
            }
            next += 1;
        }
        self.send = send;
        self.stats.overlapped_buckets += overlapped;
        self.stats.exposed_seconds += exposed;
        first_error.map_or(Ok(()), Err)
    }

    /// Backward with the buckets all-reduced as they become ready (see [`DdpConfig::overlap`]);
    /// the sums land in `self.recv`.
    fn reduce(&mut self, loss: Option<&Var>, scale: f32) -> Result<()> {
        let buckets = self.plan.sizes.len();
        let mut left: Vec<usize> = (0..buckets).map(|b| self.plan.members(b).count()).collect();
        let mut send = std::mem::take(&mut self.send);
        let mut recv = std::mem::take(&mut self.recv);
        let this = &*self;
        let (mut next, mut overlapped) = (0usize, 0usize);
        let mut exposed = 0.0;
        let result = mpi::request::multiple_scope(buckets, |scope, requests| {
            let mut sends: Vec<Option<&mut Vec<f32>>> = send.iter_mut().map(Some).collect();
            let mut recvs: Vec<Option<&mut Vec<f32>>> = recv.iter_mut().map(Some).collect();
            let mut first_error: Option<DistError> = None;
            if let Some(loss) = loss {
                let mut done = Vec::new();
                let backward = loss.backward_with_hook(&mut |leaf| {
                    for bucket in this.newly_ready(leaf.id(), &mut left, &mut next) {
                        let (out, into) = (sends[bucket].take(), recvs[bucket].take());
                        if let Err(error) = this.launch(scope, requests, bucket, out, into, scale) {
                            first_error.get_or_insert(error);
                        }
                        overlapped += 1;
                    }
                    // Gives MPI a chance to progress the buckets in flight (Testsome answers
                    // MPI_UNDEFINED, which rsmpi cannot take, when none is in flight).
                    if requests.incomplete() > 0 {
                        requests.test_some(&mut done);
                    }
                    Ok(())
                });
                if let Err(error) = backward {
                    first_error.get_or_insert(error.into());
                }
            }
            let waiting = Instant::now();
            while next < buckets {
                let (out, into) = (sends[next].take(), recvs[next].take());
                if let Err(error) = this.launch(scope, requests, next, out, into, scale) {
                    first_error.get_or_insert(error);
                }
                next += 1;
            }
            let mut done = Vec::new();
            if requests.incomplete() > 0 {
                requests.wait_all(&mut done);
            }
            exposed = waiting.elapsed().as_secs_f64();
            first_error.map_or(Ok(()), Err)
        });
        self.send = send;
        self.recv = recv;
        self.stats.overlapped_buckets += overlapped;
        self.stats.exposed_seconds += exposed;
        result
    }

    /// Fills bucket `bucket`'s send buffer and starts its all-reduce into `recv`. The
    /// all-reduce starts even when filling failed, so the ranks' collectives stay matched.
    fn launch<'a>(
        &self,
        scope: &LocalScope<'a>,
        requests: &mut RequestCollection<'a, [f32]>,
        bucket: usize,
        send: Option<&'a mut Vec<f32>>,
        recv: Option<&'a mut Vec<f32>>,
        scale: f32,
    ) -> Result<()> {
        let (Some(send), Some(recv)) = (send, recv) else { unreachable!("each bucket is launched once, in order") };
        let filled = self.fill(bucket, send, scale);
        let send: &'a Vec<f32> = send;
        let world = self.mpi.world();
        requests.add(world.immediate_all_reduce_into(scope, &send[..], &mut recv[..], SystemOperation::sum()));
        filled
    }

    /// Writes the averaged gradients from the buckets' sums into the parameters.
    fn write_back(&self, sums: &[Vec<f32>]) -> Result<()> {
        for slot in &self.plan.slots {
            let leaf = &self.leaves[slot.param];
            let value = leaf.value();
            let data = sums[slot.bucket][slot.offset..slot.offset + slot.len].to_vec();
            leaf.set_grad(Some(Tensor::from_vec(data, value.shape().clone(), value.device())?));
        }
        Ok(())
    }
}

impl Replicas for DataParallel<'_> {
    fn rank(&self) -> usize {
        self.mpi.rank()
    }

    fn world(&self) -> usize {
        self.mpi.size()
    }

    fn backward(&mut self, loss: Option<&Var>, local: usize, global: usize) -> nn_layers::Result<()> {
        let started = Instant::now();
        let scale = local as f32 / global.max(1) as f32;
        let shared = self.mpi.shared_memory();
        let reduced = if shared { self.reduce_shared(loss, scale) } else { self.reduce(loss, scale) };
        let result = reduced.and_then(|()| {
            let copying = Instant::now();
            self.write_back(if shared { &self.send } else { &self.recv })?;
            self.stats.exposed_seconds += copying.elapsed().as_secs_f64();
            Ok(())
        });
        self.stats.steps += 1;
        self.stats.buckets += self.plan.sizes.len();
        self.stats.bytes += 4 * self.plan.sizes.iter().sum::<usize>();
        self.stats.backward_seconds += started.elapsed().as_secs_f64();
        Ok(result?)
    }

    fn sum(&mut self, values: &mut [f64]) -> nn_layers::Result<()> {
        Ok(self.mpi.sum_f64(values)?)
    }
}

/// Replaces every rank's parameters and buffers by rank 0's (f32 and f64 ones bit for bit,
/// others through f64), in the model's order.
pub fn broadcast_module(mpi: &Mpi, model: &dyn Module) -> Result<()> {
    let params = model.parameters();
    let buffers = model.buffers();
    let values = params.iter().map(|(_, p)| p.value()).chain(buffers.iter().map(|(_, b)| b.value()));
    let mut updated = Vec::new();
    for value in values {
        let dtype = value.dtype();
        let mut bits: Vec<f32> = match dtype {
            DType::F32 => value.to_vec::<f32>()?,
            // Two f32 words per f64 or i64 element, bit for bit.
            _ => value
                .try_cast(DType::F64)?
                .to_vec::<f64>()?
                .iter()
                .flat_map(|x| {
                    let b = x.to_bits();
                    [f32::from_bits(b as u32), f32::from_bits((b >> 32) as u32)]
                })
                .collect(),
        };
        mpi.broadcast_f32(&mut bits);
        let tensor = match dtype {
            DType::F32 => Tensor::from_vec(bits, value.shape().clone(), value.device())?,
            _ => {
                let wide: Vec<f64> = bits
                    .chunks(2)
                    .map(|w| f64::from_bits(u64::from(w[0].to_bits()) | (u64::from(w[1].to_bits()) << 32)))
                    .collect();
                Tensor::from_vec(wide, value.shape().clone(), value.device())?.try_cast(dtype)?
            }
        };
        updated.push(tensor);
    }
    let mut updated = updated.into_iter();
    for (_, p) in &params {
        p.set_value(updated.next().expect("one value per parameter"))?;
    }
    for (_, b) in &buffers {
        b.set_value(updated.next().expect("one value per buffer"))?;
    }
    Ok(())
}
