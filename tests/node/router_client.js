// router_client.js: one application session through mysql2 (Node.js), for
// the data router's tests. It runs the scenario every router client runs
// (the same as tests/tools/router_client.c and tests/router/pymysql_client.py)
// with mysql2's ordinary promise API, so the router sees what a real Node
// application sends: COM_QUERY for query(), a server-side prepared
// statement for execute() (prepared once, cached by the connection, never
// closed), explicit prepare()/close(), multi-statements, COM_PING.
//
//   node router_client.js --host H --port P --user U --password PW
//        --database DB --client NAME --token T
//
// e.g. by hand against the sandbox source (see tests/router/schema.sql):
//   cd tests/node && npm ci && node router_client.js --host 127.0.0.1 \
//       --port 23306 --user app --password app-password --database rc \
//       --client node --token t1
//
// DB must hold this table, and DB_b must exist (empty):
//   CREATE TABLE events (id BIGINT AUTO_INCREMENT PRIMARY KEY, client VARCHAR(32) NOT NULL,
//                        token VARCHAR(64) NOT NULL, sid INT NOT NULL, v INT NOT NULL DEFAULT 0,
//                        big LONGBLOB NULL, KEY (token)) ENGINE=InnoDB;
//
// Output on stdout, one line per result, `key value...`:
//   read_server ID        1. SELECT @@server_id
//   insert_id N           2. execute() INSERT (sid = @@server_id), autocommit
//   last_insert_id N         SELECT LAST_INSERT_ID()
//   write_server SID         the sid that insert stored: who executed it (waits up to 10 s for the row: replication lag)
//   affected N            3. execute() UPDATE of this client's row
//   tx_read_server ID     4. beginTransaction() (START TRANSACTION), execute()
//   tx_count N               INSERT, execute() SELECT @@server_id, COUNT(*),
//   tx_write_server SID      SELECT of the new row's sid, commit() (COMMIT)
//   ps_read_server ID     5. prepare() SELECT @@server_id, ?; run twice with 42
//   ps_echo 42
//   multi 1,2,3           6. SELECT 1 AS a; SELECT 2 AS b, 3 AS c
//   tz TZ ID              7. SET time_zone = '+05:00', then a plain SELECT
//   db NAME ID            8. USE DB_b, SELECT DATABASE(); back to DB
//   ping ok               9. ping()
//   done
// Steps 10 and 11 (big values, reset, change user) are the C client's.
// Step 8 is a plain `USE` query: mysql2 has no COM_INIT_DB, and its
// changeUser({database}) would be COM_CHANGE_USER, a different command.
// On the first failure: `error STEP MESSAGE` (STEP is the key being worked
// on, or connect, args or internal; the message on one line) and exit status 1.
// The password is never printed.
'use strict';
const mysql = require('mysql2/promise');

const FLAGS = ['host', 'port', 'user', 'password', 'database', 'client', 'token'];

// Every line goes through here: the output is a line protocol, and a
// server message may hold newlines or control bytes.
function oneLine(s) {
  return String(s).replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}
function out(...words) {
  process.stdout.write(`${words.map(oneLine).join(' ')}\n`);
}

class StepError extends Error {
  constructor(step, message) {
    super(message);
    this.step = step;
  }
}

function parseArgs(argv) {
  const o = {};
  const usage = 'usage: node router_client.js --host H --port P --user U --password PW --database DB --client NAME --token T';
  for (let i = 0; i < argv.length; i++) {
    const name = argv[i].startsWith('--') ? argv[i].slice(2) : '';
    if (!FLAGS.includes(name)) throw new StepError('args', `unknown argument ${argv[i]}; ${usage}`);
    if (i + 1 >= argv.length) throw new StepError('args', `${argv[i]} needs a value`);
    o[name] = argv[++i];
  }
  const missing = FLAGS.filter((f) => o[f] === undefined);
  if (missing.length) throw new StepError('args', `missing ${missing.map((f) => `--${f}`).join(', ')}; ${usage}`);
  o.port = Number(o.port);
  if (!Number.isInteger(o.port) || o.port < 1 || o.port > 65535) throw new StepError('args', '--port must be 1-65535');
  return o;
}

// The one row of a result, as an array of column values.
function oneRow(step, sql, rows, ncols) {
  if (!Array.isArray(rows) || rows.length !== 1) {
    throw new StepError(step, `${sql}: expected 1 row, got ${Array.isArray(rows) ? rows.length : 'no result set'}`);
  }
  const vals = Object.values(rows[0]);
  if (vals.length !== ncols) throw new StepError(step, `${sql}: expected ${ncols} columns, got ${vals.length}`);
  vals.forEach((v, i) => {
    if (v === null) throw new StepError(step, `${sql}: column ${i + 1} is NULL`);
  });
  return vals.map(String);
}

