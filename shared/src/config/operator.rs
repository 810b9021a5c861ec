//! `[operator]`: the operator page and API of `launch run`, and the match schedule.

use super::ConfigError;
use crate::schedule::{self, Match, Schedule};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;

/// One scheduled match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchConfig {
    /// Kick-off, RFC 3339 with its offset, e.g. `2026-12-06T15:00:00+01:00`.
    pub start: String,
    /// Length of the match, minutes (recording stops at start + duration).
    pub duration_min: f64,
    /// Recording and streaming start this long before kick-off, minutes.
    #[serde(default = "default_preroll_min")]
    pub preroll_min: f64,
}

fn default_preroll_min() -> f64 {
    15.0
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OperatorConfig {
    /// Address of the operator page and its JSON API (`host:port`); empty: no page. Beyond
    /// the loopback interface a token is required (`operator.token_file`).
    pub http_bind: String,
    /// File holding the access token (one line, at least 16 characters). Required when
    /// `http_bind` is not on the loopback interface; never a default one.
    pub token_file: String,
    /// Matches recorded and streamed unattended. With at least one match, recording and
    /// streaming run only from each match's start minus its pre-roll to its end (and when
    /// started by hand); with none, they run whenever the system runs.
    pub matches: Vec<MatchConfig>,
}

impl Default for OperatorConfig {
    fn default() -> Self {
        Self {
            http_bind: "127.0.0.1:8080".into(),
            token_file: String::new(),
            matches: Vec::new(),
        }
    }
}

impl OperatorConfig {
    /// The page's address, if there is a page.
    pub fn http_addr(&self) -> Option<SocketAddr> {
        self.http_bind.trim().parse().ok()
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if !self.http_bind.trim().is_empty() {
            let addr: SocketAddr = self.http_bind.trim().parse().map_err(|e| {
                ConfigError::invalid(
                    "operator.http_bind",
                    format!(
                        "must be host:port with a numeric host (127.0.0.1:8080, 0.0.0.0:8080), got {:?}: {e}",
                        self.http_bind
                    ),
                )
            })?;
            if !addr.ip().is_loopback() && self.token_file.trim().is_empty() {
                return Err(ConfigError::invalid(
                    "operator.token_file",
                    format!("is required because `operator.http_bind` ({addr}) is reachable from other machines; write a secret of at least 16 characters to a file only the service user can read and name it here"),
                ));
            }
        }
        for (i, m) in self.matches.iter().enumerate() {
            schedule::parse_time(&m.start).map_err(|e| {
                ConfigError::invalid(&format!("operator.matches[{i}].start"), e.to_string())
            })?;
            for (key, v, zero_ok) in [
                ("duration_min", m.duration_min, false),
                ("preroll_min", m.preroll_min, true),
            ] {
                if !(v.is_finite() && (v > 0.0 || zero_ok && v == 0.0) && v <= 24.0 * 60.0) {
                    return Err(ConfigError::invalid(
                        &format!("operator.matches[{i}].{key}"),
                        format!("must be between 0 and 1440 minutes, got {v}"),
                    ));
                }
            }
        }
        Ok(())
    }

    /// The configured matches that have not ended at `now_unix_ns` (call after
    /// [`validate`](Self::validate)).
    pub fn schedule(&self, now_unix_ns: i64) -> Schedule {
        let matches = self
            .matches
            .iter()
            .filter_map(|m| {
                let start = schedule::parse_time(&m.start).ok()?;
                Match::new(
                    start,
                    m.duration_min * 60.0,
                    m.preroll_min * 60.0,
                    now_unix_ns,
                )
                .ok()
            })
            .collect();
        Schedule::new(matches)
    }

    /// Reads the token file (call when the page is served beyond loopback, or a token file
    /// is named).
    pub fn token(&self) -> Result<Option<String>, ConfigError> {
        if self.token_file.trim().is_empty() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(self.token_file.trim()).map_err(|e| {
            ConfigError::invalid(
                "operator.token_file",
                format!(
                    "cannot read {:?}: {e}; create it with a secret of at least 16 characters",
                    self.token_file
                ),
            )
        })?;
        let token = text.trim().to_string();
        if token.len() < 16 {
            return Err(ConfigError::invalid(
                "operator.token_file",
                format!(
                    "{:?} holds {} characters; a token needs at least 16",
                    self.token_file,
                    token.len()
                ),
            ));
        }
        Ok(Some(token))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_is_on_loopback_by_default() {
        let c = OperatorConfig::default();
        c.validate().unwrap();
        assert!(c.http_addr().unwrap().ip().is_loopback());
        assert_eq!(c.token().unwrap(), None);
    }

    #[test]
    fn beyond_loopback_a_token_file_is_required() {
        let c = OperatorConfig {
            http_bind: "0.0.0.0:8080".into(),
            ..Default::default()
        };
        let e = c.validate().unwrap_err().to_string();
        assert!(e.contains("operator.token_file"), "{e}");
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("token");
        std::fs::write(&f, "short\n").unwrap();
        let c = OperatorConfig {
            token_file: f.display().to_string(),
            ..c
        };
        c.validate().unwrap();
        assert!(c.token().unwrap_err().to_string().contains("at least 16"));
        std::fs::write(&f, "0123456789abcdef0123\n").unwrap();
        assert_eq!(c.token().unwrap().as_deref(), Some("0123456789abcdef0123"));
    }

    #[test]
    fn bad_keys_are_named() {
        let bad = |m: MatchConfig| {
            OperatorConfig {
                matches: vec![m],
                ..Default::default()
            }
            .validate()
            .unwrap_err()
            .to_string()
        };
        let ok = MatchConfig {
            start: "2026-12-06T15:00:00+01:00".into(),
            duration_min: 90.0,
            preroll_min: 15.0,
        };
        assert!(bad(MatchConfig {
            start: "3pm".into(),
            ..ok.clone()
        })
        .contains("operator.matches[0].start"));
        assert!(bad(MatchConfig {
            duration_min: 0.0,
            ..ok.clone()
        })
        .contains("operator.matches[0].duration_min"));
        let e = OperatorConfig {
            http_bind: "localhost".into(),
            ..Default::default()
        }
        .validate()
        .unwrap_err()
        .to_string();
        assert!(e.contains("operator.http_bind"), "{e}");
        // Past matches are kept in the file but not in the schedule.
        let c = OperatorConfig {
            matches: vec![ok],
            ..Default::default()
        };
        let kickoff = schedule::parse_time("2026-12-06T15:00:00+01:00").unwrap();
        assert_eq!(c.schedule(kickoff).matches().len(), 1);
        assert_eq!(
            c.schedule(kickoff + 91 * 60 * schedule::NS_PER_S)
                .matches()
                .len(),
            0
        );
    }
}
