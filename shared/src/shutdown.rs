//! SIGINT/SIGTERM handling with `nix`: the signals are blocked in every thread and taken by
//! one dedicated thread with `sigwait`, which then notifies the async side through a watch
//! channel (a broadcast shutdown signal in the style of mini-redis).

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use tokio::sync::watch;

/// The signal that asked for shutdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShutdownReason {
    Interrupt,
    Terminate,
    /// Asked for by the program itself (end of input, a control command).
    Requested,
}

/// Receives the shutdown request. Cloneable; every holder sees it.
#[derive(Debug, Clone)]
pub struct Shutdown {
    rx: watch::Receiver<Option<ShutdownReason>>,
    tx: watch::Sender<Option<ShutdownReason>>,
}

impl Shutdown {
    /// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it spawns
    /// afterwards) and starts the signal thread. Call first thing in `main`, before any
    /// other thread or runtime exists.
    pub fn install() -> std::io::Result<Shutdown> {
        let mut set = SigSet::empty();
        set.add(Signal::SIGINT);
        set.add(Signal::SIGTERM);
        nix::sys::signal::pthread_sigmask(SigmaskHow::SIG_BLOCK, Some(&set), None)
            .map_err(std::io::Error::from)?;
        let shutdown = Shutdown::manual();
        let tx = shutdown.tx.clone();
        std::thread::Builder::new()
            .name("signals".into())
            .spawn(move || loop {
                let reason = match set.wait() {
                    Ok(Signal::SIGINT) => ShutdownReason::Interrupt,
                    Ok(_) => ShutdownReason::Terminate,
                    Err(_) => continue,
                };
                if tx.borrow().is_some() {
                    // Second signal while shutting down: leave at once.
                    eprintln!("second {reason:?} signal: exiting now");
                    std::process::exit(130);
                }
                let _ = tx.send(Some(reason));
            })?;
        Ok(shutdown)
    }

    /// A shutdown signal not tied to OS signals (tests, embedded use).
    pub fn manual() -> Shutdown {
        let (tx, rx) = watch::channel(None);
        Shutdown { rx, tx }
    }

    /// Requests shutdown from inside the program.
    pub fn request(&self) {
        let _ = self.tx.send(Some(ShutdownReason::Requested));
    }

    /// The reason, once shutdown was requested.
    pub fn reason(&self) -> Option<ShutdownReason> {
        *self.rx.borrow()
    }

    /// Waits until shutdown is requested.
    pub async fn wait(&mut self) -> ShutdownReason {
        loop {
            if let Some(r) = *self.rx.borrow_and_update() {
                return r;
            }
            if self.rx.changed().await.is_err() {
                return ShutdownReason::Requested;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn request_wakes_every_clone() {
        let s = Shutdown::manual();
        let mut a = s.clone();
        let mut b = s.clone();
        assert_eq!(s.reason(), None);
        s.request();
        assert_eq!(a.wait().await, ShutdownReason::Requested);
        assert_eq!(b.wait().await, ShutdownReason::Requested);
    }
}
