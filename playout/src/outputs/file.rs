//! A video file output: NV12 frames in, H.264 in MP4 or Matroska out. The file is finalised
//! (EOS through the muxer) by [`FileOutput::finish`], which every stop path calls, so an MP4
//! written by a run stopped with SIGTERM plays to the end.

use gst::prelude::*;
use std::path::{Path, PathBuf};
use std::time::Duration;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum OutputError {
    #[error("output {path}: the folder {folder} does not exist or is not writable; create it or choose another path")]
    NotWritable { path: PathBuf, folder: PathBuf },
    #[error("output {path}: unknown container for extension {ext:?}; use .mp4 or .mkv")]
    Container { path: PathBuf, ext: String },
    #[error("output {path}: cannot build the encoder pipeline: {reason}")]
    Build { path: PathBuf, reason: String },
    #[error("output {path}: {reason}")]
    Runtime { path: PathBuf, reason: String },
}

/// Container format, from the file extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Mp4,
    Mkv,
}

impl Container {
    pub fn from_path(path: &Path) -> Result<Container, OutputError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(|e| e.to_ascii_lowercase())
        {
            Some(e) if e == "mp4" || e == "m4v" || e == "mov" => Ok(Container::Mp4),
            Some(e) if e == "mkv" => Ok(Container::Mkv),
            other => Err(OutputError::Container {
                path: path.to_path_buf(),
                ext: other.unwrap_or_default(),
            }),
        }
    }

    fn muxer(self) -> &'static str {
        match self {
            // Fragment every second: even a killed process leaves a playable file.
            Container::Mp4 => "mp4mux fragment-duration=1000",
            Container::Mkv => "matroskamux",
        }
    }
}

/// Settings of a file output.
#[derive(Debug, Clone)]
pub struct FileOutputSettings {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    pub bitrate_kbps: u32,
    /// Block the caller when the encoder falls behind (offline runs) instead of dropping.
    pub blocking: bool,
}

/// A running file output.
pub struct FileOutput {
    path: PathBuf,
    pipeline: gst::Pipeline,
    appsrc: gst_app::AppSrc,
    frames: u64,
    dropped: u64,
}

impl FileOutput {
    pub fn create(path: &Path, s: &FileOutputSettings) -> Result<FileOutput, OutputError> {
        let container = Container::from_path(path)?;
        let folder = path
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."))
            .to_path_buf();
        let writable = std::fs::metadata(&folder)
            .map(|m| m.is_dir() && !m.permissions().readonly())
            .unwrap_or(false);
        if !writable {
            return Err(OutputError::NotWritable {
                path: path.to_path_buf(),
                folder,
            });
        }
        let location = path
            .to_string_lossy()
            .replace('\\', "\\\\")
            .replace('"', "\\\"");
        let desc = format!(
            "appsrc name=src format=time is-live=false caps=video/x-raw,format=NV12,width={w},height={h},framerate={fps}/1 \
             ! queue max-size-buffers=8 ! x264enc speed-preset=ultrafast tune=zerolatency bitrate={br} key-int-max={gop} \
             ! h264parse ! {mux} ! filesink location=\"{location}\"",
            w = s.width,
            h = s.height,
            fps = s.fps,
            br = s.bitrate_kbps,
            gop = s.fps * 2,
            mux = container.muxer(),
        );
        let build = |reason: String| OutputError::Build {
            path: path.to_path_buf(),
            reason,
        };
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| build(e.to_string()))?
            .downcast::<gst::Pipeline>()
            .map_err(|_| build("not a pipeline".into()))?;
        let appsrc = pipeline
            .by_name("src")
            .and_then(|e| e.downcast::<gst_app::AppSrc>().ok())
            .ok_or_else(|| build("no appsrc".into()))?;
        appsrc.set_block(s.blocking);
        appsrc.set_max_bytes((s.width as u64 * s.height as u64 * 3 / 2) * 8);
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| build(format!("cannot start: {e}")))?;
        Ok(FileOutput {
            path: path.to_path_buf(),
            pipeline,
            appsrc,
            frames: 0,
            dropped: 0,
        })
    }

    /// Queues one frame (a reference; no pixel copy). Its PTS must be set.
    pub fn push(&mut self, frame: gst::Buffer) -> Result<(), OutputError> {
        self.check_bus()?;
        match self.appsrc.push_buffer(frame) {
            Ok(_) => {
                self.frames += 1;
                Ok(())
            }
            Err(e) => {
                self.dropped += 1;
                Err(OutputError::Runtime {
                    path: self.path.clone(),
                    reason: format!("encoder refused a frame: {e:?}"),
                })
            }
        }
    }

    fn check_bus(&self) -> Result<(), OutputError> {
        let bus = self.pipeline.bus().expect("bus");
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                return Err(OutputError::Runtime {
                    path: self.path.clone(),
                    reason: e.error().to_string(),
                });
            }
        }
        Ok(())
    }

    /// Frames accepted so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Sends end-of-stream, waits for the muxer to finalise the file, and stops.
    pub fn finish(self) -> Result<u64, OutputError> {
        let _ = self.appsrc.end_of_stream();
        let bus = self.pipeline.bus().expect("bus");
        let result = match bus.timed_pop_filtered(
            gst::ClockTime::from_seconds(30),
            &[gst::MessageType::Eos, gst::MessageType::Error],
        ) {
            Some(msg) => match msg.view() {
                gst::MessageView::Error(e) => Err(OutputError::Runtime {
                    path: self.path.clone(),
                    reason: e.error().to_string(),
                }),
                _ => Ok(self.frames),
            },
            None => Err(OutputError::Runtime {
                path: self.path.clone(),
                reason: "the encoder did not finish within 30 s".into(),
            }),
        };
        let _ = self.pipeline.set_state(gst::State::Null);
        std::thread::sleep(Duration::from_millis(1));
        result
    }
}

impl Drop for FileOutput {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}
