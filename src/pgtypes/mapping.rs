//! What iriswire tells clients about types: backend type names, ODBC codes
//! and values mapped to PostgreSQL types (OIDs, sizes, names).

use pgwire::api::Type;

use crate::bridge::marshal::Value;

/// A PostgreSQL type and, for `numeric`, the declared scale (digits after
/// the point), which PostgreSQL keeps in every value's text form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnType {
    pub ty: Type,
    pub scale: Option<u16>,
}

impl ColumnType {
    pub(crate) fn of(ty: Type) -> Self {
        ColumnType { ty, scale: None }
    }

    /// From a declared type name such as `numeric(10,2)`.
    pub(crate) fn from_declared(decl: &str) -> Option<Self> {
        let ty = from_declared(decl)?;
        let scale = if ty == Type::NUMERIC {
            declared_scale(decl)
        } else {
            None
        };
        Some(ColumnType { ty, scale })
    }
}

/// pgvector's `vector`: an extension type, so its OID is not fixed in
/// PostgreSQL either; clients look it up in `pg_type` (which the bridge's
/// catalog answers with these numbers). User-defined OIDs start at 16384.
pub(crate) const VECTOR_OID: u32 = 16385;
/// Its array type's OID: not read here, but the bridge's `pg_type` answers
/// with it (iris/iriswire_worker.py), so the pair is recorded together.
#[allow(dead_code)]
pub(crate) const VECTOR_ARRAY_OID: u32 = 16386;

/// pgvector's `vector` as a type pgwire can describe and compare.
pub(crate) static VECTOR: std::sync::LazyLock<Type> = std::sync::LazyLock::new(|| {
    Type::new(
        "vector".into(),
        VECTOR_OID,
        postgres_types::Kind::Simple,
        "public".into(),
    )
});

/// A client-sent type OID: the built-in types and pgvector's `vector`.
pub(crate) fn from_oid(oid: u32) -> Option<Type> {
    if oid == VECTOR_OID {
        return Some(VECTOR.clone());
    }
    Type::from_oid(oid)
}

/// Whether `ty` is pgvector's `vector`.
pub(crate) fn is_vector(ty: &Type) -> bool {
    ty.oid() == VECTOR_OID
}

/// The scale of `numeric(p,s)` (`s`), of `numeric(p)` (0); `None` for a bare `numeric`.
pub(crate) fn declared_scale(decl: &str) -> Option<u16> {
    let inner = decl.split_once('(')?.1.split(')').next()?;
    match inner.split_once(',') {
        Some((_, s)) => s.trim().parse().ok(),
        None => Some(0),
    }
}

/// ODBC SQL type codes that IRIS reports in statement metadata.
mod odbc {
    pub const CHAR: i64 = 1;
    pub const NUMERIC: i64 = 2;
    pub const DECIMAL: i64 = 3;
    pub const INTEGER: i64 = 4;
    pub const SMALLINT: i64 = 5;
    pub const FLOAT: i64 = 6;
    pub const REAL: i64 = 7;
    pub const DOUBLE: i64 = 8;
    pub const DATE: i64 = 9;
    pub const TIME: i64 = 10;
    pub const TIMESTAMP: i64 = 11;
    pub const VARCHAR: i64 = 12;
    pub const BOOLEAN: i64 = 16;
    pub const TYPE_DATE: i64 = 91;
    pub const TYPE_TIME: i64 = 92;
    pub const TYPE_TIMESTAMP: i64 = 93;
    pub const LONGVARCHAR: i64 = -1;
    pub const BINARY: i64 = -2;
    pub const VARBINARY: i64 = -3;
    pub const LONGVARBINARY: i64 = -4;
    pub const BIGINT: i64 = -5;
    pub const TINYINT: i64 = -6;
    pub const BIT: i64 = -7;
    pub const WCHAR: i64 = -8;
    pub const WVARCHAR: i64 = -9;
    pub const WLONGVARCHAR: i64 = -10;
    pub const GUID: i64 = -11;
}

