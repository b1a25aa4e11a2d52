// An independent client: @grpc/grpc-js with the project's .proto files,
// loaded at run time. If this passes, clients nobody here wrote can speak
// to the agent. Usage: node client_test.js HOST:PORT
'use strict';
const assert = require('node:assert/strict');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const loader = require('@grpc/proto-loader');

const target = process.argv[2];
const repo = path.resolve(__dirname, '../..');
const defs = loader.loadSync(
  ['tabletagent/v1/tabletagent.proto', 'grpc/health/v1/health.proto'],
  { includeDirs: [path.join(repo, 'proto'), '/usr/share/grpc-proto'], keepCase: true, enums: String, longs: String, defaults: true });
const pkg = grpc.loadPackageDefinition(defs);
const creds = grpc.credentials.createInsecure();
const agent = new pkg.tabletagent.v1.TabletAgent(target, creds);
const health = new pkg.grpc.health.v1.Health(target, creds);
const deadline = () => Date.now() + 5000;

function unary(client, method, req) {
  return new Promise((resolve, reject) =>
    client[method](req, { deadline: deadline() }, (err, resp) => (err ? reject(err) : resolve(resp))));
}

function firstN(stream, n) {
  return new Promise((resolve, reject) => {
    const got = [];
    stream.on('data', (m) => { got.push(m); if (got.length === n) { stream.cancel(); resolve(got); } });
    stream.on('error', (e) => { if (e.code !== grpc.status.CANCELLED) reject(e); });
  });
}

// Raw request bytes, for what a protobuf library would never send: a NUL
// inside a string, bytes that are not UTF-8, an enum value the .proto lacks.
const wire = {
  varint(n) {
    let v = BigInt.asUintN(64, BigInt(n));
    const out = [];
    do { let b = Number(v & 0x7fn); v >>= 7n; if (v) b |= 0x80; out.push(b); } while (v);
    return Buffer.from(out);
  },
  bytes: (field, b) => Buffer.concat([wire.varint((field << 3) | 2), wire.varint(Buffer.from(b).length), Buffer.from(b)]),
  enum: (field, n) => Buffer.concat([wire.varint(field << 3), wire.varint(n)]),
};

// The call's error (null on success), for a request sent as raw bytes.
function rawCall(method, bytes) {
  const raw = new grpc.Client(target, creds);
  return new Promise((resolve) => raw.makeUnaryRequest(`/tabletagent.v1.TabletAgent/${method}`,
    (b) => b, (b) => b, bytes, { deadline: deadline() }, (err) => { raw.close(); resolve(err); }));
}

function assertInvalid(err, details) {
  assert.ok(err, 'the call must fail');
  assert.equal(err.code, grpc.status.INVALID_ARGUMENT, `code ${err.code}: ${err.details}`);
  assert.ok(err.details.includes(details), `"${details}" not in: ${err.details}`);
}

async function check(name, fn) {
  await fn();
  console.log(`ok   [node] ${name}`);
}

