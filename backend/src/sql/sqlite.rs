//! [`super::Tx`] on SQLite: the statements as written, cached per
//! connection.

use rusqlite::Transaction;
use rusqlite::types::{ToSqlOutput, ValueRef};

use super::{DbError, Row, Value};

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Int(i) => ValueRef::Integer(*i),
            Value::Real(r) => ValueRef::Real(*r),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

fn read(v: ValueRef<'_>) -> Result<Value, DbError> {
    Ok(match v {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(i) => Value::Int(i),
        ValueRef::Real(r) => Value::Real(r),
        ValueRef::Text(t) => Value::Text(
            std::str::from_utf8(t)
                .map_err(|e| DbError::Type {
                    column: 0,
                    problem: format!("text that is not UTF-8: {e}"),
                })?
                .to_owned(),
        ),
        ValueRef::Blob(b) => Value::Blob(b.to_vec()),
    })
}

pub(super) fn execute(tx: &Transaction<'_>, sql: &str, params: &[Value]) -> Result<u64, DbError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let n = stmt.execute(rusqlite::params_from_iter(params))?;
    Ok(n as u64)
}

pub(super) fn query(tx: &Transaction<'_>, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
    let mut stmt = tx.prepare_cached(sql)?;
    let width = stmt.column_count();
    let mut rows = stmt.query(rusqlite::params_from_iter(params))?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        let mut values = Vec::with_capacity(width);
        for i in 0..width {
            values.push(read(r.get_ref(i)?)?);
        }
        out.push(Row(values));
    }
    Ok(out)
}

pub(super) fn insert_many(tx: &Transaction<'_>, into: &str, width: usize, values: &[Value]) -> Result<(), DbError> {
    let placeholders: Vec<String> = (1..=width).map(|i| format!("?{i}")).collect();
    let sql = format!("INSERT INTO {into} VALUES ({})", placeholders.join(", "));
    let mut stmt = tx.prepare_cached(&sql)?;
    for row in values.chunks(width) {
        stmt.execute(rusqlite::params_from_iter(row))?;
    }
    Ok(())
}
