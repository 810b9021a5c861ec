//! Memory of the delay ring per second of delay, zero-copy against host-copy (the old
//! design), NV12 against RGBA, at the demo (1920x640) and production (5700x1900) panorama
//! sizes, side by side in one run. Each case runs in a fresh child process that measures its
//! own resident memory before and after 3 s of frames at 25 fps through a 1 s ring fed from
//! a frame pool sized the way capture sizes it (`pool_frames_for`).
//!
//! Run: `cargo bench -p touchline-playout --bench ring_memory`.

use playout::ring::{pool_frames_for, DelayRing, RingFrame, RingMode};
use shared::time::FrameRate;
use std::process::Command;

const FPS: u32 = 25;
const DELAY_NS: u64 = 1_000_000_000;
const MARGIN: u32 = 8;

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

/// One case, in this (child) process: prints `pool_bytes ring_bytes copied_per_s`.
fn run_case(w: usize, h: usize, bytes_per_px_x2: usize, mode: RingMode) {
    gst::init().unwrap();
    let frame_bytes = w * h * bytes_per_px_x2 / 2;
    let rate = FrameRate::new(FPS, 1);
    let before = resident_bytes();
    let pool: Vec<gst::Buffer> = (0..pool_frames_for(DELAY_NS, rate, MARGIN))
        .map(|i| gst::Buffer::from_mut_slice(vec![(i % 251) as u8 + 1; frame_bytes]))
        .collect();
    let after_pool = resident_bytes();
    let mut ring = DelayRing::new(DELAY_NS, pool.len(), mode);
    let frame_ns = 1_000_000_000 / FPS as u64;
    let frames = 3 * FPS as u64;
    let mut peak = after_pool;
    let mut checksum = 0u64;
    let mut copied_before_last_second = 0;
    for i in 0..frames {
        if i == frames - FPS as u64 {
            copied_before_last_second = ring.stats().bytes_copied;
        }
        let pts = i * frame_ns;
        // Zero-copy: a reference to the pooled buffer; host-copy copies it inside `push`.
        let buffer = pool[i as usize % pool.len()].clone();
        ring.push(RingFrame {
            pts_ns: pts,
            seq: i,
            buffer,
        });
        while let Some(f) = ring.pop_due(pts) {
            // The virtual camera reads the frame.
            let map = f.buffer.map_readable().unwrap();
            checksum += map[map.len() / 2] as u64;
        }
        peak = peak.max(resident_bytes());
    }
    // Steady state: the last second, when every frame goes in and another comes out.
    let copied_per_s = (ring.stats().bytes_copied - copied_before_last_second) as f64;
    println!(
        "{} {} {} {}",
        after_pool - before,
        peak - after_pool,
        copied_per_s,
        checksum
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--case") {
        let w = args[i + 1].parse().unwrap();
        let h = args[i + 2].parse().unwrap();
        let bpp2 = args[i + 3].parse().unwrap();
        let mode = if args[i + 4] == "host-copy" {
            RingMode::HostCopy
        } else {
            RingMode::ZeroCopy
        };
        run_case(w, h, bpp2, mode);
        return;
    }
    println!(
        "ring memory per second of delay at {FPS} fps (pool of {} frames for 1 s; resident memory measured)",
        pool_frames_for(DELAY_NS, FrameRate::new(FPS, 1), MARGIN)
    );
    println!(
        "| panorama | format | mode | pool MB (1 s + {MARGIN} frames) | ring beyond the pool MB | total MB | copied MB/s |"
    );
    println!("|---|---|---|---:|---:|---:|---:|");
    let me = std::env::current_exe().unwrap();
    for (w, h) in [(1920usize, 640usize), (5700, 1900)] {
        for (fmt, bpp2) in [("NV12", 3usize), ("RGBA", 8)] {
            for mode in ["zero-copy", "host-copy"] {
                let out = Command::new(&me)
                    .args([
                        "--case",
                        &w.to_string(),
                        &h.to_string(),
                        &bpp2.to_string(),
                        mode,
                    ])
                    .output()
                    .expect("running a case");
                assert!(out.status.success(), "case failed: {out:?}");
                let text = String::from_utf8_lossy(&out.stdout);
                let v: Vec<f64> = text
                    .split_whitespace()
                    .map(|x| x.parse().unwrap())
                    .collect();
                let (pool, ring, copied) = (v[0] / 1e6, v[1] / 1e6, v[2] / 1e6);
                println!(
                    "| {w}x{h} | {fmt} | {mode} | {pool:.0} | {ring:.0} | {:.0} | {copied:.0} |",
                    pool + ring
                );
            }
        }
    }
}
