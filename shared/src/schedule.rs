//! The match schedule: when recording and streaming run unattended. Pure logic with the time
//! passed in (Unix nanoseconds), shared by launch (which switches) and capture (which starts
//! in the state the schedule wants).
//!
//! A match records from `start - preroll` to `start + duration`. Outside every match, with
//! at least one match scheduled (past or future), recording is off; with no match at all,
//! recording is on from start to stop, as without a schedule.

use serde::{Deserialize, Serialize};
use thiserror::Error;

pub const NS_PER_S: i64 = 1_000_000_000;

/// One scheduled match.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Match {
    /// Kick-off, Unix time in nanoseconds.
    pub start_unix_ns: i64,
    /// Length of the match, nanoseconds.
    pub duration_ns: i64,
    /// Recording starts this long before kick-off, nanoseconds.
    pub preroll_ns: i64,
}

impl Match {
    /// When recording starts.
    pub fn record_from(&self) -> i64 {
        self.start_unix_ns - self.preroll_ns
    }

    /// When recording stops.
    pub fn record_until(&self) -> i64 {
        self.start_unix_ns + self.duration_ns
    }

    /// Whether `now` is inside the recording window.
    pub fn covers(&self, now: i64) -> bool {
        (self.record_from()..self.record_until()).contains(&now)
    }
}

#[derive(Debug, Error, PartialEq)]
pub enum ScheduleError {
    #[error("the match ends in the past ({ends}); schedule a match that has not ended yet")]
    InThePast { ends: String },
    #[error("`{key}` must be positive and at most {max_h} hours, got {value} s")]
    BadLength {
        key: &'static str,
        value: f64,
        max_h: i64,
    },
    #[error("`start` {value:?} is not a date and time: {reason} (write it like 2026-12-06T15:00:00+01:00)")]
    BadTime { value: String, reason: String },
    #[error("no match scheduled at {0}")]
    NotFound(String),
}

/// Longest match or pre-roll accepted, hours.
const MAX_HOURS: i64 = 24;

/// Parses an RFC 3339 date and time (with its offset) into Unix nanoseconds.
pub fn parse_time(value: &str) -> Result<i64, ScheduleError> {
    chrono::DateTime::parse_from_rfc3339(value.trim())
        .map_err(|e| ScheduleError::BadTime {
            value: value.into(),
            reason: e.to_string(),
        })
        .and_then(|t| {
            t.timestamp_nanos_opt().ok_or(ScheduleError::BadTime {
                value: value.into(),
                reason: "out of range".into(),
            })
        })
}

/// Unix nanoseconds as an RFC 3339 UTC time, for people.
pub fn format_time(unix_ns: i64) -> String {
    chrono::DateTime::from_timestamp_nanos(unix_ns)
        .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

impl Match {
    /// A match from its parts in seconds, checked: lengths in range, not over at `now`.
    pub fn new(
        start_unix_ns: i64,
        duration_s: f64,
        preroll_s: f64,
        now: i64,
    ) -> Result<Match, ScheduleError> {
        let ns = |key: &'static str, v: f64, zero_ok: bool| {
            let ok = v.is_finite()
                && (v > 0.0 || (zero_ok && v == 0.0))
                && v <= (MAX_HOURS * 3600) as f64;
            if ok {
                Ok((v * NS_PER_S as f64).round() as i64)
            } else {
                Err(ScheduleError::BadLength {
                    key,
                    value: v,
                    max_h: MAX_HOURS,
                })
            }
        };
        let m = Match {
            start_unix_ns,
            duration_ns: ns("duration_s", duration_s, false)?,
            preroll_ns: ns("preroll_s", preroll_s, true)?,
        };
        if m.record_until() <= now {
            return Err(ScheduleError::InThePast {
                ends: format_time(m.record_until()),
            });
        }
        Ok(m)
    }
}

/// Every scheduled match, in start order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Schedule {
    matches: Vec<Match>,
}

impl Schedule {
    pub fn new(mut matches: Vec<Match>) -> Schedule {
        matches.sort_by_key(|m| m.record_from());
        Schedule { matches }
    }

    pub fn matches(&self) -> &[Match] {
        &self.matches
    }

    pub fn is_empty(&self) -> bool {
        self.matches.is_empty()
    }

    pub fn add(&mut self, m: Match) {
        self.matches.push(m);
        self.matches.sort_by_key(|m| m.record_from());
    }

