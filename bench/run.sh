#!/usr/bin/env bash
# Satchel beside nginx (sendfile + secure_link) on the same files, machine and load generator.
#   bench/run.sh            full run (about 5 minutes; needs ~8 GB in $TMPDIR)
#   bench/run.sh --quick    tiny files, one second per case: checks the harness still works
#   bench/run.sh --portal   only the customer portal's purchases page (about 15 seconds)
#   bench/run.sh --webhooks signed webhooks only: SQLite, PostgreSQL, and two PostgreSQL processes
#                           behind nginx beside one (about a minute)
#   bench/run.sh --growth   only the 16 KiB case with few orders, then with 1,000,000 more
#   bench/run.sh --slow-clients  only 10,000 idle keep-alive connections + 1,000 slow downloads of
#                           a 2 GiB file, Satchel then nginx, then 64 concurrent downloads of it
#                           (about 3 minutes)
# Prints a Markdown table (and writes it to $BENCH_OUT if set). Run by hand, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

QUICK=${1:-}
PORTAL_ONLY=""; SLOW_ONLY=""; WEBHOOKS_ONLY=""; GROWTH_ONLY=""
# --portal: small files (none is served), ten seconds of load.
if [ "$QUICK" = "--portal" ]; then PORTAL_ONLY=1; QUICK="--quick"; fi
if [ "$QUICK" = "--slow-clients" ]; then SLOW_ONLY=1; QUICK=""; fi
if [ "$QUICK" = "--webhooks" ]; then WEBHOOKS_ONLY=1; QUICK=""; fi
if [ "$QUICK" = "--growth" ]; then GROWTH_ONLY=1; QUICK=""; fi
if [ "$QUICK" = "--quick" ]; then
  DUR=1; BIG_MB=8; MEM_MB=16; UP_MB=16; BULK=2000; CONC_MEM=8
  SLOW_IDLE=500; SLOW_DOWN=50; SLOW_SECS=3
else
  DUR=10; BIG_MB=1024; MEM_MB=2048; UP_MB=2048; BULK=1000000; CONC_MEM=64
  SLOW_IDLE=10000; SLOW_DOWN=1000; SLOW_SECS=30
fi
[ -n "$PORTAL_ONLY" ] && DUR=10
[ -n "$SLOW_ONLY$WEBHOOKS_ONLY$GROWTH_ONLY" ] && { BIG_MB=8; MEM_MB=8; UP_MB=8; }
# Slow downloads read at most this many bytes per second each (the goal says ≤ 1 MiB/s; slower
# readers make the server hold data longer, and keep the Python client within one core).
SLOW_RATE=${SLOW_RATE:-65536}
# The slow-clients case needs ~11,000 sockets in the client and in each server.
ulimit -n "$(ulimit -Hn)"

# shellcheck source=bench/lib.sh
. bench/lib.sh
need_packages nginx-light wrk sqlite3 curl openssl python3

# SATCHEL_BIN: measure that binary instead of building one (e.g. a copy of an earlier build).
if [ -z "${SATCHEL_BIN:-}" ]; then
  log "building Satchel (release)"
  cargo build --release --quiet --bin satchel
fi
[ -n "$PORTAL_ONLY$SLOW_ONLY" ] || cargo bench --quiet --bench webhook_load --no-run 2>/dev/null
SAT="${SATCHEL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/satchel}"

W=$(mktemp -d "${TMPDIR:-/tmp}/satchel-bench.XXXXXX")
SPID=""; NPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$NPID" ] && kill "$NPID" 2>/dev/null || true
  [ -n "${NPID2:-}" ] && kill "$NPID2" 2>/dev/null || true
  [ -n "${PG_DB:-}" ] && psql "${PG_ADMIN}" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

PORT_S=$(free_port); PORT_N=$(free_port)
DATA="$W/data"
export SATCHEL_CONFIG="$W/none.toml" SATCHEL__DATA_DIR="$DATA" SATCHEL__SERVER__PORT="$PORT_S" RUST_LOG=warn
S="http://127.0.0.1:$PORT_S"

