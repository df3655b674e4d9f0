//! Sockets.

pub mod listener;
