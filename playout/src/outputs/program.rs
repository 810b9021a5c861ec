//! A programme output: raw NV12 video (and optionally S16LE audio) in; H.264 (+ AAC) out to
//! a file (MP4 finalised on stop, or Matroska), an RTMP server (FLV), an SRT listener
//! (MPEG-TS, caller mode), or a window. Every output is its own pipeline, so one that fails
//! (unwritable disk, unreachable server) does not stop the others; [`super::slot`] rebuilds
//! it. Stream keys are never logged.

use gst::prelude::*;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use thiserror::Error;

/// Audio format of every programme output.
pub const AUDIO_RATE: u32 = 48_000;
pub const AUDIO_CHANNELS: u32 = 2;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("output {name}: the folder {folder} does not exist or is not writable; create it or choose another path")]
    NotWritable { name: String, folder: PathBuf },
    #[error("output {name}: unknown container for extension {ext:?}; use .mp4 or .mkv")]
    Container { name: String, ext: String },
    #[error("output {name}: cannot build its pipeline: {reason}")]
    Build { name: String, reason: String },
    #[error("output {name}: {reason}")]
    Runtime { name: String, reason: String },
}

impl OutputError {
    /// True when building the output again later may succeed (a folder that is not there
    /// yet, a disk that comes back); false for what only a configuration change fixes.
    pub fn may_recover(&self) -> bool {
        matches!(
            self,
            OutputError::NotWritable { .. } | OutputError::Runtime { .. }
        )
    }
}

/// Where a programme goes.
#[derive(Clone)]
pub enum ProgramTarget {
    File(PathBuf),
    /// `url` without the key; the key is a secret.
    Rtmp {
        url: String,
        key: String,
    },
    /// `srt://host:port`, SRT caller mode; MPEG-TS inside. Query options (a passphrase)
    /// are never logged.
    Srt {
        url: String,
    },
    Display,
}

impl std::fmt::Debug for ProgramTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

impl ProgramTarget {
    /// A name for logs (never containing the stream key).
    pub fn name(&self) -> String {
        match self {
            ProgramTarget::File(p) => p.display().to_string(),
            ProgramTarget::Rtmp { url, .. } => format!("{url}/<key>"),
            ProgramTarget::Srt { url } => match url.split_once('?') {
                Some((base, _)) => format!("{base}?<options>"),
                None => url.clone(),
            },
            ProgramTarget::Display => "display".into(),
        }
    }
}

/// Settings of a programme output.
#[derive(Debug, Clone)]
pub struct ProgramSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    pub audio: bool,
    /// Block the caller when the encoder falls behind (offline runs). Off (live runs): a
    /// frame that finds the output's queue full is dropped and counted, so that a stalled
    /// stream can neither hold up playout nor fill the memory.
    pub blocking: bool,
    /// Burn a status text line into the picture (see [`ProgramOutput::set_text`]).
    pub text: bool,
}

/// Samples an AAC encoder puts before the first real sample (decoders play them): the
/// video is delayed by as much so that picture and sound leave the decoder together.
fn aac_priming_samples(encoder: &str) -> u64 {
    match encoder {
        "avenc_aac" => 1024,
        // Measured on Debian 12's voaacenc: 33.4-35 ms at 48 kHz.
        "voaacenc" => 1632,
        _ => 1024,
    }
}

/// A running programme output.
pub struct ProgramOutput {
    /// Taken off audio timestamps so that sound and picture leave the decoder together
    /// (see above).
    audio_advance_ns: u64,
    /// Capture time of the first video frame: every timestamp is counted from it, so that
    /// each output (and each rebuilt incarnation of one) starts at zero.
    origin_ns: Option<u64>,
    name: String,
    pipeline: gst::Pipeline,
    vsrc: gst_app::AppSrc,
    asrc: Option<gst_app::AppSrc>,
    text: Option<gst::Element>,
    /// Most bytes the video queue holds (frames beyond are dropped in live runs).
    max_queue_bytes: u64,
    blocking: bool,
    is_file: bool,
    frames: u64,
    /// Frames not queued because the output was behind (live runs).
    dropped: u64,
    /// Bytes that reached the sink element (file, socket, window).
    sink_bytes: Arc<AtomicU64>,
    failed: Option<String>,
}

