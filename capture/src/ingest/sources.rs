//! The GStreamer description of each camera's source, from the config. Every source ends in
//! raw NV12 at the calibrated size, so the stitcher sees the same thing whatever the camera.

use shared::config::{Backend, CaptureConfig, SourceKind};

/// How one camera's frames are produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// Frames pushed by the synthetic renderer into an `appsrc`.
    Synthetic,
    /// A GStreamer description producing raw video (converted to NV12 after it).
    Launch(String),
    /// A GStreamer description whose decoder (NVDEC) produces NV12 in GPU memory, taken as
    /// it is (`capture.gpu_decode` with the `cuda` backend).
    GpuDecode(String),
}

impl CameraSource {
    /// True when the camera's frames arrive in GPU memory.
    pub fn in_gpu_memory(&self) -> bool {
        matches!(self, CameraSource::GpuDecode(_))
    }
}

/// Jitter buffer latency of RTSP cameras, milliseconds.
pub const RTSP_LATENCY_MS: u64 = 200;

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// True when decoded camera frames should stay in GPU memory: the `cuda` backend with
/// `gpu_decode`, a source that decodes (`files`, `rtsp`), and `nvdec_present` (GStreamer has
/// an NVDEC decoder).
pub fn decode_on_gpu(cfg: &CaptureConfig, nvdec_present: bool) -> bool {
    cfg.backend == Backend::Cuda
        && cfg.gpu_decode
        && nvdec_present
        && matches!(cfg.source, SourceKind::Files | SourceKind::Rtsp)
}

/// The two camera sources of the config (left, right). `validate()` has checked the lists.
/// `gpu_memory`: see [`decode_on_gpu`].
pub fn camera_sources(cfg: &CaptureConfig, gpu_memory: bool) -> [CameraSource; 2] {
    let decoded = |desc: String| {
        if gpu_memory {
            CameraSource::GpuDecode(desc)
        } else {
            CameraSource::Launch(desc)
        }
    };
    [0, 1].map(|i| match cfg.source {
        SourceKind::Synthetic => CameraSource::Synthetic,
        SourceKind::Files => decoded(format!(
            "filesrc location={} ! decodebin",
            quote(&cfg.files[i])
        )),
        SourceKind::Rtsp => decoded(format!(
            "rtspsrc location={} latency={RTSP_LATENCY_MS} ! decodebin",
            quote(&cfg.rtsp[i])
        )),
        SourceKind::V4l2 => {
            CameraSource::Launch(format!("v4l2src device={}", quote(&cfg.devices[i])))
        }
        SourceKind::Custom => CameraSource::Launch(cfg.pipelines[i].clone()),
    })
}

/// The full pipeline description of a camera: its source, conversion to NV12 at the
/// calibrated size, and the `appsink` named `sink`. `sync`: the sink paces frames to their
/// timestamps (files played as a live camera would deliver them).
pub fn camera_pipeline(
    source: &CameraSource,
    width: u32,
    height: u32,
    fps: u32,
    sync: bool,
) -> String {
    let caps = format!("video/x-raw,format=NV12,width={width},height={height}");
    let sink = format!("appsink name=sink sync={sync} max-buffers=4");
    match source {
        CameraSource::Synthetic => format!(
            "appsrc name=src is-live=true format=time caps={caps},framerate={fps}/1 ! queue max-size-buffers=4 ! {sink}"
        ),
        CameraSource::Launch(desc) => format!(
            "{desc} ! videoconvert ! videoscale ! {caps} ! queue max-size-buffers=4 ! {sink}"
        ),
        // No conversion element takes CUDA memory in GStreamer 1.22's nvcodec: the decoder's
        // NV12 goes to the sink as it is, and the stitcher checks its size.
        CameraSource::GpuDecode(desc) => format!(
            "{desc} ! video/x-raw(memory:CUDAMemory),format=NV12 ! queue max-size-buffers=4 ! {sink}"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_source_kind_ends_in_nv12_appsink() {
        let mut cfg = CaptureConfig::default();
        for (kind, field) in [
            (SourceKind::Files, "files"),
            (SourceKind::Rtsp, "rtsp"),
            (SourceKind::V4l2, "devices"),
            (SourceKind::Custom, "pipelines"),
        ] {
            cfg.source = kind;
            let two = vec!["a b".to_string(), "c\"d".to_string()];
            match field {
                "files" => cfg.files = two,
                "rtsp" => cfg.rtsp = two,
                "devices" => cfg.devices = two,
                _ => cfg.pipelines = vec!["videotestsrc".into(), "videotestsrc".into()],
            }
            for s in camera_sources(&cfg, false) {
                let d = camera_pipeline(&s, 960, 540, 25, false);
                assert!(d.contains("format=NV12,width=960,height=540"), "{d}");
                assert!(d.ends_with("appsink name=sink sync=false max-buffers=4"));
            }
        }
        let [l, _] = camera_sources(
            &CaptureConfig {
                source: SourceKind::Files,
                files: vec!["my \"file\".mp4".into(), "x".into()],
                ..Default::default()
            },
            false,
        );
        assert_eq!(
            l,
            CameraSource::Launch("filesrc location=\"my \\\"file\\\".mp4\" ! decodebin".into())
        );
    }

    #[test]
    fn gpu_decoding_only_for_decoded_sources_on_the_cuda_backend() {
        let mut cfg = CaptureConfig {
            source: SourceKind::Files,
            files: vec!["l.mp4".into(), "r.mp4".into()],
            ..Default::default()
        };
        assert!(!decode_on_gpu(&cfg, true), "cpu backend");
        cfg.backend = Backend::Cuda;
        assert!(decode_on_gpu(&cfg, true));
        assert!(!decode_on_gpu(&cfg, false), "no NVDEC decoder");
        cfg.gpu_decode = false;
        assert!(!decode_on_gpu(&cfg, true), "switched off");
        cfg.gpu_decode = true;
        for kind in [SourceKind::Synthetic, SourceKind::V4l2, SourceKind::Custom] {
            cfg.source = kind;
            assert!(!decode_on_gpu(&cfg, true), "{kind:?}");
        }
        cfg.source = SourceKind::Rtsp;
        cfg.rtsp = vec!["rtsp://a/1".into(), "rtsp://a/2".into()];
        assert!(decode_on_gpu(&cfg, true));
        let [l, _] = camera_sources(&cfg, true);
        assert!(l.in_gpu_memory());
        let d = camera_pipeline(&l, 3840, 2160, 30, false);
        assert!(
            d.starts_with("rtspsrc location=\"rtsp://a/1\" latency=200 ! decodebin ! video/x-raw(memory:CUDAMemory),format=NV12 ! "),
            "{d}"
        );
        assert!(!d.contains("videoconvert"), "{d}");
        // The description parses (the caps filter with a memory feature included).
        gst::init().unwrap();
        let src = "rtspsrc location=\"rtsp://a/1\" latency=200 ! decodebin";
        gst::parse::launch(&d.replace(src, "fakesrc ! decodebin")).unwrap();
    }
}
