//! Pitch landmarks: points whose place on the pitch (metres) is known, clicked in a camera
//! image (distorted pixels). Read from CVAT 1.1 XML (one `<points>` per landmark, its label
//! `(x,y)` in metres) or from a CSV `camera,x_m,y_m,u_px,v_px` (optionally with a `name`
//! column).
//!
//! Pitch coordinates are Touchline's: `x` along the touchline from the left goal line, `y`
//! from the near touchline (the one below the cameras) to the far one. Files that measure `y`
//! from the far touchline (as the SoccerTrack annotations do) are read with
//! [`YOrigin::Far`].

use std::path::{Path, PathBuf};
use thiserror::Error;

/// Where a landmark file's `y = 0` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum YOrigin {
    /// The near touchline (Touchline's convention).
    #[default]
    Near,
    /// The far touchline: `y` is turned into `width - y`.
    Far,
}

/// One landmark seen by one camera.
#[derive(Debug, Clone, PartialEq)]
pub struct Landmark {
    /// The camera that saw it (`left`, `right`).
    pub camera: String,
    /// A name for reports: the label as written in the file, e.g. `(16.5,53.16)`.
    pub name: String,
    /// Place on the pitch, metres (Touchline's convention, see the module doc).
    pub x_m: f64,
    pub y_m: f64,
    /// Distorted image pixel.
    pub u_px: f64,
    pub v_px: f64,
}

#[derive(Debug, Error)]
pub enum LandmarkError {
    #[error("landmark file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("landmark file {path}: {reason}")]
    Format { path: PathBuf, reason: String },
}