/// What pushing a frame did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    Queued,
    /// The output was behind (live run): the frame was dropped and counted.
    Dropped,
    /// The output has failed (see [`ProgramOutput::failed`]).
    Failed,
}

/// The AAC encoder: `TOUCHLINE_AAC_ENCODER` if set, else the first available.
fn aac_encoder() -> String {
    if let Ok(e) = std::env::var("TOUCHLINE_AAC_ENCODER") {
        return e;
    }
    ["avenc_aac", "voaacenc"]
        .into_iter()
        .find(|e| gst::ElementFactory::find(e).is_some())
        .unwrap_or("voaacenc")
        .to_string()
}

fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// File container from the extension.
pub fn container_of(path: &Path) -> Option<&'static str> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(|e| e.to_ascii_lowercase())
        .as_deref()
    {
        // Fragmented every half second: a killed process leaves a file that plays up to
        // within a second of the kill.
        Some("mp4") | Some("m4v") | Some("mov") => Some("mp4mux fragment-duration=500"),
        Some("mkv") => Some("matroskamux"),
        _ => None,
    }
}

/// The programme pipeline for `target`: NV12 frames (and S16 audio) from appsrc elements `v`
/// and `a`, H.264 (and AAC) into the target's container and sink named `sink`; a text overlay
/// `text` when asked. A file's folder must exist and be writable.
pub fn pipeline_description(
    target: &ProgramTarget,
    s: &ProgramSettings,
    encoder: &str,
) -> Result<String, OutputError> {
    let video_caps = format!(
        "video/x-raw,format=NV12,width={},height={},framerate={}/1",
        s.width, s.height, s.fps
    );
    let audio_caps = format!(
        "audio/x-raw,format=S16LE,rate={AUDIO_RATE},channels={AUDIO_CHANNELS},layout=interleaved"
    );
    let encode = format!(
        "x264enc speed-preset=ultrafast tune=zerolatency bitrate={} key-int-max={} ! h264parse",
        s.bitrate_kbps,
        s.fps * 2
    );
    let text = if s.text {
        " ! textoverlay name=text valignment=top halignment=left font-desc=\"Sans 12\" shaded-background=true"
    } else {
        ""
    };
    let vsrc = format!("appsrc name=v format=time caps={video_caps}{text} ! queue max-size-buffers=8 max-size-time=0 max-size-bytes=0");
    let asrc = format!("appsrc name=a format=time caps={audio_caps} ! queue max-size-buffers=0 max-size-time=0 max-size-bytes=0 ! audioconvert ! audioresample");
    // The encoded audio into the muxer, when there is audio.
    let muxed_audio = if s.audio {
        format!(" {asrc} ! {encoder} ! aacparse ! queue ! mux.")
    } else {
        String::new()
    };
    Ok(match target {
        ProgramTarget::File(path) => {
            let mux = file_muxer(target.name(), path)?;
            format!(
                "{vsrc} ! {encode} ! queue ! mux.{muxed_audio} {mux} name=mux ! filesink name=sink location={}",
                quote(&path.to_string_lossy())
            )
        }
        ProgramTarget::Srt { url } => {
            // Caller mode; 7 TS packets (1316 bytes) per datagram, SRT's usual payload.
            let uri = if url.contains("mode=") {
                url.clone()
            } else if url.contains('?') {
                format!("{url}&mode=caller")
            } else {
                format!("{url}?mode=caller")
            };
            format!(
                "{vsrc} ! {encode} ! queue ! mux.{muxed_audio} mpegtsmux name=mux alignment=7 ! srtsink name=sink uri={} wait-for-connection=false sync=false",
                quote(&uri)
            )
        }
        ProgramTarget::Rtmp { url, key } => format!(
            "{vsrc} ! {encode} ! queue ! mux.{muxed_audio} flvmux name=mux streamable=true ! rtmp2sink name=sink location={}",
            quote(&format!("{}/{}", url.trim_end_matches('/'), key))
        ),
        ProgramTarget::Display => {
            let audio = if s.audio {
                format!(" {asrc} ! autoaudiosink sync=true")
            } else {
                String::new()
            };
            format!("{vsrc} ! videoconvert ! autovideosink name=sink sync=true{audio}")
        }
    })
}

