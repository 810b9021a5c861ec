//! Lower scheduling priority for the detector's threads, so that on a busy CPU the stitcher,
//! playout and encoders run first and the detector takes what is left (its hand-off skips
//! frames instead of falling behind).

/// Sets the calling thread's niceness (Linux: per thread). Failures are logged, not fatal.
pub fn lower_current_thread(nice: i32) {
    if nice <= 0 {
        return;
    }
    #[cfg(target_os = "linux")]
    {
        // SAFETY: plain system calls on the calling thread's own id.
        let rc = unsafe {
            let tid = libc::gettid();
            libc::setpriority(libc::PRIO_PROCESS, tid as libc::id_t, nice)
        };
        if rc != 0 {
            tracing::warn!(
                message = "Cannot lower the detector thread's priority.",
                nice,
                error = %std::io::Error::last_os_error()
            );
        }
    }
}

/// A rayon pool of `threads` threads named `name-N`, each at niceness `nice`.
pub fn pool(threads: usize, name: &'static str, nice: i32) -> Result<rayon::ThreadPool, String> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .thread_name(move |i| format!("{name}-{i}"))
        .start_handler(move |_| lower_current_thread(nice))
        .build()
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    #[test]
    fn pool_threads_run_at_the_asked_niceness() {
        let p = super::pool(1, "nice-test", 5).unwrap();
        #[cfg(target_os = "linux")]
        {
            let n = p.install(|| unsafe {
                libc::getpriority(libc::PRIO_PROCESS, libc::gettid() as libc::id_t)
            });
            assert!(n >= 5, "niceness {n}");
        }
        drop(p);
    }
}
