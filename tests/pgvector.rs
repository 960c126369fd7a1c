//! pgvector SQL end to end on the embedded default: the translator's
//! output runs on the worker's vector functions, distances match reference
//! arithmetic, the `vector` type reaches the client, and the VECTOR paths
//! are counted in /metrics.

mod common;

use common::{Server, connect, http_get};
use tokio_postgres::SimpleQueryMessage;

const ROWS: &[(i32, [f64; 3])] = &[
    (1, [1.0, 0.0, 0.0]),
    (2, [0.0, 1.0, 0.0]),
    (3, [1.0, 1.0, 0.0]),
    (4, [0.0, 0.0, 2.0]),
    (5, [3.0, 1.0, 0.5]),
    (6, [-1.0, 2.0, 1.0]),
];
const Q: [f64; 3] = [1.0, 2.0, 3.0];

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

fn reference(op: &str, a: &[f64; 3]) -> f64 {
    match op {
        "<->" => a
            .iter()
            .zip(&Q)
            .map(|(x, y)| (x - y).powi(2))
            .sum::<f64>()
            .sqrt(),
        "<=>" => 1.0 - dot(a, &Q) / (dot(a, a).sqrt() * dot(&Q, &Q).sqrt()),
        "<#>" => -dot(a, &Q),
        _ => unreachable!(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pgvector_queries_match_reference_arithmetic() {
    let server = Server::start();
    let c = connect(&server, "vec").await;
    c.batch_execute("CREATE EXTENSION IF NOT EXISTS vector")
        .await
        .unwrap();
    c.batch_execute("CREATE TABLE items (id integer PRIMARY KEY, embedding vector(3))")
        .await
        .unwrap();
    let values: Vec<String> = ROWS
        .iter()
        .map(|(id, v)| format!("({id}, '[{},{},{}]')", v[0], v[1], v[2]))
        .collect();
    c.batch_execute(&format!("INSERT INTO items VALUES {}", values.join(", ")))
        .await
        .unwrap();
    c.batch_execute(
        "CREATE INDEX ON items USING hnsw (embedding vector_cosine_ops) WITH (m = 16, ef_construction = 64)",
    )
    .await
    .unwrap();
    let e = c
        .batch_execute("CREATE INDEX ON items USING ivfflat (embedding vector_l2_ops)")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "0A000");

    for op in ["<->", "<=>", "<#>"] {
        let mut expected: Vec<(i32, f64)> =
            ROWS.iter().map(|(id, v)| (*id, reference(op, v))).collect();
        expected.sort_by(|a, b| a.1.partial_cmp(&b.1).unwrap());
        let sql = format!(
            "SELECT id, embedding {op} '[1,2,3]' AS d FROM items ORDER BY embedding {op} '[1,2,3]' LIMIT 3"
        );
        let rows = c.query(&sql, &[]).await.unwrap();
        let got: Vec<(i32, f64)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
        assert_eq!(got.len(), 3, "{op}");
        for (g, e) in got.iter().zip(&expected) {
            assert_eq!(g.0, e.0, "{op}: {got:?} vs {expected:?}");
            assert!((g.1 - e.1).abs() < 1e-6, "{op}: {got:?} vs {expected:?}");
        }
        // OFFSET keeps its meaning.
        let sql =
            format!("SELECT id FROM items ORDER BY embedding {op} '[1,2,3]' LIMIT 2 OFFSET 2");
        let ids: Vec<i32> = c
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        assert_eq!(ids, vec![expected[2].0, expected[3].0], "{op} with OFFSET");
    }
    // Functions, and the vector type as clients see it.
    let row = c
        .query_one(
            "SELECT l2_distance(embedding, '[1,2,3]'), cosine_distance(embedding, '[1,2,3]'), inner_product(embedding, '[1,2,3]'), vector_dims(embedding) FROM items WHERE id = 5",
            &[],
        )
        .await
        .unwrap();
    let v = &ROWS[4].1;
    assert!((row.get::<_, f64>(0) - reference("<->", v)).abs() < 1e-6);
    assert!((row.get::<_, f64>(1) - reference("<=>", v)).abs() < 1e-6);
    assert!((row.get::<_, f64>(2) - dot(v, &Q)).abs() < 1e-6);
    assert_eq!(row.get::<_, i32>(3), 3);
    let msgs = c
        .simple_query("SELECT embedding FROM items WHERE id = 5")
        .await
        .unwrap();
    let SimpleQueryMessage::RowDescription(desc) = &msgs[0] else {
        panic!("no row description: {msgs:?}")
    };
    let _ = desc;
    let SimpleQueryMessage::Row(r) = &msgs[1] else {
        panic!("no row")
    };
    assert_eq!(r.get(0), Some("[3,1,0.5]"));

    // Bad input gets pgvector's errors, also when stored.
    let e = c
        .simple_query("INSERT INTO items VALUES (9, '[1,2]')")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22000", "{e:?}");
    let e = c
        .simple_query("INSERT INTO items VALUES (9, 'not a vector')")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22P02", "{e:?}");
    let e = c.simple_query("SELECT '[1,2'::vector").await.unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22P02");
    let e = c
        .simple_query("SELECT '[1,2]'::vector <-> '[1,2,3]'::vector")
        .await
        .unwrap_err();
    assert_eq!(e.code().unwrap().code(), "22000");

    let (_, m) = http_get(server.http_port, "/metrics");
    for op in ["l2", "cosine", "inner_product"] {
        // Two top-k queries each (with and without OFFSET).
        let series = format!("iriswire_vector_queries_total{{operator=\"{op}\",top_k=\"true\"}} 2");
        assert!(m.contains(&series), "{series} in\n{m}");
    }
    assert!(m.contains("iriswire_vector_queries_total{operator=\"l2\",top_k=\"false\"} 2"));

    // A driver that meets the unknown type OID asks pg_type what it is.
    let stmt = c.prepare("SELECT embedding FROM items").await.unwrap();
    assert_eq!(stmt.columns()[0].type_().name(), "vector");
    assert_eq!(stmt.columns()[0].type_().oid(), 16385);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalog_answers_on_the_iris_path_too() {
    // IRIS has no pg_catalog: the bridge's own answers, whatever the backend.
    let (server, _db) = common::iris_standin_server("iris-native", &[]);
    let c = connect(&server, "user").await;
    let row = c
        .query_one(
            "SELECT oid, typname, oid::regtype::text FROM pg_catalog.pg_type WHERE oid = to_regtype($1)",
            &[&"vector"],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, u32>(0), 16385);
    assert_eq!(row.get::<_, &str>(1), "vector");
    assert_eq!(row.get::<_, &str>(2), "vector");
    let n = c
        .query(
            "SELECT oid FROM pg_type WHERE typname = 'no_such_type'",
            &[],
        )
        .await
        .unwrap();
    assert!(n.is_empty());
    // The session's transaction state is the backend's, not the catalog's.
    c.batch_execute("BEGIN").await.unwrap();
    c.query("SELECT typname FROM pg_type WHERE oid = 23", &[])
        .await
        .unwrap();
    c.batch_execute("COMMIT").await.unwrap();
}
