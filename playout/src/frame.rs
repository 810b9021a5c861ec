//! A panorama frame as it travels from the stitcher through the delay ring to the virtual
//! camera: a reference to pooled memory, never a copy, in system memory (CPU backend) or in
//! GPU memory (CUDA backend).

use shared::gpu::GpuFrame;
use std::sync::Arc;

/// A reference to a stitched panorama.
#[derive(Clone, Debug)]
pub enum FrameRef {
    /// A pooled buffer in system memory.
    Host(gst::Buffer),
    /// A pooled NV12 frame in GPU memory.
    Cuda(GpuFrame),
    /// A system-memory copy of a GPU frame, packed NV12 of the panorama size: only the
    /// `host-copy` benchmark mode makes these (the old design's download and deep copy).
    Downloaded(Arc<Vec<u8>>),
}

impl FrameRef {
    /// Bytes of the frame's pixels.
    pub fn bytes(&self) -> usize {
        match self {
            FrameRef::Host(b) => b.size(),
            FrameRef::Cuda(f) => f.nv12().bytes(),
            FrameRef::Downloaded(v) => v.len(),
        }
    }
}

/// What the delay ring can hold: cheap to clone (a reference), and deep-copyable for the
/// `host-copy` mode.
pub trait RingPayload: Clone {
    /// Bytes a deep copy moves.
    fn bytes(&self) -> usize;
    /// The old design's copy: a new frame in system memory with the same pixels.
    fn deep_copy(&self) -> Self;
}

impl RingPayload for gst::Buffer {
    fn bytes(&self) -> usize {
        self.size()
    }

    fn deep_copy(&self) -> Self {
        let map = self.map_readable().expect("readable frame");
        let mut copy = gst::Buffer::from_mut_slice(map.as_slice().to_vec());
        {
            let c = copy.get_mut().expect("new buffer");
            c.set_pts(self.pts());
            c.set_duration(self.duration());
        }
        copy
    }
}

impl RingPayload for FrameRef {
    fn bytes(&self) -> usize {
        FrameRef::bytes(self)
    }

    fn deep_copy(&self) -> Self {
        match self {
            FrameRef::Host(b) => FrameRef::Host(b.deep_copy()),
            FrameRef::Downloaded(v) => FrameRef::Downloaded(Arc::new(v.as_ref().clone())),
            FrameRef::Cuda(f) => {
                let mut host = vec![0u8; f.nv12().bytes()];
                match f.gpu().download(f.nv12().ptr, &mut host) {
                    Ok(()) => FrameRef::Downloaded(Arc::new(host)),
                    Err(e) => {
                        // Benchmark mode only: keep the reference rather than lose the frame.
                        tracing::error!(message = "Host copy of a GPU frame failed; the reference is kept.", error = %e);
                        self.clone()
                    }
                }
            }
        }
    }
}
