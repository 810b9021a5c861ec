//! Audio on its way to the outputs: chunks wait with the video (same delay, same timestamps)
//! and leave when the video frame they belong to is shown; a stalled source is filled with
//! generated silence, never dropped. The synthetic track (tone + crowd-like noise + a beep at
//! every sync flash) lives here too.

use crate::outputs::{AUDIO_CHANNELS, AUDIO_RATE};
use std::collections::VecDeque;

const BYTES_PER_FRAME: u64 = 2 * AUDIO_CHANNELS as u64;

/// Duration in ns of `bytes` of S16LE stereo audio.
pub fn bytes_to_ns(bytes: u64) -> u64 {
    bytes / BYTES_PER_FRAME * 1_000_000_000 / AUDIO_RATE as u64
}

fn ns_to_samples(ns: u64) -> u64 {
    (ns as u128 * AUDIO_RATE as u128 / 1_000_000_000) as u64
}

/// A chunk of S16LE interleaved stereo audio with its pts.
pub fn audio_buffer(pts_ns: u64, samples: Vec<i16>) -> gst::Buffer {
    let bytes: Vec<u8> = samples.iter().flat_map(|s| s.to_le_bytes()).collect();
    let dur = bytes_to_ns(bytes.len() as u64);
    let mut b = gst::Buffer::from_mut_slice(bytes);
    let m = b.get_mut().expect("new buffer");
    m.set_pts(gst::ClockTime::from_nseconds(pts_ns));
    m.set_duration(gst::ClockTime::from_nseconds(dur));
    b
}

/// Silence from `from_ns` to `to_ns`.
pub fn silence(from_ns: u64, to_ns: u64) -> gst::Buffer {
    let n = ns_to_samples(to_ns.saturating_sub(from_ns)) as usize * AUDIO_CHANNELS as usize;
    audio_buffer(from_ns, vec![0; n])
}

/// Counters of the audio path.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AudioStats {
    pub chunks: u64,
    /// Silence generated for stalls, in ms.
    pub silence_ms: u64,
    /// Chunks that came too late for their video (older than what was already sent).
    pub late_chunks: u64,
}

/// Audio waiting for its video.
#[derive(Debug, Default)]
pub struct AudioQueue {
    queue: VecDeque<gst::Buffer>,
    /// End of the audio sent so far (pts of the next expected sample).
    sent_until: Option<u64>,
    stats: AudioStats,
}

impl AudioQueue {
    pub fn push(&mut self, chunk: gst::Buffer) {
        let pts = chunk.pts().map(|p| p.nseconds()).unwrap_or(0);
        if self
            .sent_until
            .is_some_and(|s| pts + bytes_to_ns(chunk.size() as u64) <= s)
        {
            self.stats.late_chunks += 1;
            return;
        }
        self.stats.chunks += 1;
        self.queue.push_back(chunk);
    }

    /// Audio to send along with the video up to `until_ns` (the end of the frame just
    /// shown). Gaps are filled with silence, so the outputs get continuous audio.
    pub fn release(&mut self, until_ns: u64) -> Vec<gst::Buffer> {
        let mut out = Vec::new();
        let mut cursor = self.sent_until.unwrap_or_else(|| {
            self.queue
                .front()
                .and_then(|c| c.pts())
                .map(|p| p.nseconds())
                .unwrap_or(until_ns)
                .min(until_ns)
        });
        while let Some(front) = self.queue.front() {
            let pts = front.pts().map(|p| p.nseconds()).unwrap_or(cursor);
            if pts >= until_ns {
                break;
            }
            if pts > cursor + 2_000_000 {
                out.push(silence(cursor, pts));
                self.stats.silence_ms += (pts - cursor) / 1_000_000;
            }
            let c = self.queue.pop_front().unwrap();
            cursor = cursor.max(pts + bytes_to_ns(c.size() as u64));
            out.push(c);
        }
        // The source stalled: fill up to the video with silence.
        if cursor + 2_000_000 < until_ns
            && self
                .queue
                .front()
                .is_none_or(|c| c.pts().map(|p| p.nseconds()).unwrap_or(0) >= until_ns)
        {
            out.push(silence(cursor, until_ns));
            self.stats.silence_ms += (until_ns - cursor) / 1_000_000;
            cursor = until_ns;
        }
        self.sent_until = Some(cursor);
        out
    }