start_satchel() {
  "$SAT" serve 2>>"$W/satchel.log" & SPID=$!
  wait_port "$PORT_S"
}
stop_satchel() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""; }
peak_rss_mib() { awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SPID/status"; }

log "making files (${BIG_MB} MiB, 16 KiB, ${MEM_MB} MiB, ${UP_MB} MiB)"
mkdir -p "$W/files"
head -c "${BIG_MB}M" /dev/urandom > "$W/files/big.bin"
head -c 16K /dev/urandom > "$W/files/small.bin"
head -c "${MEM_MB}M" /dev/urandom > "$W/files/mem.bin"
head -c "${UP_MB}M" /dev/urandom > "$W/files/upload.bin"

# One merchant, one product per file, one order each; prints the delivery URL of the order.
setup_merchant() {
  "$SAT" merchant create --name Bench --email bench@example.com --test-mode --password "bench-password-1" >/dev/null
  KEY=$("$SAT" api-key create --merchant bench 2>/dev/null)
  SECRET=$(curl -sf "$S/api/v1/settings" -H "authorization: Bearer $KEY" | json 'd["webhooks"]["standard_secret"]')
}
product_with() { # $1 file → prints "product_id delivery_url"
  local f p
  f=$(curl -sf -X POST -T "$1" "$S/api/v1/files?filename=$(basename "$1")" -H "authorization: Bearer $KEY" | json 'd["id"]')
  p=$(curl -sf "$S/api/v1/products" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d '{"name":"Bench","price_minor":100,"currency":"USD"}' | json 'd["id"]')
  curl -sf -X PUT "$S/api/v1/products/$p/delivery" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d "{\"mode\":\"files\",\"files\":[{\"file_id\":\"$f\"}]}" >/dev/null
  local url
  url=$(curl -sf "$S/api/v1/orders" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d "{\"customer\":{\"email\":\"buyer@example.com\"},\"items\":[{\"product_id\":\"$p\"}]}" | json 'd["delivery_url"]')
  echo "$p $url/files/1"
}

# Milliseconds from one of wrk's latency figures (850.00us, 1.23ms, 1.02s).
to_ms() { awk -v v="$1" 'BEGIN { n = v + 0; if (v ~ /us$/) n /= 1000; else if (v ~ /ms$/) n += 0; else if (v ~ /s$/) n *= 1000; printf "%.2f", n }'; }

# The customer portal's purchases page for a customer with 10,000 orders (SQLite), signed in
# with a session row made for the run; sets PORTAL_RPS, PORTAL_P50, PORTAL_P99 (ms).
portal_case() {
  local db="$DATA/satchel.db" cid mid tmpl secret hash now out
  curl -sf "$S/api/v1/orders" -H "authorization: Bearer $KEY" -H 'content-type: application/json' \
      -d "{\"customer\":{\"email\":\"portal@example.com\"},\"items\":[{\"product_id\":\"$P_SMALL\"}]}" >/dev/null
  cid=$(sqlite3 "$db" "select id from customers where email = 'portal@example.com'")
  mid=$(sqlite3 "$db" "select merchant_id from customers where id = '$cid'")
  tmpl=$(sqlite3 "$db" "select id from orders where customer_id = '$cid' limit 1")
  secret=$(openssl rand -hex 32); hash=$(printf '%s' "$secret" | sha256sum | cut -d' ' -f1)
  now=$(( $(date +%s) * 1000 ))
  sqlite3 "$db" >/dev/null <<SQL
PRAGMA busy_timeout = 10000;
BEGIN IMMEDIATE;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 9999)
INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, token_salt,
  token_hash, created_at)
SELECT 'portal-' || i, '$mid', '$cid', 'api', 'portal-seed-' || i, 100, 'USD', 'paid', 's', lower(hex(randomblob(32))),
  1700000000000 + i * 1000 FROM n;
INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, instructions)
SELECT o.id, t.position, t.product_id, t.product_name, 1, t.delivery_mode, t.instructions FROM orders o
JOIN order_items t ON t.order_id = '$tmpl' WHERE o.id LIKE 'portal-%';
INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, content_type, sha256, storage_key)
SELECT o.id, f.position, f.item_position, f.blob_id, f.display_name, f.size, f.content_type, f.sha256, f.storage_key
FROM orders o JOIN order_files f ON f.order_id = '$tmpl' WHERE o.id LIKE 'portal-%';
INSERT INTO sessions (id_hash, kind, merchant_id, subject_id, csrf_token, created_at, expires_at)
VALUES ('$hash', 'customer', '$mid', '$cid', 'bench', $now, $now + 2592000000);
COMMIT;
SQL
  PORTAL_ORDERS=$(sqlite3 "$db" "select count(*) from orders where customer_id = '$cid'")
  curl -sf "$S/portal/bench" -H "cookie: satchel_portal=$secret" | grep -q 'Older purchases' \
    || { echo "the portal page is not signed in or not full" >&2; exit 1; }
  out=$(wrk -t2 -c8 -d"${DUR}s" --latency -H "cookie: satchel_portal=$secret" "$S/portal/bench")
  if grep -q 'Non-2xx' <<<"$out"; then echo "portal: non-2xx answers" >&2; echo "$out" >&2; exit 1; fi
  PORTAL_RPS=$(awk '/Requests\/sec/ {printf "%.0f", $2}' <<<"$out")
  PORTAL_P50=$(to_ms "$(awk '$1 == "50%" {print $2}' <<<"$out")")
  PORTAL_P99=$(to_ms "$(awk '$1 == "99%" {print $2}' <<<"$out")")
}
portal_row() {
  echo "| portal purchases page, ${PORTAL_ORDERS} orders of one customer, 8 connections, SQLite | ${PORTAL_RPS} req/s, p50 ${PORTAL_P50} ms, p99 ${PORTAL_P99} ms | | | p99 ≤ 20 ms |"
}

# Orders made so far, and purchase emails written to the mailbox by now (SQLite run): whether
# the outbox keeps up with the orders, or leaves a backlog behind the load.
outbox_kept_up() {
  local made sent
  made=$(sqlite3 "$DATA/satchel.db" "select count(*) from orders")
  sent=$(ls "$DATA/mailbox" 2>/dev/null | wc -l)
  echo "$sent of $made emails sent when the load ended"
}
webhooks() { # $1 base URL → "per_second p99 errors"
  cargo bench --quiet --bench webhook_load -- "$1/webhooks/bench/standard" "$SECRET" "$P_SMALL" 32 "$DUR" 2>/dev/null \
    | json "d['per_second'], d['p99_ms'], d['errors']" | tr -d '(),'
}

# The 16 KiB case measured twice on a restarted server: with the orders made so far, then with
# $BULK more inserted straight into SQLite (same process state, same page cache warm-up).
growth_case() {
  stop_satchel; start_satchel
  curl -s -o /dev/null "$U_SMALL"
  GROW_FEW=$(wrk_rps 64 "$U_SMALL")
  FEW_ORDERS=$(sqlite3 "$DATA/satchel.db" "select count(*) from orders")
  stop_satchel
  local m c b p
  m=$(sqlite3 "$DATA/satchel.db" "select id from merchants limit 1")
  c=$(sqlite3 "$DATA/satchel.db" "select id from customers limit 1")
  b=$(sqlite3 "$DATA/satchel.db" "select blob_id from product_files limit 1")
  p=$(sqlite3 "$DATA/satchel.db" "select id from products limit 1")
  sqlite3 "$DATA/satchel.db" <<SQL
PRAGMA journal_mode=WAL;
BEGIN;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $BULK)
INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, token_salt,
  token_hash, created_at)
SELECT 'bulk-' || i, '$m', '$c', 'api', 'bulk-' || i, 100, 'USD', 'paid', 's', lower(hex(randomblob(32))), 1700000000000 + i FROM n;
INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, instructions)
SELECT id, 1, '$p', 'Bench', 1, 'files', '' FROM orders WHERE id LIKE 'bulk-%';
INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, content_type, sha256, storage_key)
SELECT o.id, 1, 1, b.id, 'f.bin', b.size, b.content_type, b.sha256, b.storage_key FROM orders o, blobs b
WHERE o.id LIKE 'bulk-%' AND b.id = '$b';
COMMIT;
SQL
  start_satchel
  curl -s -o /dev/null "$U_SMALL"
  GROW_S=$(wrk_rps 64 "$U_SMALL")
  ORDERS=$(sqlite3 "$DATA/satchel.db" "select count(*) from orders")
  stop_satchel
}
growth_row() {
  echo "| 16 KiB case with ${ORDERS} orders in the database | ${GROW_S} req/s | | $(ratio "$GROW_S" "$GROW_FEW") of ${GROW_FEW} req/s with ${FEW_ORDERS} orders, same restart | ≥ 0.9 |"
}


