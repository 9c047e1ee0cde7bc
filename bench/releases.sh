#!/usr/bin/env bash
# Publishing an update to 100,000 past buyers (issue 16): how long the publish request takes and
# how much memory the server peaks at, on SQLite and on PostgreSQL.
#   bench/releases.sh            100,000 past orders per engine (about two minutes)
#   bench/releases.sh --quick    2,000 past orders: checks the harness still works
# Each run: one product with 3 files (release 1), N orders of N customers made by copying one
# real order in SQL (as bench/run.sh --growth does), a new delivery saved (release 2), then
# `POST /api/v1/products/{id}/releases` to all past buyers with an update email, timed. The
# grant and the email queue are checked by counting rows. Prints a Markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
N=100000
[ "${1:-}" = "--quick" ] && N=2000

# shellcheck source=bench/lib.sh
. bench/lib.sh
SAT=$(satchel_bin)
PG_ADMIN="${SATCHEL_BENCH_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/postgres}"

W=$(mktemp -d "${TMPDIR:-/tmp}/satchel-releases.XXXXXX")
SPID=""; PG_DB=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$PG_DB" ] && psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT
for i in 1 2 3 4 5 6; do head -c 16K /dev/urandom > "$W/f$i.bin"; done

# The SQL both engines run: N customers and N orders copied from the one real order.
copy_orders_sql() { # $1 template order id
  cat <<SQL
BEGIN;
CREATE TEMPORARY TABLE n AS WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $N) SELECT i FROM s;
INSERT INTO customers (id, merchant_id, email, name, created_at)
SELECT 'bc-' || i, o.merchant_id, 'buyer' || i || '@example.net', '', o.created_at FROM n, orders o WHERE o.id = '$1';
INSERT INTO orders (id, merchant_id, customer_id, provider, payment_id, amount_minor, currency, status, token_salt,
  token_hash, created_at)
SELECT 'bo-' || i, o.merchant_id, 'bc-' || i, 'api', 'bench-' || i, o.amount_minor, o.currency, o.status, o.token_salt,
  'bench-hash-' || i, o.created_at - i FROM n, orders o WHERE o.id = '$1';
INSERT INTO order_items (order_id, position, product_id, product_name, quantity, delivery_mode, instructions, release_number)
SELECT 'bo-' || i, t.position, t.product_id, t.product_name, 1, t.delivery_mode, t.instructions, t.release_number
FROM n, order_items t WHERE t.order_id = '$1';
INSERT INTO order_files (order_id, position, item_position, blob_id, display_name, size, content_type, sha256, storage_key,
  release_number)
SELECT 'bo-' || i, f.position, f.item_position, f.blob_id, f.display_name, f.size, f.content_type, f.sha256, f.storage_key,
  f.release_number FROM n, order_files f WHERE f.order_id = '$1';
INSERT INTO order_releases (order_id, item_position, product_id, release_number, granted_at, granted)
SELECT 'bo-' || i, r.item_position, r.product_id, r.release_number, r.granted_at, r.granted
FROM n, order_releases r WHERE r.order_id = '$1';
COMMIT;
SQL
}

one_engine() { # $1 sqlite|postgres → prints a table row
  local engine=$1 port sql key files p order t0 t1 before after granted queued
  port=$(free_port)
  export SATCHEL_CONFIG="$W/none.toml" SATCHEL__DATA_DIR="$W/data-$engine" SATCHEL__SERVER__PORT="$port" RUST_LOG=warn
  if [ "$engine" = postgres ]; then
    PG_DB="satchel_releases_$$"
    psql "$PG_ADMIN" -qc "CREATE DATABASE $PG_DB" >/dev/null
    export SATCHEL__DATABASE__URL="${PG_ADMIN%/*}/$PG_DB"
    sql() { psql "$SATCHEL__DATABASE__URL" -v ON_ERROR_STOP=1 -Atq "$@"; }
  else
    unset SATCHEL__DATABASE__URL
    sql() { sqlite3 -bail "$SATCHEL__DATA_DIR/satchel.db" "$@"; }
  fi
  local S="http://127.0.0.1:$port"
  "$SAT" serve 2>>"$W/satchel-$engine.log" & SPID=$!
  wait_port "$port"
  "$SAT" merchant create --name Bench --email "bench-$engine@example.com" --test-mode --password "bench-password-1" >/dev/null
  key=$("$SAT" api-key create --merchant "bench-$engine@example.com" 2>/dev/null)
  upload() { curl -sf -X POST -T "$W/$1" "$S/api/v1/files?filename=$1" -H "authorization: Bearer $key" | json 'd["id"]'; }
  files=(); for i in 1 2 3 4 5 6; do files+=("$(upload "f$i.bin")"); done
  delivery() { printf '{"mode":"files","files":[{"file_id":"%s"},{"file_id":"%s"},{"file_id":"%s"}]}' "$@"; }
  p=$(curl -sf "$S/api/v1/products" -H "authorization: Bearer $key" -H 'content-type: application/json' \
      -d '{"name":"Bench","price_minor":100,"currency":"USD"}' | json 'd["id"]')
  curl -sf -X PUT "$S/api/v1/products/$p/delivery" -H "authorization: Bearer $key" -H 'content-type: application/json' \
      -d "$(delivery "${files[@]:0:3}")" >/dev/null
  order=$(curl -sf "$S/api/v1/orders" -H "authorization: Bearer $key" -H 'content-type: application/json' \
      -d "{\"customer\":{\"email\":\"first@example.net\"},\"items\":[{\"product_id\":\"$p\"}]}" | json 'd["id"]')
  log "$engine: copying $N past orders"
  copy_orders_sql "$order" | sql >/dev/null
  curl -sf -X PUT "$S/api/v1/products/$p/delivery" -H "authorization: Bearer $key" -H 'content-type: application/json' \
      -d "$(delivery "${files[@]:3:3}")" >/dev/null
  before=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SPID/status")
  log "$engine: publishing release 2 to every past buyer, with an update email"
  t0=$(date +%s.%N)
  curl -sf -o "$W/published.json" "$S/api/v1/products/$p/releases" -H "authorization: Bearer $key" \
      -H 'content-type: application/json' \
      -d '{"label":"2.0","changelog":"- Three new chapters","audience":"all","email":{"subject":"Version 2.0 is out","message":"Your download now has three new chapters."}}'
  t1=$(date +%s.%N)
  after=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SPID/status")
  kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""
  granted=$(json 'd["granted_orders"]' < "$W/published.json")
  queued=$(echo "SELECT COUNT(*) FROM emails WHERE kind = 'release_update';" | sql)
  local files_added
  files_added=$(echo "SELECT COUNT(*) FROM order_files WHERE release_number = 2;" | sql)
  [ "$granted" = "$((N + 1))" ] || { echo "$engine: granted $granted orders, expected $((N + 1))" >&2; exit 1; }
  [ "$files_added" = "$((3 * (N + 1)))" ] || { echo "$engine: $files_added files granted, expected $((3 * (N + 1)))" >&2; exit 1; }
  echo "| publish to $((N + 1)) past orders (3 files each) with an update email, $engine | $(python3 -c "print(f'{$t1 - $t0:.2f}')") s | peak RSS $after MiB ($before MiB before) | $granted orders granted, $files_added files, $queued emails queued | ≤ 10 s |"
  if [ "$engine" = postgres ]; then psql "$PG_ADMIN" -qc "DROP DATABASE IF EXISTS $PG_DB WITH (FORCE)" >/dev/null; PG_DB=""; fi
}

echo "| case | time | memory | result | goal |"
echo "|---|---|---|---|---|"
one_engine sqlite
one_engine postgres
