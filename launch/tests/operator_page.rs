//! The operator page and API against a running system (`launch run` on the synthetic pitch,
//! on loopback): bad input gets clear HTTP errors and changes nothing, a scheduled match
//! records on time, a camera override survives a director kill, and the page works in a
//! real browser (headless Chromium).

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use serde_json::Value;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn bin(name: &str) -> PathBuf {
    let launch = PathBuf::from(env!("CARGO_BIN_EXE_launch"));
    let p = launch.parent().unwrap().join(name);
    assert!(
        p.is_file(),
        "{} is missing: build the workspace first",
        p.display()
    );
    p
}

/// Tests that run the whole system take turns (two cores).
fn one_system_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    static TURN: std::sync::Mutex<()> = std::sync::Mutex::new(());
    TURN.lock().unwrap_or_else(|p| p.into_inner())
}

const TOKEN: &str = "test-token-0123456789abcdef";

/// A running `launch run`, stopped (and its log shown on failure) when dropped.
struct System {
    dir: tempfile::TempDir,
    cfg: PathBuf,
    launch: Child,
    addr: String,
    token: Option<String>,
}

impl System {
    /// Starts the system at a small size (two cores run it in real time in a debug build)
    /// with a 3 s delay, a recording and a pose log; `extra` is more TOML.
    fn start(extra: &str, token: bool) -> System {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let token_line = if token {
            std::fs::write(d.join("token"), format!("{TOKEN}\n")).unwrap();
            format!("token_file = \"{}\"\n", d.join("token").display())
        } else {
            String::new()
        };
        let cfg = d.join("t.toml");
        std::fs::write(
            &cfg,
            format!(
                "[runtime]\ndir = \"{rt}\"\n\
                 [capture]\npanorama_width = 960\ncamera_width = 480\ncamera_height = 270\n\
                 [analyzer]\npanorama_width = 960\n\
                 [playout]\ndelay_s = 3.0\nrecord = \"{rec}\"\npose_log = \"{poses}\"\n\
                 output_width = 640\noutput_height = 360\n\
                 [operator]\nhttp_bind = \"127.0.0.1:0\"\n{token_line}{extra}",
                rt = d.join("rt").display(),
                rec = d.join("rec.mp4").display(),
                poses = d.join("poses.jsonl").display(),
            ),
        )
        .unwrap();
        let launch = Command::new(bin("launch"))
            .arg("--config")
            .arg(&cfg)
            .arg("run")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("launch.log")).unwrap())
            .spawn()
            .unwrap();
        let mut s = System {
            dir,
            cfg,
            launch,
            addr: String::new(),
            token: token.then(|| TOKEN.to_string()),
        };
        let file = s.path("rt/http-address");
        let t = Instant::now();
        while !file.exists() {
            assert!(
                s.launch.try_wait().unwrap().is_none(),
                "launch exited:\n{}",
                s.log_tail()
            );
            assert!(
                t.elapsed() < Duration::from_secs(20),
                "no page address:\n{}",
                s.log_tail()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        s.addr = std::fs::read_to_string(file).unwrap();
        // The programme blends in from playout's fallback over its first seconds; commands
        // come once it follows the director's path.
        s.wait_for(
            "every process running and the programme on the director's path",
            60,
            |st| {
                let p = &st["playout"]["status"];
                st["processes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .all(|p| p["state"] == "running")
                    && p["fallback_active"] == false
                    && p["playout_pts"].as_u64().unwrap_or(0) > 3_000_000_000
            },
        );
        s
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(self.path("launch.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(60)..].join("\n")
    }

    /// One HTTP/1.1 request; (status, body).
    fn http(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        token: Option<&str>,
    ) -> (u16, String) {
        let mut s = std::net::TcpStream::connect(&self.addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        let auth = token
            .map(|t| format!("Authorization: Bearer {t}\r\n"))
            .unwrap_or_default();
        let body = body.unwrap_or("");
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )
        .unwrap();
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).unwrap();
        let text = String::from_utf8_lossy(&raw).into_owned();
        let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
        let status = head.split_whitespace().nth(1).unwrap().parse().unwrap();
        (status, body.to_string())
    }

    fn api(&self, method: &str, path: &str, body: Option<&str>) -> (u16, String) {
        self.http(method, path, body, self.token.as_deref())
    }

    fn status(&self) -> Value {
        let (code, body) = self.api("GET", "/api/status", None);
        assert_eq!(code, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    fn wait_for(&self, what: &str, secs: u64, cond: impl Fn(&Value) -> bool) -> Value {
        let t = Instant::now();
        loop {
            let s = self.status();
            if cond(&s) {
                return s;
            }
            assert!(
                t.elapsed() < Duration::from_secs(secs),
                "timed out waiting for {what}; status {s}\n{}",
                self.log_tail()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops launch cleanly (SIGTERM) and waits.
    fn stop(&mut self) {
        let _ = kill(Pid::from_raw(self.launch.id() as i32), Signal::SIGTERM);
        let done = shared::process::wait_exit(&mut self.launch, Duration::from_secs(30)).unwrap();
        assert!(
            done.is_some_and(|s| s.success()),
            "launch did not stop cleanly:\n{}",
            self.log_tail()
        );
    }

    /// Every pose of the pose log that follows the director's path (not playout's own
    /// fallback): (pts_ns, yaw, pitch, fov).
    fn poses(&self) -> Vec<(u64, f64, f64, f64)> {
        let lines: shared::artefacts::Lines<shared::artefacts::PoseRecord> =
            shared::artefacts::read_lines(&self.path("poses.jsonl")).unwrap();
        assert_eq!(lines.bad_lines, 0);
        lines
            .records
            .iter()
            .filter(|p| !p.fallback)
            .map(|p| (p.pts_ns, p.yaw, p.pitch, p.fov))
            .collect()
    }

    /// The director's `from_pts_ns` for each mode it took, from launch's log.
    fn modes_taken(&self) -> Vec<(String, u64)> {
        std::fs::read_to_string(self.path("launch.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.contains("Operator camera mode taken."))
            .filter_map(|l| {
                let mode = l.split("mode=\"").nth(1)?.split('"').next()?.to_string();
                let from = l
                    .split("from_pts_ns=")
                    .nth(1)?
                    .split_whitespace()
                    .next()?
                    .parse()
                    .ok()?;
                Some((mode, from))
            })
            .collect()
    }
}

impl Drop for System {
    fn drop(&mut self) {
        if self.launch.try_wait().ok().flatten().is_none() {
            let _ = kill(Pid::from_raw(self.launch.id() as i32), Signal::SIGTERM);
            let _ = shared::process::wait_exit(&mut self.launch, Duration::from_secs(30));
        }
        if std::thread::panicking() {
            eprintln!("launch's log ends:\n{}", self.log_tail());
        }
    }
}

fn config_of(s: &System) -> shared::config::SystemConfig {
    shared::config::SystemConfig::load(&s.cfg).unwrap()
}

/// The poses from `from` to `until` (pts) are all on `pose` within `tol` degrees.
fn on_pose(
    poses: &[(u64, f64, f64, f64)],
    from: u64,
    until: u64,
    pose: (f64, f64, f64),
    tol: f64,
) -> Result<usize, String> {
    let sel: Vec<_> = poses
        .iter()
        .filter(|p| p.0 >= from && p.0 < until)
        .collect();
    for p in &sel {
        if (p.1 - pose.0).abs() > tol
            || (p.2 - pose.1).abs() > tol
            || (p.3 - pose.2).abs() > tol + 0.6
        {
            return Err(format!(
                "pose at {} s is {:?}, not {pose:?}",
                p.0 as f64 / 1e9,
                (p.1, p.2, p.3)
            ));
        }
    }
    Ok(sel.len())
}

/// Speed and acceleration of every axis in the pose log stay within the planner's bounds
/// (10 % for the interpolation between keyframes and frame timing).
fn within_bounds(
    poses: &[(u64, f64, f64, f64)],
    cfg: &shared::config::DirectorConfig,
) -> Result<(), String> {
    let limits = [
        (cfg.max_speed_deg_s, cfg.max_accel_deg_s2),
        (cfg.max_speed_deg_s, cfg.max_accel_deg_s2),
        (cfg.max_zoom_speed_deg_s, cfg.max_zoom_accel_deg_s2),
    ];
    for axis in 0..3 {
        let get = |p: &(u64, f64, f64, f64)| [p.1, p.2, p.3][axis];
        let v: Vec<(u64, f64)> = poses
            .windows(2)
            .filter(|w| w[1].0 > w[0].0)
            .map(|w| {
                (
                    w[1].0,
                    (get(&w[1]) - get(&w[0])) / ((w[1].0 - w[0].0) as f64 / 1e9),
                )
            })
            .collect();
        let (speed, accel) = limits[axis];
        if let Some(bad) = v.iter().find(|x| x.1.abs() > speed * 1.1 + 0.05) {
            return Err(format!(
                "axis {axis} at {:.2} s moves {:.2} deg/s, bound {speed}",
                bad.0 as f64 / 1e9,
                bad.1
            ));
        }
        // Acceleration over 0.2 s, where frame timing jitter averages out.
        for w in v.windows(6) {
            let dt = (w[5].0 - w[0].0) as f64 / 1e9;
            let a = (w[5].1 - w[0].1) / dt;
            if dt > 0.0 && dt < 0.5 && a.abs() > accel * 1.1 + 0.5 {
                return Err(format!(
                    "axis {axis} at {:.2} s accelerates {a:.1} deg/s2, bound {accel}",
                    w[5].0 as f64 / 1e9
                ));
            }
        }
    }
    Ok(())
}

#[test]
fn bad_input_gets_clear_http_errors_and_changes_nothing() {
    let _turn = one_system_at_a_time();
    let mut s = System::start("", true);
    // The token: missing, wrong, right.
    let (code, body) = s.http("GET", "/api/status", None, None);
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("token is required"), "{body}");
    let (code, body) = s.http("GET", "/api/status", None, Some("wrong-token-0123456789"));
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("wrong token"), "{body}");
    let (code, _) = s.http("GET", "/?token=wrong", None, None);
    assert_eq!(code, 401);
    let (code, page) = s.http("GET", &format!("/?token={TOKEN}"), None, None);
    assert_eq!(code, 200);
    assert!(page.contains("id=\"mode-wide\""));
    let before = s.status();
    for (path, body, expect) in [
        ("/api/camera", "{\"mode\": ", "not understood"),
        (
            "/api/camera",
            "{\"mode\": \"sideways\"}",
            "unknown variant `sideways`",
        ),
        (
            "/api/camera",
            "{\"mode\": \"manual\", \"yaw\": 170, \"pitch\": -10, \"fov\": 30}",
            "manual pose refused: yaw",
        ),
        (
            "/api/camera",
            "{\"mode\": \"manual\", \"yaw\": 0}",
            "missing field",
        ),
        (
            "/api/recording",
            "{\"action\": \"pause\"}",
            "unknown recording action",
        ),
        (
            "/api/schedule",
            "{\"start\": \"2020-01-01T00:00:00Z\", \"duration_s\": 600}",
            "in the past",
        ),
        (
            "/api/schedule",
            "{\"start\": \"tomorrow\", \"duration_s\": 600}",
            "not a date and time",
        ),
        (
            "/api/schedule",
            "{\"start_in_s\": 60, \"duration_s\": -5}",
            "duration_s",
        ),
        (
            "/api/schedule/remove",
            "{\"start\": \"2030-01-01T00:00:00Z\"}",
            "no match scheduled",
        ),
    ] {
        let (code, text) = s.api("POST", path, Some(body));
        assert_eq!(code, 400, "{path} {body}: {text}");
        let v: Value = serde_json::from_str(&text).unwrap();
        assert!(
            v["error"].as_str().unwrap().contains(expect),
            "{path} {body}: {text}"
        );
    }
    let (code, _) = s.api("GET", "/preview/other.jpg", None);
    assert_eq!(code, 404);
    let (code, metrics) = s.api("GET", "/metrics", None);
    assert_eq!(code, 200);
    for series in [
        "touchline_process_up{process=\"director\"} 1",
        "touchline_playout_frames_out_total{process=\"capture\"}",
        "touchline_capture_engine_panoramas_total{process=\"capture\"}",
        "touchline_analyzer_frames_in_total{process=\"analyzer\"}",
        "touchline_director_planner_replans_total{process=\"director\"}",
    ] {
        assert!(metrics.contains(series), "{series} missing:\n{metrics}");
    }
    // Nothing moved, nothing restarted.
    let after = s.status();
    assert_eq!(after["operator"], before["operator"]);
    assert_eq!(after["operator"]["camera"]["mode"], "auto");
    for p in after["processes"].as_array().unwrap() {
        assert_eq!(p["restarts"], 0, "{p}");
        assert_eq!(p["state"], "running", "{p}");
    }
    assert!(s.modes_taken().is_empty(), "{:?}", s.modes_taken());
    s.stop();
}

#[test]
fn a_scheduled_match_records_on_time() {
    let _turn = one_system_at_a_time();
    // A match tomorrow: until then (and outside any match) nothing is recorded.
    let tomorrow =
        shared::schedule::format_time(shared::time::unix_now_ns() as i64 + 86_400 * 1_000_000_000);
    let mut s = System::start(
        &format!("[[operator.matches]]\nstart = \"{tomorrow}\"\nduration_min = 90\n"),
        false,
    );
    let st = s.status();
    assert_eq!(st["playout"]["status"]["recording"]["on"], false, "{st}");
    assert_eq!(
        st["playout"]["status"]["outputs"][0]["state"], "off",
        "{st}"
    );
    assert!(!s.path("rec.mp4").exists());
    // A match 20 s ahead with 5 s pre-roll and 10 s long: records from +15 s to +30 s.
    let (code, body) = s.api(
        "POST",
        "/api/schedule",
        Some("{\"start_in_s\": 20, \"duration_s\": 10, \"preroll_s\": 5}"),
    );
    assert_eq!(code, 200, "{body}");
    let desk: Value = serde_json::from_str(&body).unwrap();
    let next = &desk["next_match"];
    let (from, until) = (
        next["record_from_unix_ns"].as_i64().unwrap(),
        next["record_until_unix_ns"].as_i64().unwrap(),
    );
    assert_eq!(until - from, 15_000_000_000);
    let frame_ns = 40_000_000;
    let on = s.wait_for("recording on", 30, |st| {
        st["playout"]["status"]["recording"]["on"] == true
    });
    let on_at = on["playout"]["status"]["recording"]["switched_unix_ns"]
        .as_i64()
        .unwrap();
    let off = s.wait_for("recording off", 30, |st| {
        st["playout"]["status"]["recording"]["on"] == false
    });
    let off_at = off["playout"]["status"]["recording"]["switched_unix_ns"]
        .as_i64()
        .unwrap();
    println!(
        "recording switched on {:.1} ms and off {:.1} ms after the schedule",
        (on_at - from) as f64 / 1e6,
        (off_at - until) as f64 / 1e6
    );
    assert!(
        (on_at - from).abs() <= frame_ns,
        "on at {on_at}, scheduled {from}"
    );
    assert!(
        (off_at - until).abs() <= frame_ns,
        "off at {off_at}, scheduled {until}"
    );
    let rec = &off["playout"]["status"]["recording"];
    let live_window = rec["switched_live_pts"].as_u64().unwrap()
        - on["playout"]["status"]["recording"]["switched_live_pts"]
            .as_u64()
            .unwrap();
    s.stop();
    // The file plays and holds the match window.
    let out = Command::new("gst-discoverer-1.0")
        .arg(s.path("rec.mp4"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let d = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .expect("a duration");
    let parts: Vec<f64> = d.split(':').map(|x| x.parse().unwrap()).collect();
    let secs = parts[0] * 3600.0 + parts[1] * 60.0 + parts[2];
    let live_window = live_window as f64 / 1e9;
    println!("recording {secs:.3} s, live window {live_window:.3} s");
    // The file holds the frames captured between the two switches (two frames' slack for
    // where the switches fell between frames); the camera's clock keeps wall time.
    assert!(
        (secs - live_window).abs() <= 0.081,
        "recording of {secs} s for a window of {live_window} s"
    );
    assert!(
        (live_window - 15.0).abs() <= 0.5,
        "live window {live_window} s for 15 s of wall time"
    );
    assert!(!s.path("rec-2.mp4").exists(), "one recording");
}

#[test]
fn a_camera_override_survives_a_director_kill() {
    let _turn = one_system_at_a_time();
    let mut s = System::start("", false);
    let cfg = config_of(&s);
    let rig = touchline_director::rig::Rig::from_system(&cfg).unwrap();
    let left = touchline_director::operator::mode_pose(
        &rig,
        shared::messages::CameraMode::Left,
        rig.wide_pose(),
    )
    .unwrap();
    let (code, body) = s.api("POST", "/api/camera", Some("{\"mode\": \"left\"}"));
    assert_eq!(code, 200, "{body}");
    std::thread::sleep(Duration::from_secs(4));
    let st = s.status();
    let live_at_kill = st["playout"]["status"]["live_pts"].as_u64().unwrap();
    let director = st["processes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "director")
        .unwrap()["pid"]
        .as_u64()
        .unwrap();
    kill(Pid::from_raw(director as i32), Signal::SIGKILL).unwrap();
    s.wait_for("the director back", 30, |st| {
        st["processes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "director" && p["restarts"] == 1 && p["state"] == "running")
    });
    std::thread::sleep(Duration::from_secs(12));
    let st = s.status();
    assert_eq!(st["operator"]["camera"]["mode"], "left");
    let shown = st["playout"]["status"]["playout_pts"].as_u64().unwrap();
    s.stop();
    let taken = s.modes_taken();
    assert!(
        taken.len() >= 2 && taken.iter().all(|(m, _)| m == "left"),
        "{taken:?}"
    );
    let from = taken[0].1;
    let poses = s.poses();
    // On the left view 6 s after the command, through the kill and the restart.
    assert!(
        from + 6_000_000_000 < live_at_kill,
        "the kill came before the left view was reached"
    );
    let n = on_pose(
        &poses,
        from + 6_000_000_000,
        shown,
        (left.yaw, left.pitch, left.fov),
        1.0,
    )
    .unwrap();
    let after_kill = poses
        .iter()
        .filter(|p| p.0 > live_at_kill && p.0 < shown)
        .count();
    println!("{n} frames on the left view, {after_kill} of them planned after the kill");
    assert!(after_kill > 100, "{after_kill} frames after the kill");
    // From the command on (the start of the programme blends in from playout's fallback).
    let since: Vec<_> = poses.iter().copied().filter(|p| p.0 >= from).collect();
    within_bounds(&since, &cfg.director).unwrap();
}

#[test]
fn the_operator_page_works_in_a_browser() {
    let _turn = one_system_at_a_time();
    for tool in ["/usr/bin/chromium", "/usr/bin/chromedriver"] {
        assert!(
            Path::new(tool).exists(),
            "{tool} is missing: run scripts/setup.sh (Debian packages chromium, chromium-driver)"
        );
    }
    // With the detector on, `auto` follows play, so handing back is seen in the poses.
    let mut s = System::start("[detector]\nenabled = true\n", false);
    let cfg = config_of(&s);
    let rig = touchline_director::rig::Rig::from_system(&cfg).unwrap();
    let wide = rig.wide_pose();
    let shot = s.path("operator-page.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser/operator_page.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg(format!("http://{}/", s.addr))
        .arg(&shot)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "browser: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let seen: Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    println!("the browser saw {seen}");
    assert_eq!(seen["preview-programme"]["changed"], true);
    assert_eq!(seen["preview-panorama"]["changed"], true);
    assert_eq!(seen["wide_shown"], true);
    assert_eq!(seen["mode_after_refusal"], "auto");
    assert!(seen["processes"].as_array().unwrap().len() == 3);
    std::thread::sleep(Duration::from_secs(14));
    s.stop();
    if let Ok(dir) = std::env::var("TOUCHLINE_SCREENSHOT_DIR") {
        std::fs::copy(&shot, Path::new(&dir).join("operator-page.png")).unwrap();
    }
    let taken = s.modes_taken();
    let find = |m: &str| {
        taken
            .iter()
            .find(|t| t.0 == m)
            .map(|t| t.1)
            .unwrap_or_else(|| panic!("{m} not taken: {taken:?}"))
    };
    let (wide_from, auto_from) = (find("wide"), find("auto"));
    let poses = s.poses();
    let n = on_pose(
        &poses,
        wide_from + 6_000_000_000,
        auto_from,
        (wide.yaw, wide.pitch, wide.fov),
        1.0,
    )
    .unwrap();
    assert!(n > 50, "{n} frames on the wide shot");
    // To the wide shot and back to play within the planner's bounds.
    let moves: Vec<_> = poses
        .iter()
        .copied()
        .filter(|p| p.0 >= wide_from && p.0 < auto_from + 8_000_000_000)
        .collect();
    within_bounds(&moves, &cfg.director).unwrap();
    // Auto hands back: the camera leaves the wide shot to follow play.
    let after: Vec<_> = poses
        .iter()
        .filter(|p| p.0 > auto_from + 4_000_000_000)
        .collect();
    assert!(!after.is_empty(), "no frames after auto");
    assert!(
        after
            .iter()
            .any(|p| (p.1 - wide.yaw).abs() > 1.0 || (p.3 - wide.fov).abs() > 1.5),
        "still on the wide shot after auto"
    );
}
