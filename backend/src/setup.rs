//! Opening the force's store: the SQLite file or the PostgreSQL database,
//! the backend's schema, every module's own tables (each module owns and
//! versions its own), and the token key. Above the storage modules, so none
//! of them needs to know the others exist.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use rand::Rng as _;

use crate::backend::{Backend, PgPool, Store};
use crate::db::{self, KEY_SECRET, Schema};
use crate::error::BackendError;
use crate::sql::pg::PgManager;
use crate::sql::{DbError, Tx};

/// Connections one instance holds to PostgreSQL at most. Requests beyond
/// it wait for one (the HTTP layer sheds what would wait too long): a
/// server's connection slots are shared by every instance, and a few busy
/// connections outrun many contending ones.
pub const PG_POOL_SIZE: u32 = 16;

impl Backend {
    /// Opens (creating if needed) the backend's SQLite database. The first
    /// open makes the 32-byte token key and stores it in the file.
    pub fn open(db_path: &Path) -> Result<Self, BackendError> {
        Self::over(sqlite_store(db_path)?)
    }

    /// Opens a PostgreSQL database (`postgres://user@host:port/db`),
    /// creating the schema on first use. Every instance on the same
    /// database shares its token key, so a token one issues all accept.
    pub fn open_postgres(url: &str) -> Result<Self, BackendError> {
        Self::over(postgres_store(url)?)
    }

    /// Opens whichever store `url` names: `postgres://` or
    /// `postgresql://` a PostgreSQL database, anything else a file path.
    pub fn open_url(url: &str) -> Result<Self, BackendError> {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Self::open_postgres(url)
        } else {
            Self::open(Path::new(url))
        }
    }

    fn over(store: Store) -> Result<Self, BackendError> {
        let secret = store.run(true, prepare)?;
        Ok(Self::new(store, secret))
    }
}

fn sqlite_store(db_path: &Path) -> Result<Store, BackendError> {
    Ok(Store::Sqlite(Mutex::new(db::open(db_path)?)))
}

fn postgres_store(url: &str) -> Result<Store, BackendError> {
    let manager = PgManager::new(url).map_err(|e| BackendError::Invalid(format!("database url: {e}")))?;
    let pool = r2d2::Pool::builder()
        .max_size(PG_POOL_SIZE)
        .min_idle(Some(1))
        .connection_timeout(Duration::from_secs(30))
        .build(manager)
        .map_err(DbError::from)?;
    Ok(Store::Postgres(PgPool::new(pool)))
}

/// Every set of tables, the backend's first: its `meta` table keeps the
/// modules' versions.
const SCHEMAS: [&Schema; 9] = [
    &db::TABLES,
    &crate::devices::TABLES,
    &crate::library::TABLES,
    &crate::boundaries::TABLES,
    &crate::referral::TABLES,
    &crate::review::TABLES,
    &crate::session::TABLES,
    &crate::audit::TABLES,
    &crate::export::TABLES,
];

