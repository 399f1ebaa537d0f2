//! The wgpu side of the backend: adapter and device selection, the pipeline cache, command
//! recording with batched submission, and read-back that never hangs.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tensor_core::locks;
use wgpu::util::DeviceExt;

/// Why the GPU backend could not start, run an op or finish a transfer.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GpuError {
    /// No adapter matched the environment (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`).
    #[error(
        "no GPU adapter found ({reason}); on a machine without a GPU install Mesa's lavapipe \
         (`apt-get install mesa-vulkan-drivers`) and set WGPU_BACKEND=vulkan"
    )]
    NoAdapter {
        /// What wgpu said.
        reason: String,
    },
    /// The adapter lacks a feature the backend needs.
    #[error("adapter {adapter} lacks {feature}, which the GPU backend needs for i64 index tensors")]
    MissingFeature {
        /// Adapter name.
        adapter: String,
        /// The missing feature.
        feature: &'static str,
    },
    /// The adapter refused to open a device.
    #[error("adapter {adapter} refused to open a device: {reason}")]
    RequestDevice {
        /// Adapter name.
        adapter: String,
        /// What wgpu said.
        reason: String,
    },
    /// A read-back did not complete in time.
    #[error("reading a buffer back did not finish within {seconds} s")]
    Timeout {
        /// The limit that passed.
        seconds: u64,
    },
    /// Mapping a buffer for read-back failed.
    #[error("mapping a buffer for read-back failed: {0}")]
    Map(String),
    /// A buffer larger than the adapter allows (or than the kernels' 32-bit indices reach).
    #[error("{op}: a buffer of {bytes} bytes exceeds the adapter's limit of {limit} bytes ({what})")]
    TooLarge {
        /// The op that asked for it.
        op: &'static str,
        /// The bytes asked for.
        bytes: u64,
        /// The limit.
        limit: u64,
        /// Which limit.
        what: &'static str,
    },
    /// The GPU ran out of memory while an op created its buffers or pipelines.
    #[error("{op}: the GPU is out of memory: {message}")]
    OutOfMemory {
        /// The op that ran.
        op: &'static str,
        /// What wgpu said.
        message: String,
    },
    /// wgpu refused a buffer, pipeline or dispatch (a shader or limit the adapter rejects).
    #[error("{op}: wgpu rejected the work: {message}")]
    Validation {
        /// The op that ran.
        op: &'static str,
        /// What wgpu said.
        message: String,
    },
    /// An error that wgpu reported outside any op's scope (from a submission), surfaced at the
    /// next wait or read-back.
    #[error("the GPU reported an error during submitted work: {0}")]
    Uncaptured(String),
}

/// How long a read-back may wait for the GPU before it becomes [`GpuError::Timeout`].
const READBACK_TIMEOUT: Duration = Duration::from_secs(120);

/// Compute passes recorded before the encoder is submitted without being asked.
const PASSES_PER_SUBMIT: usize = 48;

/// Threads per workgroup of the one-thread-per-element kernels.
pub(crate) const WORKGROUP: u32 = 256;

/// Most workgroups along one dispatch dimension (WebGPU's guaranteed limit).
const MAX_GROUPS_PER_DIM: u32 = 65_535;

struct Pending {
    encoder: Option<wgpu::CommandEncoder>,
    passes: usize,
}

/// An open GPU: device, queue, compiled pipelines and the commands not yet submitted.
pub(crate) struct Gpu {
    pub(crate) device: wgpu::Device,
    queue: wgpu::Queue,
    pub(crate) info: wgpu::AdapterInfo,
    pipelines: Mutex<HashMap<String, Arc<wgpu::ComputePipeline>>>,
    pending: Mutex<Pending>,
    /// The first error wgpu reported outside an error scope (instead of its default handler,
    /// which panics); taken by the next [`Gpu::wait`] or [`Gpu::read`].
    uncaptured: Arc<Mutex<Option<String>>>,
    /// The first kernel wgpu rejected since the enclosing [`Gpu::scoped`] began.
    rejected: Mutex<Option<String>>,
}

