//! For tests that compare a kernel with its CPU reference: the GPU if there is one; without
//! one the GPU part is skipped with a message, unless `TOUCHLINE_REQUIRE_GPU=1` (set on the
//! GPU machine) makes a missing GPU a failure.

use super::device::Gpu;
use std::sync::Arc;

/// Environment variable that makes the GPU comparisons mandatory.
pub const REQUIRE_GPU_ENV: &str = "TOUCHLINE_REQUIRE_GPU";

/// True when the GPU comparisons must run.
pub fn gpu_required() -> bool {
    std::env::var(REQUIRE_GPU_ENV).is_ok_and(|v| v == "1")
}

/// The GPU for a test, or `None` (after saying so) when there is none and none is required.
pub fn gpu_for_test(test: &str) -> Option<Arc<Gpu>> {
    match Gpu::open(0) {
        Ok(g) => Some(g),
        Err(e) if gpu_required() => panic!("{test}: {REQUIRE_GPU_ENV}=1 but {e}"),
        Err(e) => {
            eprintln!("{test}: GPU comparison skipped ({e}); CPU reference checked only");
            None
        }
    }
}