/// Schema and token key, in the opening transaction.
fn prepare(tx: &Tx<'_>) -> Result<Vec<u8>, BackendError> {
    for schema in SCHEMAS {
        schema.bring_up(tx)?;
    }
    let secret = match db::meta_blob(tx, KEY_SECRET)? {
        Some(s) if s.len() == 32 => s,
        Some(_) => return Err(BackendError::Corrupt("token key has the wrong length".into())),
        None => {
            let mut s = vec![0u8; 32];
            rand::rng().fill_bytes(&mut s);
            db::set_meta_blob(tx, KEY_SECRET, &s)?;
            s
        }
    };
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;
    use crate::sql::{Dialect, p};

    /// A new, empty store: a SQLite file in `dir`, or a new database on the
    /// PostgreSQL server `GUARDIAN_TEST_DATABASE_URL` names (CI runs the
    /// backend's tests against both).
    fn empty_store(dir: &Path) -> Store {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        match std::env::var("GUARDIAN_TEST_DATABASE_URL") {
            Ok(server) if !server.is_empty() => {
                let name = format!("schema_{}_{n}", std::process::id());
                let url = crate::sql::pg::create_database(&server, &name).expect("a test database");
                postgres_store(&url).expect("connect")
            }
            _ => sqlite_store(&dir.join(format!("s{n}.db"))).expect("open"),
        }
    }

    /// The database's shape as the engine reports it: each table's columns
    /// in order (name, type, nullability, default, key), its constraints,
    /// and each index (table, uniqueness, columns). Compared structurally:
    /// an ALTER TABLE leaves different stored text than a fresh CREATE.
    fn shape(tx: &Tx<'_>) -> Vec<String> {
        let text = |r: &crate::sql::Row, i| r.get::<Option<String>>(i).map(Option::unwrap_or_default);
        let mut out: Vec<String> = match tx.dialect() {
            Dialect::Sqlite => {
                let tables = tx
                    .query_all(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
                        p![],
                        |r| r.get::<String>(0),
                    )
                    .expect("tables");
                let mut out = Vec::new();
                for t in tables {
                    let columns = tx.query_all(
                        "SELECT cid, name, type, \"notnull\", dflt_value, pk FROM pragma_table_info(?1)",
                        p![t],
                        |r| {
                            Ok(format!(
                                "{t} column {} {} {} notnull={} default={} pk={}",
                                r.get::<i64>(0)?,
                                r.get::<String>(1)?,
                                r.get::<String>(2)?,
                                r.get::<i64>(3)?,
                                text(r, 4)?,
                                r.get::<i64>(5)?
                            ))
                        },
                    );
                    out.extend(columns.expect("columns"));
                    let fks = tx.query_all(
                        "SELECT \"from\", \"table\", \"to\" FROM pragma_foreign_key_list(?1)",
                        p![t],
                        |r| {
                            Ok(format!(
                                "{t} fk {}→{}({})",
                                r.get::<String>(0)?,
                                r.get::<String>(1)?,
                                text(r, 2)?
                            ))
                        },
                    );
                    out.extend(fks.expect("foreign keys"));
                    let indexes = tx
                        .query_all(
                            "SELECT name, \"unique\", origin FROM pragma_index_list(?1)",
                            p![t],
                            |r| Ok((r.get::<String>(0)?, r.get::<i64>(1)?, r.get::<String>(2)?)),
                        )
                        .expect("indexes");
                    for (name, unique, origin) in indexes {
                        let cols = tx
                            .query_all("SELECT name FROM pragma_index_info(?1) ORDER BY seqno", p![name], |r| {
                                text(r, 0)
                            })
                            .expect("index columns");
                        out.push(format!(
                            "{t} index {name} unique={unique} {origin} ({})",
                            cols.join(", ")
                        ));
                    }
                }
                let without_rowid = tx
                    .query_all(
                        "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%WITHOUT ROWID%'",
                        p![],
                        |r| r.get::<String>(0),
                    )
                    .expect("without rowid");
                out.extend(without_rowid.into_iter().map(|t| format!("{t} without rowid")));
                out
            }
            Dialect::Postgres => {
                let mut out = tx
                    .query_all(
                        "SELECT table_name, ordinal_position, column_name, data_type, is_nullable, column_default
                         FROM information_schema.columns WHERE table_schema = 'public'",
                        p![],
                        |r| {
                            Ok(format!(
                                "{} column {} {} {} nullable={} default={}",
                                r.get::<String>(0)?,
                                r.get::<i64>(1)?,
                                r.get::<String>(2)?,
                                r.get::<String>(3)?,
                                r.get::<String>(4)?,
                                text(r, 5)?
                            ))
                        },
                    )
                    .expect("columns");
                // Each is `(table, name, definition)`.
                let named = |kind: &str, sql: &str| {
                    tx.query_all(sql, p![], |r| {
                        Ok(format!(
                            "{} {kind} {} {}",
                            r.get::<String>(0)?,
                            r.get::<String>(1)?,
                            r.get::<String>(2)?
                        ))
                    })
                    .expect(kind)
                };
                out.extend(named(
                    "index",
                    "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'",
                ));
                out.extend(named(
                    "constraint",
                    "SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid)
                     FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace
                     WHERE n.nspname = 'public'",
                ));
                out
            }
        };
        out.sort();
        out
    }

    fn shape_of(store: &Store) -> Vec<String> {
        store
            .run(false, |tx| Ok::<_, BackendError>(shape(tx)))
            .expect("read the shape")
    }

    /// Builds `schema` at `version` as that version's backend left it:
    /// the first tables and the upgrades up to it, the version stored.
    fn build_at(tx: &Tx<'_>, schema: &Schema, version: i64) -> Result<(), BackendError> {
        for sql in schema.first {
            tx.execute_batch(sql)?;
        }
        let steps = usize::try_from(version - 1).expect("a version from 1");
        for step in &schema.upgrades[..steps] {
            step(tx)?;
        }
        match schema.stored {
            db::Stored::Header => db::set_header_version(tx, version),
            db::Stored::Meta(key) => db::set_meta_blob(tx, key, &version.to_le_bytes()),
        }
    }

    #[test]
    fn every_earlier_version_of_every_schema_upgrades_to_exactly_a_fresh_one() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = empty_store(dir.path());
        fresh.run(true, prepare).expect("a fresh database");
        let fresh = shape_of(&fresh);
        assert!(
            fresh.iter().any(|l| l.contains("referral_events")),
            "the shape reads the tables: {fresh:?}"
        );

        for (i, schema) in SCHEMAS.iter().enumerate() {
            // Every version this schema ever had, the current one included:
            // the first tables and every upgrade must make what `fresh` does.
            for version in 1..=schema.version() {
                let store = empty_store(dir.path());
                store
                    .run(true, |tx| {
                        // The others as they are now (each versions on its
                        // own); the backend's `meta` first, modules need it.
                        for (j, other) in SCHEMAS.iter().enumerate() {
                            if j == i {
                                build_at(tx, schema, version)?;
                            } else {
                                other.bring_up(tx)?;
                            }
                        }
                        Ok::<_, BackendError>(())
                    })
                    .expect("build the old version");
                store.run(true, prepare).expect("upgrade");
                let got = shape_of(&store);
                let missing: Vec<_> = fresh.iter().filter(|l| !got.contains(l)).collect();
                let extra: Vec<_> = got.iter().filter(|l| !fresh.contains(l)).collect();
                assert!(
                    missing.is_empty() && extra.is_empty(),
                    "{} version {version} upgraded is not a fresh database: missing {missing:?}, extra {extra:?}",
                    schema.name
                );
                let stored = store
                    .run(false, |tx| schema_version(tx, schema))
                    .expect("the stored version");
                assert_eq!(stored, schema.version(), "{}", schema.name);
            }
        }
    }

    fn schema_version(tx: &Tx<'_>, schema: &Schema) -> Result<i64, BackendError> {
        match schema.stored {
            db::Stored::Header => db::header_version(tx),
            db::Stored::Meta(key) => db::meta_counter(tx, key),
        }
    }

    #[test]
    fn a_module_newer_than_this_backend_is_refused_saying_so_and_nothing_changes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = empty_store(dir.path());
        store.run(true, prepare).expect("fresh");
        let newer = crate::referral::TABLES.version() + 1;
        store
            .run(true, |tx| {
                let db::Stored::Meta(key) = crate::referral::TABLES.stored else {
                    panic!("referrals version in meta");
                };
                db::set_meta_blob(tx, key, &newer.to_le_bytes())
            })
            .expect("pretend a newer backend wrote it");
        let before = shape_of(&store);
        let err = store.run(true, prepare).expect_err("a newer schema is refused");
        let text = err.to_string();
        assert!(
            text.contains(&format!(
                "referrals tables are at version {newer}, newer than this backend's {}",
                newer - 1
            )),
            "{text}"
        );
        assert_eq!(shape_of(&store), before);
    }
}
