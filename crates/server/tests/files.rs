//! Files shared in meetings: uploaded by a participant with its file token, announced to everyone
//! once recorded, downloaded whole or in ranges by the people who were there (and the record's
//! readers), refused over the limits (before the body when its length says so), an image bomb
//! refused, active content served inert, names sanitised, deleted by hosts only.

#[path = "support/binary_http.rs"]
mod bin;
mod common;
#[path = "support/http.rs"]
mod http;
#[path = "support/people.rs"]
mod people;

use std::io::Cursor;

use common::TestServer;
use convene_client::Signaling;
use convene_proto::{ClientMessage, ErrorCode, Joined, Role, ServerMessage, SharedFile};
use people::{join, As};
use sha2::{Digest, Sha256};

fn token(j: &Joined) -> String {
    j.file_access.as_ref().expect("file access").token.clone()
}

/// Uploads `body` as `name` with `joined`'s token, from the server's own page.
async fn upload(s: &TestServer, j: &Joined, name: &str, body: &[u8]) -> bin::Reply {
    let auth = format!("Bearer {}", token(j));
    let origin = format!("http://{}", s.addr);
    let path = format!("/api/v1/files?name={}", encode(name));
    let headers = [
        ("Authorization", auth.as_str()),
        ("Origin", origin.as_str()),
    ];
    bin::send(s.addr, "POST", &path, &headers, body).await
}

fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn get(s: &TestServer, path: &str, headers: &[(&str, &str)]) -> bin::Reply {
    bin::send(s.addr, "GET", path, headers, b"").await
}

async fn next_file(c: &mut Signaling) -> SharedFile {
    c.recv_until(|m| match m {
        ServerMessage::FileShared { file } => Some(file.clone()),
        _ => None,
    })
    .await
    .expect("file_shared")
}

