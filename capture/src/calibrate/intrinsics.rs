//! A camera's intrinsics (pinhole + OpenCV k1 k2 p1 p2 k3): from photos of a checkerboard, or
//! given (the `camera_matrix.npy` + `distortion_coefficients.npy` pair that OpenCV users
//! save, or a TOML file of the same values).
//!
//! From checkerboards: the board's inner corners are found in every photo (`calib-targets`),
//! Zhang's closed form with an iterative distortion estimate gives a start
//! (`vision-calibration-linear`), and a least-squares fit of every corner refines focal
//! lengths, principal point, distortion and each photo's board pose together.

use super::solve::minimize;
use nalgebra::{DVector, Rotation3, Vector3};
use serde::{Deserialize, Serialize};
use shared::geometry::Distortion;
use std::path::{Path, PathBuf};
use thiserror::Error;
use vision_calibration_core::{CorrespondenceView, PlanarDataset, Pt2, Pt3, View};

/// Photos with fewer corners than this are left out (a board seen edge-on or cut off).
const MIN_CORNERS: usize = 12;

#[derive(Debug, Error)]
pub enum IntrinsicsError {
    #[error("{path}: {reason}")]
    File { path: PathBuf, reason: String },
    #[error("checkerboards in {folder}: the board was found in {found} photos ({rejected}); at least 3 are needed: add photos of the board at different angles filling much of the image")]
    TooFewBoards {
        folder: PathBuf,
        found: usize,
        rejected: String,
    },
    #[error("{path} is {got_w}x{got_h} but the other photos of this camera are {want_w}x{want_h}; calibrate each camera with photos of its own full resolution")]
    SizeMismatch {
        path: PathBuf,
        got_w: u32,
        got_h: u32,
        want_w: u32,
        want_h: u32,
    },
    #[error("checkerboards in {folder}: {reason}")]
    Solve { folder: PathBuf, reason: String },
}

/// A camera's intrinsics and how they were found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Intrinsics {
    pub width: u32,
    pub height: u32,
    pub fx: f64,
    pub fy: f64,
    pub cx: f64,
    pub cy: f64,
    pub distortion: Distortion,
    /// Where they come from (the folder of photos or the file).
    pub source: String,
    /// From checkerboards: rms and largest reprojection error of the corners (pixels), and
    /// the photos used and left out (with why).
    pub corner_rms_px: Option<f64>,
    pub corner_max_px: Option<f64>,
    pub photos_used: Vec<String>,
    pub photos_rejected: Vec<(String, String)>,
}

/// A TOML file of given intrinsics.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct GivenToml {
    width: u32,
    height: u32,
    fx: f64,
    fy: f64,
    cx: f64,
    cy: f64,
    #[serde(default)]
    distortion: Distortion,
}

