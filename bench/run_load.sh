#!/usr/bin/env bash
# HTTP load test of Scytale with bench/loadgen.cc (scytale-loadgen), against a baseline measured
# in the same run: Debian's nginx answering `return 200` with an Encrypt-shaped JSON body, hit
# by the same load generator with the same signed requests. The ratio to that baseline says how
# much of what this machine and client can push through HTTP the service keeps.
#
# Default mode (issue 11): one node, SQLite, auditing on (always on in `scytale serve`), in a
# temporary data directory; for each repetition the baseline, then each operation. Writes the
# medians to bench/results/load-<date>.md.
#
# --cluster (issue 9): Encrypt on one node on SQLite, one node on PostgreSQL, and two nodes on
# one PostgreSQL (the load generator's connections round-robin over both), each repetition
# beside the baseline. PostgreSQL is a private cluster in a temporary directory (initdb, as the
# `postgres` user when run as root), stopped at the end. Writes bench/results/load-cluster-<date>.md.
#
# --scale (issue 11 item 4): scytale-preload (bench/preload_keys.cc) writes --scale-keys keys
# (default 1,000,000) into a fresh SQLite data directory in one ImportAll transaction; the server
# is started on it once (the first start bootstraps the admin credentials) and then restarted
# R times, each start timed from launch until /healthz answers 200 (polled every 20 ms); VmRSS
# and VmHWM are read from /proc after the last start and after the load. Each repetition runs
# the baseline, Encrypt over 10 of the preloaded keys and Encrypt over a random hot set of
# --hot-keys of them (default 10,000; the 10 are the first of the hot set, so the server's
# bounded caches see one set of keys), each with a signed-request pool of --hot-keys requests
# (the same client cost in every row). Writes bench/results/load-scale-<date>.md with the targets
# of the issue (hot set within 10 % of 10 keys, RSS <= 256 MiB, start <= 2 s). Needs ~1 GB of
# disk under /tmp for 1M keys; the preload takes about a minute.
#
# Usage: bench/run_load.sh [--cluster | --scale] [--duration S] [--warmup S] [--connections N]
#                          [--repetitions R] [--ops "Encrypt Decrypt ..."] [--payload-bytes N]
#                          [--keys N] [--threads N] [--scale-keys N] [--hot-keys N]
# Defaults: 15 s measured after 3 s of warm-up, 64 connections, 3 repetitions, 32-byte payloads,
# one key, one client thread; all nine operations. The default mode takes about
# (1 + operations) x repetitions x (duration + warm-up + ~1 s): some 10 minutes.
# SCY_LOAD_SERVER_ARGS adds flags to every `scytale serve`. nginx is installed with apt-get when
# missing (this script only; CI does not need it).
#
# Everything runs on this machine: client, servers and baseline share its cores, so compare the
# rows of one run (and their ratios to its baseline) rather than runs with each other.
set -euo pipefail

repo="$(cd "$(dirname "$0")/.." && pwd)"
build="${repo}/build-release"
stamp="$(date +%Y-%m-%d)"

duration=15
warmup=3
connections=64
repetitions=3
payload=32
keys=1
threads=1
cluster=0
scale=0
scale_keys=1000000
hot_keys=10000
ops="Encrypt Decrypt GenerateDataKey GenerateDataKeyWithoutPlaintext ReEncrypt Sign GenerateMac DescribeKey CreateKey"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --cluster) cluster=1 ;;
    --scale) scale=1 ;;
    --scale-keys) scale_keys="$2"; shift ;;
    --hot-keys) hot_keys="$2"; shift ;;
    --duration) duration="$2"; shift ;;
    --warmup) warmup="$2"; shift ;;
    --connections) connections="$2"; shift ;;
    --repetitions) repetitions="$2"; shift ;;
    --ops) ops="$2"; shift ;;
    --payload-bytes) payload="$2"; shift ;;
    --keys) keys="$2"; shift ;;
    --threads) threads="$2"; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "run_load.sh: unknown argument $1" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