/// Maps a declared type name (as written in `CREATE TABLE` through
/// iriswire, or as IRIS names it) to a PostgreSQL type. `None` when the name
/// says nothing useful (empty, or SQLite's typeless columns).
pub(crate) fn from_declared(decl: &str) -> Option<Type> {
    let d = decl.trim().to_ascii_lowercase();
    if d.is_empty() {
        return None;
    }
    // Base name: drop modifiers such as (10,2) and array brackets.
    let base = d.split('(').next().unwrap_or("").trim();
    let t = match base {
        // pgvector's vector(n) on SQLite; IRIS reports VECTOR(FLOAT,n).
        "vector" => VECTOR.clone(),
        // PostgreSQL's one-byte "char", as the bridge's pg_catalog declares it.
        "pg_char" => Type::CHAR,
        "smallint" | "int2" | "smallserial" | "serial2" | "tinyint" => Type::INT2,
        "int" | "integer" | "int4" | "serial" | "serial4" | "mediumint" => Type::INT4,
        "bigint" | "int8" | "bigserial" | "serial8" => Type::INT8,
        "real" | "float4" => Type::FLOAT4,
        "double precision" | "float8" | "double" | "float" => Type::FLOAT8,
        "numeric" | "decimal" | "money" => Type::NUMERIC,
        "boolean" | "bool" | "bit" => Type::BOOL,
        "text" | "clob" | "longvarchar" | "string" => Type::TEXT,
        "varchar" | "character varying" | "nvarchar" | "varchar2" => Type::VARCHAR,
        "char" | "character" | "bpchar" | "nchar" => Type::BPCHAR,
        "name" => Type::NAME,
        "bytea" | "blob" | "binary" | "varbinary" | "longvarbinary" => Type::BYTEA,
        "date" => Type::DATE,
        "time" | "time without time zone" => Type::TIME,
        "timetz" | "time with time zone" => Type::TIMETZ,
        "timestamp" | "timestamp without time zone" | "datetime" | "posixtime" => Type::TIMESTAMP,
        "timestamptz" | "timestamp with time zone" => Type::TIMESTAMPTZ,
        "interval" => Type::INTERVAL,
        "json" => Type::JSON,
        "jsonb" => Type::JSONB,
        "uuid" | "uniqueidentifier" => Type::UUID,
        "oid" => Type::OID,
        // One-dimensional arrays as the bridge's catalog declares them
        // (PostgreSQL's text form, e.g. `{a,b}`), so clients parse them as arrays.
        "_text" | "text[]" => Type::TEXT_ARRAY,
        "_name" | "name[]" => Type::NAME_ARRAY,
        "_int2" | "int2[]" => Type::INT2_ARRAY,
        "_int4" | "int4[]" => Type::INT4_ARRAY,
        "_oid" | "oid[]" => Type::OID_ARRAY,
        "_char" => Type::CHAR_ARRAY,
        "_bool" | "bool[]" => Type::BOOL_ARRAY,
        _ => {
            // `integer primary key` and the like keep their first word.
            let first = base.split_whitespace().next().unwrap_or("");
            if first != base {
                return from_declared(first);
            }
            return None;
        }
    };
    Some(t)
}

/// Maps IRIS statement metadata (ODBC type code) to a PostgreSQL type.
pub(crate) fn from_odbc(code: i64, precision: i64, scale: i64) -> Option<Type> {
    use odbc::*;
    Some(match code {
        BIT | BOOLEAN => Type::BOOL,
        TINYINT | SMALLINT => Type::INT2,
        INTEGER => Type::INT4,
        BIGINT => Type::INT8,
        REAL => Type::FLOAT4,
        FLOAT | DOUBLE => Type::FLOAT8,
        NUMERIC | DECIMAL if scale == 0 && precision > 0 && precision <= 18 => Type::INT8,
        NUMERIC | DECIMAL => Type::NUMERIC,
        CHAR | WCHAR => Type::BPCHAR,
        VARCHAR | WVARCHAR => Type::VARCHAR,
        LONGVARCHAR | WLONGVARCHAR => Type::TEXT,
        BINARY | VARBINARY | LONGVARBINARY => Type::BYTEA,
        DATE | TYPE_DATE => Type::DATE,
        TIME | TYPE_TIME => Type::TIME,
        TIMESTAMP | TYPE_TIMESTAMP => Type::TIMESTAMP,
        GUID => Type::UUID,
        _ => return None,
    })
}

