//! Recording switched on and off while playout runs: each switch takes effect at the live
//! frame it came with (one delay later in the programme), a file output writes a new file
//! each time it is switched on, the display keeps running, and nothing is counted dropped.

use playout::engine::{Playout, PlayoutInput, PlayoutSetup};
use playout::frame::FrameRef;
use playout::outputs::{ProgramTarget, RetrySettings};
use shared::config::{AudioSource, PlayoutConfig};
use shared::geometry::Calibration;
use shared::messages::OutputState;
use std::path::Path;

const FRAME_NS: u64 = 40_000_000;

fn duration_s(file: &Path) -> f64 {
    let out = std::process::Command::new("gst-discoverer-1.0")
        .arg(file)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}: {text}", file.display());
    let d = text
        .lines()
        .find_map(|l| l.trim().strip_prefix("Duration: "))
        .unwrap_or_else(|| panic!("no duration: {text}"));
    let p: Vec<f64> = d.split(':').map(|x| x.parse().unwrap()).collect();
    p[0] * 3600.0 + p[1] * 60.0 + p[2]
}

#[test]
fn switches_apply_at_their_live_frame_and_each_start_writes_a_new_file() {
    gst::init().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let rec = dir.path().join("rec.mp4");
    let cal = Calibration::synthetic(480, 240, 136);
    let (w, h) = (cal.panorama.width as usize, cal.panorama.height as usize);
    let config = PlayoutConfig {
        delay_s: 0.4,
        output_width: 320,
        output_height: 180,
        audio: AudioSource::None,
        ..PlayoutConfig::default()
    };
    let playout = Playout::start(PlayoutSetup {
        calibration: cal,
        fps: 25,
        config,
        outputs: vec![ProgramTarget::File(rec.clone())],
        panorama_view: None,
        blocking: true,
        retry: RetrySettings::default(),
        audio: false,
        pose_log: None,
        gpu: None,
        record: false,
        preview: Some(playout::preview::PreviewSettings {
            dir: dir.path().to_path_buf(),
            interval_ns: 1_000_000_000,
            width: 160,
        }),
    })
    .unwrap();
    let tx = playout.sender();
    // (after live frame, on): recording frames 21..=60 and 81..=99.
    let switches = [(20u64, true), (60, false), (80, true)];
    for seq in 0..100u64 {
        let mut b = gst::Buffer::with_size(w * h * 3 / 2).unwrap();
        {
            let b = b.get_mut().unwrap();
            let mut m = b.map_writable().unwrap();
            m.as_mut_slice()
                .iter_mut()
                .for_each(|x| *x = (seq % 200) as u8 + 16);
        }
        tx.send(PlayoutInput::Frame {
            pts_ns: seq * FRAME_NS,
            seq,
            frame: FrameRef::Host(b),
        })
        .unwrap();
        if let Some((_, on)) = switches.iter().find(|(at, _)| *at == seq) {
            tx.send(PlayoutInput::Record {
                on: *on,
                unix_ns: 1,
            })
            .unwrap();
        }
        if seq == 30 {
            // Switched on (frame 21 was shown): the output runs.
            std::thread::sleep(std::time::Duration::from_millis(300));
        }
    }
    let status = playout.status_handle();
    let report = playout.finish();
    let status = status.lock().unwrap().clone();
    assert_eq!(report.record_switches, 3, "{report:?}");
    assert_eq!(report.frames_out, 100);
    let second = dir.path().join("rec-2.mp4");
    assert_eq!(
        report.files,
        vec![rec.display().to_string(), second.display().to_string()]
    );
    assert_eq!(report.outputs[0].1, Ok(59), "{report:?}");
    let h = &report.output_health[0];
    assert_eq!(h.dropped, 0, "frames while off are not dropped: {h:?}");
    assert_eq!(h.restarts, 0, "switching on is no restart: {h:?}");
    assert!(status.recording.on);
    assert_eq!(status.recording.switched_live_pts, 80 * FRAME_NS);
    assert!(
        (duration_s(&rec) - 40.0 * 0.04).abs() < 0.021,
        "{}",
        duration_s(&rec)
    );
    assert!(
        (duration_s(&second) - 19.0 * 0.04).abs() < 0.021,
        "{}",
        duration_s(&second)
    );
    // The operator page's snapshots were written.
    assert!(report.previews.written >= 4, "{:?}", report.previews);
    for f in [
        playout::preview::PROGRAMME_FILE,
        playout::preview::PANORAMA_FILE,
    ] {
        assert!(dir.path().join(f).exists(), "{f}");
    }
    assert_eq!(status.outputs[0].state, OutputState::Running);
}
