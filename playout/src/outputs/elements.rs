//! The GStreamer elements a configuration needs, and the Debian package of each, so that a
//! missing plugin is found at start-up (naming the element, the package and the
//! configuration key) instead of as an output that silently never starts.

use super::program::{container_of, ProgramTarget};
use std::fmt;

/// Elements that one configured thing needs; any one of `elements` will do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Need {
    pub elements: &'static [&'static str],
    /// The configuration key that asks for it.
    pub key: String,
}

impl Need {
    pub fn one(element: &'static [&'static str], key: &str) -> Need {
        Need {
            elements: element,
            key: key.to_string(),
        }
    }
}

/// The Debian 12 package that ships `element` (GStreamer 1.22).
pub fn package_of(element: &str) -> &'static str {
    match element {
        "queue" | "filesrc" | "filesink" | "fakesink" | "identity" | "tee" => "libgstreamer1.0-0",
        "appsrc" | "appsink" | "videoconvert" | "videoscale" | "audioconvert" | "audioresample"
        | "decodebin" | "videotestsrc" | "audiotestsrc" => "gstreamer1.0-plugins-base",
        "textoverlay" | "ximagesink" | "xvimagesink" => "gstreamer1.0-x",
        "mp4mux" | "qtmux" | "matroskamux" | "flvmux" | "aacparse" | "rtspsrc" | "v4l2src"
        | "autovideosink" | "autoaudiosink" | "pulsesrc" => "gstreamer1.0-plugins-good",
        "x264enc" => "gstreamer1.0-plugins-ugly",
        "avenc_aac" | "avdec_h264" | "avdec_h265" => "gstreamer1.0-libav",
        "alsasrc" => "gstreamer1.0-alsa",
        // h264parse, rtmp2sink, srtsink, mpegtsmux, voaacenc, nvcodec, ...
        _ => "gstreamer1.0-plugins-bad",
    }
}

/// What a programme output needs. `key`: the configuration key of the output.
pub fn for_output(target: &ProgramTarget, audio: bool, text: bool, key: &str) -> Vec<Need> {
    let n = |e: &'static [&'static str]| Need::one(e, key);
    let mut v = vec![n(&["appsrc"]), n(&["queue"])];
    if text {
        v.push(n(&["textoverlay"]));
    }
    let encoded = !matches!(target, ProgramTarget::Display);
    if encoded {
        v.extend([n(&["x264enc"]), n(&["h264parse"])]);
        if audio {
            v.extend([
                n(&["audioconvert"]),
                n(&["audioresample"]),
                n(&["avenc_aac", "voaacenc"]),
                n(&["aacparse"]),
            ]);
        }
    }
    match target {
        ProgramTarget::File(p) => {
            match container_of(p) {
                Some(m) if m.starts_with("mp4mux") => v.push(n(&["mp4mux"])),
                Some(_) => v.push(n(&["matroskamux"])),
                // An unknown extension is reported when the output is built.
                None => {}
            }
            v.push(n(&["filesink"]));
        }
        ProgramTarget::Rtmp { .. } => v.extend([n(&["flvmux"]), n(&["rtmp2sink"])]),
        ProgramTarget::Srt { .. } => v.extend([n(&["mpegtsmux"]), n(&["srtsink"])]),
        ProgramTarget::Display => {
            v.extend([n(&["videoconvert"]), n(&["autovideosink"])]);
            if audio {
                v.push(n(&["autoaudiosink"]));
            }
        }
    }
    v
}

/// Elements that are not there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing(pub Vec<Need>);

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let lines: Vec<String> = self
            .0
            .iter()
            .map(|n| {
                let packages: Vec<&str> = n.elements.iter().map(|e| package_of(e)).collect();
                format!(
                    "GStreamer element {} (Debian package {}) is missing; {} needs it",
                    n.elements.join(" or "),
                    packages.join(" or "),
                    n.key
                )
            })
            .collect();
        write!(
            f,
            "{}. Install the package (scripts/setup.sh installs every one) or turn that setting off.",
            lines.join("; ")
        )
    }
}

impl std::error::Error for Missing {}

/// Checks that every need is met by an installed element (`gst::init` must have run).
pub fn check(needs: &[Need]) -> Result<(), Missing> {
    let mut missing: Vec<Need> = Vec::new();
    for n in needs {
        let found = n
            .elements
            .iter()
            .any(|e| gst::ElementFactory::find(e).is_some());
        if !found && !missing.contains(n) {
            missing.push(n.clone());
        }
    }
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Missing(missing))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn a_missing_element_is_named_with_its_package_and_key() {
        gst::init().unwrap();
        let needs = vec![
            Need::one(&["queue"], "playout.record"),
            Need::one(&["no_such_element_xyz"], "playout.panorama_view"),
        ];
        let err = check(&needs).unwrap_err();
        assert_eq!(err.0.len(), 1);
        let text = err.to_string();
        assert!(text.contains("no_such_element_xyz"), "{text}");
        assert!(text.contains("playout.panorama_view"), "{text}");
        assert!(text.contains("gstreamer1.0-plugins-bad"), "{text}");
    }

    #[test]
    fn the_panorama_view_needs_textoverlay_from_gstreamer1_0_x() {
        let needs = for_output(
            &ProgramTarget::File(PathBuf::from("p.mp4")),
            false,
            true,
            "playout.panorama_view",
        );
        let overlay = needs
            .iter()
            .find(|n| n.elements == ["textoverlay"])
            .expect("textoverlay needed");
        assert_eq!(package_of(overlay.elements[0]), "gstreamer1.0-x");
        assert!(needs.iter().any(|n| n.elements == ["mp4mux"]));
    }

    #[test]
    fn streams_need_their_muxer_and_sink() {
        let srt = for_output(
            &ProgramTarget::Srt {
                url: "srt://127.0.0.1:9000".into(),
            },
            true,
            false,
            "playout.srt_url",
        );
        for e in ["mpegtsmux", "srtsink", "aacparse", "x264enc"] {
            assert!(srt.iter().any(|n| n.elements.contains(&e)), "{e}");
        }
        let rtmp = for_output(
            &ProgramTarget::Rtmp {
                url: "rtmp://h/app".into(),
                key: "k".into(),
            },
            false,
            false,
            "playout.rtmp_url",
        );
        assert!(rtmp.iter().any(|n| n.elements == ["rtmp2sink"]));
        assert!(!rtmp.iter().any(|n| n.elements.contains(&"aacparse")));
    }

    #[test]
    fn every_element_of_a_full_configuration_is_installed_here() {
        // scripts/setup.sh installs every package: on a machine it set up, nothing is
        // missing for any output kind.
        gst::init().unwrap();
        let mut needs = Vec::new();
        for (t, key) in [
            (
                ProgramTarget::File(PathBuf::from("a.mp4")),
                "playout.record",
            ),
            (
                ProgramTarget::File(PathBuf::from("a.mkv")),
                "playout.record",
            ),
            (
                ProgramTarget::Rtmp {
                    url: "rtmp://h/a".into(),
                    key: "k".into(),
                },
                "playout.rtmp_url",
            ),
            (
                ProgramTarget::Srt {
                    url: "srt://h:1".into(),
                },
                "playout.srt_url",
            ),
        ] {
            needs.extend(for_output(&t, true, true, key));
        }
        if let Err(e) = check(&needs) {
            panic!("{e}");
        }
    }
}
