//! What capture's system tests share: a small real-time configuration, the capture process,
//! real servers on loopback (nginx-rtmp, an SRT listener, RTSP cameras) that a test can stop
//! and start, and a tap on capture's playout status.
#![allow(dead_code)]

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use shared::messages::{Message, PlayoutStatus};
use shared::transport::{Endpoint, Subscriber, SubscriberOptions};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A config at a small size (960x320 panorama, 480x270 cameras, 640x360 out, 2 s delay),
/// with `capture` and `playout` lines added to their sections.
pub fn config(dir: &Path, capture: &str, playout: &str) -> PathBuf {
    let p = dir.join("t.toml");
    std::fs::write(
        &p,
        format!(
            "[runtime]\ndir = \"{rt}\"\n[analyzer]\npanorama_width = 960\n[capture]\ntable_cache = \"{cache}\"\npanorama_width = 960\ncamera_width = 480\ncamera_height = 270\n{capture}\n[playout]\ndelay_s = 2.0\noutput_width = 640\noutput_height = 360\nsync_flash_period_s = 2.0\nreport = \"{report}\"\npose_log = \"{poses}\"\n{playout}\n",
            rt = dir.join("rt").display(),
            cache = dir.join("cache").display(),
            report = dir.join("report.json").display(),
            poses = dir.join("poses.jsonl").display(),
        ),
    )
    .unwrap();
    p
}

/// The capture process, its stderr in `<config>.log`.
pub struct Capture {
    pub child: Child,
    pub log: PathBuf,
}

impl Capture {
    pub fn start(cfg: &Path) -> Capture {
        let log = cfg.with_extension("log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_capture"))
            .arg("--config")
            .arg(cfg)
            .stderr(Stdio::from(file))
            .spawn()
            .unwrap();
        Capture { child, log }
    }

    /// SIGTERM, then waits (20 s at most) for a clean exit.
    pub fn stop(mut self) {
        kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM).unwrap();
        let status = shared::process::wait_exit(&mut self.child, Duration::from_secs(20))
            .unwrap()
            .unwrap_or_else(|| panic!("capture did not stop; see {}", self.log.display()));
        assert!(
            status.success(),
            "capture exited with {status}; see {}",
            self.log.display()
        );
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Capture's final report (`playout.report`).
pub fn report(dir: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(dir.join("report.json")).unwrap()).unwrap()
}

/// A TCP port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A UDP port free on 127.0.0.1 right now (SRT runs over UDP).
pub fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_exit_or_kill(child: &mut Child) {
    if shared::process::wait_exit(child, Duration::from_secs(5))
        .ok()
        .flatten()
        .is_none()
    {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Debian's nginx with the RTMP module on 127.0.0.1, recording every stream it receives (a
/// new file for every connection).
pub struct RtmpServer {
    child: Child,
    pub port: u16,
    pub recordings: PathBuf,
}

impl RtmpServer {
    pub fn start(dir: &Path) -> RtmpServer {
        Self::start_on(dir, free_port())
    }

    /// Starts on `port` (again, after [`RtmpServer::stop`]).
    pub fn start_on(dir: &Path, port: u16) -> RtmpServer {
        let module = "/usr/lib/nginx/modules/ngx_rtmp_module.so";
        assert!(
            Path::new(module).exists() && Path::new("/usr/sbin/nginx").exists(),
            "the RTMP tests need Debian's nginx and libnginx-mod-rtmp (scripts/setup.sh installs them)"
        );
        let recordings = dir.join("rtmp-recordings");
        std::fs::create_dir_all(&recordings).unwrap();
        let conf = dir.join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "load_module {module};\ndaemon off;\nmaster_process off;\npid {dir}/nginx.pid;\n\
                 error_log {dir}/nginx-error.log info;\nevents {{ worker_connections 64; }}\n\
                 rtmp {{ server {{ listen 127.0.0.1:{port}; application live {{ live on; \
                 record all; record_path {rec}; record_unique on; }} }} }}\n",
                dir = dir.display(),
                rec = recordings.display(),
            ),
        )
        .unwrap();
        let child = Command::new("/usr/sbin/nginx")
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("nginx-start.log"))
            .arg("-c")
            .arg(&conf)
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let t = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "nginx did not listen on 127.0.0.1:{port}; see {}",
                dir.join("nginx-error.log").display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        RtmpServer {
            child,
            port,
            recordings,
        }
    }

    /// Stops the server (its connections close), like a server going down.
    pub fn stop(mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGTERM);
        wait_exit_or_kill(&mut self.child);
    }

    /// The recordings so far, oldest first.
    pub fn recordings(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&self.recordings)
            .map(|d| d.flatten().map(|e| e.path()).collect())
            .unwrap_or_default();
        v.sort();
        v
    }
}

