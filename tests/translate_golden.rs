//! Golden translations: the exact SQL each backend receives, as cases in
//! `tests/translate/<dialect>.sql` (the format is described at the top of
//! each file). Every case runs, and every failing one is reported with its
//! file and line, so one run shows all that a change of the translator
//! moved.

use std::fmt::Write as _;

use iriswire::translate::{Dialect, translate};

#[test]
fn sqlite_cases() {
    run("tests/translate/sqlite.sql", Dialect::Sqlite);
}

#[test]
fn iris_cases() {
    run("tests/translate/iris.sql", Dialect::Iris);
}

/// What a case expects of the translation of its input.
enum Expect {
    /// The exact backend SQL, or with a leading `…` its ending.
    Out(String),
    /// The SQLSTATE, and words the message contains.
    Error { sqlstate: String, words: String },
    /// Answered by iriswire with this command tag.
    Local(String),
}

struct Case {
    line: usize,
    input: String,
    expect: Option<Expect>,
    params: Option<Vec<usize>>,
}

/// Reads the cases of a file; a line that fits no case is a failure of its own.
fn parse(text: &str, failures: &mut Vec<(usize, String)>) -> Vec<Case> {
    let mut cases: Vec<Case> = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with("--") {
            continue;
        }
        let Some((keyword, value)) = trimmed.split_once(':') else {
            failures.push((line, format!("not a case line: {trimmed}")));
            continue;
        };
        let value = value.trim().to_owned();
        if keyword == "in" {
            cases.push(Case {
                line,
                input: value,
                expect: None,
                params: None,
            });
            continue;
        }
        let Some(case) = cases.last_mut() else {
            failures.push((line, format!("`{keyword}:` before any `in:`")));
            continue;
        };
        let expect = match keyword {
            "out" => Expect::Out(value),
            "error" => {
                let (sqlstate, words) = value.split_once(' ').unwrap_or((&value, ""));
                Expect::Error {
                    sqlstate: sqlstate.to_owned(),
                    words: words.trim().to_owned(),
                }
            }
            "local" => Expect::Local(value),
            "params" => {
                let params: Result<Vec<usize>, _> =
                    value.split_whitespace().map(str::parse).collect();
                match (params, &case.expect, &case.params) {
                    (Ok(p), Some(Expect::Out(_)), None) => case.params = Some(p),
                    (Err(e), _, _) => failures.push((line, format!("params: {e}"))),
                    _ => failures.push((line, "`params:` belongs after an `out:`".into())),
                }
                continue;
            }
            other => {
                failures.push((line, format!("unknown keyword `{other}:`")));
                continue;
            }
        };
        if case.expect.is_some() {
            failures.push((line, format!("a second expectation for line {}", case.line)));
        } else {
            case.expect = Some(expect);
        }
    }
    cases
}

/// The difference between what `case` expects and what `dialect` makes of
/// its input, if any.
fn check(case: &Case, dialect: Dialect) -> Option<String> {
    let Some(expect) = &case.expect else {
        return Some("no `out:`, `error:` or `local:` line follows".into());
    };
    let got = translate(&case.input, dialect);
    match (expect, &got) {
        (Expect::Out(want), Ok(t)) => {
            let matches = match want.strip_prefix('…') {
                Some(ending) => t.backend_sql.ends_with(ending),
                None => t.backend_sql == *want,
            };
            if !matches {
                return Some(format!("expected: {want}\n     got: {}", t.backend_sql));
            }
            match &case.params {
                Some(p) if *p != t.param_order => Some(format!(
                    "expected params: {p:?}\n     got params: {:?}",
                    t.param_order
                )),
                _ => None,
            }
        }
        (Expect::Error { sqlstate, words }, Err(e)) => {
            (e.sqlstate() != sqlstate || !e.to_string().contains(words.as_str())).then(|| {
                format!(
                    "expected error: {sqlstate} ...{words}...\n     got error: {} {e}",
                    e.sqlstate()
                )
            })
        }
        (Expect::Local(tag), Ok(t)) => (t.local_tag.as_deref() != Some(tag.as_str())).then(|| {
            format!(
                "expected local tag: {tag}\n     got local tag: {:?}",
                t.local_tag
            )
        }),
        (_, Ok(t)) => Some(format!("expected an error, got: {}", t.backend_sql)),
        (_, Err(e)) => Some(format!("got error: {} {e}", e.sqlstate())),
    }
}

fn run(path: &str, dialect: Dialect) {
    let full = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{path}: {e}"));
    let mut failures = Vec::new();
    let cases = parse(&text, &mut failures);
    for case in &cases {
        if let Some(why) = check(case, dialect) {
            failures.push((case.line, format!("in: {}\n     {why}", case.input)));
        }
    }
    assert!(!cases.is_empty(), "{path}: no cases");
    if !failures.is_empty() {
        failures.sort_by_key(|(line, _)| *line);
        let mut report = format!(
            "{} failure(s) among {} cases:\n",
            failures.len(),
            cases.len()
        );
        for (line, why) in &failures {
            let _ = writeln!(report, "{path}:{line}: {why}");
        }
        panic!("{report}");
    }
}
