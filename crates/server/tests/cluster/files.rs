//! Shared files in a cluster: the load balancer sends an upload to one node and each download to
//! any, so the bytes are in the database (files/db_blob.rs), not on the disk of the node that took
//! the upload.

use std::io::Cursor;

use convene_client::{join_msg, Signaling};
use convene_proto::{Joined, ServerMessage};

use super::{binary_http, room, Env};

fn token(j: &Joined) -> String {
    j.file_access.as_ref().expect("file access").token.clone()
}

async fn join_at(env: &Env, node: usize, name: &str, who: &str) -> (Signaling, Joined) {
    let mut s = Signaling::connect(&format!("ws://{}/ws", env.nodes[node]))
        .await
        .expect("connect");
    let j = s.join(join_msg(name, who)).await.expect("join");
    (s, j)
}

/// Uploads `body` as `name` through node `node`, from that node's own page.
/// The shared file's id and whether it has a preview.
async fn upload(env: &Env, node: usize, j: &Joined, name: &str, body: &[u8]) -> (String, bool) {
    let auth = format!("Bearer {}", token(j));
    let origin = format!("http://{}", env.nodes[node]);
    let headers = [
        ("Authorization", auth.as_str()),
        ("Origin", origin.as_str()),
    ];
    let path = format!("/api/v1/files?name={name}");
    let r = binary_http::send(env.nodes[node], "POST", &path, &headers, body).await;
    assert_eq!(
        r.status,
        201,
        "upload through node {node}: {}",
        String::from_utf8_lossy(&r.body)
    );
    let file: serde_json::Value = serde_json::from_slice(&r.body).expect("JSON");
    let id = file["id"].as_str().expect("its id").to_owned();
    (id, file["preview"] == true)
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::RgbImage::from_pixel(width, height, image::Rgb([10, 120, 200]));
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, image::ImageFormat::Png)
        .expect("encode");
    out.into_inner()
}

/// Two participants on two nodes; a file uploaded through the third reaches both, and every node
/// serves it whole and by a range across a stored chunk's edge; an image's preview too.
pub async fn files_are_shared_through_every_node(env: &Env, ids: &[String]) {
    let name = room("files");
    let (_ada, aj) = join_at(env, 0, &name, "Ada").await;
    let (mut bob, bj) = join_at(env, 1, &name, "Bob").await;
    // 1.5 MiB: more than one of the database's 1 MiB chunks; bytes that differ at every offset.
    let bytes: Vec<u8> = (0..1_572_864u32).map(|i| (i % 251) as u8).collect();
    let (shared, _) = upload(env, 2, &aj, "data.bin", &bytes).await;
    let seen = bob
        .recv_until(|m| match m {
            ServerMessage::FileShared { file } => Some(file.clone()),
            _ => None,
        })
        .await
        .expect("file_shared on the other participant's node");
    assert_eq!(seen.id, shared);

    let path = format!("/api/v1/files/{shared}?token={}", token(&bj));
    let edge = 1_048_576 - 100;
    let range = format!("bytes={edge}-{}", edge + 199);
    for (i, node) in env.nodes.iter().enumerate() {
        let whole = binary_http::send(*node, "GET", &path, &[], b"").await;
        assert_eq!(whole.status, 200, "the file through {}", ids[i]);
        assert!(whole.body == bytes, "the same bytes through {}", ids[i]);
        let part = binary_http::send(*node, "GET", &path, &[("Range", range.as_str())], b"").await;
        assert_eq!(part.status, 206, "a range through {}", ids[i]);
        assert_eq!(part.body, bytes[edge..edge + 200], "through {}", ids[i]);
    }

    let (image, has_preview) = upload(env, 1, &bj, "photo.png", &png(800, 600)).await;
    assert!(has_preview, "an image gets a preview");
    let preview = format!("/api/v1/files/{image}/preview?token={}", token(&aj));
    for (i, node) in env.nodes.iter().enumerate() {
        let r = binary_http::send(*node, "GET", &preview, &[], b"").await;
        assert_eq!(r.status, 200, "the preview through {}", ids[i]);
        assert_eq!(r.header("content-type"), Some("image/png"));
        assert!(
            image::load_from_memory(&r.body).is_ok(),
            "a decodable preview"
        );
    }

    // They are in the database, as whole committed blobs: the file, the image and its preview.
    let stored: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM blobs b JOIN meeting_files f \
         ON b.blob_key = f.blob_key OR b.blob_key = f.preview_key \
         WHERE f.public_id IN ($1, $2) AND b.committed = 1",
    )
    .bind(&shared)
    .bind(&image)
    .fetch_one(&env.db)
    .await
    .expect("the blobs");
    assert_eq!(stored, 3);
}
