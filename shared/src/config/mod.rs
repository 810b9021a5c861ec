//! The one system configuration file (TOML), a section per concern, serde defaults for every
//! field, unknown keys refused, and [`SystemConfig::validate`] naming the bad key and the
//! allowed range.

mod aliases;
mod analyzer;
mod capture;
mod detector;
mod director;
mod error;
mod launch;
mod logging;
mod operator;
mod playout;
mod runtime;
mod transport;

pub use analyzer::AnalyzerConfig;
pub use capture::{Backend, CaptureConfig, SourceKind};
pub use detector::DetectorConfig;
pub use director::DirectorConfig;
pub use error::ConfigError;
pub use launch::{LaunchConfig, ProcessSpec};
pub use logging::{LogFormat, LoggingConfig};
pub use operator::{MatchConfig, OperatorConfig};
pub use playout::{AudioSource, PlayoutConfig, RingModeConfig};
pub use runtime::RuntimeConfig;
pub use transport::{Endpoints, TransportConfig};

use serde::{Deserialize, Serialize};
use std::path::Path;

/// The whole system's configuration. Every process reads the same file and uses its sections.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SystemConfig {
    pub runtime: RuntimeConfig,
    pub logging: LoggingConfig,
    pub transport: TransportConfig,
    pub capture: CaptureConfig,
    pub detector: DetectorConfig,
    pub playout: PlayoutConfig,
    pub analyzer: AnalyzerConfig,
    pub director: DirectorConfig,
    pub launch: LaunchConfig,
    pub operator: OperatorConfig,
}

/// `examples/demo.toml`: the demo's configuration ([`SystemConfig::demo`]).
pub const DEMO_TOML: &str = include_str!("../../../examples/demo.toml");

impl SystemConfig {
    /// Reads, parses and validates a config file.
    pub fn load(path: &Path) -> Result<SystemConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let cfg = Self::from_toml_str(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: Some(path.to_path_buf()),
                message,
            },
            other => other,
        })?;
        Ok(cfg)
    }

    /// Loads `path` if given, else the defaults; validates either way.
    pub fn load_or_default(path: Option<&Path>) -> Result<SystemConfig, ConfigError> {
        match path {
            Some(p) => Self::load(p),
            None => {
                let mut cfg = SystemConfig::default();
                cfg.share_delay();
                cfg.validate()?;
                Ok(cfg)
            }
        }
    }

    /// The demo's configuration: `examples/demo.toml`, built in. What `launch demo` runs
    /// without a configuration file.
    pub fn demo() -> Result<SystemConfig, ConfigError> {
        Self::from_toml_str(DEMO_TOML)
    }

    /// Parses and validates TOML text.
    /// Old spellings of renamed keys ([`aliases::RENAMED`]) are read under their new names;
    /// the warnings are in `logging.notices`, logged when the process starts logging.
    pub fn from_toml_str(text: &str) -> Result<SystemConfig, ConfigError> {
        let parse_err = |e: toml::de::Error| ConfigError::Parse {
            path: None,
            message: e.to_string(),
        };
        let mut doc: toml::Table = toml::from_str(text).map_err(parse_err)?;
        let mut cfg: SystemConfig = if aliases::uses_old_names(&doc) {
            let mut notices = aliases::migrate(&mut doc)?;
            notices.extend(aliases::retire(&mut doc)?);
            let mut cfg = SystemConfig::deserialize(toml::Value::Table(doc)).map_err(parse_err)?;
            cfg.logging.notices = notices;
            cfg
        } else {
            // Straight from the text, so that a bad value's error shows its line.
            toml::from_str(text).map_err(parse_err)?
        };
        cfg.share_calibration();
        cfg.share_delay();
        cfg.validate()?;
        Ok(cfg)
    }

    /// One delay for the whole system: the director assumes `playout.delay_s` until
    /// capture's playout status says where playout is.
    pub fn share_delay(&mut self) {
        self.director.delay_ms = (self.playout.delay_s * 1000.0).round() as u64;
    }

    /// One rig for the whole system: the analyzer and the director use
    /// `capture.calibration` unless their own key names a file (which must then be the same,
    /// see [`SystemConfig::validate`]).
    pub fn share_calibration(&mut self) {
        let c = self.capture.calibration.clone();
        for slot in [
            &mut self.analyzer.calibration,
            &mut self.director.calibration,
        ] {
            if slot.trim().is_empty() {
                *slot = c.clone();
            }
        }
    }

    /// Checks every value; the error names the first bad key and what is allowed.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.runtime.validate()?;
        self.logging.validate()?;
        self.transport.validate()?;
        self.capture.validate()?;
        self.detector.validate()?;
        self.playout.validate()?;
        self.analyzer.validate()?;
        self.director.validate()?;
        self.launch.validate()?;
        self.operator.validate()?;
        // One rig, one camera model: every process reads the same calibration.
        for (key, value) in [
            ("analyzer.calibration", &self.analyzer.calibration),
            ("director.calibration", &self.director.calibration),
        ] {
            if !value.trim().is_empty() && value.trim() != self.capture.calibration.trim() {
                return Err(ConfigError::invalid(
                    key,
                    format!(
                        "names {value:?} but `capture.calibration` is {:?}: the whole system uses one rig calibration; set only `capture.calibration` (the analyzer and the director use it)",
                        self.capture.calibration
                    ),
                ));
            }
        }
        // Both built-in synthetic rigs must describe the same panorama, or the analyzer puts
        // every detection in the wrong place on the pitch.
        if self.capture.calibration.is_empty()
            && self.analyzer.calibration.is_empty()
            && self.analyzer.panorama_width != self.capture.panorama_width
        {
            return Err(ConfigError::invalid(
                "analyzer.panorama_width",
                format!(
                    "must equal `capture.panorama_width` ({}) when neither names a calibration file, got {}",
                    self.capture.panorama_width, self.analyzer.panorama_width
                ),
            ));
        }
        Ok(())
    }

    /// The endpoints every process uses, resolved against the runtime directory.
    pub fn endpoints(&self) -> Endpoints {
        self.transport.resolve(&self.runtime.dir())
    }

    /// The config as TOML (for `--print-config` and docs).
    pub fn to_toml_string(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }
}

