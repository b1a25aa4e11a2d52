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
  await check('the agent still answers after the bad calls', async () => {
    const st = await unary(agent, 'GetStatus', {});
    assert.equal(st.state, 'SERVING');
  });
}

main().then(() => process.exit(0), (e) => { console.error(`FAIL [node] ${e.stack || e}`); process.exit(1); });
