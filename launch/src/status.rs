//! What `launch status` shows: the reply body of the control socket's `status` command
//! (JSON) and its rendering as a table for people.

use crate::watch::{State, Watch};
use serde::{Deserialize, Serialize};
use shared::messages::PlayoutStatus;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

/// Version of the status body; bumped when a field changes meaning.
pub const STATUS_VERSION: u32 = 1;

/// One supervised process.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessStatus {
    pub name: String,
    /// Pid of the live process; none while it is down.
    pub pid: Option<u32>,
    pub state: State,
    pub uptime_ms: Option<u64>,
    /// Restarts so far (failures and `launch restart` alike).
    pub restarts: u32,
    /// Age of the last heartbeat of the live process; none before the first one.
    pub heartbeat_age_ms: Option<u64>,
    /// How the previous run ended ("exit code 1", "killed by SIGKILL", "hung: ...").
    pub last_exit: Option<String>,
    /// What the live process says keeps it from working (capture: no working camera).
    #[serde(default)]
    pub problem: Option<String>,
    /// CPU use of the live process since the previous status, percent of one core.
    #[serde(default)]
    pub cpu_percent: Option<f64>,
    /// Resident memory of the live process, bytes.
    #[serde(default)]
    pub rss_bytes: Option<u64>,
    /// Counters and gauges the process sent with its latest heartbeat.
    #[serde(default)]
    pub metrics: std::collections::BTreeMap<String, f64>,
}

impl ProcessStatus {
    pub fn of(w: &Watch, now: Instant) -> ProcessStatus {
        ProcessStatus {
            name: w.name().to_string(),
            pid: w.pid(),
            state: w.state(),
            uptime_ms: w.uptime(now).map(ms),
            restarts: w.restarts(),
            heartbeat_age_ms: w.heartbeat_age(now).map(ms),
            last_exit: w.last_exit().map(str::to_string),
            problem: w.problem().map(str::to_string),
            cpu_percent: None,
            rss_bytes: None,
            metrics: Default::default(),
        }
    }
}

/// The latest `PlayoutStatus` capture published, and how old it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlayoutView {
    pub age_ms: u64,
    pub status: PlayoutStatus,
}

/// The whole reply to `status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SystemStatus {
    pub v: u32,
    pub launch_pid: u32,
    pub uptime_ms: u64,
    /// True once launch is stopping everything.
    pub stopping: bool,
    pub processes: Vec<ProcessStatus>,
    /// None until capture has published one.
    pub playout: Option<PlayoutView>,
    /// The operator's desk: camera mode, recording wish, schedule.
    #[serde(default)]
    pub operator: Option<crate::desk::DeskView>,
    /// The detector stage as seen from its detections.
    #[serde(default)]
    pub detector: Option<DetectorView>,
    /// The analyzer's latest ball estimate.
    #[serde(default)]
    pub ball: Option<BallView>,
}

/// The detector's rate and cost, from the detections capture publishes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DetectorView {
    /// Analysed frames per second over the last few seconds.
    pub rate_hz: f64,
    pub last_inference_ms: f64,
    pub frames_analysed: u64,
    /// Age of the latest detections, milliseconds.
    pub age_ms: u64,
}

/// The latest ball estimate of the analyzer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BallView {
    /// `tracked`, `predicted`, `lost`, or `none` (no estimate in the latest tracks).
    pub status: String,
    pub x_m: Option<f32>,
    pub y_m: Option<f32>,
    pub confidence: Option<f32>,
    pub players: Option<u16>,
    pub age_ms: u64,
}

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn secs(ms: u64) -> String {
    format!("{:.1} s", ms as f64 / 1000.0)
}

