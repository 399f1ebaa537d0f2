//! The wgpu side of the backend: adapter and device selection, the pipeline cache, command
//! recording with batched submission, and read-back that never hangs.

use std::collections::HashMap;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use wgpu::util::DeviceExt;

/// Why the GPU backend could not start or finish a transfer.
#[derive(Debug, Clone, thiserror::Error)]
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
        Ok(Gpu {
            device,
            queue,
            info,
            pipelines: Mutex::new(HashMap::new()),
            pending: Mutex::new(Pending { encoder: None, passes: 0 }),
        })
    }

    /// The pipeline compiled from `source` (cached under `key`: compiled once per process).
    pub(crate) fn pipeline(&self, key: &str, source: impl FnOnce() -> String) -> Arc<wgpu::ComputePipeline> {
        let mut cache = self.pipelines.lock().expect("pipeline cache lock");
        if let Some(p) = cache.get(key) {
            return p.clone();
        }
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
        cache.insert(key.to_string(), pipeline.clone());
        pipeline
    }

    /// Number of pipelines compiled so far.
    pub(crate) fn pipelines_compiled(&self) -> usize {
        self.pipelines.lock().expect("pipeline cache lock").len()
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
        let mut pending = self.pending.lock().expect("encoder lock");
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
        let mut pending = self.pending.lock().expect("encoder lock");
        self.submit(&mut pending);
    }

    /// Waits until all submitted work has finished.
    pub(crate) fn wait(&self) -> Result<(), GpuError> {
        self.flush();
        let deadline = Instant::now() + READBACK_TIMEOUT;
        loop {
            let poll = self
                .device
                .poll(wgpu::PollType::Wait { submission_index: None, timeout: Some(Duration::from_secs(1)) });
            match poll {
                Ok(_) => return Ok(()),
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
        let data = staging.slice(..).get_mapped_range().map_err(|e| GpuError::Map(e.to_string()))?[..bytes].to_vec();
        staging.unmap();
        Ok(data)
    }
}

/// Workgroups needed for `threads` threads of [`WORKGROUP`] each.
pub(crate) fn groups_for(threads: usize) -> u32 {
    u32::try_from(threads.div_ceil(WORKGROUP as usize)).expect("dispatch larger than 2^32 workgroups")
}
