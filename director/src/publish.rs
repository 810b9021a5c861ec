//! `director replay --publish`: feeds recorded (or synthetic) tracks into a running system
//! in real time, in place of the analyzer, so that the live director and capture can be
//! tuned on a recorded match.
//!
//! It binds the analyzer's PUB (tracks, heartbeats) and REP (snapshots of the tracks it has
//! sent, so a director restarted during the replay recovers as it would live). Stop the
//! analyzer first: the endpoints are the analyzer's. With `--rebase`, frame times are moved
//! onto capture's timeline (its first `FrameTick` or `PlayoutStatus`), so that the tracks
//! describe the frames capture is showing.

use crate::replay::ReplayInput;
use anyhow::Result;
use shared::config::SystemConfig;
use shared::messages::{encode, EncodeError, Message, SnapshotKind, SnapshotReply, Tracks};
use shared::shutdown::Shutdown;
use shared::time::NS_PER_SEC;
use shared::transport::{Request, Socket, Sockets};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::time::Instant;

/// Settings of a publishing replay.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PublishOptions {
    /// Replay speed (1 = real time).
    pub speed: f64,
    /// Move frame times onto capture's timeline.
    pub rebase: bool,
    /// How long to wait for capture's timeline with `rebase`.
    pub rebase_wait: Duration,
}

/// What a publishing replay did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PublishSummary {
    pub published: u64,
    pub snapshots_served: u64,
    pub stopped_early: bool,
}

/// Seconds of published tracks kept to answer snapshot requests.
const SNAPSHOT_KEEP_S: u64 = 30;

/// Tracks since `since` that fit one reply (oldest dropped beyond the size limit).
pub fn snapshot_reply(history: &VecDeque<Tracks>, since: u64) -> SnapshotReply {
    let mut tracks: Vec<Tracks> = history
        .iter()
        .filter(|t| t.pts_ns >= since)
        .cloned()
        .collect();
    let mut truncated = false;
    loop {
        let reply = SnapshotReply {
            kind: SnapshotKind::Tracks,
            tracks,
            playout: None,
            truncated,
        };
        match encode(&Message::SnapshotReply(reply.clone())) {
            Err(EncodeError::TooLarge { .. }) if !reply.tracks.is_empty() => {
                tracks = reply.tracks;
                let cut = (tracks.len() / 10).max(1);
                tracks.drain(..cut);
                truncated = true;
            }
            _ => return reply,
        }
    }
}

/// Waits for the first frame time on capture's PUB.
async fn capture_pts(cfg: &SystemConfig, wait: Duration) -> Option<u64> {
    let mut sub = Sockets::new("analyzer", cfg).connect_subscriber(
        "replay-capture",
        &[cfg.endpoints().capture_pub],
        &["tick", "status"],
    );
    let deadline = Instant::now() + wait;
    loop {
        let r = tokio::time::timeout_at(deadline, sub.recv()).await.ok()??;
        match r.message {
            Message::FrameTick(t) => return Some(t.pts_ns),
            Message::PlayoutStatus(s) => return Some(s.live_pts),
            _ => {}
        }
    }
}

/// How far the recorded frame times move onto capture's timeline (`--rebase`): from the
/// first track to capture's newest frame time, or 0 when capture gives none.
async fn timeline_offset(cfg: &SystemConfig, opts: &PublishOptions, first: u64) -> i128 {
    if !opts.rebase {
        return 0;
    }
    match capture_pts(cfg, opts.rebase_wait).await {
        Some(p) => {
            tracing::info!(
                message = "Frame times moved onto capture's timeline.",
                capture_pts = p,
                first_track_pts = first
            );
            p as i128 - first as i128
        }
        None => {
            tracing::warn!(
                message = "No frame time from capture; publishing the recorded frame times."
            );
            0
        }
    }
}

/// Answers a snapshot request from the tracks published so far; any other request is
/// dropped, which makes the replier answer with an error.
fn serve(req: Request, history: &VecDeque<Tracks>, summary: &mut PublishSummary) {
    let since = match &req.message {
        Message::SnapshotRequest(r) if r.kind == SnapshotKind::Tracks => Some(r.since_pts_ns),
        _ => None,
    };
    match since {
        Some(since) => {
            summary.snapshots_served += 1;
            let reply = snapshot_reply(history, since);
            req.reply(Message::SnapshotReply(reply));
        }
        None => drop(req),
    }
}

/// Keeps the published tracks of the last `SNAPSHOT_KEEP_S` seconds for snapshots.
fn remember(history: &mut VecDeque<Tracks>, t: Tracks) {
    history.push_back(t);
    let newest = history.back().map_or(0, |t| t.pts_ns);
    while history
        .front()
        .is_some_and(|f| f.pts_ns + SNAPSHOT_KEEP_S * NS_PER_SEC < newest)
    {
        history.pop_front();
    }
}

/// Publishes the input's tracks paced by their frame times until done or shutdown.
pub async fn publish(
    cfg: SystemConfig,
    input: ReplayInput,
    opts: PublishOptions,
    mut shutdown: Shutdown,
) -> Result<PublishSummary> {
    // The replay stands in for the analyzer: its endpoints, its name in heartbeats.
    let sockets = Sockets::new("analyzer", &cfg);
    let eps = sockets.endpoints();
    let publisher = sockets
        .bind_publisher(
            Socket::new("replay-tracks", "analyzer_pub"),
            &eps.analyzer_pub,
        )
        .await?;
    let mut replier = sockets
        .bind_replier(
            Socket::new("replay-snapshots", "analyzer_rep"),
            &eps.analyzer_rep,
        )
        .await?;
    let first = input.tracks.first().map_or(0, |t| t.pts_ns);
    let offset = timeline_offset(&cfg, &opts, first).await;
    let speed = opts.speed.clamp(0.01, 1000.0);
    let start = Instant::now();
    let mut history: VecDeque<Tracks> = VecDeque::new();
    let mut summary = PublishSummary::default();
    let mut last_log = Instant::now();
    for t in &input.tracks {
        let due =
            start + Duration::from_secs_f64((t.pts_ns - first) as f64 / NS_PER_SEC as f64 / speed);
        // Serve snapshot requests while waiting for the next frame time.
        loop {
            tokio::select! {
                _ = tokio::time::sleep_until(due) => break,
                req = replier.recv() => {
                    let Some(req) = req else { break };
                    serve(req, &history, &mut summary);
                }
                _ = shutdown.wait() => {
                    summary.stopped_early = true;
                    return Ok(summary);
                }
            }
        }
        let mut t = t.clone();
        t.pts_ns = (t.pts_ns as i128 + offset).max(0) as u64;
        let _ = publisher.publish(&Message::Tracks(t.clone()));
        summary.published += 1;
        remember(&mut history, t);
        if last_log.elapsed() >= Duration::from_secs(10) {
            last_log = Instant::now();
            let c = publisher.counters().snapshot();
            tracing::info!(
                message = "Replay publishing.",
                published = summary.published,
                total = input.tracks.len(),
                pub_dropped = c.dropped,
                snapshots = summary.snapshots_served
            );
        }
    }
    // Let the socket task send what is queued.
    tokio::time::sleep(Duration::from_millis(200)).await;
    Ok(summary)
}
