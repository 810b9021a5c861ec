//! `capture calibrate` as a user runs it: fit a rig from landmarks in a CSV and given
//! intrinsics, check a calibration against landmarks (JSON), and clear errors for bad input.
//! The landmarks are the synthetic rig's own, projected exactly (one clicked wrong).

use shared::geometry::Calibration;
use std::path::Path;
use std::process::Command;

fn capture() -> Command {
    Command::new(env!("CARGO_BIN_EXE_capture"))
}

/// Landmarks of the synthetic rig every 10.5 x 8.5 m that a camera sees, as a CSV.
fn landmarks_csv(cal: &Calibration, path: &Path, skew_first: bool) {
    let mut rows = vec!["camera,x_m,y_m,u_px,v_px,name".to_string()];
    for (i, c) in cal.cameras.iter().enumerate() {
        for a in 0..=10 {
            for b in 0..=8 {
                let (x, y) = (a as f64 * 10.5, b as f64 * 8.5);
                if let Some((u, v)) = cal.pitch_to_camera(i, x, y, 0.0) {
                    if c.contains(u, v) {
                        rows.push(format!("{},{x},{y},{u},{v},p{a}-{b}", c.name));
                    }
                }
            }
        }
    }
    if skew_first {
        // The first landmark clicked 60 px off.
        let mut f: Vec<String> = rows[1].split(',').map(str::to_string).collect();
        f[3] = (f[3].parse::<f64>().unwrap() + 60.0).to_string();
        rows[1] = f.join(",");
    }
    std::fs::write(path, rows.join("\n") + "\n").unwrap();
}

fn intrinsics_toml(cal: &Calibration, i: usize, path: &Path) {
    let c = &cal.cameras[i];
    std::fs::write(
        path,
        format!(
            "width = {}\nheight = {}\nfx = {}\nfy = {}\ncx = {}\ncy = {}\n[distortion]\nk1 = {}\nk2 = {}\n",
            c.width, c.height, c.fx, c.fy, c.cx, c.cy, c.distortion.k1, c.distortion.k2
        ),
    )
    .unwrap();
}

#[test]
fn a_rig_fitted_from_landmarks_checks_out_and_names_its_outlier() {
    let dir = tempfile::tempdir().unwrap();
    let truth = Calibration::synthetic(1920, 960, 540);
    let csv = dir.path().join("landmarks.csv");
    landmarks_csv(&truth, &csv, true);
    for (i, n) in ["left", "right"].iter().enumerate() {
        intrinsics_toml(&truth, i, &dir.path().join(format!("{n}.toml")));
    }
    let out = dir.path().join("rig.toml");
    let o = capture()
        .args([
            "calibrate",
            "rig",
            "--holdout",
            "4",
            "--panorama-width",
            "1920",
        ])
        .arg("--left-landmarks")
        .arg(&csv)
        .arg("--left-intrinsics")
        .arg(dir.path().join("left.toml"))
        .arg("--right-intrinsics")
        .arg(dir.path().join("right.toml"))
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("outliers left out: left:p0-"), "{err}");
    let cal = Calibration::load(&out).unwrap();
    assert!((cal.rig.height_m - 10.0).abs() < 0.05, "{:?}", cal.rig);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(report["held_out"]["left"]["rms_px"].as_f64().unwrap() < 0.1);
    // Anyone can check the calibration on landmarks: JSON with the figures and a row each.
    let o = capture()
        .args(["calibrate", "check", "--camera", "right"])
        .arg("--calibration")
        .arg(&out)
        .arg("--landmarks")
        .arg(&csv)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(j["rms_px"].as_f64().unwrap() < 0.1, "{j}");
    assert!(j["max_px"].as_f64().unwrap() < 0.2, "{j}");
    assert!(j["rms_m"].as_f64().unwrap() < 0.05, "{j}");
    assert_eq!(
        j["rows"].as_array().unwrap().len() as u64,
        j["count"].as_u64().unwrap()
    );
}

#[test]
fn bad_input_gets_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let truth = Calibration::synthetic(1920, 960, 540);
    let intr = dir.path().join("i.toml");
    intrinsics_toml(&truth, 0, &intr);
    let few = dir.path().join("few.csv");
    std::fs::write(
        &few,
        "camera,x_m,y_m,u_px,v_px\nleft,0,0,100,400\nleft,10,0,300,410\nright,100,0,500,400\n",
    )
    .unwrap();
    let run = |args: &[&str]| {
        let o = capture().args(args).output().unwrap();
        assert!(!o.status.success());
        String::from_utf8_lossy(&o.stderr).into_owned()
    };
    let out = dir.path().join("rig.toml").display().to_string();
    let e = run(&[
        "calibrate",
        "rig",
        "--left-landmarks",
        &few.display().to_string(),
        "--left-intrinsics",
        &intr.display().to_string(),
        "--right-intrinsics",
        &intr.display().to_string(),
        "--out",
        &out,
    ]);
    assert!(e.contains("only 2 landmarks") && e.contains("left"), "{e}");
    let e = run(&[
        "calibrate",
        "rig",
        "--left-landmarks",
        "/no/such/file.xml",
        "--left-intrinsics",
        &intr.display().to_string(),
        "--out",
        &out,
    ]);
    assert!(e.contains("/no/such/file.xml"), "{e}");
    let e = run(&[
        "calibrate",
        "rig",
        "--left-landmarks",
        &few.display().to_string(),
        "--out",
        &out,
    ]);
    assert!(e.contains("--left-checkerboards"), "{e}");
    let e = run(&[
        "calibrate",
        "check",
        "--calibration",
        &intr.display().to_string(),
        "--landmarks",
        &few.display().to_string(),
        "--camera",
        "left",
    ]);
    assert!(e.contains("i.toml"), "{e}");
}
