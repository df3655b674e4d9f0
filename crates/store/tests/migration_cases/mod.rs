//! Migrations in the store suite: a database made by the old runner (versions in
//! `schema_migrations`) is adopted by sqlx's migrator without running anything again, also by several
//! runners at once.

use convene_store::*;
use sqlx::Executor;

use crate::common::*;

/// Every script, as the old runner applied them (file names in order).
fn all_scripts(sqlite: bool) -> Vec<String> {
    let dir = format!(
        "{}/migrations/{}",
        env!("CARGO_MANIFEST_DIR"),
        if sqlite { "sqlite" } else { "postgres" }
    );
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("migrations")
        .map(|e| e.expect("an entry").path())
        .collect();
    files.sort();
    files
        .iter()
        .map(|f| std::fs::read_to_string(f).expect("a script"))
        .collect()
}

/// The old runner's bookkeeping with every version applied, and one meeting.
async fn make_old_database(db: &Db) {
    sqlx::any::install_default_drivers();
    let sqlite = db.url.starts_with("sqlite");
    let url = if sqlite {
        let path = db.url.trim_start_matches("sqlite://");
        let parent = std::path::Path::new(path).parent().expect("a folder");
        std::fs::create_dir_all(parent).expect("create the folder");
        format!("{}?mode=rwc", db.url)
    } else {
        db.url.clone()
    };
    let old = sqlx::AnyPool::connect(&url).await.expect("connect raw");
    old.execute(
        "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
    )
    .await
    .expect("the old migrations table");
    for (i, script) in all_scripts(sqlite).iter().enumerate() {
        old.execute(script.as_str()).await.expect("an old script");
        sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, 0)")
            .bind(i as i64 + 1)
            .execute(&old)
            .await
            .expect("record the old version");
    }
    sqlx::query(
        "INSERT INTO meetings (room, creator, created_at, max_participants, settings_json, \
         node_id, last_seen_at, public_id) VALUES ('kept', NULL, 1, 10, '{}', 'n1', 1, 'p1')",
    )
    .execute(&old)
    .await
    .expect("an old meeting");
    old.close().await;
}

/// (versions recorded, of which adopted rather than run) in sqlx's table.
async fn recorded(store: &SqlStore) -> (i64, i64) {
    sqlx::query_as(
        "SELECT COUNT(*), COALESCE(SUM(CASE WHEN execution_time = 0 THEN 1 ELSE 0 END), 0) \
         FROM _sqlx_migrations WHERE success = TRUE",
    )
    .fetch_one(store.pool())
    .await
    .expect("count")
}

pub async fn an_old_runners_database_is_adopted_without_running_anything(db: Db) {
    make_old_database(&db).await;
    let files = all_scripts(true).len() as i64;

    // Three nodes start at once on it: one adopts, the others find it adopted.
    let (a, b, c) = tokio::join!(db.connect(), db.connect(), db.connect());
    for store in [&a, &b, &c] {
        assert_eq!(
            store.schema_version().await.expect("version"),
            files,
            "the newest version"
        );
    }
    // Every version recorded once, all adopted: a script that ran again would have been timed
    // (and most would have failed on tables that exist).
    assert_eq!(recorded(&a).await, (files, files));
    let meetings = a.meetings(None, 10).await.expect("list");
    assert_eq!(meetings.len(), 1);
    assert_eq!(meetings[0].room, "kept");

    // A restart checks the adopted checksums against this build's scripts (sqlx refuses a
    // mismatch) and changes nothing.
    for s in [a, b, c] {
        s.close().await;
    }
    let again = db.connect().await;
    assert_eq!(recorded(&again).await, (files, files));
    // The old table is left as it was, for a node of an older build during a rolling upgrade.
    let old: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations")
        .fetch_one(again.pool())
        .await
        .expect("the old table");
    assert_eq!(old, files);
}

pub async fn a_new_database_runs_every_script(db: Db) {
    let store = db.connect().await;
    let files = all_scripts(true).len() as i64;
    let (count, adopted) = recorded(&store).await;
    assert_eq!((count, adopted), (files, 0), "run, not adopted");
    let catalogue = match store.backend() {
        Backend::Sqlite => "SELECT COUNT(*) FROM sqlite_master WHERE name = 'schema_migrations'",
        Backend::Postgres => {
            "SELECT COUNT(*) FROM information_schema.tables \
             WHERE table_schema = current_schema() AND table_name = 'schema_migrations'"
        }
    };
    let old: i64 = sqlx::query_scalar(catalogue)
        .fetch_one(store.pool())
        .await
        .expect("the catalogue");
    assert_eq!(old, 0, "no old bookkeeping is made");
}