fn file_err(path: &Path, reason: impl Into<String>) -> IntrinsicsError {
    IntrinsicsError::File {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// The numbers of a `.npy` file of f64 or f32 values (any shape, C order).
fn read_npy(path: &Path) -> Result<Vec<f64>, IntrinsicsError> {
    let bytes = std::fs::read(path).map_err(|e| file_err(path, e.to_string()))?;
    let npy = npyz::NpyFile::new(&bytes[..]).map_err(|e| file_err(path, e.to_string()))?;
    let bad = |e: std::io::Error| file_err(path, format!("not an array of numbers: {e}"));
    match npy.dtype() {
        npyz::DType::Plain(t) if t.size_field() == 4 => Ok(npy
            .into_vec::<f32>()
            .map_err(bad)?
            .into_iter()
            .map(f64::from)
            .collect()),
        _ => npy.into_vec::<f64>().map_err(bad),
    }
}

/// Given intrinsics: a folder with `camera_matrix.npy` (3x3) and `distortion_coefficients.npy`
/// (k1 k2 p1 p2 k3), or a TOML file (`width height fx fy cx cy` and `[distortion]`). The
/// image size of a `.npy` pair is `size` (the camera's images), which it needs.
pub fn given(path: &Path, size: Option<(u32, u32)>) -> Result<Intrinsics, IntrinsicsError> {
    let (w, h) = size.unwrap_or((0, 0));
    let base = Intrinsics {
        width: w,
        height: h,
        fx: 0.0,
        fy: 0.0,
        cx: 0.0,
        cy: 0.0,
        distortion: Distortion::default(),
        source: path.display().to_string(),
        corner_rms_px: None,
        corner_max_px: None,
        photos_used: Vec::new(),
        photos_rejected: Vec::new(),
    };
    let i = if path.is_dir() {
        if size.is_none() {
            return Err(file_err(
                path,
                "the image size of these intrinsics is unknown: give the camera's frame or a CVAT landmark file (it records the size)",
            ));
        }
        let m = read_npy(&path.join("camera_matrix.npy"))?;
        let d = read_npy(&path.join("distortion_coefficients.npy"))?;
        if m.len() != 9 {
            return Err(file_err(
                &path.join("camera_matrix.npy"),
                format!("holds {} numbers, a 3x3 matrix has 9", m.len()),
            ));
        }
        if d.len() < 4 {
            return Err(file_err(
                &path.join("distortion_coefficients.npy"),
                "needs k1 k2 p1 p2 (and k3)",
            ));
        }
        Intrinsics {
            fx: m[0],
            fy: m[4],
            cx: m[2],
            cy: m[5],
            distortion: Distortion {
                k1: d[0],
                k2: d[1],
                p1: d[2],
                p2: d[3],
                k3: d.get(4).copied().unwrap_or(0.0),
            },
            ..base
        }
    } else {
        let text = std::fs::read_to_string(path).map_err(|e| file_err(path, e.to_string()))?;
        let g: GivenToml = toml::from_str(&text).map_err(|e| file_err(path, e.to_string()))?;
        Intrinsics {
            width: g.width,
            height: g.height,
            fx: g.fx,
            fy: g.fy,
            cx: g.cx,
            cy: g.cy,
            distortion: g.distortion,
            ..base
        }
    };
    if !(i.fx > 0.0
        && i.fy > 0.0
        && i.cx.is_finite()
        && i.cy.is_finite()
        && i.distortion.is_finite())
    {
        return Err(file_err(
            path,
            "focal lengths must be positive and every value finite",
        ));
    }
    Ok(i)
}

/// The board's inner corners found in one photo: grid positions (squares) and pixels.
struct BoardView {
    name: String,
    grid: Vec<(f64, f64)>,
    pixels: Vec<(f64, f64)>,
}

fn photos(folder: &Path) -> Result<Vec<PathBuf>, IntrinsicsError> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(folder)
        .map_err(|e| file_err(folder, e.to_string()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| matches!(e.to_ascii_lowercase().as_str(), "jpg" | "jpeg" | "png"))
        })
        .collect();
    v.sort();
    Ok(v)
}

/// One photo: its size, and its board or why there is none.
type Photo = (u32, u32, Result<BoardView, String>);

/// What the photos of a folder gave.
struct Found {
    size: (u32, u32),
    views: Vec<BoardView>,
    /// Photos left out, with why.
    rejected: Vec<(String, String)>,
}

/// Finds the board in every photo of `folder` (in parallel).
fn find_boards(folder: &Path) -> Result<Found, IntrinsicsError> {
    use rayon::prelude::*;
    let files = photos(folder)?;
    if files.is_empty() {
        return Err(file_err(folder, "no .jpg or .png photos in it"));
    }
    let found: Vec<Result<Photo, IntrinsicsError>> = files
        .par_iter()
        .map(|p| {
            let img = calib_targets::image::open(p)
                .map_err(|e| file_err(p, format!("cannot read the image: {e}")))?
                .to_luma8();
            let (w, h) = img.dimensions();
            let name = p
                .file_name()
                .map(|f| f.to_string_lossy().into_owned())
                .unwrap_or_default();
            let cfg = calib_targets::detect::default_chess_config();
            let params = calib_targets::chessboard::ChessboardParams::default();
            let view = match calib_targets::detect::detect_chessboard(&img, &cfg, &params) {
                Ok(d) if d.corners.len() >= MIN_CORNERS => Ok(BoardView {
                    name,
                    grid: d
                        .corners
                        .iter()
                        .map(|c| (c.grid.u as f64, c.grid.v as f64))
                        .collect(),
                    pixels: d
                        .corners
                        .iter()
                        .map(|c| (c.position.x as f64, c.position.y as f64))
                        .collect(),
                }),
                Ok(d) => Err(format!("only {} corners found", d.corners.len())),
                Err(e) => Err(format!("no checkerboard found ({e})")),
            };
            Ok((w, h, view))
        })
        .collect();
    let mut size = None;
    let mut views = Vec::new();
    let mut rejected = Vec::new();
    for (f, r) in files.iter().zip(found) {
        let (w, h, v) = r?;
        match size {
            None => size = Some((w, h)),
            Some((sw, sh)) if (sw, sh) != (w, h) => {
                return Err(IntrinsicsError::SizeMismatch {
                    path: f.clone(),
                    got_w: w,
                    got_h: h,
                    want_w: sw,
                    want_h: sh,
                })
            }
            _ => {}
        }
        match v {
            Ok(v) => views.push(v),
            Err(why) => rejected.push((
                f.file_name()
                    .map(|f| f.to_string_lossy().into_owned())
                    .unwrap_or_default(),
                why,
            )),
        }
    }
    Ok(Found {
        size: size.unwrap_or((0, 0)),
        views,
        rejected,
    })
}

