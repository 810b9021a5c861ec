//! The minimal-motion path through a tube of allowed positions, and its smoothing.
//!
//! [`taut_string`] is the path of least length through per-frame bounds `[lo, hi]`: a
//! string pulled tight through the tube. It is straight (constant angular velocity) between
//! the points where it touches a bound, it never turns back unless a bound forces it to, and
//! it minimises the total variation (the L1 norm of the velocity) among all paths in the
//! tube, which is the first-derivative term of the L1-optimal camera paths of Grundmann et
//! al. (CVPR 2011). Its corners are then rounded by [`box_smooth`] (a moving average applied
//! twice, a triangular kernel), which bounds acceleration and jerk before the bounded
//! tracker ([`crate::tracker`]) enforces the limits exactly.

/// Taut string through `lo[i] <= x[i] <= hi[i]` at unit spacing, starting at `start`
/// (`x[0] = start`, whatever the bounds at 0) with a free end. Bounds with `lo > hi` are
/// treated as their midpoint. O(n) per straight piece; n is a few hundred here.
pub fn taut_string(lo: &[f64], hi: &[f64], start: f64) -> Vec<f64> {
    let n = lo.len().min(hi.len());
    let mut out = vec![start; n];
    if n == 0 {
        return out;
    }
    let bound = |j: usize| {
        if lo[j] <= hi[j] {
            (lo[j], hi[j])
        } else {
            let m = 0.5 * (lo[j] + hi[j]);
            (m, m)
        }
    };
    let (mut ai, mut ay) = (0usize, start);
    while ai + 1 < n {
        let (mut smax, mut kmax) = (f64::INFINITY, ai);
        let (mut smin, mut kmin) = (f64::NEG_INFINITY, ai);
        // Where the string bends next: (index, value); None if it reaches the end straight.
        let mut bend: Option<(usize, f64)> = None;
        for j in ai + 1..n {
            let d = (j - ai) as f64;
            let (l, h) = bound(j);
            let (sl, su) = ((l - ay) / d, (h - ay) / d);
            if sl > smax {
                // The tube rises above the upper ray: the string bends down at its tightest
                // upper point.
                bend = Some((kmax, ay + smax * (kmax - ai) as f64));
                break;
            }
            if su < smin {
                bend = Some((kmin, ay + smin * (kmin - ai) as f64));
                break;
            }
            if su < smax {
                smax = su;
                kmax = j;
            }
            if sl > smin {
                smin = sl;
                kmin = j;
            }
        }
        let (bi, by) = match bend {
            Some(b) => b,
            // Free end: the flattest slope the funnel allows; if it must still climb or
            // fall, it does so only up to the point that forces it, then goes on from there.
            None if smin > 0.0 => (kmin, ay + smin * (kmin - ai) as f64),
            None if smax < 0.0 => (kmax, ay + smax * (kmax - ai) as f64),
            None => (n - 1, ay),
        };
        for (i, o) in out.iter_mut().enumerate().take(bi + 1).skip(ai + 1) {
            *o = ay + (by - ay) * (i - ai) as f64 / (bi - ai) as f64;
        }
        ai = bi;
        ay = by;
    }
    out
}

/// Centred moving average of `2 * half + 1` samples, the ends extended with their values.
pub fn box_smooth(x: &[f64], half: usize) -> Vec<f64> {
    let n = x.len();
    if half == 0 || n == 0 {
        return x.to_vec();
    }
    let at = |i: isize| x[i.clamp(0, n as isize - 1) as usize];
    let w = (2 * half + 1) as f64;
    let mut out = Vec::with_capacity(n);
    let mut sum: f64 = (-(half as isize)..=half as isize).map(at).sum();
    for i in 0..n as isize {
        out.push(sum / w);
        sum += at(i + half as isize + 1) - at(i - half as isize);
    }
    out
}

/// A triangular smoothing of total width about `2 * half` samples (box twice).
pub fn triangle_smooth(x: &[f64], half: usize) -> Vec<f64> {
    let h = half / 2;
    box_smooth(&box_smooth(x, h), half - h)
}

/// Running maximum of `x` over `[i - back, i + ahead]`.
pub fn running_max(x: &[f64], back: usize, ahead: usize) -> Vec<f64> {
    // Monotonic deque: O(n).
    let n = x.len();
    let mut out = vec![0.0; n];
    let mut dq: std::collections::VecDeque<usize> = std::collections::VecDeque::new();
    let mut next = 0usize;
    for (i, o) in out.iter_mut().enumerate() {
        let hi = (i + ahead).min(n.saturating_sub(1));
        while next <= hi {
            while dq.back().is_some_and(|&b| x[b] <= x[next]) {
                dq.pop_back();
            }
            dq.push_back(next);
            next += 1;
        }
        while dq.front().is_some_and(|&f| f + back < i) {
            dq.pop_front();
        }
        *o = dq.front().map_or(f64::NEG_INFINITY, |&f| x[f]);
    }
    out
}

/// Distance an axis can cover from rest in `t` seconds with its speed and acceleration
/// bounded (the jerk's ramp is left to the caller's margin).
pub fn reachable_in(t: f64, speed: f64, accel: f64) -> f64 {
    let ramp = speed / accel;
    if t <= ramp {
        0.5 * accel * t * t
    } else {
        speed * t - 0.5 * speed * ramp
    }
}

