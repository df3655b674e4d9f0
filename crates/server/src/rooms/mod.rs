//! Rooms and their participants.

mod arrival;
mod bans;
mod chat;
pub mod command;
pub mod conn;
pub mod files;
mod join;
pub mod lobby;
pub mod media_events;
mod moderation;
pub mod participant;
pub mod plane;
mod publish;
mod quality;
mod reactions;
mod recording;
pub mod registry;
mod requests;
mod restore;
pub mod resume;
mod roles;
pub mod room;
mod writer;

pub use command::{JoinRequest, PlanSettings, RoomCmd};
pub use conn::{ConnHandle, Link, Outbound};
pub use plane::{Actor, RoomAnswer, RoomOp, RoomPlane};
pub use registry::{Registry, RoomHandle};