/// The muxer for a file by its extension; the file's folder must exist and be writable.
fn file_muxer(name: String, path: &Path) -> Result<&'static str, OutputError> {
    let mux = container_of(path).ok_or_else(|| OutputError::Container {
        name: name.clone(),
        ext: path
            .extension()
            .map(|e| e.to_string_lossy().into_owned())
            .unwrap_or_default(),
    })?;
    let folder = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let ok = std::fs::metadata(&folder)
        .map(|m| m.is_dir() && !m.permissions().readonly())
        .unwrap_or(false);
    if !ok {
        return Err(OutputError::NotWritable { name, folder });
    }
    Ok(mux)
}

/// Counts the bytes reaching the element named `sink` (`None`: there is none).
fn count_sink_bytes(pipeline: &gst::Pipeline) -> Option<Arc<AtomicU64>> {
    let sink_bytes = Arc::new(AtomicU64::new(0));
    let sink_pad = pipeline
        .by_name("sink")
        .and_then(|e| e.static_pad("sink"))?;
    let counter = sink_bytes.clone();
    sink_pad.add_probe(
        gst::PadProbeType::BUFFER | gst::PadProbeType::BUFFER_LIST,
        move |_, info| {
            let n = match &info.data {
                Some(gst::PadProbeData::Buffer(b)) => b.size(),
                Some(gst::PadProbeData::BufferList(l)) => l.calculate_size(),
                _ => 0,
            };
            counter.fetch_add(n as u64, Ordering::Relaxed);
            gst::PadProbeReturn::Ok
        },
    );
    Some(sink_bytes)
}

