//! One attempt to (re)join: open the socket, send `join`, wait for `joined` or the refusal.

use std::time::Duration;

use convene_proto::{ClientMessage, Joined};

use crate::signaling::{ClientError, Signaling};

/// Joins on a new connection within `timeout` (a host that vanished answers nothing, and the
/// socket would wait minutes while the server may be back already).
pub(crate) async fn join(
    url: &str,
    msg: ClientMessage,
    timeout: Duration,
) -> Result<(Signaling, Joined), ClientError> {
    let attempt = async {
        let mut sig = Signaling::connect(url).await?;
        sig.timeout = timeout;
        let joined = sig.join(msg).await?;
        Ok::<_, ClientError>((sig, joined))
    };
    let (mut sig, joined) = tokio::time::timeout(timeout, attempt)
        .await
        .map_err(|_| ClientError::Timeout)??;
    sig.timeout = Signaling::DEFAULT_TIMEOUT;
    Ok((sig, joined))
}
