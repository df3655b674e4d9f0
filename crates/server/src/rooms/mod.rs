//! Rooms and their participants.

pub mod command;
pub mod conn;
pub mod media_events;
pub mod participant;
pub mod registry;
pub mod room;

pub use command::{JoinRequest, RoomCmd};
pub use conn::{ConnHandle, Outbound};
pub use registry::{Registry, RoomHandle};