impl ProgramOutput {
    pub fn create(
        target: &ProgramTarget,
        s: &ProgramSettings,
    ) -> Result<ProgramOutput, OutputError> {
        let name = target.name();
        let encoder = aac_encoder();
        let audio_advance_ns = if s.audio && !matches!(target, ProgramTarget::Display) {
            aac_priming_samples(&encoder) * 1_000_000_000 / AUDIO_RATE as u64
        } else {
            0
        };
        let desc = pipeline_description(target, s, &encoder)?;
        let build = |reason: String| OutputError::Build {
            name: name.clone(),
            reason,
        };
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| build(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build("not a pipeline".into()))?;
        let get = |n: &str| {
            pipeline
                .by_name(n)
                .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
        };
        let vsrc = get("v").ok_or_else(|| build("no video appsrc".into()))?;
        let asrc = get("a");
        let text = pipeline.by_name("text");
        let max_queue_bytes = s.width as u64 * s.height as u64 * 3 / 2 * 8;
        for src in std::iter::once(&vsrc).chain(asrc.iter()) {
            src.set_block(s.blocking);
            src.set_max_bytes(max_queue_bytes);
        }
        let sink_bytes = count_sink_bytes(&pipeline)
            .ok_or_else(|| build("no sink element named `sink`".into()))?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| build(format!("cannot start: {e}")))?;
        tracing::info!(message = "Programme output started.", output = %name, audio = s.audio);
        Ok(ProgramOutput {
            audio_advance_ns,
            origin_ns: None,
            name,
            pipeline,
            vsrc,
            asrc,
            text,
            max_queue_bytes,
            blocking: s.blocking,
            is_file: matches!(target, ProgramTarget::File(_)),
            frames: 0,
            dropped: 0,
            sink_bytes,
            failed: None,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The first error of this output, if it failed.
    pub fn failed(&self) -> Option<&str> {
        self.failed.as_deref()
    }

    /// Looks at the pipeline's bus; returns the error once the output has failed.
    pub fn poll(&mut self) -> Option<&str> {
        if self.failed.is_none() {
            let bus = self.pipeline.bus().expect("a pipeline has a bus");
            if let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
                if let gst::MessageView::Error(e) = msg.view() {
                    let reason = match e.debug() {
                        Some(d) => format!("{} ({d})", e.error()),
                        None => e.error().to_string(),
                    };
                    self.fail(reason);
                }
            }
        }
        self.failed.as_deref()
    }

    /// Marks the output failed: it takes no more frames. The pipeline stops when the output
    /// is dropped (which may block while a sink waits on the network: drop it off the
    /// playout thread, as [`super::slot`] does).
    pub fn fail(&mut self, reason: String) {
        if self.failed.is_none() {
            self.failed = Some(reason);
        }
    }

    /// Bytes that reached the sink so far.
    pub fn sink_bytes(&self) -> u64 {
        self.sink_bytes.load(Ordering::Relaxed)
    }

    /// Frames dropped because the output was behind (live runs).
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// `pts` counted from this output's first frame.
    fn rebased(&mut self, pts: u64) -> u64 {
        pts.saturating_sub(*self.origin_ns.get_or_insert(pts))
    }

    /// Queues a video frame (a reference; no pixel copy).
    pub fn push_video(&mut self, frame: gst::Buffer) -> Pushed {
        if self.poll().is_some() {
            return Pushed::Failed;
        }
        if !self.blocking && self.vsrc.current_level_bytes() >= self.max_queue_bytes {
            self.dropped += 1;
            return Pushed::Dropped;
        }
        let pts = frame.pts().map_or(0, |p| p.nseconds());
        let rebased = self.rebased(pts);
        let frame = if rebased == pts {
            frame
        } else {
            // A shallow copy: new timestamp, the same pixels.
            let mut b = frame.copy();
            b.get_mut()
                .expect("fresh copy")
                .set_pts(gst::ClockTime::from_nseconds(rebased));
            b
        };
        if let Err(e) = self.vsrc.push_buffer(frame) {
            self.fail(format!("video refused: {e:?}"));
            return Pushed::Failed;
        }
        self.frames += 1;
        Pushed::Queued
    }

    /// Queues audio (S16LE interleaved stereo at 48 kHz with its pts). Audio before this
    /// output's first video frame is left out.
    pub fn push_audio(&mut self, chunk: gst::Buffer) -> bool {
        if self.failed.is_some() {
            return false;
        }
        let Some(a) = &self.asrc else {
            return true;
        };
        let Some(origin) = self.origin_ns else {
            return true;
        };
        let shift = origin + self.audio_advance_ns;
        let pts = chunk.pts().map(|p| p.nseconds()).unwrap_or(0);
        let chunk = if pts >= shift {
            if shift == 0 {
                chunk
            } else {
                // A shallow copy: new timestamp, the same samples.
                let mut b = chunk.copy();
                b.get_mut()
                    .expect("fresh copy")
                    .set_pts(gst::ClockTime::from_nseconds(pts - shift));
                b
            }
        } else {
            // The part before zero is cut off.
            let skip_ns = shift - pts;
            let skip = ((skip_ns as u128 * AUDIO_RATE as u128 / 1_000_000_000) as usize)
                * 2
                * AUDIO_CHANNELS as usize;
            let m = chunk.map_readable().expect("audio chunk");
            if skip >= m.len() {
                return true;
            }
            let mut b = gst::Buffer::from_mut_slice(m[skip..].to_vec());
            b.get_mut()
                .expect("new buffer")
                .set_pts(gst::ClockTime::ZERO);
            b
        };
        a.push_buffer(chunk).is_ok()
    }

    pub fn frames(&self) -> u64 {
        self.frames
    }

    /// Sets the status text burnt into the following frames (outputs made with `text`).
    pub fn set_text(&self, text: &str) {
        if let Some(t) = &self.text {
            t.set_property("text", text);
        }
    }

    /// End of stream: waits for the muxer to finalise (a file 30 s at most, a stream or a
    /// window 5 s: a stalled network must not hold up the stop), then stops.
    pub fn finish(self) -> Result<u64, OutputError> {
        let limit = if self.is_file { 30 } else { 5 };
        if let Some(reason) = &self.failed {
            let _ = self.pipeline.set_state(gst::State::Null);
            return Err(OutputError::Runtime {
                name: self.name.clone(),
                reason: reason.clone(),
            });
        }
        let _ = self.vsrc.end_of_stream();
        if let Some(a) = &self.asrc {
            let _ = a.end_of_stream();
        }
        let bus = self.pipeline.bus().expect("bus");
        let result = match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(limit),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => match msg.view() {
                gst::MessageView::Error(e) => Err(OutputError::Runtime {
                    name: self.name.clone(),
                    reason: e.error().to_string(),
                }),
                _ => Ok(self.frames),
            },
            None => Err(OutputError::Runtime {
                name: self.name.clone(),
                reason: format!("did not finish within {limit} s"),
            }),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        if result.is_ok() {
            tracing::info!(message = "Programme output finished.", output = %self.name, frames = self.frames);
        }
        result
    }
}

impl Drop for ProgramOutput {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(audio: bool) -> ProgramSettings {
        ProgramSettings {
            width: 1920,
            height: 1080,
            fps: 25,
            bitrate_kbps: 6000,
            audio,
            blocking: false,
            text: false,
        }
    }

