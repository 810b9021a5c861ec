//! Bounded tracking of a reference: one camera axis (pan, tilt or zoom) modelled as a
//! position driven by a jerk, integrated frame by frame, so that speed, acceleration and
//! jerk bounds hold by construction and a replan that starts from the state of the last
//! committed frame continues it without a step.
//!
//! Integration per frame (semi-implicit): `a += j dt; v += a dt; p += v dt`. With this
//! order, the first, second and third finite differences of the positions are exactly the
//! states `v`, `a` and `j`, so the bounds checked on the keyframes are the bounds enforced.

/// Kinematic bounds of one axis (positive values).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AxisBounds {
    pub speed: f64,
    pub accel: f64,
    pub jerk: f64,
}

/// Position, velocity and acceleration of one axis.
#[derive(Debug, Clone, Copy, PartialEq, Default, serde::Serialize, serde::Deserialize)]
pub struct AxisState {
    pub p: f64,
    pub v: f64,
    pub a: f64,
}

impl AxisState {
    pub fn at(p: f64) -> AxisState {
        AxisState { p, v: 0.0, a: 0.0 }
    }
}

/// Gains of the cascade (position -> velocity -> acceleration). `kv = 4 kp` makes the
/// position loop critically damped when the acceleration is not limited.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Gains {
    pub kp: f64,
    pub kv: f64,
}

impl Default for Gains {
    fn default() -> Self {
        Gains { kp: 1.5, kv: 6.0 }
    }
}

/// Largest acceleration from which the jerk bound can still bring the acceleration to zero
/// before the speed passes `room` more than the current speed.
fn accel_room(room: f64, b: &AxisBounds, dt: f64) -> f64 {
    if room <= 0.0 {
        return 0.0;
    }
    let jd = b.jerk * dt;
    -jd + (jd * jd + 2.0 * b.jerk * room).sqrt()
}

/// Tracks `reference` (one value per frame; `reference[0]` is the frame of `start`) and
/// returns the states of frames `1..reference.len()`. `limits[i]` are hard position limits
/// of frame `i` (the same length as `reference`); the tracker brakes before them so the
/// final clamp rarely has to act. Returns the states and the number of frames where a bound
/// had to be forced (0 in normal operation).
pub fn track(
    start: AxisState,
    reference: &[f64],
    limits: &[(f64, f64)],
    bounds: AxisBounds,
    gains: Gains,
    dt: f64,
) -> (Vec<AxisState>, u64) {
    let n = reference.len();
    let mut out = Vec::with_capacity(n.saturating_sub(1));
    let mut s = start;
    // A start state beyond the bounds (a restart, a changed config) is brought inside them.
    s.v = s.v.clamp(-bounds.speed, bounds.speed);
    s.a = s.a.clamp(-bounds.accel, bounds.accel);
    let mut forced = 0u64;
    for i in 1..n {
        let r = reference[i];
        let prev = reference[i - 1];
        let next = if i + 1 < n { reference[i + 1] } else { r };
        // Feed-forward of the reference's own speed and acceleration, limited to what the
        // axis can do: a reference that moves faster than the bounds (a jump of the target)
        // must not drive the acceleration the wrong way through its curvature.
        let rv = ((next - prev) / (if i + 1 < n { 2.0 } else { 1.0 } * dt))
            .clamp(-bounds.speed, bounds.speed);
        let ra = if i + 1 < n {
            ((next - 2.0 * r + prev) / (dt * dt)).clamp(-bounds.accel, bounds.accel)
        } else {
            0.0
        };
        let (lo, hi) = limits[i];
        // Desired velocity: feed-forward plus position error, braking before the limits:
        // the speed from which half the acceleration bound stops within the distance left
        // once the velocity loop and the jerk-limited acceleration have caught up.
        let free = rv + gains.kp * (r - s.p);
        let lag = 1.0 / gains.kv + bounds.accel / bounds.jerk;
        let brake = |d: f64| (bounds.accel * (d - s.v.abs() * lag).max(0.0)).sqrt();
        let vd = free
            .min(brake(hi - s.p))
            .max(-brake(s.p - lo))
            .clamp(-bounds.speed, bounds.speed);
        // While braking for a limit, the reference's acceleration towards it is ignored.
        let ra = if vd < free {
            ra.min(0.0)
        } else if vd > free {
            ra.max(0.0)
        } else {
            ra
        };
        // Desired acceleration, limited so that the jerk bound can stop it before the speed
        // bound is passed.
        let mut ad = ra + gains.kv * (vd - s.v);
        let up = accel_room(bounds.speed - s.v, &bounds, dt);
        let down = accel_room(bounds.speed + s.v, &bounds, dt);
        ad = ad.clamp(-down.min(bounds.accel), up.min(bounds.accel));
        let j = ((ad - s.a) / dt).clamp(-bounds.jerk, bounds.jerk);
        let mut a = s.a + j * dt;
        let mut v = s.v + a * dt;
        if v.abs() > bounds.speed {
            // Should not happen (the room above prevents it); forced and counted.
            v = v.clamp(-bounds.speed, bounds.speed);
            a = (v - s.v) / dt;
            forced += 1;
        }
        s = AxisState {
            p: s.p + v * dt,
            v,
            a,
        };
        out.push(s);
    }
    (out, forced)
}

