//! Static false-positive suppression that learns and forgets.
//!
//! Things that look like a ball and never move (a sprinkler head, a cone, a spare ball by the
//! touchline) build up evidence in a grid cell on the pitch; once a cell holds more than
//! `static_learn_s` seconds of evidence, ball candidates in it are marked suppressed: they may
//! no longer start a track nor update one that never moved. The match ball is exempt: a
//! candidate explained by a track that has travelled (the ball rolled there) adds no
//! evidence, so a ball lying still for a free kick stays tracked.
//!
//! Evidence decays with time constant `static_forget_s`, so nothing is banned for ever (the
//! old prototype banned cells for good after six rejections). Memory is bounded: cells with
//! little evidence left are pruned, and at most [`MAX_CELLS`] are kept.

use std::collections::HashMap;

/// Cells kept at most (the weakest go first).
pub const MAX_CELLS: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq)]
struct Cell {
    /// Seconds of evidence at `updated_ns` (before decay since then).
    evidence: f64,
    updated_ns: u64,
    /// Frame at which evidence was last added (one addition per frame and cell).
    added_ns: u64,
}

/// The learnt map of static false positives.
#[derive(Debug, Clone)]
pub struct StaticSuppressor {
    cell_m: f64,
    learn_s: f64,
    forget_s: f64,
    cells: HashMap<(i32, i32), Cell>,
    last_prune_ns: u64,
}

impl StaticSuppressor {
    pub fn new(cell_m: f64, learn_s: f64, forget_s: f64) -> StaticSuppressor {
        StaticSuppressor {
            cell_m,
            learn_s,
            forget_s,
            cells: HashMap::new(),
            last_prune_ns: 0,
        }
    }

    fn key(&self, x: f64, y: f64) -> (i32, i32) {
        (
            (x / self.cell_m).floor().clamp(-1e6, 1e6) as i32,
            (y / self.cell_m).floor().clamp(-1e6, 1e6) as i32,
        )
    }

    fn decayed(&self, c: &Cell, now_ns: u64) -> f64 {
        let dt = now_ns.saturating_sub(c.updated_ns) as f64 * 1e-9;
        c.evidence * (-dt / self.forget_s).exp()
    }

    /// Evidence around a point (its cell and the eight neighbours: detections of a fixed
    /// object jitter across cell borders), seconds.
    pub fn evidence(&self, x: f64, y: f64, now_ns: u64) -> f64 {
        let (i, j) = self.key(x, y);
        let mut sum = 0.0;
        for di in -1..=1 {
            for dj in -1..=1 {
                if let Some(c) = self.cells.get(&(i + di, j + dj)) {
                    sum += self.decayed(c, now_ns);
                }
            }
        }
        sum
    }

    /// True when a candidate at `(x, y)` should be treated as a static false positive.
    pub fn is_suppressed(&self, x: f64, y: f64, now_ns: u64) -> bool {
        self.evidence(x, y, now_ns) >= self.learn_s
    }

    /// Adds `dt_s` seconds of evidence at each point (not exempt ones: see the module docs).
    pub fn observe(&mut self, points: &[(f64, f64)], dt_s: f64, now_ns: u64) {
        // Evidence is capped so that forgetting takes a bounded time after the object goes.
        let cap = 2.0 * self.learn_s;
        let dt_s = dt_s.clamp(0.0, 1.0);
        for &(x, y) in points {
            if !x.is_finite() || !y.is_finite() {
                continue;
            }
            let k = self.key(x, y);
            let forget_s = self.forget_s;
            let c = self.cells.entry(k).or_insert(Cell {
                evidence: 0.0,
                updated_ns: now_ns,
                added_ns: u64::MAX,
            });
            if c.added_ns == now_ns {
                continue;
            }
            let age = now_ns.saturating_sub(c.updated_ns) as f64 * 1e-9;
            c.evidence = (c.evidence * (-age / forget_s).exp() + dt_s).min(cap);
            c.updated_ns = now_ns;
            c.added_ns = now_ns;
        }
        self.prune(now_ns);
    }

    fn prune(&mut self, now_ns: u64) {
        // Once a second, or at once when over the limit.
        if now_ns.saturating_sub(self.last_prune_ns) < 1_000_000_000
            && self.cells.len() <= MAX_CELLS
        {
            return;
        }
        self.last_prune_ns = now_ns;
        let (forget_s, min_keep) = (self.forget_s, 0.02);
        self.cells.retain(|_, c| {
            let dt = now_ns.saturating_sub(c.updated_ns) as f64 * 1e-9;
            c.evidence * (-dt / forget_s).exp() > min_keep
        });
        if self.cells.len() > MAX_CELLS {
            let mut v: Vec<_> = self
                .cells
                .iter()
                .map(|(k, c)| (self.decayed(c, now_ns), *k))
                .collect();
            v.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
            for (_, k) in v.iter().take(self.cells.len() - MAX_CELLS) {
                self.cells.remove(k);
            }
        }
    }

    /// Number of cells holding evidence.
    pub fn cells(&self) -> usize {
        self.cells.len()
    }

    pub fn clear(&mut self) {
        self.cells.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: u64 = 40_000_000;

    #[test]
    fn learns_a_fixed_object_then_forgets_it() {
        let mut s = StaticSuppressor::new(1.0, 2.0, 10.0);
        let mut t = 0;
        for _ in 0..40 {
            t += FRAME;
            s.observe(&[(30.2, 10.7)], 0.04, t);
        }
        assert!(!s.is_suppressed(30.2, 10.7, t), "1.6 s is not enough");
        for _ in 0..30 {
            t += FRAME;
            s.observe(&[(30.3, 10.6)], 0.04, t);
        }
        assert!(s.is_suppressed(30.2, 10.7, t));
        assert!(!s.is_suppressed(40.0, 10.7, t));
        // Gone for 20 s: forgotten.
        t += 20_000_000_000;
        s.observe(&[], 0.04, t);
        assert!(!s.is_suppressed(30.2, 10.7, t));
        assert_eq!(s.cells(), 1);
        t += 60_000_000_000;
        s.observe(&[], 0.04, t);
        assert_eq!(s.cells(), 0, "empty cells are pruned");
    }

    #[test]
    fn moving_detections_do_not_build_up() {
        let mut s = StaticSuppressor::new(1.0, 2.0, 10.0);
        let mut t = 0;
        for k in 0..500 {
            t += FRAME;
            s.observe(&[(10.0 + k as f64 * 0.4, 20.0)], 0.04, t);
        }
        assert!((0..200).all(|i| !s.is_suppressed(i as f64, 20.0, t)));
    }

    #[test]
    fn memory_is_bounded() {
        let mut s = StaticSuppressor::new(0.1, 2.0, 1000.0);
        let mut t = 0;
        for k in 0..20_000 {
            t += FRAME;
            s.observe(
                &[((k % 1000) as f64 * 0.3, (k / 1000) as f64 * 0.3)],
                0.04,
                t,
            );
        }
        assert!(s.cells() <= MAX_CELLS);
    }
}
