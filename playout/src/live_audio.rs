//! The venue's sound from a GStreamer source (`playout.audio_pipeline`, e.g. `alsasrc
//! device=hw:1` or `pulsesrc`). Its buffers are stamped on the system clock against the same
//! origin as the synthetic and the live cameras' frames, so they wait in the delay with the
//! video they belong to. A source that fails or stalls leaves silence in the programme (the
//! audio queue fills gaps), never a stopped broadcast.

use crate::outputs::{AUDIO_CHANNELS, AUDIO_RATE};
use gst::prelude::*;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum LiveAudioError {
    #[error("playout.audio_pipeline {description:?} is not a usable GStreamer description: {message}; fix the key or set playout.audio = \"none\"")]
    Parse {
        description: String,
        message: String,
    },
    #[error("playout.audio_pipeline {description:?} cannot start: {message}")]
    Start {
        description: String,
        message: String,
    },
}

/// A running audio source; stops when dropped.
pub struct LiveAudio {
    pipeline: gst::Pipeline,
}

impl LiveAudio {
    /// Starts `description` and hands every chunk (S16LE stereo at the programme's rate,
    /// pts in ns since `origin`, a time of the system clock) to `push`.
    pub fn start(
        description: &str,
        origin: gst::ClockTime,
        push: impl Fn(gst::Buffer) + Send + Sync + 'static,
    ) -> Result<LiveAudio, LiveAudioError> {
        let launch = format!(
            "{description} ! audioconvert ! audioresample ! \
             audio/x-raw,format=S16LE,layout=interleaved,rate={AUDIO_RATE},channels={AUDIO_CHANNELS} ! \
             appsink name=sink sync=false max-buffers=200 drop=false"
        );
        let parse_err = |message: String| LiveAudioError::Parse {
            description: description.to_string(),
            message,
        };
        let pipeline = gst::parse::launch(&launch)
            .map_err(|e| parse_err(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| parse_err("not a pipeline".into()))?;
        // Running time 0 is `origin` on the system clock: the cameras' time line.
        pipeline.use_clock(Some(&gst::SystemClock::obtain()));
        pipeline.set_start_time(gst::ClockTime::NONE);
        pipeline.set_base_time(origin);
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gst_app::AppSink>().ok())
            .ok_or_else(|| parse_err("no appsink".into()))?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |sink| {
                    let sample = sink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    let Some(buffer) = sample.buffer() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let Some(pts) = buffer.pts() else {
                        return Ok(gst::FlowSuccess::Ok);
                    };
                    let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                    let mut chunk = gst::Buffer::from_mut_slice(map.as_slice().to_vec());
                    {
                        let c = chunk.get_mut().expect("new buffer");
                        c.set_pts(pts);
                        c.set_duration(buffer.duration());
                    }
                    push(chunk);
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let bus = pipeline.bus().expect("pipeline bus");
        let desc = description.to_string();
        bus.set_sync_handler(move |_, msg| {
            match msg.view() {
                gst::MessageView::Error(e) => tracing::error!(
                    message = "The live audio source failed; the programme carries silence.",
                    audio_pipeline = %desc,
                    error = %e.error(),
                    debug = ?e.debug(),
                ),
                gst::MessageView::Eos(_) => tracing::warn!(
                    message = "The live audio source ended; the programme carries silence.",
                    audio_pipeline = %desc,
                ),
                _ => {}
            }
            gst::BusSyncReply::Drop
        });
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| LiveAudioError::Start {
                description: description.to_string(),
                message: e.to_string(),
            })?;
        tracing::info!(message = "Live audio source started.", audio_pipeline = %description);
        Ok(LiveAudio { pipeline })
    }
}

impl Drop for LiveAudio {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;

    #[test]
    fn chunks_arrive_stamped_from_the_origin() {
        gst::init().unwrap();
        let clock = gst::SystemClock::obtain();
        let origin = clock.time();
        let got: Arc<Mutex<Vec<(u64, usize)>>> = Arc::default();
        let g = got.clone();
        let src = LiveAudio::start("audiotestsrc is-live=true", origin, move |b| {
            g.lock()
                .unwrap()
                .push((b.pts().unwrap().nseconds(), b.size()))
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(600));
        drop(src);
        let got = got.lock().unwrap();
        assert!(got.len() >= 5, "{} chunks", got.len());
        let elapsed = (clock.time() - origin).nseconds();
        let (first, _) = got[0];
        let (last, _) = *got.last().unwrap();
        assert!(first < 200_000_000, "first chunk at {first} ns");
        assert!(last > first && last < elapsed, "{first} {last} {elapsed}");
        assert!(got.iter().all(|(_, n)| n % 4 == 0));
    }

    #[test]
    fn a_bad_description_names_the_key() {
        gst::init().unwrap();
        let e = LiveAudio::start("no-such-element", gst::ClockTime::ZERO, |_| {})
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("playout.audio_pipeline"), "{e}");
        assert!(e.contains("no-such-element"), "{e}");
    }
}
