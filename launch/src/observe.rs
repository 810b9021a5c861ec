//! What launch sees of the running system beyond heartbeats, for the status and the page:
//! the detector's rate (from the detections capture publishes), the analyzer's latest ball,
//! each process's latest heartbeat metrics, and each child's CPU and memory from `/proc`.

use crate::status::{BallView, DetectorView};
use shared::messages::{RawDetections, Tracks};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::time::{Duration, Instant};

/// Window over which the detector's rate is measured.
const RATE_WINDOW: Duration = Duration::from_secs(5);

#[derive(Debug, Default)]
pub struct Observed {
    detections: VecDeque<Instant>,
    last_inference_us: u32,
    frames_analysed: u64,
    last_detections: Option<Instant>,
    ball: Option<(Tracks, Instant)>,
    /// Latest heartbeat metrics by process name.
    metrics: HashMap<String, BTreeMap<String, f64>>,
    /// Previous CPU sample by pid: (clock ticks used, when).
    cpu: HashMap<u32, (u64, Instant)>,
}

impl Observed {
    /// A detections message: the detector's frames count towards its rate; the motion cue's
    /// (`motion`) are not the detector's.
    pub fn detections(&mut self, d: &RawDetections, now: Instant) {
        if d.motion {
            return;
        }
        self.detections.push_back(now);
        while self
            .detections
            .front()
            .is_some_and(|t| now.duration_since(*t) > RATE_WINDOW)
        {
            self.detections.pop_front();
        }
        self.last_inference_us = d.inference_us;
        self.frames_analysed += 1;
        self.last_detections = Some(now);
    }

    pub fn tracks(&mut self, t: Tracks, now: Instant) {
        self.ball = Some((t, now));
    }

    pub fn metrics(&mut self, process: &str, m: BTreeMap<String, f64>) {
        self.metrics.insert(process.to_string(), m);
    }

    pub fn metrics_of(&self, process: &str) -> BTreeMap<String, f64> {
        self.metrics.get(process).cloned().unwrap_or_default()
    }

    pub fn detector(&self, now: Instant) -> Option<DetectorView> {
        let last = self.last_detections?;
        let recent = self
            .detections
            .iter()
            .filter(|t| now.duration_since(**t) <= RATE_WINDOW)
            .count();
        Some(DetectorView {
            rate_hz: recent as f64 / RATE_WINDOW.as_secs_f64(),
            last_inference_ms: self.last_inference_us as f64 / 1e3,
            frames_analysed: self.frames_analysed,
            age_ms: now.duration_since(last).as_millis() as u64,
        })
    }

    pub fn ball(&self, now: Instant) -> Option<BallView> {
        let (t, at) = self.ball.as_ref()?;
        let b = t.ball.as_ref();
        Some(BallView {
            status: b
                .map(|b| crate::metrics::status_name(b.status))
                .unwrap_or("none")
                .to_string(),
            x_m: b.map(|b| b.x_m),
            y_m: b.map(|b| b.y_m),
            confidence: b.map(|b| b.confidence),
            players: t.players.as_ref().map(|p| p.count),
            age_ms: now.duration_since(*at).as_millis() as u64,
        })
    }

    /// CPU use since the previous call for this pid (percent of one core) and resident
    /// memory, from `/proc`.
    pub fn resources(&mut self, pid: u32, now: Instant) -> (Option<f64>, Option<u64>) {
        let ticks = cpu_ticks(pid);
        let cpu = ticks.and_then(|t| {
            let prev = self.cpu.insert(pid, (t, now));
            let (t0, at) = prev?;
            let wall = now.duration_since(at).as_secs_f64();
            (wall > 0.05).then(|| t.saturating_sub(t0) as f64 / ticks_per_second() / wall * 100.0)
        });
        (cpu, rss_bytes(pid))
    }
}

fn ticks_per_second() -> f64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .unwrap_or(100) as f64
}

/// utime + stime of a process, clock ticks (fields 14 and 15 of /proc/pid/stat).
fn cpu_ticks(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; fields are counted after its ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rss_bytes(pid: u32) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/statm")).ok()?;
    let pages: u64 = text.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .unwrap_or(4096) as u64;
    Some(pages * page)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_rate_counts_the_last_five_seconds() {
        let mut o = Observed::default();
        let t0 = Instant::now();
        let d = RawDetections {
            pts_ns: 0,
            seq: 0,
            classes: vec![],
            detections: vec![],
            inference_us: 250_000,
            region: None,
            motion: false,
        };
        let cue = RawDetections {
            motion: true,
            inference_us: 500,
            ..d.clone()
        };
        for i in 0..20 {
            o.detections(&d, t0 + Duration::from_millis(500 * i));
            // The motion cue's frames in between are not the detector's.
            for k in 1..12 {
                o.detections(&cue, t0 + Duration::from_millis(500 * i + 40 * k));
            }
        }
        let v = o.detector(t0 + Duration::from_millis(9_500)).unwrap();
        assert!((v.rate_hz - 2.0).abs() < 0.25, "{v:?}");
        assert_eq!(v.last_inference_ms, 250.0);
        assert_eq!(v.frames_analysed, 20);
    }

    #[test]
    fn this_process_has_cpu_and_memory() {
        let mut o = Observed::default();
        let pid = std::process::id();
        let t0 = Instant::now();
        let (cpu, rss) = o.resources(pid, t0);
        assert_eq!(cpu, None, "no previous sample");
        assert!(rss.unwrap() > 1_000_000);
        let mut x = 0u64;
        while t0.elapsed() < Duration::from_millis(150) {
            x = x.wrapping_add(std::hint::black_box(1));
        }
        let (cpu, _) = o.resources(pid, Instant::now());
        assert!(cpu.unwrap() >= 0.0 && x > 0);
    }
}
