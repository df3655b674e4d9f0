//! WebSocket close codes the server uses (docs/protocol.md, *WebSocket close codes*): the standard
//! ones it sends, and the protocol's own in the 4000 range.

/// After `leave`, and when the meeting was ended for everyone.
pub const NORMAL: u16 = 1000;
/// Server shutdown, or no keepalive within the idle timeout.
pub const GOING_AWAY: u16 = 1001;
/// A WebSocket protocol violation.
pub const PROTOCOL: u16 = 1002;
/// A text frame that is not valid UTF-8.
pub const INVALID_DATA: u16 = 1007;
/// Rate limit exceeded persistently, or too slow to receive.
pub const POLICY: u16 = 1008;
/// A frame over the size limit.
pub const TOO_BIG: u16 = 1009;
/// This participant resumed on a newer connection.
pub const REPLACED: u16 = 4001;
/// Removed by a host, or turned away from the lobby.
pub const REMOVED: u16 = 4003;

/// Every code above.
pub const ALL: &[u16] = &[
    NORMAL,
    GOING_AWAY,
    PROTOCOL,
    INVALID_DATA,
    POLICY,
    TOO_BIG,
    REPLACED,
    REMOVED,
];

#[cfg(test)]
mod tests {
    #[test]
    fn the_protocol_document_lists_every_close_code() {
        let doc = include_str!("../../../docs/protocol.md");
        let table = doc
            .split("## WebSocket close codes")
            .nth(1)
            .expect("the close codes section");
        for code in super::ALL {
            assert!(
                table.contains(&format!("| {code} |")),
                "close code {code} is not in docs/protocol.md"
            );
        }
    }
}
