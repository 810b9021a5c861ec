//! Checks, before anything starts, that this machine has every GStreamer element the
//! configuration needs: the cameras' sources and every output. A missing element is named
//! with its Debian package and the configuration key that needs it.

use playout::outputs::elements::{self, Need};
use playout::outputs::ProgramTarget;
use shared::config::{AudioSource, SourceKind, SystemConfig};
use std::path::PathBuf;

/// What the cameras of `[capture]` need.
fn for_sources(cfg: &SystemConfig) -> Vec<Need> {
    let c = &cfg.capture;
    let key = match c.source {
        SourceKind::Synthetic => "capture.source",
        SourceKind::Files => "capture.files",
        SourceKind::Rtsp => "capture.rtsp",
        SourceKind::V4l2 => "capture.devices",
        SourceKind::Custom => "capture.pipelines",
    };
    let n = |e: &'static [&'static str]| Need::one(e, key);
    let mut v = vec![n(&["appsink"]), n(&["queue"])];
    match c.source {
        SourceKind::Synthetic => v.push(n(&["appsrc"])),
        SourceKind::Files => v.extend([n(&["filesrc"]), n(&["decodebin"])]),
        SourceKind::Rtsp => v.extend([n(&["rtspsrc"]), n(&["decodebin"])]),
        SourceKind::V4l2 => v.push(n(&["v4l2src"])),
        SourceKind::Custom => {}
    }
    if c.source != SourceKind::Synthetic {
        v.extend([n(&["videoconvert"]), n(&["videoscale"])]);
    }
    v
}

/// What the outputs of `[playout]` need.
fn for_outputs(cfg: &SystemConfig) -> Vec<Need> {
    let p = &cfg.playout;
    let audio = match p.audio {
        AudioSource::Synthetic => cfg.capture.source == SourceKind::Synthetic,
        AudioSource::Live => true,
        AudioSource::None => false,
    };
    let mut v = Vec::new();
    if !p.record.is_empty() {
        let t = ProgramTarget::File(PathBuf::from(&p.record));
        v.extend(elements::for_output(&t, audio, false, "playout.record"));
    }
    if !p.rtmp_url.is_empty() {
        let t = ProgramTarget::Rtmp {
            url: p.rtmp_url.clone(),
            key: String::new(),
        };
        v.extend(elements::for_output(&t, audio, false, "playout.rtmp_url"));
    }
    if !p.srt_url.is_empty() {
        let t = ProgramTarget::Srt {
            url: p.srt_url.clone(),
        };
        v.extend(elements::for_output(&t, audio, false, "playout.srt_url"));
    }
    if p.display {
        v.extend(elements::for_output(
            &ProgramTarget::Display,
            audio,
            false,
            "playout.display",
        ));
    }
    match p.panorama_view.as_str() {
        "" => {}
        "display" => v.extend(elements::for_output(
            &ProgramTarget::Display,
            false,
            true,
            "playout.panorama_view",
        )),
        path => v.extend(elements::for_output(
            &ProgramTarget::File(PathBuf::from(path)),
            false,
            true,
            "playout.panorama_view",
        )),
    }
    v
}

/// Checks the elements of a whole capture run (`gst::init` must have run).
pub fn check_run(cfg: &SystemConfig) -> Result<(), elements::Missing> {
    let mut needs = for_sources(cfg);
    needs.extend(for_outputs(cfg));
    elements::check(&needs)
}

/// Checks the elements of `capture panorama` writing to `out`.
pub fn check_panorama(cfg: &SystemConfig, out: &std::path::Path) -> Result<(), elements::Missing> {
    let mut needs = for_sources(cfg);
    needs.extend(elements::for_output(
        &ProgramTarget::File(out.to_path_buf()),
        false,
        false,
        "--out",
    ));
    elements::check(&needs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_output_of_the_config_is_checked_under_its_key() {
        let mut cfg = SystemConfig::default();
        cfg.playout.record = "/tmp/x.mkv".into();
        cfg.playout.srt_url = "srt://127.0.0.1:9000".into();
        cfg.playout.panorama_view = "/tmp/p.mp4".into();
        let needs = for_outputs(&cfg);
        let keys_of = |e: &str| -> Vec<String> {
            needs
                .iter()
                .filter(|n| n.elements.contains(&e))
                .map(|n| n.key.clone())
                .collect()
        };
        assert_eq!(keys_of("matroskamux"), ["playout.record"]);
        assert_eq!(keys_of("srtsink"), ["playout.srt_url"]);
        assert_eq!(keys_of("textoverlay"), ["playout.panorama_view"]);
        // The synthetic source has sound: the recording needs an AAC encoder.
        assert!(keys_of("aacparse").contains(&"playout.record".to_string()));
    }

    #[test]
    fn sources_need_their_elements() {
        let mut cfg = SystemConfig::default();
        cfg.capture.source = SourceKind::Rtsp;
        let needs = for_sources(&cfg);
        assert!(needs
            .iter()
            .any(|n| n.elements == ["rtspsrc"] && n.key == "capture.rtsp"));
    }
}