    /// Removes the match that starts at `start_unix_ns`.
    pub fn remove(&mut self, start_unix_ns: i64) -> Result<Match, ScheduleError> {
        let i = self
            .matches
            .iter()
            .position(|m| m.start_unix_ns == start_unix_ns)
            .ok_or_else(|| ScheduleError::NotFound(format_time(start_unix_ns)))?;
        Ok(self.matches.remove(i))
    }

    /// Forgets matches that ended before `now`.
    pub fn prune(&mut self, now: i64) {
        self.matches.retain(|m| m.record_until() > now);
    }

    /// Whether the schedule wants recording at `now`; `None` with no match at all (the
    /// schedule has no opinion).
    pub fn wants_recording(&self, now: i64) -> Option<bool> {
        if self.matches.is_empty() {
            return None;
        }
        Some(self.matches.iter().any(|m| m.covers(now)))
    }

    /// The first time after `now` at which [`wants_recording`](Self::wants_recording) may
    /// change.
    pub fn next_change(&self, now: i64) -> Option<i64> {
        self.matches
            .iter()
            .flat_map(|m| [m.record_from(), m.record_until()])
            .filter(|&t| t > now)
            .min()
    }

    /// The match being recorded at `now`, else the next one.
    pub fn current_or_next(&self, now: i64) -> Option<&Match> {
        self.matches.iter().find(|m| m.record_until() > now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NS_PER_S;

    fn m(start_s: i64, duration_s: f64, preroll_s: f64) -> Match {
        Match::new(start_s * S, duration_s, preroll_s, 0).unwrap()
    }

    #[test]
    fn a_match_records_from_preroll_to_its_end() {
        let s = Schedule::new(vec![m(100, 60.0, 10.0)]);
        assert_eq!(s.wants_recording(89 * S), Some(false));
        assert_eq!(s.wants_recording(90 * S), Some(true));
        assert_eq!(s.wants_recording(159 * S), Some(true));
        assert_eq!(s.wants_recording(160 * S), Some(false));
        assert_eq!(s.next_change(0), Some(90 * S));
        assert_eq!(s.next_change(90 * S), Some(160 * S));
        assert_eq!(s.next_change(160 * S), None);
    }

    #[test]
    fn no_match_means_no_opinion() {
        let s = Schedule::default();
        assert_eq!(s.wants_recording(0), None);
        assert_eq!(s.next_change(0), None);
    }

    #[test]
    fn matches_are_kept_in_order_and_the_next_one_is_found() {
        let mut s = Schedule::new(vec![m(1000, 60.0, 0.0)]);
        s.add(m(100, 60.0, 5.0));
        assert_eq!(s.matches()[0].start_unix_ns, 100 * S);
        assert_eq!(s.current_or_next(0).unwrap().start_unix_ns, 100 * S);
        assert_eq!(s.current_or_next(200 * S).unwrap().start_unix_ns, 1000 * S);
        s.prune(200 * S);
        assert_eq!(s.matches().len(), 1);
        assert_eq!(s.remove(1000 * S).unwrap().duration_ns, 60 * S);
        assert!(matches!(s.remove(S), Err(ScheduleError::NotFound(_))));
    }

    #[test]
    fn bad_matches_are_refused_with_the_reason() {
        assert!(matches!(
            Match::new(10 * S, 60.0, 0.0, 100 * S),
            Err(ScheduleError::InThePast { .. })
        ));
        for (d, p) in [
            (0.0, 0.0),
            (-1.0, 0.0),
            (f64::NAN, 0.0),
            (60.0, -1.0),
            (1e9, 0.0),
        ] {
            assert!(
                matches!(
                    Match::new(100 * S, d, p, 0),
                    Err(ScheduleError::BadLength { .. })
                ),
                "{d} {p}"
            );
        }
        // A match under way is still accepted.
        assert!(Match::new(10 * S, 60.0, 0.0, 20 * S).is_ok());
    }

    #[test]
    fn times_are_rfc3339_with_an_offset() {
        let t = parse_time("2026-12-06T15:00:00+01:00").unwrap();
        assert_eq!(t, parse_time("2026-12-06T14:00:00Z").unwrap());
        assert_eq!(format_time(t), "2026-12-06T14:00:00.000Z");
        let e = parse_time("tomorrow 3pm").unwrap_err().to_string();
        assert!(e.contains("2026-12-06T15:00:00+01:00"), "{e}");
    }
}
