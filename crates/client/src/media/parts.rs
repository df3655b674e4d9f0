//! Building blocks for tools that run a session's peer their own way (the load tool runs
//! thousands of receive-only peers in a few shared tasks and sockets): the handle's command set,
//! the received-media bookkeeping and the connection tracking the crate's own sessions use, so
//! that such a session reports exactly what one of ours would. A program joining a meeting needs
//! none of this: [`crate::Meeting`] (or [`crate::MediaSession::start`]) runs everything.

pub use super::command::Command;
pub use super::link::{add_receive_only_line, packet_mid, Link};
pub use super::packets::Assembler;
pub use super::receive::Receiver;
pub use super::stats::LeanStats;
