//! Who may read meeting records over REST: nobody without credentials; a user the meetings they
//! attended or planned; administrators and API keys all of them. API keys are made and revoked by
//! administrators. `/metrics` with a token.

mod common;
#[path = "support/http.rs"]
mod http;

use common::{base64_encode, chat, next_chat, TestServer};
use convene_client::{join_msg, Signaling};
use convene_store::Store;
use http::request;

async fn account(s: &TestServer, email: &str) -> String {
    http::signed_up(s.addr, email).await
}

async fn get(s: &TestServer, path: &str, auth: &[(&str, &str)]) -> http::Reply {
    request(s.addr, "GET", path, auth, None).await
}

/// Ada attends room `talk` signed in and says something; returns the meeting's public id.
async fn ada_talks(s: &TestServer, cookie: &str) -> String {
    let origin = format!("http://{}", s.addr);
    let mut c =
        Signaling::connect_with_headers(&s.ws_url(), &[("Cookie", cookie), ("Origin", &origin)])
            .await
            .unwrap();
    c.join(join_msg("talk", "Ada")).await.unwrap();
    c.send(&chat("private words")).await.unwrap();
    next_chat(&mut c).await;
    let store = s.store().await;
    store.meetings(Some("talk"), 1).await.unwrap()[0]
        .public_id
        .clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_reads_only_the_meetings_they_attended_or_planned() {
    let s = TestServer::start().await;
    let ada = account(&s, "ada@example.org").await;
    let bob = account(&s, "bob@example.org").await;
    let id = ada_talks(&s, &ada).await;
    let detail = format!("/api/v1/meetings/{id}");

    for path in ["/api/v1/meetings", detail.as_str()] {
        let r = get(&s, path, &[]).await;
        assert_eq!((r.status, r.code()), (401, "unauthorized"), "{path}");
    }
    let mine = get(&s, "/api/v1/meetings", &[("Cookie", &ada)]).await;
    assert_eq!(mine.body["meetings"].as_array().unwrap().len(), 1);
    let d = get(&s, &detail, &[("Cookie", &ada)]).await;
    assert_eq!(d.status, 200);
    assert_eq!(d.body["chat"][0]["text"], "private words");

    let theirs = get(&s, "/api/v1/meetings", &[("Cookie", &bob)]).await;
    assert_eq!(theirs.status, 200);
    assert!(theirs.body["meetings"].as_array().unwrap().is_empty());
    let walk = get(&s, &detail, &[("Cookie", &bob)]).await;
    assert_eq!(
        (walk.status, walk.code()),
        (404, "not_found"),
        "no walking by id"
    );

    // Bob plans the room: its meetings are his to read too.
    let r = request(
        s.addr,
        "POST",
        "/api/v1/rooms",
        &[("Cookie", &bob)],
        Some(serde_json::json!({ "unique_name": "talk-2" })),
    )
    .await;
    assert_eq!(r.status, 201);
    assert_eq!(
        get(&s, &detail, &[("Cookie", &bob)]).await.status,
        404,
        "another room"
    );

    // An administrator reads everything.
    let store = s.store().await;
    let bob_id = store
        .user_by_email("bob@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    store
        .set_user_flags(bob_id, Some(true), None)
        .await
        .unwrap();
    assert_eq!(get(&s, &detail, &[("Cookie", &bob)]).await.status, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_are_made_by_admins_and_stop_working_when_revoked() {
    let s = TestServer::start().await;
    let admin = account(&s, "root@example.org").await;
    let user = account(&s, "user@example.org").await;
    let store = s.store().await;
    let root = store
        .user_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap()
        .id;
    store.set_user_flags(root, Some(true), None).await.unwrap();
    let id = ada_talks(&s, &user).await;

    let make = |cookie: String| {
        let addr = s.addr;
        async move {
            request(
                addr,
                "POST",
                "/api/v1/keys",
                &[("Cookie", &cookie)],
                Some(serde_json::json!({ "name": "ci" })),
            )
            .await
        }
    };
    let refused = make(user.clone()).await;
    assert_eq!((refused.status, refused.code()), (403, "forbidden"));
    let made = make(admin.clone()).await;
    assert_eq!(made.status, 201, "{:?}", made.body);
    let key_id = made.body["id"].as_str().unwrap().to_owned();
    let secret = made.body["secret"].as_str().unwrap().to_owned();
    let basic = format!(
        "Basic {}",
        base64_encode(format!("{key_id}:{secret}").as_bytes())
    );
    let listed = get(&s, "/api/v1/keys", &[("Cookie", &admin)]).await;
    assert!(
        listed.body["keys"][0].get("secret").is_none(),
        "shown once only"
    );
    let stored = store.api_key(&key_id).await.unwrap().unwrap();
    assert!(stored.secret_hash.starts_with("$argon2id$") && !stored.secret_hash.contains(&secret));

    let detail = format!("/api/v1/meetings/{id}");
    let r = get(&s, &detail, &[("Authorization", &basic)]).await;
    assert_eq!(r.status, 200, "an API key reads every meeting");
    assert_eq!(r.body["chat"][0]["text"], "private words");
    let wrong = format!(
        "Basic {}",
        base64_encode(format!("{key_id}:not-the-secret").as_bytes())
    );
    let r = get(&s, &detail, &[("Authorization", &wrong)]).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    let r = get(&s, &detail, &[("Authorization", "Bearer nonsense")]).await;
    assert_eq!(r.status, 401);

    let gone = request(
        s.addr,
        "DELETE",
        &format!("/api/v1/keys/{key_id}"),
        &[("Cookie", &admin)],
        None,
    )
    .await;
    assert_eq!(gone.status, 204);
    let r = get(&s, &detail, &[("Authorization", &basic)]).await;
    assert_eq!(r.status, 401, "a revoked key is refused at once");
    let again = request(
        s.addr,
        "DELETE",
        &format!("/api/v1/keys/{key_id}"),
        &[("Cookie", &admin)],
        None,
    )
    .await;
    assert_eq!(again.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn meetings_are_named_by_unguessable_ids() {
    let s = TestServer::start().await;
    let ada = account(&s, "ada@example.org").await;
    let public = ada_talks(&s, &ada).await;
    assert_eq!(public.len(), 32, "128 random bits, hex: {public}");
    let store = s.store().await;
    let row = store.meetings(Some("talk"), 1).await.unwrap()[0].id.0;
    let by_row = get(&s, &format!("/api/v1/meetings/{row}"), &[("Cookie", &ada)]).await;
    assert_eq!(by_row.status, 404, "the row id names nothing");
    let list = get(&s, "/api/v1/meetings", &[("Cookie", &ada)]).await;
    assert_eq!(list.body["meetings"][0]["id"], public.as_str());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_with_a_token_need_it() {
    let s = TestServer::with(|c| c.server.metrics_token = "scrape-me".into()).await;
    let r = get(&s, "/metrics", &[]).await;
    assert_eq!((r.status, r.code()), (401, "unauthorized"));
    let r = get(&s, "/metrics", &[("Authorization", "Bearer scrape-mf")]).await;
    assert_eq!(r.status, 401);
    let (status, body) =
        common::http_get_with(s.addr, "/metrics", &[("Authorization", "Bearer scrape-me")]).await;
    assert_eq!(status, 200);
    assert!(body.contains("convene_rooms"));
}
