//! The cheap looks at a statement, made before (or instead of) parsing it:
//! its kind and command tag from the leading keywords, whether any rewrite
//! could act on it, and whether it reads PostgreSQL's catalog.
//!
//! Most statements an application sends need no rewrite at all; these
//! scans let [`translate`](super::translate) pass them on without paying
//! for a parse.

use super::lexer;

/// What kind of statement this is, for command tags, transaction tracking
/// and statements answered by iriswire itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatementKind {
    Select,
    Insert,
    Update,
    Delete,
    Begin,
    Commit,
    Rollback,
    /// `SET name = value` / `SET name TO value` / `SET SESSION ...`
    Set,
    /// `SHOW name`
    Show,
    /// `RESET name` / `RESET ALL`
    Reset,
    Ddl,
    Other,
}

/// Classifies a statement and derives its command tag from the leading keywords.
pub(crate) fn classify(sql: &str) -> (StatementKind, String) {
    let kw = lexer::leading_keywords(sql, 3);
    let first = kw.first().map(String::as_str).unwrap_or("");
    let second = kw.get(1).map(String::as_str).unwrap_or("");
    use StatementKind::*;
    match first {
        "SELECT" | "VALUES" | "TABLE" => (Select, "SELECT".into()),
        "WITH" => {
            // The tag follows the main statement; find it lexically.
            let upper = sql.to_ascii_uppercase();
            for (k, kind) in [("INSERT", Insert), ("UPDATE", Update), ("DELETE", Delete)] {
                if upper.contains(&format!(") {k}")) || upper.contains(&format!(")\n{k}")) {
                    return (kind, k.into());
                }
            }
            (Select, "SELECT".into())
        }
        "INSERT" => (Insert, "INSERT".into()),
        "UPDATE" => (Update, "UPDATE".into()),
        "DELETE" => (Delete, "DELETE".into()),
        "BEGIN" => (Begin, "BEGIN".into()),
        "START" => (Begin, "START TRANSACTION".into()),
        "COMMIT" | "END" => (Commit, "COMMIT".into()),
        "ABORT" => (Rollback, "ROLLBACK".into()),
        "ROLLBACK" if second == "TO" => (Other, "ROLLBACK".into()),
        "ROLLBACK" => (Rollback, "ROLLBACK".into()),
        "SAVEPOINT" => (Other, "SAVEPOINT".into()),
        "RELEASE" => (Other, "RELEASE".into()),
        "SET" => (Set, "SET".into()),
        "SHOW" => (Show, "SHOW".into()),
        "RESET" => (Reset, "RESET".into()),
        "CREATE" | "DROP" | "ALTER" => {
            let mut words = vec![first.to_owned()];
            let mut rest = kw[1..].iter().map(String::as_str);
            let mut w = rest.next().unwrap_or("");
            if matches!(w, "UNIQUE" | "TEMP" | "TEMPORARY" | "OR") {
                w = if w == "OR" {
                    rest.next();
                    rest.next().unwrap_or("")
                } else {
                    rest.next().unwrap_or("")
                };
            }
            if !w.is_empty() {
                words.push(w.to_owned());
            }
            (Ddl, words.join(" "))
        }
        "TRUNCATE" => (Ddl, "TRUNCATE TABLE".into()),
        "" => (Other, String::new()),
        other => (Other, other.to_owned()),
    }
}

/// Words and operators any rewrite starts from (ASCII, matched without
/// case). A statement with none of them reaches the backend as written, so
/// the rewrite pass is skipped; a false "yes" only costs that pass.
const REWRITE_TRIGGERS: &[&[u8]] = &[
    b"::",
    b"<->",
    b"<=>",
    b"<#>",
    b"/",
    b"%",
    b"cast",
    b"ilike",
    b"true",
    b"false",
    b"public",
    b"vector",
    b"now",
    b"current_",
    b"user",
    b"localtime",
    b"_timestamp",
    b"serial",
    b"returning",
    b"conflict",
    b"distance",
    b"inner_product",
    b"norm",
    b"quantize",
    b"subvector",
    b"create",
    b"alter",
    b"hnsw",
    b"ivfflat",
    b"l2_",
];

static REWRITE_SCAN: std::sync::LazyLock<aho_corasick::AhoCorasick> =
    std::sync::LazyLock::new(|| {
        aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(REWRITE_TRIGGERS)
            .expect("static patterns")
    });

/// The cheap scan: does `sql` contain anything a rewrite could act on?
/// One pass over the text for all trigger words.
pub fn needs_rewrite(sql: &str) -> bool {
    REWRITE_SCAN.is_match(sql)
}