impl Gpu {
    /// Opens the adapter the environment asks for (`WGPU_BACKEND`, `WGPU_ADAPTER_NAME`,
    /// `WGPU_POWER_PREF`), or the default one.
    pub(crate) fn open() -> Result<Gpu, GpuError> {
        let instance = wgpu::Instance::new(wgpu::InstanceDescriptor::new_without_display_handle_from_env());
        let adapter = pollster::block_on(wgpu::util::initialize_adapter_from_env_or_default(&instance, None))
            .map_err(|e| GpuError::NoAdapter { reason: e.to_string() })?;
        let info = adapter.get_info();
        if !adapter.features().contains(wgpu::Features::SHADER_INT64) {
            return Err(GpuError::MissingFeature { adapter: info.name, feature: "SHADER_INT64" });
        }
        let descriptor = wgpu::DeviceDescriptor {
            label: Some("tessera"),
            required_features: wgpu::Features::SHADER_INT64,
            required_limits: adapter.limits(),
            ..Default::default()
        };
        let (device, queue) = pollster::block_on(adapter.request_device(&descriptor))
            .map_err(|e| GpuError::RequestDevice { adapter: info.name.clone(), reason: e.to_string() })?;
        let uncaptured: Arc<Mutex<Option<String>>> = Arc::default();
        let slot = uncaptured.clone();
        device.on_uncaptured_error(Arc::new(move |error: wgpu::Error| {
            locks::lock(&slot).get_or_insert_with(|| error.to_string());
        }));
        Ok(Gpu {
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending { encoder: None, passes: 0 }),
            uncaptured,
            rejected: Mutex::new(None),
        })
    }

    /// Runs `work` (which creates buffers, pipelines and dispatches) inside out-of-memory and
    /// validation error scopes, so wgpu's complaints become a typed error for `op` instead of
    /// a panic in its default handler.
    pub(crate) fn scoped<T>(&self, op: &'static str, work: impl FnOnce() -> T) -> Result<T, GpuError> {
        let out_of_memory = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = work();
        let rejected = pollster::block_on(validation.pop()).map(|e| e.to_string());
        let exhausted = pollster::block_on(out_of_memory.pop());
        let kernel = locks::lock(&self.rejected).take();
        match (exhausted, kernel.or(rejected)) {
            (Some(error), _) => Err(GpuError::OutOfMemory { op, message: error.to_string() }),
            (None, Some(message)) => Err(GpuError::Validation { op, message }),
            (None, None) => Ok(result),
        }
    }

    /// Checks that a buffer of `bytes` fits the adapter's limits (and the kernels' i32
    /// element indices, for `elements`).
    pub(crate) fn check_size(&self, op: &'static str, bytes: u64, elements: usize) -> Result<(), GpuError> {
        let limits = self.device.limits();
        let checks = [
            (MAX_ELEMENTS as u64 * 4, elements as u64 * 4, "2^31 elements per buffer, the kernels' i32 indices"),
            (limits.max_buffer_size, bytes, "max_buffer_size"),
            (limits.max_storage_buffer_binding_size, bytes, "max_storage_buffer_binding_size"),
        ];
        match checks.into_iter().find(|&(limit, asked, _)| asked > limit) {
            Some((limit, asked, what)) => Err(GpuError::TooLarge { op, bytes: asked, limit, what }),
            None => Ok(()),
        }
    }

    /// The error wgpu reported outside any scope since the last call, if any.
    fn take_uncaptured(&self) -> Result<(), GpuError> {
        match locks::lock(&self.uncaptured).take() {
            Some(message) => Err(GpuError::Uncaptured(message)),
            None => Ok(()),
        }
    }

    /// The pipeline compiled from `source` (cached under `key`: compiled once per process).
    /// A shader wgpu rejects is not cached; its complaint is kept for the enclosing
    /// [`Gpu::scoped`], which turns it into an error of the op.
    pub(crate) fn pipeline(&self, key: &str, source: impl FnOnce() -> String) -> Arc<wgpu::ComputePipeline> {
        let mut cache = locks::lock(&self.pipelines);
        if let Some(p) = cache.get(key) {
            return p.clone();
        }
        let scope = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let module = self.device.create_shader_module(wgpu::ShaderModuleDescriptor {
            label: Some(key),
            source: wgpu::ShaderSource::Wgsl(source().into()),
        });
        let pipeline = Arc::new(self.device.create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
            label: Some(key),
            layout: None,
            module: &module,
            entry_point: Some("main"),
            compilation_options: Default::default(),
            cache: None,
        }));
        match pollster::block_on(scope.pop()) {
            None => {
                cache.insert(key.to_string(), pipeline.clone());
            }
            Some(error) => {
                locks::lock(&self.rejected).get_or_insert_with(|| format!("kernel {key}: {error}"));
            }
        }
        pipeline
    }

    /// Number of pipelines compiled so far.
    pub(crate) fn pipelines_compiled(&self) -> usize {
        locks::lock(&self.pipelines).len()
    }

    /// A buffer of `bytes` bytes (at least 4) for storage, copies and read-back sources.
    pub(crate) fn buffer(&self, bytes: usize) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: None,
            size: bytes.max(4).next_multiple_of(4) as u64,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    /// A storage buffer holding `bytes` (padded to at least 4 bytes).
    pub(crate) fn buffer_with(&self, bytes: &[u8]) -> wgpu::Buffer {
        if bytes.len() >= 4 && bytes.len().is_multiple_of(4) {
            return self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: None,
                contents: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            });
        }
        let mut padded = bytes.to_vec();
        padded.resize(bytes.len().max(4).next_multiple_of(4), 0);
        self.buffer_with(&padded)
    }

    /// Records one dispatch of `pipeline` over `groups` workgroups (spread over two dimensions
    /// when needed), with `meta` at binding 0 and `buffers` at bindings 1, 2, ...
    pub(crate) fn dispatch(
        &self,
        pipeline: &wgpu::ComputePipeline,
        meta: &[i32],
        buffers: &[&wgpu::Buffer],
        groups: u32,
    ) {
        if groups == 0 {
            return;
        }
        let meta_buffer = self.buffer_with(bytemuck::cast_slice(meta));
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: meta_buffer.as_entire_binding() }];
        for (i, b) in buffers.iter().enumerate() {
            entries.push(wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() });
        }
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let x = groups.min(MAX_GROUPS_PER_DIM);
        let y = groups.div_ceil(x);
        self.record(|encoder| {
            let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor::default());
            pass.set_pipeline(pipeline);
            pass.set_bind_group(0, &bind_group, &[]);
            pass.dispatch_workgroups(x, y, 1);
        });
    }

    /// Records a buffer-to-buffer copy.
    pub(crate) fn copy(&self, src: &wgpu::Buffer, src_offset: u64, dst: &wgpu::Buffer, dst_offset: u64, bytes: u64) {
        if bytes > 0 {
            self.record(|encoder| encoder.copy_buffer_to_buffer(src, src_offset, dst, dst_offset, bytes));
        }
    }

    fn record(&self, f: impl FnOnce(&mut wgpu::CommandEncoder)) {
        let mut pending = locks::lock(&self.pending);
        let encoder = pending
            .encoder
            .get_or_insert_with(|| self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor::default()));
        f(encoder);
        pending.passes += 1;
        if pending.passes >= PASSES_PER_SUBMIT {
            self.submit(&mut pending);
        }
    }

    fn submit(&self, pending: &mut Pending) {
        if let Some(encoder) = pending.encoder.take() {
            self.queue.submit([encoder.finish()]);
            // Lets wgpu free the buffers whose last use has completed.
            let _ = self.device.poll(wgpu::PollType::Poll);
        }
        pending.passes = 0;
    }

    /// Submits everything recorded so far.
    pub(crate) fn flush(&self) {
        let mut pending = locks::lock(&self.pending);
        self.submit(&mut pending);
    }

    /// Waits until all submitted work has finished.
    pub(crate) fn wait(&self) -> Result<(), GpuError> {
        self.flush();
        self.take_uncaptured()?;
        let deadline = Instant::now() + READBACK_TIMEOUT;
        loop {
            let poll = self
                .device
                .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(Duration::from_secs(1)) });
            match poll {
                Ok(_) => return self.take_uncaptured(),
                Err(wgpu::PollError::Timeout) if Instant::now() < deadline => continue,
                Err(wgpu::PollError::Timeout) => return Err(GpuError::Timeout { seconds: READBACK_TIMEOUT.as_secs() }),
                Err(e) => return Err(GpuError::Map(e.to_string())),
            }
        }
    }

    /// Copies `bytes` bytes from `src` (at `offset`, 4-byte aligned) to the host. Polls until the
    /// map callback has arrived, so it neither hangs nor misses it; past the time-out it fails.
    pub(crate) fn read(&self, src: &wgpu::Buffer, offset: u64, bytes: usize) -> Result<Vec<u8>, GpuError> {
        if bytes == 0 {
            return Ok(Vec::new());
        }
        let padded = bytes.next_multiple_of(4) as u64;
        let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("read-back"),
            size: padded,
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        self.copy(src, offset, &staging, 0, padded);
        self.flush();
        let (sender, receiver) = mpsc::channel();
        staging.slice(..).map_async(wgpu::MapMode::Read, move |outcome| {
            let _ = sender.send(outcome);
        });
        let deadline = Instant::now() + READBACK_TIMEOUT;
        let outcome = loop {
            if let Ok(outcome) = receiver.try_recv() {
                break outcome;
            }
            if Instant::now() >= deadline {
                return Err(GpuError::Timeout { seconds: READBACK_TIMEOUT.as_secs() });
            }
            let _ = self
                .device
                .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(Duration::from_millis(200)) });
        };
        outcome.map_err(|e| GpuError::Map(e.to_string()))?;
        self.take_uncaptured()?;
        let data = staging.slice(..).get_mapped_range().map_err(|e| GpuError::Map(e.to_string()))?[..bytes].to_vec();
        staging.unmap();
        Ok(data)
    }
}

