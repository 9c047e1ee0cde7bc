// The scale-out proof (docs/deploying.md, "The proof"); run through scripts/scale-out.
// Two `satchel serve` processes on a fresh PostgreSQL database and one s3s-fs bucket, behind
// nginx configured with the block of docs/deploying.md; 1,000 signed Standard Webhooks payments
// (about 20% delivered twice) while customers download; one process SIGKILLed midway and
// restarted. Exits non-zero when an order, an email, a download or a blob is wrong.
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { Webhook } = createRequire(path.join(ROOT, 'tests/support/package.json'))('standardwebhooks');

const PAYMENTS = Number(process.env.SCALE_OUT_PAYMENTS ?? 1000);
const DUPLICATE_EVERY = 5; // every 5th payment is delivered twice: ~20% more deliveries
const RATE_PER_SECOND = 40; // deliveries started per second: the run spans ~30 s around the kill
const SENDERS = 16;
const DOWNLOADERS = Number(process.env.SCALE_OUT_DOWNLOADERS ?? 4);
const RESTART_AFTER_MS = 2000;
const MAX_EMAIL_WAIT_MS = 35_000; // takeover is ~15 s, up to ~30 s with `all` processes' poll
const FILE_SIZES = [8 * 1024, 100 * 1024, 512 * 1024];
const BIN = path.resolve(ROOT, process.argv[2] ?? 'target/debug/satchel');

const violations = [];
const violate = (what) => {
  if (violations.length < 50) console.error(`VIOLATION: ${what}`);
  violations.push(what);
};
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const sha256 = (bytes) => createHash('sha256').update(bytes).digest('hex');
const log = (text) => console.error(`\x1b[1m==> ${text}\x1b[0m`);

function env(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`scale-out: ${name} is not set; run through scripts/test or export what it exports`);
    process.exit(2);
  }
  return value;
}
const PG_URL = env('SATCHEL_TEST_POSTGRES_URL');
const S3 = {
  endpoint: env('SATCHEL_TEST_S3_ENDPOINT'),
  accessKey: env('SATCHEL_TEST_S3_ACCESS_KEY'),
  secretKey: env('SATCHEL_TEST_S3_SECRET_KEY'),
  root: env('SATCHEL_TEST_S3_ROOT'),
};
const SMTP_PORT = Number(env('SATCHEL_TEST_SMTP_PORT'));
const MAILDEV = env('SATCHEL_TEST_MAILDEV_URL');

// --- what this script starts, and its cleanup ------------------------------------------------
const RUN = randomBytes(4).toString('hex');
const WORK = fs.mkdtempSync(path.join(os.tmpdir(), 'satchel-scale-out-'));
const DB_NAME = `satchel_proof_${RUN}`;
const BUCKET = `proof-${RUN}`;
const DOMAIN = `proof-${RUN}.example`;
const children = new Set();
let dbCreated = false;

function start(command, args, options) {
  const child = spawn(command, args, options);
  children.add(child);
  child.on('exit', () => children.delete(child));
  return child;
}

