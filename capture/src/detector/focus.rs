//! Looking where the ball is. On a CPU the detector cannot analyse the whole panorama at the
//! frame rate, and a ball seen once a second is hard to follow. Between full sweeps of every
//! tile, [`Focus`] picks the one tile (or the few tiles) around where the detector's own last
//! ball detections put the ball now, so that the ball is looked at several times more often
//! for the same CPU. A miss, a sighting too old or a full-sweep period reached gives a full
//! sweep again, which also finds a ball that went elsewhere and everything else (players).
//! With a crop side set (`detector.focus_tile_size`), a focused frame looks at one square of
//! that side centred on the prediction instead of the grid's tiles: smaller than a grid tile,
//! it is magnified to the model input, so a far ball is seen larger for the cost of one tile.
//! With no ball of its own to follow, the focus can take the motion cue's newest sighting as
//! the place to look ([`Focus::cue`]): a lost ball that moves is looked at there, at the cost
//! of a tile, between the full sweeps that would otherwise be all the detector does until it
//! finds the ball again. A look there that finds nothing drops the cue's sighting.
//!
//! Pure logic: the caller passes each frame's time and what the detector found.

use super::tiling::{Tile, Tiling};
use shared::messages::Detection;

/// Time constant of the smoothing of the ball's velocity between sightings, seconds.
const VELOCITY_SMOOTH_S: f64 = 0.25;

/// How the focus behaves (`[detector]` keys `focus_*`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FocusSettings {
    /// Every this many analysed frames at most, one is a full sweep (1: always full, which
    /// turns focusing off).
    pub full_every: u32,
    /// Focused looks in a row that may miss the ball, each looking again around its
    /// prediction, before a full sweep (0: the frame after a miss is a full sweep).
    pub misses_allowed: u32,
    /// A sighting older than this no longer says where to look, nanoseconds.
    pub hold_ns: u64,
    /// Room around the predicted position, panorama pixels, plus `growth` panorama widths
    /// for every second since the last sighting (how far the ball may have gone off its
    /// straight line: 0.08 is about 8 m/s across a 105 m pitch).
    pub margin_px: f64,
    pub growth: f64,
    /// Fastest believable ball speed, panorama widths per second (a faster step between two
    /// sightings is taken as two different objects: no velocity).
    pub max_speed: f64,
    /// Side of the square looked at around the prediction, panorama pixels (0: the grid's
    /// tiles). Used when the prediction's room fits inside it (always with `crop_always`);
    /// else the grid's tiles.
    pub crop_px: u32,
    /// Look at the square around the prediction even when the room around it does not fit
    /// (instead of the grid's tiles): for a square that costs little next to a tile (seen
    /// at panorama scale), where a miss costs less than a larger look.
    pub crop_always: bool,
    /// A motion cue sighting inside the room around the prediction of the ball being followed
    /// (newer than its last sighting) moves the prediction there: after a slow look (a full
    /// sweep takes about a second on a busy CPU) the square is placed where the ball is now,
    /// not where it was.
    pub cue_refresh: bool,
    /// A motion cue sighting older (or newer) than this does not say where to look when the
    /// detector has no ball of its own, nanoseconds (0: the cue's sightings are not used).
    pub cue_hold_ns: u64,
}

impl Default for FocusSettings {
    fn default() -> Self {
        FocusSettings {
            full_every: 4,
            misses_allowed: 0,
            hold_ns: 4_000_000_000,
            margin_px: 48.0,
            growth: 0.08,
            max_speed: 0.5,
            crop_px: 0,
            crop_always: false,
            cue_refresh: false,
            cue_hold_ns: 400_000_000,
        }
    }
}

/// What to analyse in one frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Plan {
    /// Every tile.
    Full,
    /// These tile indices only (ascending).
    Tiles(Vec<usize>),
    /// One square around the prediction, outside the grid (its `id` is the grid's tile
    /// count).
    Crop(Tile),
}