fn sha(bytes: &[u8]) -> Vec<u8> {
    Sha256::digest(bytes).to_vec()
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([10, 120, 200]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

#[tokio::test]
async fn a_shared_file_reaches_everyone_and_downloads_whole_or_in_part() {
    let s = TestServer::start().await;
    let (_ada, aj) = join(&s, "share", "Ada", As::Guest).await;
    let (mut bob, bj) = join(&s, "share", "Bob", As::Guest).await;
    let bytes: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let r = upload(&s, &aj, "data.bin", &bytes).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.json()["size"], 300_000);

    let seen = next_file(&mut bob).await;
    assert_eq!(
        (seen.id.as_str(), seen.name.as_str()),
        (id.as_str(), "data.bin")
    );
    assert_eq!(
        (seen.size, seen.from.clone(), seen.from_name.as_str()),
        (300_000, aj.participant_id.clone(), "Ada")
    );
    assert_eq!(seen.content_type, "application/octet-stream");

    let path = format!("/api/v1/files/{id}?token={}", token(&bj));
    let whole = get(&s, &path, &[]).await;
    assert_eq!(whole.status, 200);
    assert_eq!(sha(&whole.body), sha(&bytes), "the same bytes");
    assert!(whole
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(whole.header("x-content-type-options"), Some("nosniff"));
    assert!(whole
        .header("content-security-policy")
        .unwrap()
        .contains("sandbox"));
    assert_eq!(whole.header("accept-ranges"), Some("bytes"));

    let part = get(&s, &path, &[("Range", "bytes=1000-1999")]).await;
    assert_eq!(part.status, 206);
    assert_eq!(part.body, bytes[1000..2000]);
    assert_eq!(part.header("content-range"), Some("bytes 1000-1999/300000"));
    let beyond = get(&s, &path, &[("Range", "bytes=400000-")]).await;
    assert_eq!(beyond.status, 416);

    // A late joiner finds it in the history; the record lists it.
    let (_cy, cj) = join(&s, "share", "Cy", As::Guest).await;
    assert_eq!(cj.files, vec![seen]);
    let (_, list) = s.get_api("/api/v1/meetings?room=share").await;
    let list: serde_json::Value = serde_json::from_str(&list).unwrap();
    let meeting = list["meetings"][0]["id"].as_str().unwrap().to_owned();
    let (status, detail) = s.get_api(&format!("/api/v1/meetings/{meeting}")).await;
    assert_eq!(status, 200);
    let detail: serde_json::Value = serde_json::from_str(&detail).unwrap();
    assert_eq!(detail["files"][0]["id"], id.as_str());
    assert_eq!(detail["files"][0]["sha256"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn only_those_who_may_read_the_meeting_download() {
    let s = TestServer::start().await;
    let (_ada, aj) = join(&s, "private", "Ada", As::Guest).await;
    let (_eve, ej) = join(&s, "elsewhere", "Eve", As::Guest).await;
    let r = upload(&s, &aj, "secret.txt", b"the plan").await;
    assert_eq!(r.status, 201);
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let at = |t: &str| format!("/api/v1/files/{id}?token={t}");

    assert_eq!(get(&s, &at(&token(&aj)), &[]).await.body, b"the plan");
    let other_meeting = get(&s, &at(&token(&ej)), &[]).await;
    assert_eq!(
        (other_meeting.status, other_meeting.code().as_str()),
        (404, "not_found")
    );
    let forged = get(&s, &at("f1.1.p_x.99999999999.00"), &[]).await;
    assert_eq!(
        (forged.status, forged.code().as_str()),
        (401, "invalid_token")
    );
    let nobody = get(&s, &format!("/api/v1/files/{id}"), &[]).await;
    assert_eq!(
        (nobody.status, nobody.code().as_str()),
        (401, "unauthorized")
    );
    // An account that was not in the meeting: not found; an API key: the file.
    let cookie = http::signed_up(s.addr, "stranger@example.org").await;
    let stranger = get(&s, &format!("/api/v1/files/{id}"), &[("Cookie", &cookie)]).await;
    assert_eq!(stranger.status, 404);
    let key = s.api_auth().await;
    let api = get(
        &s,
        &format!("/api/v1/files/{id}"),
        &[("Authorization", &key)],
    )
    .await;
    assert_eq!(
        (api.status, api.body.as_slice()),
        (200, b"the plan".as_slice())
    );
}

#[tokio::test]
async fn a_file_over_the_limit_is_refused_without_reading_it() {
    let s = TestServer::with(|c| c.files.max_file_bytes = 1024 * 1024).await;
    let (_ada, aj) = join(&s, "big", "Ada", As::Guest).await;
    let auth = format!("Bearer {}", token(&aj));
    // Its length says so: refused with no byte of the body sent.
    let announced = bin::head_only(
        s.addr,
        "/api/v1/files?name=huge.iso",
        &[("Authorization", &auth), ("Content-Length", "209715200")],
    )
    .await;
    assert_eq!(
        (announced.status, announced.code().as_str()),
        (413, "file_too_large")
    );
    // No length: cut off once past the limit, long before the 256 MiB it would send.
    let (cut, sent) = bin::endless(
        s.addr,
        "/api/v1/files?name=stream.bin",
        &[("Authorization", &auth)],
        256 << 20,
        7,
    )
    .await;
    assert_eq!((cut.status, cut.code().as_str()), (413, "file_too_large"));
    assert!(
        sent < 64 << 20,
        "the server stopped reading; {sent} bytes were taken"
    );
    // Nothing was kept: the meeting has no files and the blob store no blobs.
    let store = s.store().await;
    let m = convene_store::Store::meetings(&store, Some("big"), 1)
        .await
        .unwrap();
    assert!(convene_store::Store::files(&store, m[0].id, 10)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(blobs_in(&s), 0);
    // Exactly at the limit is fine.
    let ok = upload(&s, &aj, "fits.bin", &vec![1u8; 1024 * 1024]).await;
    assert_eq!(ok.status, 201, "{:?}", ok.json());
}

/// Blobs in the server's store (temporary files excluded).
fn blobs_in(s: &TestServer) -> usize {
    let root = std::path::Path::new(&s.config.files.dir).join("blobs");
    let Ok(dirs) = std::fs::read_dir(root) else {
        return 0;
    };
    dirs.flatten()
        .map(|d| std::fs::read_dir(d.path()).map(|f| f.count()).unwrap_or(0))
        .sum()
}

#[tokio::test]
async fn a_meeting_over_its_quota_refuses_the_next_file() {
    let s = TestServer::with(|c| {
        c.files.max_file_bytes = 3000;
        c.files.max_meeting_bytes = 5000;
    })
    .await;
    let (_ada, aj) = join(&s, "quota", "Ada", As::Guest).await;
    assert_eq!(upload(&s, &aj, "a", &[1; 3000]).await.status, 201);
    let over = upload(&s, &aj, "b", &[2; 2001]).await;
    assert_eq!(
        (over.status, over.code().as_str()),
        (413, "file_quota_exceeded")
    );
    // Without a length, the stream is cut where the quota ends.
    let auth = format!("Bearer {}", token(&aj));
    let (cut, _) = bin::endless(
        s.addr,
        "/api/v1/files?name=c",
        &[("Authorization", &auth)],
        1 << 20,
        3,
    )
    .await;
    assert_eq!(
        (cut.status, cut.code().as_str()),
        (413, "file_quota_exceeded")
    );
    assert_eq!(
        upload(&s, &aj, "d", &[4; 2000]).await.status,
        201,
        "what is left still fits"
    );
    let full = upload(&s, &aj, "e", &[5; 1]).await;
    assert_eq!(full.code(), "file_quota_exceeded");
}

#[tokio::test]
async fn images_get_a_preview_and_a_bomb_is_refused() {
    let s = TestServer::with(|c| c.files.image_max_pixels = 1_000_000).await;
    let (mut ada, aj) = join(&s, "pics", "Ada", As::Guest).await;
    let r = upload(&s, &aj, "photo.png", &png(800, 600)).await;
    assert_eq!(r.status, 201, "{:?}", r.json());
    let file = next_file(&mut ada).await;
    assert!(file.preview);
    assert_eq!(
        (file.content_type.as_str(), file.width, file.height),
        ("image/png", Some(800), Some(600))
    );
    let p = get(
        &s,
        &format!("/api/v1/files/{}/preview?token={}", file.id, token(&aj)),
        &[],
    )
    .await;
    assert_eq!(
        (p.status, p.header("content-type")),
        (200, Some("image/png"))
    );
    let small = image::load_from_memory(&p.body).unwrap();
    assert_eq!((small.width(), small.height()), (320, 240));

    // 2000 × 2000 claims four times the pixels allowed: refused, nothing kept.
    let before = blobs_in(&s);
    let bomb = upload(&s, &aj, "bomb.png", &png(2000, 2000)).await;
    assert_eq!(
        (bomb.status, bomb.code().as_str()),
        (413, "image_too_large")
    );
    assert_eq!(blobs_in(&s), before);
    // A file that is not an image has no preview.
    let text = upload(&s, &aj, "a.txt", b"hello").await;
    assert_eq!(text.json()["preview"], false);
    let none = get(
        &s,
        &format!(
            "/api/v1/files/{}/preview?token={}",
            text.json()["id"].as_str().unwrap(),
            token(&aj)
        ),
        &[],
    )
    .await;
    assert_eq!(none.status, 404);
}

#[tokio::test]
async fn html_is_served_inert_and_names_are_sanitised() {
    let s = TestServer::start().await;
    let (_ada, aj) = join(&s, "inert", "Ada", As::Guest).await;
    let page = b"<!doctype html><script>alert(document.cookie)</script>";
    let r = upload(&s, &aj, "../../evil\r\n\u{202e}lmth.png", page).await;
    assert_eq!(r.status, 201);
    assert_eq!(r.json()["name"], "evillmth.png");
    assert_eq!(
        r.json()["content_type"],
        "text/html",
        "sniffed, whatever the name says"
    );
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let got = get(&s, &format!("/api/v1/files/{id}?token={}", token(&aj)), &[]).await;
    assert_eq!(got.status, 200);
    assert_eq!(got.header("content-type"), Some("application/octet-stream"));
    assert!(got
        .header("content-disposition")
        .unwrap()
        .starts_with("attachment;"));
    assert_eq!(got.header("x-content-type-options"), Some("nosniff"));
    assert_eq!(
        got.header("content-security-policy"),
        Some("default-src 'none'; sandbox; frame-ancestors 'none'")
    );
}

#[tokio::test]
async fn who_may_share() {
    let s = TestServer::start().await;
    let (mut host, hj) = join(&s, "who", "Host", As::Guest).await;
    let (_bob, bj) = join(&s, "who", "Bob", As::Guest).await;
    // No token, a forged one, another site's page: refused before anything.
    let no_token = bin::send(s.addr, "POST", "/api/v1/files?name=x", &[], b"x").await;
    assert_eq!(
        (no_token.status, no_token.code().as_str()),
        (401, "unauthorized")
    );
    let forged = bin::send(
        s.addr,
        "POST",
        "/api/v1/files?name=x",
        &[("Authorization", "Bearer f1.1.p.9.00")],
        b"x",
    )
    .await;
    assert_eq!(forged.status, 401);
    let auth = format!("Bearer {}", token(&bj));
    let cross = bin::send(
        s.addr,
        "POST",
        "/api/v1/files?name=x",
        &[("Authorization", &auth), ("Origin", "https://evil.example")],
        b"x",
    )
    .await;
    assert_eq!((cross.status, cross.code().as_str()), (403, "forbidden"));
    // A viewer may not share.
    people::accepted(
        &mut host,
        ClientMessage::SetRole {
            participant_id: bj.participant_id.clone(),
            role: Role::Viewer,
        },
    )
    .await;
    let viewer = upload(&s, &bj, "v.txt", b"v").await;
    assert_eq!((viewer.status, viewer.code().as_str()), (403, "forbidden"));
    // Someone who left may not either, with the token they had.
    let (mut leaver, lj) = join(&s, "who", "Lea", As::Guest).await;
    leaver.send(&ClientMessage::Leave).await.unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let gone = upload(&s, &lj, "l.txt", b"l").await;
    assert_eq!(gone.status, 400, "{:?}", gone.json());
    assert_eq!(gone.code(), "not_joined");
    assert_eq!(upload(&s, &hj, "h.txt", b"h").await.status, 201);
}

#[tokio::test]
async fn hosts_delete_files_for_everyone() {
    let s = TestServer::start().await;
    let (mut host, hj) = join(&s, "del", "Host", As::Guest).await;
    let (mut bob, bj) = join(&s, "del", "Bob", As::Guest).await;
    let r = upload(&s, &bj, "mine.txt", b"bob's").await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    next_file(&mut host).await;
    let delete = ClientMessage::DeleteFile {
        file_id: id.clone(),
    };
    people::refused(&mut bob, delete.clone(), ErrorCode::Forbidden).await;
    people::accepted(&mut host, delete.clone()).await;
    let gone = bob
        .recv_until(|m| match m {
            ServerMessage::FileDeleted { file_id } => Some(file_id.clone()),
            _ => None,
        })
        .await
        .unwrap();
    assert_eq!(gone, id);
    let got = get(&s, &format!("/api/v1/files/{id}?token={}", token(&hj)), &[]).await;
    assert_eq!(got.status, 404);
    people::refused(&mut host, delete, ErrorCode::NotFound).await;
    let (_cy, cj) = join(&s, "del", "Cy", As::Guest).await;
    assert!(cj.files.is_empty(), "a later joiner does not see it");
    // Its bytes go too.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(blobs_in(&s), 0);
}
