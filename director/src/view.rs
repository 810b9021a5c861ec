//! The virtual camera's perspective model: playout's own, from `shared::geometry::view`, with
//! the output's aspect and roll from `[playout]` (see [`crate::rig::Rig::from_system`]).
//!
//! - A pose is `(yaw, pitch, fov)` in degrees: the view centre's panorama longitude and
//!   latitude, and the horizontal field of view.
//! - Image coordinates are normalised to the frame: `(-1, -1)` is the bottom-left corner,
//!   `(1, 1)` the top-right one, so a point is in frame when both lie in `[-1, 1]`, and in
//!   a centred safe zone of relative size `(w, h)` when `|x| <= w` and `|y| <= h`.

pub use shared::geometry::view::{FrustumExtent, Pose, ViewModel};
