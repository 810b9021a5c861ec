//! The demo under fire: 60 s of the whole system on the synthetic pitch while the director is
//! killed with SIGKILL three times and the analyzer once, at random moments. The broadcast
//! must not lose a frame, its timestamps stay monotonic, nothing freezes longer than the
//! fallback allows, the camera never jumps beyond the configured bounds, and the report
//! counts the restarts. The folder evaluated again (`launch evaluate`) gives the report's
//! evaluation, `bench/chain_misses.py` reads its recording, `bench/detector_time.py` its
//! detector counts, and `bench/chain_director.py` replays the director over it.
//!
//! The kill times come from a seed printed at the start; `TOUCHLINE_TEST_SEED=<n>` repeats a
//! run.

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const DEMO_SECONDS: u64 = 60;

fn bin(name: &str) -> PathBuf {
    let mut p = std::env::current_exe().unwrap();
    p.pop();
    if p.ends_with("deps") {
        p.pop();
    }
    p.join(name)
}

/// Runs `bench/<name>.py <out> <args> --json <out>/<name>.json` and reads that JSON.
fn bench_script(out: &Path, name: &str, args: &[&std::ffi::OsStr]) -> serde_json::Value {
    let json = out.join(format!("{name}.json"));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../bench/{name}.py"));
    let run = Command::new("python3")
        .arg(&script)
        .arg(out)
        .args(args)
        .arg("--json")
        .arg(&json)
        .output()
        .expect("python3 (scripts/setup.sh installs it and msgpack)");
    assert!(run.status.success(), "{run:?}");
    serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap()
}

/// xorshift64*: enough randomness for kill moments, reproducible from the seed.
struct Rng(u64);

impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn status(cfg: &Path) -> Option<serde_json::Value> {
    let out = Command::new(bin("launch"))
        .arg("--config")
        .arg(cfg)
        .args(["status", "--json"])
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    serde_json::from_slice(&out.stdout).ok()
}