if [[ "${cluster}" -eq 1 && "${scale}" -eq 1 ]]; then
  echo "run_load.sh: --cluster and --scale are separate runs" >&2
  exit 2
fi

# --- build (Release at -O2, as run_micro.sh explains) -----------------------------------------
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache)
fi
cmake -S "${repo}" -B "${build}" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_CXX_FLAGS_RELEASE="${SCY_BENCH_OPT:--O2 -DNDEBUG}" "${launcher[@]}" >/dev/null
targets=(scytale scytale-loadgen)
[[ "${scale}" -eq 1 ]] && targets+=(scytale-preload)
cmake --build "${build}" --target "${targets[@]}"
scytale="${build}/bin/scytale"
loadgen="${build}/bin/scytale-loadgen"
preload="${build}/bin/scytale-preload"

# --- nginx for the baseline --------------------------------------------------------------------
nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
if [[ ! -x "${nginx_bin}" ]]; then
  echo "run_load.sh: installing nginx for the baseline (apt-get)" >&2
  if [[ "$(id -u)" -eq 0 ]]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null
  else
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y nginx >/dev/null
  fi
  nginx_bin="$(command -v nginx || echo /usr/sbin/nginx)"
fi

# --- clean-up: only what this script started, by PID -------------------------------------------
tmp="$(mktemp -d /tmp/scytale-load.XXXXXX)"
server_pids=()
nginx_pid=""
pg_dir=""
pg_bin=""
as_pg=()
cleanup() {
  set +e
  for pid in "${server_pids[@]}"; do
    kill -TERM "${pid}" 2>/dev/null
  done
  for pid in "${server_pids[@]}"; do
    for _ in $(seq 200); do
      kill -0 "${pid}" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL "${pid}" 2>/dev/null
  done
  if [[ -n "${nginx_pid}" ]]; then
    kill -QUIT "${nginx_pid}" 2>/dev/null
    for _ in $(seq 100); do
      kill -0 "${nginx_pid}" 2>/dev/null || break
      sleep 0.1
    done
  fi
  if [[ -n "${pg_dir}" && -f "${pg_dir}/data/postmaster.pid" ]]; then
    "${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${pg_dir}/data" -m fast -w stop >/dev/null 2>&1
  fi
  [[ -n "${pg_dir}" ]] && rm -rf "${pg_dir}"
  rm -rf "${tmp}"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# The body a real Encrypt of a ${payload}-byte plaintext answers (kms/internal/ciphertext.h: the
# blob is the plaintext plus 153 bytes with a key ARN of this length).
encrypt_body="$(python3 - "${payload}" <<'EOF'
import base64, json, os, sys
n = int(sys.argv[1])
arn = "arn:aws:kms:us-east-1:111122223333:key/" + "0" * 8 + "-0000-4000-8000-" + "0" * 12
print(json.dumps({"CiphertextBlob": base64.b64encode(os.urandom(n + 153)).decode(),
                  "KeyId": arn, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                 separators=(",", ":")))
EOF
)"

start_nginx() {
  local dir="${tmp}/nginx" port
  port="$(free_port)"
  mkdir -p "${dir}"
  local user_line=""
  # As root the workers would drop to `nobody`; run them as the current user instead.
  [[ "$(id -u)" -eq 0 ]] && user_line="user root;"
  cat >"${dir}/nginx.conf" <<EOF
${user_line}
daemon off;
worker_processes auto;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 100000000;
  keepalive_timeout 300s;
  client_body_temp_path ${dir}/body;
  proxy_temp_path ${dir}/proxy;
  fastcgi_temp_path ${dir}/fastcgi;
  uwsgi_temp_path ${dir}/uwsgi;
  scgi_temp_path ${dir}/scgi;
  server {
    listen 127.0.0.1:${port};
    location / {
      default_type application/x-amz-json-1.1;
      return 200 '${encrypt_body}';
    }
  }
}
EOF
  (cd "${dir}" && exec "${nginx_bin}" -p "${dir}" -c "${dir}/nginx.conf" -e "${dir}/error.log") &
  nginx_pid=$!
  for _ in $(seq 100); do
    if python3 -c "import socket; socket.create_connection(('127.0.0.1', ${port}), 1)" 2>/dev/null; then
      nginx_url="http://127.0.0.1:${port}"
      return
    fi
    sleep 0.1
  done
  echo "run_load.sh: nginx did not start:" >&2
  cat "${dir}/error.log" >&2
  exit 1
}

