//! The operator's desk: the camera mode, whether recording and streaming run, and the match
//! schedule, as launch keeps them. Pure logic with Unix time (ns) passed in; `run` publishes
//! [`Desk::state`] to capture and the director on every change and once a second.
//!
//! Recording follows the schedule at its edges: at a match's start minus pre-roll it
//! switches on, at its end off. Between edges an operator's start or stop holds until the
//! next edge. With no match scheduled, recording runs from start (as without a schedule).

use serde::{Deserialize, Serialize};
use shared::messages::{CameraMode, OperatorState};
use shared::schedule::{format_time, parse_time, Match, Schedule, ScheduleError, NS_PER_S};

/// What an operator asks for (the HTTP API's and `launch camera|recording|schedule`'s
/// body).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum OperatorCommand {
    /// Read the desk, change nothing.
    Show,
    Camera {
        #[serde(flatten)]
        camera: CameraMode,
    },
    Recording {
        on: bool,
    },
    /// A match to schedule.
    ScheduleAdd(MatchRequest),
    /// Removes the match that starts at `start` (RFC 3339).
    ScheduleRemove {
        start: String,
    },
}

/// A match as an operator asks for it (`POST /api/schedule`, `launch schedule add`):
/// `start` (RFC 3339) or `start_in_s` (from now), duration and pre-roll in seconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchRequest {
    #[serde(default)]
    pub start: Option<String>,
    #[serde(default)]
    pub start_in_s: Option<f64>,
    pub duration_s: f64,
    #[serde(default)]
    pub preroll_s: f64,
}

/// One match as the page shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MatchView {
    pub start: String,
    pub start_unix_ns: i64,
    pub duration_s: f64,
    pub preroll_s: f64,
    /// When recording starts and stops for it.
    pub record_from: String,
    pub record_until: String,
    pub record_from_unix_ns: i64,
    pub record_until_unix_ns: i64,
}

impl MatchView {
    fn of(m: &Match) -> MatchView {
        MatchView {
            start: format_time(m.start_unix_ns),
            start_unix_ns: m.start_unix_ns,
            duration_s: m.duration_ns as f64 / NS_PER_S as f64,
            preroll_s: m.preroll_ns as f64 / NS_PER_S as f64,
            record_from: format_time(m.record_from()),
            record_until: format_time(m.record_until()),
            record_from_unix_ns: m.record_from(),
            record_until_unix_ns: m.record_until(),
        }
    }
}

/// The desk as the page and `launch status` show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DeskView {
    pub camera: CameraMode,
    /// Whether launch wants recording and streaming on (capture carries it out; its
    /// `playout.recording` says when).
    pub record: bool,
    pub changed: String,
    /// The match being recorded, else the next one.
    pub next_match: Option<MatchView>,
    pub matches: Vec<MatchView>,
}

/// A command refused; nothing changed.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DeskError {
    #[error(transparent)]
    Schedule(#[from] ScheduleError),
    #[error("give `start` (RFC 3339) or `start_in_s`, not both and not neither")]
    StartMissing,
    #[error("{0}")]
    Camera(String),
}

#[derive(Debug, Clone)]
pub struct Desk {
    state: OperatorState,
    schedule: Schedule,
}

impl Desk {
    /// The desk at start: auto camera, recording as the schedule wants now (on without one).
    pub fn new(schedule: Schedule, now: i64) -> Desk {
        Desk {
            state: OperatorState {
                seq: 1,
                camera: CameraMode::Auto,
                record: schedule.wants_recording(now).unwrap_or(true),
                changed_unix_ns: now.max(0) as u64,
            },
            schedule,
        }
    }

    pub fn state(&self) -> OperatorState {
        self.state
    }

    fn changed(&mut self, now: i64) {
        self.state.seq += 1;
        self.state.changed_unix_ns = now.max(0) as u64;
    }