    #[test]
    fn a_file_gets_its_container_and_the_audio_branch_only_with_audio() {
        let dir = std::env::temp_dir();
        let t = ProgramTarget::File(dir.join("match.mp4"));
        let d = pipeline_description(&t, &settings(true), "fdkaacenc").unwrap();
        assert!(
            d.contains("mp4mux fragment-duration=500 name=mux ! filesink name=sink"),
            "{d}"
        );
        assert!(
            d.contains("appsrc name=a") && d.contains("fdkaacenc ! aacparse"),
            "{d}"
        );
        assert!(d.contains("key-int-max=50"), "two-second keyframes: {d}");
        let d = pipeline_description(&t, &settings(false), "fdkaacenc").unwrap();
        assert!(!d.contains("appsrc name=a"), "{d}");
        let bad = ProgramTarget::File(dir.join("match.avi"));
        assert!(matches!(
            pipeline_description(&bad, &settings(true), "x"),
            Err(OutputError::Container { .. })
        ));
        let nowhere = ProgramTarget::File("/no/such/folder/match.mkv".into());
        assert!(matches!(
            pipeline_description(&nowhere, &settings(true), "x"),
            Err(OutputError::NotWritable { .. })
        ));
    }

    #[test]
    fn srt_calls_unless_told_otherwise_and_rtmp_appends_the_key() {
        let srt = |url: &str| {
            let t = ProgramTarget::Srt { url: url.into() };
            pipeline_description(&t, &settings(false), "x").unwrap()
        };
        assert!(srt("srt://h:9000").contains("uri=\"srt://h:9000?mode=caller\""));
        assert!(srt("srt://h:9000?latency=200").contains("latency=200&mode=caller"));
        assert!(srt("srt://h:9000?mode=listener").contains("uri=\"srt://h:9000?mode=listener\""));
        let t = ProgramTarget::Rtmp {
            url: "rtmp://live.example/app/".into(),
            key: "k3y".into(),
        };
        let d = pipeline_description(&t, &settings(true), "x").unwrap();
        assert!(
            d.contains("location=\"rtmp://live.example/app/k3y\""),
            "{d}"
        );
    }
}
