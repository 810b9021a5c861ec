//! One configured output across its incarnations: builds its pipeline, hands it frames,
//! notices when it fails or stalls, and builds it again after a backoff ([`Lifecycle`]),
//! while every other output goes on untouched. A file output never overwrites a file: it
//! writes to the next free name (`broadcast-2.mp4`, ...), also when it is rebuilt.

use super::lifecycle::{Lifecycle, RetrySettings};
use super::program::{ProgramOutput, ProgramSettings, ProgramTarget, Pushed};
use shared::messages::{OutputHealth, OutputState};
use shared::transport::RateLimitedLog;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `path` if no file is there, else the first free `stem-N.ext` (N from 2).
pub fn free_file(path: &Path) -> PathBuf {
    if !path.exists() {
        return path.to_path_buf();
    }
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let ext = path
        .extension()
        .map(|e| format!(".{}", e.to_string_lossy()))
        .unwrap_or_default();
    (2u32..)
        .map(|n| path.with_file_name(format!("{stem}-{n}{ext}")))
        .find(|p| !p.exists())
        .expect("some number is free")
}

/// An output and its retries.
pub struct OutputSlot {
    /// As configured (a file output's incarnations write to [`free_file`] names of it).
    target: ProgramTarget,
    settings: ProgramSettings,
    life: Lifecycle,
    out: Option<ProgramOutput>,
    /// Frames, sink bytes and dropped frames of earlier incarnations.
    frames_before: u64,
    bytes_before: u64,
    dropped_before: u64,
    /// Frames that arrived while the output was down.
    dropped_down: u64,
    /// Every file written (file outputs).
    files: Vec<PathBuf>,
    /// Failures are logged once per interval, with the count of the others.
    log: RateLimitedLog,
    /// Incarnations switched off, finishing their files in the background.
    finishing: Vec<std::thread::JoinHandle<Result<(), String>>>,
}

impl OutputSlot {
    /// Builds the output now; a failure is logged and retried (when retrying can help).
    pub fn start(
        target: ProgramTarget,
        settings: ProgramSettings,
        retry: RetrySettings,
        now: Instant,
    ) -> OutputSlot {
        let mut slot = Self::off(target, settings, retry, now);
        slot.life = Lifecycle::new(retry, now);
        slot.build(now);
        slot
    }

    /// An output that starts switched off (recording stopped); see [`switch`](Self::switch).
    pub fn off(
        target: ProgramTarget,
        settings: ProgramSettings,
        retry: RetrySettings,
        now: Instant,
    ) -> OutputSlot {
        OutputSlot {
            target,
            settings,
            life: Lifecycle::off(retry, now),
            out: None,
            frames_before: 0,
            bytes_before: 0,
            dropped_before: 0,
            dropped_down: 0,
            files: Vec::new(),
            log: RateLimitedLog::new(Duration::from_secs(10)),
            finishing: Vec::new(),
        }
    }

    /// Switches the output on (built at once, a file output in a new file) or off (its
    /// file is finished in the background, so that the muxer's finalisation never holds up
    /// playout). Frames while off are not counted dropped.
    pub fn switch(&mut self, on: bool, now: Instant) {
        if on {
            if self.life.switch_on(now) {
                tracing::info!(message = "Output switched on.", output = %self.name());
                self.build(now);
            }
            return;
        }
        if self.life.is_off() {
            return;
        }
        self.life.switch_off();
        tracing::info!(message = "Output switched off.", output = %self.name());
        if let Some(o) = self.out.take() {
            self.frames_before += o.frames();
            self.bytes_before += o.sink_bytes();
            self.dropped_before += o.dropped();
            let name = self.name();
            match std::thread::Builder::new()
                .name("output-finish".into())
                .spawn(move || o.finish().map(|_| ()).map_err(|e| e.to_string()))
            {
                Ok(h) => self.finishing.push(h),
                Err(e) => {
                    tracing::error!(message = "Cannot finish a switched-off output in the background.", output = %name, error = %e)
                }
            }
        }
    }

    /// True while switched off.
    pub fn is_off(&self) -> bool {
        self.life.is_off()
    }

    /// Waits for switched-off incarnations to finish their files; the first error.
    fn join_finishing(&mut self) -> Result<(), String> {
        let mut result = Ok(());
        for h in self.finishing.drain(..) {
            let r = h
                .join()
                .unwrap_or_else(|_| Err("its finishing thread panicked".into()));
            if let Err(e) = r {
                tracing::error!(message = "A switched-off output did not finish its file.", error = %e);
                if result.is_ok() {
                    result = Err(e);
                }
            }
        }
        result
    }

    pub fn name(&self) -> String {
        self.target.name()
    }

    /// Builds an incarnation if one is due.
    fn build(&mut self, now: Instant) {
        if !self.life.due(now) {
            return;
        }
        let target = match &self.target {
            ProgramTarget::File(p) => ProgramTarget::File(free_file(p)),
            t => t.clone(),
        };
        match ProgramOutput::create(&target, &self.settings) {
            Ok(o) => {
                if let ProgramTarget::File(p) = &target {
                    if p != self.path() {
                        tracing::warn!(message = "The file exists; this output writes to a new one.", output = %self.name(), file = %p.display());
                    }
                    self.files.push(p.clone());
                }
                if self.life.last_error().is_some() {
                    tracing::info!(message = "Output built again.", output = %self.name(), restarts = self.life.restarts() + 1);
                }
                self.life.built(now);
                self.out = Some(o);
            }
            Err(e) => self.down(now, e.to_string(), e.may_recover()),
        }
    }