impl Drop for RtmpServer {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.child.id() as i32), Signal::SIGQUIT);
        wait_exit_or_kill(&mut self.child);
    }
}

/// An SRT listener on 127.0.0.1 (`srt-live-transmit` from Debian's srt-tools) writing what
/// it receives (MPEG-TS) to a file.
pub struct SrtListener {
    child: Child,
    pub file: PathBuf,
}

impl SrtListener {
    pub fn start(port: u16, file: &Path) -> SrtListener {
        assert!(
            Path::new("/usr/bin/srt-live-transmit").exists(),
            "the SRT tests need srt-live-transmit (Debian srt-tools; scripts/setup.sh installs it)"
        );
        let out = std::fs::File::create(file).unwrap();
        let child = Command::new("/usr/bin/srt-live-transmit")
            .arg("-q")
            .arg(format!("srt://127.0.0.1:{port}?mode=listener"))
            .arg("file://con")
            .stdout(Stdio::from(out))
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        SrtListener {
            child,
            file: file.to_path_buf(),
        }
    }

    /// Bytes received so far.
    pub fn bytes(&self) -> u64 {
        std::fs::metadata(&self.file).map_or(0, |m| m.len())
    }

    /// Kills the listener, like a receiver going away.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for SrtListener {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two live H.264 cameras over RTSP on 127.0.0.1 (`tools/rtsp_camera_server.py`, GStreamer's
/// rtsp-server): `rtsp://127.0.0.1:<port>/left` and `/right`.
pub struct RtspCameras {
    child: Child,
    pub port: u16,
}

impl RtspCameras {
    pub fn start(port: u16) -> RtspCameras {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tools/rtsp_camera_server.py");
        let mut child = Command::new("/usr/bin/python3")
            .arg(&script)
            .args(["--port", &port.to_string(), "--width", "480", "--height", "270"])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("Debian's /usr/bin/python3 (python3-gi, gir1.2-gst-rtsp-server-1.0: scripts/setup.sh)");
        let mut line = String::new();
        let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        assert_eq!(
            line.trim(),
            "ready",
            "the RTSP camera server did not start (needs python3-gi and gir1.2-gst-rtsp-server-1.0)"
        );
        RtspCameras { child, port }
    }

    pub fn url(&self, name: &str) -> String {
        format!("rtsp://127.0.0.1:{}/{name}", self.port)
    }

    /// Kills the server: both cameras gone at once, like a switch losing power.
    pub fn stop(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for RtspCameras {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every `PlayoutStatus` capture publishes, with when it came.
pub struct StatusTap {
    stop: Arc<AtomicBool>,
    seen: Arc<Mutex<Vec<(Instant, PlayoutStatus)>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl StatusTap {
    pub fn start(rt_dir: &Path) -> StatusTap {
        let stop = Arc::new(AtomicBool::new(false));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let ep = Endpoint::ipc_in(rt_dir, "capture-pub.sock");
        let (s, v) = (stop.clone(), seen.clone());
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let mut sub = Subscriber::connect(
                    "test-status",
                    &[ep],
                    SubscriberOptions {
                        topics: vec!["status".into()],
                        channel_capacity: 64,
                    },
                );
                while !s.load(Ordering::Relaxed) {
                    if let Ok(Some(r)) =
                        tokio::time::timeout(Duration::from_millis(100), sub.recv()).await
                    {
                        if let Message::PlayoutStatus(p) = r.message {
                            v.lock().unwrap().push((Instant::now(), p));
                        }
                    }
                }
            });
        });
        StatusTap {
            stop,
            seen,
            thread: Some(thread),
        }
    }

    pub fn latest(&self) -> Option<PlayoutStatus> {
        self.seen.lock().unwrap().last().map(|(_, s)| s.clone())
    }

    /// Waits (up to `limit`) for a status that satisfies `f`; returns when it came.
    pub fn wait_for(
        &self,
        limit: Duration,
        f: impl Fn(&PlayoutStatus) -> bool,
    ) -> Option<(Instant, PlayoutStatus)> {
        let t = Instant::now();
        let mut checked = 0;
        while t.elapsed() < limit {
            {
                let seen = self.seen.lock().unwrap();
                if let Some(hit) = seen[checked..].iter().find(|(_, s)| f(s)) {
                    return Some(hit.clone());
                }
                checked = seen.len();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Every status received, with when it came.
    pub fn all(&self) -> Vec<(Instant, PlayoutStatus)> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for StatusTap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
