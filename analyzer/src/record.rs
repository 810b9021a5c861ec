//! Recording: `analyzer record` (subscribe to any publishers and write what arrives), and the
//! analyzer's own input/output recorder.

use shared::messages::{encode, Message};
use shared::recording::{RecordingError, RecordingWriter};
use shared::shutdown::Shutdown;
use shared::transport::{Endpoint, Received, Subscriber, SubscriberOptions};
use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

/// The analyzer's recorder of its own input (raw detections) and output (tracks). A write
/// error stops recording (counted and logged once) but never the analyzer.
pub struct SelfRecorder {
    writer: Option<RecordingWriter>,
    /// Records written.
    pub written: u64,
    /// Records not written because of an earlier write error.
    pub failed: u64,
}

impl SelfRecorder {
    pub fn create(path: &Path) -> Result<SelfRecorder, RecordingError> {
        Ok(SelfRecorder {
            writer: Some(RecordingWriter::create(
                path,
                "analyzer",
                "analyzer input (dets) and output (tracks)",
            )?),
            written: 0,
            failed: 0,
        })
    }

    fn write(&mut self, recv_unix_ns: u64, topic: &str, payload: &[u8]) {
        let Some(w) = self.writer.as_mut() else {
            self.failed += 1;
            return;
        };
        match w.write_message(recv_unix_ns, topic, payload) {
            Ok(()) => self.written += 1,
            Err(error) => {
                tracing::warn!(message = "Recording failed; recording stops.", %error);
                self.failed += 1;
                self.writer = None;
            }
        }
    }

    /// Records a received message as it came.
    pub fn input(&mut self, r: &Received) {
        let topic = String::from_utf8_lossy(&r.topic).into_owned();
        self.write(r.recv_unix_ns, &topic, &r.payload);
    }

    /// Records a message the analyzer sends.
    pub fn output(&mut self, recv_unix_ns: u64, m: &Message) {
        if let Ok(payload) = encode(m) {
            self.write(recv_unix_ns, m.topic(), &payload);
        }
    }

    /// Flushes and closes the file.
    pub fn finish(mut self) -> Result<u64, RecordingError> {
        match self.writer.take() {
            Some(w) => w.finish(),
            None => Ok(self.written),
        }
    }
}

/// What `analyzer record` wrote.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RecordSummary {
    pub records: u64,
    pub by_topic: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// Subscribes to every topic of `endpoints` and writes what arrives to `output` until
/// `seconds` have passed (if given) or shutdown is requested; then finishes the file.
pub async fn record(
    endpoints: &[Endpoint],
    output: &Path,
    seconds: Option<f64>,
    mut shutdown: Shutdown,
) -> Result<RecordSummary, RecordingError> {
    let description = endpoints
        .iter()
        .map(|e| e.to_string())
        .collect::<Vec<_>>()
        .join(" ");
    let mut writer = RecordingWriter::create(output, "analyzer record", &description)?;
    let mut sub = Subscriber::connect("recorder", endpoints, SubscriberOptions::default());
    let started = tokio::time::Instant::now();
    let deadline = seconds.map(|s| started + Duration::from_secs_f64(s.max(0.0)));
    let mut summary = RecordSummary::default();
    let mut flush = tokio::time::interval(Duration::from_secs(1));
    loop {
        let until_deadline = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = until_deadline => break,
            _ = shutdown.wait() => break,
            _ = flush.tick() => writer.flush()?,
            r = sub.recv() => {
                let Some(r) = r else { break };
                let topic = String::from_utf8_lossy(&r.topic).into_owned();
                writer.write_message(r.recv_unix_ns, &topic, &r.payload)?;
                summary.records += 1;
                *summary.by_topic.entry(topic).or_default() += 1;
            }
        }
    }
    writer.finish()?;
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}
