//! Players summary: count, centre and spread on the pitch, robust to outliers (a false
//! detection in the stands, a goalkeeper far from play): the median and the median absolute
//! deviation rather than the mean and the standard deviation.

use crate::gates::PlayerObs;
use shared::messages::PlayersSummary;
use shared::stats::median;

/// Scale that makes the MAD a consistent estimate of the standard deviation (normal data).
const MAD_TO_SIGMA: f64 = 1.4826;

/// Median and scaled MAD of a set of values (`None` when empty).
fn robust(values: &[f64]) -> Option<(f64, f64)> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    let m = median(&mut v);
    let mut dev: Vec<f64> = values.iter().map(|x| (x - m).abs()).collect();
    Some((m, MAD_TO_SIGMA * median(&mut dev)))
}

/// The summary of one frame's players, or `None` when no player passed the gates.
pub fn summarize(players: &[PlayerObs]) -> Option<PlayersSummary> {
    let xs: Vec<f64> = players.iter().map(|p| p.x).collect();
    let ys: Vec<f64> = players.iter().map(|p| p.y).collect();
    let (cx, sx) = robust(&xs)?;
    let (cy, sy) = robust(&ys)?;
    Some(PlayersSummary {
        count: players.len().min(u16::MAX as usize) as u16,
        cx_m: cx as f32,
        cy_m: cy as f32,
        spread_x_m: sx as f32,
        spread_y_m: sy as f32,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outlier_does_not_move_the_centre() {
        let mut p: Vec<PlayerObs> = (0..10)
            .map(|i| PlayerObs {
                x: 40.0 + i as f64,
                y: 30.0 + (i % 3) as f64,
            })
            .collect();
        let clean = summarize(&p).unwrap();
        p.push(PlayerObs { x: 104.0, y: 67.0 });
        let dirty = summarize(&p).unwrap();
        assert_eq!(dirty.count, 11);
        assert!(
            (dirty.cx_m - clean.cx_m).abs() < 1.0,
            "{dirty:?} vs {clean:?}"
        );
        assert!((dirty.spread_x_m - clean.spread_x_m).abs() < 1.5);
    }

    #[test]
    fn nobody_means_no_summary() {
        assert!(summarize(&[]).is_none());
    }
}
