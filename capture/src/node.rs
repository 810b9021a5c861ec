//! The capture node actor: owns the sockets, feeds camera paths and tracks to playout,
//! publishes playout status once per second and answers playout snapshot requests.

use actix::prelude::*;
use anyhow::{Context as _, Result};
use capture::ingest::{no_working_camera, CameraWatch};
use playout::engine::PlayoutInput;
use shared::config::SystemConfig;
use shared::discard::{DiscardLog, Discards};
use shared::messages::{Message, PlayoutStatus, SnapshotKind, SnapshotReply};
use shared::peers::PeerTable;
use shared::shutdown::Shutdown;
use shared::time::{Clock, MonotonicClock};
use shared::transport::{
    Publisher, Received, Replier, ReplierGuard, Request, Socket, Sockets, Subscriber,
    SubscriberGuard,
};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;

/// Control-plane state of capture.
pub struct CaptureNode {
    /// System publisher (ticks, status, detections).
    publisher: Arc<Publisher>,
    /// Keep the camera-path and tracks sockets and the REP open.
    _paths: SubscriberGuard,
    _tracks: SubscriberGuard,
    _operator: SubscriberGuard,
    /// The operator's latest recording wish, as passed to playout.
    record: Option<bool>,
    _rep: ReplierGuard,
    peers: PeerTable,
    clock: MonotonicClock,
    /// Newest camera path id received, for the summary.
    last_path_id: Option<u64>,
    engine_stats: Arc<Mutex<capture::engine::EngineStats>>,
    /// Each camera's record, for the status and the heartbeat's problem.
    cameras: Vec<Arc<Mutex<CameraWatch>>>,
    playout_tx: Sender<PlayoutInput>,
    playout_status: Arc<Mutex<PlayoutStatus>>,
    /// The GPU and its pool size (`cuda` backend), for the metrics.
    gpu: Option<(Arc<shared::gpu::Gpu>, usize)>,
    /// The detector stage's counters, when it runs.
    detector_stats: Option<crate::running::DetectorStatsFn>,
    discard_log: DiscardLog,
}

impl CaptureNode {
    /// Received messages that did not decode, over every subscriber and the replier.
    /// Everything capture threw away: the engine's, the detector's and playout's drops, and
    /// the sockets' losses.
    fn discards(&self) -> Discards {
        let e = self.engine_stats.lock().map(|s| *s).unwrap_or_default();
        let det = self.detector_stats.as_ref().map(|d| d());
        let mut d = capture::discards::capture_discards(&e, det.as_ref(), &self.status());
        d.add_socket("pub", &self.publisher.counters().snapshot())
            .add_socket("sub_paths", &self._paths.counters().snapshot())
            .add_socket("sub_tracks", &self._tracks.counters().snapshot())
            .add_socket("sub_operator", &self._operator.counters().snapshot())
            .add_socket("rep", &self._rep.counters().snapshot());
        d
    }

    fn decode_errors(&self) -> u64 {
        [&self._paths, &self._tracks, &self._operator]
            .iter()
            .map(|g| g.counters().snapshot().decode_errors)
            .sum::<u64>()
            + self._rep.counters().snapshot().decode_errors
    }

    fn cameras(&self) -> Vec<CameraWatch> {
        self.cameras
            .iter()
            .map(|c| c.lock().unwrap_or_else(|p| p.into_inner()).clone())
            .collect()
    }

    /// Playout's status with the cameras' health.
    fn status(&self) -> PlayoutStatus {
        let mut s = self
            .playout_status
            .lock()
            .map(|s| s.clone())
            .unwrap_or_else(|p| p.into_inner().clone());
        let now = std::time::Instant::now();
        s.cameras = self.cameras().iter().map(|c| c.health(now)).collect();
        s
    }
}

impl Actor for CaptureNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(1), |me, _| {
            let _ = me.publisher.publish(&Message::PlayoutStatus(me.status()));
        });
        // With no working camera, every heartbeat says so: a supervisor restarts capture if
        // that lasts (launch.hung_timeout_ms), while the cameras keep being restarted here.
        ctx.run_interval(Duration::from_millis(250), |me, _| {
            let problem = no_working_camera(&me.cameras(), std::time::Instant::now());
            if problem.is_some() != shared::process::problem().is_some() {
                match &problem {
                    Some(p) => tracing::error!(message = "No working camera.", problem = %p),
                    None => tracing::info!(message = "A camera works again."),
                }
            }
            shared::process::set_problem(problem);
        });
        ctx.run_interval(Duration::from_secs(1), |me, _| {
            let e = me.engine_stats.lock().map(|s| *s).unwrap_or_default();
            let c = me.publisher.counters().snapshot();
            let mut m = shared::process::counters_of("engine_", &e);
            m.extend([
                ("pub_sent_total".to_string(), c.sent as f64),
                ("pub_dropped_total".to_string(), c.dropped as f64),
                ("decode_errors_total".to_string(), me.decode_errors() as f64),
            ]);
            if let Some((gpu, pool)) = &me.gpu {
                m.extend(crate::running::gpu_metrics(gpu, *pool));
            }
            if let Some(d) = &me.detector_stats {
                m.extend(shared::process::counters_of("detector_", &d()));
            }
            let discards = me.discards();
            m.extend(discards.metrics());
            shared::process::set_metrics(m);
            me.discard_log.update(std::time::Instant::now(), &discards);
        });
        ctx.run_interval(Duration::from_secs(10), |me, _| {
            let c = me.publisher.counters().snapshot();
            let e = me.engine_stats.lock().map(|s| *s).unwrap_or_default();
            let s = me.status();
            tracing::info!(
                message = "Capture summary.",
                discarded = %me.discards().summary(),
                panoramas = e.panoramas,
                camera_frames = ?e.camera_frames,
                partner_missing = ?e.partner_missing,
                pool_exhausted = e.pool_exhausted,
                ingest_dropped = ?e.ingest_dropped,
                camera_down = ?e.camera_down,
                filled = e.filled,
                gain_clamped = e.gain_clamped,
                gain_unmeasurable = e.gain_unmeasurable,
                frames_out = s.frames_out,
                ring_depth = s.ring_depth,
                fallback = s.fallback_active,
                received = %me.peers.summary(),
                last_path_id = ?me.last_path_id,
                pub_sent = c.sent,
                pub_dropped = c.dropped,
                decode_errors = me.decode_errors(),
            );
        });
    }
}

