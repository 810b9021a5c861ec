//! The look-ahead window: recent ball and players observations keyed by frame time, already
//! turned into view angles, with counters for everything refused.

use crate::rig::Rig;
use serde::Serialize;
use shared::messages::{TrackStatus, Tracks};
use std::collections::BTreeMap;

/// Ball positions further than this off the pitch are refused as implausible, metres.
const OFF_PITCH_M: f64 = 15.0;
/// Highest plausible ball, metres.
const MAX_HEIGHT_M: f64 = 60.0;

/// A usable ball observation.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BallObs {
    pub lon: f64,
    pub lat: f64,
    /// Distance from the rig, metres.
    pub dist_m: f64,
    /// True when the analyzer predicted rather than measured it.
    pub predicted: bool,
}

/// A usable players' summary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PlayersObs {
    pub lon: f64,
    pub lat: f64,
    pub dist_m: f64,
    pub spread_x_m: f64,
}

/// What happened to incoming tracks (never reset; the live node logs them).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct WindowCounters {
    /// Tracks messages taken into the window.
    pub accepted: u64,
    /// Tracks for a frame time already in the window (e.g. a snapshot overlapping live
    /// tracks); the first one is kept.
    pub duplicates: u64,
    /// Tracks older than the oldest frame still needed.
    pub too_old: u64,
    /// Ball states with non-finite numbers or off the pitch by more than 15 m.
    pub implausible_ball: u64,
    /// Ball states below `director.min_confidence` or with status `lost`.
    pub unusable_ball: u64,
    /// Players' summaries with non-finite numbers or no players.
    pub unusable_players: u64,
}

/// Observations of the window, oldest first.
#[derive(Debug, Default, Clone)]
pub struct TrackWindow {
    seen: BTreeMap<u64, ()>,
    ball: BTreeMap<u64, BallObs>,
    players: BTreeMap<u64, PlayersObs>,
    /// Frames before this time are gone (pruned); later arrivals for them are refused.
    horizon_pts: u64,
    counters: WindowCounters,
}

impl TrackWindow {
    /// Takes one analyzer message.
    pub fn push(&mut self, t: &Tracks, rig: &Rig, min_confidence: f64) {
        if t.pts_ns < self.horizon_pts {
            self.counters.too_old += 1;
            return;
        }
        if self.seen.insert(t.pts_ns, ()).is_some() {
            self.counters.duplicates += 1;
            return;
        }
        self.counters.accepted += 1;
        if let Some(b) = &t.ball {
            let (x, y, z) = (b.x_m as f64, b.y_m as f64, b.z_m as f64);
            let pitch = &rig.cal.pitch;
            let plausible = x.is_finite()
                && y.is_finite()
                && z.is_finite()
                && b.confidence.is_finite()
                && pitch.contains(x, y, OFF_PITCH_M)
                && (-1.0..=MAX_HEIGHT_M).contains(&z);
            if !plausible {
                self.counters.implausible_ball += 1;
            } else if b.status == TrackStatus::Lost || (b.confidence as f64) < min_confidence {
                self.counters.unusable_ball += 1;
            } else {
                let (lon, lat) = rig.lonlat(x, y, z.max(0.0));
                self.ball.insert(
                    t.pts_ns,
                    BallObs {
                        lon,
                        lat,
                        dist_m: rig.distance(x, y, z.max(0.0)),
                        predicted: b.status == TrackStatus::Predicted,
                    },
                );
            }
        }
        if let Some(p) = &t.players {
            let (x, y) = (p.cx_m as f64, p.cy_m as f64);
            let ok = p.count > 0
                && x.is_finite()
                && y.is_finite()
                && p.spread_x_m.is_finite()
                && rig.cal.pitch.contains(x, y, OFF_PITCH_M);
            if ok {
                let (lon, lat) = rig.lonlat(x, y, 0.0);
                self.players.insert(
                    t.pts_ns,
                    PlayersObs {
                        lon,
                        lat,
                        dist_m: rig.distance(x, y, 0.0),
                        spread_x_m: (p.spread_x_m as f64).clamp(0.0, 200.0),
                    },
                );
            } else {
                self.counters.unusable_players += 1;
            }
        }
    }

    /// Forgets everything before `pts` and refuses later arrivals for it.
    pub fn prune_before(&mut self, pts: u64) {
        if pts <= self.horizon_pts {
            return;
        }
        self.horizon_pts = pts;
        self.seen = self.seen.split_off(&pts);
        self.ball = self.ball.split_off(&pts);
        self.players = self.players.split_off(&pts);
    }

    /// Ball observations with `from <= pts <= to`.
    pub fn balls(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &BallObs)> {
        // An empty range when `from > to` (BTreeMap::range would panic).
        (from <= to)
            .then(|| self.ball.range(from..=to))
            .into_iter()
            .flatten()
            .map(|(k, v)| (*k, v))
    }

    /// Players' summaries with `from <= pts <= to`.
    pub fn players(&self, from: u64, to: u64) -> impl Iterator<Item = (u64, &PlayersObs)> {
        (from <= to)
            .then(|| self.players.range(from..=to))
            .into_iter()
            .flatten()
            .map(|(k, v)| (*k, v))
    }

    /// Newest frame time of any accepted message.
    pub fn latest_pts(&self) -> Option<u64> {
        self.seen.keys().next_back().copied()
    }

    /// Oldest frame time still held.
    pub fn oldest_pts(&self) -> Option<u64> {
        self.seen.keys().next().copied()
    }

    pub fn counters(&self) -> WindowCounters {
        self.counters
    }

    pub fn is_empty(&self) -> bool {
        self.seen.is_empty()
    }
}