impl Plan {
    /// Whether the plan looks at part of the panorama only.
    pub fn is_focused(&self) -> bool {
        !matches!(self, Plan::Full)
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
struct Sighting {
    pts_ns: u64,
    x: f64,
    y: f64,
}

/// Chooses the tiles of each analysed frame from the ball detections of the frames before.
#[derive(Debug, Clone)]
pub struct Focus {
    settings: FocusSettings,
    ball_class: u16,
    last: Option<Sighting>,
    velocity: Option<(f64, f64)>,
    /// Analysed frames since the last full sweep.
    since_full: u32,
    /// The position the current plan looked around.
    predicted: Option<(f64, f64)>,
    /// The motion cue's newest sighting, and whether the current plan looks around it.
    cue: Option<Sighting>,
    on_cue: bool,
    /// Focused looks in a row that missed the ball followed.
    misses: u32,
}

impl Focus {
    pub fn new(settings: FocusSettings, ball_class: u16) -> Focus {
        Focus {
            settings,
            ball_class,
            last: None,
            velocity: None,
            // The first frame is a full sweep.
            since_full: settings.full_every,
            predicted: None,
            cue: None,
            on_cue: false,
            misses: 0,
        }
    }

    /// The motion cue saw a ball at `(x, y)` in the frame at `pts_ns`: where to look when the
    /// detector has no ball of its own (the newest sighting replaces the one before).
    pub fn cue(&mut self, pts_ns: u64, x: f64, y: f64, width: u32) {
        if self.settings.cue_refresh {
            if let Some(((px, py), m)) = self.predict(pts_ns, width as f64) {
                if (x - px).hypot(y - py) <= m && self.last.is_some_and(|l| pts_ns > l.pts_ns) {
                    self.take_sighting(Sighting { pts_ns, x, y }, width);
                }
            }
        }
        if self.settings.cue_hold_ns > 0 {
            self.cue = Some(Sighting { pts_ns, x, y });
        }
    }

    /// Whether the current plan looks around a motion cue sighting.
    pub fn on_cue(&self) -> bool {
        self.on_cue
    }

    /// Where the cue's sighting says to look at `pts_ns`, and the room around it.
    fn cue_prediction(&self, pts_ns: u64, width: f64) -> Option<((f64, f64), f64)> {
        let c = self.cue?;
        let dt_ns = pts_ns.abs_diff(c.pts_ns);
        if dt_ns > self.settings.cue_hold_ns {
            return None;
        }
        let margin = self.room(dt_ns as f64 * 1e-9, width);
        Some(((c.x, c.y), margin))
    }

    /// How far from a sighting `dt_s` seconds old the ball may be, pixels.
    fn room(&self, dt_s: f64, width: f64) -> f64 {
        self.settings.margin_px + self.settings.growth * width * dt_s
    }

    /// Where the ball should be at `pts_ns`, and how far off that may be, pixels.
    fn predict(&self, pts_ns: u64, width: f64) -> Option<((f64, f64), f64)> {
        let last = self.last?;
        let dt_ns = pts_ns.checked_sub(last.pts_ns)?;
        if dt_ns > self.settings.hold_ns {
            return None;
        }
        let dt = dt_ns as f64 * 1e-9;
        let (vx, vy) = self.velocity.unwrap_or((0.0, 0.0));
        let margin = self.room(dt, width);
        Some(((last.x + vx * dt, last.y + vy * dt), margin))
    }

    /// The tiles to analyse in the frame at `pts_ns`.
    pub fn plan(&mut self, pts_ns: u64, tiling: &Tiling) -> Plan {
        let n = tiling.tiles.len();
        let full = self.settings.full_every <= 1 || self.since_full + 1 >= self.settings.full_every;
        let width = tiling.width as f64;
        // The detector's own ball first; without one, the cue's sighting.
        let (prediction, on_cue) = match full {
            true => (None, false),
            false => match self.predict(pts_ns, width) {
                Some(own) => (Some(own), false),
                None => (self.cue_prediction(pts_ns, width), true),
            },
        };
        self.on_cue = on_cue;
        let Some(((x, y), m)) = prediction else {
            self.on_cue = false;
            self.predicted = None;
            return Plan::Full;
        };
        if let Some(crop) = self.crop_around(x, y, m, tiling) {
            self.predicted = Some((x, y));
            return Plan::Crop(crop);
        }
        // One tile that holds the whole box, the one whose centre is nearest; else every
        // tile the box touches.
        let (x0, y0, x1, y1) = (x - m, y - m, x + m, y + m);
        let holds = |t: &super::Tile| {
            x0 >= t.x as f64
                && y0 >= t.y as f64
                && x1 <= (t.x + t.w) as f64
                && y1 <= (t.y + t.h) as f64
        };
        let dist = |t: &super::Tile| {
            let (cx, cy) = (t.x as f64 + t.w as f64 / 2.0, t.y as f64 + t.h as f64 / 2.0);
            (cx - x).hypot(cy - y)
        };
        let whole = (0..n)
            .filter(|&i| holds(&tiling.tiles[i]))
            .min_by(|&a, &b| dist(&tiling.tiles[a]).total_cmp(&dist(&tiling.tiles[b])));
        let tiles: Vec<usize> = match whole {
            Some(i) => vec![i],
            None => (0..n)
                .filter(|&i| {
                    let t = &tiling.tiles[i];
                    x1 > t.x as f64
                        && y1 > t.y as f64
                        && x0 < (t.x + t.w) as f64
                        && y0 < (t.y + t.h) as f64
                })
                .collect(),
        };
        if tiles.is_empty() || tiles.len() >= n {
            self.predicted = None;
            self.on_cue = false;
            return Plan::Full;
        }
        self.predicted = Some((x, y));
        Plan::Tiles(tiles)
    }

    /// The square of `crop_px` centred on `(x, y)`, moved inside the panorama, when the room
    /// `m` around the prediction fits in it.
    fn crop_around(&self, x: f64, y: f64, m: f64, tiling: &Tiling) -> Option<Tile> {
        let side = self.settings.crop_px.min(tiling.width).min(tiling.height);
        if side == 0 || (2.0 * m > side as f64 && !self.settings.crop_always) {
            return None;
        }
        let start = |c: f64, extent: u32| {
            let s = (c - side as f64 / 2.0).round().max(0.0) as u32;
            s.min(extent - side)
        };
        Some(Tile {
            id: tiling.tiles.len().min(u16::MAX as usize) as u16,
            x: start(x, tiling.width),
            y: start(y, tiling.height),
            w: side,
            h: side,
            col: 0,
            row: 0,
        })
    }

    /// What the frame planned with `plan` found. A focused frame takes the ball detection
    /// nearest the prediction; a full sweep the best-scoring one. No ball: the next frame is
    /// a full sweep, except after a full sweep or a look at the cue's sighting (which is
    /// dropped), when the cue's next sighting may be looked at first.
    pub fn observe(&mut self, pts_ns: u64, plan: &Plan, detections: &[Detection], width: u32) {
        let balls = detections.iter().filter(|d| d.class_id == self.ball_class);
        let found = match (plan, self.predicted) {
            (Plan::Tiles(_) | Plan::Crop(_), Some((px, py))) => balls.min_by(|a, b| {
                let da = (a.cx as f64 - px).hypot(a.cy as f64 - py);
                let db = (b.cx as f64 - px).hypot(b.cy as f64 - py);
                da.total_cmp(&db)
            }),
            _ => balls.max_by(|a, b| a.score.total_cmp(&b.score)),
        };
        self.since_full = match plan {
            Plan::Full => 0,
            Plan::Tiles(_) | Plan::Crop(_) => self.since_full + 1,
        };
        let on_cue = self.on_cue && plan.is_focused();
        let Some(d) = found else {
            if on_cue {
                self.cue = None;
            } else if plan.is_focused() {
                if self.misses < self.settings.misses_allowed {
                    // Look again around the prediction, with more room.
                    self.misses += 1;
                    return;
                }
                // Lost where it was followed: look everywhere next.
                self.since_full = self.settings.full_every;
            }
            self.last = None;
            self.velocity = None;
            self.misses = 0;
            return;
        };
        self.misses = 0;
        let now = Sighting {
            pts_ns,
            x: d.cx as f64,
            y: d.cy as f64,
        };
        self.take_sighting(now, width);
    }

    /// The ball was seen at `now`: the velocity from the last sighting (when believable),
    /// and the new last sighting.
    fn take_sighting(&mut self, now: Sighting, width: u32) {
        let pts_ns = now.pts_ns;
        if let Some(l) = self.last.filter(|l| l.pts_ns > pts_ns) {
            // The motion cue has seen the ball since this frame. Where they agree, its newer
            // sighting stays; else the detector's is believed, without a velocity.
            let dt = (l.pts_ns - pts_ns) as f64 * 1e-9;
            if (l.x - now.x).hypot(l.y - now.y) > self.room(dt, width as f64) {
                self.last = Some(now);
                self.velocity = None;
            }
            return;
        }
        let measured = self.last.and_then(|l| {
            let dt = pts_ns.checked_sub(l.pts_ns)? as f64 * 1e-9;
            if dt <= 0.0 || pts_ns - l.pts_ns > self.settings.hold_ns {
                return None;
            }
            let v = ((now.x - l.x) / dt, (now.y - l.y) / dt);
            (v.0.hypot(v.1) <= self.settings.max_speed * width as f64).then_some((v, dt))
        });
        // Sightings a frame apart give a noisy velocity (a pixel of error is 25 px/s, a false
        // ball beside the ball hundreds): it is smoothed over `VELOCITY_SMOOTH_S`. Sightings
        // that far apart or more replace it.
        self.velocity = match (measured, self.velocity) {
            (Some((v, dt)), Some(old)) => {
                let a = (dt / VELOCITY_SMOOTH_S).min(1.0);
                Some((old.0 + a * (v.0 - old.0), old.1 + a * (v.1 - old.1)))
            }
            (Some((v, _)), None) => Some(v),
            (None, _) => None,
        };
        self.last = Some(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detector::mask::PanoramaMask;

    const MS: u64 = 1_000_000;

    /// The demo's tiling: 1920x640, 640 px tiles overlapping by 96: four tiles in a row.
    fn tiling() -> Tiling {
        Tiling::new(1920, 640, 640, 96, &PanoramaMask::whole(1920, 640))
    }

    fn ball(x: f32, y: f32, score: f32) -> Detection {
        Detection {
            cx: x,
            cy: y,
            w: 10.0,
            h: 10.0,
            class_id: 0,
            score,
            tile: 0,
        }
    }

    fn player(x: f32, y: f32) -> Detection {
        Detection {
            class_id: 1,
            ..ball(x, y, 0.9)
        }
    }

    #[test]
    fn the_demo_tiling_is_four_tiles_in_a_row() {
        let t = tiling();
        assert_eq!(t.tiles.len(), 4);
        assert!(t.tiles.iter().all(|t| t.y == 0 && t.h == 640));
    }

    #[test]
    fn without_a_sighting_every_frame_is_a_full_sweep() {
        let t = tiling();
        let mut f = Focus::new(FocusSettings::default(), 0);
        for k in 0..5 {
            let plan = f.plan(k * 40 * MS, &t);
            assert_eq!(plan, Plan::Full);
            f.observe(k * 40 * MS, &plan, &[player(300.0, 300.0)], 1920);
        }
    }

    #[test]
    fn a_seen_ball_is_looked_at_in_its_own_tile_between_full_sweeps() {
        let t = tiling();
        let mut f = Focus::new(FocusSettings::default(), 0);
        let mut plans = Vec::new();
        for k in 0..8u64 {
            let pts = k * 200 * MS;
            let plan = f.plan(pts, &t);
            // The ball rolls right at 100 px/s from x = 700.
            let x = 700.0 + 100.0 * k as f32 * 0.2;
            f.observe(pts, &plan, &[ball(x, 320.0, 0.8)], 1920);
            plans.push(plan);
        }
        let full: Vec<usize> = (0..8).filter(|&k| plans[k] == Plan::Full).collect();
        assert_eq!(full, vec![0, 4], "{plans:?}");
        for (k, p) in plans.iter().enumerate() {
            if let Plan::Tiles(tiles) = p {
                assert_eq!(tiles.len(), 1, "frame {k}: {p:?}");
                let tile = &t.tiles[tiles[0]];
                let x = 700.0 + 100.0 * k as f64 * 0.2;
                assert!(tile.contains(x, 320.0), "frame {k}: {tile:?}");
            }
        }
    }

    #[test]
    fn the_prediction_follows_the_ball_into_the_next_tile() {
        let t = tiling();
        let mut f = Focus::new(
            FocusSettings {
                full_every: 100,
                ..Default::default()
            },
            0,
        );
        // 500 px/s to the right, seen every 100 ms from x = 300.
        for k in 0..20u64 {
            let pts = k * 100 * MS;
            let x = 300.0 + 50.0 * k as f64;
            let plan = f.plan(pts, &t);
            if let Plan::Tiles(tiles) = &plan {
                assert!(
                    tiles.iter().any(|&i| t.tiles[i].contains(x, 300.0)),
                    "frame {k}: ball at {x} outside {tiles:?}"
                );
            }
            f.observe(pts, &plan, &[ball(x as f32, 300.0, 0.7)], 1920);
        }
    }

    #[test]
    fn a_miss_or_an_old_sighting_brings_back_the_full_sweep() {
        let t = tiling();
        let mut f = Focus::new(FocusSettings::default(), 0);
        let p = f.plan(0, &t);
        f.observe(0, &p, &[ball(1000.0, 300.0, 0.9)], 1920);
        let p = f.plan(100 * MS, &t);
        assert!(matches!(p, Plan::Tiles(_)));
        // Not found where it was looked for.
        f.observe(100 * MS, &p, &[player(1000.0, 300.0)], 1920);
        assert_eq!(f.plan(200 * MS, &t), Plan::Full);
        // Seen again, then nothing analysed for longer than `hold_ns`.
        f.observe(200 * MS, &Plan::Full, &[ball(1000.0, 300.0, 0.9)], 1920);
        assert!(matches!(f.plan(300 * MS, &t), Plan::Tiles(_)));
        assert_eq!(f.plan(4_300 * MS, &t), Plan::Full);
    }

    #[test]
    fn allowed_misses_look_again_along_the_prediction_before_a_full_sweep() {
        let t = tiling();
        let mut f = Focus::new(
            FocusSettings {
                full_every: 100,
                misses_allowed: 2,
                crop_px: 160,
                ..Default::default()
            },
            0,
        );
        // Seen at 1000 and 1010 px, 40 ms apart: 250 px/s to the right.
        for (k, x) in [(0u64, 1000.0), (1, 1010.0)] {
            let p = f.plan(k * 40 * MS, &t);
            f.observe(k * 40 * MS, &p, &[ball(x, 300.0, 0.9)], 1920);
        }
        // Two misses: each next look is a square around the moving prediction.
        for k in 2..4u64 {
            let p = f.plan(k * 40 * MS, &t);
            let Plan::Crop(c) = &p else {
                panic!("frame {k}: {p:?}")
            };
            let x = 1000.0 + 10.0 * k as f64;
            assert!((c.x as f64 + 80.0 - x).abs() <= 1.0, "frame {k}: {c:?}");
            f.observe(k * 40 * MS, &p, &[player(x as f32, 300.0)], 1920);
        }
        // The third miss in a row gives up: a full sweep.
        let p = f.plan(160 * MS, &t);
        assert!(matches!(p, Plan::Crop(_)), "{p:?}");
        f.observe(160 * MS, &p, &[], 1920);
        assert_eq!(f.plan(200 * MS, &t), Plan::Full);
        // A find in between starts the count again.
        let mut f = Focus::new(
            FocusSettings {
                full_every: 100,
                misses_allowed: 1,
                crop_px: 160,
                ..Default::default()
            },
            0,
        );
        let seen = [ball(1000.0, 300.0, 0.9)];
        for (k, found) in [true, false, true, false, true].into_iter().enumerate() {
            let pts = k as u64 * 40 * MS;
            let p = f.plan(pts, &t);
            assert!(k == 0 || matches!(p, Plan::Crop(_)), "frame {k}: {p:?}");
            f.observe(pts, &p, if found { &seen } else { &[] }, 1920);
        }
    }

    #[test]
    fn cue_sightings_near_the_followed_ball_move_the_square_there() {
        let t = tiling();
        let settings = FocusSettings {
            full_every: 100,
            crop_px: 160,
            crop_always: true,
            cue_refresh: true,
            ..Default::default()
        };
        let mut f = Focus::new(settings, 0);
        let p = f.plan(0, &t);
        f.observe(0, &p, &[ball(1000.0, 300.0, 0.9)], 1920);
        // A slow look later, the cue sees the ball 100 px on (inside the room of 0.8 s), and
        // a bright spot far away (outside it).
        f.cue(800 * MS, 1100.0, 300.0, 1920);
        f.cue(820 * MS, 1500.0, 300.0, 1920);
        let Plan::Crop(c) = f.plan(840 * MS, &t) else {
            panic!("a square")
        };
        // 125 px/s from the two sightings: 1100 + 5.
        assert!((c.x as f64 + 80.0 - 1105.0).abs() <= 1.0, "{c:?}");
        // The slow look's own result (a frame before the cue's) agrees: the newer stays.
        let p = Plan::Full;
        f.observe(400 * MS, &p, &[ball(1050.0, 300.0, 0.9)], 1920);
        let Plan::Crop(c) = f.plan(840 * MS, &t) else {
            panic!("a square")
        };
        assert!((c.x as f64 + 80.0 - 1105.0).abs() <= 1.0, "{c:?}");
        // It disagrees (a ball found elsewhere): the detector is believed, without velocity.
        f.observe(400 * MS, &p, &[ball(400.0, 300.0, 0.9)], 1920);
        let Plan::Crop(c) = f.plan(840 * MS, &t) else {
            panic!("a square")
        };
        assert_eq!(c.x + 80, 400, "{c:?}");
        // Without `cue_refresh` the cue moves nothing.
        let mut f = Focus::new(
            FocusSettings {
                cue_refresh: false,
                ..settings
            },
            0,
        );
        let p = f.plan(0, &t);
        f.observe(0, &p, &[ball(1000.0, 300.0, 0.9)], 1920);
        f.cue(800 * MS, 1100.0, 300.0, 1920);
        let Plan::Crop(c) = f.plan(840 * MS, &t) else {
            panic!("a square")
        };
        assert_eq!(c.x + 80, 1000, "{c:?}");
    }

    #[test]
    fn a_ball_on_a_tile_seam_gets_both_tiles_and_an_impossible_jump_no_velocity() {
        let t = tiling();
        let mut f = Focus::new(
            FocusSettings {
                margin_px: 200.0,
                ..Default::default()
            },
            0,
        );
        let p = f.plan(0, &t);
        f.observe(0, &p, &[ball(620.0, 300.0, 0.9)], 1920);
        match f.plan(40 * MS, &t) {
            Plan::Tiles(tiles) => assert_eq!(tiles.len(), 2, "{tiles:?}"),
            p => panic!("{p:?}"),
        }
        // A second "ball" 1000 px away 40 ms later is not a velocity of 25,000 px/s.
        let p = Plan::Full;
        f.observe(40 * MS, &p, &[ball(1620.0, 300.0, 0.9)], 1920);
        assert_eq!(f.velocity, None);
    }

    #[test]
    fn with_a_crop_side_the_ball_is_looked_at_in_a_square_around_it() {
        let t = tiling();
        let mut f = Focus::new(
            FocusSettings {
                full_every: 100,
                crop_px: 320,
                ..Default::default()
            },
            0,
        );
        // 400 px/s to the right from x = 100, seen every 200 ms; the last near the right edge.
        for k in 0..5u64 {
            let pts = k * 200 * MS;
            let x = 100.0 + 80.0 * k as f64;
            let plan = f.plan(pts, &t);
            if k > 0 {
                let Plan::Crop(c) = &plan else {
                    panic!("frame {k}: {plan:?}")
                };
                assert_eq!((c.w, c.h, c.id), (320, 320, 4));
                assert!(c.contains(x, 600.0), "frame {k}: ball at {x} outside {c:?}");
                // Moved inside the panorama: the ball is at the bottom edge. Centred on the
                // prediction: the last sighting, then (with a velocity) the ball itself.
                assert_eq!(c.y, 320);
                let predicted = if k == 1 { 100 } else { x as u32 };
                assert_eq!(c.x, predicted.saturating_sub(160), "frame {k}");
            }
            f.observe(pts, &plan, &[ball(x as f32, 600.0, 0.8)], 1920);
        }
        // Unseen for a second and a half: the room (48 + 0.08 * 1920 * 1.5 px each way) no
        // longer fits in the square, so the grid's tiles are looked at.
        assert!(matches!(f.plan(2_300 * MS, &t), Plan::Tiles(_)));
    }

    #[test]
    fn a_lost_ball_is_looked_for_where_the_motion_cue_saw_it_between_full_sweeps() {
        let t = tiling();
        let mut f = Focus::new(FocusSettings::default(), 0);
        // Nothing found in a full sweep; the cue sees something at x = 1500.
        let p = f.plan(0, &t);
        assert_eq!(p, Plan::Full);
        f.observe(0, &p, &[player(300.0, 300.0)], 1920);
        f.cue(40 * MS, 1500.0, 400.0, 1920);
        let p = f.plan(80 * MS, &t);
        let Plan::Tiles(tiles) = &p else {
            panic!("{p:?}")
        };
        assert_eq!(tiles.len(), 1);
        assert!(t.tiles[tiles[0]].contains(1500.0, 400.0));
        assert!(f.on_cue());
        // Not there: the sighting is dropped, and without another the next frame is a full
        // sweep.
        f.observe(80 * MS, &p, &[], 1920);
        assert_eq!(f.plan(120 * MS, &t), Plan::Full);
        assert!(!f.on_cue());
        // A fresh sighting, and the ball is there: it is followed as the detector's own.
        f.observe(120 * MS, &Plan::Full, &[], 1920);
        f.cue(150 * MS, 700.0, 300.0, 1920);
        let p = f.plan(160 * MS, &t);
        assert!(f.on_cue(), "{p:?}");
        f.observe(160 * MS, &p, &[ball(705.0, 302.0, 0.8)], 1920);
        f.cue(190 * MS, 1500.0, 400.0, 1920);
        let p = f.plan(200 * MS, &t);
        assert!(!f.on_cue());
        let Plan::Tiles(tiles) = &p else {
            panic!("{p:?}")
        };
        assert!(t.tiles[tiles[0]].contains(705.0, 302.0));
    }

    #[test]
    fn the_cue_never_delays_the_full_sweep_and_old_or_unused_sightings_say_nothing() {
        let t = tiling();
        let mut f = Focus::new(FocusSettings::default(), 0);
        // A sighting before every frame, never the ball: one full sweep in four frames.
        let mut plans = Vec::new();
        for k in 0..8u64 {
            let pts = k * 100 * MS;
            f.cue(pts, 1000.0 + k as f64, 300.0, 1920);
            let p = f.plan(pts, &t);
            f.observe(pts, &p, &[], 1920);
            plans.push(p);
        }
        let full: Vec<u64> = (0..8)
            .filter(|&k| plans[k as usize] == Plan::Full)
            .collect();
        assert_eq!(full, vec![0, 4], "{plans:?}");
        // A sighting older than `cue_hold_ns`: a full sweep.
        let mut f = Focus::new(FocusSettings::default(), 0);
        let p = f.plan(0, &t);
        f.observe(0, &p, &[], 1920);
        f.cue(0, 1000.0, 300.0, 1920);
        assert_eq!(f.plan(500 * MS, &t), Plan::Full);
        // With the cue off (`cue_hold_ns` 0), sightings are not kept.
        let mut f = Focus::new(
            FocusSettings {
                cue_hold_ns: 0,
                ..Default::default()
            },
            0,
        );
        let p = f.plan(0, &t);
        f.observe(0, &p, &[], 1920);
        f.cue(40 * MS, 1000.0, 300.0, 1920);
        assert_eq!(f.plan(80 * MS, &t), Plan::Full);
    }

    #[test]
    fn full_every_one_turns_focusing_off() {
        let t = tiling();
        let mut f = Focus::new(
            FocusSettings {
                full_every: 1,
                ..Default::default()
            },
            0,
        );
        for k in 0..4 {
            let p = f.plan(k * 40 * MS, &t);
            assert_eq!(p, Plan::Full);
            f.observe(k * 40 * MS, &p, &[ball(900.0, 300.0, 0.9)], 1920);
        }
    }
}
