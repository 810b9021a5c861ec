//! The sockets of one Touchline process, made from `[transport]`: one place that decides the
//! queue sizes, the heartbeat, the request timeout and the retries of every publisher,
//! subscriber, replier and requester, so that capture, the analyzer, the director, a replay
//! and launch cannot drift apart (one of them once had a fixed replier timeout of its own).
//!
//! A socket that binds fails with a [`SocketError`] naming the process, the socket and the
//! config key of its endpoint; a socket that connects never fails (it waits for its peer).

use super::{
    Endpoint, HeartbeatSource, Publisher, PublisherOptions, Replier, Requester, Subscriber,
    SubscriberOptions, TransportError,
};
use crate::config::{Endpoints, SystemConfig, TransportConfig};
use std::time::Duration;
use thiserror::Error;

/// A socket of this process could not be bound.
#[derive(Debug, Error)]
#[error("{process} cannot bind its {socket} socket (transport.{key}): {source}; is another {process} still running on this runtime directory?")]
pub struct SocketError {
    pub process: String,
    pub socket: String,
    /// The `[transport]` key of the endpoint.
    pub key: String,
    #[source]
    pub source: TransportError,
}

/// Which socket: its name in logs and counters, and the `[transport]` key of its endpoint.
#[derive(Debug, Clone, Copy)]
pub struct Socket<'a> {
    pub name: &'a str,
    pub key: &'a str,
}

impl<'a> Socket<'a> {
    pub const fn new(name: &'a str, key: &'a str) -> Socket<'a> {
        Socket { name, key }
    }
}

/// Makes the sockets of the process `process` with the settings of one configuration.
#[derive(Debug, Clone)]
pub struct Sockets {
    process: String,
    transport: TransportConfig,
    endpoints: Endpoints,
}

impl Sockets {
    /// Sockets of `process` (its name in heartbeats and errors) under `cfg`.
    pub fn new(process: &str, cfg: &SystemConfig) -> Sockets {
        Sockets {
            process: process.to_string(),
            transport: cfg.transport.clone(),
            endpoints: cfg.endpoints(),
        }
    }

    /// The resolved endpoints of the configuration.
    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A publisher's settings: the configured queue, heartbeats in this process's name.
    pub fn publisher_options(&self) -> PublisherOptions {
        PublisherOptions {
            queue_capacity: self.transport.publisher_queue,
            heartbeat: Some(HeartbeatSource {
                process: self.process.clone(),
                interval: self.transport.heartbeat_interval(),
            }),
        }
    }

    /// A subscriber's settings for `topics`, with the configured channel.
    pub fn subscriber_options(&self, topics: &[&str]) -> SubscriberOptions {
        SubscriberOptions {
            topics: topics.iter().map(|t| t.to_string()).collect(),
            channel_capacity: self.transport.subscriber_queue,
        }
    }

    /// How long a replier waits for its handler: `transport.request_timeout_ms`.
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.transport.request_timeout_ms)
    }

    fn error(&self, socket: Socket<'_>, source: TransportError) -> SocketError {
        SocketError {
            process: self.process.clone(),
            socket: socket.name.to_string(),
            key: socket.key.to_string(),
            source,
        }
    }

    /// Binds a publisher (this process's heartbeats on it) at `endpoint`.
    pub async fn bind_publisher(
        &self,
        socket: Socket<'_>,
        endpoint: &Endpoint,
    ) -> Result<Publisher, SocketError> {
        self.bind_publisher_with(socket, endpoint, self.publisher_options())
            .await
    }

    /// Binds a publisher with its own settings (a queue of another size, no heartbeats).
    pub async fn bind_publisher_with(
        &self,
        socket: Socket<'_>,
        endpoint: &Endpoint,
        options: PublisherOptions,
    ) -> Result<Publisher, SocketError> {
        Publisher::bind(socket.name, endpoint, options)
            .await
            .map_err(|e| self.error(socket, e))
    }

    /// A publisher that connects to a bound subscriber (and connects again when it restarts).
    pub fn connect_publisher(&self, name: &str, endpoint: &Endpoint) -> Publisher {
        Publisher::connect(name, endpoint, self.publisher_options())
    }

    /// Binds a subscriber to `topics` at `endpoint`.
    pub async fn bind_subscriber(
        &self,
        socket: Socket<'_>,
        endpoint: &Endpoint,
        topics: &[&str],
    ) -> Result<Subscriber, SocketError> {
        Subscriber::bind(socket.name, endpoint, self.subscriber_options(topics))
            .await
            .map_err(|e| self.error(socket, e))
    }

    /// A subscriber to `topics` connecting to each of `endpoints`.
    pub fn connect_subscriber(
        &self,
        name: &str,
        endpoints: &[Endpoint],
        topics: &[&str],
    ) -> Subscriber {
        Subscriber::connect(name, endpoints, self.subscriber_options(topics))
    }

    /// Binds a replier at `endpoint`; a request its handler leaves unanswered for
    /// [`Sockets::request_timeout`] gets an error reply.
    pub async fn bind_replier(
        &self,
        socket: Socket<'_>,
        endpoint: &Endpoint,
    ) -> Result<Replier, SocketError> {
        Replier::bind(socket.name, endpoint, self.request_timeout())
            .await
            .map_err(|e| self.error(socket, e))
    }

    /// A Lazy Pirate requester to `endpoint` with the configured timeout and retries.
    pub fn requester(&self, endpoint: &Endpoint) -> Requester {
        Requester::new(endpoint, self.transport.requester_options())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config_in(dir: &std::path::Path) -> SystemConfig {
        let mut cfg = SystemConfig::default();
        cfg.runtime.dir = dir.display().to_string();
        cfg.transport.publisher_queue = 7;
        cfg.transport.subscriber_queue = 9;
        cfg.transport.request_timeout_ms = 1234;
        cfg
    }

    #[test]
    fn settings_come_from_the_transport_section() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sockets::new("analyzer", &config_in(dir.path()));
        let p = s.publisher_options();
        assert_eq!(p.queue_capacity, 7);
        let hb = p.heartbeat.unwrap();
        assert_eq!(hb.process, "analyzer");
        assert_eq!(hb.interval, Duration::from_millis(1000));
        let o = s.subscriber_options(&["tracks", "hb"]);
        assert_eq!(o.topics, vec!["tracks".to_string(), "hb".to_string()]);
        assert_eq!(o.channel_capacity, 9);
        assert_eq!(s.request_timeout(), Duration::from_millis(1234));
    }

    #[tokio::test]
    async fn a_socket_bound_twice_names_the_process_socket_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let s = Sockets::new("analyzer", &config_in(dir.path()));
        let ep = s.endpoints().analyzer_rep.clone();
        let socket = Socket {
            name: "analyzer-rep",
            key: "analyzer_rep",
        };
        let _first = s.bind_replier(socket, &ep).await.unwrap();
        let Err(e) = s.bind_replier(socket, &ep).await else {
            panic!("the second bind must fail")
        };
        let e = e.to_string();
        assert!(
            e.contains("analyzer cannot bind its analyzer-rep socket"),
            "{e}"
        );
        assert!(e.contains("transport.analyzer_rep"), "{e}");
    }
}
