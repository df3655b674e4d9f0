//! Connection quality: what a client measures of its own link (loss, round-trip time) and the level it
//! makes of them, published with `set_connection_quality` and shown to the others in its participant.

use serde::{Deserialize, Serialize};

use crate::messages::ClientMessage;

/// Three levels, as a client rates its link (docs/sdk.md gives the SDK's thresholds).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QualityLevel {
    Good,
    Poor,
    Bad,
}

/// A participant's connection quality as its own client reported it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConnectionQuality {
    pub level: QualityLevel,
    /// Packets lost, percent (0 to 100), the worse of the two directions.
    pub loss_pct: f64,
    /// Round-trip time to the server, ms.
    pub rtt_ms: u32,
}

/// Highest `set_connection_quality.loss_pct`.
pub const MAX_LOSS_PCT: f64 = 100.0;
/// Highest `set_connection_quality.rtt_ms`: a minute; a link slower than that has long been dropped.
pub const MAX_RTT_MS: u32 = 60_000;

/// A number outside its range. The message names the field and the range.
#[derive(Clone, Debug, PartialEq)]
pub struct OutOfRange {
    pub field: &'static str,
    pub min: f64,
    pub max: f64,
}

impl std::fmt::Display for OutOfRange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "`{}` must be from {} to {}",
            self.field, self.min, self.max
        )
    }
}

impl ClientMessage {
    /// Checks the numbers that have a range (the strings' bounds are in limits.rs).
    pub fn check_ranges(&self) -> Result<(), OutOfRange> {
        let ClientMessage::SetConnectionQuality {
            level: _,
            loss_pct,
            rtt_ms,
        } = self
        else {
            return Ok(());
        };
        // JSON has no NaN or infinity, but a Rust caller could build one.
        if !(0.0..=MAX_LOSS_PCT).contains(loss_pct) {
            return Err(OutOfRange {
                field: "loss_pct",
                min: 0.0,
                max: MAX_LOSS_PCT,
            });
        }
        if *rtt_ms > MAX_RTT_MS {
            return Err(OutOfRange {
                field: "rtt_ms",
                min: 0.0,
                max: f64::from(MAX_RTT_MS),
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{parse_client_message, ErrorCode};

    fn msg(level: &str, loss: &str, rtt: &str) -> String {
        format!(
            r#"{{"type":"set_connection_quality","level":"{level}","loss_pct":{loss},"rtt_ms":{rtt}}}"#
        )
    }

    #[test]
    fn the_levels_and_the_range_ends_parse() {
        for (level, want) in [
            ("good", QualityLevel::Good),
            ("poor", QualityLevel::Poor),
            ("bad", QualityLevel::Bad),
        ] {
            for (loss, rtt) in [("0", "0"), ("2.5", "120"), ("100", "60000")] {
                let m = parse_client_message(&msg(level, loss, rtt))
                    .unwrap_or_else(|e| panic!("{level} {loss} {rtt}: {e:?}"));
                let ClientMessage::SetConnectionQuality { level, .. } = m else {
                    panic!("{m:?}")
                };
                assert_eq!(level, want);
            }
        }
    }

    #[test]
    fn out_of_range_and_malformed_are_invalid_message() {
        let cases = [
            (msg("good", "100.1", "10"), Some("loss_pct")),
            (msg("good", "-0.5", "10"), Some("loss_pct")),
            (msg("good", "1", "60001"), Some("rtt_ms")),
            (msg("good", "1", "-1"), None),
            (msg("good", "1", "10.5"), None),
            (msg("fine", "1", "10"), None),
            (
                r#"{"type":"set_connection_quality","level":"good","loss_pct":1}"#.into(),
                None,
            ),
        ];
        for (text, field) in cases {
            let e = parse_client_message(&text).expect_err(&text);
            assert_eq!(e.code, ErrorCode::InvalidMessage, "{text}");
            assert_eq!(e.request.as_deref(), Some("set_connection_quality"));
            if let Some(field) = field {
                assert!(e.message.contains(&format!("`{field}`")), "{}", e.message);
            }
        }
    }

    #[test]
    fn a_caller_cannot_slip_a_nan_through() {
        let m = ClientMessage::SetConnectionQuality {
            level: QualityLevel::Good,
            loss_pct: f64::NAN,
            rtt_ms: 1,
        };
        assert_eq!(m.check_ranges().unwrap_err().field, "loss_pct");
    }

    #[test]
    fn the_protocol_document_states_the_ranges() {
        let doc = include_str!("../../../docs/protocol.md");
        for (field, range) in [
            ("`set_connection_quality.loss_pct`", "0 to 100"),
            ("`set_connection_quality.rtt_ms`", "0 to 60,000"),
        ] {
            let row = doc
                .lines()
                .find(|l| l.starts_with('|') && l.contains(field))
                .unwrap_or_else(|| panic!("docs/protocol.md has no range for {field}"));
            assert!(row.contains(range), "{field}: `{row}` should say {range}");
        }
    }
}