/// Relations and functions of PostgreSQL's catalog that the bridge's
/// catalog emulation answers (`pg_type` lookups by drivers and pgvector).
/// The same pattern as `_CATALOG_SQL` in iris/iriswire_worker/catalog.py, so both
/// sides agree on which statements are catalog statements.
static CATALOG_SQL: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(concat!(
        r"(?i)\b(?:pg_catalog|information_schema)\s*\.|\bpg_(?:aggregate|am|amop|amproc",
        r"|attrdef|attribute|auth_members|authid|available_extensions",
        r"|available_extension_versions|cast|class|collation|constraint|conversion|cursors",
        r"|database|db_role_setting|default_acl|depend|description|enum|event_trigger",
        r"|extension|file_settings|foreign_data_wrapper|foreign_server|foreign_table|group",
        r"|hba_file_rules|index|indexes|inherits|init_privs|language|largeobject",
        r"|largeobject_metadata|locks|matviews|namespace|opclass|operator|opfamily",
        r"|partitioned_table|policies|policy|prepared_statements|prepared_xacts|proc",
        r"|publication|publication_namespace|publication_rel|publication_tables|range",
        r"|replication_slots|rewrite|roles|rules|seclabel|seclabels|sequence|sequences",
        r"|settings|shadow|shdepend|shdescription|shseclabel|stat_\w+|statio_\w+|statistic",
        r"|statistic_ext|statistic_ext_data|stats|stats_ext|subscription|subscription_rel",
        r"|tables|tablespace|timezone_abbrevs|timezone_names|transform|trigger|ts_config",
        r"|ts_config_map|ts_dict|ts_parser|ts_template|type|user|user_mapping",
        r"|user_mappings|views)\b|\b(?:format_type|pg_get_\w+|pg_\w+_is_visible",
        r"|has_\w+_privilege|obj_description|col_description|shobj_description",
        r"|pg_encoding_to_char|current_schemas?|to_regtype|to_regclass|pg_relation_size",
        r"|pg_total_relation_size|pg_table_size|pg_indexes_size|pg_size_pretty",
        r"|pg_database_size|pg_tablespace_location|pg_has_role|pg_partition_\w+",
        r"|_pg_expandarray)\s*\(|::\s*(?:regtype|regclass|regproc|regprocedure",
        r"|regnamespace|regrole|regoper|regoperator)\b",
    ))
    .expect("static pattern")
});

/// Does `sql` read PostgreSQL's catalog? Such statements are passed on
/// unchanged (placeholders aside) for the bridge's catalog.
pub(crate) fn is_catalog_query(sql: &str) -> bool {
    CATALOG_SQL.is_match(sql)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::translate::{Dialect, translate};

    #[test]
    fn catalog_statements_are_recognised_as_the_worker_does() {
        assert!(is_catalog_query(
            "SELECT oid FROM pg_type WHERE typname = 'vector'"
        ));
        assert!(is_catalog_query(
            "SELECT t.typname FROM pg_catalog.pg_type t"
        ));
        assert!(is_catalog_query("SELECT 'vector'::regtype::oid"));
        assert!(!is_catalog_query("SELECT * FROM pg_typeahead"));
        assert!(!is_catalog_query("SELECT * FROM items"));
    }

    #[test]
    fn the_cheap_scan_spots_what_rewrites_act_on() {
        assert!(!needs_rewrite(
            "SELECT id, name FROM products WHERE id = $1"
        ));
        assert!(!needs_rewrite("INSERT INTO t (a, b) VALUES ($1, $2)"));
        for sql in [
            "SELECT x::int FROM t",
            "SELECT a <=> b FROM t",
            "SELECT * FROM t WHERE flag = TRUE",
            "SELECT a / b FROM t",
            "SELECT NOW()",
            "SELECT * FROM Public.t",
            "CREATE TABLE t (id serial)",
        ] {
            assert!(needs_rewrite(sql), "{sql}");
        }
    }

    #[test]
    fn tags_follow_postgresql() {
        assert_eq!(classify("create unique index i on t(a)").1, "CREATE INDEX");
        assert_eq!(classify("begin").0, StatementKind::Begin);
        assert_eq!(classify("with x as (select 1) select * from x").1, "SELECT");
        assert_eq!(classify("drop table t").1, "DROP TABLE");
        // A CREATE TABLE keeps its tag through the rewrite of its columns.
        let t = translate(
            "create table t (id serial primary key, v text)",
            Dialect::Sqlite,
        )
        .unwrap();
        assert_eq!(t.tag, "CREATE TABLE");
    }
}