fn pts(ns: u64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

impl SystemStatus {
    /// A table for people.
    // Long by design: one block per line of the table, in the order it is printed.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "launch pid {}, up {}{}",
            self.launch_pid,
            secs(self.uptime_ms),
            if self.stopping { ", stopping" } else { "" }
        );
        let _ = writeln!(
            out,
            "{:<12} {:>8} {:<9} {:>10} {:>8} {:>10}  LAST EXIT",
            "PROCESS", "PID", "STATE", "UPTIME", "RESTARTS", "HEARTBEAT"
        );
        let dash = || "-".to_string();
        for p in &self.processes {
            let _ = writeln!(
                out,
                "{:<12} {:>8} {:<9} {:>10} {:>8} {:>10}  {}",
                p.name,
                p.pid.map(|p| p.to_string()).unwrap_or_else(dash),
                p.state.to_string(),
                p.uptime_ms.map(secs).unwrap_or_else(dash),
                p.restarts,
                p.heartbeat_age_ms
                    .map(|a| format!("{} ago", secs(a)))
                    .unwrap_or_else(dash),
                p.last_exit.as_deref().unwrap_or("-"),
            );
            if let Some(problem) = &p.problem {
                let _ = writeln!(out, "{:<12} problem: {problem}", "");
            }
        }
        match &self.playout {
            None => out.push_str("playout: no playout status yet\n"),
            Some(PlayoutView { age_ms, status: s }) => {
                let _ = writeln!(
                    out,
                    "playout ({} ago): live {} playout {} (delay {}), ring {}/{}, fallback {}, \
                     frames in {} out {} dropped {}, late keyframes {}",
                    secs(*age_ms),
                    pts(s.live_pts),
                    pts(s.playout_pts),
                    pts(s.live_pts.saturating_sub(s.playout_pts)),
                    s.ring_depth,
                    s.ring_capacity,
                    if s.fallback_active { "on" } else { "off" },
                    s.frames_in,
                    s.frames_out,
                    s.frames_dropped,
                    s.frames_late,
                );
                for c in &s.cameras {
                    let _ = writeln!(
                        out,
                        "camera {:<8} {:<8} frames {} restarts {} silent {}{}",
                        c.name,
                        format!("{:?}", c.state).to_lowercase(),
                        c.frames,
                        c.restarts,
                        secs(c.silent_ms),
                        c.last_error
                            .as_deref()
                            .map(|e| format!(" last error: {e}"))
                            .unwrap_or_default()
                    );
                }
                for o in &s.outputs {
                    let _ = writeln!(
                        out,
                        "output {} {} frames {} bytes {} dropped {} restarts {}{}{}",
                        o.name,
                        format!("{:?}", o.state).to_lowercase(),
                        o.frames,
                        o.bytes,
                        o.dropped,
                        o.restarts,
                        o.file
                            .as_deref()
                            .filter(|f| *f != o.name)
                            .map(|f| format!(" file {f}"))
                            .unwrap_or_default(),
                        o.last_error
                            .as_deref()
                            .map(|e| format!(" last error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        if let Some(o) = &self.operator {
            let _ = writeln!(
                out,
                "operator: camera {}, recording {}{}",
                camera_text(&o.camera),
                if o.record { "on" } else { "off" },
                o.next_match
                    .as_ref()
                    .map(|m| format!(
                        ", next match {} (records {} to {})",
                        m.start, m.record_from, m.record_until
                    ))
                    .unwrap_or_default()
            );
        }
        if let Some(d) = &self.detector {
            let _ = writeln!(
                out,
                "detector: {:.1} frames/s, last inference {:.0} ms, {} analysed",
                d.rate_hz, d.last_inference_ms, d.frames_analysed
            );
        }
        if let Some(b) = &self.ball {
            let _ = writeln!(
                out,
                "ball: {}{} ({} ago)",
                b.status,
                b.x_m
                    .zip(b.y_m)
                    .map(|(x, y)| format!(" at {x:.1} m, {y:.1} m"))
                    .unwrap_or_default(),
                secs(b.age_ms)
            );
        }
        out
    }
}

/// A camera mode for people.
pub fn camera_text(c: &shared::messages::CameraMode) -> String {
    match c {
        shared::messages::CameraMode::Manual { yaw, pitch, fov } => {
            format!("manual (yaw {yaw:.1}, pitch {pitch:.1}, fov {fov:.1})")
        }
        other => other.name().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::messages::{CameraHealth, CameraState, OutputHealth, OutputState};

    fn sample(playout: Option<PlayoutView>) -> SystemStatus {
        SystemStatus {
            v: STATUS_VERSION,
            launch_pid: 7,
            uptime_ms: 12_345,
            stopping: false,
            processes: vec![ProcessStatus {
                name: "analyzer".into(),
                pid: Some(42),
                state: State::Running,
                uptime_ms: Some(3_000),
                restarts: 1,
                heartbeat_age_ms: Some(400),
                last_exit: Some("killed by SIGKILL".into()),
                problem: None,
                cpu_percent: Some(12.5),
                rss_bytes: Some(50_000_000),
                metrics: [("tracks_published".to_string(), 10.0)]
                    .into_iter()
                    .collect(),
            }],
            playout,
            operator: None,
            detector: None,
            ball: None,
        }
    }

    #[test]
    fn renders_processes_and_missing_playout() {
        let text = sample(None).render();
        assert!(text.contains("analyzer"), "{text}");
        assert!(text.contains("running"), "{text}");
        assert!(text.contains("killed by SIGKILL"), "{text}");
        assert!(text.contains("no playout status yet"), "{text}");
    }

    #[test]
    fn renders_playout_figures_as_received() {
        let status = PlayoutStatus {
            live_pts: 10_000_000_000,
            playout_pts: 3_000_000_000,
            ring_depth: 175,
            ring_capacity: 180,
            fallback_active: false,
            frames_in: 300,
            frames_out: 125,
            frames_dropped: 0,
            frames_late: 2,
            pose: None,
            path_id: 0,
            outputs: vec![OutputHealth {
                name: "rtmp://example.net/live/<key>".into(),
                state: OutputState::Retrying,
                restarts: 3,
                frames: 1200,
                bytes: 9_000_000,
                dropped: 75,
                file: None,
                last_error: Some("Connection refused".into()),
            }],
            cameras: vec![CameraHealth {
                name: "right".into(),
                state: CameraState::Down,
                restarts: 2,
                frames: 4000,
                silent_ms: 2500,
                last_error: Some("end of stream".into()),
            }],
            recording: Default::default(),
        };
        let text = sample(Some(PlayoutView {
            age_ms: 500,
            status,
        }))
        .render();
        assert!(text.contains("delay 7.000 s"), "{text}");
        assert!(text.contains("ring 175/180"), "{text}");
        assert!(text.contains("late keyframes 2"), "{text}");
        assert!(
            text.contains("output rtmp://example.net/live/<key> retrying frames 1200"),
            "{text}"
        );
        assert!(text.contains("last error: Connection refused"), "{text}");
        assert!(
            text.contains("camera right    down     frames 4000 restarts 2"),
            "{text}"
        );
    }

    #[test]
    fn round_trips_through_json() {
        let s = sample(None);
        let text = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<SystemStatus>(&text).unwrap(), s);
    }
}
