//! `GET /metrics`: the system status as Prometheus text (exposition format 0.0.4). Every
//! series has a `process` label: launch's own figures, each process's state and resources as
//! launch sees them, and the counters and gauges each process sends with its heartbeat.

use crate::status::SystemStatus;
use shared::messages::{OutputState, TrackStatus};
use std::fmt::Write as _;

/// Collects series by metric family (the format wants each family's samples together,
/// after its one `# TYPE` line), in the order families first appear.
#[derive(Default)]
struct Text {
    families: Vec<(String, &'static str, Vec<String>)>,
}

impl Text {
    fn put(&mut self, name: &str, kind: &'static str, labels: &[(&str, &str)], value: f64) {
        if !value.is_finite() {
            return;
        }
        let labels: Vec<String> = labels
            .iter()
            .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
            .collect();
        let line = format!("{name}{{{}}} {value}", labels.join(","));
        match self.families.iter_mut().find(|f| f.0 == name) {
            Some(f) => f.2.push(line),
            None => self.families.push((name.to_string(), kind, vec![line])),
        }
    }

    fn finish(self) -> String {
        let mut out = String::new();
        for (name, kind, lines) in self.families {
            let _ = writeln!(out, "# TYPE {name} {kind}");
            for l in lines {
                let _ = writeln!(out, "{l}");
            }
        }
        out
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// A heartbeat metric name as a Prometheus name: `touchline_<process>_<name>`, other
/// characters as `_`; names ending in `_total` are counters.
fn series_name(process: &str, name: &str) -> String {
    let clean = |s: &str| -> String {
        s.chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect()
    };
    format!("touchline_{}_{}", clean(process), clean(name))
}

// Long by design: one block per exported metric, in the order of the exposition; a table, not an
// algorithm.
pub fn render(s: &SystemStatus) -> String {
    let mut t = Text::default();
    let launch = [("process", "launch")];
    t.put(
        "touchline_uptime_seconds",
        "gauge",
        &launch,
        s.uptime_ms as f64 / 1e3,
    );
    t.put(
        "touchline_stopping",
        "gauge",
        &launch,
        s.stopping as u8 as f64,
    );
    for p in &s.processes {
        let l = [("process", p.name.as_str())];
        let up = p.pid.is_some() && p.state == crate::watch::State::Running;
        t.put("touchline_process_up", "gauge", &l, up as u8 as f64);
        t.put(
            "touchline_process_restarts_total",
            "counter",
            &l,
            p.restarts as f64,
        );
        if let Some(a) = p.heartbeat_age_ms {
            t.put(
                "touchline_process_heartbeat_age_seconds",
                "gauge",
                &l,
                a as f64 / 1e3,
            );
        }
        if let Some(c) = p.cpu_percent {
            t.put("touchline_process_cpu_percent", "gauge", &l, c);
        }
        if let Some(r) = p.rss_bytes {
            t.put(
                "touchline_process_resident_memory_bytes",
                "gauge",
                &l,
                r as f64,
            );
        }
        t.put(
            "touchline_process_problem",
            "gauge",
            &l,
            p.problem.is_some() as u8 as f64,
        );
        for (name, value) in &p.metrics {
            let kind: &'static str = if name.ends_with("_total") {
                "counter"
            } else {
                "gauge"
            };
            t.put(&series_name(&p.name, name), kind, &l, *value);
        }
    }
    let capture = [("process", "capture")];
    if let Some(v) = &s.playout {
        let p = &v.status;
        t.put(
            "touchline_playout_status_age_seconds",
            "gauge",
            &capture,
            v.age_ms as f64 / 1e3,
        );
        t.put(
            "touchline_playout_frames_in_total",
            "counter",
            &capture,
            p.frames_in as f64,
        );
        t.put(
            "touchline_playout_frames_out_total",
            "counter",
            &capture,
            p.frames_out as f64,
        );
        t.put(
            "touchline_playout_frames_dropped_total",
            "counter",
            &capture,
            p.frames_dropped as f64,
        );
        t.put(
            "touchline_playout_late_keyframes_total",
            "counter",
            &capture,
            p.frames_late as f64,
        );
        t.put(
            "touchline_playout_ring_depth",
            "gauge",
            &capture,
            p.ring_depth as f64,
        );
        t.put(
            "touchline_playout_ring_capacity",
            "gauge",
            &capture,
            p.ring_capacity as f64,
        );
        t.put(
            "touchline_playout_delay_seconds",
            "gauge",
            &capture,
            p.live_pts.saturating_sub(p.playout_pts) as f64 / 1e9,
        );
        t.put(
            "touchline_playout_fallback_active",
            "gauge",
            &capture,
            p.fallback_active as u8 as f64,
        );
        t.put(
            "touchline_recording_on",
            "gauge",
            &capture,
            p.recording.on as u8 as f64,
        );
        for o in &p.outputs {
            let l = [("process", "capture"), ("output", o.name.as_str())];
            let running = o.state == OutputState::Running;
            t.put(
                "touchline_output_running",
                "gauge",
                &l,
                running as u8 as f64,
            );
            t.put(
                "touchline_output_bytes_total",
                "counter",
                &l,
                o.bytes as f64,
            );
            t.put(
                "touchline_output_frames_total",
                "counter",
                &l,
                o.frames as f64,
            );
            t.put(
                "touchline_output_dropped_total",
                "counter",
                &l,
                o.dropped as f64,
            );
            t.put(
                "touchline_output_restarts_total",
                "counter",
                &l,
                o.restarts as f64,
            );
        }
        for c in &p.cameras {
            let l = [("process", "capture"), ("camera", c.name.as_str())];
            t.put(
                "touchline_camera_frames_total",
                "counter",
                &l,
                c.frames as f64,
            );
            t.put(
                "touchline_camera_restarts_total",
                "counter",
                &l,
                c.restarts as f64,
            );
            t.put(
                "touchline_camera_silent_seconds",
                "gauge",
                &l,
                c.silent_ms as f64 / 1e3,
            );
        }
    }
    if let Some(d) = &s.detector {
        t.put("touchline_detector_rate_hz", "gauge", &capture, d.rate_hz);
        t.put(
            "touchline_detector_inference_seconds",
            "gauge",
            &capture,
            d.last_inference_ms / 1e3,
        );
        t.put(
            "touchline_detector_frames_total",
            "counter",
            &capture,
            d.frames_analysed as f64,
        );
    }
    if let Some(b) = &s.ball {
        let l = [("process", "analyzer")];
        let tracked = b.status == status_name(TrackStatus::Tracked);
        t.put("touchline_ball_tracked", "gauge", &l, tracked as u8 as f64);
        if let Some(c) = b.confidence {
            t.put("touchline_ball_confidence", "gauge", &l, c as f64);
        }
    }
    if let Some(o) = &s.operator {
        t.put(
            "touchline_operator_recording_wanted",
            "gauge",
            &launch,
            o.record as u8 as f64,
        );
        for mode in ["auto", "wide", "left", "right", "hold", "manual"] {
            let l = [("process", "launch"), ("mode", mode)];
            t.put(
                "touchline_operator_camera_mode",
                "gauge",
                &l,
                (o.camera.name() == mode) as u8 as f64,
            );
        }
    }
    t.finish()
}

/// The wire name of a track status.
pub fn status_name(s: TrackStatus) -> &'static str {
    match s {
        TrackStatus::Tracked => "tracked",
        TrackStatus::Predicted => "predicted",
        TrackStatus::Lost => "lost",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::{ProcessStatus, SystemStatus, STATUS_VERSION};
    use crate::watch::State;

    #[test]
    fn every_series_has_a_process_label_and_one_type_line() {
        let s = SystemStatus {
            v: STATUS_VERSION,
            launch_pid: 1,
            uptime_ms: 2500,
            stopping: false,
            processes: ["analyzer", "director"]
                .iter()
                .map(|n| ProcessStatus {
                    name: n.to_string(),
                    pid: Some(9),
                    state: State::Running,
                    uptime_ms: Some(1),
                    restarts: 2,
                    heartbeat_age_ms: Some(300),
                    last_exit: None,
                    problem: None,
                    cpu_percent: Some(40.0),
                    rss_bytes: Some(1 << 20),
                    metrics: [
                        ("paths_published_total".to_string(), 12.0),
                        ("odd name\"".to_string(), 1.0),
                    ]
                    .into_iter()
                    .collect(),
                })
                .collect(),
            playout: None,
            operator: None,
            detector: None,
            ball: None,
        };
        let text = render(&s);
        assert!(
            text.contains("touchline_process_restarts_total{process=\"analyzer\"} 2"),
            "{text}"
        );
        assert!(
            text.contains("touchline_director_paths_published_total{process=\"director\"} 12"),
            "{text}"
        );
        assert!(
            text.contains("touchline_analyzer_odd_name_{process=\"analyzer\"} 1"),
            "{text}"
        );
        assert_eq!(text.matches("# TYPE touchline_process_up gauge").count(), 1);
        // Each family's samples follow its TYPE line, together.
        let names: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split('{').next().unwrap())
            .collect();
        let mut seen: Vec<&str> = Vec::new();
        for n in names {
            if seen.last() != Some(&n) {
                assert!(!seen.contains(&n), "{n} is split:\n{text}");
                seen.push(n);
            }
        }
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            assert!(line.contains("process=\""), "{line}");
            let v = line.rsplit(' ').next().unwrap();
            assert!(v.parse::<f64>().is_ok(), "{line}");
        }
    }
}
