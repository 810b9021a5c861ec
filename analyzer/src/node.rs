//! The analyzer node actor (live mode): feeds capture's raw detections through the pipeline,
//! publishes tracks for every analysed frame, answers snapshot requests from the history,
//! optionally records its input and output, and logs its counters once per interval.

use actix::prelude::*;
use analyzer::record::SelfRecorder;
use analyzer::{Analyzer, Outcome};
use anyhow::{Context as _, Result};
use shared::config::SystemConfig;
use shared::discard::{DiscardLog, Discards, Reason};
use shared::messages::{Message, SnapshotKind, SnapshotReply};
use shared::peers::PeerTable;
use shared::shutdown::Shutdown;
use shared::time::{unix_now_ns, Clock, MonotonicClock};
use shared::transport::{
    Publisher, Received, ReplierGuard, Request, Socket, Sockets, SubscriberGuard,
};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tokio_stream::wrappers::ReceiverStream;

/// Control-plane state of the analyzer.
pub struct AnalyzerNode {
    analyzer: Analyzer,
    /// Tracks publisher (also sends the heartbeats).
    publisher: Publisher,
    /// Keep the subscription to capture and the snapshot socket open.
    _capture: SubscriberGuard,
    replier: ReplierGuard,
    recorder: Option<SelfRecorder>,
    peers: PeerTable,
    clock: MonotonicClock,
    log_interval: Duration,
    /// Snapshot requests answered, and requests the analyzer cannot serve.
    snapshots: u64,
    bad_requests: u64,
    /// Tracks refused by the publisher (encoding), counted by the socket too.
    publish_errors: u64,
    discard_log: DiscardLog,
}

impl Actor for AnalyzerNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(self.log_interval, |me, _| me.log_summary());
        ctx.run_interval(std::time::Duration::from_secs(1), |me, _| me.set_metrics());
        ctx.run_interval(std::time::Duration::from_secs(1), |me, _| {
            let d = me.discards();
            me.discard_log.update(Instant::now(), &d);
        });
    }
}

impl AnalyzerNode {
    /// Everything thrown away: the pipeline's drops, the sockets' losses, requests that could
    /// not be served.
    fn discards(&self) -> Discards {
        let mut d = self.analyzer.counters().discards();
        d.add_socket("pub", &self.publisher.counters().snapshot())
            .add_socket("sub", &self._capture.counters().snapshot())
            .add_socket("rep", &self.replier.counters().snapshot())
            .add("requests", Reason::Rejected, self.bad_requests);
        d
    }

    /// What the heartbeat carries for monitoring.
    fn set_metrics(&self) {
        let p = self.publisher.counters().snapshot();
        let mut m = shared::process::counters_of("", &self.analyzer.counters());
        m.extend([
            ("snapshots_total".to_string(), self.snapshots as f64),
            ("bad_requests_total".to_string(), self.bad_requests as f64),
            (
                "publish_errors_total".to_string(),
                self.publish_errors as f64,
            ),
            ("pub_sent_total".to_string(), p.sent as f64),
            ("pub_dropped_total".to_string(), p.dropped as f64),
            ("history".to_string(), self.analyzer.history().len() as f64),
        ]);
        m.extend(self.discards().metrics());
        shared::process::set_metrics(m);
    }

    fn log_summary(&self) {
        let c = self.analyzer.counters();
        let p = self.publisher.counters().snapshot();
        let r = self.replier.counters().snapshot();
        tracing::info!(
            message = "Analyzer summary.",
            received = %self.peers.summary(),
            discarded = %self.discards().summary(),
            frames_in = c.frames_in,
            frames_analysed = c.frames_analysed,
            duplicate_frames = c.duplicate_frames,
            out_of_order_frames = c.out_of_order_frames,
            capture_restarts = c.capture_restarts,
            malformed_detections = c.malformed_detections,
            candidates_capped = c.candidates_capped,
            nms_suppressed = c.nms_suppressed,
            below_score = c.below_score,
            aspect_rejected = c.aspect_rejected,
            size_rejected = c.size_rejected,
            outside_field = c.outside_field,
            static_suppressed = c.static_suppressed,
            ball_tracked = c.ball_tracked,
            ball_predicted = c.ball_predicted,
            ball_lost = c.ball_lost,
            track_switches = c.track_switches,
            history = self.analyzer.history().len(),
            snapshots = self.snapshots,
            bad_requests = self.bad_requests,
            rep_decode_errors = r.decode_errors,
            pub_sent = p.sent,
            pub_dropped = p.dropped,
            publish_errors = self.publish_errors,
            recorded = self.recorder.as_ref().map(|r| r.written),
        );
    }
}

