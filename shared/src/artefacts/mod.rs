//! Run artefacts: the JSON lines of the pose log and the synthetic source's ground truth log,
//! and capture's final report ([`CaptureReport`]): the writers and the readers share these
//! types, so a renamed field fails to compile
//! instead of showing up as "not measured".

mod capture_report;

pub use capture_report::{
    CaptureReport, DetectorStats, EngineStats, GpuRunReport, OutputCheck, PlayoutReport,
    PreviewStats, RunReport,
};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

/// One line of playout's pose log (`playout.pose_log`): the pose of an output frame.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PoseRecord {
    pub pts_ns: u64,
    /// Degrees.
    pub yaw: f64,
    pub pitch: f64,
    pub fov: f64,
    /// True while playout had no path for the frame (its own hold / ease to wide).
    pub fallback: bool,
}

/// Writes one record as a JSON line.
pub fn write_line<T: Serialize>(out: &mut impl Write, record: &T) -> std::io::Result<()> {
    serde_json::to_writer(&mut *out, record).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}

/// What reading a JSON-lines artefact found.
#[derive(Debug)]
pub struct Lines<T> {
    pub records: Vec<T>,
    /// Lines that did not parse (a line cut short by a crash, a foreign line).
    pub bad_lines: usize,
}

/// Reads every line of a JSON-lines file as `T`; a missing file is an error.
pub fn read_lines<T: DeserializeOwned>(path: &Path) -> std::io::Result<Lines<T>> {
    let text = std::fs::read_to_string(path)?;
    let mut records = Vec::new();
    let mut bad_lines = 0;
    for l in text.lines().filter(|l| !l.trim().is_empty()) {
        match serde_json::from_str(l) {
            Ok(r) => records.push(r),
            Err(_) => bad_lines += 1,
        }
    }
    Ok(Lines { records, bad_lines })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pose_lines_round_trip_and_bad_lines_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("poses.jsonl");
        let mut f = std::fs::File::create(&p).unwrap();
        let r = PoseRecord {
            pts_ns: 40_000_000,
            yaw: -1.5,
            pitch: -12.25,
            fov: 60.0,
            fallback: false,
        };
        write_line(&mut f, &r).unwrap();
        writeln!(f, "{{\"pts_ns\": 1").unwrap();
        drop(f);
        let lines: Lines<PoseRecord> = read_lines(&p).unwrap();
        assert_eq!(lines.records, vec![r]);
        assert_eq!(lines.bad_lines, 1);
        assert!(read_lines::<PoseRecord>(&dir.path().join("none")).is_err());
    }
}
