//! `touchline-wire`: look at and poke the message bus by hand.
//!
//! - `listen` connects to publishers and prints every message as a JSON line;
//! - `publish` binds a publisher that sends heartbeats and frame ticks (a stand-in producer
//!   for trying a subscriber, and for the transport's restart tests).

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use shared::messages::{FrameTick, Message};
use shared::shutdown::Shutdown;
use shared::transport::{
    Endpoint, HeartbeatSource, Publisher, PublisherOptions, Subscriber, SubscriberOptions,
};
use std::time::Duration;

#[derive(Debug, Parser)]
#[command(
    name = "touchline-wire",
    version,
    about = "Listen to or publish on the Touchline message bus"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Connect to publishers and print each message as one JSON line on stdout.
    Listen {
        /// Endpoint(s) to connect to, e.g. ipc:///run/user/1000/touchline/capture-pub.sock
        #[arg(required = true)]
        endpoints: Vec<String>,
        /// Only these topics (tick, dets, tracks, path, status, hb); default all.
        #[arg(long = "topic")]
        topics: Vec<String>,
        /// Exit after this many messages.
        #[arg(long)]
        count: Option<u64>,
    },
    /// Bind a publisher that sends a heartbeat every interval and frame ticks at a rate.
    Publish {
        /// Endpoint to bind.
        endpoint: String,
        /// Process name in the heartbeats.
        #[arg(long, default_value = "wire")]
        process: String,
        /// Frame ticks per second (0: heartbeats only).
        #[arg(long, default_value_t = 25.0)]
        tick_hz: f64,
        /// Heartbeat interval in milliseconds.
        #[arg(long, default_value_t = 1000)]
        heartbeat_ms: u64,
    },
}

fn main() -> Result<()> {
    let shutdown = Shutdown::install().context("installing signal handling")?;
    let cli = Cli::parse();
    shared::telemetry::init("touchline-wire", &Default::default(), None);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        match cli.command {
            Command::Listen {
                endpoints,
                topics,
                count,
            } => listen(endpoints, topics, count, shutdown).await,
            Command::Publish {
                endpoint,
                process,
                tick_hz,
                heartbeat_ms,
            } => publish(endpoint, process, tick_hz, heartbeat_ms, shutdown).await,
        }
    })
}

async fn listen(
    endpoints: Vec<String>,
    topics: Vec<String>,
    count: Option<u64>,
    mut shutdown: Shutdown,
) -> Result<()> {
    let eps = endpoints
        .iter()
        .map(|e| Endpoint::parse(e))
        .collect::<Result<Vec<_>, _>>()?;
    let mut sub = Subscriber::connect(
        "listen",
        &eps,
        SubscriberOptions {
            topics,
            ..Default::default()
        },
    );
    let mut n = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            r = sub.recv() => {
                let Some(r) = r else { break };
                let line = serde_json::json!({
                    "topic": r.message.topic(),
                    "recv_unix_ns": r.recv_unix_ns,
                    "message": r.message.to_json(),
                });
                println!("{line}");
                n += 1;
                if count.is_some_and(|c| n >= c) {
                    break;
                }
            }
        }
    }
    Ok(())
}

async fn publish(
    endpoint: String,
    process: String,
    tick_hz: f64,
    heartbeat_ms: u64,
    mut shutdown: Shutdown,
) -> Result<()> {
    let ep = Endpoint::parse(&endpoint)?;
    let publisher = Publisher::bind(
        "publish",
        &ep,
        PublisherOptions {
            heartbeat: Some(HeartbeatSource {
                process,
                interval: Duration::from_millis(heartbeat_ms.max(1)),
            }),
            ..Default::default()
        },
    )
    .await
    .with_context(|| format!("binding {endpoint}"))?;
    // Tell a parent process that the socket is bound.
    println!("bound {ep}");
    let period = if tick_hz > 0.0 {
        Duration::from_secs_f64(1.0 / tick_hz)
    } else {
        Duration::from_secs(3600)
    };
    let mut tick = tokio::time::interval(period);
    let mut seq = 0u64;
    loop {
        tokio::select! {
            _ = shutdown.wait() => break,
            _ = tick.tick() => {
                if tick_hz > 0.0 {
                    publisher.publish(&Message::FrameTick(FrameTick {
                        pts_ns: (seq as f64 * 1e9 / tick_hz) as u64,
                        seq,
                        width: 0,
                        height: 0,
                    }))?;
                    seq += 1;
                }
            }
        }
    }
    Ok(())
}