impl StreamHandler<Received> for CaptureNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        self.peers.record(&item.message, self.clock.now_ns());
        match item.message {
            Message::CameraPath(p) => {
                tracing::debug!(
                    message = "Camera path received.",
                    path_id = p.path_id,
                    keyframes = p.keyframes.len()
                );
                self.last_path_id = Some(p.path_id);
                let _ = self.playout_tx.send(PlayoutInput::Path(p));
            }
            Message::Tracks(t) => {
                let _ = self.playout_tx.send(PlayoutInput::Tracks(t));
            }
            Message::Operator(o) => {
                // launch repeats its state every second; only a change switches.
                let on_now = self.record.unwrap_or_else(|| self.status().recording.on);
                self.record = Some(o.record);
                if o.record != on_now {
                    let _ = self.playout_tx.send(PlayoutInput::Record {
                        on: o.record,
                        unix_ns: shared::time::unix_now_ns(),
                    });
                }
            }
            _ => {}
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

impl StreamHandler<Request> for CaptureNode {
    fn handle(&mut self, req: Request, _ctx: &mut Self::Context) {
        let reply = SnapshotReply {
            kind: SnapshotKind::Playout,
            tracks: vec![],
            playout: Some(self.status()),
            truncated: false,
        };
        req.reply(Message::SnapshotReply(reply));
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Capture's sockets: its publisher, the camera path subscriber and the snapshot replier it
/// binds, and the subscribers to the analyzer's tracks and launch's operator commands.
struct CaptureSockets {
    publisher: Publisher,
    paths: Subscriber,
    rep: Replier,
    tracks: Subscriber,
    operator: Subscriber,
}

impl CaptureSockets {
    async fn bind(cfg: &SystemConfig) -> Result<CaptureSockets> {
        let s = Sockets::new("capture", cfg);
        let eps = s.endpoints().clone();
        let publisher = s
            .bind_publisher(Socket::new("capture-pub", "capture_pub"), &eps.capture_pub)
            .await?;
        let paths = s
            .bind_subscriber(
                Socket::new("capture-paths", "capture_paths"),
                &eps.capture_paths,
                &["path", "hb"],
            )
            .await?;
        let rep = s
            .bind_replier(Socket::new("capture-rep", "capture_rep"), &eps.capture_rep)
            .await?;
        let tracks = s.connect_subscriber(
            "capture-tracks",
            std::slice::from_ref(&eps.analyzer_pub),
            &["tracks"],
        );
        let operator = s.connect_subscriber(
            "capture-operator",
            std::slice::from_ref(&eps.launch_op),
            &["op"],
        );
        Ok(CaptureSockets {
            publisher,
            paths,
            rep,
            tracks,
            operator,
        })
    }
}

/// Binds the sockets, starts the engine and playout, runs until shutdown.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown) -> Result<()> {
    let CaptureSockets {
        publisher,
        paths,
        rep,
        tracks,
        operator,
    } = CaptureSockets::bind(&cfg).await?;
    let publisher = Arc::new(publisher);
    // Tables, the detector model and the pipelines load on a blocking thread, so that the
    // event loop keeps sending heartbeats while they do (a supervisor would call it hung).
    let engine = {
        let cfg = cfg.clone();
        let publisher = publisher.clone();
        tokio::task::spawn_blocking(move || crate::running::start(&cfg, publisher))
            .await
            .context("capture's start-up thread failed")??
    };
    let (paths_rx, paths_guard) = paths.split();
    let (tracks_rx, tracks_guard) = tracks.split();
    let (rep_rx, rep_guard) = rep.split();
    let (op_rx, op_guard) = operator.split();
    let _node = CaptureNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(paths_rx));
        ctx.add_stream(ReceiverStream::new(tracks_rx));
        ctx.add_stream(ReceiverStream::new(rep_rx));
        ctx.add_stream(ReceiverStream::new(op_rx));
        CaptureNode {
            publisher,
            _paths: paths_guard,
            _tracks: tracks_guard,
            _operator: op_guard,
            record: None,
            _rep: rep_guard,
            peers: PeerTable::default(),
            clock: MonotonicClock::new(),
            last_path_id: None,
            engine_stats: engine.stats.clone(),
            cameras: engine.cameras.clone(),
            playout_tx: engine.playout_tx.clone(),
            playout_status: engine.playout_status.clone(),
            gpu: engine.gpu(),
            detector_stats: engine.detector_stats(),
            discard_log: DiscardLog::new(Duration::from_secs(10)),
        }
    });
    // Offline (`capture.realtime = false`): the process also ends when its input does.
    let offline = !cfg.capture.realtime;
    let input_ended = async {
        while !engine.engine_ended() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::select! {
        _ = shutdown.wait() => {}
        _ = input_ended, if offline => {
            tracing::info!(message = "Input ended; capture stops (capture.realtime = false).");
        }
    }
    engine.stop().await;
    Ok(())
}