    /// Carries out a command at `now`; returns whether the published state changed.
    /// `check_camera` refuses a camera mode (a manual pose outside the panorama).
    pub fn apply(
        &mut self,
        cmd: &OperatorCommand,
        now: i64,
        check_camera: impl Fn(&CameraMode) -> Result<(), String>,
    ) -> Result<bool, DeskError> {
        match cmd {
            OperatorCommand::Show => Ok(false),
            OperatorCommand::Camera { camera } => {
                check_camera(camera).map_err(DeskError::Camera)?;
                if self.state.camera == *camera {
                    return Ok(false);
                }
                self.state.camera = *camera;
                self.changed(now);
                Ok(true)
            }
            OperatorCommand::Recording { on } => Ok(self.set_record(*on, now)),
            OperatorCommand::ScheduleAdd(MatchRequest {
                start,
                start_in_s,
                duration_s,
                preroll_s,
            }) => {
                let start = match (start, start_in_s) {
                    (Some(s), None) => parse_time(s)?,
                    (None, Some(s)) if s.is_finite() && *s >= 0.0 => {
                        now + (s * NS_PER_S as f64).round() as i64
                    }
                    (None, Some(_)) => {
                        return Err(DeskError::Schedule(ScheduleError::BadLength {
                            key: "start_in_s",
                            value: start_in_s.unwrap_or(f64::NAN),
                            max_h: 24,
                        }))
                    }
                    _ => return Err(DeskError::StartMissing),
                };
                let m = Match::new(start, *duration_s, *preroll_s, now)?;
                self.schedule.add(m);
                // A match that is already under way records from now.
                Ok(m.covers(now) && self.set_record(true, now))
            }
            OperatorCommand::ScheduleRemove { start } => {
                let m = self.schedule.remove(parse_time(start)?)?;
                Ok(m.covers(now) && self.set_record(false, now))
            }
        }
    }

    fn set_record(&mut self, on: bool, now: i64) -> bool {
        if self.state.record == on {
            return false;
        }
        self.state.record = on;
        self.changed(now);
        true
    }

    /// When the schedule next wants a change (launch wakes then).
    pub fn next_edge(&self, now: i64) -> Option<i64> {
        self.schedule.next_change(now)
    }

    /// Applies the schedule's edge if `now` is at or past it (`edge` from
    /// [`next_edge`](Self::next_edge)); returns whether the state changed.
    pub fn at_edge(&mut self, edge: i64, now: i64) -> bool {
        if now < edge {
            return false;
        }
        let wants = self.schedule.wants_recording(edge).unwrap_or(true);
        self.schedule.prune(now);
        self.set_record(wants, now)
    }