/// Upper bounds that an axis can respect: each `cap[i]` lowered so that every later
/// `cap[j]` can still be reached from it in the time between them, `reach(t_j - t_i)` being
/// how far the axis moves in that time. A bound that drops ahead is anticipated, so the
/// axis starts moving early enough, and no earlier than it must.
pub fn anticipate_caps(cap: &[f64], dt: f64, reach: impl Fn(f64) -> f64) -> Vec<f64> {
    let lowest = cap.iter().copied().fold(f64::INFINITY, f64::min);
    (0..cap.len())
        .map(|i| {
            let mut c = cap[i];
            for (k, &later) in cap.iter().enumerate().skip(i + 1) {
                let room = reach((k - i) as f64 * dt);
                c = c.min(later + room);
                if lowest + room >= c {
                    // No later bound can be tighter than this any more.
                    break;
                }
            }
            c
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inside(x: &[f64], lo: &[f64], hi: &[f64]) -> bool {
        x.iter()
            .zip(lo.iter().zip(hi))
            .skip(1)
            .all(|(v, (l, h))| *v >= l - 1e-9 && *v <= h + 1e-9)
    }

    #[test]
    fn wide_tube_gives_a_still_camera() {
        let lo = vec![-5.0; 50];
        let hi = vec![5.0; 50];
        let x = taut_string(&lo, &hi, 1.0);
        assert!(x.iter().all(|v| (*v - 1.0).abs() < 1e-12));
    }

    #[test]
    fn string_stays_in_the_tube_and_moves_monotonically_for_a_monotonic_tube() {
        // Ball moving right with a bump: a +-2 tube around it.
        let c: Vec<f64> = (0..200)
            .map(|i| {
                let t = i as f64;
                0.1 * t + if (80..90).contains(&i) { 1.5 } else { 0.0 }
            })
            .collect();
        let lo: Vec<f64> = c.iter().map(|v| v - 2.0).collect();
        let hi: Vec<f64> = c.iter().map(|v| v + 2.0).collect();
        let x = taut_string(&lo, &hi, 0.0);
        assert!(inside(&x, &lo, &hi));
        assert!(x.windows(2).all(|w| w[1] >= w[0] - 1e-12), "no reversal");
    }

    #[test]
    fn start_outside_the_tube_joins_it() {
        let lo = vec![10.0; 30];
        let hi = vec![12.0; 30];
        let x = taut_string(&lo, &hi, 0.0);
        assert_eq!(x[0], 0.0);
        assert!(inside(&x, &lo, &hi));
        // It goes straight to the nearest bound and then stays flat.
        assert!((x[29] - 10.0).abs() < 1e-9);
    }

    #[test]
    fn oscillating_tube_is_crossed_straight() {
        let lo: Vec<f64> = (0..100)
            .map(|i| if i % 10 < 5 { -1.0 } else { -3.0 })
            .collect();
        let hi: Vec<f64> = lo.iter().map(|l| l + 4.0).collect();
        let x = taut_string(&lo, &hi, 0.0);
        assert!(x.iter().all(|v| v.abs() < 1e-12));
    }

    #[test]
    fn smoothing_keeps_constants_and_slopes() {
        let x: Vec<f64> = (0..50).map(|i| 2.0 * i as f64).collect();
        let s = box_smooth(&x, 3);
        for i in 3..47 {
            assert!((s[i] - x[i]).abs() < 1e-9);
        }
        let t = triangle_smooth(&[4.0; 20], 5);
        assert!(t.iter().all(|v| (v - 4.0).abs() < 1e-12));
    }

    #[test]
    fn running_max_window() {
        let x = [1.0, 5.0, 2.0, 0.0, 0.0, 3.0, 0.0];
        assert_eq!(
            running_max(&x, 1, 1),
            vec![5.0, 5.0, 5.0, 2.0, 3.0, 3.0, 3.0]
        );
        assert_eq!(running_max(&x, 0, 0), x.to_vec());
    }

    #[test]
    fn reachable_distance_ramps_then_cruises() {
        assert!((reachable_in(0.5, 8.0, 10.0) - 1.25).abs() < 1e-12);
        // 0.8 s ramp (3.2 deg), then 8 deg/s.
        assert!((reachable_in(1.8, 8.0, 10.0) - (3.2 + 8.0)).abs() < 1e-9);
    }

    #[test]
    fn caps_are_anticipated_at_the_reachable_rate() {
        // A bound of 60 that drops to 30 at frame 10 (1 s per frame, 5 per second reach).
        let mut cap = vec![60.0; 20];
        for c in &mut cap[10..] {
            *c = 30.0;
        }
        let out = anticipate_caps(&cap, 1.0, |t| 5.0 * t);
        for (i, v) in out.iter().enumerate() {
            let want = if i >= 10 {
                30.0
            } else {
                (30.0 + 5.0 * (10 - i) as f64).min(60.0)
            };
            assert!((v - want).abs() < 1e-12, "frame {i}: {v} != {want}");
        }
        // Never looser than the bound itself, and unchanged where nothing drops ahead.
        assert_eq!(
            anticipate_caps(&[40.0, 50.0, 60.0], 1.0, |t| t),
            vec![40.0, 50.0, 60.0]
        );
        assert!(anticipate_caps(&[], 1.0, |t| t).is_empty());
    }
}
