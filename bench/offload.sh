#!/usr/bin/env bash
# One file downloaded from an S3 store (s3s-fs on this machine), streamed through Satchel and
# then offloaded (`[storage.s3] offload = true`: a 302 to a presigned URL, the store sends the
# bytes): wall time, time to first byte, and the CPU time and peak memory Satchel spent on it.
#   bench/offload.sh          1 GiB, 3 downloads per mode (about 2 minutes)
#   bench/offload.sh --quick  16 MiB, 1 download per mode: checks the script still works
# SATCHEL_BIN: measure that binary instead of building one. Run by hand, not in CI.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

SIZE_MB=1024; RUNS=3
if [ "${1:-}" = "--quick" ]; then SIZE_MB=16; RUNS=1; fi
export PATH="$HOME/.cargo/bin:$PATH"
command -v s3s-fs >/dev/null || { echo "s3s-fs is missing: ./scripts/test installs it" >&2; exit 1; }
if [ -z "${SATCHEL_BIN:-}" ]; then cargo build --release --quiet --bin satchel; fi
SAT="${SATCHEL_BIN:-${CARGO_TARGET_DIR:-$ROOT/target}/release/satchel}"

W=$(mktemp -d "${TMPDIR:-/tmp}/satchel-offload.XXXXXX")
S3PID=""; SPID=""
cleanup() {
  [ -n "$SPID" ] && kill "$SPID" 2>/dev/null || true
  [ -n "$S3PID" ] && kill "$S3PID" 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 1 200); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done; echo "port $1 never opened" >&2; exit 1; }
json() { python3 -c "import sys,json; d=json.load(sys.stdin); print($1)"; }
# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

S3_PORT=$(free_port); PORT=$(free_port)
mkdir -p "$W/s3/bench"
s3s-fs --host 127.0.0.1 --port "$S3_PORT" --access-key bench --secret-key bench-secret "$W/s3" >"$W/s3s.log" 2>&1 &
S3PID=$!
wait_port "$S3_PORT"
export SATCHEL_CONFIG="$W/none.toml" SATCHEL__DATA_DIR="$W/data" SATCHEL__SERVER__PORT="$PORT" RUST_LOG=warn
export SATCHEL__STORAGE__BACKEND=s3 SATCHEL__STORAGE__S3__ENDPOINT="http://127.0.0.1:$S3_PORT"
export SATCHEL__STORAGE__S3__BUCKET=bench SATCHEL__STORAGE__S3__REGION=us-east-1
export SATCHEL__STORAGE__S3__ACCESS_KEY_ID=bench SATCHEL__STORAGE__S3__SECRET_ACCESS_KEY=bench-secret
export SATCHEL__STORAGE__S3__ALLOW_HTTP=true
S="http://127.0.0.1:$PORT"

start_satchel() { # $1: offload true|false
  SATCHEL__STORAGE__S3__OFFLOAD="$1" "$SAT" serve 2>>"$W/satchel.log" & SPID=$!
  wait_port "$PORT"
}
stop_satchel() { kill "$SPID"; wait "$SPID" 2>/dev/null || true; SPID=""; }

log "making a ${SIZE_MB} MiB file and an order for it"
head -c "${SIZE_MB}M" /dev/urandom >"$W/big.bin"
start_satchel false
"$SAT" merchant create --name Bench --email bench@example.com --test-mode --password "bench-password-1" >/dev/null
KEY=$("$SAT" api-key create --merchant bench 2>/dev/null)
auth=(-H "authorization: Bearer $KEY")
f=$(curl -sf -X POST -T "$W/big.bin" "$S/api/v1/files?filename=big.bin" "${auth[@]}" | json 'd["id"]')
p=$(curl -sf "$S/api/v1/products" "${auth[@]}" -H 'content-type: application/json' \
    -d '{"name":"Bench","price_minor":100,"currency":"USD"}' | json 'd["id"]')
curl -sf -X PUT "$S/api/v1/products/$p/delivery" "${auth[@]}" -H 'content-type: application/json' \
    -d "{\"mode\":\"files\",\"files\":[{\"file_id\":\"$f\"}]}" >/dev/null
URL=$(curl -sf "$S/api/v1/orders" "${auth[@]}" -H 'content-type: application/json' \
    -d "{\"customer\":{\"email\":\"buyer@example.com\"},\"items\":[{\"product_id\":\"$p\"}]}" | json 'd["delivery_url"]')/files/1
WANT=$(sha256sum "$W/big.bin" | cut -d' ' -f1)
stop_satchel

printf '| Mode | Download (s, best of %s) | MiB/s | First byte (ms) | Satchel CPU (s) | Satchel peak RSS (MiB) |\n' "$RUNS"
printf '|---|---|---|---|---|---|\n'
for offload in false true; do
  start_satchel "$offload"
  status=$(curl -s -o /dev/null -w '%{http_code}' -r 0-0 "$URL")
  [ "$offload" = true ] && [ "$status" != 302 ] && { echo "offload on, but $status" >&2; exit 1; }
  [ "$offload" = false ] && [ "$status" != 206 ] && { echo "offload off, but $status" >&2; exit 1; }
  before=$(cpu_s "$SPID"); best=""; first=""
  for _ in $(seq 1 "$RUNS"); do
    read -r total ttfb < <(curl -sf -L -o "$W/got.bin" -w '%{time_total} %{time_starttransfer}\n' "$URL")
    [ "$(sha256sum "$W/got.bin" | cut -d' ' -f1)" = "$WANT" ] || { echo "wrong bytes" >&2; exit 1; }
    if [ -z "$best" ] || awk -v a="$total" -v b="$best" 'BEGIN { exit !(a < b) }'; then best=$total; first=$ttfb; fi
    rm -f "$W/got.bin"
  done
  cpu=$(awk -v a="$(cpu_s "$SPID")" -v b="$before" 'BEGIN { printf "%.2f", (a - b) / '"$RUNS"' }')
  rss=$(awk '/VmHWM/ {printf "%.1f", $2/1024}' "/proc/$SPID/status")
  mode=$([ "$offload" = true ] && echo "offloaded (302 → s3s-fs)" || echo "streamed through Satchel")
  awk -v m="$mode" -v t="$best" -v f="$first" -v c="$cpu" -v r="$rss" -v mb="$SIZE_MB" \
    'BEGIN { printf "| %s | %.2f | %.0f | %.1f | %s per download | %s |\n", m, t, mb / t, f * 1000, c, r }'
  stop_satchel
done
printf '\n%s, load average %s\n' "$(date -u '+%Y-%m-%d %H:%M UTC')" "$(cut -d' ' -f1-3 /proc/loadavg)"