/// Checks `lo <= value <= hi`, naming `key` otherwise.
pub(crate) fn check_range<T: PartialOrd + std::fmt::Display + Copy>(
    key: &str,
    value: T,
    lo: T,
    hi: T,
) -> Result<(), ConfigError> {
    // `!(a <= b)` also catches NaN for floats.
    #[allow(clippy::neg_cmp_op_on_partial_ord)]
    if !(lo <= value && value <= hi) {
        return Err(ConfigError::invalid(
            key,
            format!("must be between {lo} and {hi}, got {value}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_configuration_is_valid_and_differs_from_the_defaults_only_in_the_detector() {
        let demo = super::SystemConfig::demo().unwrap();
        let d = &demo.detector;
        assert!(d.enabled, "the demo runs the detector");
        assert!(d.focus_tile_size == 160 && !d.focus_magnify && d.focus_on_cue);
        let mut defaults = super::SystemConfig::default();
        defaults.share_delay();
        defaults.detector = demo.detector.clone();
        assert_eq!(defaults.to_toml_string(), demo.to_toml_string());
    }

    #[test]
    fn an_old_key_name_is_read_with_a_notice_and_a_bad_value_still_names_its_line() {
        let cfg = SystemConfig::from_toml_str("[playout]\nmin_fov_deg = 15.0\n").unwrap();
        assert_eq!(cfg.playout.fov_min_deg, 15.0);
        assert_eq!(cfg.logging.notices.len(), 1);
        assert!(cfg.logging.notices[0].contains("playout.fov_min_deg"));
        let fresh = SystemConfig::from_toml_str("[playout]\nfov_min_deg = 15.0\n").unwrap();
        assert!(fresh.logging.notices.is_empty());
        let e = SystemConfig::from_toml_str("[playout]\n\nfov_min_deg = \"wide\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
    }

    use super::*;

    #[test]
    fn one_delay_serves_the_whole_system() {
        let cfg = SystemConfig::from_toml_str("[playout]\ndelay_s = 4.0\n").unwrap();
        assert_eq!(cfg.director.delay_ms, 4000);
        assert!(cfg.logging.notices.is_empty());
        let cfg = SystemConfig::load_or_default(None).unwrap();
        assert_eq!(cfg.director.delay_ms, 7000);
        // A delay too short for the director's replanning names both sides.
        let e = SystemConfig::from_toml_str("[playout]\ndelay_s = 0.4\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("director.commit_guard_ms") && e.contains("playout.delay_s"),
            "{e}"
        );
        // The retired key: read with a notice when it agrees, refused when it does not.
        let cfg =
            SystemConfig::from_toml_str("[playout]\ndelay_s = 4.0\n[director]\ndelay_ms = 4000\n")
                .unwrap();
        assert_eq!(cfg.director.delay_ms, 4000);
        assert!(cfg.logging.notices[0].contains("director.delay_ms"));
        let e =
            SystemConfig::from_toml_str("[playout]\ndelay_s = 4.0\n[director]\ndelay_ms = 7000\n")
                .unwrap_err()
                .to_string();
        assert!(
            e.contains("director.delay_ms") && e.contains("playout.delay_s"),
            "{e}"
        );
    }

    #[test]
    fn one_calibration_key_serves_the_whole_system() {
        let cfg = SystemConfig::from_toml_str(
            "[capture]\nsource = \"files\"\nfiles = [\"a.mp4\", \"b.mp4\"]\ncalibration = \"rig.toml\"\n",
        )
        .unwrap();
        assert_eq!(cfg.analyzer.calibration, "rig.toml");
        assert_eq!(cfg.director.calibration, "rig.toml");
        let e = SystemConfig::from_toml_str(
            "[capture]\nsource = \"files\"\nfiles = [\"a.mp4\", \"b.mp4\"]\ncalibration = \"rig.toml\"\n[director]\ncalibration = \"other.toml\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(
            e.contains("director.calibration") && e.contains("capture.calibration"),
            "{e}"
        );
    }

    #[test]
    fn defaults_are_valid_and_round_trip() {
        let cfg = SystemConfig::default();
        cfg.validate().unwrap();
        let text = cfg.to_toml_string();
        assert_eq!(SystemConfig::from_toml_str(&text).unwrap(), cfg);
    }

    #[test]
    fn the_two_synthetic_rigs_must_agree_on_the_panorama_width() {
        let e = SystemConfig::from_toml_str("[capture]\npanorama_width = 960\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("analyzer.panorama_width"), "{e}");
        assert!(e.contains("capture.panorama_width"), "{e}");
        SystemConfig::from_toml_str(
            "[capture]\npanorama_width = 960\n[analyzer]\npanorama_width = 960\n",
        )
        .unwrap();
    }

    #[test]
    fn empty_file_gives_defaults() {
        assert_eq!(
            SystemConfig::from_toml_str("").unwrap(),
            SystemConfig::default()
        );
    }

    #[test]
    fn out_of_range_names_key_and_range() {
        let e = SystemConfig::from_toml_str("[transport]\nheartbeat_interval_ms = 0\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("transport.heartbeat_interval_ms"), "{e}");
        assert!(e.contains("between 100 and 10000"), "{e}");
    }

    /// Every section's checks name the key they refuse (one bad value per case, the rest
    /// defaults).
    #[test]
    fn each_section_names_the_bad_key() {
        let cases = [
            ("[runtime]\ndir = \"relative/dir\"\n", "runtime.dir"),
            (
                "[runtime]\ndir = \"/tmp/a-very-long-runtime-directory-name-that-no-unix-socket-path-could-ever-hold-at-all\"\n",
                "runtime.dir",
            ),
            ("[logging]\nfilter = \"info,[\"\n", "logging.filter"),
            ("[capture]\npanorama_width = 1921\n", "capture.panorama_width"),
            ("[capture]\ncamera_width = 961\n", "capture.camera_width"),
            ("[capture]\nfps = 0\n", "capture.fps"),
            ("[capture]\nscenario = \"tiki-taka\"\n", "capture.scenario"),
            ("[capture]\nexposure = [1.0, 9.0]\n", "capture.exposure[1]"),
            ("[capture]\nmax_gain = 0.5\n", "capture.max_gain"),
            ("[capture]\nsource = \"files\"\nfiles = [\"a.mp4\"]\n", "capture.files"),
            (
                "[capture]\nsource = \"rtsp\"\nrtsp = [\"rtsp://a\", \"rtsp://b\"]\n",
                "capture.calibration",
            ),
            (
                "[capture]\nsource = \"rtsp\"\nrealtime = false\nrtsp = [\"rtsp://a\", \"rtsp://b\"]\ncalibration = \"rig.toml\"\n",
                "capture.realtime",
            ),
            ("[playout]\ndelay_s = 0.0\n", "playout.delay_s"),
            ("[playout]\noutput_width = 1281\n", "playout.output_width"),
            ("[playout]\nmin_fov_deg = 60.0\nmax_fov_deg = 50.0\n", "playout.fov_max_deg"),
            ("[playout]\nroll_deg = 90.0\n", "playout.roll_deg"),
            ("[playout]\nbitrate_kbps = 10\n", "playout.bitrate_kbps"),
        ];
        for (toml, key) in cases {
            let e = SystemConfig::from_toml_str(toml)
                .expect_err(toml)
                .to_string();
            assert!(e.contains(key), "{toml:?} -> {e}");
        }
        // Offline pacing stays allowed where frames can wait.
        SystemConfig::from_toml_str(
            "[capture]\nsource = \"files\"\nrealtime = false\nfiles = [\"a.mp4\", \"b.mp4\"]\ncalibration = \"rig.toml\"\n",
        )
        .unwrap();
    }

    #[test]
    fn unknown_key_is_refused_by_name() {
        let e = SystemConfig::from_toml_str("[transport]\nheartbeat_ms = 5\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("heartbeat_ms"), "{e}");
    }

    #[test]
    fn wrong_type_is_a_parse_error() {
        let e = SystemConfig::from_toml_str("[logging]\nformat = 3\n").unwrap_err();
        assert!(matches!(e, ConfigError::Parse { .. }), "{e}");
    }

    #[test]
    fn bad_endpoint_names_key() {
        let e = SystemConfig::from_toml_str("[transport]\ncapture_pub = \"udp://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("transport.capture_pub"), "{e}");
    }

    #[test]
    fn non_loopback_tcp_needs_opt_in() {
        let t = "[transport]\ncapture_pub = \"tcp://10.1.2.3:5000\"\n";
        let e = SystemConfig::from_toml_str(t).unwrap_err().to_string();
        assert!(e.contains("allow_non_loopback"), "{e}");
        let ok = format!("{t}allow_non_loopback = true\n");
        SystemConfig::from_toml_str(&ok).unwrap();
    }

    #[test]
    fn duplicate_endpoints_are_refused() {
        let t = "[transport]\ncapture_pub = \"tcp://127.0.0.1:5000\"\nanalyzer_pub = \"tcp://127.0.0.1:5000\"\n";
        let e = SystemConfig::from_toml_str(t).unwrap_err().to_string();
        assert!(e.contains("transport.analyzer_pub"), "{e}");
    }

    #[test]
    fn launch_process_errors_name_the_index() {
        let t = "[launch]\nprocesses = [{ name = \"a\", program = \"x\" }, { name = \"a\", program = \"y\" }]\n";
        let e = SystemConfig::from_toml_str(t).unwrap_err().to_string();
        assert!(e.contains("launch.processes[1].name"), "{e}");
    }

    #[test]
    fn backend_is_cpu_by_default_and_cuda_on_request() {
        assert_eq!(SystemConfig::default().capture.backend, Backend::Cpu);
        let c = SystemConfig::from_toml_str("[capture]\nbackend = \"cuda\"\n").unwrap();
        assert_eq!(c.capture.backend, Backend::Cuda);
        let e = SystemConfig::from_toml_str("[capture]\nbackend = \"opencl\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("backend"), "{e}");
    }

    #[test]
    fn missing_file_names_path() {
        let e = SystemConfig::load(Path::new("/nonexistent/touchline.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("/nonexistent/touchline.toml"), "{e}");
    }

    #[test]
    fn endpoints_default_to_ipc_in_runtime_dir() {
        let cfg = SystemConfig::from_toml_str("[runtime]\ndir = \"/tmp/tl-x\"\n").unwrap();
        assert_eq!(
            cfg.endpoints().capture_pub.to_string(),
            "ipc:///tmp/tl-x/capture-pub.sock"
        );
    }
}
