use super::*;
use rusqlite::OptionalExtension;

fn key(b: u8) -> DbKey {
    DbKey::from_bytes([b; 32]).expect("non-zero key")
}

fn file_bytes(dir: &Path) -> Vec<u8> {
    let mut all = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read dir") {
        let path = entry.expect("entry").path();
        all.extend(std::fs::read(&path).expect("read file"));
    }
    all
}

/// The schema as SQLite understands it: each table's columns (name, type,
/// not-null, default, primary key), its foreign keys and CHECK/UNIQUE text,
/// and each index's definition. Compared structurally, because ALTER TABLE
/// rewrites a table's stored SQL text differently from a fresh CREATE.
fn schema_of(store: &Store) -> Vec<String> {
    store
        .read(|tx| {
            let mut out = Vec::new();
            let mut stmt = tx.prepare(
                "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
            )?;
            let objects = stmt
                .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?, r.get::<_, Option<String>>(3)?)))?
                .collect::<Result<Vec<_>, _>>()?;
            for (kind, name, table, sql) in objects {
                if kind == "index" {
                    out.push(format!("index {name} on {table}: {}", sql.unwrap_or_default()));
                    continue;
                }
                let mut cols = tx.prepare(&format!("SELECT name, type, \"notnull\", dflt_value, pk FROM pragma_table_info('{name}')"))?;
                for c in cols.query_map([], |r| {
                    Ok(format!(
                        "{kind} {name} column {} {} notnull={} default={:?} pk={}",
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                        r.get::<_, Option<String>>(3)?,
                        r.get::<_, i64>(4)?
                    ))
                })? {
                    out.push(c?);
                }
                let mut fks = tx.prepare(&format!("SELECT \"table\", \"from\", \"to\" FROM pragma_foreign_key_list('{name}')"))?;
                for f in fks.query_map([], |r| {
                    Ok(format!("{name} fk {}→{}({:?})", r.get::<_, String>(1)?, r.get::<_, String>(0)?, r.get::<_, Option<String>>(2)?))
                })? {
                    out.push(f?);
                }
                // CHECK constraints live only in the text: keep those lines.
                for line in sql.unwrap_or_default().lines().filter(|l| l.contains("CHECK") || l.contains("UNIQUE")) {
                    out.push(format!("{name} constraint {}", line.trim().trim_end_matches(',')));
                }
            }
            out.sort();
            Ok::<_, StoreError>(out)
        })
        .expect("schema")
}

#[test]
fn stored_text_never_appears_in_the_file_bytes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guardian.db");
    let secret = "Zebedee-Marchbanks-7731";
    let store = Store::open(&path, key(7)).expect("open");
    store
        .write(|tx| {
            tx.execute(
                "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, 'x', ?1, 'constable')",
                [secret],
            )?;
            Ok::<_, StoreError>(())
        })
        .expect("write");
    // Look at the log before and after it is folded into the main file.
    let before = file_bytes(dir.path());
    store.checkpoint().expect("checkpoint");
    let after = file_bytes(dir.path());
    for bytes in [before, after] {
        assert!(!bytes.is_empty());
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "plaintext found in the database files"
        );
        assert!(!bytes.windows(15).any(|w| w == b"SQLite format 3"));
    }
    drop(store);
    // And it reads back with the right key.
    let store = Store::open(&path, key(7)).expect("reopen");
    let name: String = store
        .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT display_name FROM officer", [], |r| r.get(0))?))
        .expect("read");
    assert_eq!(name, secret);
}

#[test]
fn wrong_key_is_a_typed_error_and_leaves_the_file_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guardian.db");
    let store = Store::open(&path, key(1)).expect("open");
    store.checkpoint().expect("checkpoint");
    drop(store);
    let before: Vec<_> = std::fs::read(&path).expect("read");
    let listing_before = std::fs::read_dir(dir.path()).expect("dir").count();

    let err = Store::open(&path, key(2)).expect_err("wrong key must fail");
    assert!(matches!(err, StoreError::WrongKey), "got {err:?}");

    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), listing_before);
    // The right key still works afterwards.
    Store::open(&path, key(1)).expect("right key");
}

