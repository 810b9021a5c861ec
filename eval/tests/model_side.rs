//! `touchline-eval detector-eval --model-side`: the configured model resized to a square side
//! (what the focus square at panorama scale looks through), evaluated on synthetic scenes.

use std::process::Command;

fn eval() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_touchline-eval"));
    c.env("RUST_LOG", "warn");
    c
}

#[test]
fn the_model_resized_to_160_px_evaluates_the_panorama_in_160_px_squares() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("touchline.toml");
    std::fs::write(&cfg, "[detector]\ntile_overlap = 32\n").unwrap();
    let json = tmp.path().join("report.json");
    let run = eval()
        .arg("detector-eval")
        .arg("-c")
        .arg(&cfg)
        .args(["--frames", "3", "--width", "1920", "--tile-size", "160"])
        .args(["--model-side", "160", "--json"])
        .arg(&json)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}");
    let r: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(r["tile_size"].as_u64(), Some(160), "{r}");
    // 1920x640 in 160 px squares overlapping by at least 32 px.
    assert!(r["tiles"].as_u64().unwrap() >= 12 * 4, "{r}");
    assert!(r["frames"].as_u64() == Some(3), "{r}");
    // A side the heads cannot take is refused with the reason.
    let run = eval()
        .arg("detector-eval")
        .arg("-c")
        .arg(&cfg)
        .args(["--frames", "1", "--width", "1920", "--tile-size", "160"])
        .args(["--model-side", "150"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(!run.status.success());
    assert!(
        stderr.contains("--model-side") && stderr.contains("multiple of"),
        "{stderr}"
    );
}
