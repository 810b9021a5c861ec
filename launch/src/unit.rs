//! `launch systemd-unit`: the systemd service for `launch run`, with its stop timeout worked
//! out from the configuration, so that systemd never kills a stop that is still finalising
//! the recording. `deploy/touchline.service` is this unit for the default configuration.

use shared::config::SystemConfig;
use std::path::Path;

/// Margin on top of the processes' stop timeouts, seconds: launch's own stop and the
/// journal.
const STOP_MARGIN_S: u64 = 10;

/// systemd's watchdog: `launch run` pings every third of it; a launch whose loop hangs is
/// killed and restarted by systemd.
pub const WATCHDOG_S: u64 = 30;

/// The most a stop of everything can take: launch stops the processes one at a time, each
/// within `launch.stop_timeout_ms` (capture first shows and records what is left in its
/// delay ring).
pub fn stop_timeout_s(cfg: &SystemConfig) -> u64 {
    let n = cfg.launch.processes.len() as u64;
    (n * cfg.launch.stop_timeout_ms).div_ceil(1000) + STOP_MARGIN_S
}

/// The unit text for `launch run --config <config>` with the binaries in `bin_dir`, run as
/// `user`.
pub fn unit(cfg: &SystemConfig, config: &Path, bin_dir: &Path, user: &str) -> String {
    let n = cfg.launch.processes.len();
    format!(
        "# Touchline: `launch run` under systemd. Made by\n\
         #   launch --config {config} systemd-unit\n\
         # Its stop timeout follows that configuration: make it again after changing\n\
         # launch.processes, launch.stop_timeout_ms or playout.delay_s.\n\
         [Unit]\n\
         Description=Touchline unmanned broadcast camera\n\
         Wants=network-online.target\n\
         After=network-online.target\n\
         # If launch gives up 5 times in 10 minutes, leave the unit failed for a person to look at.\n\
         StartLimitIntervalSec=600\n\
         StartLimitBurst=5\n\
         \n\
         [Service]\n\
         # launch says READY once it supervises, and pings the watchdog from its loop.\n\
         Type=notify\n\
         NotifyAccess=main\n\
         WatchdogSec={WATCHDOG_S}\n\
         User={user}\n\
         Group={user}\n\
         # Cameras, GPU and audio devices.\n\
         SupplementaryGroups=video render audio\n\
         ExecStart={bin}/launch run --config {config}\n\
         # /run/touchline, owned by the service user, mode 0700; set `[runtime] dir = \"/run/touchline\"`.\n\
         RuntimeDirectory=touchline\n\
         RuntimeDirectoryMode=0700\n\
         # SIGTERM goes to launch only, which stops the processes in reverse order, one at a\n\
         # time, each within launch.stop_timeout_ms ({stop_ms} ms); capture first shows and\n\
         # records the {delay} s still in its delay ring. {n} processes x {stop_ms} ms + {STOP_MARGIN_S} s:\n\
         KillMode=mixed\n\
         KillSignal=SIGTERM\n\
         TimeoutStopSec={stop_s}\n\
         # launch exits non-zero when it gives up (restart limit, usage error, missing program\n\
         # or GStreamer element).\n\
         Restart=on-failure\n\
         RestartSec=5\n\
         Environment=RUST_BACKTRACE=0\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        config = config.display(),
        bin = bin_dir.display(),
        stop_ms = cfg.launch.stop_timeout_ms,
        delay = cfg.playout.delay_s,
        stop_s = stop_timeout_s(cfg),
    )
}

/// A stop timeout too short for capture to show and record the delay ring's content would
/// have capture killed in the middle of it, losing the end of the recording.
pub fn check_stop_timeout(cfg: &SystemConfig) -> anyhow::Result<()> {
    let supervises_capture = cfg
        .launch
        .processes
        .iter()
        .any(|p| p.name == "capture" || Path::new(&p.program).ends_with("capture"));
    if !supervises_capture {
        return Ok(());
    }
    // Showing 1 s of programme takes well under 1 s at work; 3 s more for the encoders.
    let needed_ms = (cfg.playout.delay_s * 1000.0) as u64 + 3000;
    if cfg.launch.stop_timeout_ms < needed_ms {
        anyhow::bail!(
            "config key `launch.stop_timeout_ms` ({}) is too short for `playout.delay_s` ({} s): \
             capture shows and records what is still in its delay ring when it stops; set it \
             to at least {needed_ms}",
            cfg.launch.stop_timeout_ms,
            cfg.playout.delay_s
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_unit_is_the_one_for_the_default_configuration() {
        let made = unit(
            &SystemConfig::default(),
            Path::new("/etc/touchline/touchline.toml"),
            Path::new("/opt/touchline/bin"),
            "touchline",
        );
        let shipped = include_str!("../../deploy/touchline.service");
        assert_eq!(
            made, shipped,
            "deploy/touchline.service is stale: write it with `launch --config <defaults> systemd-unit`"
        );
    }

    #[test]
    fn the_stop_timeout_follows_the_configuration() {
        let mut cfg = SystemConfig::default();
        // 3 processes x 15 s + 10 s.
        assert_eq!(stop_timeout_s(&cfg), 55);
        cfg.launch.stop_timeout_ms = 20_000;
        assert_eq!(stop_timeout_s(&cfg), 70);
        let text = unit(&cfg, Path::new("/c.toml"), Path::new("/b"), "u");
        assert!(text.contains("TimeoutStopSec=70\n"), "{text}");
        assert!(
            text.contains("ExecStart=/b/launch run --config /c.toml\n"),
            "{text}"
        );
    }

    #[test]
    fn a_stop_timeout_shorter_than_the_delay_is_refused_naming_both_keys() {
        let mut cfg = SystemConfig::default();
        check_stop_timeout(&cfg).unwrap();
        cfg.playout.delay_s = 20.0;
        let e = check_stop_timeout(&cfg).unwrap_err().to_string();
        assert!(
            e.contains("launch.stop_timeout_ms") && e.contains("playout.delay_s"),
            "{e}"
        );
    }
}
