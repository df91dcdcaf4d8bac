#!/usr/bin/env bash
# Load test of mig-api with wrk (spec: issue #5 "Performance").
#
#   bench/api.sh [path/to/mig-api]     (default: target/release/mig-api, else target/debug)
#
# Creates the database `migbench_<pid>` on 127.0.0.1:5432 (user postgres), applies
# the schema with mig-dbinit, seeds 10,000 agents and 1,000 actions (plus commands)
# with SQL, starts mig-api on 127.0.0.1 with authentication off, and runs wrk for
# 10 s per route with 2 threads and 32 connections:
#   /api/v1/heartbeat                         (trivial static route: the baseline)
#   /api/v1/dashboard                         (fleet counters + last 10 actions)
#   /api/v1/search?type=agent&target=…        (agent search by target)
#   /api/v1/search?type=action&limit=10       (action list, as mig-console's `ls`)
# then starts a second mig-api on the same database with authentication on,
# 20 investigators holding API keys (the bench one has the highest id, so
# every key is tried) and the throwaway `bob` key of the shared vectors, and
# runs /dashboard and the agent search with an X-PGPAUTHORIZATION token (made
# with gpg, valid 10 minutes) and with an X-MIGAPIKEY key.
# Prints requests/s and latency percentiles side by side, with the ratios to
# the baseline, and `uptime` before and after. Drops the database and its
# roles at the end.
# Needs wrk (apt-get install wrk), gpg and python3.
set -euo pipefail
cd "$(dirname "$0")/.."

target=${CARGO_TARGET_DIR:-target}
api=${1:-}
if [ -z "$api" ]; then
  if [ -x "$target/release/mig-api" ]; then api=$target/release/mig-api; else api=$target/debug/mig-api; fi
fi
dbinit=$(dirname "$api")/mig-dbinit
duration=${BENCH_DURATION:-10s}
connections=${BENCH_CONNECTIONS:-32}
db=migbench_$$
port=$((20000 + $$ % 20000))
work=$(mktemp -d)
api_pid=
auth_pid=
auth_port=$((port + 1))

