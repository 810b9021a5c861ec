//! The analyzer node actor: owns the sockets, counts what arrives, logs a summary.

use actix::prelude::*;
use anyhow::{Context as _, Result};
use shared::config::SystemConfig;
use shared::peers::PeerTable;
use shared::shutdown::Shutdown;
use shared::time::{Clock, MonotonicClock};
use shared::transport::{
    HeartbeatSource, Publisher, PublisherOptions, Received, Subscriber, SubscriberGuard,
    SubscriberOptions,
};
use std::time::Duration;
use tokio_stream::wrappers::ReceiverStream;

/// Control-plane state of the analyzer.
pub struct AnalyzerNode {
    /// Tracks publisher (heartbeats until the tracker publishes).
    publisher: Publisher,
    /// Keeps the subscription to capture open.
    _capture: SubscriberGuard,
    peers: PeerTable,
    clock: MonotonicClock,
}

impl Actor for AnalyzerNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(10), |me, _| {
            let c = me.publisher.counters().snapshot();
            tracing::info!(message = "Analyzer summary.", received = %me.peers.summary(), pub_sent = c.sent, pub_dropped = c.dropped);
        });
    }
}

impl StreamHandler<Received> for AnalyzerNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        self.peers.record(&item.message, self.clock.now_ns());
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Connects to capture, binds the tracks publisher, runs until shutdown.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown) -> Result<()> {
    let eps = cfg.endpoints();
    let publisher = Publisher::bind(
        "analyzer-pub",
        &eps.analyzer_pub,
        PublisherOptions {
            queue_capacity: cfg.transport.publisher_queue,
            heartbeat: Some(HeartbeatSource {
                process: "analyzer".into(),
                interval: cfg.transport.heartbeat_interval(),
            }),
        },
    )
    .await
    .context("binding the analyzer's publisher (transport.analyzer_pub)")?;
    let capture = Subscriber::connect(
        "analyzer-capture",
        std::slice::from_ref(&eps.capture_pub),
        SubscriberOptions {
            topics: vec!["dets".into(), "hb".into()],
            channel_capacity: cfg.transport.subscriber_queue,
        },
    );
    let (rx, guard) = capture.split();
    let _node = AnalyzerNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(rx));
        AnalyzerNode {
            publisher,
            _capture: guard,
            peers: PeerTable::default(),
            clock: MonotonicClock::new(),
        }
    });
    shutdown.wait().await;
    Ok(())
}
