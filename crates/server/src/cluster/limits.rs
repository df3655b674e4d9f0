//! Sign-in failures counted for the whole cluster: a guesser who spreads attempts over the nodes
//! (a round-robin balancer does that by itself) meets one limit, not one per node. The same fixed
//! window as a single node's count (auth/limits.rs): a key per account and per address, made by
//! the first failure and expiring with its window.

use std::net::IpAddr;
use std::time::Duration;

use super::Cluster;

/// Counts one failure on each of KEYS; the first makes the key with a lifetime of ARGV[1] ms.
const FAIL: &str = r#"
for _, k in ipairs(KEYS) do
  if redis.call('INCR', k) == 1 then redis.call('PEXPIRE', k, ARGV[1]) end
end
return 1
"#;

/// The longest wait (ms) among KEYS[i] whose count reached ARGV[i]; 0 when none did.
const BLOCKED: &str = r#"
local wait = 0
for i, k in ipairs(KEYS) do
  local n = tonumber(redis.call('GET', k) or '0')
  if n >= tonumber(ARGV[i]) then
    local t = redis.call('PTTL', k)
    if t < 0 then t = 1000 end
    if t > wait then wait = t end
  end
end
return wait
"#;

impl Cluster {
    fn signin_keys(&self, account: &str, addr: IpAddr) -> [String; 2] {
        [
            format!("{}signin:account:{account}", self.keys.prefix),
            format!("{}signin:address:{addr}", self.keys.prefix),
        ]
    }

    /// How long `account` or `addr` must wait, if either is over its limit (`max`: per account,
    /// per address).
    pub async fn signin_blocked(
        &self,
        account: &str,
        addr: IpAddr,
        max: (u32, u32),
    ) -> Result<Option<Duration>, redis::RedisError> {
        let [a, b] = self.signin_keys(account, addr);
        let mut c = self.conn();
        let wait: u64 = redis::Script::new(BLOCKED)
            .key(a)
            .key(b)
            .arg(max.0)
            .arg(max.1)
            .invoke_async(&mut c)
            .await?;
        Ok((wait > 0).then(|| Duration::from_millis(wait)))
    }

    /// Counts a failed sign-in of `account` from `addr`.
    pub async fn signin_failed(
        &self,
        account: &str,
        addr: IpAddr,
        window: Duration,
    ) -> Result<(), redis::RedisError> {
        let [a, b] = self.signin_keys(account, addr);
        let mut c = self.conn();
        redis::Script::new(FAIL)
            .key(a)
            .key(b)
            .arg(window.as_millis() as u64)
            .invoke_async::<i64>(&mut c)
            .await?;
        Ok(())
    }

    /// Clears the account's count (a right password).
    pub async fn signin_succeeded(&self, account: &str) -> Result<(), redis::RedisError> {
        let [a, _] = self.signin_keys(account, IpAddr::from([0, 0, 0, 0]));
        let mut c = self.conn();
        redis::cmd("DEL").arg(a).query_async::<i64>(&mut c).await?;
        Ok(())
    }
}
