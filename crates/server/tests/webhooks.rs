//! Webhooks against a receiver in the test: signed deliveries, gapless and ordered per meeting;
//! nothing lost while the receiver is down and the server is killed and restarted; internal
//! addresses refused unless allowed; endpoints, deliveries and redelivery over REST.

mod common;
#[path = "support/http.rs"]
mod http;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::http::HeaderMap;
use common::TestServer;
use convene_server::config::WebhookEndpointConfig;
use convene_server::webhooks::sign;

const SECRET: &str = "whsec_test_0123456789";

/// What a receiver got: the signature header and the body of each delivery.
type Got = Arc<Mutex<Vec<(String, Bytes)>>>;

/// A receiver on `addr` (answering 200 to every POST), until the returned task is aborted.
async fn receiver(addr: SocketAddr, got: Got) -> tokio::task::JoinHandle<()> {
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let got = got.clone();
            async move {
                let sig = headers
                    .get(sign::HEADER)
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or_default()
                    .to_owned();
                got.lock().unwrap().push((sig, body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    })
}

/// A free port on loopback, for a receiver that comes up later.
fn free_addr() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    l.local_addr().unwrap()
}

fn server_config(url: &str) -> impl FnOnce(&mut convene_server::config::Config) {
    let url = url.to_owned();
    move |c| {
        c.webhooks.allow_private = true;
        c.webhooks.retry_initial_ms = 200;
        c.webhooks.retry_max_secs = 1;
        c.webhooks.endpoints = vec![WebhookEndpointConfig {
            url,
            secret: SECRET.into(),
            events: vec![],
        }];
    }
}

/// The deliveries as JSON, each checked against its signature; deduplicated by event id.
fn verified(got: &Got) -> Vec<serde_json::Value> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (sig, body) in got.lock().unwrap().iter() {
        assert!(
            sign::verify(SECRET, sig, body, now, 300),
            "a delivery whose signature does not verify: {sig}"
        );
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        if seen.insert(v["id"].as_str().unwrap().to_owned()) {
            out.push(v);
        }
    }
    out
}

