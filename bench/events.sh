#!/usr/bin/env bash
# Events out (issue 17): what signing and sending events to a shop's own endpoint costs.
#   bench/events.sh           10 s of load per webhook case, 10,000 queued events (about a minute)
#   bench/events.sh --quick   2 s per case, 1,000 events: checks the harness still works
# 1. Signed payment webhooks (32 connections, SQLite) with no endpoint, then with one endpoint
#    subscribed to every event type, on the same server: orders/s with events over without.
# 2. Events queued while the server is stopped (one endpoint), then the time from start until the
#    local receiver has them all: events/s.
# The receiver is a small Python HTTP server on 127.0.0.1 answering 204 (the operator's
# `webhooks_out.allow_private` lets Satchel send there). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
. bench/lib.sh
DUR=10; EVENTS=10000
[ "${1:-}" = "--quick" ] && { DUR=2; EVENTS=1000; }
SAT=$(satchel_bin)
cargo bench --quiet --bench webhook_load --no-run 2>/dev/null

W=$(mktemp -d "${TMPDIR:-/tmp}/satchel-events.XXXXXX")
SPID=""; RPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

PORT_R=$(free_port)
python3 - "$PORT_R" <<'PY' 2>/dev/null & RPID=$!
import sys, threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
count = 0
lock = threading.Lock()
class Receiver(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_POST(self):
        global count
        self.rfile.read(int(self.headers.get("content-length", 0)))
        with lock:
            count += 1
        self.send_response(204); self.end_headers()
    def do_GET(self):
        body = str(count).encode()
        self.send_response(200); self.send_header("content-length", str(len(body))); self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
ThreadingHTTPServer.daemon_threads = True
ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Receiver).serve_forever()
PY
wait_port "$PORT_R"
received() { curl -sf "http://127.0.0.1:$PORT_R/count"; }

PORT_S=$(free_port)
export SATCHEL_CONFIG="$W/none.toml" SATCHEL__DATA_DIR="$W/data" SATCHEL__SERVER__PORT="$PORT_S" RUST_LOG=warn \
  SATCHEL__WEBHOOKS_OUT__ALLOW_PRIVATE=true
S="http://127.0.0.1:$PORT_S"
start_satchel() { "$SAT" serve 2>>"$W/satchel.log" & SPID=$!; wait_port "$PORT_S"; }
stop_satchel() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""; }

start_satchel
"$SAT" merchant create --name Bench --email bench@example.com --test-mode --password "bench-password-1" >/dev/null
KEY=$("$SAT" api-key create --merchant bench@example.com 2>/dev/null)
SECRET=$(curl -sf "$S/api/v1/settings" -H "authorization: Bearer $KEY" | json 'd["webhooks"]["standard_secret"]')
head -c 16K /dev/urandom > "$W/small.bin"
F=$(curl -sf -X POST -T "$W/small.bin" "$S/api/v1/files?filename=small.bin" -H "authorization: Bearer $KEY" | json 'd["id"]')
P=$(curl -sf "$S/api/v1/products" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d '{"name":"Bench","price_minor":100,"currency":"USD"}' | json 'd["id"]')
curl -sf -X PUT "$S/api/v1/products/$P/delivery" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "{\"mode\":\"files\",\"files\":[{\"file_id\":\"$F\"}]}" >/dev/null
webhooks() { # → "per_second p99"
  cargo bench --quiet --bench webhook_load -- "$S/webhooks/bench/standard" "$SECRET" "$P" 32 "$DUR" 2>/dev/null \
    | json "d['per_second'], d['p99_ms']" | tr -d '(),'
}

log "signed webhooks, no endpoint"
read -r PLAIN PLAIN_P99 < <(webhooks)
ALL_EVENTS=$(curl -sf "$S/api/v1/openapi.json" | python3 -c "
import sys, json
d = json.load(sys.stdin)
def find(o):
    if isinstance(o, dict):
        if 'order.created' in (o.get('enum') or []): return o['enum']
        for v in o.values():
            r = find(v)
            if r: return r
    elif isinstance(o, list):
        for v in o:
            r = find(v)
            if r: return r
print(json.dumps(find(d)))")
curl -sf "$S/api/v1/webhook-endpoints" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$PORT_R/hook\",\"events\":$ALL_EVENTS}" >/dev/null
log "signed webhooks, one endpoint subscribed to every event"
before=$(received)
read -r WITH WITH_P99 < <(webhooks)
made=$(sqlite3 "$W/data/satchel.db" "select count(*) from event_deliveries where event_type = 'order.created'")
sent_by_end=$(( $(received) - before ))

log "$EVENTS events queued while stopped, then drained"
stop_satchel
ENDPOINT=$(sqlite3 "$W/data/satchel.db" "select id from webhook_endpoints limit 1")
TEMPLATE=$(sqlite3 "$W/data/satchel.db" "select id from event_deliveries limit 1")
sqlite3 "$W/data/satchel.db" <<SQL
UPDATE event_deliveries SET status = 'delivered';
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $EVENTS)
INSERT INTO event_deliveries (id, event_id, endpoint_id, merchant_id, event_type, payload, created_at, next_attempt_at)
SELECT 'evt_bench_' || i || '.' || '$ENDPOINT', 'evt_bench_' || i, '$ENDPOINT', d.merchant_id, d.event_type, d.payload,
  d.created_at, 0 FROM n, event_deliveries d WHERE d.id = '$TEMPLATE';
SQL
before=$(received)
t0=$(date +%s.%N)
start_satchel
deadline=$(( $(date +%s) + 120 ))
while [ $(( $(received) - before )) -lt "$EVENTS" ]; do
  [ "$(date +%s)" -lt "$deadline" ] || { echo "only $(( $(received) - before )) of $EVENTS events arrived in 120 s" >&2; exit 1; }
  sleep 0.05
done
t1=$(date +%s.%N)
DRAIN=$(python3 -c "print(f'{$EVENTS / ($t1 - $t0):.0f}')")
stop_satchel

echo
echo "| case | Satchel | reference | ratio | goal |"
echo "|---|---|---|---|---|"
echo "| signed webhooks, 32 connections, SQLite, one endpoint subscribed to every event | ${WITH} orders/s, p99 ${WITH_P99} ms ($made order.created events queued, $sent_by_end sent when the load ended) | no endpoint: ${PLAIN} orders/s, p99 ${PLAIN_P99} ms | $(ratio "$WITH" "$PLAIN") | ≥ 0.9 |"
echo "| $EVENTS queued events drained to a local receiver (from process start) | $DRAIN events/s | | | ≥ 500/s |"
