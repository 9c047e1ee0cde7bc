// Signs a webhook body the way the payment providers do, using their own
// published libraries, so the Rust tests check Satchel against the real
// signers rather than against a second copy of our own code.
//
// Usage (body on stdin, byte-exact; prints one JSON object of headers):
//   node sign.mjs standard <whsec_secret> <msg_id> <unix_ts> < body
//   node sign.mjs stripe <whsec_secret> <unix_ts> < body
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';
import Stripe from 'stripe';

function fail(message) {
  process.stderr.write(`sign.mjs: ${message}\n`);
  process.exit(2);
}

function parseTimestamp(text) {
  // Both libraries take whole seconds; stripe treats 0 as "now", so refuse it
  // rather than sign with a time the caller did not ask for.
  if (!/^[1-9][0-9]*$/.test(text ?? '')) fail(`unix_ts must be a positive integer, got ${JSON.stringify(text)}`);
  return Number(text);
}

function readBody() {
  const bytes = readFileSync(0);
  // Both libraries sign a JS string, so the body must round-trip through
  // UTF-8 unchanged: refuse invalid UTF-8 and keep a leading BOM.
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    fail('body on stdin is not valid UTF-8; the providers sign text');
  }
}

const [provider, ...args] = process.argv.slice(2);
let headers;
switch (provider) {
  case 'standard': {
    if (args.length !== 3) fail('usage: node sign.mjs standard <whsec_secret> <msg_id> <unix_ts> < body');
    const [secret, msgId, ts] = args;
    const seconds = parseTimestamp(ts);
    const payload = readBody();
    headers = {
      'webhook-id': msgId,
      'webhook-timestamp': String(seconds),
      'webhook-signature': new Webhook(secret).sign(msgId, new Date(seconds * 1000), payload),
    };
    break;
  }
  case 'stripe': {
    if (args.length !== 2) fail('usage: node sign.mjs stripe <whsec_secret> <unix_ts> < body');
    const [secret, ts] = args;
    const timestamp = parseTimestamp(ts);
    const payload = readBody();
    // The API key is never used: signing is local and makes no request.
    const stripe = new Stripe('sk_test_x');
    headers = {
      'Stripe-Signature': stripe.webhooks.generateTestHeaderString({ payload, secret, timestamp }),
    };
    break;
  }
  default:
    fail('first argument must be "standard" or "stripe"');
}
process.stdout.write(`${JSON.stringify(headers)}\n`);