    pub fn stats(&self) -> AudioStats {
        self.stats
    }
}

/// The synthetic venue sound: a low tone with crowd-like noise, and a 1 kHz beep of 100 ms
/// at every multiple of `beep_period_ns` (aligned with the synthetic source's sync flash).
pub struct SyntheticAudio {
    next_sample: u64,
    beep_period_ns: u64,
    noise: u32,
}

impl SyntheticAudio {
    pub fn new(beep_period_ns: u64) -> SyntheticAudio {
        SyntheticAudio {
            next_sample: 0,
            beep_period_ns,
            noise: 0x1234_5678,
        }
    }

    /// The next `ms` milliseconds of audio.
    pub fn next_chunk(&mut self, ms: u64) -> gst::Buffer {
        let n = AUDIO_RATE as u64 * ms / 1000;
        let start = self.next_sample;
        let pts = start * 1_000_000_000 / AUDIO_RATE as u64;
        let mut v = Vec::with_capacity(n as usize * 2);
        for i in 0..n {
            let s = start + i;
            let t = s as f64 / AUDIO_RATE as f64;
            let t_ns = s * 1_000_000_000 / AUDIO_RATE as u64;
            self.noise ^= self.noise << 13;
            self.noise ^= self.noise >> 17;
            self.noise ^= self.noise << 5;
            let crowd = ((self.noise >> 16) as f64 / 65535.0 - 0.5) * 0.08;
            let hum = (t * 2.0 * std::f64::consts::PI * 180.0).sin() * 0.05;
            let beep = if self.beep_period_ns > 0 && t_ns % self.beep_period_ns < 100_000_000 {
                (t * 2.0 * std::f64::consts::PI * 1000.0).sin() * 0.6
            } else {
                0.0
            };
            let x = ((crowd + hum + beep) * 32767.0) as i16;
            v.push(x);
            v.push(x);
        }
        self.next_sample += n;
        audio_buffer(pts, v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn released_with_the_video_and_stalls_become_silence() {
        gst::init().unwrap();
        let mut q = AudioQueue::default();
        let mut gen = SyntheticAudio::new(0);
        for _ in 0..5 {
            q.push(gen.next_chunk(20)); // 0..100 ms
        }
        let out = q.release(40_000_000);
        let total: u64 = out.iter().map(|b| bytes_to_ns(b.size() as u64)).sum();
        assert_eq!(total, 40_000_000);
        // Nothing more arrives: up to 300 ms is 60 ms of audio, then silence.
        let out = q.release(300_000_000);
        let total: u64 = out.iter().map(|b| bytes_to_ns(b.size() as u64)).sum();
        assert_eq!(total, 260_000_000);
        assert_eq!(q.stats().silence_ms, 200);
        // A chunk for time already sent is late and dropped (counted).
        q.push(audio_buffer(0, vec![0; 960]));
        assert_eq!(q.stats().late_chunks, 1);
    }

    #[test]
    fn beep_at_every_period() {
        gst::init().unwrap();
        let mut gen = SyntheticAudio::new(1_000_000_000);
        let c = gen.next_chunk(50);
        let m = c.map_readable().unwrap();
        let samples: Vec<i16> = m
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert!(samples.iter().map(|s| s.unsigned_abs()).max().unwrap() > 15_000);
        drop(m);
        let c = gen.next_chunk(200);
        let m = c.map_readable().unwrap();
        let tail: Vec<i16> = m
            .chunks_exact(2)
            .map(|b| i16::from_le_bytes([b[0], b[1]]))
            .collect();
        assert!(
            tail[tail.len() / 2..]
                .iter()
                .map(|s| s.unsigned_abs())
                .max()
                .unwrap()
                < 6_000
        );
    }
}
