//! What must be counted once for the whole cluster is: sign-in failures spread over the nodes meet
//! one limit.

use super::{http, Env};

/// Failed sign-ins of one account through the three nodes in turn add up: past the limit
/// (`auth.signin_failures_per_account`, 5), every node refuses the account, although none of them
/// saw more than two of the failures.
pub async fn sign_in_failures_count_across_nodes(env: &Env) {
    const LIMIT: usize = 5;
    let email = format!("guess-{:08x}@example.com", rand::random::<u32>());
    let body = || Some(serde_json::json!({"email": email, "password": "not-the-password"}));
    for i in 0..LIMIT {
        let r = http::request(env.nodes[i % 3], "POST", "/api/v1/auth/signin", &[], body()).await;
        assert_eq!(
            (r.status, r.code()),
            (401, "invalid_credentials"),
            "failure {} on node {}",
            i + 1,
            i % 3 + 1
        );
    }
    for n in &env.nodes {
        let r = http::request(*n, "POST", "/api/v1/auth/signin", &[], body()).await;
        assert_eq!((r.status, r.code()), (429, "rate_limited"), "on {n}");
        assert!(r.header("retry-after").is_some());
    }
}
