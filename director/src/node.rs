//! Live mode: the director node actor. It owns the sockets, feeds the planner with the
//! analyzer's tracks and capture's playout status, replans on a timer and publishes paths.
//!
//! Start and restart recovery (GUIDE section 4, the zguide "Clone" pattern):
//! 1. subscribe to capture and the analyzer first (tracks arriving from now on are kept);
//! 2. ask capture's REP for the current playout position, in a spawned task; a
//!    `PlayoutStatus` on capture's PUB answers too. If neither comes within
//!    `director.playout_wait_ms`, assume playout is `playout.delay_s` behind the newest
//!    track (logged);
//! 3. ask the analyzer's REP for the tracks since `playout - snapshot_history_s`, in a
//!    spawned task (Lazy Pirate with timeouts: never blocks the actor);
//! 4. continue the plan the previous run saved in the runtime directory
//!    ([`crate::checkpoint`]) when it covers the frame being shown; otherwise rebuild the
//!    path it was following by replaying the snapshot's tracks through the planner on the
//!    replan grid; then replan the unshown range and publish.
//!
//! The actor never awaits the network: requests run as spawned futures whose results come
//! back as actor messages.

use crate::checkpoint::{self, Checkpoint};
use crate::planner::Planner;
use crate::playout_clock::PlayoutClock;
use crate::rig::Rig;
use actix::prelude::*;
use anyhow::{Context as _, Result};
use shared::config::SystemConfig;
use shared::discard::{DiscardLog, Discards, Reason};
use shared::messages::{Message, PlayoutStatus, SnapshotKind, SnapshotRequest, Tracks};
use shared::peers::PeerTable;
use shared::shutdown::Shutdown;
use shared::time::{Clock, MonotonicClock, NS_PER_MS, NS_PER_SEC};
use shared::transport::{Publisher, Received, Sockets, SubscriberGuard};
use std::time::{Duration, Instant};
use tokio_stream::wrappers::ReceiverStream;

/// Where the start/restart recovery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Waiting for capture's playout position (REP reply or first status) since a local time.
    WaitingPlayout { since_ns: u64 },
    /// Waiting for the analyzer's snapshot of recent tracks.
    WaitingSnapshot,
    /// Planning and publishing.
    Running,
}

/// Counters of the live node (the planner and window count the rest).
#[derive(Debug, Clone, Copy, Default, serde::Serialize)]
pub struct NodeCounters {
    pub paths_published: u64,
    pub paths_refused: u64,
    pub playout_requests_failed: u64,
    pub snapshot_requests_failed: u64,
    pub snapshot_tracks: u64,
    pub assumed_playout: u64,
    pub checkpoint_writes: u64,
    pub checkpoint_errors: u64,
    /// Operator camera modes taken, and refused (a manual pose outside the panorama).
    pub operator_changes: u64,
    pub operator_refused: u64,
}

/// A saved plan older than this is not taken over, ns.
const CHECKPOINT_MAX_AGE_NS: u64 = 60 * NS_PER_SEC;

/// Control-plane state of the director.
pub struct DirectorNode {
    cfg: SystemConfig,
    /// Camera path publisher, connected to capture's bound subscriber.
    publisher: Publisher,
    /// Keeps the subscriptions to capture and the analyzer open.
    _inputs: SubscriberGuard,
    peers: PeerTable,
    clock: MonotonicClock,
    planner: Planner,
    playout: PlayoutClock,
    recovery: Recovery,
    counters: NodeCounters,
    /// Where the plan is saved for a restarted run (runtime directory).
    checkpoint_path: std::path::PathBuf,
    last_checkpoint_ns: Option<u64>,
    discard_log: DiscardLog,
}

/// Capture's answer to the playout request.
#[derive(Message)]
#[rtype(result = "()")]
struct PlayoutAnswer(Result<PlayoutStatus, String>);

/// The analyzer's answer to the snapshot request.
#[derive(Message)]
#[rtype(result = "()")]
struct SnapshotAnswer(Result<(Vec<Tracks>, bool), String>);

impl DirectorNode {
    fn now(&self) -> u64 {
        self.clock.now_ns()
    }

    fn request_playout(&self, ctx: &mut Context<Self>) {
        let sockets = Sockets::new("director", &self.cfg);
        let requester = sockets.requester(&sockets.endpoints().capture_rep);
        let fut = async move {
            let req = Message::SnapshotRequest(SnapshotRequest {
                kind: SnapshotKind::Playout,
                since_pts_ns: 0,
            });
            match requester.request(&req).await {
                Ok(Message::SnapshotReply(r)) => r
                    .playout
                    .ok_or_else(|| "reply without playout status".to_string()),
                Ok(other) => Err(format!("unexpected reply {}", other.kind())),
                Err(e) => Err(e.to_string()),
            }
        };
        ctx.spawn(fut.into_actor(self).map(|res, _me, ctx| {
            ctx.notify(PlayoutAnswer(res));
        }));
    }