fn format_err(path: &Path, reason: impl Into<String>) -> LandmarkError {
    LandmarkError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Parses a label `(x,y)` (metres).
fn parse_label(label: &str) -> Option<(f64, f64)> {
    let inner = label.trim().strip_prefix('(')?.strip_suffix(')')?;
    let (x, y) = inner.split_once(',')?;
    Some((x.trim().parse().ok()?, y.trim().parse().ok()?))
}

/// Reads landmarks from a CVAT 1.1 XML file (`.xml`) or a CSV file (anything else).
/// `camera`: the camera a CVAT file belongs to (CVAT files hold one camera's image; CSV rows
/// name theirs). `pitch_width_m` turns `y` around for [`YOrigin::Far`].
pub fn read(
    path: &Path,
    camera: &str,
    y_origin: YOrigin,
    pitch_width_m: f64,
) -> Result<Vec<Landmark>, LandmarkError> {
    let text = std::fs::read_to_string(path).map_err(|source| LandmarkError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut v = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("xml"))
    {
        parse_cvat(&text, camera, path)?
    } else {
        parse_csv(&text, path)?
    };
    if y_origin == YOrigin::Far {
        for l in v.iter_mut() {
            l.y_m = pitch_width_m - l.y_m;
        }
    }
    Ok(v)
}

/// The image size a CVAT file was annotated on (its first `<image width height>`).
pub fn cvat_image_size(path: &Path) -> Option<(u32, u32)> {
    let text = std::fs::read_to_string(path).ok()?;
    let doc = roxmltree::Document::parse(&text).ok()?;
    let img = doc.descendants().find(|n| n.has_tag_name("image"))?;
    Some((
        img.attribute("width")?.parse().ok()?,
        img.attribute("height")?.parse().ok()?,
    ))
}

/// CVAT 1.1 "for images" XML: `<image ...><points label="(x,y)" points="u,v"/></image>`.
pub fn parse_cvat(text: &str, camera: &str, path: &Path) -> Result<Vec<Landmark>, LandmarkError> {
    let doc = roxmltree::Document::parse(text)
        .map_err(|e| format_err(path, format!("not valid XML: {e}")))?;
    let mut out = Vec::new();
    for p in doc.descendants().filter(|n| n.has_tag_name("points")) {
        let label = p.attribute("label").unwrap_or_default();
        let (x_m, y_m) = parse_label(label).ok_or_else(|| {
            format_err(
                path,
                format!("label {label:?} is not a pitch position `(x,y)` in metres"),
            )
        })?;
        let pts = p.attribute("points").unwrap_or_default();
        // A `points` element may hold several points `u1,v1;u2,v2`: each is a sighting.
        for (k, uv) in pts.split(';').filter(|s| !s.trim().is_empty()).enumerate() {
            let (u, v) = uv
                .split_once(',')
                .and_then(|(u, v)| Some((u.trim().parse().ok()?, v.trim().parse().ok()?)))
                .ok_or_else(|| {
                    format_err(
                        path,
                        format!("landmark {label}: points {pts:?} are not `u,v`"),
                    )
                })?;
            out.push(Landmark {
                camera: camera.to_string(),
                name: if k == 0 {
                    label.to_string()
                } else {
                    format!("{label}#{}", k + 1)
                },
                x_m,
                y_m,
                u_px: u,
                v_px: v,
            });
        }
    }
    if out.is_empty() {
        return Err(format_err(path, "no <points> landmarks in it"));
    }
    Ok(out)
}

/// CSV with a header naming `camera`, `x_m`, `y_m`, `u_px`, `v_px` (and optionally `name`).
pub fn parse_csv(text: &str, path: &Path) -> Result<Vec<Landmark>, LandmarkError> {
    let mut r = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_reader(text.as_bytes());
    let headers = r
        .headers()
        .map_err(|e| format_err(path, e.to_string()))?
        .clone();
    let col = |name: &str| {
        headers.iter().position(|h| h == name).ok_or_else(|| {
            format_err(
                path,
                format!("the header has no `{name}` column (needs camera,x_m,y_m,u_px,v_px)"),
            )
        })
    };
    let (c, x, y, u, v) = (
        col("camera")?,
        col("x_m")?,
        col("y_m")?,
        col("u_px")?,
        col("v_px")?,
    );
    let name = headers.iter().position(|h| h == "name");
    let mut out = Vec::new();
    for (i, rec) in r.records().enumerate() {
        let rec = rec.map_err(|e| format_err(path, e.to_string()))?;
        let line = i + 2;
        let num = |k: usize, what: &str| -> Result<f64, LandmarkError> {
            rec.get(k)
                .and_then(|s| s.parse::<f64>().ok())
                .filter(|v| v.is_finite())
                .ok_or_else(|| format_err(path, format!("line {line}: `{what}` is not a number")))
        };
        let (x_m, y_m) = (num(x, "x_m")?, num(y, "y_m")?);
        out.push(Landmark {
            camera: rec.get(c).unwrap_or_default().to_string(),
            name: name
                .and_then(|k| rec.get(k))
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .unwrap_or_else(|| format!("({x_m},{y_m})")),
            x_m,
            y_m,
            u_px: num(u, "u_px")?,
            v_px: num(v, "v_px")?,
        });
    }
    if out.is_empty() {
        return Err(format_err(path, "no landmark rows in it"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CVAT: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
  <image id="0" name="a.jpg" width="3072" height="1728">
    <points label="(16.5,0)" occluded="0" source="manual" points="1912.70,773.00" z_order="0"></points>
    <points label="(52.5,68)" occluded="0" source="manual" points="10,20;30,40" z_order="0"></points>
  </image>
</annotations>"#;

    #[test]
    fn cvat_points_are_read_with_their_labels_and_y_turned_for_the_far_origin() {
        let v = parse_cvat(CVAT, "left", Path::new("k.xml")).unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].name, "(16.5,0)");
        assert_eq!(
            (v[0].x_m, v[0].y_m, v[0].u_px, v[0].v_px),
            (16.5, 0.0, 1912.7, 773.0)
        );
        assert_eq!(v[2].name, "(52.5,68)#2");
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("k.xml");
        std::fs::write(&p, CVAT).unwrap();
        let far = read(&p, "left", YOrigin::Far, 68.0).unwrap();
        assert_eq!(far[0].y_m, 68.0);
        assert_eq!(far[1].y_m, 0.0);
    }

    #[test]
    fn csv_rows_name_their_camera() {
        let text = "camera,x_m,y_m,u_px,v_px\nleft,0,0,10.5,20\nright,105,68,3000,1500\n";
        let v = parse_csv(text, Path::new("l.csv")).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[1].camera, "right");
        assert_eq!(v[1].name, "(105,68)");
    }

    #[test]
    fn bad_files_name_the_file_and_the_problem() {
        let e = parse_csv("camera,x_m,y_m,u_px\nleft,0,0,1\n", Path::new("l.csv")).unwrap_err();
        assert!(
            e.to_string().contains("l.csv") && e.to_string().contains("v_px"),
            "{e}"
        );
        let e = parse_csv(
            "camera,x_m,y_m,u_px,v_px\nleft,a,0,1,2\n",
            Path::new("l.csv"),
        )
        .unwrap_err();
        assert!(
            e.to_string().contains("line 2") && e.to_string().contains("x_m"),
            "{e}"
        );
        let e = parse_cvat(
            "<a><points label=\"corner\" points=\"1,2\"/></a>",
            "l",
            Path::new("k.xml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("corner"), "{e}");
        let e = parse_cvat("<a/>", "l", Path::new("k.xml")).unwrap_err();
        assert!(e.to_string().contains("no <points>"), "{e}");
    }
}
