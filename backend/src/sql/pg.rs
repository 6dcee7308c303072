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
//!
//! TLS: the URL's `sslmode` as rust-postgres reads it (`disable`, `prefer`
//! — the default — or `require`), always with the server's certificate
//! verified: against the certificates in the file the URL's `sslrootcert`
//! names (as libpq spells it), or the public roots when it names none.
//! Unlike libpq, `prefer` and `require` never accept a certificate nobody
//! vouches for. Only `require` also refuses a server that declines TLS:
//! production URLs should say it (README).

use std::collections::HashMap;
use std::error::Error;

use std::path::Path;
use std::sync::Arc;

use bytes::BytesMut;
use postgres::Statement;
use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject;
use tokio_postgres_rustls::MakeRustlsConnect;

use super::{DbError, Row, Value};

/// Rows per multi-row `INSERT`: 1,000 × 10 columns stays well inside the
/// protocol's 65,535 parameters.
const INSERT_BATCH_ROWS: usize = 1_000;

/// One pooled connection and the statements prepared on it.
pub(crate) struct PgConn {
    client: postgres::Client,
    prepared: HashMap<String, Statement>,
}

/// A database to connect to: the URL's settings and the TLS it implies.
pub(crate) struct Target {
    config: postgres::Config,
    tls: MakeRustlsConnect,
}

impl Target {
    pub(crate) fn parse(url: &str) -> Result<Self, DbError> {
        let (url, rootcert) = take_rootcert(url)?;
        Ok(Self {
            config: url.parse()?,
            tls: MakeRustlsConnect::new(tls_config(rootcert.as_deref())?),
        })
    }

    fn connect(&self) -> Result<postgres::Client, postgres::Error> {
        self.config.connect(self.tls.clone())
    }
}

/// The URL without `sslrootcert` (rust-postgres refuses parameters it does
/// not know), and that file's path, percent-decoded.
fn take_rootcert(url: &str) -> Result<(String, Option<String>), DbError> {
    let Some((base, query)) = url.split_once('?') else {
        return Ok((url.to_owned(), None));
    };
    let mut rootcert = None;
    let mut kept = Vec::new();
    for pair in query.split('&') {
        match pair.strip_prefix("sslrootcert=") {
            Some(path) => {
                let path = percent_encoding::percent_decode_str(path)
                    .decode_utf8()
                    .map_err(|_| DbError::Tls("sslrootcert is not UTF-8 once decoded".into()))?;
                if path.is_empty() || rootcert.replace(path.into_owned()).is_some() {
                    return Err(DbError::Tls("give sslrootcert once, with a file's path".into()));
                }
            }
            None => kept.push(pair),
        }
    }
    let url = if kept.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{}", kept.join("&"))
    };
    Ok((url, rootcert))
}

fn tls_config(rootcert: Option<&str>) -> Result<rustls::ClientConfig, DbError> {
    let mut roots = rustls::RootCertStore::empty();
    match rootcert {
        Some(path) => {
            let bad = |e: &dyn std::fmt::Display| DbError::Tls(format!("sslrootcert {path}: {e}"));
            let certs = CertificateDer::pem_file_iter(Path::new(path))
                .map_err(|e| bad(&e))?
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| bad(&e))?;
            for cert in certs {
                roots.add(cert).map_err(|e| bad(&e))?;
            }
            if roots.is_empty() {
                return Err(bad(&"no certificate in the file"));
            }
        }
        None => roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned()),
    }
    Ok(
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(|e| DbError::Tls(e.to_string()))?
            .with_root_certificates(roots)
            .with_no_client_auth(),
    )
}

/// A client on the database `url` names, outside any pool (set-up, tests).
pub fn connect(url: &str) -> Result<postgres::Client, DbError> {
    Ok(Target::parse(url)?.connect()?)
}

pub(crate) struct PgManager {
    target: Target,
}

impl PgManager {
    pub(crate) fn new(url: &str) -> Result<Self, DbError> {
        Ok(Self {
            target: Target::parse(url)?,
        })
    }
}

impl r2d2::ManageConnection for PgManager {
    type Connection = PgConn;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PgConn, postgres::Error> {
        Ok(PgConn {
            client: self.target.connect()?,
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
    let mut client = connect(admin_url)?;
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
    fn sslrootcert_is_taken_out_of_the_url_and_decoded() {
        let (url, ca) =
            take_rootcert("postgres://u@h:5432/db?sslmode=require&sslrootcert=/etc/ca%20dir/ca.pem").expect("parses");
        assert_eq!(url, "postgres://u@h:5432/db?sslmode=require");
        assert_eq!(ca.as_deref(), Some("/etc/ca dir/ca.pem"));
        assert!(
            url.parse::<postgres::Config>().is_ok(),
            "what is left is rust-postgres's"
        );
        let (url, ca) = take_rootcert("postgres://u@h/db?sslrootcert=ca.pem").expect("parses");
        assert_eq!((url.as_str(), ca.as_deref()), ("postgres://u@h/db", Some("ca.pem")));
        let (url, ca) = take_rootcert("postgres://u@h/db").expect("parses");
        assert_eq!((url.as_str(), ca), ("postgres://u@h/db", None));
    }

    #[test]
    fn a_useless_ca_setting_is_refused_before_any_connection() {
        let dir = tempfile::tempdir().expect("dir");
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").expect("write");
        let not_a_cert = dir.path().join("bad.pem");
        std::fs::write(
            &not_a_cert,
            "-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n",
        )
        .expect("write");
        for (url, says) in [
            ("postgres://u@h/db?sslrootcert=".to_owned(), "give sslrootcert once"),
            (
                "postgres://u@h/db?sslrootcert=a.pem&sslrootcert=b.pem".to_owned(),
                "give sslrootcert once",
            ),
            ("postgres://u@h/db?sslrootcert=%FF".to_owned(), "not UTF-8"),
            (
                format!(
                    "postgres://u@h/db?sslrootcert={}",
                    dir.path().join("missing.pem").display()
                ),
                "missing.pem",
            ),
            (
                format!("postgres://u@h/db?sslrootcert={}", empty.display()),
                "no certificate in the file",
            ),
            (
                format!("postgres://u@h/db?sslrootcert={}", not_a_cert.display()),
                "bad.pem",
            ),
        ] {
            match Target::parse(&url) {
                Err(DbError::Tls(e)) => assert!(e.contains(says), "{url}: {e}"),
                Err(e) => panic!("{url}: not a TLS error: {e}"),
                Ok(_) => panic!("{url}: accepted"),
            }
        }
    }

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
