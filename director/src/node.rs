//! The director node actor: owns the sockets, counts what arrives, logs a summary.

use actix::prelude::*;
use anyhow::Result;
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

/// Control-plane state of the director.
pub struct DirectorNode {
    /// Camera path publisher, connected to capture's bound subscriber.
    publisher: Publisher,
    /// Keeps the subscriptions to capture and the analyzer open.
    _inputs: SubscriberGuard,
    peers: PeerTable,
    clock: MonotonicClock,
}

impl Actor for DirectorNode {
    type Context = Context<Self>;

    fn started(&mut self, ctx: &mut Self::Context) {
        ctx.run_interval(Duration::from_secs(10), |me, _| {
            let c = me.publisher.counters().snapshot();
            tracing::info!(message = "Director summary.", received = %me.peers.summary(), pub_sent = c.sent, pub_connects = c.connects);
        });
    }
}

impl StreamHandler<Received> for DirectorNode {
    fn handle(&mut self, item: Received, _ctx: &mut Self::Context) {
        self.peers.record(&item.message, self.clock.now_ns());
    }

    fn finished(&mut self, _ctx: &mut Self::Context) {}
}

/// Connects every socket (none of these waits for a peer), runs until shutdown.
pub async fn run(cfg: SystemConfig, mut shutdown: Shutdown) -> Result<()> {
    let eps = cfg.endpoints();
    let publisher = Publisher::connect(
        "director-paths",
        &eps.capture_paths,
        PublisherOptions {
            queue_capacity: cfg.transport.publisher_queue,
            heartbeat: Some(HeartbeatSource {
                process: "director".into(),
                interval: cfg.transport.heartbeat_interval(),
            }),
        },
    );
    let inputs = Subscriber::connect(
        "director-inputs",
        &[eps.capture_pub.clone(), eps.analyzer_pub.clone()],
        SubscriberOptions {
            topics: vec!["tracks".into(), "status".into(), "hb".into()],
            channel_capacity: cfg.transport.subscriber_queue,
        },
    );
    let (rx, guard) = inputs.split();
    let _node = DirectorNode::create(|ctx| {
        ctx.add_stream(ReceiverStream::new(rx));
        DirectorNode {
            publisher,
            _inputs: guard,
            peers: PeerTable::default(),
            clock: MonotonicClock::new(),
        }
    });
    shutdown.wait().await;
    Ok(())
}
