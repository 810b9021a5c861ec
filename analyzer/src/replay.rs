//! `analyzer replay`: re-runs the analyzer offline on the `RawDetections` of a recording,
//! as fast as the machine goes, and writes a new recording with the input frames and the new
//! tracks. Tracker tuning without the cameras.

use crate::counters::Counters;
use crate::geom::GeometryError;
use crate::pipeline::{Analyzer, Outcome};
use serde::Serialize;
use shared::config::AnalyzerConfig;
use shared::messages::{encode, Message};
use shared::recording::{RecordingError, RecordingReader, RecordingWriter};
use std::path::Path;
use std::time::Instant;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ReplayError {
    #[error(transparent)]
    Recording(#[from] RecordingError),
    #[error("analyzer set-up: {0}")]
    Geometry(#[from] GeometryError),
    #[error("input and output are the same file: {0}")]
    SameFile(String),
}

/// Where a replay stands (for progress lines).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Progress {
    pub records: u64,
    pub frames: u64,
    /// Span of `pts_ns` analysed so far, seconds.
    pub pts_span_s: f64,
    pub wall_s: f64,
}

/// What a replay did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReplaySummary {
    pub records_in: u64,
    /// Records that were not `RawDetections` (old tracks, heartbeats...): not copied.
    pub records_skipped: u64,
    /// Records whose payload did not decode.
    pub decode_errors: u64,
    /// The input ended inside a record (or a record was corrupt): everything before was used.
    pub input_error: Option<String>,
    pub tracks_written: u64,
    pub progress: Progress,
    /// Analysed time over wall time.
    pub speed: f64,
    pub counters: Counters,
    /// Snapshot history length at the end (bounded by `history_s`).
    pub history_len: usize,
}

/// Replays `input` into `output`. `on_progress` is called about every `progress_every`
/// frames.
pub fn replay(
    input: &Path,
    output: &Path,
    cfg: &AnalyzerConfig,
    progress_every: u64,
    mut on_progress: impl FnMut(&Progress),
) -> Result<ReplaySummary, ReplayError> {
    if input
        .canonicalize()
        .ok()
        .is_some_and(|i| output.canonicalize().ok() == Some(i))
    {
        return Err(ReplayError::SameFile(input.display().to_string()));
    }
    let mut analyzer = Analyzer::from_config(cfg)?;
    let reader = RecordingReader::open(input)?;
    let description = format!("replay of {}", input.display());
    let mut writer = RecordingWriter::create(output, "analyzer replay", &description)?;
    let started = Instant::now();
    let mut s = ReplaySummary {
        records_in: 0,
        records_skipped: 0,
        decode_errors: 0,
        input_error: None,
        tracks_written: 0,
        progress: Progress::default(),
        speed: 0.0,
        counters: Counters::default(),
        history_len: 0,
    };
    let mut first_pts: Option<u64> = None;
    for record in reader {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                s.input_error = Some(e.to_string());
                break;
            }
        };
        s.records_in += 1;
        let frame = match record.message() {
            Ok(Message::RawDetections(f)) => f,
            Ok(_) => {
                s.records_skipped += 1;
                continue;
            }
            Err(_) => {
                s.decode_errors += 1;
                continue;
            }
        };
        writer.write(&record)?;
        if let Outcome::Analysed(tracks) = analyzer.process(&frame) {
            let first = *first_pts.get_or_insert(tracks.pts_ns);
            s.progress.pts_span_s = tracks.pts_ns.saturating_sub(first) as f64 * 1e-9;
            let m = Message::Tracks(tracks);
            // A Tracks message is far below the size limit; a failure would be a bug.
            if let Ok(payload) = encode(&m) {
                writer.write_message(record.recv_unix_ns, m.topic(), &payload)?;
                s.tracks_written += 1;
            }
        }
        s.progress.frames += 1;
        s.progress.records = s.records_in;
        if s.progress.frames.checked_rem(progress_every) == Some(0) {
            s.progress.wall_s = started.elapsed().as_secs_f64();
            on_progress(&s.progress);
        }
    }
    writer.finish()?;
    s.progress.records = s.records_in;
    s.progress.wall_s = started.elapsed().as_secs_f64();
    s.speed = s.progress.pts_span_s / s.progress.wall_s.max(1e-9);
    s.counters = *analyzer.counters();
    s.history_len = analyzer.history().len();
    Ok(s)
}
