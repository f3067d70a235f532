#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster on loopback, run as an unprivileged user.
#
#   tests/helpers/pg_cluster.sh start DIR   -> prints the test URL (postgresql+psycopg://...)
#   tests/helpers/pg_cluster.sh stop DIR
#
# Used by .ci/run (which exports NAVIGATOR_TEST_PG_URL from it) and by developers:
#   export NAVIGATOR_TEST_PG_URL=$(tests/helpers/pg_cluster.sh start /tmp/navpg)
# Nothing is installed: PostgreSQL 15's binaries must be on the machine (Debian: postgresql-15).
set -euo pipefail

cmd=${1:?start or stop}
dir=${2:?a folder for the cluster}
mkdir -p "$dir" && dir=$(cd "$dir" && pwd)
cd /  # the unprivileged account may not be able to read the current folder

pgbin=""
for cand in /usr/lib/postgresql/15/bin /usr/lib/postgresql/*/bin; do
    if [ -x "$cand/initdb" ] && [ -x "$cand/postgres" ]; then pgbin=$cand; break; fi
done
if [ -z "$pgbin" ] && command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
    pgbin=$(dirname "$(command -v pg_ctl)")
fi

# Root may not run postgres: use an unprivileged account (postgres if it exists, else nobody).
as_user() {
    if [ "$(id -u)" = 0 ]; then
        local who=postgres
        id -u postgres >/dev/null 2>&1 || who=nobody
        runuser -u "$who" -- "$@"
    else
        "$@"
    fi
}

case "$cmd" in
start)
    [ -n "$pgbin" ] || { echo "PostgreSQL's initdb/postgres not found (install postgresql-15)" >&2; exit 3; }
    mkdir -p "$dir"
    if [ "$(id -u)" = 0 ]; then
        who=postgres; id -u postgres >/dev/null 2>&1 || who=nobody
        chown "$who" "$dir"
    fi
    chmod 700 "$dir"
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
    as_user "$pgbin/initdb" -D "$dir/data" -U navigator -A trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; exit 1; }
    as_user "$pgbin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
        start >/dev/null || { cat "$dir/server.log" >&2; exit 1; }
    echo "$port" >"$dir/port"
    as_user "$pgbin/psql" -h 127.0.0.1 -p "$port" -U navigator -d postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE DATABASE navigator_test" >/dev/null
    echo "postgresql+psycopg://navigator@127.0.0.1:$port/navigator_test"
    ;;
stop)
    if [ -d "$dir/data" ] && [ -n "$pgbin" ]; then
        as_user "$pgbin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
