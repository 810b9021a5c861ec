//! Versioned MessagePack encoding of [`Message`].

use super::{Message, MessageKind, MAX_MESSAGE_BYTES};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Why a payload could not be decoded.
#[derive(Debug, Error)]
pub enum DecodeError {
    #[error("unknown topic {0:?}")]
    UnknownTopic(String),
    #[error("{kind} payload has wire version {found}, this build reads version {supported}")]
    UnsupportedVersion {
        kind: MessageKind,
        found: u16,
        supported: u16,
    },
    #[error("malformed {kind} payload ({len} bytes): {reason}")]
    Malformed {
        kind: MessageKind,
        len: usize,
        reason: String,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Error)]
pub enum EncodeError {
    #[error("cannot serialise {kind}: {reason}")]
    Serialize { kind: MessageKind, reason: String },
    #[error("{kind} message is {len} bytes, over the {max} byte limit")]
    TooLarge {
        kind: MessageKind,
        len: usize,
        max: usize,
    },
}

#[derive(Serialize)]
struct Envelope<'a, T: Serialize> {
    v: u16,
    #[serde(flatten)]
    body: &'a T,
}

#[derive(Deserialize)]
struct VersionProbe {
    v: u16,
}

fn encode_body<T: Serialize>(kind: MessageKind, body: &T) -> Result<Vec<u8>, EncodeError> {
    let bytes = rmp_serde::to_vec_named(&Envelope {
        v: kind.version(),
        body,
    })
    .map_err(|e| EncodeError::Serialize {
        kind,
        reason: e.to_string(),
    })?;
    if bytes.len() > MAX_MESSAGE_BYTES {
        return Err(EncodeError::TooLarge {
            kind,
            len: bytes.len(),
            max: MAX_MESSAGE_BYTES,
        });
    }
    Ok(bytes)
}

/// Encodes a message's payload (without the topic frame), refusing payloads over
/// [`MAX_MESSAGE_BYTES`].
pub fn encode(message: &Message) -> Result<Vec<u8>, EncodeError> {
    let kind = message.kind();
    match message {
        Message::FrameTick(m) => encode_body(kind, m),
        Message::RawDetections(m) => encode_body(kind, m),
        Message::Tracks(m) => encode_body(kind, m),
        Message::CameraPath(m) => encode_body(kind, m),
        Message::PlayoutStatus(m) => encode_body(kind, m),
        Message::Heartbeat(m) => encode_body(kind, m),
        Message::SnapshotRequest(m) => encode_body(kind, m),
        Message::SnapshotReply(m) => encode_body(kind, m),
        Message::Operator(m) => encode_body(kind, m),
    }
}

fn decode_body<T: DeserializeOwned>(kind: MessageKind, payload: &[u8]) -> Result<T, DecodeError> {
    let malformed = |e: rmp_serde::decode::Error| DecodeError::Malformed {
        kind,
        len: payload.len(),
        reason: e.to_string(),
    };
    let probe: VersionProbe = rmp_serde::from_slice(payload).map_err(malformed)?;
    if probe.v != kind.version() {
        return Err(DecodeError::UnsupportedVersion {
            kind,
            found: probe.v,
            supported: kind.version(),
        });
    }
    rmp_serde::from_slice(payload).map_err(malformed)
}

