//! Newtype identifiers. They are strings on the wire so that ids made on different nodes never collide
//! and so that a JavaScript client never loses precision.

use serde::{Deserialize, Serialize};
use std::fmt;

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub String);

        impl $name {
            pub fn new(s: impl Into<String>) -> Self {
                Self(s.into())
            }
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl From<&str> for $name {
            fn from(s: &str) -> Self {
                Self(s.to_owned())
            }
        }
    };
}

string_id!(
    /// A room's canonical (lower-case) name, as validated by the server.
    RoomId
);
string_id!(
    /// A participant, assigned by the server at join and kept across a resume.
    ParticipantId
);
string_id!(
    /// A published media track (microphone, camera or screen), assigned by the server.
    TrackId
);
