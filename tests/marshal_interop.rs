//! The worker's marshal frames decode in the front end, for random nested
//! values that share objects (the case that broke pgJDBC's CREATE TABLE on
//! the IRIS path): a property test across the two languages, with the
//! worker's own `dumps` on one side and the bridge's `Reader` on the other.

use std::process::Command;

use iriswire::bridge::marshal::{Reader, Value};
use serde_json::{Value as Json, json};

/// A Python program printing, per case, the hex of the worker's `dumps`
/// (and of marshal version 4, which has back-references) and the value as
/// JSON. Values nest tuples and lists and reuse the same objects.
const GENERATOR: &str = r#"
import json, marshal, random, struct, sys
sys.path.insert(0, sys.argv[1])
from iriswire_worker.protocol import dumps
rng = random.Random(int(sys.argv[2]))
def scalar():
    return rng.choice([None, True, False, rng.randint(-2**40, 2**40), rng.randint(-5, 5),
                       rng.random() * 1e6, "varchar", "x" * rng.randint(0, 300), "é€𝄞"])
def value(depth, pool):
    if depth > 0 and rng.random() < 0.5:
        items = [value(depth - 1, pool) for _ in range(rng.randint(0, 4))]
        v = tuple(items) if rng.random() < 0.5 else items
    else:
        v = scalar()
    pool.append(v)
    # Reuse an earlier object: what gives version 4 a back-reference.
    return rng.choice(pool) if rng.random() < 0.3 else v
def plain(v):
    if isinstance(v, (tuple, list)):
        return [plain(x) for x in v]
    if isinstance(v, float):
        # Exact bits: JSON's decimal floats need not round-trip.
        return {"f64_bits": struct.unpack("<q", struct.pack("<d", v))[0]}
    return v
for _ in range(int(sys.argv[3])):
    pool = []
    v = tuple(value(3, pool) for _ in range(rng.randint(1, 5)))
    print(dumps(v).hex(), marshal.dumps(v, 4).hex(), json.dumps(plain(v)))
"#;

fn tree(r: &mut Reader) -> Result<Json, String> {
    match r.peek_code() {
        Some(b'(' | b')' | b'[') => {
            let n = r.container().map_err(|e| e.to_string())?;
            (0..n)
                .map(|_| tree(r))
                .collect::<Result<Vec<_>, _>>()
                .map(Json::Array)
        }
        _ => Ok(match r.value().map_err(|e| e.to_string())? {
            Value::Null => Json::Null,
            Value::Bool(b) => json!(b),
            Value::Int(i) => json!(i),
            Value::Float(f) => json!({ "f64_bits": f.to_bits() as i64 }),
            Value::Str(s) => json!(s),
            other => return Err(format!("unexpected {other:?}")),
        }),
    }
}

#[test]
fn worker_frames_decode_whatever_objects_they_share() {
    let iris = concat!(env!("CARGO_MANIFEST_DIR"), "/iris");
    let out = Command::new("python3")
        .args(["-c", GENERATOR, iris, "20261201", "500"])
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    let mut cases = 0;
    let mut v4_with_container_refs = 0;
    for line in text.lines() {
        let mut parts = line.splitn(3, ' ');
        let (ours, v4, expected) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let expected: Json = serde_json::from_str(expected).unwrap();
        let bytes = hex(ours);
        let got = tree(&mut Reader::new(&bytes)).unwrap_or_else(|e| panic!("{e} in {ours}"));
        assert_eq!(got, expected, "payload {ours}");
        if tree(&mut Reader::new(&hex(v4))).is_err() {
            v4_with_container_refs += 1;
        }
        cases += 1;
    }
    assert_eq!(cases, 500);
    // The generator does produce what version 4 cannot carry to us, so the
    // cases above exercise the sharing that matters.
    assert!(v4_with_container_refs > 10, "{v4_with_container_refs}");
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}
