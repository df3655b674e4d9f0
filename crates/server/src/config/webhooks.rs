//! The `[webhooks]` section: where events go, and how hard the server tries.

use serde::{Deserialize, Serialize};

use super::ConfigError;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WebhooksConfig {
    /// Endpoints from the file (the API adds more). Each is `{ url, secret, events }`.
    pub endpoints: Vec<WebhookEndpointConfig>,
    /// Deliver to loopback, link-local and private addresses too. Off: such an endpoint is
    /// refused (a webhook must not become a way to reach the server's own network).
    pub allow_private: bool,
    /// How long an event is retried before it is given up on, in hours.
    pub retry_hours: u64,
    /// The first retry's wait, in milliseconds; it doubles up to `retry_max_secs`.
    pub retry_initial_ms: u64,
    pub retry_max_secs: u64,
    /// One delivery's time limit (connect, send, answer), in seconds.
    pub timeout_secs: u64,
    /// The most of an answer's body that is read.
    pub max_response_bytes: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookEndpointConfig {
    pub url: String,
    /// Signs each delivery (HMAC-SHA256); at least 16 characters.
    pub secret: String,
    /// Event kinds to send; empty or absent: every kind.
    #[serde(default)]
    pub events: Vec<String>,
}

impl Default for WebhooksConfig {
    fn default() -> Self {
        Self {
            endpoints: Vec::new(),
            allow_private: false,
            retry_hours: 24,
            retry_initial_ms: 1000,
            retry_max_secs: 300,
            timeout_secs: 10,
            max_response_bytes: 64 * 1024,
        }
    }
}

impl WebhooksConfig {
    pub(super) fn validate(&self) -> Result<(), ConfigError> {
        let bad = |key: &str, why: String| {
            Err(ConfigError::Invalid {
                key: key.into(),
                reason: why,
            })
        };
        if self.timeout_secs == 0 || self.retry_initial_ms == 0 || self.retry_max_secs == 0 {
            return bad(
                "webhooks",
                "timeout_secs, retry_initial_ms and retry_max_secs must be at least 1".into(),
            );
        }
        for e in &self.endpoints {
            let target = match crate::webhooks::target::parse_url(&e.url) {
                Ok(t) => t,
                Err(why) => return bad("webhooks.endpoints.url", format!("{:?}: {why}", e.url)),
            };
            // A literal internal address (or `localhost`) is refused here; a name is checked at
            // each delivery, since what it resolves to can change.
            let literal = match target.host.as_str() {
                "localhost" => Some(std::net::IpAddr::from([127, 0, 0, 1])),
                h => h.parse().ok(),
            };
            if let Some(ip) =
                literal.filter(|ip| !self.allow_private && crate::webhooks::target::is_private(*ip))
            {
                return bad(
                    "webhooks.endpoints.url",
                    format!("{:?} is {ip}, an internal address (set webhooks.allow_private to allow it)", e.url),
                );
            }
            if e.secret.chars().count() < 16 {
                return bad(
                    "webhooks.endpoints.secret",
                    format!("of {} must be at least 16 characters", e.url),
                );
            }
            if let Some(k) = e.events.iter().find(|k| !crate::webhooks::is_event_kind(k)) {
                return bad(
                    "webhooks.endpoints.events",
                    format!("{k:?} is not an event"),
                );
            }
        }
        Ok(())
    }
}