// Run fn as STEP: any error from the library is reported as that step's.
async function step(name, fn) {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof StepError) throw e;
    const what = e.sql ? `${e.sql}: ${e.message}` : e.message;
    throw new StepError(name, e.code ? `${what} (${e.code}, error ${e.errno})` : what);
  }
}

async function run(o) {
  const conn = await step('connect', () => mysql.createConnection({
    host: o.host, port: o.port, user: o.user, password: o.password, database: o.database,
    charset: 'utf8mb4', multipleStatements: true, rowsAsArray: true,
  }).catch((e) => {
    e.message = `${o.host}:${o.port} as ${o.user}, database ${o.database}: ${e.message}`;
    throw e;
  }));
  try {
    await scenario(conn, o);
  } finally {
    await conn.end().catch(() => conn.destroy());
  }
}

async function scenario(conn, o) {
  const q = async (stepName, sql, ncols) => oneRow(stepName, sql, (await conn.query(sql))[0], ncols);
  const x = async (stepName, sql, params, ncols) => oneRow(stepName, sql, (await conn.execute(sql, params))[0], ncols);

  await step('read_server', async () => out('read_server', ...(await q('read_server', 'SELECT @@server_id', 1))));

  const insert = 'INSERT INTO events (client, token, sid, v) VALUES (?, ?, @@server_id, 1)';
  const id = await step('insert_id', async () => {
    const [res] = await conn.execute(insert, [o.client, o.token]);
    out('insert_id', res.insertId);
    return res.insertId;
  });
  await step('last_insert_id', async () => out('last_insert_id', ...(await q('last_insert_id', 'SELECT LAST_INSERT_ID()', 1))));
  await step('write_server', async () => {
    // Through a router in VALIDATE mode this read runs on the destination,
    // which replication reaches a moment after the source: wait up to 10 s
    // for the row, as an application that tolerates lag would.
    const sql = `SELECT sid FROM events WHERE id = ${Number(id)}`;
    for (let i = 0; i < 100; i++) {
      const [rows] = await conn.query(sql);
      if (rows.length) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    out('write_server', ...(await q('write_server', sql, 1)));
  });

  await step('affected', async () => {
    const [res] = await conn.execute('UPDATE events SET v = v + 1 WHERE token = ? AND client = ?', [o.token, o.client]);
    out('affected', res.affectedRows);
  });

  await step('tx_read_server', async () => {
    await conn.beginTransaction();
    await conn.execute(insert, [o.client, o.token]);
    const [sid, count] = await x('tx_read_server',
      'SELECT @@server_id, COUNT(*) FROM events WHERE token = ? AND client = ?', [o.token, o.client], 2);
    out('tx_read_server', sid);
    out('tx_count', count);
  });
  await step('tx_write_server', async () => {
    out('tx_write_server', ...(await q('tx_write_server', 'SELECT sid FROM events WHERE id = LAST_INSERT_ID()', 1)));
    await conn.commit();
  });

  await step('ps_read_server', async () => {
    const sql = 'SELECT @@server_id, ?';
    const ps = await conn.prepare(sql);
    const first = oneRow('ps_read_server', sql, (await ps.execute([42]))[0], 2);
    const second = oneRow('ps_read_server', sql, (await ps.execute([42]))[0], 2);
    await ps.close();
    if (first.join() !== second.join()) {
      throw new StepError('ps_read_server', `two executions disagree: (${first}) then (${second})`);
    }
    out('ps_read_server', first[0]);
    out('ps_echo', first[1]);
  });

  await step('multi', async () => {
    const sql = 'SELECT 1 AS a; SELECT 2 AS b, 3 AS c';
    const [sets] = await conn.query(sql);
    if (!Array.isArray(sets) || !sets.every(Array.isArray)) throw new StepError('multi', `${sql}: not one result set per statement`);
    out('multi', sets.flatMap((rows) => rows.flatMap((r) => Object.values(r).map(String))).join(','));
  });

  await step('tz', async () => {
    await conn.query("SET time_zone = '+05:00'");
    out('tz', ...(await q('tz', 'SELECT @@time_zone, @@server_id', 2)));
  });

  await step('db', async () => {
    await conn.query(`USE ${conn.escapeId(`${o.database}_b`)}`);
    out('db', ...(await q('db', 'SELECT DATABASE(), @@server_id', 2)));
    await conn.query(`USE ${conn.escapeId(o.database)}`);
  });

  await step('ping', async () => {
    await conn.ping();
    out('ping', 'ok');
  });
}

async function main() {
  try {
    await run(parseArgs(process.argv.slice(2)));
    out('done');
  } catch (e) {
    const err = e instanceof StepError ? e : new StepError('internal', e.stack || String(e));
    out('error', err.step, err.message);
    process.exitCode = 1;
  }
}

main();