/// Projects board point `g` (squares, on the plane z = 0) seen with pose `(rvec, t)` through
/// intrinsics `k = [fx, fy, cx, cy, k1, k2, p1, p2, k3]`.
fn project_board(k: &[f64], rvec: &Vector3<f64>, t: &Vector3<f64>, g: (f64, f64)) -> (f64, f64) {
    let r = Rotation3::new(*rvec);
    let p = r * Vector3::new(g.0, g.1, 0.0) + t;
    let d = Distortion {
        k1: k[4],
        k2: k[5],
        p1: k[6],
        p2: k[7],
        k3: k[8],
    };
    let (x, y) = d.distort(p.x / p.z, p.y / p.z);
    (k[0] * x + k[2], k[1] * y + k[3])
}

/// Refines intrinsics `k0` and every photo's board pose over all corners. Returns the
/// parameters (`k` first) and each photo's corner errors (pixels).
fn bundle(
    views: &[BoardView],
    k0: [f64; 9],
    solve_err: &dyn Fn(String) -> IntrinsicsError,
) -> Result<(Vec<f64>, Vec<Vec<f64>>), IntrinsicsError> {
    let kmat = nalgebra::Matrix3::new(k0[0], 0.0, k0[2], 0.0, k0[1], k0[3], 0.0, 0.0, 1.0);
    let start_dist = Distortion {
        k1: k0[4],
        k2: k0[5],
        p1: k0[6],
        p2: k0[7],
        k3: k0[8],
    };
    // Each photo's board pose from its homography (undistorted with the start).
    let mut params: Vec<f64> = k0.to_vec();
    for v in views {
        let src: Vec<Pt2> = v.grid.iter().map(|g| Pt2::new(g.0, g.1)).collect();
        let dst: Vec<Pt2> = v
            .pixels
            .iter()
            .map(|p| {
                let (xd, yd) = ((p.0 - k0[2]) / k0[0], (p.1 - k0[3]) / k0[1]);
                let (x, y) = start_dist.undistort(xd, yd).unwrap_or((xd, yd));
                Pt2::new(k0[0] * x + k0[2], k0[1] * y + k0[3])
            })
            .collect();
        let h = vision_geometry::homography::dlt_homography(&src, &dst)
            .map_err(|e| solve_err(format!("photo {}: {e}", v.name)))?;
        let pose = vision_calibration_linear::planar_pose::estimate_planar_pose_from_h(&kmat, &h)
            .map_err(|e| solve_err(format!("photo {}: {e}", v.name)))?;
        let rvec = pose.rotation.scaled_axis();
        params.extend([
            rvec.x,
            rvec.y,
            rvec.z,
            pose.translation.vector.x,
            pose.translation.vector.y,
            pose.translation.vector.z,
        ]);
    }
    let n_obs: usize = views.iter().map(|v| v.grid.len()).sum();
    let residuals = |p: &DVector<f64>| {
        let k = &p.as_slice()[..9];
        let mut r = Vec::with_capacity(2 * n_obs);
        for (i, v) in views.iter().enumerate() {
            let o = 9 + 6 * i;
            let rv = Vector3::new(p[o], p[o + 1], p[o + 2]);
            let t = Vector3::new(p[o + 3], p[o + 4], p[o + 5]);
            for (g, px) in v.grid.iter().zip(&v.pixels) {
                let (u, w) = project_board(k, &rv, &t, *g);
                r.push(u - px.0);
                r.push(w - px.1);
            }
        }
        DVector::from_vec(r)
    };
    let mut steps = vec![1e-3, 1e-3, 1e-3, 1e-3, 1e-6, 1e-6, 1e-7, 1e-7, 1e-6];
    for _ in views {
        steps.extend([1e-6, 1e-6, 1e-6, 1e-5, 1e-5, 1e-5]);
    }
    let fit = minimize(
        DVector::from_vec(params),
        DVector::from_vec(steps),
        residuals,
    );
    let mut errs = Vec::new();
    let mut at = 0;
    for v in views {
        let n = v.grid.len();
        errs.push(
            fit.residuals.as_slice()[2 * at..2 * (at + n)]
                .chunks(2)
                .map(|c| c[0].hypot(c[1]))
                .collect(),
        );
        at += n;
    }
    Ok((fit.params.as_slice().to_vec(), errs))
}

