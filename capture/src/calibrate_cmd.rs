//! `capture calibrate`: making and checking the rig calibration file every process reads
//! (the work is in [`capture::calibrate`]).

use anyhow::{bail, Context, Result};
use capture::calibrate::{
    self, intrinsics, landmarks, landmarks::Landmark, landmarks::YOrigin, preview, rig_fit,
};
use clap::{Args, Subcommand};
use shared::geometry::{Calibration, PitchSpec};
use std::path::{Path, PathBuf};

/// What `capture calibrate` does.
#[derive(Debug, Subcommand)]
pub enum CalibrateCommand {
    /// Fit the rig: each camera's intrinsics (from checkerboard photos, or given), then the
    /// rig's place on the pitch and each camera's orientation from pitch landmarks (outliers
    /// found and left out). Writes the calibration file, report.json and preview.jpg.
    Rig(RigArgs),
    /// A camera's intrinsics from photos of a checkerboard (JSON on stdout; `--out` writes
    /// them as a TOML file `--left-intrinsics` takes).
    Intrinsics(IntrinsicsArgs),
    /// How far a calibration puts landmarks from where they were clicked: JSON with rms_px,
    /// max_px, rms_m and one row per landmark, for landmarks the fit never saw.
    Check(CheckArgs),
    /// Write the built-in synthetic rig's calibration (for files or RTSP streams of the
    /// synthetic pitch, tests and the soak).
    Synthetic(SyntheticArgs),
}

