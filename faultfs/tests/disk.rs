//! A full disk and I/O errors are errors SQLite reports, and they damage
//! nothing. (Its own test binary: it installs the VFS for the whole process.)

// SQLCipher's crypto provider lives in the core.
extern crate guardian_core;

fn integrity(conn: &rusqlite::Connection) -> String {
    conn.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity")
}

#[test]
fn a_full_disk_and_io_errors_are_reported_and_change_nothing() {
    // This test owns its process's default VFS.
    guardian_faultfs::install(guardian_faultfs::Config::default()).expect("install");
    let dir = tempfile::tempdir().expect("tempdir");
    let conn = rusqlite::Connection::open(dir.path().join("full.db")).expect("open");
    conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
    conn.execute_batch("CREATE TABLE t (n INTEGER PRIMARY KEY, pad BLOB)")
        .expect("table");
    for n in 0..20 {
        conn.execute("INSERT INTO t VALUES (?1, zeroblob(2000))", [n])
            .expect("row");
    }
    guardian_faultfs::set_quota(Some(guardian_faultfs::used_bytes() + 10_000));
    let mut full = None;
    for n in 20..200 {
        if let Err(e) = conn.execute("INSERT INTO t VALUES (?1, zeroblob(2000))", [n]) {
            full = Some((n, e));
            break;
        }
    }
    let (stopped_at, err) = full.expect("the disk filled");
    assert_eq!(err.sqlite_error_code(), Some(rusqlite::ErrorCode::DiskFull), "{err}");
    let count: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, stopped_at, "the failed insert left nothing behind");
    guardian_faultfs::set_quota(None);
    conn.execute("INSERT INTO t VALUES (?1, zeroblob(2000))", [stopped_at])
        .expect("space is back");

    guardian_faultfs::fail_writes(true);
    assert!(conn.execute("INSERT INTO t VALUES (1000, NULL)", []).is_err());
    guardian_faultfs::fail_writes(false);
    guardian_faultfs::fail_reads(true);
    let failed = rusqlite::Connection::open(dir.path().join("full.db"))
        .and_then(|fresh| fresh.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)));
    let err = failed.expect_err("reads fail");
    assert_eq!(
        err.sqlite_error_code(),
        Some(rusqlite::ErrorCode::SystemIoFailure),
        "{err}"
    );
    guardian_faultfs::fail_reads(false);
    assert_eq!(integrity(&conn), "ok");
    let count: i64 = conn
        .query_row("SELECT count(*) FROM t", [], |r| r.get(0))
        .expect("count");
    assert_eq!(count, stopped_at + 1);
}