/// Pid of `name` once it is running (heartbeats arriving), waiting up to `timeout`.
fn running_pid(cfg: &Path, name: &str, not: Option<u32>, timeout: Duration) -> Option<u32> {
    let until = Instant::now() + timeout;
    while Instant::now() < until {
        if let Some(s) = status(cfg) {
            let p = s["processes"]
                .as_array()
                .and_then(|ps| ps.iter().find(|p| p["name"] == name))
                .cloned();
            if let Some(p) = p {
                let pid = p["pid"].as_u64().map(|v| v as u32);
                if p["state"] == "running" && pid.is_some() && pid != not {
                    return pid;
                }
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    None
}

#[test]
fn sixty_seconds_with_the_director_killed_three_times_and_the_analyzer_once() {
    let seed = std::env::var("TOUCHLINE_TEST_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("kill moments from TOUCHLINE_TEST_SEED={seed}");
    let mut rng = Rng(seed);

    // The whole system at a reduced size (960x320 panorama, 640x360 programme), so that the
    // debug build keeps real time on a 2-core machine; the README's demo runs the full size.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("touchline.toml");
    let out = dir.path().join("demo");
    std::fs::write(
        &cfg,
        format!(
            "[runtime]\ndir = \"{}\"\n[detector]\nenabled = true\n\
             [capture]\npanorama_width = 960\ncamera_width = 480\ncamera_height = 270\n[analyzer]\npanorama_width = 960\n\
             [playout]\noutput_width = 640\noutput_height = 360\npanorama_view_width = 640\n",
            dir.path().join("rt").display()
        ),
    )
    .unwrap();
    let mut launch = Command::new(bin("launch"))
        .arg("--config")
        .arg(&cfg)
        .args(["demo", "--seconds", &DEMO_SECONDS.to_string(), "--out"])
        .arg(&out)
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();

    // Every process up before the first kill.
    for name in ["capture", "analyzer", "director"] {
        assert!(
            running_pid(&cfg, name, None, Duration::from_secs(40)).is_some(),
            "{name} never reported running"
        );
    }
    // Four moments, at least 6 s apart, between the start and 8 s before the end; the
    // analyzer takes one of them at random.
    let first = started.elapsed().as_secs_f64() + 2.0;
    let last = DEMO_SECONDS as f64 - 8.0;
    let spacing = 6.0;
    let slack = (last - first - 3.0 * spacing).max(0.0);
    let mut offsets: Vec<f64> = (0..4).map(|_| rng.next_f64() * slack).collect();
    offsets.sort_by(f64::total_cmp);
    let moments: Vec<f64> = offsets
        .iter()
        .enumerate()
        .map(|(i, o)| first + o + i as f64 * spacing)
        .collect();
    let analyzer_slot = (rng.next_f64() * 4.0) as usize % 4;
    for (i, at) in moments.iter().enumerate() {
        let name = if i == analyzer_slot {
            "analyzer"
        } else {
            "director"
        };
        let wait = *at - started.elapsed().as_secs_f64();
        if wait > 0.0 {
            std::thread::sleep(Duration::from_secs_f64(wait));
        }
        let pid = running_pid(&cfg, name, None, Duration::from_secs(10))
            .unwrap_or_else(|| panic!("{name} not running before kill {i}"));
        eprintln!(
            "t={:.1}s: SIGKILL {name} (pid {pid})",
            started.elapsed().as_secs_f64()
        );
        kill(Pid::from_raw(pid as i32), Signal::SIGKILL).unwrap();
        let new = running_pid(&cfg, name, Some(pid), Duration::from_secs(15));
        assert!(new.is_some(), "{name} was not restarted after kill {i}");
    }

    let status = launch.wait().unwrap();
    assert!(status.success(), "launch demo failed: {status}");
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("report.json")).unwrap()).unwrap();
    let procs = report["processes"].as_array().unwrap();
    let restarts = |name: &str| {
        procs.iter().find(|p| p["name"] == name).unwrap()["restarts"]
            .as_u64()
            .unwrap()
    };
    assert_eq!(restarts("director"), 3, "{report:#}");
    assert_eq!(restarts("analyzer"), 1, "{report:#}");
    assert_eq!(restarts("capture"), 0, "{report:#}");
    assert_eq!(report["restarts"], 4, "{report:#}");
    assert_eq!(report["incidents"].as_array().unwrap().len(), 4);
    for p in procs {
        assert_eq!(p["ended"], "terminated", "{p}");
    }

    let e = &report["evaluation"];
    eprintln!("incidents: {:#}\nevaluation: {e:#}", report["incidents"]);
    let frames_in = e["frames_in"].as_u64().expect("frames_in");
    assert!(
        frames_in as f64 >= 0.9 * 25.0 * (DEMO_SECONDS as f64 - 15.0),
        "{e:#}"
    );
    assert_eq!(e["frames_out"].as_u64(), Some(frames_in), "{e:#}");
    assert_eq!(e["broadcast_frames"].as_u64(), Some(frames_in), "{e:#}");
    assert_eq!(e["frames_dropped"].as_u64(), Some(0), "{e:#}");
    assert_eq!(e["broadcast_monotonic"], true, "{e:#}");
    // Default fallback: hold 2 s at 25 fps.
    let frozen = e["broadcast_longest_frozen_frames"].as_u64().unwrap();
    assert!(frozen <= 50, "frozen for {frozen} frames: {e:#}");
    assert_eq!(e["pose_jumps"], 0, "{e:#}");
    assert!(e["pose_max_step_deg"].as_f64().unwrap() > 0.0, "{e:#}");
    // Track accuracy is measured (`ball_*` in the evaluation) but not bounded here: in this
    // 960 px panorama the ball is 1-1.5 px, below what the detector finds, so the analyzer
    // sees only false positives. The whole chain's accuracy at the demo size is asserted on
    // recorded detector output in analyzer/tests/real_chain.rs.
    assert!(e["ball_truth_frames"].as_u64().unwrap_or(0) > 0, "{e:#}");
    // The safe zone lies inside the frame: never more of the frames in it than in frame.
    let (in_frame, safe) = (
        e["ball_in_frame_pct"].as_f64().expect("ball_in_frame_pct"),
        e["ball_in_safe_zone_pct"]
            .as_f64()
            .expect("ball_in_safe_zone_pct"),
    );
    assert!((0.0..=in_frame).contains(&safe), "{e:#}");
    assert!(
        e["problems"].as_array().unwrap().is_empty(),
        "{:#}",
        e["problems"]
    );
    // The folder evaluated again gives the report's evaluation.
    let again = Command::new(bin("launch"))
        .arg("evaluate")
        .arg(&out)
        .output()
        .unwrap();
    assert!(again.status.success(), "{again:?}");
    let again: serde_json::Value = serde_json::from_slice(&again.stdout).unwrap();
    assert_eq!(&again, e);
    // bench/chain_misses.py reads the recording and the truth of the same folder.
    let c = bench_script(&out, "chain_misses", &[]);
    let total = &c["total"];
    let n = |k: &str| total[k].as_u64().unwrap();
    assert!(n("analysed") > 0 && n("in_play") > 0, "{c:#}");
    assert!(n("near") + n("far") + n("lost") <= n("in_play"), "{c:#}");
    // The visible-ball frames of the tracks, as the evaluation counts them (one per pts).
    let truth_frames = e["ball_truth_frames"].as_u64().unwrap();
    assert!(n("visible") > 0 && n("visible") <= truth_frames, "{c:#}");
    // bench/detector_time.py reads capture's detector counts and the evaluation of the
    // same folder (one run: no cost fit).
    let d = bench_script(&out, "detector_time", &[]);
    let run = &d["runs"][0];
    let k = |key: &str| run[key].as_u64().unwrap();
    assert!(
        k("analysed") > 0 && k("analysed") + k("skipped") <= k("offered"),
        "{d:#}"
    );
    assert_eq!(
        run["tracked_pct"].as_f64(),
        e["ball_tracked_pct"].as_f64(),
        "{d:#}"
    );
    assert!(d["sweep_s"].is_null(), "{d:#}");
    // bench/chain_director.py replays the director over the same recording and judges its
    // path as the demo judged the broadcast.
    let (director, launch) = (bin("director"), bin("launch"));
    let j = bench_script(
        &out,
        "chain_director",
        &[
            "--director".as_ref(),
            director.as_os_str(),
            "--launch".as_ref(),
            launch.as_os_str(),
        ],
    );
    let name = out.file_name().unwrap().to_str().unwrap();
    let r = &j[name];
    let replayed = r["in_frame"].as_f64().expect("in_frame");
    assert!((0.0..=100.0).contains(&replayed), "{j:#}");
    assert!(r["safe"].as_f64().expect("safe") <= replayed, "{j:#}");
    assert_eq!(r["live_in_frame"].as_f64(), Some(in_frame), "{j:#}");
}