# nginx with the block of docs/deploying.md in front of the given Satchel ports (the first
# twice when only one is given); $1 listen port, then the upstream ports. Sets NPID2.
balancer() {
  local listen=$1 a=$2 b=${3:-$2} dir="$W/nginx-$1"
  mkdir -p "$dir/logs"
  { [ "$(id -u)" = 0 ] && echo 'user root;'
    printf 'worker_processes 1;\ndaemon off;\npid %s/nginx.pid;\nerror_log %s/error.log warn;\n' "$dir" "$dir"
    printf 'events { worker_connections 1024; }\nhttp {\naccess_log off;\n'
    sed -n '/^```nginx$/,/^```$/p' docs/deploying.md | sed '1d;$d' \
      | sed "s/server 10.0.0.11:8080/server 127.0.0.1:$a/; s/server 10.0.0.12:8080/server 127.0.0.1:$b/; s/listen 80;/listen 127.0.0.1:$listen;/"
    echo '}'; } > "$dir/nginx.conf"
  /usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" & NPID2=$!
  wait_port "$listen"
}

# Webhooks on PostgreSQL: one process alone; then through nginx, one process, then two processes
# of the same database on these same cores.
postgres_webhooks_case() {
  PG_ADMIN="${SATCHEL_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"
  WH_PG="n/a"; WH_PG_P99="n/a"; WH_PG_ERR=""; PAIR_ONE="n/a"; PAIR_TWO="n/a"; APP_MS="n/a"; PG_MS="n/a"
  psql "$PG_ADMIN" -Atqc 'select 1' >/dev/null 2>&1 || return 0
  PG_DB="satchel_bench_$$"
  psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
  export SATCHEL__DATABASE__URL="${PG_ADMIN%/*}/$PG_DB" SATCHEL__DATA_DIR="$W/data-pg"
  start_satchel
  setup_merchant
  read -r P_SMALL _ < <(product_with "$W/files/small.bin")
  read -r WH_PG WH_PG_P99 WH_PG_ERR < <(webhooks "$S")
  local lb1 lb2 port_b pid_b
  lb1=$(free_port); lb2=$(free_port); port_b=$(free_port)
  balancer "$lb1" "$PORT_S"
  read -r PAIR_ONE PAIR_ONE_P99 PAIR_ONE_ERR < <(webhooks "http://127.0.0.1:$lb1")
  kill "$NPID2"; wait "$NPID2" 2>/dev/null || true
  SATCHEL__SERVER__PORT="$port_b" "$SAT" serve 2>>"$W/satchel-b.log" & pid_b=$!
  wait_port "$port_b"
  balancer "$lb2" "$PORT_S" "$port_b"
  local before_app before_pg orders_before
  before_app=$(cpu_ticks "$SPID" "$pid_b"); before_pg=$(cpu_ticks $(pgrep -x postgres))
  orders_before=$(psql "$SATCHEL__DATABASE__URL" -Atqc 'select count(*) from orders')
  read -r PAIR_TWO PAIR_TWO_P99 PAIR_TWO_ERR < <(webhooks "http://127.0.0.1:$lb2")
  local made
  made=$(( $(psql "$SATCHEL__DATABASE__URL" -Atqc 'select count(*) from orders') - orders_before ))
  # CPU per order (ms): what a second machine for Satchel, or for PostgreSQL, would relieve.
  APP_MS=$(python3 -c "print(f'{($(cpu_ticks "$SPID" "$pid_b") - $before_app) * 1000 / $(getconf CLK_TCK) / $made:.2f}')")
  PG_MS=$(python3 -c "print(f'{($(cpu_ticks $(pgrep -x postgres)) - $before_pg) * 1000 / $(getconf CLK_TCK) / $made:.2f}')")
  kill "$NPID2"; wait "$NPID2" 2>/dev/null || true; NPID2=""
  kill "$pid_b"; wait "$pid_b" 2>/dev/null || true
  stop_satchel
}
postgres_rows() {
  echo "| signed webhooks, 32 connections, PostgreSQL | ${WH_PG} orders/s, p99 ${WH_PG_P99} ms (errors ${WH_PG_ERR}) | | | ≥ 1000/s; p99 ≤ 50 ms |"
  echo "| the same through nginx: two processes beside one, one database, same 2 cores | two: ${PAIR_TWO} orders/s, p99 ${PAIR_TWO_P99} ms (errors ${PAIR_TWO_ERR}) | one: ${PAIR_ONE} orders/s, p99 ${PAIR_ONE_P99} ms (errors ${PAIR_ONE_ERR}) | $(ratio "$PAIR_TWO" "$PAIR_ONE") | ≥ 0.9, no errors |"
  echo "| CPU per order in the two-process run | Satchel processes ${APP_MS} ms | PostgreSQL ${PG_MS} ms | | |"
}