async function cleanup(keepLogs) {
  for (const child of children) child.kill('SIGTERM');
  for (let i = 0; i < 100 && children.size > 0; i++) await sleep(100);
  for (const child of children) child.kill('SIGKILL');
  if (dbCreated) {
    try {
      psql(PG_URL, `DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
    } catch (e) {
      console.error(`scale-out: could not drop ${DB_NAME}: ${e.message}`);
    }
  }
  fs.rmSync(path.join(S3.root, BUCKET), { recursive: true, force: true });
  if (keepLogs) {
    for (const name of ['satchel-a.log', 'satchel-b.log', 'nginx/error.log']) {
      const file = path.join(WORK, name);
      if (!fs.existsSync(file)) continue;
      const lines = fs.readFileSync(file, 'utf8').trim().split('\n').slice(-25);
      console.error(`--- last lines of ${name} ---\n${lines.join('\n')}`);
    }
  }
  fs.rmSync(WORK, { recursive: true, force: true });
}

// Ports: bound (not listening) by a helper process until the end, as scripts/test does; nginx and
// Satchel set SO_REUSEADDR, which a bound socket that does not listen allows on Linux.
async function reservePorts(count) {
  const holder = start(
    'python3',
    ['-c', 'import signal,socket,sys\nheld=[]\nfor _ in range(int(sys.argv[1])):\n'
      + ' s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1); s.bind(("127.0.0.1",0))\n'
      + ' held.append(s); print(s.getsockname()[1],flush=True)\nsignal.pause()', String(count)],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let text = '';
  for await (const chunk of holder.stdout) {
    text += chunk;
    if (text.trim().split('\n').length >= count) break;
  }
  return text.trim().split('\n').map(Number);
}

function psql(url, sql) {
  return execFileSync('psql', [url, '-AtqX', '-F', '\t', '-c', sql], { encoding: 'utf8' }).trim();
}
function rows(sql) {
  const text = psql(DB_URL, sql);
  return text === '' ? [] : text.split('\n').map((line) => line.split('\t'));
}
const DB_URL = (() => {
  const url = new URL(PG_URL);
  url.pathname = `/${DB_NAME}`;
  return url.toString();
})();

// --- the deployment ---------------------------------------------------------------------------
function writeSatchelConfig(publicUrl) {
  const file = path.join(WORK, 'satchel.toml');
  fs.writeFileSync(file, `signing_key = "${randomBytes(32).toString('hex')}"

[server]
host = "127.0.0.1"
public_url = "${publicUrl}"
trusted_proxies = 1

[database]
url = "${DB_URL}"

[storage]
backend = "s3"
[storage.s3]
endpoint = "${S3.endpoint}"
bucket = "${BUCKET}"
region = "us-east-1"
access_key_id = "${S3.accessKey}"
secret_access_key = "${S3.secretKey}"
allow_http = true

[mail]
from_address = "shop@${DOMAIN}"
[mail.smtp]
host = "127.0.0.1"
port = ${SMTP_PORT}
tls = "none"
`);
  return file;
}

function satchelEnv(name, port) {
  return {
    ...process.env,
    SATCHEL_CONFIG: path.join(WORK, 'satchel.toml'),
    SATCHEL__DATA_DIR: path.join(WORK, `data-${name}`),
    SATCHEL__SERVER__PORT: String(port),
    RUST_LOG: process.env.RUST_LOG ?? 'info',
  };
}

async function waitReady(url, child, what) {
  for (let i = 0; i < 600; i++) {
    if (child && child.exitCode !== null) throw new Error(`${what} exited with ${child.exitCode}`);
    try {
      const response = await fetch(url);
      if (response.ok) return;
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  throw new Error(`${what} not ready at ${url} after 60 s`);
}

async function startSatchel(name, port) {
  const out = fs.openSync(path.join(WORK, `satchel-${name}.log`), 'a');
  const child = start(BIN, ['serve'], { env: satchelEnv(name, port), stdio: ['ignore', out, out] });
  fs.closeSync(out);
  await waitReady(`http://127.0.0.1:${port}/readyz`, child, `satchel ${name}`);
  return child;
}

// The nginx block of docs/deploying.md, with this run's ports in place of the example addresses.
function nginxConfig(listenPort, upstreamPorts) {
  const doc = fs.readFileSync(path.join(ROOT, 'docs/deploying.md'), 'utf8');
  const block = doc.match(/```nginx\n([\s\S]*?)```/);
  if (!block) throw new Error('docs/deploying.md has no ```nginx block');
  let config = block[1];
  const swap = (from, to) => {
    if (config.split(from).length !== 2) throw new Error(`docs/deploying.md: expected "${from}" once`);
    config = config.replace(from, to);
  };
  swap('server 10.0.0.11:8080', `server 127.0.0.1:${upstreamPorts[0]}`);
  swap('server 10.0.0.12:8080', `server 127.0.0.1:${upstreamPorts[1]}`);
  swap('listen 80;', `listen 127.0.0.1:${listenPort};`);
  const dir = path.join(WORK, 'nginx');
  fs.mkdirSync(path.join(dir, 'logs'), { recursive: true });
  const file = path.join(dir, 'nginx.conf');
  // As root, nginx's workers would run as nobody, who cannot use the temp folders here.
  const user = process.getuid() === 0 ? 'user root;\n' : '';
  fs.writeFileSync(file, `${user}worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 1024; }
http {
    access_log off;
${config}}
`);
  return { dir, file };
}

async function startNginx(port, upstreamPorts) {
  const { dir, file } = nginxConfig(port, upstreamPorts);
  const nginx = process.env.NGINX ?? (fs.existsSync('/usr/sbin/nginx') ? '/usr/sbin/nginx' : 'nginx');
  const child = start(nginx, ['-p', `${dir}/`, '-c', file, '-e', `${dir}/error.log`], { stdio: ['ignore', 'inherit', 'inherit'] });
  await waitReady(`http://127.0.0.1:${port}/healthz`, child, 'nginx');
  return child;
}

// --- the shop ---------------------------------------------------------------------------------
function cli(args) {
  return execFileSync(BIN, args, { env: satchelEnv('cli', 0), encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

async function api(base, key, method, route, body, contentType = 'application/json') {
  const response = await fetch(`${base}/api/v1${route}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : contentType === 'application/json' ? JSON.stringify(body) : body,
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return JSON.parse(text);
}

async function setUpShop(base) {
  cli(['merchant', 'create', '--name', 'Proof', '--slug', 'proof', '--email', `owner@${DOMAIN}`, '--password', 'proof-password-1']);
  const key = cli(['api-key', 'create', '--merchant', 'proof']).trim();
  const settings = await api(base, key, 'GET', '/settings');
  const products = [];
  for (const [i, size] of FILE_SIZES.entries()) {
    const bytes = randomBytes(size);
    const file = await api(base, key, 'POST', `/files?filename=proof-${i}.bin`, bytes, 'application/octet-stream');
    const product = await api(base, key, 'POST', '/products', { name: `Proof ${i}`, price_minor: 1999, currency: 'USD' });
    await api(base, key, 'PUT', `/products/${product.id}/delivery`, { mode: 'files', files: [{ file_id: file.id }] });
    products.push({ id: product.id, sha256: sha256(bytes), size });
  }
  return { key, secret: settings.webhooks.standard_secret, products };
}

// --- the load ---------------------------------------------------------------------------------
function paymentBody(i, product) {
  return JSON.stringify({
    business_id: 'bus_proof',
    type: 'payment.succeeded',
    timestamp: new Date().toISOString(),
    data: {
      payload_type: 'Payment',
      payment_id: `pay_${RUN}_${i}`,
      business_id: 'bus_proof',
      status: 'succeeded',
      total_amount: 1999,
      currency: 'USD',
      payment_method: 'card',
      created_at: new Date().toISOString(),
      customer: { customer_id: `cus_${i}`, email: `buyer-${i}@${DOMAIN}`, name: `Buyer ${i}` },
      product_cart: [{ product_id: product.id, quantity: 1 }],
      metadata: {},
    },
  });
}

// Every payment once, and every 5th once more: as a retry of the same message (same id and
// body), or as the same payment under a new message id; in random order.
function plannedDeliveries(shop) {
  const deliveries = [];
  for (let i = 0; i < PAYMENTS; i++) {
    const body = paymentBody(i, shop.products[i % shop.products.length]);
    deliveries.push({ payment: i, msgId: `msg_${RUN}_${i}`, body });
    if (i % DUPLICATE_EVERY === 0) {
      const retry = i % (2 * DUPLICATE_EVERY) === 0;
      deliveries.push({ payment: i, msgId: retry ? `msg_${RUN}_${i}` : `msg_${RUN}_${i}_again`, body });
    }
  }
  for (let i = deliveries.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [deliveries[i], deliveries[j]] = [deliveries[j], deliveries[i]];
  }
  return deliveries;
}

const stats = {
  deliveries: 0, attempts: 0, failedAttempts: 0, acknowledged: new Set(),
  downloads: 0, downloadOk: 0, downloadCleanErrors: 0, lookups: 0, lookupCleanErrors: 0,
};

// Sends one delivery as a provider does: re-signed and retried until it is answered 2xx.
async function deliver(url, webhook, delivery) {
  for (let attempt = 1; attempt <= 40; attempt++) {
    stats.attempts++;
    const now = new Date();
    let status;
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'webhook-id': delivery.msgId,
          'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
          'webhook-signature': webhook.sign(delivery.msgId, now, delivery.body),
        },
        body: delivery.body,
      });
      await response.arrayBuffer();
      status = response.status;
    } catch (e) {
      status = `connection error (${e.cause?.code ?? e.message})`;
    }
    if (typeof status === 'number' && status >= 200 && status < 300) {
      stats.acknowledged.add(delivery.payment);
      return;
    }
    stats.failedAttempts++;
    if (typeof status === 'number' && status < 500) {
      violate(`webhook ${delivery.msgId} answered ${status}`);
      return;
    }
    await sleep(Math.min(250 * attempt, 3000));
  }
  violate(`webhook ${delivery.msgId} never acknowledged after 40 attempts`);
}

async function sendAll(base, shop, deliveries) {
  const url = `${base}/webhooks/proof/standard`;
  const webhook = new Webhook(shop.secret);
  const startedAt = Date.now();
  let next = 0;
  const sender = async () => {
    while (next < deliveries.length) {
      const k = next++;
      const due = startedAt + (k * 1000) / RATE_PER_SECOND;
      if (due > Date.now()) await sleep(due - Date.now());
      await deliver(url, webhook, deliveries[k]);
      stats.deliveries++;
    }
  };
  await Promise.all(Array.from({ length: SENDERS }, sender));
  return Date.now() - startedAt;
}

// The delivery page of payment i's order, from the API: undefined after a clean error (5xx,
// connection), null after a violation.
async function deliveryLink(base, shop, i) {
  const get = async (route) => {
    let response;
    try {
      response = await fetch(`${base}/api/v1${route}`, { headers: { authorization: `Bearer ${shop.key}` } });
    } catch {
      return undefined;
    }
    const text = await response.text().catch(() => undefined);
    if (response.status >= 500 || text === undefined) return undefined;
    if (response.status !== 200) {
      violate(`payment ${i} was acknowledged, but GET ${route} answered ${response.status}`);
      return null;
    }
    return JSON.parse(text);
  };
  const orders = await get(`/orders?email=buyer-${i}@${DOMAIN}`);
  if (!orders) return orders;
  if (orders.length !== 1) {
    violate(`payment ${i} was acknowledged, but the API lists ${orders.length} orders for it`);
    return null;
  }
  const order = await get(`/orders/${orders[0].id}`);
  if (!order) return order;
  if (typeof order.delivery_url !== 'string') {
    violate(`order of payment ${i} has no delivery_url`);
    return null;
  }
  return order.delivery_url;
}

// A customer of an acknowledged payment finds their order through the API and downloads it.
// Errors around the kill are fine when clean (a 5xx, a refused or cut connection); wrong bytes
// or any other status are not.
async function downloadOnce(base, shop, links, i, cleanError) {
  const product = shop.products[i % shop.products.length];
  if (!links.has(i)) {
    stats.lookups++;
    const link = await deliveryLink(base, shop, i);
    if (link === undefined) {
      stats.lookupCleanErrors++;
      return;
    }
    if (link === null) return;
    links.set(i, `${link}/files/1`);
  }
  stats.downloads++;
  let bytes;
  try {
    const response = await fetch(links.get(i));
    bytes = Buffer.from(await response.arrayBuffer());
    if (response.status >= 500) {
      cleanError(`download ${response.status}`);
      return;
    }
    if (response.status !== 200) {
      violate(`download of payment ${i}: status ${response.status}`);
      return;
    }
  } catch (e) {
    cleanError(`download ${e.cause?.code ?? e.message}`);
    return;
  }
  if (bytes.length !== product.size || sha256(bytes) !== product.sha256) {
    violate(`download of payment ${i}: ${bytes.length} wrong bytes (sha256 ${sha256(bytes)})`);
    return;
  }
  stats.downloadOk++;
}

async function downloadWhile(base, shop, links, running) {
  const errorTimes = [];
  const cleanError = () => {
    stats.downloadCleanErrors++;
    errorTimes.push(Date.now());
  };
  const customer = async () => {
    while (running()) {
      const acknowledged = [...stats.acknowledged];
      if (acknowledged.length === 0) {
        await sleep(50);
        continue;
      }
      await downloadOnce(base, shop, links, acknowledged[Math.floor(Math.random() * acknowledged.length)], cleanError);
      await new Promise((resolve) => setImmediate(resolve)); // let timers and the senders run
    }
  };
  await Promise.all(Array.from({ length: DOWNLOADERS }, customer));
  return errorTimes;
}

// --- the checks -------------------------------------------------------------------------------
async function waitForEmails(deadline) {
  for (;;) {
    const [[sent]] = rows("SELECT count(*) FROM emails WHERE kind = 'purchase' AND status = 'sent'");
    if (Number(sent) >= PAYMENTS || Date.now() > deadline) return Number(sent);
    await sleep(500);
  }
}

function checkOrdersAndEmails(shop, killAt) {
  const expected = new Map(Array.from({ length: PAYMENTS }, (_, i) => [`pay_${RUN}_${i}`, i]));
  const orders = rows(`SELECT o.payment_id, o.created_at, f.sha256,
      count(e.id), count(e.id) FILTER (WHERE e.status = 'sent'), min(e.created_at), min(e.sent_at), min(e.to_address)
    FROM orders o LEFT JOIN order_files f ON f.order_id = o.id
    LEFT JOIN emails e ON e.order_id = o.id AND e.kind = 'purchase'
    GROUP BY o.id, o.payment_id, o.created_at, f.sha256`);
  const seen = new Map();
  const waits = [];
  for (const [paymentId, , fileSha, emails, sent, queuedAt, sentAt, to] of orders) {
    const i = expected.get(paymentId);
    if (i === undefined) {
      violate(`an order for an unknown payment ${paymentId}`);
      continue;
    }
    seen.set(paymentId, (seen.get(paymentId) ?? 0) + 1);
    if (fileSha !== shop.products[i % shop.products.length].sha256) violate(`order of ${paymentId} delivers file ${fileSha}`);
    if (emails !== '1' || sent !== '1') violate(`order of ${paymentId}: ${emails} purchase emails, ${sent} sent`);
    if (to !== `buyer-${i}@${DOMAIN}`) violate(`order of ${paymentId}: email to ${to}`);
    if (sentAt === '') continue;
    // Waiting is counted from the order, or from the kill for an email still waiting then.
    const from = Number(queuedAt) < killAt && Number(sentAt) > killAt ? killAt : Number(queuedAt);
    const wait = Number(sentAt) - from;
    waits.push(wait);
    if (wait > MAX_EMAIL_WAIT_MS) violate(`purchase email of ${paymentId} waited ${(wait / 1000).toFixed(1)} s`);
  }
  for (const [paymentId] of expected) {
    const count = seen.get(paymentId) ?? 0;
    if (count !== 1) violate(`payment ${paymentId} has ${count} orders`);
  }
  return { orders: orders.length, waits: waits.sort((a, b) => a - b) };
}

// Every purchase email reached the SMTP server; a second copy is allowed only for an email that
// may have been in flight in the killed process (mail.concurrency = 4 of them at most).
async function checkMaildev(killAt) {
  const response = await fetch(`${MAILDEV}/api/email`);
  const received = new Map();
  for (const mail of await response.json()) {
    for (const to of mail.to ?? []) {
      if (to.address?.endsWith(`@${DOMAIN}`)) received.set(to.address, (received.get(to.address) ?? 0) + 1);
    }
  }
  let copies = 0;
  for (let i = 0; i < PAYMENTS; i++) {
    const count = received.get(`buyer-${i}@${DOMAIN}`) ?? 0;
    if (count === 0) violate(`no email reached buyer-${i}@${DOMAIN}`);
    copies += Math.max(0, count - 1);
  }
  if (copies > 4) violate(`${copies} second copies of purchase emails reached the SMTP server (at most 4 may be in flight at a kill)`);
  return { addresses: [...received.keys()].length, copies, killAt };
}

function checkBucket() {
  const blobs = rows('SELECT storage_key, size, sha256 FROM blobs');
  for (const [key, size, digest] of blobs) {
    const file = path.join(S3.root, BUCKET, key);
    if (!fs.existsSync(file)) {
      violate(`blob ${key} is missing from the bucket`);
      continue;
    }
    const bytes = fs.readFileSync(file);
    if (bytes.length !== Number(size) || sha256(bytes) !== digest) violate(`blob ${key} in the bucket has other bytes`);
  }
  return blobs.length;
}

// --- the run ----------------------------------------------------------------------------------
async function main() {
  if (!fs.existsSync(BIN)) throw new Error(`${BIN} is missing: cargo build --bin satchel`);
  const [lbPort, portA, portB] = await reservePorts(3);
  const base = `http://127.0.0.1:${lbPort}`;
  psql(PG_URL, `CREATE DATABASE ${DB_NAME}`);
  dbCreated = true;
  fs.mkdirSync(path.join(S3.root, BUCKET), { recursive: true });
  writeSatchelConfig(base);

  log(`starting two satchel processes (:${portA}, :${portB}) and nginx (:${lbPort})`);
  let a = await startSatchel('a', portA); // the first applies the migrations
  await startSatchel('b', portB);
  await startNginx(lbPort, [portA, portB]);
  const shop = await setUpShop(base);
  const deliveries = plannedDeliveries(shop);

  log(`${deliveries.length} webhook deliveries for ${PAYMENTS} payments at ${RATE_PER_SECOND}/s, customers downloading`);
  const links = new Map();
  let sending = true;
  const startedAt = Date.now();
  const downloading = downloadWhile(base, shop, links, () => sending);
  const sent = sendAll(base, shop, deliveries).finally(() => {
    sending = false;
  });
  await sleep((deliveries.length / 2 / RATE_PER_SECOND) * 1000);
  const killAt = Date.now();
  a.kill('SIGKILL');
  log(`SIGKILL to satchel a (pid ${a.pid}) after ${((killAt - startedAt) / 1000).toFixed(1)} s; restarting in ${RESTART_AFTER_MS / 1000} s`);
  await sleep(RESTART_AFTER_MS);
  a = await startSatchel('a', portA);
  const readyAgain = Date.now();
  const sendingMs = await sent;
  const errorTimes = await downloading;
  for (const at of errorTimes) if (at < killAt) violate(`a download failed ${((killAt - at) / 1000).toFixed(1)} s before the kill`);

  log('waiting for every purchase email');
  const sentEmails = await waitForEmails(Math.max(killAt + MAX_EMAIL_WAIT_MS + 10_000, Date.now() + 10_000));
  const allSentAt = Date.now();
  const { orders, waits } = checkOrdersAndEmails(shop, killAt);
  const mail = await checkMaildev(killAt);
  const blobs = checkBucket();
  const [[events]] = rows('SELECT count(*) FROM payment_events');

  const pct = (p) => (waits.length ? (waits[Math.min(waits.length - 1, Math.floor(p * waits.length))] / 1000).toFixed(2) : '-');
  console.log(`scale-out: ${PAYMENTS} payments, ${deliveries.length} deliveries in ${stats.attempts} attempts `
    + `(${stats.failedAttempts} not 2xx, retried) over ${(sendingMs / 1000).toFixed(1)} s; ${events} payment events`);
  console.log(`scale-out: ${orders} orders; ${sentEmails} purchase emails sent, ${mail.addresses} addresses reached `
    + `maildev, ${mail.copies} second copies; email wait p50 ${pct(0.5)} s, p99 ${pct(0.99)} s, max ${pct(1)} s`);
  console.log(`scale-out: ${stats.downloads} downloads: ${stats.downloadOk} right bytes, ${stats.downloadCleanErrors} clean `
    + `errors; ${stats.lookups} order lookups (${stats.lookupCleanErrors} clean errors); ${blobs} blobs in the bucket`);
  console.log(`scale-out: kill at +${((killAt - startedAt) / 1000).toFixed(1)} s, ready again after `
    + `${((readyAgain - killAt) / 1000).toFixed(1)} s, all emails sent ${((allSentAt - killAt) / 1000).toFixed(1)} s after the kill`);
  if (stats.downloadOk === 0) violate('no download completed');
}

let failed = false;
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, async () => {
    console.error(`scale-out: ${signal}, stopping what it started`);
    await cleanup(true);
    process.exit(1);
  });
}
// Never left hanging: past 5 minutes, stop what it started and fail.
const watchdog = setTimeout(async () => {
  console.error('scale-out: still running after 5 minutes; stopping');
  await cleanup(true);
  process.exit(1);
}, 5 * 60_000);
const ticker = process.env.SCALE_OUT_PROGRESS
  ? setInterval(() => console.error(JSON.stringify({ ...stats, acknowledged: stats.acknowledged.size })), 2000)
  : undefined;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`scale-out: ${e.stack ?? e}`);
}
failed ||= violations.length > 0;
clearInterval(ticker);
clearTimeout(watchdog);
await cleanup(failed);
if (violations.length > 0) console.error(`scale-out: FAILED, ${violations.length} violations`);
else if (!failed) console.log('scale-out: every payment made one order and one email; every download was right or cleanly refused');
process.exit(failed ? 1 : 0);
