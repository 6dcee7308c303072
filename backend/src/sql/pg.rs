//! [`super::Tx`] on PostgreSQL, through the `postgres` client (the
//! blocking face of `tokio-postgres`) and an `r2d2` pool.
//!
//! Blocking on purpose: every storage operation is a short synchronous
//! transaction already run on tokio's blocking pool (the SQLite store needs
//! that), so one synchronous storage layer serves both engines, and the
//! HTTP side never holds a database call across an `.await`.
//!
//! The SQL is written once in SQLite's spelling; here `?N` becomes `$N`
//! and the schema's column types become PostgreSQL's.

use std::collections::HashMap;
use std::error::Error;

use bytes::BytesMut;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use postgres::{NoTls, Statement};

use super::{DbError, Row, Value};

/// Rows per multi-row `INSERT`: 1,000 × 10 columns stays well inside the
/// protocol's 65,535 parameters.
const INSERT_BATCH_ROWS: usize = 1_000;

/// One pooled connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: postgres::Client,
    prepared: HashMap<String, Statement>,
}

pub(crate) struct PgManager {
    config: postgres::Config,
}

impl PgManager {
    pub(crate) fn new(url: &str) -> Result<Self, DbError> {
        let config: postgres::Config = url.parse()?;
        Ok(Self { config })
    }
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.config.connect(NoTls)?,
            prepared: HashMap::new(),
        })
    }

    fn is_valid(&self, conn: &mut PgConn) -> Result<(), postgres::Error> {
        conn.client.simple_query("").map(|_| ())
    }

    fn has_broken(&self, conn: &mut PgConn) -> bool {
        conn.client.is_closed()
    }
}

impl PgConn {
    pub(crate) fn begin(&mut self) -> Result<PgTx<'_>, DbError> {
        Ok(PgTx {
            tx: self.client.transaction()?,
            prepared: &mut self.prepared,
        })
    }
}

/// An open transaction on one pooled connection.
pub(crate) struct PgTx<'a> {
    tx: postgres::Transaction<'a>,
    prepared: &'a mut HashMap<String, Statement>,
}

impl PgTx<'_> {
    pub(crate) fn commit(self) -> Result<(), DbError> {
        Ok(self.tx.commit()?)
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, DbError> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.tx.prepare(&placeholders(sql))?;
        self.prepared.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(super) fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        let stmt = self.statement(sql)?;
        Ok(self.tx.execute(&stmt, &refs(params))?)
    }

    pub(super) fn query(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let stmt = self.statement(sql)?;
        let rows = self.tx.query(&stmt, &refs(params))?;
        rows.iter()
            .map(|r| {
                (0..r.len())
                    .map(|i| r.try_get::<_, Value>(i).map_err(DbError::from))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Row)
            })
            .collect()
    }

    pub(super) fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        Ok(self.tx.batch_execute(&schema(sql))?)
    }

    pub(super) fn insert_many(&mut self, into: &str, width: usize, values: &[Value]) -> Result<(), DbError> {
        for batch in values.chunks(width * INSERT_BATCH_ROWS) {
            let rows = batch.len() / width;
            let tuples: Vec<String> = (0..rows)
                .map(|r| {
                    let cols: Vec<String> = (1..=width).map(|c| format!("${}", r * width + c)).collect();
                    format!("({})", cols.join(", "))
                })
                .collect();
            let sql = format!("INSERT INTO {into} VALUES {}", tuples.join(", "));
            if rows == INSERT_BATCH_ROWS {
                // The full-size statement repeats: prepare it once. A
                // remainder's size varies, so it is not kept.
                let stmt = self.statement(&sql)?;
                self.tx.execute(&stmt, &refs(batch))?;
            } else {
                self.tx.execute(sql.as_str(), &refs(batch))?;
            }
        }
        Ok(())
    }

    pub(super) fn advisory_lock(&mut self, key: i64) -> Result<(), DbError> {
        self.tx.execute("SELECT pg_advisory_xact_lock($1)", &[&key])?;
        Ok(())
    }
}

fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

/// `?N` → `$N` outside quoted text.
pub(crate) fn placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut quoted = false;
    let mut chars = sql.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                quoted = !quoted;
                out.push(c);
            }
            '?' if !quoted && chars.peek().is_some_and(char::is_ascii_digit) => out.push('$'),
            _ => out.push(c),
        }
    }
    out
}

