//! The GStreamer description of each camera's source, from the config. Every source ends in
//! raw NV12 at the calibrated size, so the stitcher sees the same thing whatever the camera.

use shared::config::{CaptureConfig, SourceKind};

/// How one camera's frames are produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CameraSource {
    /// Frames pushed by the synthetic renderer into an `appsrc`.
    Synthetic,
    /// A GStreamer description producing raw video (converted to NV12 after it).
    Launch(String),
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// The two camera sources of the config (left, right). `validate()` has checked the lists.
pub fn camera_sources(cfg: &CaptureConfig) -> [CameraSource; 2] {
    [0, 1].map(|i| match cfg.source {
        SourceKind::Synthetic => CameraSource::Synthetic,
        SourceKind::Files => CameraSource::Launch(format!(
            "filesrc location={} ! decodebin",
            quote(&cfg.files[i])
        )),
        SourceKind::Rtsp => CameraSource::Launch(format!(
            "rtspsrc location={} latency=200 ! decodebin",
            quote(&cfg.rtsp[i])
        )),
        SourceKind::V4l2 => {
            CameraSource::Launch(format!("v4l2src device={}", quote(&cfg.devices[i])))
        }
        SourceKind::Custom => CameraSource::Launch(cfg.pipelines[i].clone()),
    })
}

/// The full pipeline description of a camera: its source, conversion to NV12 at the
/// calibrated size, and the `appsink` named `sink`.
pub fn camera_pipeline(source: &CameraSource, width: u32, height: u32, fps: u32) -> String {
    let caps = format!("video/x-raw,format=NV12,width={width},height={height}");
    match source {
        CameraSource::Synthetic => format!(
            "appsrc name=src is-live=true format=time caps={caps},framerate={fps}/1 ! queue max-size-buffers=4 ! appsink name=sink sync=false max-buffers=4"
        ),
        CameraSource::Launch(desc) => format!(
            "{desc} ! videoconvert ! videoscale ! {caps} ! queue max-size-buffers=4 ! appsink name=sink sync=false max-buffers=4"
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
            for s in camera_sources(&cfg) {
                let d = camera_pipeline(&s, 960, 540, 25);
                assert!(d.contains("format=NV12,width=960,height=540"), "{d}");
                assert!(d.ends_with("appsink name=sink sync=false max-buffers=4"));
            }
        }
        let [l, _] = camera_sources(&CaptureConfig {
            source: SourceKind::Files,
            files: vec!["my \"file\".mp4".into(), "x".into()],
            ..Default::default()
        });
        assert_eq!(
            l,
            CameraSource::Launch("filesrc location=\"my \\\"file\\\".mp4\" ! decodebin".into())
        );
    }
}