    fn request_snapshot(&mut self, ctx: &mut Context<Self>, since_pts_ns: u64) {
        self.recovery = Recovery::WaitingSnapshot;
        let sockets = Sockets::new("director", &self.cfg);
        let requester = sockets.requester(&sockets.endpoints().analyzer_rep);
        tracing::info!(
            message = "Asking the analyzer for recent tracks.",
            since_pts_ns
        );
        let fut = async move {
            let req = Message::SnapshotRequest(SnapshotRequest {
                kind: SnapshotKind::Tracks,
                since_pts_ns,
            });
            match requester.request(&req).await {
                Ok(Message::SnapshotReply(r)) => Ok((r.tracks, r.truncated)),
                Ok(other) => Err(format!("unexpected reply {}", other.kind())),
                Err(e) => Err(e.to_string()),
            }
        };
        ctx.spawn(fut.into_actor(self).map(|res, _me, ctx| {
            ctx.notify(SnapshotAnswer(res));
        }));
    }

    /// Moves the recovery on once the playout position is known (or assumed).
    fn playout_known(&mut self, ctx: &mut Context<Self>) {
        let Some((playout, _)) = self
            .playout
            .estimate(self.now(), self.planner.latest_track_pts())
        else {
            return;
        };
        let history = (self.cfg.director.snapshot_history_s * NS_PER_SEC as f64) as u64;
        self.request_snapshot(ctx, playout.saturating_sub(history));
    }

    fn tick(&mut self, ctx: &mut Context<Self>) {
        match self.recovery {
            Recovery::WaitingPlayout { since_ns } => {
                if self.playout.known() {
                    self.playout_known(ctx);
                } else if self.now().saturating_sub(since_ns)
                    >= self.cfg.director.playout_wait_ms * NS_PER_MS
                    && self.planner.latest_track_pts().is_some()
                {
                    self.counters.assumed_playout += 1;
                    tracing::warn!(
                        message = "No playout position from capture (no REP answer, no PlayoutStatus); assuming playout is playout.delay_s behind the newest track.",
                        delay_ms = self.cfg.director.delay_ms
                    );
                    self.playout_known(ctx);
                }
            }
            Recovery::WaitingSnapshot => {}
            Recovery::Running => self.replan_and_publish(),
        }
    }

    /// Takes the operator's camera mode (from launch's message or its state file).
    fn operator(&mut self, mode: shared::messages::CameraMode) {
        let playout = self
            .playout
            .estimate(self.now(), self.planner.latest_track_pts())
            .map(|(p, _)| p)
            .unwrap_or(0);
        match self.planner.set_operator(mode, playout) {
            Ok(false) => {}
            Ok(true) => {
                self.counters.operator_changes += 1;
                let o = self.planner.operator().copied();
                tracing::info!(
                    message = "Operator camera mode taken.",
                    mode = mode.name(),
                    from_pts_ns = o.map(|o| o.from_k * self.planner.step_ns()),
                    pose = ?o.and_then(|o| o.pose),
                );
                if self.recovery == Recovery::Running {
                    self.replan_and_publish();
                }
            }
            Err(reason) => {
                self.counters.operator_refused += 1;
                tracing::warn!(message = "Operator camera mode refused; the camera goes on as before.", mode = mode.name(), %reason);
            }
        }
    }

    fn replan_and_publish(&mut self) {
        let now = self.now();
        let Some((playout, live)) = self.playout.estimate(now, self.planner.latest_track_pts())
        else {
            return;
        };
        if let Some(path) = self.planner.replan(playout, live) {
            // The plan is saved before it is published, every time: a director killed at any
            // moment restarts from exactly what capture last received.
            self.last_checkpoint_ns = Some(now);
            self.save_checkpoint();
            match self.publisher.publish(&Message::CameraPath(path)) {
                Ok(()) => self.counters.paths_published += 1,
                Err(_) => self.counters.paths_refused += 1,
            }
        }
    }

