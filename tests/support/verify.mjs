// Verifies a webhook Satchel sent, with the official `standardwebhooks` library, so the Rust
// tests check Satchel's signatures against the reference implementation, not against itself.
//
// Usage (one JSON object on stdin: {"headers": {name: value}, "body": "<exact text>"}):
//   node verify.mjs <whsec_secret> < request.json
// Prints the verified payload as JSON; exits 1 with the library's message when it is refused.
import { readFileSync } from 'node:fs';
import { Webhook } from 'standardwebhooks';

const [secret] = process.argv.slice(2);
if (!secret) {
  process.stderr.write('usage: node verify.mjs <whsec_secret> < request.json\n');
  process.exit(2);
}
const { headers, body } = JSON.parse(readFileSync(0, 'utf8'));
try {
  const payload = new Webhook(secret).verify(body, headers);
  process.stdout.write(`${JSON.stringify(payload)}\n`);
} catch (e) {
  process.stderr.write(`verify.mjs: ${e.message}\n`);
  process.exit(1);
}