# Whether URL answers 200 now (curl when present: a Python start per poll would blur start-up
# times by tens of milliseconds).
healthy() {
  if command -v curl >/dev/null; then
    curl -sf -o /dev/null --max-time 2 "$1"
  else
    python3 -c "import urllib.request; urllib.request.urlopen('$1', timeout=2)" 2>/dev/null
  fi
}

# start_scytale NAME DATA_DIR [STORE_URL]: sets scytale_url to the node's endpoint, scytale_pid
# to its process and scytale_start_s to the seconds from launch until /healthz answered 200.
start_scytale() {
  local name="$1" data="$2" store="${3:-}" out="${tmp}/$1.out"
  mkdir -p "${data}"
  local t0
  t0="$(date +%s.%N)"
  # shellcheck disable=SC2086 # SCY_LOAD_SERVER_ARGS is a list of flags
  SCYTALE_STORE_URL="${store}" "${scytale}" serve --listen 127.0.0.1:0 --data-dir "${data}" \
    ${SCY_LOAD_SERVER_ARGS:-} >"${out}" 2>"${tmp}/$1.log" &
  server_pids+=($!)
  local pid=$!
  scytale_pid="${pid}"
  for _ in $(seq 3000); do
    if ! kill -0 "${pid}" 2>/dev/null; then
      echo "run_load.sh: ${name} exited at start:" >&2
      tail -20 "${tmp}/$1.log" "${out}" >&2
      exit 1
    fi
    local line
    line="$(grep -m1 -o 'listening on [^ ]*' "${out}" || true)"
    if [[ -n "${line}" ]]; then
      scytale_url="http://${line#listening on }"
      if healthy "${scytale_url}/healthz"; then
        scytale_start_s="$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" \
          "${t0}" "$(date +%s.%N)")"
        return
      fi
    fi
    sleep 0.02
  done
  echo "run_load.sh: ${name} did not become healthy" >&2
  exit 1
}

# stop_scytale PID: SIGTERM, then waits (up to 20 s) for the drain to end.
stop_scytale() {
  local pid="$1" kept=()
  kill -TERM "${pid}" 2>/dev/null || true
  for _ in $(seq 200); do
    kill -0 "${pid}" 2>/dev/null || break
    sleep 0.1
  done
  for p in "${server_pids[@]}"; do
    [[ "${p}" != "${pid}" ]] && kept+=("${p}")
  done
  server_pids=("${kept[@]}")
}

# "VmRSS VmHWM" of PID, in KiB.
rss_of() {
  awk '/^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} END {print rss, hwm}' "/proc/$1/status"
}

start_postgres() {
  pg_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
  if [[ ! -x "${pg_bin}/initdb" ]]; then
    echo "run_load.sh: PostgreSQL server binaries missing under /usr/lib/postgresql" >&2
    exit 1
  fi
  pg_dir="$(mktemp -d /tmp/scytale-load-pg.XXXXXX)"
  as_pg=()
  if [[ "$(id -u)" -eq 0 ]]; then
    # initdb refuses root: the cluster belongs to the unprivileged postgres user.
    chown postgres: "${pg_dir}"
    as_pg=(runuser -u postgres --)
  fi
  pg_port="$(free_port)"
  "${as_pg[@]}" "${pg_bin}/initdb" -D "${pg_dir}/data" -U scytale --auth=trust --encoding=UTF8 \
    --locale=C.UTF-8 >"${tmp}/initdb.log" 2>&1
  # Durable commits (fsync, synchronous_commit on: PostgreSQL's defaults), as SQLite's are.
  "${as_pg[@]}" "${pg_bin}/pg_ctl" -D "${pg_dir}/data" -l "${pg_dir}/server.log" -w -t 60 \
    -o "-k ${pg_dir} -p ${pg_port} -c listen_addresses=127.0.0.1 -c max_connections=300" \
    start >/dev/null
  "${pg_bin}/createdb" -h 127.0.0.1 -p "${pg_port}" -U scytale scytale_load
  pg_url="postgresql://scytale@127.0.0.1:${pg_port}/scytale_load"
}

