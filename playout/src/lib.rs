//! Playout: the delay ring of frame references, the pose store, the virtual camera and the
//! outputs. Hosted by `capture`. Parts arrive with their issue; nothing here yet is a stand-in.
