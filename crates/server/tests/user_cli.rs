//! `convene user add` and `convene user passwd` through the real binary, against the database a
//! server then uses.

use std::io::Write;
use std::process::{Command, Stdio};

use convene_store::Store;

fn convene(args: &[&str], stdin: &str) -> (bool, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_convene"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run convene");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write the password");
    let out = child.wait_with_output().expect("wait");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

#[tokio::test]
async fn an_admin_is_made_on_the_command_line_and_its_password_reset() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("c.db").display());
    let add = [
        "user",
        "add",
        "--email",
        "Root@Example.org",
        "--admin",
        "--database-url",
        &url,
    ];
    let (ok, out) = convene(&add, "a long admin secret\n");
    assert!(ok, "{out}");
    assert!(out.contains("made admin account"), "{out}");
    let (ok, out) = convene(&add, "a long admin secret\n");
    assert!(!ok, "a second account with the same email is refused");
    assert!(out.contains("exists already"), "{out}");
    let (ok, out) = convene(
        &[
            "user",
            "add",
            "--email",
            "b@example.org",
            "--database-url",
            &url,
        ],
        "short\n",
    );
    assert!(!ok && out.contains("at least 10"), "{out}");

    let store = convene_store::connect(&url).await.unwrap();
    let root = store
        .user_by_email("root@example.org")
        .await
        .unwrap()
        .unwrap();
    assert!(root.is_admin);
    assert_eq!(root.display_name, "root");
    let before = root.password_hash.clone().unwrap();
    assert!(before.starts_with("$argon2id$"));

    let (ok, out) = convene(
        &[
            "user",
            "passwd",
            "--email",
            "root@example.org",
            "--database-url",
            &url,
        ],
        "another long secret\n",
    );
    assert!(ok, "{out}");
    let after = store
        .user(root.id)
        .await
        .unwrap()
        .unwrap()
        .password_hash
        .unwrap();
    assert_ne!(after, before);
    let (ok, out) = convene(
        &[
            "user",
            "passwd",
            "--email",
            "nobody@example.org",
            "--database-url",
            &url,
        ],
        "another long secret\n",
    );
    assert!(!ok && out.contains("no account"), "{out}");
}