    /// The configured path of a file output.
    fn path(&self) -> &Path {
        match &self.target {
            ProgramTarget::File(p) => p,
            _ => Path::new(""),
        }
    }

    /// The output failed at `now`: drop the pipeline, schedule the next attempt.
    fn down(&mut self, now: Instant, error: String, recoverable: bool) {
        if let Some(o) = self.out.take() {
            self.frames_before += o.frames();
            self.bytes_before += o.sink_bytes();
            self.dropped_before += o.dropped();
            // Dropping sets the pipeline to NULL, which waits for its streaming threads; a
            // sink blocked on the network would hold up playout: drop it elsewhere.
            let name = self.name();
            if let Err(e) = std::thread::Builder::new()
                .name("output-teardown".into())
                .spawn(move || drop(o))
            {
                tracing::warn!(message = "Cannot stop a failed output in the background.", output = %name, error = %e);
            }
        }
        let delay = self.life.failed(now, error.clone(), recoverable);
        let name = self.name();
        match delay {
            Some(d) => {
                if let Some(suppressed) = self.log.check(now) {
                    tracing::error!(message = "Output failed; building it again after a delay. The other outputs continue.", output = %name, error = %error, retry_in_ms = d.as_millis() as u64, restarts = self.life.restarts(), suppressed);
                }
            }
            None => {
                tracing::error!(message = "Output cannot work; it stays off. The other outputs continue.", output = %name, error = %error)
            }
        }
    }

    /// Looks for failures and due rebuilds at `now` (also called without frames).
    pub fn poll(&mut self, now: Instant) {
        if let Some(error) = self.out.as_mut().and_then(|o| o.poll().map(str::to_string)) {
            self.down(now, error, true);
        }
        self.build(now);
    }

    /// Hands a video frame (a reference) to the output, if it is up.
    pub fn push_video(&mut self, frame: gst::Buffer, now: Instant) {
        if self.life.is_off() {
            return;
        }
        self.poll(now);
        let Some(out) = self.out.as_mut() else {
            self.dropped_down += 1;
            return;
        };
        match out.push_video(frame) {
            Pushed::Queued | Pushed::Dropped => {
                let bytes = out.sink_bytes();
                if let Some(stall) = self.life.frame_queued(now, bytes) {
                    if let Some(o) = self.out.as_mut() {
                        o.fail(stall.clone());
                    }
                    self.down(now, stall, true);
                }
            }
            Pushed::Failed => {
                let error = out.failed().unwrap_or("failed").to_string();
                self.down(now, error, true);
            }
        }
    }

    /// Hands audio to the output, if it is up.
    pub fn push_audio(&mut self, chunk: gst::Buffer) {
        if let Some(o) = self.out.as_mut() {
            o.push_audio(chunk);
        }
    }

    /// The status text of a panorama view.
    pub fn set_text(&self, text: &str) {
        if let Some(o) = &self.out {
            o.set_text(text);
        }
    }

    /// For operators.
    pub fn health(&self) -> OutputHealth {
        let (frames, bytes, dropped) = self
            .out
            .as_ref()
            .map_or((0, 0, 0), |o| (o.frames(), o.sink_bytes(), o.dropped()));
        OutputHealth {
            name: self.name(),
            state: self.life.state(),
            restarts: self.life.restarts(),
            frames: self.frames_before + frames,
            bytes: self.bytes_before + bytes,
            dropped: self.dropped_before + dropped + self.dropped_down,
            file: self.files.last().map(|p| p.display().to_string()),
            last_error: self.life.last_error().map(str::to_string),
        }
    }

    /// Ends the output (the muxer finalises its file). Returns its health and the frames it
    /// wrote over all its incarnations, or why it ended badly.
    pub fn finish(mut self) -> (OutputHealth, Result<u64, String>) {
        let earlier = self.join_finishing();
        if self.life.is_off() {
            let health = self.health();
            return (health, earlier.map(|_| self.frames_before));
        }
        let result = match self.out.take() {
            Some(o) => {
                let frames = o.frames();
                let bytes = o.sink_bytes();
                let dropped = o.dropped();
                let r = o.finish();
                self.frames_before += frames;
                self.bytes_before += bytes;
                self.dropped_before += dropped;
                match r.map_err(|e| e.to_string()).and(earlier) {
                    Ok(_) => Ok(self.frames_before),
                    Err(e) => {
                        self.life.failed(Instant::now(), e.to_string(), false);
                        Err(e.to_string())
                    }
                }
            }
            None => Err(self
                .life
                .last_error()
                .unwrap_or("never started")
                .to_string()),
        };
        let mut health = self.health();
        if result.is_ok() {
            self.life.finished();
            health.state = OutputState::Finished;
        }
        (health, result)
    }

    /// Every file written (file outputs), first to last.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_output_never_overwrites() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("broadcast.mp4");
        assert_eq!(free_file(&p), p);
        std::fs::write(&p, b"x").unwrap();
        assert_eq!(free_file(&p), dir.path().join("broadcast-2.mp4"));
        std::fs::write(dir.path().join("broadcast-2.mp4"), b"x").unwrap();
        assert_eq!(free_file(&p), dir.path().join("broadcast-3.mp4"));
    }
}