/// The type PostgreSQL would give a value of this shape when nothing else is
/// known (expressions on SQLite).
pub(crate) fn from_value(v: &Value<'_>) -> Option<Type> {
    Some(match v {
        Value::Null => return None,
        Value::Bool(_) => Type::BOOL,
        Value::Int(_) => Type::INT8,
        Value::BigInt(_) => Type::NUMERIC,
        Value::Float(_) => Type::FLOAT8,
        Value::Str(_) => Type::TEXT,
        Value::Bytes(_) => Type::BYTEA,
    })
}

/// PostgreSQL's `typlen` for the RowDescription.
pub(crate) fn type_size(t: &Type) -> i16 {
    match *t {
        Type::BOOL => 1,
        Type::INT2 => 2,
        Type::INT4 | Type::FLOAT4 | Type::DATE | Type::OID => 4,
        Type::INT8 | Type::FLOAT8 | Type::TIMESTAMP | Type::TIMESTAMPTZ | Type::TIME => 8,
        Type::UUID => 16,
        Type::NAME => 64,
        _ => -1,
    }
}

/// Maps a PostgreSQL type name as written in SQL (`int4`, `double precision`,
/// `varchar(20)`) to a type; used for casts and parameter inference.
pub(crate) fn from_sql_name(name: &str) -> Option<Type> {
    match name.trim().to_ascii_lowercase().as_str() {
        // Their text input is a name ('pg_catalog.pg_class'::regclass), so a
        // parameter of theirs passes on as text; the bridge's catalog looks it up.
        "regclass" => Some(Type::REGCLASS),
        "regtype" => Some(Type::REGTYPE),
        "regproc" => Some(Type::REGPROC),
        other => from_declared(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn declared_names_follow_postgresql() {
        assert_eq!(from_declared("bigint"), Some(Type::INT8));
        assert_eq!(from_declared("varchar(10)"), Some(Type::VARCHAR));
        assert_eq!(from_declared("NUMERIC(10,2)"), Some(Type::NUMERIC));
        assert_eq!(
            from_declared("timestamp with time zone"),
            Some(Type::TIMESTAMPTZ)
        );
        assert_eq!(from_declared("integer primary key"), Some(Type::INT4));
        assert_eq!(from_declared("double precision"), Some(Type::FLOAT8));
        assert_eq!(from_declared(""), None);
        assert_eq!(from_declared("vector(3)"), Some(VECTOR.clone()));
        assert_eq!(
            from_declared("VECTOR(FLOAT,3)").map(|t| t.oid()),
            Some(VECTOR_OID)
        );
    }

    #[test]
    fn numeric_scale_comes_from_the_declaration() {
        assert_eq!(declared_scale("numeric(10,2)"), Some(2));
        assert_eq!(declared_scale("NUMERIC(10)"), Some(0));
        assert_eq!(declared_scale("numeric"), None);
        assert_eq!(
            ColumnType::from_declared("decimal(8, 3)"),
            Some(ColumnType {
                ty: Type::NUMERIC,
                scale: Some(3)
            })
        );
        assert_eq!(
            ColumnType::from_declared("varchar(10)").unwrap().scale,
            None
        );
    }

    #[test]
    fn odbc_codes_map_to_types() {
        assert_eq!(from_odbc(4, 10, 0), Some(Type::INT4));
        assert_eq!(from_odbc(-5, 19, 0), Some(Type::INT8));
        assert_eq!(from_odbc(2, 10, 2), Some(Type::NUMERIC));
        assert_eq!(from_odbc(12, 50, 0), Some(Type::VARCHAR));
        assert_eq!(from_odbc(93, 0, 0), Some(Type::TIMESTAMP));
        assert_eq!(from_odbc(999, 0, 0), None);
    }
}