cleanup() {
  [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
  [ -n "$auth_pid" ] && kill "$auth_pid" 2>/dev/null && wait "$auth_pid" 2>/dev/null
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" postgres >/dev/null 2>&1 || true
  for role in migadmin migapi migscheduler migreadonly; do
    psql -q -h 127.0.0.1 -U postgres -c "DROP ROLE IF EXISTS ${db}_$role" postgres >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT

"$dbinit" -url "postgres://postgres@127.0.0.1:5432/$db" -create -prefix "${db}_" >/dev/null
psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$db" <<'SQL'
INSERT INTO agents (id, name, queueloc, mode, version, pid, starttime, destructiontime,
                    heartbeattime, refreshtime, status, environment, tags)
SELECT n, 'host' || n || '.example.net', 'linux.q' || n, 'daemon', '20240101-0.abc', 1000 + n,
       now() - interval '1 day', '0001-01-01T00:00:00Z', now() - (n % 60) * interval '1 second',
       now() - interval '1 hour', CASE WHEN n % 10 = 0 THEN 'idle' ELSE 'online' END,
       json_build_object('os', CASE WHEN n % 4 = 0 THEN 'darwin' ELSE 'linux' END,
                         'arch', 'amd64', 'ident', 'Debian 12'),
       json_build_object('operator', CASE WHEN n % 2 = 0 THEN 'IT' ELSE 'opsec' END)
FROM generate_series(1, 10000) AS n;
INSERT INTO actions (id, name, target, description, threat, operations, validfrom, expireafter,
                     starttime, finishtime, lastupdatetime, status, syntaxversion, pgpsignatures)
SELECT 100000 + n, 'bench action ' || n, 'status=''online''', '{"author":"bench"}', '{"family":"bench"}',
       '[{"module":"file","parameters":{}}]', now() - interval '1 hour', now() + interval '1 hour',
       now() - n * interval '1 second', now(), now(), 'completed', 2, '["sig"]'
FROM generate_series(1, 1000) AS n;
INSERT INTO commands (id, actionid, agentid, status, results, starttime, finishtime)
SELECT 1000000 + n, 100000 + (n % 1000) + 1, (n % 10000) + 1, 'success', '[]', now(), now()
FROM generate_series(1, 20000) AS n;
INSERT INTO agents_stats ("timestamp", online_agents, online_agents_by_version, online_endpoints,
       idle_agents, idle_agents_by_version, idle_endpoints, new_endpoints, multi_agents_endpoints,
       disappeared_endpoints, flapping_endpoints)
VALUES (now(), 9000, '[{"version":"20240101-0.abc","count":9000}]', 9000, 1000,
        '[{"version":"20240101-0.abc","count":1000}]', 1000, 0, 0, 0, 0);
ANALYZE;
SQL

write_cfg() { # write_cfg <file> <on|off> <port>
  local port=$3
  cat >"$1" <<CFG
[authentication]
    enabled = $2
    tokenduration = 10m
[manifest]
    requiredsignatures = 1
[server]
    ip = "127.0.0.1"
    port = $port
    host = "http://127.0.0.1:$port"
    baseroute = "/api/v1"
[postgres]
    host = "127.0.0.1"
    port = 5432
    dbname = "$db"
    user = "postgres"
    password = ""
    sslmode = "disable"
    maxconn = 16
[logging]
    mode = "stdout"
    level = "warning"
CFG
}
wait_up() { # wait_up <port>
  for _ in $(seq 50); do
    curl -sf "http://127.0.0.1:$1/api/v1/heartbeat" >/dev/null 2>&1 && return 0
    sleep 0.2
  done
  echo "mig-api on port $1 did not start" >&2
  return 1
}
write_cfg "$work/api.cfg" off "$port"
write_cfg "$work/auth.cfg" on "$auth_port"
"$api" -c "$work/api.cfg" >"$work/api.log" 2>&1 &
api_pid=$!
"$api" -c "$work/auth.cfg" >"$work/auth.log" 2>&1 &
auth_pid=$!
wait_up "$port"
wait_up "$auth_port"

# Investigators for the authenticated runs: 19 with random API keys, then `bob`.
keys=shared/vectors/reference/signing
[ -d "$keys" ] || keys=../shared/vectors/reference/signing
export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpg -q --batch --import "$keys/THROWAWAY_TEST_KEY_bob_SECRET_do_not_use.asc" 2>/dev/null
fingerprint=$(gpg --batch --with-colons --list-secret-keys | awk -F: '$1=="fpr" {print $10; exit}')
apikey=benchbenchbenchbenchbenchbench42
python3 - "$apikey" "$fingerprint" "$keys/THROWAWAY_TEST_KEY_bob_public.asc" >"$work/investigators.sql" <<'PY'
import hashlib, os, secrets, sys
key, fingerprint, public = sys.argv[1], sys.argv[2], open(sys.argv[3]).read()
def row(name, fpr, pub, k):
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", k.encode(), salt, 4096, 32)
    pub_sql = "NULL" if pub is None else "convert_to($pub$%s$pub$, 'UTF8')" % pub
    fpr_sql = "NULL" if fpr is None else "'%s'" % fpr
    print("INSERT INTO investigators (name, pgpfingerprint, publickey, status, createdat, "
          "lastmodified, permissions, apikey, apisalt) VALUES ('%s', %s, %s, 'active', now(), "
          "now(), 63, '\\x%s', '\\x%s');" % (name, fpr_sql, pub_sql, digest.hex(), salt.hex()))
for n in range(19):
    row("investigator %d" % n, None, None, secrets.token_hex(16))
row("bob", fingerprint, public, key)
PY
psql -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -U postgres "$db" -f "$work/investigators.sql"
token() {
  local ts signature
  ts=$(date -u +%Y-%m-%dT%H:%M:%SZ)
  signature=$(printf '1;%s;%s\n' "$ts" "$$" | gpg --batch -q --pinentry-mode loopback --passphrase '' -a --detach-sign |
    sed -e '/^-----/d' -e '/^$/d' -e '/^[A-Za-z]*: /d' | tr -d '\n')
  printf '1;%s;%s;%s' "$ts" "$$" "$signature"
}

run() { # run <label> <path> [port [header]]
  local out
  local args=(-t2 -c"$connections" -d"$duration" --latency)
  [ -n "${4:-}" ] && args+=(-H "$4")
  out=$(wrk "${args[@]}" "http://127.0.0.1:${3:-$port}$2")
  local rps p50 p99 non2xx
  rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
  p50=$(awk '$1=="50%" {print $2}' <<<"$out")
  p99=$(awk '$1=="99%" {print $2}' <<<"$out")
  non2xx=$(awk '/Non-2xx/ {print $NF}' <<<"$out")
  printf '%-28s %10s req/s  p50 %8s  p99 %8s  non-2xx %s\n' "$1" "$rps" "$p50" "$p99" "${non2xx:-0}"
  echo "$rps" >"$work/$1.rps"
}

search_target="/api/v1/search?type=agent&limit=100&target=environment-%3E%3E%27os%27%3D%27darwin%27%20AND%20tags-%3E%3E%27operator%27%3D%27IT%27"
echo "mig-api: $api  (wrk -t2 -c$connections -d$duration; 10,000 agents, 1,000 actions)"
echo "load before: $(uptime)"
run heartbeat "/api/v1/heartbeat"
run dashboard "/api/v1/dashboard"
run search_target "$search_target"
run action_list "/api/v1/search?type=action&limit=10"
run dashboard_token "/api/v1/dashboard" "$auth_port" "X-PGPAUTHORIZATION: $(token)"
run search_target_token "$search_target" "$auth_port" "X-PGPAUTHORIZATION: $(token)"
run dashboard_apikey "/api/v1/dashboard" "$auth_port" "X-MIGAPIKEY: $apikey"
run search_target_apikey "$search_target" "$auth_port" "X-MIGAPIKEY: $apikey"
echo "load after: $(uptime)"
base=$(cat "$work/heartbeat.rps")
for route in dashboard search_target action_list dashboard_token search_target_token \
  dashboard_apikey search_target_apikey; do
  awk -v r="$(cat "$work/$route.rps")" -v b="$base" -v n="$route" \
    'BEGIN { printf "%-28s %.3f of the static route throughput\n", n, r / b }'
done
