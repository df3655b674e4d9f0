//! Rooms and their participants.

mod chat;
mod chat_writer;
pub mod command;
pub mod conn;
mod join;
pub mod media_events;
pub mod participant;
pub mod plane;
mod quality;
mod reactions;
pub mod registry;
mod requests;
mod restore;
pub mod resume;
pub mod room;

pub use command::{JoinRequest, RoomCmd};
pub use conn::{ConnHandle, Outbound};
pub use plane::{Actor, RoomAnswer, RoomOp, RoomPlane};
pub use registry::{Registry, RoomHandle};