if [ -n "$PORTAL_ONLY" ]; then
  log "starting Satchel (SQLite + local files)"
  start_satchel
  setup_merchant
  read -r P_SMALL U_SMALL < <(product_with "$W/files/small.bin")
  log "portal: purchases page of a customer with 10,000 orders"
  portal_case
  echo
  echo "| case | Satchel | nginx | ratio | goal |"
  echo "|---|---|---|---|---|"
  portal_row
  exit 0
fi

log "starting Satchel (SQLite + local files) and nginx"
start_satchel
setup_merchant
read -r P_BIG U_BIG < <(product_with "$W/files/big.bin")
read -r P_SMALL U_SMALL < <(product_with "$W/files/small.bin")
read -r P_MEM U_MEM < <(product_with "$W/files/mem.bin")

# nginx serves the very same blob files, behind secure_link (an expiring md5 link).
mkdir -p "$W/nginx"
cat > "$W/nginx/nginx.conf" <<NGINX
user root;
worker_processes auto;
daemon off;
pid $W/nginx/nginx.pid;
error_log $W/nginx/error.log warn;
events { worker_connections 4096; }
http {
  sendfile on; tcp_nopush on; keepalive_requests 1000000;
  access_log $W/nginx/access.log combined buffer=64k;
  types { application/octet-stream bin; }
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:$PORT_N;
    location = /healthz { return 200 "ok"; }
    location /m/ {
      secure_link \$arg_md5,\$arg_expires;
      secure_link_md5 "\$secure_link_expires\$uri bench-secret";
      if (\$secure_link = "") { return 403; }
      if (\$secure_link = "0") { return 410; }
      root $DATA/blobs;
    }
  }
}
NGINX
nginx -c "$W/nginx/nginx.conf" & NPID=$!
wait_port "$PORT_N"
EXPIRES=$(( $(date +%s) + 86400 ))
nginx_url() { # $1 file → secure link of its blob
  local sha uri md5
  sha=$(sha256sum "$1" | cut -d' ' -f1)
  uri=$(cd "$DATA/blobs" && ls -d m/*/"$sha" | head -1)
  uri="/$uri"
  md5=$(printf '%s' "${EXPIRES}${uri} bench-secret" | openssl md5 -binary | openssl base64 | tr '+/' '-_' | tr -d '=')
  echo "http://127.0.0.1:$PORT_N$uri?md5=$md5&expires=$EXPIRES"
}
N_BIG=$(nginx_url "$W/files/big.bin"); N_SMALL=$(nginx_url "$W/files/small.bin"); N_MEM=$(nginx_url "$W/files/mem.bin")
for u in "$U_BIG" "$N_BIG" "$U_SMALL" "$N_SMALL"; do
  [ "$(curl -s -o /dev/null -w '%{http_code}' "$u")" = 200 ] || { echo "not served: $u" >&2; exit 1; }
done

# 10,000 idle keep-alive connections + 1,000 slow downloads of the ${MEM_MB} MiB file, against
# a fresh Satchel (connection cap and keep-alive raised for it), then against nginx (the same
# limits, a second instance on its own port); a probe request is timed all along. Sets SLOW_S
# and SLOW_N to the client's JSON.
slow_clients_case() {
  local path_s="/${U_MEM#http://*/}" path_n="/${N_MEM#http://*/}" pids
  stop_satchel
  SATCHEL__SERVER__MAX_CONNECTIONS=$((SLOW_IDLE + SLOW_DOWN + 1000)) SATCHEL__SERVER__KEEP_ALIVE_TIMEOUT_SECONDS=600 \
    start_satchel
  SLOW_S=$(python3 bench/slow_clients.py "$PORT_S" "$SPID" "$path_s" /healthz "$SLOW_IDLE" "$SLOW_DOWN" "$SLOW_RATE" "$SLOW_SECS")
  stop_satchel; start_satchel
  PORT_N2=$(free_port)
  sed -e "s/listen 127.0.0.1:$PORT_N;/listen 127.0.0.1:$PORT_N2;/" -e "s/worker_connections 4096;/worker_connections 16384;/" \
      -e "s|^pid .*|pid $W/nginx/slow.pid;|" -e "s/^http {/worker_rlimit_nofile 40000;\nhttp {\n  keepalive_timeout 600s;/" \
      "$W/nginx/nginx.conf" > "$W/nginx/slow.conf"
  nginx -c "$W/nginx/slow.conf" & NPID2=$!
  wait_port "$PORT_N2"
  pids=$(echo "$NPID2" $(pgrep -P "$NPID2") | tr ' ' ',')
  SLOW_N=$(python3 bench/slow_clients.py "$PORT_N2" "$pids" "$path_n" /healthz "$SLOW_IDLE" "$SLOW_DOWN" "$SLOW_RATE" "$SLOW_SECS")
  kill "$NPID2"; wait "$NPID2" 2>/dev/null || true; NPID2=""
}
slow_row() { # $1 JSON → "idle a, downloading b (errors), probe p50/p99/max, peak RSS"
  json "f\"{d['idle_open']} idle open ({d['idle_closed_early']} closed early), {d['downloading']} downloading ({d['download_errors']} errors), probe p50 {d['probe_p50_ms']} ms, p99 {d['probe_p99_ms']} ms, max {d['probe_max_ms']} ms ({d['probe_errors']} failed), peak RSS {d['peak_rss_mib']} MiB\"" <<<"$1"
}
slow_table() {
  echo "| ${SLOW_IDLE} idle keep-alive + ${SLOW_DOWN} downloads of ${MEM_MB} MiB at $((SLOW_RATE / 1024)) KiB/s, ${SLOW_SECS} s | $(slow_row "$SLOW_S") | $(slow_row "$SLOW_N") | | probe < 100 ms; ≤ 192 MiB |"
}
# Concurrent downloads of the ${MEM_MB} MiB file at 40 MiB/s each for ${DUR} s, from a fresh
# Satchel; sets MEM_RSS to its peak RSS.
mem_case() {
  local pids=()
  stop_satchel; start_satchel
  for _ in $(seq 1 "$CONC_MEM"); do curl -s -o /dev/null --limit-rate 40M --max-time "$DUR" "$U_MEM" & pids+=($!); done
  wait "${pids[@]}" 2>/dev/null || true
  MEM_RSS=$(peak_rss_mib)
}
mem_row() {
  echo "| ${CONC_MEM} concurrent downloads of ${MEM_MB} MiB (${DUR} s at 40 MiB/s each) | peak RSS ${MEM_RSS} MiB | | | ≤ 64 MiB |"
}
if [ -n "$SLOW_ONLY" ]; then
  log "slow clients: $SLOW_IDLE idle keep-alive connections + $SLOW_DOWN slow downloads"
  slow_clients_case
  log "and $CONC_MEM concurrent downloads of ${MEM_MB} MiB"
  mem_case
  echo
  echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M')"
  echo
  echo "| case | Satchel | nginx | ratio | goal |"
  echo "|---|---|---|---|---|"
  slow_table
  mem_row
  exit 0
fi

# wrk's Transfer/sec and Requests/sec, as MiB/s and req/s.
wrk_mib() { wrk -t2 -c"$1" -d"${DUR}s" "$2" | awk '/Transfer\/sec/ {v=$2; u=v; sub(/[0-9.]+/,"",u); sub(/[A-Za-z]+/,"",v);
  m = (u=="GB") ? v*1024 : (u=="MB") ? v : (u=="KB") ? v/1024 : v/1048576; printf "%.0f", m}'; }
wrk_rps() { wrk -t2 -c"$1" -d"${DUR}s" "$2" | awk '/Requests\/sec/ {printf "%.0f", $2}'; }

if [ -n "$WEBHOOKS_ONLY$GROWTH_ONLY" ]; then
  DUR=10
  if [ -n "$WEBHOOKS_ONLY" ]; then
    log "signed webhooks, 32 connections, SQLite"
    read -r WH_SQ WH_SQ_P99 WH_SQ_ERR < <(webhooks "$S")
    WH_SQ_MAIL=$(outbox_kept_up)
    stop_satchel
    log "signed webhooks on PostgreSQL: one process, then two behind nginx"
    postgres_webhooks_case
  else
    log "16 KiB case with the few orders made so far, then with $BULK more"
    growth_case
  fi
  echo
  echo "$(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M')"
  echo
  echo "| case | Satchel | nginx | ratio | goal |"
  echo "|---|---|---|---|---|"
  if [ -n "$WEBHOOKS_ONLY" ]; then
    echo "| signed webhooks, 32 connections, SQLite | ${WH_SQ} orders/s, p99 ${WH_SQ_P99} ms (errors ${WH_SQ_ERR}; ${WH_SQ_MAIL}) | | | ≥ 1000/s; p99 ≤ 50 ms |"
    postgres_rows
  else
    growth_row
  fi
  exit 0
fi

log "case 1: ${BIG_MB} MiB file, 8 connections"
curl -s -o /dev/null "$U_BIG"; curl -s -o /dev/null "$N_BIG"   # page cache
BIG_N=$(wrk_mib 8 "$N_BIG"); BIG_S=$(wrk_mib 8 "$U_BIG")
log "case 2: 16 KiB file, 64 connections, every request logged"
SMALL_N=$(wrk_rps 64 "$N_SMALL"); SMALL_S=$(wrk_rps 64 "$U_SMALL")

log "case 3: $CONC_MEM concurrent downloads of ${MEM_MB} MiB"
mem_case

log "case 3b: $SLOW_IDLE idle keep-alive connections + $SLOW_DOWN slow downloads"
slow_clients_case

log "case 4: upload of ${UP_MB} MiB through the API, beside cp"
stop_satchel; start_satchel
t0=$(date +%s.%N)
curl -sf -X POST -T "$W/files/upload.bin" "$S/api/v1/files?filename=upload.bin" -H "authorization: Bearer $KEY" >/dev/null
t1=$(date +%s.%N)
UP_RSS=$(peak_rss_mib)
cat "$W/files/upload.bin" > /dev/null
t2=$(date +%s.%N); cp "$W/files/upload.bin" "$W/files/copy.bin"; sync "$W/files/copy.bin"; t3=$(date +%s.%N); rm -f "$W/files/copy.bin"
UP_S=$(python3 -c "print(f'{$UP_MB/($t1-$t0):.0f}')"); UP_CP=$(python3 -c "print(f'{$UP_MB/($t3-$t2):.0f}')")

log "case 5a: signed webhooks, 32 connections, SQLite"
read -r WH_SQ WH_SQ_P99 WH_SQ_ERR < <(webhooks "$S")
WH_SQ_MAIL=$(outbox_kept_up)

log "case 6: 16 KiB case again with $BULK more orders in the database"
growth_case
start_satchel
log "case 7: portal purchases page of a customer with 10,000 orders (beside the $BULK above)"
portal_case
stop_satchel

log "case 5b: signed webhooks, 32 connections, PostgreSQL"
postgres_webhooks_case
TABLE=$(cat <<MD
| case | Satchel | nginx | ratio | goal |
|---|---|---|---|---|
| ${BIG_MB} MiB file, 8 connections, page-cached | ${BIG_S} MiB/s | ${BIG_N} MiB/s | $(ratio "$BIG_S" "$BIG_N") | ≥ 0.9 |
| 16 KiB file, 64 connections, every request logged | ${SMALL_S} req/s | ${SMALL_N} req/s | $(ratio "$SMALL_S" "$SMALL_N") | ≥ 0.5 |
$(mem_row)
$(slow_table)
| upload of ${UP_MB} MiB through the API | ${UP_S} MiB/s, peak RSS ${UP_RSS} MiB | cp: ${UP_CP} MiB/s | $(ratio "$UP_S" "$UP_CP") | ≤ 64 MiB; ≥ 0.5 |
| signed webhooks, 32 connections, SQLite | ${WH_SQ} orders/s, p99 ${WH_SQ_P99} ms (errors ${WH_SQ_ERR}; ${WH_SQ_MAIL}) | | | ≥ 1000/s; p99 ≤ 50 ms |
$(postgres_rows)
$(growth_row)
$(portal_row)
MD
)
echo
echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M')"
echo
echo "$TABLE"
[ -n "${BENCH_OUT:-}" ] && printf '%s\n' "$TABLE" > "$BENCH_OUT"
exit 0