# run_load FILE LABEL ENDPOINT... -- LOADGEN_FLAGS...: one measurement, its JSON in FILE.
run_load() {
  local file="$1" label="$2"
  shift 2
  local endpoints=()
  while [[ "$1" != "--" ]]; do
    endpoints+=(--endpoint "$1")
    shift
  done
  shift
  echo "== ${label} ($(basename "${file}" .json))"
  "${loadgen}" "${endpoints[@]}" --connections "${connections}" --threads "${threads}" \
    --duration "${duration}" --warmup "${warmup}" --payload-bytes "${payload}" --keys "${keys}" \
    --label "${label}" --json "${file}" "$@"
}

results="${tmp}/results"
mkdir -p "${results}" "${repo}/bench/results"
load_before="$(cut -d' ' -f1-3 /proc/loadavg)"
start_nginx

scale_args=()
if [[ "${scale}" -eq 1 ]]; then
  data="${tmp}/scale"
  echo "== preloading ${scale_keys} keys"
  "${preload}" --data-dir "${data}" --keys "${scale_keys}" --key-ids-file "${tmp}/key-ids" \
    --json "${tmp}/preload.json"
  start_scytale first "${data}"
  first_start="${scytale_start_s}"
  stop_scytale "${scytale_pid}"
  starts=()
  for rep in $(seq "${repetitions}"); do
    start_scytale "start${rep}" "${data}"
    starts+=("${scytale_start_s}")
    echo "== start ${rep}: ${scytale_start_s} s to /healthz 200"
    [[ "${rep}" -lt "${repetitions}" ]] && stop_scytale "${scytale_pid}"
  done
  node_url="${scytale_url}"
  rss_start="$(rss_of "${scytale_pid}")"
  creds="${data}/admin-credentials"
  shuf -n "${hot_keys}" "${tmp}/key-ids" >"${tmp}/hot-keys"
  head -10 "${tmp}/hot-keys" >"${tmp}/ten-keys"
  for rep in $(seq "${repetitions}"); do
    run_load "${results}/00_baseline_r${rep}.json" "nginx baseline (Encrypt-shaped)" \
      "${nginx_url}" -- --skip-setup --mix Encrypt --pool "${hot_keys}"
    run_load "${results}/01_ten_r${rep}.json" "Encrypt, 10 keys of ${scale_keys}" "${node_url}" -- \
      --credentials-file "${creds}" --mix Encrypt --key-ids-file "${tmp}/ten-keys" \
      --pool "${hot_keys}"
    run_load "${results}/02_hot_r${rep}.json" "Encrypt, hot set of ${hot_keys} keys of ${scale_keys}" \
      "${node_url}" -- --credentials-file "${creds}" --mix Encrypt \
      --key-ids-file "${tmp}/hot-keys" --pool "${hot_keys}"
  done
  rss_load="$(rss_of "${scytale_pid}")"
  python3 - "${tmp}/preload.json" "${tmp}/scale.json" "${first_start}" "${rss_start}" \
    "${rss_load}" "${hot_keys}" "$(stat -c %s "${data}/scytale.db")" "${starts[@]}" <<'EOF'
import json, sys
preload, out, first, rss_start, rss_load, hot, db_bytes = sys.argv[1:8]
with open(preload) as f:
    summary = {"preload": json.load(f)}