/// Waits until the receiver has `kind` (deduplicated), up to `within`.
async fn until_event(got: &Got, kind: &str, within: Duration) -> Vec<serde_json::Value> {
    let start = Instant::now();
    loop {
        let events = verified(got);
        if events.iter().any(|e| e["event"] == kind) || start.elapsed() > within {
            return events;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn kinds(events: &[serde_json::Value]) -> Vec<&str> {
    events
        .iter()
        .map(|e| e["event"].as_str().unwrap())
        .collect()
}

fn assert_gapless(events: &[serde_json::Value]) {
    let seqs: Vec<i64> = events.iter().map(|e| e["seq"].as_i64().unwrap()).collect();
    assert_eq!(
        seqs,
        (1..=seqs.len() as i64).collect::<Vec<_>>(),
        "{events:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_arrive_signed_in_order_and_gapless() {
    let got: Got = Default::default();
    let addr = free_addr();
    let _rx = receiver(addr, got.clone()).await;
    let s = TestServer::with(server_config(&format!("http://{addr}/hook"))).await;
    let (mut ada, _) = s.join("hooked", "Ada").await;
    let (mut bob, _) = s.join("hooked", "Bob").await;
    for c in [&mut bob, &mut ada] {
        c.send(&convene_proto::ClientMessage::Leave).await.unwrap();
    }
    let events = until_event(&got, "room_finished", Duration::from_secs(15)).await;
    assert_eq!(
        kinds(&events),
        [
            "room_started",
            "participant_joined",
            "participant_joined",
            "participant_left",
            "participant_left",
            "room_finished"
        ]
    );
    assert_gapless(&events);
    assert!(events.iter().all(|e| e["room"] == "hooked"));
    assert_eq!(events[1]["data"]["display_name"], "Ada");
    assert_eq!(events[3]["data"]["reason"], "left");
    // An endpoint of the configuration file is not the API's to stop.
    let key = s.api_auth().await;
    let id = convene_server::webhooks::config_endpoint_id(&format!("http://{addr}/hook"));
    let path = format!("/api/v1/webhooks/{id}");
    let r = http::request(s.addr, "DELETE", &path, &[("Authorization", &key)], None).await;
    assert_eq!((r.status, r.code()), (403, "forbidden"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn at_most_a_hundred_live_endpoints() {
    let s = TestServer::start().await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];
    // A public address; nothing is delivered to it, since no meeting runs.
    let body = || serde_json::json!({ "url": "https://93.184.215.14/hook" });
    for i in 0..100 {
        let r = http::request(s.addr, "POST", "/api/v1/webhooks", &auth, Some(body())).await;
        assert_eq!(r.status, 201, "endpoint {i}: {:?}", r.body);
    }
    let r = http::request(s.addr, "POST", "/api/v1/webhooks", &auth, Some(body())).await;
    assert_eq!((r.status, r.code()), (400, "invalid_message"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_lost_while_the_receiver_is_down_and_the_server_is_killed() {
    // The receiver is down for the first 20 s; meanwhile the server is killed and started again.
    const DOWN: Duration = Duration::from_secs(20);
    let got: Got = Default::default();
    let addr = free_addr();
    let up_at = Instant::now() + DOWN;
    let mut s = TestServer::with(server_config(&format!("http://{addr}/hook"))).await;
    let (ada, _) = s.join("durable", "Ada").await;
    let (mut bob, _) = s.join("durable", "Bob").await;
    bob.send(&convene_proto::ClientMessage::Leave)
        .await
        .unwrap();
    common::expect_closing(&mut bob).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    s.crash();
    drop(ada);
    let s = s.start_again().await;
    tokio::time::sleep(up_at.saturating_duration_since(Instant::now())).await;
    let _rx = receiver(addr, got.clone()).await;
    let events = until_event(&got, "room_finished", Duration::from_secs(20)).await;
    assert_eq!(
        kinds(&events),
        [
            "room_started",
            "participant_joined",
            "participant_joined",
            "participant_left",
            "participant_left",
            "room_finished"
        ],
        "every event, once each after deduplication, in order"
    );
    assert_gapless(&events);
    assert_eq!(events[4]["data"]["reason"], "server_restart");
    assert_eq!(events[5]["data"]["interrupted"], true);
    // It was retried while down: the record shows failed attempts, then success.
    let store = s.store().await;
    let id = convene_server::webhooks::config_endpoint_id(&format!("http://{addr}/hook"));
    let ds = convene_store::Store::deliveries(&store, &id, 1000)
        .await
        .unwrap();
    assert!(ds.iter().any(|d| !d.delivery.ok) && ds.iter().any(|d| d.delivery.ok));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn internal_addresses_are_refused_unless_allowed() {
    let s = TestServer::start().await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost:9/",
        "http://[::1]/",
        "http://169.254.169.254/",
    ] {
        let body = serde_json::json!({ "url": url });
        let r = http::request(s.addr, "POST", "/api/v1/webhooks", &auth, Some(body)).await;
        assert_eq!((r.status, r.code()), (403, "forbidden"), "{url}");
    }
    // The configuration refuses a literal internal address at start.
    let mut c = convene_server::config::Config::default();
    c.webhooks.endpoints = vec![WebhookEndpointConfig {
        url: "http://10.0.0.5/hook".into(),
        secret: SECRET.into(),
        events: vec![],
    }];
    let e = c.validate().unwrap_err().to_string();
    assert!(e.contains("internal address"), "{e}");
    c.webhooks.allow_private = true;
    assert!(c.validate().is_ok());
    c.webhooks.endpoints[0].events = vec!["room_exploded".into()];
    assert!(c.validate().is_err(), "an unknown event kind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoints_deliveries_and_redelivery_over_rest() {
    let got: Got = Default::default();
    let addr = free_addr();
    let _rx = receiver(addr, got.clone()).await;
    let s = TestServer::with(|c| c.webhooks.allow_private = true).await;
    let key = s.api_auth().await;
    let auth = [("Authorization", key.as_str())];
    let url = format!("http://{addr}/hook");
    let body = serde_json::json!({ "url": url, "events": ["participant_joined"] });
    let r = http::request(s.addr, "POST", "/api/v1/webhooks", &auth, Some(body)).await;
    assert_eq!(r.status, 201, "{:?}", r.body);
    let id = r.body["endpoint"]["id"].as_str().unwrap().to_owned();
    let secret = r.body["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"));
    let bad = serde_json::json!({ "url": url, "events": ["nope"] });
    let r = http::request(s.addr, "POST", "/api/v1/webhooks", &auth, Some(bad)).await;
    assert_eq!((r.status, r.code()), (400, "invalid_message"));
    // Only participant_joined goes to this endpoint.
    let (_ada, _) = s.join("rest-hooks", "Ada").await;
    let path = format!("/api/v1/webhooks/{id}/deliveries");
    let mut list = serde_json::Value::Null;
    for _ in 0..50 {
        let r = http::request(s.addr, "GET", &path, &auth, None).await;
        assert_eq!(r.status, 200);
        list = r.body["deliveries"].clone();
        if !list.as_array().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let first = &list[0];
    assert_eq!(
        (first["event"].as_str(), first["ok"].as_bool()),
        (Some("participant_joined"), Some(true))
    );
    let redo = format!("{path}/{}/redeliver", first["id"]);
    let r = http::request(s.addr, "POST", &redo, &auth, None).await;
    assert_eq!(
        (r.status, r.body["ok"].as_bool()),
        (200, Some(true)),
        "{:?}",
        r.body
    );
    assert_eq!(got.lock().unwrap().len(), 2, "delivered, then redelivered");
    let same: Vec<String> = got
        .lock()
        .unwrap()
        .iter()
        .map(|(_, b)| serde_json::from_slice::<serde_json::Value>(b).unwrap()["id"].to_string())
        .collect();
    assert_eq!(same[0], same[1], "a redelivery carries the same event id");
    // Strangers and plain accounts manage no webhooks; a revoked one is gone.
    let r = http::request(s.addr, "GET", "/api/v1/webhooks", &[], None).await;
    assert_eq!(r.status, 401);
    let user = http::signed_up(s.addr, "u@example.org").await;
    let r = http::request(
        s.addr,
        "GET",
        "/api/v1/webhooks",
        &[("Cookie", &user)],
        None,
    )
    .await;
    assert_eq!(r.status, 403);
    let r = http::request(
        s.addr,
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        &auth,
        None,
    )
    .await;
    assert_eq!(r.status, 204);
    let r = http::request(
        s.addr,
        "DELETE",
        &format!("/api/v1/webhooks/{id}"),
        &auth,
        None,
    )
    .await;
    assert_eq!(r.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_is_bounded_in_time_and_in_what_it_reads() {
    use convene_server::webhooks::client::{post, Post};
    use convene_server::webhooks::target::parse_url;
    let app = axum::Router::new()
        .route(
            "/slow",
            axum::routing::post(|| async {
                tokio::time::sleep(Duration::from_secs(30)).await;
                "late"
            }),
        )
        .route(
            "/big",
            axum::routing::post(|| async {
                // An endless answer: only `max_response_bytes` of it are read.
                let chunks = futures_util::stream::repeat_with(|| {
                    Ok::<_, std::io::Error>(Bytes::from(vec![b'x'; 64 * 1024]))
                });
                axum::body::Body::from_stream(chunks)
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let send = |path: &'static str| async move {
        let target = parse_url(&format!("http://{addr}{path}")).unwrap();
        let started = Instant::now();
        let outcome = post(Post {
            target: &target,
            addrs: &[addr],
            body: Bytes::from_static(b"{}"),
            headers: vec![],
            timeout: Duration::from_secs(1),
            max_response_bytes: 4096,
        })
        .await;
        (outcome, started.elapsed())
    };
    let (slow, took) = send("/slow").await;
    assert!(
        slow.is_err() && took < Duration::from_secs(3),
        "{slow:?} after {took:?}"
    );
    let (big, took) = send("/big").await;
    assert_eq!(big, Ok(200), "answered; the rest of the body is not read");
    assert!(took < Duration::from_secs(1), "{took:?}");
}

/// Two servers on one database (two nodes of a cluster) each run the delivery loop: every event
/// reaches the receiver once, not once per node, and in order.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_delivery_loops_on_one_database_send_each_event_once() {
    let got: Got = Default::default();
    let addr = free_addr();
    // A receiver that takes its time, so that the two loops overlap if they can.
    let slow = got.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move |headers: HeaderMap, body: Bytes| {
            let got = slow.clone();
            async move {
                tokio::time::sleep(Duration::from_millis(50)).await;
                let sig = headers.get(sign::HEADER).and_then(|v| v.to_str().ok());
                got.lock()
                    .unwrap()
                    .push((sig.unwrap_or_default().to_owned(), body));
                "ok"
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind(addr).await.expect("bind");
    let _rx = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    let configure = server_config(&format!("http://{addr}/hook"));
    let a = TestServer::with(|c| {
        configure(c);
        c.server.node_id = "hook-a".into();
    })
    .await;
    let b = a
        .start_again_with(|c| c.server.node_id = "hook-b".into())
        .await;
    for (s, room) in [(&a, "twice-a"), (&b, "twice-b"), (&a, "twice-c")] {
        let (mut ada, _) = s.join(room, "Ada").await;
        let (mut bob, _) = s.join(room, "Bob").await;
        for c in [&mut bob, &mut ada] {
            c.send(&convene_proto::ClientMessage::Leave).await.unwrap();
        }
    }
    let finished = |events: &[serde_json::Value]| {
        events
            .iter()
            .filter(|e| e["event"] == "room_finished")
            .count()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while finished(&verified(&got)) < 3 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    use convene_store::Store as _;
    let outbox = a.store().await.events_after(0, 1000).await.unwrap().len();
    // Time for a second copy of anything to arrive, if one were on its way.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let events = verified(&got);
    assert_eq!(events.len(), outbox, "every event of the outbox arrived");
    assert_eq!(got.lock().unwrap().len(), outbox, "each exactly once");
    for room in ["twice-a", "twice-b", "twice-c"] {
        let of: Vec<_> = events
            .iter()
            .filter(|e| e["room"] == room)
            .cloned()
            .collect();
        assert_eq!(of.len(), 6, "{room}: {of:?}");
        assert_gapless(&of);
    }
}
