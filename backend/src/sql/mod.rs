//! One way to talk SQL to either store: SQLite (the embedded default) or
//! PostgreSQL (the production one). The storage modules write their
//! statements once, in the subset both engines read alike (`?N`
//! placeholders, `ON CONFLICT`, `RETURNING`, `coalesce`, no engine
//! functions), hand over [`Value`]s, and get [`Row`]s of [`Value`]s back.
//!
//! The differences live here and nowhere else: placeholders and column
//! types are translated for PostgreSQL ([`pg`]), a bulk insert is one row
//! at a time on SQLite (a prepared statement in one local transaction is
//! as fast as it gets) and many rows a statement on PostgreSQL (a round
//! trip per row would be the cost), and PostgreSQL's concurrent writers
//! get a retry when a constraint or a serialisation check turns one of
//! them away ([`Retry`]).

pub(crate) mod pg;
mod sqlite;
mod value;

use std::cell::RefCell;

pub(crate) use value::{Row, ToValue, Value};

/// What went wrong talking to the database: the engine's own error, or a
/// stored value that is not what the code reads it as.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("{0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    #[error("no database connection: {0}")]
    Pool(#[from] r2d2::Error),
    /// The URL's TLS settings cannot be used (a CA file missing or empty).
    #[error("database TLS: {0}")]
    Tls(String),
    #[error("column {column}: {problem}")]
    Type { column: usize, problem: String },
    #[error("the query returned no row")]
    NoRow,
    /// A conditional write found the row changed since it was read: run
    /// the transaction again.
    #[error("the row changed while this transaction ran")]
    Conflict,
}

/// rust-postgres's own text is only the kind ("db error", "error
/// performing TLS handshake"): the server's message or the cause is what
/// tells an operator what is wrong.
fn postgres_message(e: &postgres::Error) -> String {
    use std::error::Error as _;
    match (e.as_db_error(), e.source()) {
        (Some(db), _) => format!("{} ({})", db.message(), db.code().code()),
        (None, Some(cause)) => format!("{e}: {cause}"),
        (None, None) => e.to_string(),
    }
}

impl DbError {
    /// Another writer got there first (a unique key), or PostgreSQL could
    /// not order two transactions: running the same work again gives the
    /// answer the winner's commit implies (usually "duplicate").
    pub(crate) fn is_retryable(&self) -> bool {
        match self {
            DbError::Postgres(e) => e.code().is_some_and(|c| {
                use postgres::error::SqlState;
                *c == SqlState::UNIQUE_VIOLATION
                    || *c == SqlState::T_R_SERIALIZATION_FAILURE
                    || *c == SqlState::T_R_DEADLOCK_DETECTED
            }),
            DbError::Conflict => true,
            _ => false,
        }
    }
}

/// An error a storage operation can end in: from the database, and maybe
/// worth running again (PostgreSQL's lost races).
pub(crate) trait StoreFailure: From<DbError> {
    fn retryable(&self) -> bool;
}

/// Builds a `&[Value]` parameter list: `p![a, b, c]`.
macro_rules! p {
    () => { &[] as &[$crate::sql::Value] };
    ($($e:expr),+ $(,)?) => { &[$($crate::sql::ToValue::to_value(&$e)),+][..] };
}
pub(crate) use p;

/// Which engine a transaction talks to, for the rare statement the two
/// spell differently.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

/// One open transaction on either store. Every storage function takes
/// `&Tx`; what it does inside commits or rolls back as one.
pub(crate) struct Tx<'a> {
    inner: Inner<'a>,
}

enum Inner<'a> {
    Sqlite(&'a rusqlite::Transaction<'a>),
    Postgres(RefCell<pg::PgTx<'a>>),
}

impl<'a> Tx<'a> {
    pub(crate) fn sqlite(tx: &'a rusqlite::Transaction<'a>) -> Self {
        Self {
            inner: Inner::Sqlite(tx),
        }
    }

    pub(crate) fn postgres(tx: pg::PgTx<'a>) -> Self {
        Self {
            inner: Inner::Postgres(RefCell::new(tx)),
        }
    }

    pub(crate) fn into_pg(self) -> Option<pg::PgTx<'a>> {
        match self.inner {
            Inner::Postgres(t) => Some(t.into_inner()),
            Inner::Sqlite(_) => None,
        }
    }

    pub(crate) fn dialect(&self) -> Dialect {
        match self.inner {
            Inner::Sqlite(_) => Dialect::Sqlite,
            Inner::Postgres(_) => Dialect::Postgres,
        }
    }

    /// Runs one statement; the number of rows it changed.
    pub(crate) fn execute(&self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match &self.inner {
            Inner::Sqlite(tx) => sqlite::execute(tx, sql, params),
            Inner::Postgres(tx) => tx.borrow_mut().execute(sql, params),
        }
    }

    /// Schema statements, separated by `;`, no parameters.
    pub(crate) fn execute_batch(&self, sql: &str) -> Result<(), DbError> {
        match &self.inner {
            Inner::Sqlite(tx) => Ok(tx.execute_batch(sql)?),
            Inner::Postgres(tx) => tx.borrow_mut().batch(sql),
        }
    }

    /// Every row, each read by `f`.
    pub(crate) fn query_all<T>(
        &self,
        sql: &str,
        params: &[Value],
        mut f: impl FnMut(&Row) -> Result<T, DbError>,
    ) -> Result<Vec<T>, DbError> {
        let rows = match &self.inner {
            Inner::Sqlite(tx) => sqlite::query(tx, sql, params)?,
            Inner::Postgres(tx) => tx.borrow_mut().query(sql, params)?,
        };
        rows.iter().map(&mut f).collect()
    }

    /// The first row, if any.
    pub(crate) fn query_opt<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<Option<T>, DbError> {
        let rows = match &self.inner {
            Inner::Sqlite(tx) => sqlite::query(tx, sql, params)?,
            Inner::Postgres(tx) => tx.borrow_mut().query(sql, params)?,
        };
        rows.first().map(f).transpose()
    }

    /// The first row, which must exist (an aggregate, a counter).
    pub(crate) fn query_one<T>(
        &self,
        sql: &str,
        params: &[Value],
        f: impl FnOnce(&Row) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.query_opt(sql, params, f)?.ok_or(DbError::NoRow)
    }

    /// `INSERT INTO {into} VALUES …` for many rows of `width` values each
    /// (`values` row after row).
    pub(crate) fn insert_many(&self, into: &str, width: usize, values: &[Value]) -> Result<(), DbError> {
        debug_assert!(width > 0 && values.len().is_multiple_of(width));
        match &self.inner {
            Inner::Sqlite(tx) => sqlite::insert_many(tx, into, width, values),
            Inner::Postgres(tx) => tx.borrow_mut().insert_many(into, width, values),
        }
    }

    /// On PostgreSQL, holds a transaction-scoped lock named `key` so that
    /// writers of one sequence commit in the order they took its numbers
    /// (a handset's cursor must never pass a number committed later). On
    /// SQLite every write transaction already holds the only write lock.
    pub(crate) fn serialise(&self, key: i64) -> Result<(), DbError> {
        match &self.inner {
            Inner::Sqlite(_) => Ok(()),
            Inner::Postgres(tx) => tx.borrow_mut().advisory_lock(key),
        }
    }
}