impl StreamHandler<Received> for AnalyzerNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        self.peers.record(&item.message, self.clock.now_ns());
        let Message::RawDetections(frame) = &item.message else {
            return;
        };
        if let Some(r) = self.recorder.as_mut() {
            r.input(&item);
        }
        if let Outcome::Analysed(tracks) = self.analyzer.process(frame) {
            let m = Message::Tracks(tracks);
            if self.publisher.publish(&m).is_err() {
                self.publish_errors += 1;
            }
            if let Some(r) = self.recorder.as_mut() {
                r.output(unix_now_ns(), &m);
            }
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl StreamHandler<Request> for AnalyzerNode {
    fn handle(&mut self, request: Request, _ctx: &mut Self::Context) {
        let reply = match &request.message {
            Message::SnapshotRequest(q) if q.kind == SnapshotKind::Tracks => {
                match self.analyzer.history().snapshot(q.since_pts_ns) {
                    Ok(r) => {
                        self.snapshots += 1;
                        r
                    }
                    Err(error) => {
                        tracing::warn!(message = "Snapshot could not be encoded.", %error);
                        self.bad_requests += 1;
                        empty_reply(SnapshotKind::Tracks)
                    }
                }
            }
            // Capture serves playout snapshots; anything else is not ours to answer. An
            // empty reply keeps the requester's socket usable.
            Message::SnapshotRequest(q) => {
                self.bad_requests += 1;
                empty_reply(q.kind)
            }
            other => {
                self.bad_requests += 1;
                tracing::debug!(message = "Unexpected request.", kind = %other.kind());
                empty_reply(SnapshotKind::Tracks)
            }
        };
        request.reply(Message::SnapshotReply(reply));
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

fn empty_reply(kind: SnapshotKind) -> SnapshotReply {
    SnapshotReply {
        kind,
        tracks: Vec::new(),
        playout: None,
        truncated: false,
    }
}

/// Closes the recording (on shutdown).
#[derive(Message)]
#[rtype(result = "()")]
struct Finish;

impl Handler<Finish> for AnalyzerNode {
    type Result = ();

    fn handle(&mut self, _: Finish, _ctx: &mut Self::Context) {
        self.log_summary();
        if let Some(r) = self.recorder.take() {
            match r.finish() {
                Ok(n) => tracing::info!(message = "Recording finished.", records = n),
                Err(error) => tracing::warn!(message = "Recording could not be finished.", %error),
            }
        }
    }
}

/// Connects to capture, binds the tracks publisher and the snapshot replier, runs until
/// shutdown. `record` (the `--record` flag) overrides `analyzer.record_path`.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown, record: Option<PathBuf>) -> Result<()> {
    let sockets = Sockets::new("analyzer", &cfg);
    let eps = sockets.endpoints().clone();
    let analyzer = Analyzer::from_config(&cfg.analyzer)
        .context("loading the calibration (analyzer.calibration)")?;
    let record = record.or_else(|| {
        (!cfg.analyzer.record_path.is_empty()).then(|| PathBuf::from(&cfg.analyzer.record_path))
    });
    let recorder = match &record {
        Some(p) => Some(
            SelfRecorder::create(p)
                .with_context(|| format!("creating the recording {}", p.display()))?,
        ),
        None => None,
    };
    let publisher = sockets
        .bind_publisher(
            Socket::new("analyzer-pub", "analyzer_pub"),
            &eps.analyzer_pub,
        )
        .await?;
    let replier = sockets
        .bind_replier(
            Socket::new("analyzer-rep", "analyzer_rep"),
            &eps.analyzer_rep,
        )
        .await?;
    let capture = sockets.connect_subscriber(
        "analyzer-capture",
        std::slice::from_ref(&eps.capture_pub),
        &["dets", "hb"],
    );
    let (rx, guard) = capture.split();
    let (req_rx, rep_guard) = replier.split();
    let log_interval = Duration::from_secs(cfg.analyzer.log_interval_s);
    let node = AnalyzerNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(rx));
        ctx.add_stream(ReceiverStream::new(req_rx));
        AnalyzerNode {
            analyzer,
            publisher,
            _capture: guard,
            replier: rep_guard,
            recorder,
            peers: PeerTable::default(),
            clock: MonotonicClock::new(),
            log_interval,
            snapshots: 0,
            bad_requests: 0,
            publish_errors: 0,
            discard_log: DiscardLog::new(Duration::from_secs(10)),
        }
    });
    shutdown.wait().await;
    // Finish the recording before the System goes; bounded so a stop never hangs.
    let _ = tokio::time::timeout(Duration::from_millis(1500), node.send(Finish)).await;
    Ok(())
}
