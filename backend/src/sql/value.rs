//! The values that cross between the storage code and either engine: the
//! five SQLite storage classes, which PostgreSQL's columns here map onto
//! (BIGINT, DOUBLE PRECISION, TEXT, BYTEA; a boolean reads as 0/1).

use super::DbError;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Null,
    Int(i64),
    Real(f64),
    Text(String),
    Blob(Vec<u8>),
}

impl Value {
    fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real",
            Value::Text(_) => "text",
            Value::Blob(_) => "a blob",
        }
    }
}

/// Anything that can be a statement parameter, by reference (as
/// `rusqlite::params!` takes them): `p![a, b]` never moves `a` or `b`.
pub(crate) trait ToValue {
    fn to_value(&self) -> Value;
}

impl<T: ToValue + ?Sized> ToValue for &T {
    fn to_value(&self) -> Value {
        (**self).to_value()
    }
}

macro_rules! int_value {
    ($($t:ty),*) => {$(
        impl ToValue for $t {
            fn to_value(&self) -> Value {
                Value::Int(i64::from(*self))
            }
        }
    )*};
}
int_value!(i64, i32, u32, u16, u8, bool);

impl ToValue for usize {
    fn to_value(&self) -> Value {
        // Counts and sizes of things held in memory: far below i64::MAX.
        Value::Int(i64::try_from(*self).unwrap_or(i64::MAX))
    }
}

impl ToValue for f64 {
    fn to_value(&self) -> Value {
        Value::Real(*self)
    }
}

impl ToValue for str {
    fn to_value(&self) -> Value {
        Value::Text(self.to_owned())
    }
}

impl ToValue for String {
    fn to_value(&self) -> Value {
        Value::Text(self.clone())
    }
}

impl ToValue for [u8] {
    fn to_value(&self) -> Value {
        Value::Blob(self.to_vec())
    }
}

impl ToValue for Vec<u8> {
    fn to_value(&self) -> Value {
        Value::Blob(self.clone())
    }
}

impl<T: ToValue> ToValue for Option<T> {
    fn to_value(&self) -> Value {
        self.as_ref().map_or(Value::Null, ToValue::to_value)
    }
}

/// One result row.
#[derive(Debug)]
pub(crate) struct Row(pub(super) Vec<Value>);

impl Row {
    /// Column `i` read as `T`: a wrong type or a NULL where none may be is
    /// an error naming the column, never a panic.
    pub(crate) fn get<T: FromValue>(&self, i: usize) -> Result<T, DbError> {
        let v = self.0.get(i).ok_or_else(|| DbError::Type {
            column: i,
            problem: format!("the row has {} columns", self.0.len()),
        })?;
        T::from_value(v).map_err(|problem| DbError::Type { column: i, problem })
    }
}

/// A Rust type a stored value reads as.
pub(crate) trait FromValue: Sized {
    fn from_value(v: &Value) -> Result<Self, String>;
}

fn wrong(v: &Value, want: &str) -> String {
    format!("{} where {want} was expected", v.kind())
}

impl FromValue for i64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Int(i) => Ok(*i),
            _ => Err(wrong(v, "an integer")),
        }
    }
}

macro_rules! narrow_int {
    ($($t:ty),*) => {$(
        impl FromValue for $t {
            fn from_value(v: &Value) -> Result<Self, String> {
                let i = i64::from_value(v)?;
                <$t>::try_from(i).map_err(|_| format!("{i} is out of range for {}", stringify!($t)))
            }
        }
    )*};
}
narrow_int!(i32, u32, u64, usize);

impl FromValue for bool {
    fn from_value(v: &Value) -> Result<Self, String> {
        Ok(i64::from_value(v)? != 0)
    }
}

impl FromValue for f64 {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Real(r) => Ok(*r),
            // SQLite stores a whole-number REAL written as an integer
            // literal as an integer.
            Value::Int(i) => Ok(*i as f64),
            _ => Err(wrong(v, "a real")),
        }
    }
}

impl FromValue for String {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Text(s) => Ok(s.clone()),
            _ => Err(wrong(v, "text")),
        }
    }
}

impl FromValue for Vec<u8> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Blob(b) => Ok(b.clone()),
            _ => Err(wrong(v, "a blob")),
        }
    }
}

impl<T: FromValue> FromValue for Option<T> {
    fn from_value(v: &Value) -> Result<Self, String> {
        match v {
            Value::Null => Ok(None),
            v => T::from_value(v).map(Some),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_are_typed_and_a_wrong_type_names_the_column() {
        let row = Row(vec![
            Value::Int(7),
            Value::Null,
            Value::Text("x".into()),
            Value::Int(-1),
        ]);
        assert_eq!(row.get::<i64>(0).expect("int"), 7);
        assert_eq!(row.get::<Option<String>>(1).expect("null"), None);
        assert_eq!(row.get::<String>(2).expect("text"), "x");
        assert!(matches!(row.get::<String>(1), Err(DbError::Type { column: 1, .. })));
        assert!(matches!(row.get::<i64>(2), Err(DbError::Type { column: 2, .. })));
        assert!(matches!(row.get::<u32>(3), Err(DbError::Type { column: 3, .. })));
        assert!(matches!(row.get::<i64>(4), Err(DbError::Type { column: 4, .. })));
    }
}