#[cfg(test)]
mod tests {
    use super::*;

    const B: AxisBounds = AxisBounds {
        speed: 30.0,
        accel: 40.0,
        jerk: 200.0,
    };

    fn check(states: &[AxisState], start: AxisState, dt: f64) {
        let mut prev = start;
        for s in states {
            let v = (s.p - prev.p) / dt;
            let a = (v - prev.v) / dt;
            let j = (a - prev.a) / dt;
            assert!(v.abs() <= B.speed * (1.0 + 1e-9), "speed {v}");
            assert!(a.abs() <= B.accel * (1.0 + 1e-9), "accel {a}");
            assert!(j.abs() <= B.jerk * (1.0 + 1e-6), "jerk {j}");
            assert!((v - s.v).abs() < 1e-6 && (a - s.a).abs() < 1e-6);
            prev = *s;
        }
    }

    #[test]
    fn step_reference_is_followed_within_bounds() {
        let dt = 0.04;
        let mut r = vec![0.0; 20];
        r.extend(vec![40.0; 300]);
        let lim = vec![(-100.0, 100.0); r.len()];
        let start = AxisState::at(0.0);
        let (s, forced) = track(start, &r, &lim, B, Gains::default(), dt);
        check(&s, start, dt);
        assert_eq!(forced, 0);
        assert!((s.last().unwrap().p - 40.0).abs() < 0.05);
        // No large overshoot.
        assert!(s.iter().all(|x| x.p < 41.5), "overshoot");
    }

    #[test]
    fn moving_start_state_is_continued_without_a_step() {
        let dt = 0.04;
        let r = vec![0.0; 200];
        let lim = vec![(-100.0, 100.0); r.len()];
        let start = AxisState {
            p: 5.0,
            v: 25.0,
            a: 30.0,
        };
        let (s, _) = track(start, &r, &lim, B, Gains::default(), dt);
        check(&s, start, dt);
        assert!(s.last().unwrap().p.abs() < 0.1);
    }

    #[test]
    fn limits_are_approached_by_braking() {
        let dt = 0.04;
        let r = vec![50.0; 200];
        let lim = vec![(-10.0, 10.0); r.len()];
        let start = AxisState::at(0.0);
        let (s, _) = track(start, &r, &lim, B, Gains::default(), dt);
        check(&s, start, dt);
        let max = s.iter().map(|x| x.p).fold(f64::MIN, f64::max);
        assert!(max < 10.5, "{max}");
    }
}