async function main() {
  await check('GetStatus returns the source status', async () => {
    const st = await unary(agent, 'GetStatus', {});
    assert.equal(st.state, 'SERVING');
    assert.equal(st.source.flavor, 'MARIADB');
    assert.match(st.source.position.gtid, /^(\d+-\d+-\d+)?(,\d+-\d+-\d+)*$/);
    assert.ok(st.source.position.file.length > 0);
    assert.equal(st.agent_version.length > 0, true);
  });
  await check('StreamHealth streams updates with increasing sequence', async () => {
    const msgs = await firstN(agent.StreamHealth({}), 3);
    const seqs = msgs.map((m) => BigInt(m.sequence));
    assert.ok(seqs[0] < seqs[1] && seqs[1] < seqs[2], `sequence ${seqs}`);
  });
  await check('grpc.health.v1 Check is SERVING', async () => {
    const r = await unary(health, 'Check', { service: '' });
    assert.equal(r.status, 'SERVING');
    const r2 = await unary(health, 'Check', { service: 'tabletagent.v1.TabletAgent' });
    assert.equal(r2.status, 'SERVING');
  });
  await check('grpc.health.v1 Check of an unknown service is NOT_FOUND', async () => {
    await assert.rejects(unary(health, 'Check', { service: 'nope' }), (e) => e.code === grpc.status.NOT_FOUND);
  });
  await check('grpc.health.v1 Watch sends the current status', async () => {
    const [m] = await firstN(health.Watch({ service: '' }), 1);
    assert.equal(m.status, 'SERVING');
  });
  await check('a malformed request gets INVALID_ARGUMENT, not a crash', async () => {
    const raw = new grpc.Client(target, creds);
    const garbage = Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]);
    await new Promise((resolve, reject) => raw.makeUnaryRequest('/grpc.health.v1.Health/Check',
      (b) => b, (b) => b, garbage, { deadline: deadline() }, (err) => {
        try { assert.equal(err && err.code, grpc.status.INVALID_ARGUMENT); resolve(); } catch (e) { reject(e); }
      }));
    raw.close();
  });
  await check('an unknown method gets UNIMPLEMENTED', async () => {
    const raw = new grpc.Client(target, creds);
    await new Promise((resolve, reject) => raw.makeUnaryRequest('/tabletagent.v1.TabletAgent/NoSuchMethod',
      (b) => b, (b) => b, Buffer.alloc(0), { deadline: deadline() }, (err) => {
        try { assert.equal(err && err.code, grpc.status.UNIMPLEMENTED); resolve(); } catch (e) { reject(e); }
      }));
    raw.close();
  });
  await check('a name with a NUL byte gets INVALID_ARGUMENT, not a lookup of its prefix', async () => {
    assertInvalid(await rawCall('GetWorkflow', wire.bytes(1, 'wf\0evil')), 'name contains a NUL byte');
    const dest = Buffer.concat([wire.bytes(1, '127.0.0.1'), wire.bytes(4, 'ro\0ot')]);
    assertInvalid(await rawCall('CreateImport', Buffer.concat([wire.bytes(1, 'nulwf'), wire.bytes(2, dest)])),
      'destination.user contains a NUL byte');
  });
  await check('a string that is not UTF-8 gets INVALID_ARGUMENT', async () => {
    assertInvalid(await rawCall('GetWorkflow', wire.bytes(1, Buffer.from([0x77, 0x66, 0xff]))),
      'name is not valid UTF-8');
    const tables = wire.bytes(1, Buffer.from([0x64, 0x62, 0x2e, 0xc3]));
    assertInvalid(await rawCall('Preflight', wire.bytes(2, tables)), 'tables.include[0] is not valid UTF-8');
  });
  await check('an unknown enum value gets INVALID_ARGUMENT naming the choices', async () => {
    const dest = Buffer.concat([wire.bytes(1, '127.0.0.1'), wire.bytes(4, 'agent')]);
    const req = Buffer.concat([wire.bytes(1, 'enumwf'), wire.bytes(2, dest), wire.bytes(4, wire.enum(4, 7))]);
    assertInvalid(await rawCall('CreateImport', req),
      'options.ddl: unknown value 7 (use DDL_STOP, DDL_EXEC or DDL_IGNORE)');
    assertInvalid(await rawCall('Detach', Buffer.concat([wire.bytes(1, 'nowf'), wire.enum(2, 9)])),
      'primary: unknown value 9 (use SIDE_SOURCE or SIDE_DESTINATION)');
  });
  await check('a GTID with a blank MariaDB refuses gets INVALID_ARGUMENT', async () => {
    const req = { name: 'blankgtid', target: { host: '127.0.0.1', port: 1, user: 'agent', password: 'x' },
      start: { gtid: '0-1-1 ,1-1-1' } };
    await assert.rejects(unary(agent, 'StartStream', req), (e) => {
      assertInvalid(e, 'start.gtid: unexpected space in "0-1-1 ,1-1-1" at position 6');
      return true;
    });
  });
  await check('a status message stays short and valid UTF-8 whatever it echoes', async () => {
    const dest = Buffer.concat([wire.bytes(1, '127.0.0.1'), wire.bytes(4, 'agent')]);
    const req = Buffer.concat([wire.bytes(1, 'longwf'), wire.bytes(2, dest), wire.bytes(5, '\u00e9'.repeat(3000))]);
    const err = await rawCall('CreateImport', req); // the refusal quotes the unknown check id
    assert.equal(err && err.code, grpc.status.INVALID_ARGUMENT);
    assert.ok(Buffer.byteLength(err.details) <= 1000, `${Buffer.byteLength(err.details)} bytes`);
    assert.ok(err.details.endsWith('...') && !err.details.includes('\ufffd'), err.details.slice(-20));
  });
  await check('ResumeWorkflow with part of a destination gets INVALID_ARGUMENT, not defaults', async () => {
    await assert.rejects(unary(agent, 'ResumeWorkflow', { name: 'nowf', destination: { password: 'x' } }), (e) => {
      assertInvalid(e, 'takes the whole endpoint, as at import: destination needs a host');
      return true;
    });
  });
  await check('the agent still answers after the bad calls', async () => {
    const st = await unary(agent, 'GetStatus', {});
    assert.equal(st.state, 'SERVING');
  });
}

main().then(() => process.exit(0), (e) => { console.error(`FAIL [node] ${e.stack || e}`); process.exit(1); });