/// The schema as written for SQLite, in PostgreSQL's column types: SQLite's
/// 64-bit INTEGER is BIGINT, REAL is DOUBLE PRECISION, BLOB is BYTEA, an
/// AUTOINCREMENT key is an identity column, and every table has a key, so
/// WITHOUT ROWID means nothing there.
pub(crate) fn schema(sql: &str) -> String {
    let sql = sql
        .replace(
            "INTEGER PRIMARY KEY AUTOINCREMENT",
            "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
        )
        .replace(") WITHOUT ROWID", ")");
    let mut out = String::with_capacity(sql.len() + 64);
    let mut word = String::new();
    let flush = |word: &mut String, out: &mut String| {
        out.push_str(match word.as_str() {
            "INTEGER" => "BIGINT",
            "REAL" => "DOUBLE PRECISION",
            "BLOB" => "BYTEA",
            w => w,
        });
        word.clear();
    };
    for c in sql.chars() {
        if c.is_ascii_alphanumeric() || c == '_' {
            word.push(c);
        } else {
            flush(&mut word, &mut out);
            out.push(c);
        }
    }
    flush(&mut word, &mut out);
    out
}

/// Creates an empty database `name` on the server `admin_url` names (any
/// database there the user may connect to) and returns the URL of the new
/// one. For a fresh store per test or per load run; `name` is letters,
/// digits and `_` only, as it is spliced into the statement.
pub fn create_database(admin_url: &str, name: &str) -> Result<String, DbError> {
    let bad = |problem: &str| DbError::Type {
        column: 0,
        problem: format!("database {name:?}: {problem}"),
    };
    if name.is_empty() || name.len() > 63 || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return Err(bad("use 1 to 63 letters, digits and _"));
    }
    let (base, query) = admin_url
        .split_once('?')
        .map_or((admin_url, None), |(b, q)| (b, Some(q)));
    let Some((scheme, rest)) = base.split_once("://") else {
        return Err(bad("the server URL has no scheme"));
    };
    let authority = rest.split_once('/').map_or(rest, |(a, _)| a);
    let mut client = admin_url.parse::<postgres::Config>()?.connect(NoTls)?;
    client.batch_execute(&format!("CREATE DATABASE \"{name}\""))?;
    Ok(match query {
        Some(q) => format!("{scheme}://{authority}/{name}?{q}"),
        None => format!("{scheme}://{authority}/{name}"),
    })
}

type BoxError = Box<dyn Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(i) => match *ty {
                Type::INT8 => i.to_sql(ty, out),
                Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
                Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
                Type::FLOAT8 => (*i as f64).to_sql(ty, out),
                Type::BOOL => (*i != 0).to_sql(ty, out),
                _ => Err(format!("an integer given for a {ty} parameter").into()),
            },
            Value::Real(r) => match *ty {
                Type::FLOAT8 => r.to_sql(ty, out),
                Type::FLOAT4 => (*r as f32).to_sql(ty, out),
                _ => Err(format!("a real given for a {ty} parameter").into()),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
            Value::Blob(b) => b.as_slice().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Checked per value in `to_sql`, against the parameter's type.
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Real(f64::from_sql(ty, raw)?),
            Type::FLOAT4 => Value::Real(f64::from(f32::from_sql(ty, raw)?)),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME => Value::Text(String::from_sql(ty, raw)?),
            Type::BYTEA => Value::Blob(Vec::<u8>::from_sql(ty, raw)?),
            // SUM over BIGINT is NUMERIC here: the query casts it back.
            _ => return Err(format!("a {ty} column (cast it in the query)").into()),
        })
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_change_outside_quotes_only() {
        assert_eq!(
            placeholders("SELECT a FROM t WHERE b = ?1 AND c = '?2' AND d = ?12"),
            "SELECT a FROM t WHERE b = $1 AND c = '?2' AND d = $12"
        );
    }

    #[test]
    fn the_schema_takes_postgres_types() {
        let pg = schema(
            "CREATE TABLE t (seq INTEGER PRIMARY KEY AUTOINCREMENT, n INTEGER NOT NULL, x REAL, b BLOB,
             integers TEXT, PRIMARY KEY (n)) WITHOUT ROWID;",
        );
        assert_eq!(
            pg,
            "CREATE TABLE t (seq BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, n BIGINT NOT NULL, \
             x DOUBLE PRECISION, b BYTEA,\n             integers TEXT, PRIMARY KEY (n));"
        );
    }
}