#[test]
fn a_garbage_file_is_refused_without_being_changed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("guardian.db");
    let junk: Vec<u8> = (0..8192u32).map(|i| (i * 31 % 251) as u8).collect();
    std::fs::write(&path, &junk).expect("write junk");
    let err = Store::open(&path, key(3)).expect_err("junk must fail");
    assert!(matches!(err, StoreError::WrongKey), "got {err:?}");
    assert_eq!(std::fs::read(&path).expect("read"), junk);
}

#[test]
fn a_plaintext_sqlite_file_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("plain.db");
    {
        let conn = Connection::open(&path).expect("plain open");
        conn.execute_batch("CREATE TABLE t (x); INSERT INTO t VALUES (1);")
            .expect("plain write");
    }
    let err = Store::open(&path, key(4)).expect_err("plaintext must be refused");
    assert!(matches!(err, StoreError::NotEncrypted), "got {err:?}");
}

#[test]
fn keys_of_the_wrong_length_or_all_zero_are_refused() {
    assert!(matches!(DbKey::from_slice(&[1; 31]), Err(KeyError::WrongLength(31))));
    assert!(matches!(DbKey::from_slice(&[1; 33]), Err(KeyError::WrongLength(33))));
    assert!(matches!(DbKey::from_slice(&[0; 32]), Err(KeyError::AllZero)));
    assert!(DbKey::from_slice(&[9; 32]).is_ok());
    assert!(!format!("{:?}", key(9)).contains('9'));
}

#[test]
fn the_first_schema_migrates_to_exactly_the_fresh_schema_keeping_its_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let old_path = dir.path().join("old.db");
    {
        let conn = open_connection(&old_path, &key(5)).expect("open v1");
        conn.execute_batch(schema::V1).expect("v1 schema");
        conn.pragma_update(None, "user_version", 1).expect("version");
        conn.execute(
            "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, 'o-1', 'PC Ada', 'constable')",
            [],
        )
        .expect("v1 row");
    }
    let migrated = Store::open(&old_path, key(5)).expect("migrate");
    let fresh = Store::open(dir.path().join("fresh.db"), key(5)).expect("fresh");

    assert_eq!(schema_of(&migrated), schema_of(&fresh));
    let version = migrated.read(|tx| schema::user_version(tx)).expect("version");
    assert_eq!(version, schema::VERSION);
    let name: String = migrated
        .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT display_name FROM officer", [], |r| r.get(0))?))
        .expect("row kept");
    assert_eq!(name, "PC Ada");
}

#[test]
fn a_database_from_a_newer_app_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("g.db");
    {
        let conn = open_connection(&path, &key(6)).expect("open");
        conn.execute_batch(schema::FRESH).expect("schema");
        conn.pragma_update(None, "user_version", schema::VERSION + 1)
            .expect("version");
    }
    let err = Store::open(&path, key(6)).expect_err("newer must be refused");
    assert!(
        matches!(err, StoreError::TooNew { found, supported } if found == schema::VERSION + 1 && supported == schema::VERSION),
        "got {err:?}"
    );
}

#[test]
fn a_failed_write_keeps_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("g.db"), key(8)).expect("open");
    let result = store.write(|tx| {
        tx.execute(
            "INSERT INTO officer (singleton, officer_id, display_name, rank) VALUES (1, 'o', 'n', 'pcso')",
            [],
        )?;
        Err::<(), _>(StoreError::Corrupt("deliberate".into()))
    });
    assert!(result.is_err());
    let count: i64 = store
        .read(|tx| Ok::<_, StoreError>(tx.query_row("SELECT count(*) FROM officer", [], |r| r.get(0))?))
        .expect("count");
    assert_eq!(count, 0);
}

#[test]
fn pragmas_are_in_force_on_every_connection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("g.db"), key(9)).expect("open");
    let (mode, fk, temp, sync): (String, i64, i64, i64) = store
        .read(|tx| {
            Ok::<_, StoreError>((
                tx.query_row("PRAGMA journal_mode", [], |r| r.get(0))?,
                tx.query_row("PRAGMA foreign_keys", [], |r| r.get(0))?,
                tx.query_row("PRAGMA temp_store", [], |r| r.get(0))?,
                tx.query_row("PRAGMA synchronous", [], |r| r.get(0))?,
            ))
        })
        .expect("pragmas");
    assert_eq!(mode, "wal");
    assert_eq!(fk, 1);
    assert_eq!(temp, 2);
    assert_eq!(sync, 2);
}

