//! Ball trajectory files: CSV rows `t_s,x_m,y_m,z_m` (metres on the pitch, origin at a
//! corner, x along the touchline), an optional header line, `#` comments; read with `csv`.

use super::{BallPos, BALL_RADIUS_M};
use crate::geometry::PitchSpec;
use std::path::{Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum TrajectoryError {
    #[error("cannot read trajectory file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{origin} line {line}: {reason} (expected `t_s,x_m,y_m,z_m` with increasing t_s)")]
    BadRow {
        origin: String,
        line: usize,
        reason: String,
    },
    #[error("{origin}: no usable rows (expected `t_s,x_m,y_m,z_m`)")]
    Empty { origin: String },
}

/// A sampled ball trajectory, linearly interpolated.
#[derive(Debug, Clone, PartialEq)]
pub struct Trajectory {
    samples: Vec<(f64, f64, f64, f64)>,
    pitch: PitchSpec,
    /// Rows skipped as unusable (only when reading with `skip_bad_rows`).
    pub skipped_rows: usize,
}

impl Trajectory {
    pub fn load(
        path: &Path,
        pitch: &PitchSpec,
        skip_bad_rows: bool,
    ) -> Result<Trajectory, TrajectoryError> {
        let text = std::fs::read_to_string(path).map_err(|source| TrajectoryError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string(), pitch, skip_bad_rows)
    }

    /// Parses CSV text. With `skip_bad_rows` a bad row is skipped and counted; without it,
    /// the first bad row is an error naming the line.
    pub fn parse(
        text: &str,
        origin: &str,
        pitch: &PitchSpec,
        skip_bad_rows: bool,
    ) -> Result<Trajectory, TrajectoryError> {
        let mut samples: Vec<(f64, f64, f64, f64)> = Vec::new();
        let mut skipped = 0;
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .comment(Some(b'#'))
            .from_reader(text.as_bytes());
        for record in reader.records() {
            let (line, f): (usize, Vec<&str>) = match &record {
                Ok(r) => (
                    r.position().map_or(0, |p| p.line() as usize),
                    r.iter().collect(),
                ),
                Err(e) => (e.position().map_or(0, |p| p.line() as usize), vec![""; 0]),
            };
            let i = line.saturating_sub(1);
            if f.first().is_some_and(|s| s.starts_with('#')) {
                continue; // an indented comment
            }
            if i == 0
                && f.first()
                    .and_then(|s| s.chars().next())
                    .is_some_and(|c| c.is_ascii_alphabetic())
            {
                continue; // header
            }
            let row = match &record {
                Ok(_) => parse_row(&f, samples.last().map(|l| l.0)),
                Err(e) => Err(e.to_string()),
            };
            match row {
                Ok(s) => samples.push(s),
                Err(reason) if skip_bad_rows => {
                    skipped += 1;
                    tracing::debug!(message = "Skipped a trajectory row.", origin, line = i + 1, %reason);
                }
                Err(reason) => {
                    return Err(TrajectoryError::BadRow {
                        origin: origin.into(),
                        line: i + 1,
                        reason,
                    })
                }
            }
        }
        if samples.is_empty() {
            return Err(TrajectoryError::Empty {
                origin: origin.into(),
            });
        }
        Ok(Trajectory {
            samples,
            pitch: pitch.clone(),
            skipped_rows: skipped,
        })
    }

    pub fn duration(&self) -> f64 {
        self.samples.last().map(|s| s.0).unwrap_or(0.0)
    }

    pub fn start(&self) -> f64 {
        self.samples.first().map(|s| s.0).unwrap_or(0.0)
    }

    /// Position at `t`, interpolated; in play while on the pitch (1 m margin for the lines).
    pub fn at(&self, t: f64) -> BallPos {
        let i = self.samples.partition_point(|s| s.0 <= t);
        let (x, y, z) = if i == 0 {
            let s = self.samples[0];
            (s.1, s.2, s.3)
        } else if i >= self.samples.len() {
            let s = self.samples[self.samples.len() - 1];
            (s.1, s.2, s.3)
        } else {
            let (a, b) = (self.samples[i - 1], self.samples[i]);
            let f = (t - a.0) / (b.0 - a.0);
            (
                a.1 + (b.1 - a.1) * f,
                a.2 + (b.2 - a.2) * f,
                a.3 + (b.3 - a.3) * f,
            )
        };
        BallPos {
            x,
            y,
            z: z.max(BALL_RADIUS_M),
            in_play: self.pitch.contains(x, y, 0.5),
        }
    }
}

/// One row's fields as `(t_s, x_m, y_m, z_m)`, or why not: four finite numbers, `t_s` after
/// the last row's, `z_m` not below the ground.
fn parse_row(f: &[&str], last_t: Option<f64>) -> Result<(f64, f64, f64, f64), String> {
    if f.len() != 4 {
        return Err(format!("{} fields", f.len()));
    }
    let mut v = [0.0; 4];
    for (k, s) in f.iter().enumerate() {
        v[k] = s
            .parse::<f64>()
            .map_err(|_| format!("{s:?} is not a number"))?;
        if !v[k].is_finite() {
            return Err(format!("{s:?} is not finite"));
        }
    }
    if last_t.is_some_and(|t| v[0] <= t) {
        return Err(format!("t_s {} does not increase", v[0]));
    }
    if v[3] < 0.0 {
        return Err(format!("z_m {} is below the ground", v[3]));
    }
    Ok((v[0], v[1], v[2], v[3]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_interpolates() {
        let t = Trajectory::parse(
            "t_s,x_m,y_m,z_m\n0,10,10,0\n# comment\n1,20,10,2\n",
            "test",
            &PitchSpec::default(),
            false,
        )
        .unwrap();
        let p = t.at(0.5);
        assert!((p.x - 15.0).abs() < 1e-9 && (p.z - 1.0).abs() < 1e-9 && p.in_play);
        assert_eq!(t.duration(), 1.0);
    }

    #[test]
    fn bad_rows_are_errors_or_counted_skips() {
        let text = "0,1,1,0\n1,x,1,0\n2,3,3\n1.5,1,1,0\n3,4,4,0\n";
        let e = Trajectory::parse(text, "f.csv", &PitchSpec::default(), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("f.csv line 2") && e.contains("not a number"),
            "{e}"
        );
        let t = Trajectory::parse(text, "f.csv", &PitchSpec::default(), true).unwrap();
        assert_eq!(t.skipped_rows, 2);
        assert_eq!(t.duration(), 3.0);
        assert!(Trajectory::parse("", "e.csv", &PitchSpec::default(), true).is_err());
    }

    #[test]
    fn indented_comments_quoted_fields_and_spaces_are_read_as_csv() {
        let text = "  # exported by a tracker\n\"0\", 10 ,10,0\n\n1,20,10,0\r\n";
        let t = Trajectory::parse(text, "q.csv", &PitchSpec::default(), false).unwrap();
        assert_eq!((t.start(), t.duration(), t.skipped_rows), (0.0, 1.0, 0));
        let e = Trajectory::parse("0,1,1,0\n1,1,1,-1\n", "z.csv", &PitchSpec::default(), false)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("z.csv line 2") && e.contains("below the ground"),
            "{e}"
        );
    }

    #[test]
    fn out_of_play_outside_the_pitch() {
        let t = Trajectory::parse("0,50,-3,0\n", "t", &PitchSpec::default(), false).unwrap();
        assert!(!t.at(0.0).in_play);
    }
}
