//! The capture node actor: owns the sockets, counts what arrives, logs a summary.

use actix::prelude::*;
use anyhow::{Context as _, Result};
use shared::config::SystemConfig;
use shared::messages::Message;
use shared::peers::PeerTable;
use shared::shutdown::Shutdown;
use shared::time::{Clock, MonotonicClock};
use shared::transport::{
    HeartbeatSource, Publisher, PublisherOptions, Received, Subscriber, SubscriberGuard,
    SubscriberOptions,
};
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;

/// Control-plane state of capture.
pub struct CaptureNode {
    /// System publisher; kept here so it lives as long as the node.
    publisher: std::sync::Arc<Publisher>,
    /// Keeps the camera-path socket open.
    _paths: SubscriberGuard,
    peers: PeerTable,
    clock: MonotonicClock,
    /// Newest camera path id received, for the summary.
    last_path_id: Option<u64>,
    /// The engine's live counters.
    engine_stats: std::sync::Arc<std::sync::Mutex<capture::engine::EngineStats>>,
}

impl Actor for CaptureNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(10), |me, _| {
            let c = me.publisher.counters().snapshot();
            let e = me.engine_stats.lock().map(|s| *s).unwrap_or_default();
            tracing::info!(
                message = "Capture summary.",
                panoramas = e.panoramas,
                camera_frames = ?e.camera_frames,
                partner_missing = ?e.partner_missing,
                pool_exhausted = e.pool_exhausted,
                received = %me.peers.summary(),
                last_path_id = ?me.last_path_id,
                pub_sent = c.sent,
                pub_dropped = c.dropped,
            );
        });
    }
}

impl StreamHandler<Received> for CaptureNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        self.peers.record(&item.message, self.clock.now_ns());
        if let Message::CameraPath(p) = &item.message {
            tracing::debug!(
                message = "Camera path received.",
                path_id = p.path_id,
                keyframes = p.keyframes.len()
            );
            self.last_path_id = Some(p.path_id);
        }
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Binds the sockets, runs the node until shutdown.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown) -> Result<()> {
    let eps = cfg.endpoints();
    let publisher = Publisher::bind(
        "capture-pub",
        &eps.capture_pub,
        PublisherOptions {
            queue_capacity: cfg.transport.publisher_queue,
            heartbeat: Some(HeartbeatSource {
                process: "capture".into(),
                interval: cfg.transport.heartbeat_interval(),
            }),
        },
    )
    .await
    .context("binding capture's publisher (transport.capture_pub)")?;
    let paths = Subscriber::bind(
        "capture-paths",
        &eps.capture_paths,
        SubscriberOptions {
            topics: vec!["path".into(), "hb".into()],
            channel_capacity: cfg.transport.subscriber_queue,
        },
    )
    .await
    .context("binding capture's camera path subscriber (transport.capture_paths)")?;
    let (rx, guard) = paths.split();
    let publisher = std::sync::Arc::new(publisher);
    let engine = crate::running::start(&cfg, publisher.clone())?;
    let engine_stats = engine.stats.clone();
    let _node = CaptureNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(rx));
        CaptureNode {
            publisher,
            _paths: guard,
            peers: PeerTable::default(),
            clock: MonotonicClock::new(),
            last_path_id: None,
            engine_stats,
        }
    });
    shutdown.wait().await;
    engine.stop().await;
    Ok(())
}
