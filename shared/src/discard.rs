//! One vocabulary for what a process throws away. Every discard has a *stage* (where it
//! happened: `pub`, `ingest`, `ring`, `frames`, `gate_score`, ...) and a [`Reason`] from one
//! short list, and is counted. Each process builds its [`Discards`] from its counters; the
//! table goes out with every heartbeat as `discarded_<stage>_<reason>_total` and
//! `discarded_total` (launch's `/metrics`), into the process's summary line, and
//! [`DiscardLog`] turns every increase into one `Discarded.` event with the stage, the reason
//! and the count: a warning for a loss (at most one per stage and reason every
//! `warn_every`, carrying everything since the last), a debug line for a rule's decision.

use crate::transport::CounterSnapshot;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Why something was discarded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    /// A bounded queue, channel or ring was full.
    QueueFull,
    /// No free buffer in a pool.
    NoBuffer,
    /// Did not decode, or carried impossible values.
    Malformed,
    /// Over a size limit.
    TooLarge,
    /// Came after something newer.
    OutOfOrder,
    /// Came too late to be of use.
    TooLate,
    /// A copy of something already taken (a repeated frame time, overlapping boxes).
    Duplicate,
    /// A newer one took its place (a leaky hand-off).
    Superseded,
    /// Beyond a cap per frame.
    OverCap,
    /// Refused by a rule of the stage (a gate, a limit, a plausibility check).
    Rejected,
}

impl Reason {
    /// The name in metrics and events.
    pub fn name(self) -> &'static str {
        match self {
            Reason::QueueFull => "queue_full",
            Reason::NoBuffer => "no_buffer",
            Reason::Malformed => "malformed",
            Reason::TooLarge => "too_large",
            Reason::OutOfOrder => "out_of_order",
            Reason::TooLate => "too_late",
            Reason::Duplicate => "duplicate",
            Reason::Superseded => "superseded",
            Reason::OverCap => "over_cap",
            Reason::Rejected => "rejected",
        }
    }

    /// Whether it loses something the system meant to keep (logged as a warning), rather
    /// than carrying out a rule (logged at debug level).
    pub fn is_loss(self) -> bool {
        matches!(
            self,
            Reason::QueueFull
                | Reason::NoBuffer
                | Reason::Malformed
                | Reason::TooLarge
                | Reason::OutOfOrder
                | Reason::TooLate
        )
    }
}

/// Totals of a process's discards by stage and reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discards {
    counts: BTreeMap<(String, Reason), u64>,
}

impl Discards {
    /// Adds `count` to the stage and reason (an entry of 0 is kept: the series exists).
    pub fn add(&mut self, stage: &str, reason: Reason, count: u64) -> &mut Self {
        *self.counts.entry((stage.to_string(), reason)).or_default() += count;
        self
    }

    pub fn get(&self, stage: &str, reason: Reason) -> u64 {
        self.counts
            .get(&(stage.to_string(), reason))
            .copied()
            .unwrap_or(0)
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// Of which losses ([`Reason::is_loss`]).
    pub fn lost(&self) -> u64 {
        self.counts
            .iter()
            .filter(|((_, r), _)| r.is_loss())
            .map(|(_, n)| n)
            .sum()
    }

    /// Heartbeat metrics: `discarded_<stage>_<reason>_total` for every entry, and
    /// `discarded_total`.
    pub fn metrics(&self) -> Vec<(String, f64)> {
        let mut m: Vec<(String, f64)> = self
            .counts
            .iter()
            .map(|((stage, reason), n)| {
                (
                    format!("discarded_{stage}_{}_total", reason.name()),
                    *n as f64,
                )
            })
            .collect();
        m.push(("discarded_total".to_string(), self.total() as f64));
        m
    }

    /// A socket's losses under `stage`: its queue or channel full (`dropped`), messages over
    /// the size limit (`encode_errors`) and messages that did not decode (`decode_errors`).
    pub fn add_socket(&mut self, stage: &str, c: &CounterSnapshot) -> &mut Self {
        self.add(stage, Reason::QueueFull, c.dropped)
            .add(stage, Reason::TooLarge, c.encode_errors)
            .add(stage, Reason::Malformed, c.decode_errors)
    }

    /// `stage.reason=count` for every entry above zero, or `none`: for summary lines.
    pub fn summary(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|((stage, reason), n)| format!("{stage}.{}={n}", reason.name()))
            .collect();
        if parts.is_empty() {
            "none".to_string()
        } else {
            parts.join(" ")
        }
    }
}

/// One `Discarded.` event: what was thrown away since the last event of its stage and reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discarded {
    pub stage: String,
    pub reason: Reason,
    pub count: u64,
}

#[derive(Debug, Clone, Copy, Default)]
struct Reported {
    total: u64,
    warned_at: Option<Instant>,
}

/// Turns increases of a [`Discards`] table into `Discarded.` events.
#[derive(Debug, Clone)]
pub struct DiscardLog {
    warn_every: Duration,
    reported: BTreeMap<(String, Reason), Reported>,
}