    fn save_checkpoint(&mut self) {
        let c = Checkpoint::new(
            self.planner.step_ns(),
            self.planner.frames().copied().collect(),
            shared::time::unix_now_ns(),
        );
        match c.save(&self.checkpoint_path) {
            Ok(()) => self.counters.checkpoint_writes += 1,
            Err(error) => {
                self.counters.checkpoint_errors += 1;
                if self.counters.checkpoint_errors == 1 {
                    tracing::warn!(message = "Cannot save the plan checkpoint; a restart will rebuild the path instead.", %error);
                }
            }
        }
    }

    /// After the snapshot: continue the previous run's saved plan if it covers the frame
    /// being shown, else rebuild the path from the snapshot's tracks.
    fn restore(&mut self, playout: u64) {
        self.planner.rebuild(playout);
        match Checkpoint::load(
            &self.checkpoint_path,
            shared::time::unix_now_ns(),
            CHECKPOINT_MAX_AGE_NS,
        ) {
            Ok(c) if self.planner.resume(&c.frames, c.step_ns, playout) => {
                tracing::info!(
                    message = "Continuing the previous run's saved plan.",
                    frames = c.frames.len()
                );
            }
            Ok(_) => {
                tracing::info!(message = "The saved plan does not cover the frame being shown; path rebuilt from the snapshot.");
            }
            Err(error) => {
                tracing::info!(message = "No usable saved plan; path rebuilt from the snapshot.", %error);
            }
        }
    }

    /// Everything thrown away: tracks the window refused, paths and operator poses refused,
    /// the sockets' losses.
    fn discards(&self) -> Discards {
        let w = self.planner.window_counters();
        let n = &self.counters;
        let mut d = Discards::default();
        d.add("tracks", Reason::Duplicate, w.duplicates)
            .add("tracks", Reason::TooLate, w.too_old)
            .add("ball", Reason::Malformed, w.implausible_ball)
            .add("ball", Reason::Rejected, w.unusable_ball)
            .add("players", Reason::Rejected, w.unusable_players)
            .add("paths", Reason::Rejected, n.paths_refused)
            .add("operator", Reason::Rejected, n.operator_refused)
            .add_socket("pub", &self.publisher.counters().snapshot())
            .add_socket("sub", &self._inputs.counters().snapshot());
        d
    }

    /// What the heartbeat carries for monitoring.
    fn set_metrics(&self) {
        let c = self.publisher.counters().snapshot();
        let mut m = shared::process::counters_of("", &self.counters);
        m.extend(shared::process::counters_of(
            "planner_",
            &self.planner.counters(),
        ));
        m.extend(shared::process::counters_of(
            "tracks_",
            &self.planner.window_counters(),
        ));
        m.extend([
            ("pub_sent_total".to_string(), c.sent as f64),
            ("pub_dropped_total".to_string(), c.dropped as f64),
            (
                "running".to_string(),
                (self.recovery == Recovery::Running) as u8 as f64,
            ),
        ]);
        m.extend(self.discards().metrics());
        shared::process::set_metrics(m);
    }

    fn log_summary(&self) {
        let c = self.publisher.counters().snapshot();
        let p = self.planner.counters();
        let w = self.planner.window_counters();
        let n = self.counters;
        tracing::info!(
            message = "Director summary.",
            discarded = %self.discards().summary(),
            received = %self.peers.summary(),
            recovery = ?self.recovery,
            paths_published = n.paths_published,
            paths_refused = n.paths_refused,
            pub_sent = c.sent,
            pub_dropped = c.dropped,
            pub_connects = c.connects,
            replans = p.replans,
            cold_starts = p.cold_starts,
            limit_clamps = p.limit_clamps,
            timeline_resets = p.timeline_resets,
            tracks_accepted = w.accepted,
            tracks_duplicate = w.duplicates,
            tracks_too_old = w.too_old,
            ball_implausible = w.implausible_ball,
            snapshot_tracks = n.snapshot_tracks,
            playout_requests_failed = n.playout_requests_failed,
            snapshot_requests_failed = n.snapshot_requests_failed,
            checkpoint_writes = n.checkpoint_writes,
            checkpoint_errors = n.checkpoint_errors,
            operator_mode = self.planner.operator_mode().name(),
            operator_changes = n.operator_changes,
            operator_refused = n.operator_refused,
            resumed_from_checkpoint = p.resumed_from_checkpoint,
        );
    }
}

impl Actor for DirectorNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        self.request_playout(ctx);
        let period = Duration::from_millis(self.cfg.director.replan_period_ms);
        ctx.run_interval(period, |me, ctx| me.tick(ctx));
        ctx.run_interval(Duration::from_secs(10), |me, _| me.log_summary());
        ctx.run_interval(Duration::from_secs(1), |me, _| {
            me.set_metrics();
            let d = me.discards();
            me.discard_log.update(Instant::now(), &d);
        });
    }
}