/// The starting estimate: Zhang's closed form with an iterative distortion estimate, as
/// `fx fy cx cy k1 k2 p1 p2 k3`.
fn initial_guess(
    views: &[BoardView],
    solve_err: &dyn Fn(String) -> IntrinsicsError,
) -> Result<[f64; 9], IntrinsicsError> {
    let dataset = PlanarDataset::new(
        views
            .iter()
            .map(|v| {
                let obs = CorrespondenceView::new(
                    v.grid.iter().map(|g| Pt3::new(g.0, g.1, 0.0)).collect(),
                    v.pixels.iter().map(|p| Pt2::new(p.0, p.1)).collect(),
                )
                .map_err(|e| solve_err(e.to_string()))?;
                Ok(View::without_meta(obs))
            })
            .collect::<Result<Vec<_>, IntrinsicsError>>()?,
    )
    .map_err(|e| solve_err(e.to_string()))?;
    let init = vision_calibration_linear::iterative_intrinsics::estimate_intrinsics_iterative(
        &dataset,
        Default::default(),
    )
    .map_err(|e| solve_err(format!("no starting estimate: {e}")))?;
    Ok([
        init.k.fx,
        init.k.fy,
        init.k.cx,
        init.k.cy,
        init.dist.k1,
        init.dist.k2,
        init.dist.p1,
        init.dist.p2,
        init.dist.k3,
    ])
}

/// Leaves out photos whose corners are far off the rest (rms above 3 times the median
/// photo's, at least 1.5 px) and single corners far off (above 6 times the median corner's
/// error, at least 2 px); a photo left with too few corners goes too. Returns the photos
/// kept and whether anything was left out.
fn drop_inconsistent(
    views: Vec<BoardView>,
    errs: &[Vec<f64>],
    rejected: &mut Vec<(String, String)>,
) -> (Vec<BoardView>, bool) {
    let per_view: Vec<f64> = errs
        .iter()
        .map(|e| (e.iter().map(|v| v * v).sum::<f64>() / e.len() as f64).sqrt())
        .collect();
    let all: Vec<f64> = errs.iter().flatten().copied().collect();
    let mut sorted = per_view.clone();
    sorted.sort_by(f64::total_cmp);
    let median_view = sorted[sorted.len() / 2];
    let mut corners: Vec<f64> = all.clone();
    corners.sort_by(f64::total_cmp);
    let median_corner = corners[corners.len() / 2];
    let view_limit = (3.0 * median_view).max(1.5);
    let corner_limit = (6.0 * median_corner).max(2.0);
    let mut changed = false;
    let mut kept = Vec::new();
    for (v, (e, r)) in views.into_iter().zip(errs.iter().zip(&per_view)) {
        if *r > view_limit && sorted.len() > 3 {
            rejected.push((
                v.name.clone(),
                format!("corners inconsistent with the other photos (rms {r:.1} px)"),
            ));
            changed = true;
            continue;
        }
        let keep: Vec<bool> = e.iter().map(|x| *x <= corner_limit).collect();
        if keep.iter().any(|k| !k) {
            changed = true;
        }
        let mut v = v;
        let mut it = keep.iter();
        v.grid.retain(|_| *it.next().unwrap_or(&true));
        let mut it = keep.iter();
        v.pixels.retain(|_| *it.next().unwrap_or(&true));
        if v.grid.len() >= MIN_CORNERS {
            kept.push(v);
        } else {
            rejected.push((v.name.clone(), "too few consistent corners".into()));
        }
    }
    (kept, changed)
}