#[derive(Debug, Args)]
pub struct RigArgs {
    /// Landmarks of the left and right camera: CVAT XML (`<points label="(x,y)">`) or CSV
    /// (`camera,x_m,y_m,u_px,v_px`; a CSV may hold both cameras: give it once).
    #[arg(long)]
    pub left_landmarks: PathBuf,
    #[arg(long)]
    pub right_landmarks: Option<PathBuf>,
    /// Where the landmark files' y = 0 is: `near` (the touchline below the cameras,
    /// Touchline's convention) or `far`.
    #[arg(long, value_enum, default_value_t = YOrigin::Near)]
    pub y_origin: YOrigin,
    /// Photos of a checkerboard taken with each camera (a folder of .jpg/.png).
    #[arg(long)]
    pub left_checkerboards: Option<PathBuf>,
    #[arg(long)]
    pub right_checkerboards: Option<PathBuf>,
    /// Given intrinsics instead: a folder with camera_matrix.npy and
    /// distortion_coefficients.npy, or a TOML file (`capture calibrate intrinsics --out`).
    #[arg(long, conflicts_with = "left_checkerboards")]
    pub left_intrinsics: Option<PathBuf>,
    #[arg(long, conflicts_with = "right_checkerboards")]
    pub right_intrinsics: Option<PathBuf>,
    /// A frame of each camera (an image, or a video whose first frame is used) for the
    /// preview, the seam's photometric difference and closing the seam on the painted lines
    /// both cameras show.
    #[arg(long)]
    pub left_frame: Option<PathBuf>,
    #[arg(long)]
    pub right_frame: Option<PathBuf>,
    /// Pitch size, metres.
    #[arg(long, default_value_t = 105.0)]
    pub pitch_length: f64,
    #[arg(long, default_value_t = 68.0)]
    pub pitch_width: f64,
    /// Panorama width of the calibration, pixels.
    #[arg(long, default_value_t = calibrate::PRODUCTION_WIDTH)]
    pub panorama_width: u32,
    /// Hold every N-th landmark of each camera out of the fit to measure it (0: none).
    #[arg(long, default_value_t = 4)]
    pub holdout: usize,
    /// Also fit each camera's focal length, principal point and k1 to the landmarks, from
    /// the checkerboard (or given) values: for cameras whose video mode frames the sensor
    /// differently from the photos (compare the held-out errors with and without).
    #[arg(long)]
    pub refine_intrinsics: bool,
    /// Both cameras at one optical centre (the rig's), as before calibrations had a centre
    /// per camera. By default each camera gets its own centre, symmetric about the rig's,
    /// and the panorama places them through the pitch plane so that the seam's lines meet.
    #[arg(long)]
    pub one_centre: bool,
    /// Fit the landmarks only: do not close the seam on the painted lines of the frames (by
    /// default, with --left-frame and --right-frame, the rig is fitted to the landmarks and
    /// to the lines both cameras show together).
    #[arg(long)]
    pub no_seam_lines: bool,
    /// The calibration file to write.
    #[arg(long)]
    pub out: PathBuf,
    /// Folder for report.json and preview.jpg (default: beside the calibration file).
    #[arg(long)]
    pub report_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct IntrinsicsArgs {
    /// Folder of checkerboard photos of one camera.
    #[arg(long)]
    pub checkerboards: PathBuf,
    /// Also write them as a TOML file.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The calibration file to check.
    #[arg(long)]
    pub calibration: PathBuf,
    /// Landmarks (CVAT XML or CSV).
    #[arg(long)]
    pub landmarks: PathBuf,
    /// The camera the landmarks belong to (for CVAT files; CSV rows name theirs, and this
    /// keeps only that camera's rows).
    #[arg(long)]
    pub camera: String,
    #[arg(long, value_enum, default_value_t = YOrigin::Near)]
    pub y_origin: YOrigin,
}

#[derive(Debug, Args)]
pub struct SyntheticArgs {
    /// Where to write the calibration (TOML).
    #[arg(long)]
    pub out: PathBuf,
    /// Panorama width (height is a third of it).
    #[arg(long, default_value_t = 1920)]
    pub panorama_width: u32,
    /// Camera image size.
    #[arg(long, default_value_t = 960)]
    pub camera_width: u32,
    #[arg(long, default_value_t = 540)]
    pub camera_height: u32,
}

pub fn run(cmd: CalibrateCommand) -> Result<()> {
    match cmd {
        CalibrateCommand::Rig(a) => rig(a),
        CalibrateCommand::Intrinsics(a) => {
            let i = intrinsics::from_checkerboards(&a.checkerboards)?;
            if let Some(out) = &a.out {
                let toml = format!(
                    "# {} from {} photos ({} left out); corner reprojection rms {:.3} px\nwidth = {}\nheight = {}\nfx = {}\nfy = {}\ncx = {}\ncy = {}\n\n[distortion]\nk1 = {}\nk2 = {}\np1 = {}\np2 = {}\nk3 = {}\n",
                    i.source, i.photos_used.len(), i.photos_rejected.len(), i.corner_rms_px.unwrap_or(f64::NAN),
                    i.width, i.height, i.fx, i.fy, i.cx, i.cy,
                    i.distortion.k1, i.distortion.k2, i.distortion.p1, i.distortion.p2, i.distortion.k3
                );
                write_file(out, &toml)?;
            }
            println!("{}", serde_json::to_string_pretty(&i)?);
            Ok(())
        }
        CalibrateCommand::Check(a) => check(a),
        CalibrateCommand::Synthetic(a) => {
            let c = Calibration::synthetic(a.panorama_width, a.camera_width, a.camera_height);
            c.validate().context("the synthetic rig at this size")?;
            write_file(&a.out, &c.to_toml_string())?;
            eprintln!(
                "calibrate: the synthetic rig written to {}",
                a.out.display()
            );
            Ok(())
        }
    }
}

/// Landmarks of one camera from `path` (a CSV keeps that camera's rows).
fn camera_landmarks(path: &Path, camera: &str, y: YOrigin, width_m: f64) -> Result<Vec<Landmark>> {
    let mut v = landmarks::read(path, camera, y, width_m)?;
    v.retain(|l| l.camera == camera);
    if v.is_empty() {
        bail!(
            "{}: no landmarks of the {camera} camera in it",
            path.display()
        );
    }
    Ok(v)
}

/// The camera's image size: its landmark file's (CVAT), else its frame's.
fn image_size(landmarks: &Path, frame: Option<&shared::image::Nv12Image>) -> Option<(u32, u32)> {
    landmarks::cvat_image_size(landmarks).or(frame.map(|f| (f.width as u32, f.height as u32)))
}

fn intrinsics_of(
    name: &str,
    checkerboards: Option<&PathBuf>,
    given: Option<&PathBuf>,
    size: Option<(u32, u32)>,
) -> Result<intrinsics::Intrinsics> {
    match (checkerboards, given) {
        (Some(dir), _) => {
            eprintln!("calibrate: finding the checkerboard in the {name} camera's photos ...");
            let i = intrinsics::from_checkerboards(dir)?;
            if let Some((w, h)) = size {
                if (w, h) != (i.width, i.height) {
                    bail!(
                        "the {name} camera's checkerboard photos are {}x{} but its landmarks and frames are {w}x{h}: use photos at the camera's full size",
                        i.width, i.height
                    );
                }
            }
            Ok(i)
        }
        (None, Some(p)) => {
            let i = intrinsics::given(p, size).with_context(|| format!("--{name}-intrinsics"))?;
            if let Some((w, h)) = size {
                if (w, h) != (i.width, i.height) {
                    bail!(
                        "the {name} camera's intrinsics ({}) are for {}x{} images but its landmarks and frames are {w}x{h}",
                        p.display(), i.width, i.height
                    );
                }
            }
            Ok(i)
        }
        (None, None) => bail!(
            "the {name} camera has no intrinsics: give --{name}-checkerboards (a folder of checkerboard photos) or --{name}-intrinsics"
        ),
    }
}

/// Writes a file the command made, creating its folder first.
fn write_file(path: &std::path::Path, text: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// The preview image (at half the production width, a few MB) and the seam measured on the
/// painted lines of the first frames, into `report`.
fn preview_and_seam(
    cal: &Calibration,
    fit: &rig_fit::RigFit,
    marks: &[Landmark],
    frames: &[shared::image::Nv12Image; 2],
    dir: &Path,
    seam_points: usize,
    report: &mut calibrate::FitReport,
) -> Result<()> {
    // The preview at half the production width keeps the file a few MB.
    let mut small = cal.clone();
    small.panorama = cal.panorama.with_width((cal.panorama.width / 2) & !1);
    let marked: Vec<(Landmark, rig_fit::Use)> = marks
        .iter()
        .cloned()
        .zip(fit.uses.iter().copied())
        .collect();
    let (img, overlap) = preview::render(&small, [&frames[0], &frames[1]], &marked)?;
    let p = dir.join("preview.jpg");
    preview::write_jpeg(&img, &p)?;
    eprintln!("calibrate: preview written to {}", p.display());
    if let Some((d, r)) = overlap {
        report.seam.overlap_luma_difference = Some(d);
        report.seam.overlap_luma_ratio = Some(r);
    }
    report.seam.line_points_fitted = seam_points;
    report.seam.lines = Some(calibrate::seam_lines::measure(
        cal,
        [&frames[0], &frames[1]],
    ));
    Ok(())
}

/// The fit's numbers on the terminal.
fn print_summary(report: &calibrate::FitReport) {
    for (cam, s) in &report.fit {
        let h = &report.held_out[cam];
        eprintln!(
            "  {cam}: fit {} landmarks rms {:.2} px / {:.3} m; held out {} rms {:.2} px / {:.3} m (max {:.2} px / {:.3} m)",
            s.count,
            s.rms_px.unwrap_or(f64::NAN),
            s.rms_m.unwrap_or(f64::NAN),
            h.count,
            h.rms_px.unwrap_or(f64::NAN),
            h.rms_m.unwrap_or(f64::NAN),
            h.max_px.unwrap_or(f64::NAN),
            h.max_m.unwrap_or(f64::NAN)
        );
    }
    if !report.outliers.is_empty() {
        eprintln!("  outliers left out: {}", report.outliers.join(", "));
    }
    if !report.held_out_outliers.is_empty() {
        eprintln!(
            "  held-out landmarks that are outliers: {}",
            report.held_out_outliers.join(", ")
        );
    }
    let apart = (report.cameras[0].offset() - report.cameras[1].offset()).norm();
    if apart > 0.0 {
        eprintln!("  the cameras' optical centres are {apart:.2} m apart");
    }
    if let Some(m) = report.seam.max_disagreement_px_production {
        eprintln!(
            "  seam: shared landmarks agree within {m:.2} px at {} px width",
            calibrate::PRODUCTION_WIDTH
        );
    }
    if let Some(l) = &report.seam.lines {
        match (l.median_abs_px, l.p90_abs_px) {
            (Some(m), Some(p)) => eprintln!(
                "  seam on the painted lines: {} points ({} in the fit), the cameras {m:.2} px apart (median), {p:.2} px (p90) at {} px width",
                l.measured,
                report.seam.line_points_fitted,
                calibrate::PRODUCTION_WIDTH
            ),
            _ => eprintln!(
                "  seam on the painted lines: no line found clearly by both cameras in the overlap (check the frames show the pitch in daylight)"
            ),
        }
    }
}

/// The fit's inputs: both cameras' landmarks, their first frames when given, and their
/// intrinsics (from checkerboards or given).
struct RigInputs {
    marks: Vec<Landmark>,
    frames: Option<[shared::image::Nv12Image; 2]>,
    intr: [intrinsics::Intrinsics; 2],
}

fn rig_inputs(a: &RigArgs, pitch: &PitchSpec) -> Result<RigInputs> {
    let right_file = a
        .right_landmarks
        .clone()
        .unwrap_or(a.left_landmarks.clone());
    let mut marks = camera_landmarks(&a.left_landmarks, "left", a.y_origin, pitch.width_m)?;
    marks.extend(camera_landmarks(
        &right_file,
        "right",
        a.y_origin,
        pitch.width_m,
    )?);
    let frames = match (&a.left_frame, &a.right_frame) {
        (Some(l), Some(r)) => Some([preview::first_frame(l)?, preview::first_frame(r)?]),
        (None, None) => None,
        _ => bail!("give both --left-frame and --right-frame, or neither"),
    };
    let intr = [
        intrinsics_of(
            "left",
            a.left_checkerboards.as_ref(),
            a.left_intrinsics.as_ref(),
            image_size(&a.left_landmarks, frames.as_ref().map(|f| &f[0])),
        )?,
        intrinsics_of(
            "right",
            a.right_checkerboards.as_ref(),
            a.right_intrinsics.as_ref(),
            image_size(&right_file, frames.as_ref().map(|f| &f[1])),
        )?,
    ];
    Ok(RigInputs {
        marks,
        frames,
        intr,
    })
}

fn rig(a: RigArgs) -> Result<()> {
    let pitch = PitchSpec {
        length_m: a.pitch_length,
        width_m: a.pitch_width,
    };
    let RigInputs {
        marks,
        frames,
        intr,
    } = rig_inputs(&a, &pitch)?;
    let cameras = [
        calibrate::camera_of("left", &intr[0]),
        calibrate::camera_of("right", &intr[1]),
    ];
    let held = calibrate::held_out(&marks, a.holdout);
    let seam_frames = match &frames {
        Some(f) if !a.no_seam_lines => Some([&f[0], &f[1]]),
        _ => None,
    };
    let (fit, seam_pairs) = calibrate::fit_rig(
        &cameras,
        &pitch,
        &marks,
        &held,
        &rig_fit::FitOptions {
            refine_intrinsics: a.refine_intrinsics,
            camera_offsets: !a.one_centre,
        },
        seam_frames,
    )?;
    let cal = calibrate::calibration_from(&fit, &pitch, a.panorama_width);
    cal.validate()
        .context("the fitted calibration does not pass the checks every process makes")?;
    write_file(&a.out, &cal.to_toml_string())?;
    let mut report = calibrate::report(&cal, &fit, intr.to_vec(), &marks);
    let dir = a
        .report_dir
        .clone()
        .unwrap_or_else(|| a.out.parent().map(Path::to_path_buf).unwrap_or_default());
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(frames) = &frames {
        preview_and_seam(
            &cal,
            &fit,
            &marks,
            frames,
            &dir,
            seam_pairs.len(),
            &mut report,
        )?;
    }
    let rp = dir.join("report.json");
    std::fs::write(&rp, serde_json::to_string_pretty(&report)?)
        .with_context(|| format!("writing {}", rp.display()))?;
    eprintln!(
        "calibrate: {} written; report {}",
        a.out.display(),
        rp.display()
    );
    print_summary(&report);
    Ok(())
}

fn check(a: CheckArgs) -> Result<()> {
    let cal = Calibration::load(&a.calibration)
        .with_context(|| format!("calibration {}", a.calibration.display()))?;
    if !cal.cameras.iter().any(|c| c.name == a.camera) {
        bail!(
            "{} has no camera named {:?} (it has {})",
            a.calibration.display(),
            a.camera,
            cal.cameras
                .iter()
                .map(|c| c.name.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let marks = camera_landmarks(&a.landmarks, &a.camera, a.y_origin, cal.pitch.width_m)?;
    let rows = calibrate::errors::landmark_errors(&cal, &marks);
    let s = calibrate::errors::summarise(rows.iter());
    let out = serde_json::json!({
        "calibration": a.calibration.display().to_string(),
        "landmarks": a.landmarks.display().to_string(),
        "camera": a.camera,
        "count": s.count,
        "rms_px": s.rms_px,
        "max_px": s.max_px,
        "rms_m": s.rms_m,
        "max_m": s.max_m,
        "rows": rows,
    });
    println!("{}", serde_json::to_string_pretty(&out)?);
    Ok(())
}