#[test]
fn sqlcipher_runs_on_the_rustcrypto_provider() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("g.db"), key(4)).expect("open");
    let provider: String = store
        .read(|tx| Ok::<_, StoreError>(tx.query_row("PRAGMA cipher_provider", [], |r| r.get(0))?))
        .expect("provider");
    // If this fails, the build lost `.cargo/config.toml`'s LIBSQLITE3_FLAGS
    // and SQLCipher fell back to OpenSSL.
    assert_eq!(provider, cipher::PROVIDER_NAME);
}

/// Files written by stock SQLCipher 4.20 on OpenSSL (see
/// `core/tests/fixtures/README.md`): one with a raw key like ours, one with a
/// passphrase (PBKDF2-HMAC-SHA512, 256,000 rounds), one in SQLCipher 3's
/// format (HMAC-SHA1, PBKDF2-HMAC-SHA1). Each must read back whole, take new
/// writes, and still read after a reopen.
#[test]
fn files_written_by_sqlcipher_on_openssl_read_and_write_here() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let cases = [
        (
            "sqlcipher4-raw-key.db",
            "\"x'000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f'\"",
            4,
        ),
        ("sqlcipher4-passphrase.db", "'guardian fixture passphrase'", 4),
        ("sqlcipher3-passphrase.db", "'guardian fixture passphrase'", 3),
    ];
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, key, compat) in cases {
        let path = dir.path().join(name);
        std::fs::copy(fixtures.join(name), &path).expect("copy fixture");
        let open = || {
            let conn = Connection::open(&path).expect("open");
            conn.execute_batch(&format!("PRAGMA key = {key}; PRAGMA cipher_compatibility = {compat};"))
                .expect("key");
            conn
        };
        let conn = open();
        let (rows, body): (i64, String) = conn
            .query_row(
                "SELECT count(*), (SELECT body FROM patrol_note WHERE id = 123) FROM patrol_note",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(rows, 200, "{name}");
        assert_eq!(body, format!("note 123 {}", "guardian ".repeat(10)), "{name}");
        assert_eq!(
            conn.query_row("PRAGMA cipher_integrity_check", [], |_| Ok(()))
                .optional()
                .expect("check"),
            None
        );
        conn.execute_batch("INSERT INTO patrol_note(id, body) SELECT id + 1000, upper(body) FROM patrol_note;")
            .expect("write");
        drop(conn);
        let rows: i64 = open()
            .query_row("SELECT count(*) FROM patrol_note", [], |r| r.get(0))
            .expect("reread");
        assert_eq!(rows, 400, "{name}");
        // A wrong passphrase still fails the page HMAC.
        let wrong = Connection::open(&path).expect("open");
        wrong
            .execute_batch(&format!(
                "PRAGMA key = 'not the passphrase'; PRAGMA cipher_compatibility = {compat};"
            ))
            .expect("key");
        assert!(
            wrong
                .query_row("SELECT count(*) FROM patrol_note", [], |r| r.get::<_, i64>(0))
                .is_err(),
            "{name}"
        );
    }
}

/// A table added to the schema must be either salvaged by recovery or
/// declared rebuilt from the force: never silently left behind.
#[test]
fn every_table_is_salvaged_by_recovery_or_declared_rebuilt() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path().join("g.db"), key(3)).expect("fresh");
    let tables: Vec<String> = store
        .read(|tx| {
            // `table_list` tells FTS5's own shadow tables apart: they
            // belong to their virtual table.
            let mut stmt = tx.prepare(
                "SELECT name FROM pragma_table_list WHERE schema = 'main' AND type IN ('table', 'virtual')
                 AND name NOT LIKE 'sqlite_%' ORDER BY name",
            )?;
            let names = stmt.query_map([], |r| r.get(0))?.collect::<Result<Vec<String>, _>>()?;
            Ok::<_, StoreError>(names)
        })
        .expect("tables");
    assert!(tables.len() > 10, "{tables:?}");
    for t in &tables {
        let salvaged = super::recover::SALVAGED.contains(&t.as_str());
        let rebuilt = super::recover::REBUILT.contains(&t.as_str());
        assert!(
            salvaged != rebuilt,
            "table {t}: salvaged {salvaged}, rebuilt {rebuilt}: choose one"
        );
    }
    for listed in super::recover::SALVAGED.iter().chain(super::recover::REBUILT) {
        assert!(
            tables.iter().any(|t| t == listed),
            "{listed} is listed but not in the schema"
        );
    }
}