/// Intrinsics from the checkerboard photos in `folder`.
pub fn from_checkerboards(folder: &Path) -> Result<Intrinsics, IntrinsicsError> {
    let Found {
        size,
        views,
        rejected,
    } = find_boards(folder)?;
    let names = |r: &[(String, String)]| {
        r.iter()
            .map(|(f, why)| format!("{f}: {why}"))
            .collect::<Vec<_>>()
            .join("; ")
    };
    if views.len() < 3 {
        return Err(IntrinsicsError::TooFewBoards {
            folder: folder.to_path_buf(),
            found: views.len(),
            rejected: names(&rejected),
        });
    }
    let solve_err = |reason: String| IntrinsicsError::Solve {
        folder: folder.to_path_buf(),
        reason,
    };
    let k0 = initial_guess(&views, &solve_err)?;
    // Least squares over every corner; then photos (and single corners) far off the rest
    // are left out and the fit runs again, until nothing more is left out.
    let mut views = views;
    let mut rejected = rejected;
    let mut k = k0;
    let (mut rms, mut max);
    loop {
        let (p, errs) = bundle(&views, k, &solve_err)?;
        k.copy_from_slice(&p[..9]);
        let all: Vec<f64> = errs.iter().flatten().copied().collect();
        rms = (all.iter().map(|e| e * e).sum::<f64>() / all.len().max(1) as f64).sqrt();
        max = all.iter().copied().fold(0.0, f64::max);
        let changed;
        (views, changed) = drop_inconsistent(views, &errs, &mut rejected);
        if views.len() < 3 {
            return Err(IntrinsicsError::TooFewBoards {
                folder: folder.to_path_buf(),
                found: views.len(),
                rejected: names(&rejected),
            });
        }
        if !changed {
            break;
        }
    }
    let p = k;
    Ok(Intrinsics {
        width: size.0,
        height: size.1,
        fx: p[0],
        fy: p[1],
        cx: p[2],
        cy: p[3],
        distortion: Distortion {
            k1: p[4],
            k2: p[5],
            p1: p[6],
            p2: p[7],
            k3: p[8],
        },
        source: folder.display().to_string(),
        corner_rms_px: Some(rms),
        corner_max_px: Some(max),
        photos_used: views.iter().map(|v| v.name.clone()).collect(),
        photos_rejected: rejected,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_png(path: &Path, w: u32, h: u32) {
        calib_targets::image::GrayImage::from_pixel(w, h, calib_targets::image::Luma([120u8]))
            .save(path)
            .unwrap();
    }

    #[test]
    fn photos_without_a_board_name_the_folder_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        for i in 0..3 {
            write_png(&dir.path().join(format!("{i}.png")), 320, 180);
        }
        let e = from_checkerboards(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("found in 0 photos") && e.contains("0.png"),
            "{e}"
        );
        assert!(e.contains(&dir.path().display().to_string()), "{e}");
    }

    #[test]
    fn photos_of_different_sizes_are_refused_naming_the_odd_one() {
        let dir = tempfile::tempdir().unwrap();
        write_png(&dir.path().join("a.png"), 320, 180);
        write_png(&dir.path().join("b.png"), 640, 360);
        let e = from_checkerboards(dir.path()).unwrap_err().to_string();
        assert!(
            e.contains("b.png") && e.contains("640x360") && e.contains("320x180"),
            "{e}"
        );
    }

    #[test]
    fn an_empty_folder_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let e = from_checkerboards(dir.path()).unwrap_err().to_string();
        assert!(e.contains("no .jpg or .png photos"), "{e}");
    }

    #[test]
    fn given_intrinsics_are_read_from_toml() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("i.toml");
        std::fs::write(
            &p,
            "width = 1920\nheight = 1080\nfx = 1500\nfy = 1501\ncx = 960\ncy = 540\n[distortion]\nk1 = -0.2\n",
        )
        .unwrap();
        let i = given(&p, None).unwrap();
        assert_eq!((i.width, i.fx, i.distortion.k1), (1920, 1500.0, -0.2));
        std::fs::write(
            &p,
            "width = 1920\nheight = 1080\nfx = -1\nfy = 1\ncx = 1\ncy = 1\n",
        )
        .unwrap();
        assert!(given(&p, None)
            .unwrap_err()
            .to_string()
            .contains("positive"));
    }
}
