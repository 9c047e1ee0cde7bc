#!/usr/bin/env bash
# Events out (issue 17): what signing and sending events to a shop's own endpoint costs.
#   bench/events.sh           10 s of load per webhook case, 10,000 queued events (about 5 minutes)
#   bench/events.sh --quick   2 s per case, 1,000 events: checks the harness still works
# 1. Signed payment webhooks (32 connections, SQLite) with no endpoint, with one endpoint
#    subscribed to order.created, with one subscribed to every event type, on the same server,
#    three rounds: orders/s with events over without, and Satchel's CPU time per order (the
#    events' delivery included) without over with.
# 2. Events queued while the server is stopped (one endpoint), then the time from start until the
#    local receiver has them all: events/s.
# The receiver is nginx on 127.0.0.1 answering 204 (the operator's `webhooks_out.allow_private`
# lets Satchel send there). Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
# shellcheck source=bench/lib.sh
. bench/lib.sh
need_packages nginx-light sqlite3 curl python3
DUR=10; EVENTS=10000
[ "${1:-}" = "--quick" ] && { DUR=2; EVENTS=1000; }
SAT=$(satchel_bin)
cargo bench --quiet --bench webhook_load --no-run 2>/dev/null

# The server's data in memory (tmpfs) where there is one: on the disk, the file system's own
# costs (ext4 inode allocation for the mailbox's file per email, pages re-read after other
# runs' deletes) moved orders/s by ±20% from run to run, twice the effect measured here.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then TMPDIR=/dev/shm; fi
W=$(mktemp -d "${TMPDIR:-/tmp}/satchel-events.XXXXXX")
SPID=""; RPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$RPID" ] && kill "$RPID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT

# The receiver: nginx answering 204 to every POST, one log line each (counted). A stand-in for
# the shop's own system, so cheap that what the cases measure is Satchel's cost.
PORT_R=$(free_port)
mkdir -p "$W/receiver"
cat > "$W/receiver/nginx.conf" <<NGINX
$([ "$(id -u)" = 0 ] && echo 'user root;')
worker_processes 1;
daemon off;
pid $W/receiver/nginx.pid;
error_log $W/receiver/error.log warn;
events { worker_connections 1024; }
http {
  keepalive_requests 1000000;
  log_format line "\$status";
  server {
    listen 127.0.0.1:$PORT_R;
    location = /hook { access_log $W/receiver/hooks.log line; return 204; }
    location / { access_log off; return 404; }
  }
}
NGINX
/usr/sbin/nginx -p "$W/receiver/" -c "$W/receiver/nginx.conf" -e "$W/receiver/error.log" & RPID=$!
wait_port "$PORT_R"
received() { [ -f "$W/receiver/hooks.log" ] && wc -l < "$W/receiver/hooks.log" || echo 0; }

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
endpoint() { # $1 events JSON → endpoint id
  curl -sf "$S/api/v1/webhook-endpoints" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
    -d "{\"url\":\"http://127.0.0.1:$PORT_R/hook\",\"events\":$1}" | json 'd["id"]'
}
enabled() { # $1 endpoint id, $2 true|false
  curl -sf -X PATCH "$S/api/v1/webhook-endpoints/$1" -H "authorization: Bearer $KEY" \
    -H 'content-type: application/json' -d "{\"enabled\":$2}" >/dev/null
}
# Waits until every email is sent and every queued event (email.sent ones included) has reached
# the receiver, so no case pays for the last one's.
drained() {
  local deadline=$(( $(date +%s) + 120 ))
  while [ "$(sqlite3 "$W/data/satchel.db" "select (select count(*) from emails where status <> 'sent') \
      + (select count(*) from event_deliveries where status <> 'delivered')")" != 0 ]; do
    [ "$(date +%s)" -lt "$deadline" ] || { echo "events still queued after 120 s" >&2; exit 1; }
    sleep 0.1
  done
}
ONLY_CREATED=$(endpoint '["order.created"]'); enabled "$ONLY_CREATED" false
EVERY=$(endpoint "$ALL_EVENTS"); enabled "$EVERY" false
# Three cases, in three rounds, each case's figures the median of its three.
declare -A RATES P99S CPUS RATE P99 CPU
orders() { sqlite3 "$W/data/satchel.db" "select count(*) from orders"; }
median() { python3 -c "import statistics, sys; print(statistics.median(float(x) for x in sys.argv[1:]))" "$@"; }
# Runs the load of case $1 and waits for its events; notes orders/s, p99, and Satchel's CPU time
# per order (ms) over the load and the delivery of its events.
measured() {
  local ticks orders_before r p hz
  hz=$(getconf CLK_TCK); ticks=$(cpu_ticks "$SPID"); orders_before=$(orders)
  BEFORE=$(received)
  read -r r p < <(webhooks)
  SENT_BY_END=$(( $(received) - BEFORE ))
  drained
  RATES[$1]+=" $r"; P99S[$1]+=" $p"
  CPUS[$1]+=" $(python3 -c "print(f'{($(cpu_ticks "$SPID") - $ticks) * 1000 / $hz / ($(orders) - $orders_before):.2f}')")"
}
# Each case runs once first, once second and once last: the database and the mailbox grow
# with every case, which must not fall on one case more than another.
one_case() {
  case $1 in
    none) log "round $round: signed webhooks, no endpoint"; measured none ;;
    created) log "round $round: one endpoint subscribed to order.created"
      enabled "$ONLY_CREATED" true; measured created; enabled "$ONLY_CREATED" false ;;
    every) log "round $round: one endpoint subscribed to every event"
      enabled "$EVERY" true; measured every; enabled "$EVERY" false; sent_by_end=$SENT_BY_END ;;
  esac
}
round=0
for order in "none created every" "created every none" "every none created"; do
  round=$(( round + 1 ))
  for c in $order; do one_case "$c"; done
done
for c in none created every; do
  # shellcheck disable=SC2086
  RATE[$c]=$(median ${RATES[$c]}); P99[$c]=$(median ${P99S[$c]}); CPU[$c]=$(median ${CPUS[$c]})
  log "$c: orders/s${RATES[$c]}; CPU ms per order${CPUS[$c]}"
done
made=$(sqlite3 "$W/data/satchel.db" "select count(*) from event_deliveries where event_type = 'order.created'")
PLAIN=${RATE[none]}; PLAIN_P99=${P99[none]}

log "$EVENTS events queued while stopped, then drained"
enabled "$EVERY" true
stop_satchel
ENDPOINT=$EVERY
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
echo "| signed webhooks, 32 connections, SQLite, one endpoint subscribed to order.created | ${RATE[created]} orders/s, p99 ${P99[created]} ms; ${CPU[created]} ms CPU per order | no endpoint: ${PLAIN} orders/s, p99 ${PLAIN_P99} ms; ${CPU[none]} ms CPU per order | $(ratio "${RATE[created]}" "$PLAIN") (CPU per order: $(ratio "${CPU[none]}" "${CPU[created]}")) | ≥ 0.9 |"
echo "| the same, one endpoint subscribed to every event | ${RATE[every]} orders/s, p99 ${P99[every]} ms; ${CPU[every]} ms CPU per order ($made order.created events in all, $sent_by_end of its events sent when its last load ended) | no endpoint: ${PLAIN} orders/s | $(ratio "${RATE[every]}" "$PLAIN") (CPU per order: $(ratio "${CPU[none]}" "${CPU[every]}")) | ≥ 0.9 |"
echo "| $EVENTS queued events drained to a local receiver (from process start) | $DRAIN events/s | | | ≥ 500/s |"
