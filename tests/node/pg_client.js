// node-postgres (pg) against a running iriswire; driven by
// tests/python/test_clients.py::test_node_postgres, which asserts the JSON
// this prints on stdout. Connection settings come from PGHOST, PGPORT,
// PGUSER and PGDATABASE (read by pg itself).
'use strict';

const { Client } = require('pg');

async function main() {
  const client = new Client();
  await client.connect();
  const out = {};
  try {
    await client.query(
      'CREATE TABLE items (id int PRIMARY KEY, big bigint, price numeric(10,2), ' +
        'ok boolean, name text, score double precision, born date, raw bytea)'
    );
    const insert = 'INSERT INTO items (id, big, price, ok, name, score, born, raw) ' +
      'VALUES ($1, $2, $3, $4, $5, $6, $7, $8)';
    const ins1 = await client.query(insert,
      [1, '9007199254740993', '12.34', true, 'héllo', 2.5, '2024-02-29', Buffer.from([0, 1, 255])]);
    const ins2 = await client.query(insert,
      [2, -42, 0.55, false, "it's", -1e-3, '1970-01-01', Buffer.from('hi')]);
    await client.query(insert, [3, null, null, null, null, null, null, null]);
    out.inserts = [ins1, ins2].map((r) => ({ command: r.command, rowCount: r.rowCount }));

    const sel = await client.query('SELECT * FROM items ORDER BY id');
    out.fields = sel.fields.map((f) => ({ name: f.name, dataTypeID: f.dataTypeID }));
    out.rows = sel.rows.map((r) => ({
      ...r,
      born: r.born === null ? null : r.born.toISOString(),
      raw: r.raw === null ? null : r.raw.toString('hex'),
    }));
    out.types = Object.fromEntries(Object.entries(sel.rows[0]).map(([k, v]) => [
      k, Buffer.isBuffer(v) ? 'buffer' : v instanceof Date ? 'date' : typeof v,
    ]));

    // A named prepared statement, executed twice.
    const named = { name: 'by_id', text: 'SELECT name, ok FROM items WHERE id = $1', rowMode: 'array' };
    out.named = [
      (await client.query({ ...named, values: [1] })).rows,
      (await client.query({ ...named, values: [2] })).rows,
    ];

    const upd = await client.query('UPDATE items SET ok = $1 WHERE id <= $2', [true, 2]);
    out.update = { command: upd.command, rowCount: upd.rowCount };

    await client.query('BEGIN');
    await client.query('DELETE FROM items');
    await client.query('ROLLBACK');
    out.countAfterRollback = (await client.query('SELECT count(*) AS n FROM items')).rows[0].n;

    try {
      await client.query('INSERT INTO items (id) VALUES ($1)', [1]);
      out.error = null;
    } catch (e) {
      out.error = { code: e.code, message: e.message };
    }
    out.afterError = (await client.query('SELECT $1::int + 1 AS v', [41])).rows[0].v;
  } finally {
    await client.end();
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => {
  process.stderr.write(String((e && e.stack) || e) + '\n');
  process.exit(1);
});
