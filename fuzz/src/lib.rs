//! What the fuzz targets share: a reader that turns fuzz bytes into choices, the media core's
//! virtual-time test world (the media crate's own test harness, included rather than copied), and
//! STUN signing.

pub mod bytes;
pub mod media;
pub mod stun;

/// The media crate's test client and simulated network (crates/media/tests/sfu), so that the
/// targets set sessions up exactly as those tests do.
#[path = "../../crates/media/tests/sfu/client.rs"]
pub mod client;
#[path = "../../crates/media/tests/sfu/sim.rs"]
pub mod sim;