summary.update({
    "db_bytes": int(db_bytes),
    "first_start_s": float(first),
    "restarts_s": [float(s) for s in sys.argv[8:]],
    "rss_after_start_kib": [int(v) for v in rss_start.split()],  # VmRSS, VmHWM
    "rss_after_load_kib": [int(v) for v in rss_load.split()],
    "hot_keys": int(hot),
})
with open(out, "w") as f:
    json.dump(summary, f, indent=2)
EOF
  scale_args=(--scale "${tmp}/scale.json")
  out="${repo}/bench/results/load-scale-${stamp}.md"
  title="Scytale HTTP load at scale: Encrypt over a hot set of a ${scale_keys}-key store (SQLite)"
elif [[ "${cluster}" -eq 0 ]]; then
  start_scytale node "${tmp}/data"
  node_url="${scytale_url}"
  creds="${tmp}/data/admin-credentials"
  for rep in $(seq "${repetitions}"); do
    run_load "${results}/00_baseline_r${rep}.json" "nginx baseline (Encrypt-shaped)" \
      "${nginx_url}" -- --skip-setup --mix Encrypt
    i=1
    for op in ${ops}; do
      run_load "$(printf '%s/%02d_%s_r%s.json' "${results}" "${i}" "${op}" "${rep}")" "${op}" \
        "${node_url}" -- --credentials-file "${creds}" --mix "${op}"
      i=$((i + 1))
    done
  done
  out="${repo}/bench/results/load-${stamp}.md"
  title="Scytale HTTP load: each operation on one node (SQLite, audit on)"
else
  start_postgres
  start_scytale sqlite "${tmp}/sqlite"
  sqlite_url="${scytale_url}"
  start_scytale pg1 "${tmp}/pg1" "${pg_url}"
  pg1_url="${scytale_url}"
  # Nodes of one database share the root key: the second starts with a copy of the first's.
  mkdir -p "${tmp}/pg2"
  cp "${tmp}/pg1/root.key" "${tmp}/pg2/root.key"
  start_scytale pg2 "${tmp}/pg2" "${pg_url}"
  pg2_url="${scytale_url}"
  for rep in $(seq "${repetitions}"); do
    run_load "${results}/00_baseline_r${rep}.json" "nginx baseline (Encrypt-shaped)" \
      "${nginx_url}" -- --skip-setup --mix Encrypt
    run_load "${results}/01_sqlite_r${rep}.json" "Encrypt, 1 node, SQLite" "${sqlite_url}" -- \
      --credentials-file "${tmp}/sqlite/admin-credentials" --mix Encrypt
    run_load "${results}/02_pg1_r${rep}.json" "Encrypt, 1 node, PostgreSQL" "${pg1_url}" -- \
      --credentials-file "${tmp}/pg1/admin-credentials" --mix Encrypt
    run_load "${results}/03_pg2_r${rep}.json" "Encrypt, 2 nodes, one PostgreSQL" "${pg1_url}" \
      "${pg2_url}" -- --credentials-file "${tmp}/pg1/admin-credentials" --mix Encrypt
  done
  out="${repo}/bench/results/load-cluster-${stamp}.md"
  title="Scytale HTTP load: Encrypt on one node (SQLite, PostgreSQL) and two nodes on one PostgreSQL"
fi

load_after="$(cut -d' ' -f1-3 /proc/loadavg)"
commit="$(git -C "${repo}" rev-parse --short HEAD 2>/dev/null || echo unknown)"
# Results written earlier today do not make the code dirty.
if [[ -n "$(git -C "${repo}" status --porcelain -- . ':!bench/results' 2>/dev/null)" ]]; then
  commit="${commit}+dirty"
fi
pg_version=""
[[ -n "${pg_bin}" ]] && pg_version="$("${pg_bin}/postgres" --version)"
python3 "${repo}/bench/load_to_md.py" --title "${title}" --commit "${commit}" \
  --load-before "${load_before}" --load-after "${load_after}" --nginx "$("${nginx_bin}" -v 2>&1)" --postgres "${pg_version}" \
  --server-args "${SCY_LOAD_SERVER_ARGS:-}" "${scale_args[@]}" "${results}" >"${out}"
cat "${out}"
echo "wrote ${out}"