impl DiscardLog {
    /// Losses are warned at most once per stage and reason every `warn_every`.
    pub fn new(warn_every: Duration) -> DiscardLog {
        DiscardLog {
            warn_every,
            reported: BTreeMap::new(),
        }
    }

    /// The events for what `current` holds beyond the last report, at `now`; each is also
    /// logged. A loss held back by the warning interval comes with the next event. A total
    /// that went down (its counters were reset) starts again from there.
    pub fn update(&mut self, now: Instant, current: &Discards) -> Vec<Discarded> {
        let mut events = Vec::new();
        for ((stage, reason), &total) in &current.counts {
            let r = self.reported.entry((stage.clone(), *reason)).or_default();
            if total < r.total {
                r.total = total;
            }
            let count = total - r.total;
            if count == 0 {
                continue;
            }
            if reason.is_loss() {
                if r.warned_at
                    .is_some_and(|t| now.saturating_duration_since(t) < self.warn_every)
                {
                    continue;
                }
                r.warned_at = Some(now);
                tracing::warn!(message = "Discarded.", stage = %stage, reason = reason.name(), count, total);
            } else {
                tracing::debug!(message = "Discarded.", stage = %stage, reason = reason.name(), count, total);
            }
            r.total = total;
            events.push(Discarded {
                stage: stage.clone(),
                reason: *reason,
                count,
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, Reason, u64)]) -> Discards {
        let mut d = Discards::default();
        for (s, r, n) in entries {
            d.add(s, *r, *n);
        }
        d
    }

    #[test]
    fn metrics_name_stage_and_reason_and_sum_them() {
        let d = table(&[
            ("pub", Reason::QueueFull, 3),
            ("gate_score", Reason::Rejected, 5),
            ("ring", Reason::QueueFull, 0),
        ]);
        let m: BTreeMap<String, f64> = d.metrics().into_iter().collect();
        assert_eq!(m["discarded_pub_queue_full_total"], 3.0);
        assert_eq!(m["discarded_gate_score_rejected_total"], 5.0);
        assert_eq!(
            m["discarded_ring_queue_full_total"], 0.0,
            "a zero series exists"
        );
        assert_eq!(m["discarded_total"], 8.0);
        assert_eq!(d.lost(), 3);
        assert_eq!(d.summary(), "gate_score.rejected=5 pub.queue_full=3");
        assert_eq!(Discards::default().summary(), "none");
    }

    #[test]
    fn adding_twice_accumulates() {
        let mut d = Discards::default();
        d.add("ingest", Reason::QueueFull, 2)
            .add("ingest", Reason::QueueFull, 3);
        assert_eq!(d.get("ingest", Reason::QueueFull), 5);
        assert_eq!(d.get("ingest", Reason::NoBuffer), 0);
    }

    #[test]
    fn each_increase_is_one_event_with_its_count() {
        let t0 = Instant::now();
        let mut log = DiscardLog::new(Duration::from_secs(10));
        assert!(log
            .update(t0, &table(&[("pub", Reason::QueueFull, 0)]))
            .is_empty());
        let e = log.update(t0, &table(&[("pub", Reason::QueueFull, 4)]));
        assert_eq!(
            e,
            vec![Discarded {
                stage: "pub".into(),
                reason: Reason::QueueFull,
                count: 4
            }]
        );
        assert!(log
            .update(t0, &table(&[("pub", Reason::QueueFull, 4)]))
            .is_empty());
    }

    #[test]
    fn losses_are_held_back_by_the_interval_and_then_carry_everything_since() {
        let t0 = Instant::now();
        let mut log = DiscardLog::new(Duration::from_secs(10));
        assert_eq!(
            log.update(t0, &table(&[("ring", Reason::QueueFull, 1)]))[0].count,
            1
        );
        let soon = t0 + Duration::from_secs(3);
        assert!(log
            .update(soon, &table(&[("ring", Reason::QueueFull, 5)]))
            .is_empty());
        let later = t0 + Duration::from_secs(10);
        assert_eq!(
            log.update(later, &table(&[("ring", Reason::QueueFull, 9)]))[0].count,
            8
        );
    }

    #[test]
    fn decisions_are_not_held_back() {
        let t0 = Instant::now();
        let mut log = DiscardLog::new(Duration::from_secs(10));
        for total in [1, 2, 3] {
            let e = log.update(t0, &table(&[("gate_aspect", Reason::Rejected, total)]));
            assert_eq!(e.len(), 1);
            assert_eq!(e[0].count, 1);
        }
    }

    #[test]
    fn a_reset_counter_starts_again() {
        let t0 = Instant::now();
        let mut log = DiscardLog::new(Duration::ZERO);
        log.update(t0, &table(&[("frames", Reason::Duplicate, 7)]));
        assert!(log
            .update(t0, &table(&[("frames", Reason::Duplicate, 2)]))
            .is_empty());
        assert_eq!(
            log.update(t0, &table(&[("frames", Reason::Duplicate, 3)]))[0].count,
            1
        );
    }
}