impl StreamHandler<Received> for DirectorNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        let now = self.now();
        self.peers.record(&item.message, now);
        match &item.message {
            Message::Tracks(t) => self.planner.push_tracks(t),
            Message::PlayoutStatus(s) => self.playout.on_status(s, now),
            Message::Operator(o) => self.operator(o.camera),
            _ => {}
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl Handler<PlayoutAnswer> for DirectorNode {
    type Result = ();

    fn handle(&mut self, msg: PlayoutAnswer, ctx: &mut Self::Context) {
        match msg.0 {
            Ok(status) => {
                let now = self.now();
                self.playout.on_status(&status, now);
                tracing::info!(
                    message = "Playout position from capture.",
                    playout_pts = status.playout_pts,
                    live_pts = status.live_pts
                );
                if matches!(self.recovery, Recovery::WaitingPlayout { .. }) {
                    self.playout_known(ctx);
                }
            }
            Err(error) => {
                self.counters.playout_requests_failed += 1;
                tracing::info!(message = "Capture did not answer the playout request; waiting for its PlayoutStatus.", %error);
            }
        }
    }
}

impl Handler<SnapshotAnswer> for DirectorNode {
    type Result = ();

    fn handle(&mut self, msg: SnapshotAnswer, _ctx: &mut Self::Context) {
        match msg.0 {
            Ok((tracks, truncated)) => {
                self.counters.snapshot_tracks += tracks.len() as u64;
                for t in &tracks {
                    self.planner.push_tracks(t);
                }
                tracing::info!(
                    message = "Snapshot of recent tracks received.",
                    tracks = tracks.len(),
                    truncated
                );
            }
            Err(error) => {
                self.counters.snapshot_requests_failed += 1;
                tracing::warn!(message = "No snapshot from the analyzer; planning from live tracks only.", %error);
            }
        }
        // Rebuild the path the previous run was following, then plan and publish at once.
        if let Some((playout, _)) = self
            .playout
            .estimate(self.now(), self.planner.latest_track_pts())
        {
            self.restore(playout);
        }
        self.recovery = Recovery::Running;
        self.replan_and_publish();
    }
}

/// The operator's mode launch saved, taken before anything is planned.
#[derive(Message)]
#[rtype(result = "()")]
struct OperatorAtStart(shared::messages::CameraMode);

impl Handler<OperatorAtStart> for DirectorNode {
    type Result = ();

    fn handle(&mut self, msg: OperatorAtStart, _ctx: &mut Self::Context) {
        tracing::info!(
            message = "Starting in the operator's camera mode.",
            mode = msg.0.name()
        );
        self.operator(msg.0);
    }
}

/// Connects every socket (none of these waits for a peer), runs until shutdown.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown) -> Result<()> {
    let rig = Rig::from_system(&cfg).context("director.calibration")?;
    let sockets = Sockets::new("director", &cfg);
    let eps = sockets.endpoints();
    let publisher = sockets.connect_publisher("director-paths", &eps.capture_paths);
    // Subscribe first (recovery step 1): tracks from now on are kept.
    let inputs = sockets.connect_subscriber(
        "director-inputs",
        &[
            eps.capture_pub.clone(),
            eps.analyzer_pub.clone(),
            eps.launch_op.clone(),
        ],
        &["tracks", "status", "hb", "op"],
    );
    let (rx, guard) = inputs.split();
    let clock = MonotonicClock::new();
    let planner = Planner::new(&cfg.director, rig);
    let playout = PlayoutClock::new(cfg.director.delay_ms * NS_PER_MS);
    let since_ns = clock.now_ns();
    let cfg_dir = cfg.runtime.dir();
    // A director restarted by launch starts in the operator's mode (GUIDE section 4).
    let operator = shared::operator::load_if_supervised(&cfg_dir);
    let _node = DirectorNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(rx));
        if let Some(o) = operator {
            ctx.notify(OperatorAtStart(o.camera));
        }
        DirectorNode {
            cfg,
            publisher,
            _inputs: guard,
            peers: PeerTable::default(),
            clock,
            planner,
            playout,
            recovery: Recovery::WaitingPlayout { since_ns },
            counters: NodeCounters::default(),
            checkpoint_path: cfg_dir.join(checkpoint::FILE_NAME),
            last_checkpoint_ns: None,
            discard_log: DiscardLog::new(Duration::from_secs(10)),
        }
    });
    shutdown.wait().await;
    Ok(())
}