    pub fn view(&self, now: i64) -> DeskView {
        DeskView {
            camera: self.state.camera,
            record: self.state.record,
            changed: format_time(self.state.changed_unix_ns as i64),
            next_match: self.schedule.current_or_next(now).map(MatchView::of),
            matches: self.schedule.matches().iter().map(MatchView::of).collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = NS_PER_S;
    const T0: i64 = 1_800_000_000 * S;

    fn ok(_: &CameraMode) -> Result<(), String> {
        Ok(())
    }

    fn add(d: &mut Desk, in_s: f64, dur: f64, pre: f64, now: i64) -> Result<bool, DeskError> {
        d.apply(
            &OperatorCommand::ScheduleAdd(MatchRequest {
                start: None,
                start_in_s: Some(in_s),
                duration_s: dur,
                preroll_s: pre,
            }),
            now,
            ok,
        )
    }

    #[test]
    fn without_a_schedule_recording_runs_and_the_operator_switches_it() {
        let mut d = Desk::new(Schedule::default(), T0);
        assert!(d.state().record);
        assert!(d
            .apply(&OperatorCommand::Recording { on: false }, T0, ok)
            .unwrap());
        assert!(!d.state().record);
        assert!(!d
            .apply(&OperatorCommand::Recording { on: false }, T0, ok)
            .unwrap());
        assert_eq!(d.state().seq, 2);
    }

    #[test]
    fn a_scheduled_match_switches_at_its_edges() {
        let mut d = Desk::new(Schedule::default(), T0);
        d.apply(&OperatorCommand::Recording { on: false }, T0, ok)
            .unwrap();
        assert!(!add(&mut d, 20.0, 10.0, 5.0, T0).unwrap());
        let on_at = d.next_edge(T0).unwrap();
        assert_eq!(on_at, T0 + 15 * S);
        assert!(!d.at_edge(on_at, on_at - 1));
        assert!(d.at_edge(on_at, on_at));
        assert!(d.state().record);
        let off_at = d.next_edge(on_at).unwrap();
        assert_eq!(off_at, T0 + 30 * S);
        // The operator stops it in between: it stays off; the end edge changes nothing.
        d.apply(&OperatorCommand::Recording { on: false }, T0 + 20 * S, ok)
            .unwrap();
        assert!(!d.at_edge(off_at, off_at));
        assert_eq!(d.next_edge(off_at), None);
        assert_eq!(d.view(off_at).next_match, None);
    }

    #[test]
    fn bad_commands_change_nothing() {
        let mut d = Desk::new(Schedule::default(), T0);
        let before = d.state();
        assert!(matches!(
            add(&mut d, -5.0, 10.0, 0.0, T0),
            Err(DeskError::Schedule(_))
        ));
        let past = OperatorCommand::ScheduleAdd(MatchRequest {
            start: Some("2020-01-01T00:00:00Z".into()),
            start_in_s: None,
            duration_s: 60.0,
            preroll_s: 0.0,
        });
        let e = d.apply(&past, T0, ok).unwrap_err().to_string();
        assert!(e.contains("past"), "{e}");
        let both = OperatorCommand::ScheduleAdd(MatchRequest {
            start: Some("2030-01-01T00:00:00Z".into()),
            start_in_s: Some(1.0),
            duration_s: 60.0,
            preroll_s: 0.0,
        });
        assert_eq!(d.apply(&both, T0, ok), Err(DeskError::StartMissing));
        let refuse = |_: &CameraMode| Err("yaw 170 is outside".to_string());
        let e = d
            .apply(
                &OperatorCommand::Camera {
                    camera: CameraMode::Wide,
                },
                T0,
                refuse,
            )
            .unwrap_err();
        assert!(e.to_string().contains("yaw"));
        assert_eq!(d.state(), before);
        assert!(d.view(T0).matches.is_empty());
    }

    #[test]
    fn a_match_under_way_records_at_once_and_removing_it_stops() {
        let mut d = Desk::new(
            Schedule::new(vec![Match::new(T0 + 3600 * S, 60.0, 0.0, T0).unwrap()]),
            T0,
        );
        assert!(!d.state().record, "outside the only match");
        assert!(add(&mut d, 0.0, 60.0, 0.0, T0).unwrap());
        assert!(d.state().record);
        let start = d.view(T0).matches[0].start.clone();
        assert!(d
            .apply(&OperatorCommand::ScheduleRemove { start }, T0 + S, ok)
            .unwrap());
        assert!(!d.state().record);
        assert_eq!(d.view(T0).next_match.unwrap().start_unix_ns, T0 + 3600 * S);
    }

    #[test]
    fn a_match_request_reads_the_same_from_the_page_and_the_control_socket() {
        let body = r#"{"start_in_s": 20, "duration_s": 10, "preroll_s": 5}"#;
        let m: MatchRequest = serde_json::from_str(body).unwrap();
        let cmd = OperatorCommand::ScheduleAdd(m.clone());
        let wire = serde_json::to_string(&cmd).unwrap();
        assert_eq!(serde_json::from_str::<OperatorCommand>(&wire).unwrap(), cmd);
        assert!(serde_json::from_str::<MatchRequest>(r#"{"duration_s": 10, "extra": 1}"#).is_err());
    }

    #[test]
    fn commands_read_as_json() {
        let c: OperatorCommand = serde_json::from_str(
            r#"{"action":"camera","mode":"manual","yaw":1,"pitch":-5,"fov":30}"#,
        )
        .unwrap();
        assert_eq!(
            c,
            OperatorCommand::Camera {
                camera: CameraMode::Manual {
                    yaw: 1.0,
                    pitch: -5.0,
                    fov: 30.0
                }
            }
        );
        assert!(serde_json::from_str::<OperatorCommand>(
            r#"{"action":"camera","mode":"sideways"}"#
        )
        .is_err());
    }
}