/// Decodes a payload received under `topic`.
pub fn decode(topic: &[u8], payload: &[u8]) -> Result<Message, DecodeError> {
    let kind = MessageKind::from_topic(topic)
        .ok_or_else(|| DecodeError::UnknownTopic(String::from_utf8_lossy(topic).into_owned()))?;
    Ok(match kind {
        MessageKind::FrameTick => Message::FrameTick(decode_body(kind, payload)?),
        MessageKind::RawDetections => Message::RawDetections(decode_body(kind, payload)?),
        MessageKind::Tracks => Message::Tracks(decode_body(kind, payload)?),
        MessageKind::CameraPath => Message::CameraPath(decode_body(kind, payload)?),
        MessageKind::PlayoutStatus => Message::PlayoutStatus(decode_body(kind, payload)?),
        MessageKind::Heartbeat => Message::Heartbeat(decode_body(kind, payload)?),
        MessageKind::SnapshotRequest => Message::SnapshotRequest(decode_body(kind, payload)?),
        MessageKind::SnapshotReply => Message::SnapshotReply(decode_body(kind, payload)?),
        MessageKind::Operator => Message::Operator(decode_body(kind, payload)?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::*;
    use rand::{Rng, SeedableRng};

    fn samples() -> Vec<Message> {
        let ball = BallState {
            x_m: 52.5,
            y_m: 34.0,
            z_m: 1.5,
            vx_mps: 10.0,
            vy_mps: -2.0,
            vz_mps: 3.0,
            px: 2850.0,
            py: 1100.5,
            confidence: 0.9,
            status: TrackStatus::Tracked,
        };
        let players = PlayersSummary {
            count: 20,
            cx_m: 50.0,
            cy_m: 30.0,
            spread_x_m: 12.0,
            spread_y_m: 8.0,
        };
        let tracks = Tracks {
            pts_ns: 40_000_000,
            ball: Some(ball),
            players: Some(players),
        };
        let status = PlayoutStatus {
            live_pts: 7_000_000_000,
            playout_pts: 0,
            ring_depth: 175,
            ring_capacity: 180,
            fallback_active: true,
            frames_in: 175,
            frames_out: 0,
            frames_dropped: 0,
            frames_late: 0,
            pose: None,
            path_id: 0,
            outputs: vec![OutputHealth {
                name: "srt://127.0.0.1:9000".into(),
                state: OutputState::Running,
                restarts: 1,
                frames: 175,
                bytes: 1_000_000,
                dropped: 3,
                file: None,
                last_error: Some("Connection lost".into()),
            }],
            cameras: vec![CameraHealth {
                name: "left".into(),
                state: CameraState::Running,
                restarts: 0,
                frames: 180,
                silent_ms: 12,
                last_error: None,
            }],
            recording: RecordingStatus {
                on: true,
                switched_unix_ns: 1_700_000_000_000_000_000,
                switched_live_pts: 40_000_000,
                applied_pts: 0,
            },
        };
        vec![
            Message::FrameTick(FrameTick {
                pts_ns: 40_000_000,
                seq: 1,
                width: 5700,
                height: 1900,
            }),
            Message::RawDetections(RawDetections {
                pts_ns: 40_000_000,
                seq: 1,
                classes: vec!["ball".into(), "player".into()],
                detections: vec![Detection {
                    cx: 10.0,
                    cy: 20.0,
                    w: 8.0,
                    h: 8.0,
                    class_id: 0,
                    score: 0.8,
                    tile: 3,
                }],
                inference_us: 12_000,
                region: None,
                motion: false,
            }),
            Message::RawDetections(RawDetections {
                pts_ns: 80_000_000,
                seq: 2,
                classes: vec!["ball".into()],
                detections: vec![],
                inference_us: 3_000,
                region: Some([544, 0, 640, 640]),
                motion: false,
            }),
            Message::RawDetections(RawDetections {
                pts_ns: 120_000_000,
                seq: 3,
                classes: vec!["ball".into()],
                detections: vec![Detection {
                    cx: 300.0,
                    cy: 200.0,
                    w: 4.0,
                    h: 4.0,
                    class_id: 0,
                    score: 0.5,
                    tile: 0,
                }],
                inference_us: 900,
                region: None,
                motion: true,
            }),
            Message::Tracks(tracks.clone()),
            Message::Tracks(Tracks {
                pts_ns: 1,
                ball: None,
                players: None,
            }),
            Message::CameraPath(CameraPath {
                path_id: 7,
                keyframes: vec![Keyframe {
                    pts_ns: 1,
                    yaw: -10.0,
                    pitch: -5.0,
                    fov: 40.0,
                }],
            }),
            Message::PlayoutStatus(status.clone()),
            Message::Heartbeat(Heartbeat {
                process: "capture".into(),
                pid: 42,
                seq: 3,
                uptime_ms: 3000,
                problem: None,
                metrics: Default::default(),
            }),
            Message::SnapshotRequest(SnapshotRequest {
                kind: SnapshotKind::Tracks,
                since_pts_ns: 0,
            }),
            Message::SnapshotReply(SnapshotReply {
                kind: SnapshotKind::Tracks,
                tracks: vec![tracks],
                playout: Some(status),
                truncated: false,
            }),
            Message::Operator(OperatorState {
                seq: 2,
                camera: CameraMode::Manual {
                    yaw: -12.5,
                    pitch: -4.0,
                    fov: 35.0,
                },
                record: true,
                changed_unix_ns: 1_700_000_000_000_000_000,
            }),
            Message::Operator(OperatorState {
                seq: 3,
                camera: CameraMode::Wide,
                record: false,
                changed_unix_ns: 1,
            }),
        ]
    }

    #[test]
    fn every_kind_round_trips() {
        let msgs = samples();
        for kind in MessageKind::ALL {
            assert!(
                msgs.iter().any(|m| m.kind() == kind),
                "no sample for {kind}"
            );
        }
        for m in msgs {
            let bytes = encode(&m).unwrap();
            let back = decode(m.topic().as_bytes(), &bytes).unwrap();
            assert_eq!(back, m);
        }
    }

    #[test]
    fn payload_is_a_named_map_starting_with_version() {
        for m in samples() {
            let bytes = encode(&m).unwrap();
            let value: rmpv::Value = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
            let map = value.as_map().expect("payload is a map");
            assert_eq!(map[0].0.as_str(), Some("v"), "{}", m.kind());
            assert_eq!(map[0].1.as_u64(), Some(1));
        }
    }

    #[test]
    fn a_whole_frame_detections_message_is_what_it_was_before_regions() {
        // No `region` key when the whole panorama was analysed, no `motion` key when the
        // detector looked: readers and recordings from before the keys existed read it, and
        // they read as `None` and `false`.
        for m in samples() {
            let Message::RawDetections(d) = &m else {
                continue;
            };
            let bytes = encode(&m).unwrap();
            let value = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
            let has = |key: &str| {
                value
                    .as_map()
                    .unwrap()
                    .iter()
                    .any(|(k, _)| k.as_str() == Some(key))
            };
            assert_eq!(has("region"), d.region.is_some(), "{d:?}");
            assert_eq!(has("motion"), d.motion, "{d:?}");
        }
    }

    #[test]
    fn unknown_version_is_a_typed_error() {
        for m in samples() {
            let value = rmpv::decode::read_value(&mut &encode(&m).unwrap()[..]).unwrap();
            let mut map = value.as_map().unwrap().clone();
            map[0].1 = rmpv::Value::from(99u16);
            let mut bytes = Vec::new();
            rmpv::encode::write_value(&mut bytes, &rmpv::Value::Map(map)).unwrap();
            match decode(m.topic().as_bytes(), &bytes) {
                Err(DecodeError::UnsupportedVersion { found: 99, .. }) => {}
                other => panic!("{}: expected UnsupportedVersion, got {other:?}", m.kind()),
            }
        }
    }

    #[test]
    fn unknown_topic_is_a_typed_error() {
        assert!(matches!(
            decode(b"nope", &[0x80]),
            Err(DecodeError::UnknownTopic(t)) if t == "nope"
        ));
    }

    #[test]
    fn truncated_payloads_are_errors_not_panics() {
        for m in samples() {
            let bytes = encode(&m).unwrap();
            for cut in 0..bytes.len() {
                let r = decode(m.topic().as_bytes(), &bytes[..cut]);
                assert!(r.is_err(), "{} cut at {cut} decoded", m.kind());
            }
        }
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for kind in MessageKind::ALL {
            for _ in 0..2000 {
                let len = rng.gen_range(0..64);
                let bytes: Vec<u8> = (0..len).map(|_| rng.gen()).collect();
                let _ = decode(kind.topic().as_bytes(), &bytes);
            }
            // Random mutations of a valid payload, too.
            let valid = encode(&samples().into_iter().find(|m| m.kind() == kind).unwrap()).unwrap();
            for _ in 0..2000 {
                let mut b = valid.clone();
                let i = rng.gen_range(0..b.len());
                b[i] = rng.gen();
                let _ = decode(kind.topic().as_bytes(), &b);
            }
        }
    }

    #[test]
    fn oversize_message_is_refused() {
        let big = Message::RawDetections(RawDetections {
            pts_ns: 0,
            seq: 0,
            classes: vec![],
            detections: (0..5000)
                .map(|i| Detection {
                    cx: i as f32,
                    cy: 0.0,
                    w: 1.0,
                    h: 1.0,
                    class_id: 1,
                    score: 0.5,
                    tile: 0,
                })
                .collect(),
            inference_us: 0,
            region: None,
            motion: false,
        });
        assert!(matches!(encode(&big), Err(EncodeError::TooLarge { .. })));
    }
}