/// Most elements one buffer may hold: the kernels index elements with WGSL's `i32`.
pub(crate) const MAX_ELEMENTS: usize = i32::MAX as usize;

/// Workgroups needed for `threads` threads of [`WORKGROUP`] each. Every buffer holds at most
/// [`MAX_ELEMENTS`] (checked when it is made), so the count fits: at most 2^23 workgroups.
pub(crate) fn groups_for(threads: usize) -> u32 {
    debug_assert!(threads <= MAX_ELEMENTS, "{threads} threads for buffers of at most {MAX_ELEMENTS}");
    threads.min(MAX_ELEMENTS).div_ceil(WORKGROUP as usize) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_shader_wgpu_rejects_is_an_error_of_the_op() {
        let Some(gpu) = test_support::require("a GPU adapter", crate::GpuDevice::shared_gpu()) else { return };
        let outcome = gpu.gpu.scoped("broken", || gpu.gpu.pipeline("broken-shader", || "fn main( {".to_string()));
        match outcome {
            Err(GpuError::Validation { op, message }) => {
                assert_eq!(op, "broken");
                assert!(!message.is_empty());
            }
            other => panic!("expected a validation error, got {:?}", other.map(|_| "a pipeline")),
        }
        // The rejected kernel was not cached, and the device keeps working for valid work.
        assert!(!locks::lock(&gpu.gpu.pipelines).contains_key("broken-shader"));
        let fine = gpu.gpu.scoped("fine", || gpu.gpu.buffer(64));
        assert!(fine.is_ok());
    }
}
