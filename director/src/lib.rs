//! Touchline director: turns ball and player tracks into a smooth virtual camera path.
//!
//! - [`planner`]: the look-ahead planner (pure logic, time passed in), built from
//!   [`window`] (the tracks of the look-ahead window), [`framing`] (what each frame should
//!   show), [`smoother`] (minimal-motion path through a tube), [`tracker`] (bounded
//!   tracking of one axis), [`limits`] (poses inside the panorama) and [`view`] (the
//!   perspective model playout renders with);
//! - [`replay`], [`synth`], [`metrics`], [`baselines`], [`report`]: offline replay and
//!   tuning, with the old prototype's rules and a naive follower for comparison;
//! - [`node`] (live mode) and [`publish`] (feeding a recording into a running system).

pub mod baselines;
pub mod checkpoint;
pub mod framing;
pub mod limits;
pub mod metrics;
pub mod node;
pub mod operator;
pub mod planner;
pub mod playout_clock;
pub mod publish;
pub mod replay;
pub mod report;
pub mod rig;
pub mod smoother;
pub mod synth;
pub mod tracker;
pub mod view;
pub mod window;
