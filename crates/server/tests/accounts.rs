//! Accounts through the REST API: sign up, sign in, sign out, change password; and each refusal.

mod common;
#[path = "support/http.rs"]
mod http;

use common::TestServer;
use convene_store::Store;
use http::{request, Reply};

fn creds(email: &str, password: &str) -> serde_json::Value {
    serde_json::json!({ "email": email, "password": password })
}

async fn signup(s: &TestServer, email: &str, password: &str) -> Reply {
    let body = serde_json::json!({ "email": email, "password": password, "display_name": "Ada" });
    request(s.addr, "POST", "/api/v1/auth/signup", &[], Some(body)).await
}

async fn me(s: &TestServer, cookie: &str) -> Reply {
    request(
        s.addr,
        "GET",
        "/api/v1/auth/me",
        &[("Cookie", cookie)],
        None,
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_in_and_out() {
    let s = TestServer::start().await;
    let r = signup(&s, " Ada@Example.org ", "correct horse battery").await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    assert_eq!(r.body["user"]["email"], "ada@example.org");
    assert_eq!(r.body["user"]["is_admin"], false);
    let set = r.header("set-cookie").unwrap().to_owned();
    assert!(set.contains("HttpOnly") && set.contains("SameSite=Lax") && set.contains("Path=/"));
    assert!(!set.contains("Secure"), "plain HTTP on localhost");
    let cookie = r.cookie().unwrap();
    assert_eq!(
        me(&s, &cookie).await.body["user"]["email"],
        "ada@example.org"
    );

    // The database holds an Argon2id hash and no token in the clear.
    let store = s.store().await;
    let u = store
        .user_by_email("ada@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(u.password_hash.unwrap().starts_with("$argon2id$"));
    let token = cookie.split_once('=').unwrap().1;
    let kept: Vec<String> = sqlx::query_scalar("SELECT token_hash FROM auth_sessions")
        .fetch_all(store.pool())
        .await
        .unwrap();
    assert!(kept.iter().all(|h| h != token && h.len() == 64));

    let out = request(
        s.addr,
        "POST",
        "/api/v1/auth/signout",
        &[("Cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(out.status, 204);
    assert!(out.header("set-cookie").unwrap().contains("Max-Age=0"));
    let after = me(&s, &cookie).await;
    assert_eq!(after.status, 401, "a signed-out session is dead");
    assert_eq!(after.code(), "unauthorized");

    let again = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(creds("ADA@example.org", "correct horse battery")),
    )
    .await;
    assert_eq!(again.status, 200, "{:?}", again.body);
    assert_eq!(me(&s, &again.cookie().unwrap()).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wrong_password_and_unknown_email_look_the_same() {
    let s = TestServer::start().await;
    signup(&s, "ada@example.org", "correct horse battery").await;
    let wrong = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(creds("ada@example.org", "wrong horse battery")),
    )
    .await;
    let unknown = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(creds("nobody@example.org", "wrong horse battery")),
    )
    .await;
    assert_eq!(wrong.status, 401);
    assert_eq!(wrong.code(), "invalid_credentials");
    assert_eq!((unknown.status, &unknown.body), (wrong.status, &wrong.body));
    assert!(wrong.header("set-cookie").is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn password_guessing_is_slowed_per_account_and_per_address() {
    let s = TestServer::with(|c| {
        c.auth.signin_failures_per_account = 3;
        c.auth.signin_failures_per_address = 5;
    })
    .await;
    signup(&s, "ada@example.org", "correct horse battery").await;
    let attempt = |email: &'static str, pw: &'static str| {
        let addr = s.addr;
        async move {
            request(
                addr,
                "POST",
                "/api/v1/auth/signin",
                &[],
                Some(creds(email, pw)),
            )
            .await
        }
    };
    for _ in 0..3 {
        assert_eq!(
            attempt("ada@example.org", "guess guess guess").await.status,
            401
        );
    }
    let blocked = attempt("ada@example.org", "correct horse battery").await;
    assert_eq!(
        blocked.status, 429,
        "even the right password waits: {:?}",
        blocked.body
    );
    assert_eq!(blocked.code(), "rate_limited");
    let wait: u64 = blocked.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=900).contains(&wait));
    // The address: two more failures on other accounts reach its limit of five.
    assert_eq!(
        attempt("bob@example.org", "guess guess guess").await.status,
        401
    );
    assert_eq!(
        attempt("cleo@example.org", "guess guess guess")
            .await
            .status,
        401
    );
    assert_eq!(
        attempt("dan@example.org", "guess guess guess").await.status,
        429
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_from_another_site_are_refused() {
    let s = TestServer::start().await;
    let cookie = signup(&s, "ada@example.org", "correct horse battery")
        .await
        .cookie()
        .unwrap();
    let evil = [
        ("Origin", "https://evil.example"),
        ("Cookie", cookie.as_str()),
    ];
    let out = request(s.addr, "POST", "/api/v1/auth/signout", &evil, None).await;
    assert_eq!(out.status, 403);
    assert_eq!(out.code(), "forbidden");
    assert_eq!(me(&s, &cookie).await.status, 200, "still signed in");
    // Not even signing in (a login CSRF would sign the visitor in as the attacker).
    let r = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[("Origin", "https://evil.example")],
        Some(creds("ada@example.org", "correct horse battery")),
    )
    .await;
    assert_eq!(r.status, 403);
    // A cookie without any page named (no Origin, no Referer) is refused too.
    let bare = request(
        s.addr,
        "POST",
        "/api/v1/auth/signout",
        &[("Origin", ""), ("Cookie", &cookie)],
        None,
    )
    .await;
    assert_eq!(bare.status, 403);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_sign_ups_are_refused_with_their_codes() {
    let s = TestServer::start().await;
    assert_eq!(
        signup(&s, "ada@example.org", "correct horse battery")
            .await
            .status,
        201
    );
    let taken = signup(&s, "ADA@EXAMPLE.ORG", "another good one").await;
    assert_eq!((taken.status, taken.code()), (409, "email_taken"));
    let weak = signup(&s, "bob@example.org", "short").await;
    assert_eq!((weak.status, weak.code()), (400, "weak_password"));
    let bad = signup(&s, "not an email", "correct horse battery").await;
    assert_eq!((bad.status, bad.code()), (400, "invalid_email"));
    let extra = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(serde_json::json!({ "email": "a@b.org", "password": "x", "admin": true })),
    )
    .await;
    assert_eq!((extra.status, extra.code()), (400, "invalid_message"));

    let closed = TestServer::with(|c| c.auth.signup = convene_server::config::Signup::Closed).await;
    let r = signup(&closed, "cleo@example.org", "correct horse battery").await;
    assert_eq!((r.status, r.code()), (403, "signup_closed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_password_change_signs_out_every_other_browser() {
    let s = TestServer::start().await;
    let first = signup(&s, "ada@example.org", "correct horse battery")
        .await
        .cookie()
        .unwrap();
    let second = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(creds("ada@example.org", "correct horse battery")),
    )
    .await
    .cookie()
    .unwrap();
    let change = |cookie: String, current: &'static str| {
        let addr = s.addr;
        async move {
            let body = serde_json::json!({
                "current_password": current, "new_password": "a brand new secret"
            });
            request(
                addr,
                "POST",
                "/api/v1/auth/password",
                &[("Cookie", &cookie)],
                Some(body),
            )
            .await
        }
    };
    let wrong = change(first.clone(), "not my password").await;
    assert_eq!((wrong.status, wrong.code()), (401, "invalid_credentials"));
    let ok = change(first.clone(), "correct horse battery").await;
    assert_eq!(ok.status, 200, "{:?}", ok.body);
    let third = ok.cookie().unwrap();
    assert_eq!(me(&s, &first).await.status, 401);
    assert_eq!(me(&s, &second).await.status, 401);
    assert_eq!(
        me(&s, &third).await.status,
        200,
        "this browser stays signed in"
    );
    let old = request(
        s.addr,
        "POST",
        "/api/v1/auth/signin",
        &[],
        Some(creds("ada@example.org", "correct horse battery")),
    )
    .await;
    assert_eq!(old.status, 401);
}
