# pg.sh - a throwaway PostgreSQL server for certdesk's integration tests.
# Source it after tap.sh.
#
#   pg_start        initdb into a fresh directory and start `postgres` on
#                   127.0.0.1 (a free port) and a Unix socket in that
#                   directory; waits until it accepts connections. As root,
#                   the server runs as the unprivileged user nobody.
#                   The role "certdesk" (superuser) has a random password,
#                   required over TCP (scram-sha-256) and exported as
#                   PGPASSWORD; sets PG_PORT, PG_PID (in TAP_PIDS), PG_DIR,
#                   PG_PASSWORD and PG_BIN; the EXIT trap stops the server.
#   pg_url DB       the URL of database DB for certdesk (no password in it).
#   pg_sql DB SQL   runs SQL in DB with psql; prints the rows unaligned.
#   pg_createdb DB  creates DB.
#   pg_stop         fast shutdown, waited for; removes PG_DIR.
#
# The binaries are those of `pg_config --bindir`, or $PG_BIN.

PG_PID=""
PG_DIR=""

pg_start() {
	PG_BIN=${PG_BIN:-$(pg_config --bindir 2>/dev/null)}
	if [ ! -x "$PG_BIN/postgres" ] || [ ! -x "$PG_BIN/initdb" ]; then
		echo "# no PostgreSQL server binaries (postgres, initdb) in '$PG_BIN'"
		return 1
	fi
	PG_DIR=$(mktemp -d "${TMPDIR:-/tmp}/certdesk-pg.XXXXXX") || return 1
	trap 'pg_stop; tap_cleanup' EXIT
	trap 'pg_stop; tap_cleanup; exit 1' INT TERM
	PG_PASSWORD=$(openssl rand -hex 16)
	printf '%s\n' "$PG_PASSWORD" >"$PG_DIR/pw"
	PG_AS=""
	if [ "$(id -u)" = 0 ]; then
		# PostgreSQL refuses to run as root
		chown -R nobody "$PG_DIR"
		PG_AS="setpriv --reuid=nobody --regid=$(id -g nobody) --clear-groups"
	fi
	chmod 700 "$PG_DIR"
	chmod 600 "$PG_DIR/pw"
	if ! $PG_AS "$PG_BIN/initdb" -D "$PG_DIR/data" -U certdesk --pwfile="$PG_DIR/pw" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C \
		>"$PG_DIR/initdb.log" 2>&1; then
		sed 's/^/# initdb: /' "$PG_DIR/initdb.log"
		return 1
	fi
	PG_PORT=$(free_port)
	# fsync off: a test's database need not survive a power cut
	$PG_AS "$PG_BIN/postgres" -D "$PG_DIR/data" -k "$PG_DIR" -p "$PG_PORT" -h 127.0.0.1 \
		-c fsync=off -c max_connections=100 >"$PG_DIR/server.log" 2>&1 &
	PG_PID=$!
	TAP_PIDS="$TAP_PIDS $PG_PID"
	export PGPASSWORD="$PG_PASSWORD"
	_end=$(($(date +%s) + 60))
	while ! "$PG_BIN/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; do
		if ! kill -0 "$PG_PID" 2>/dev/null || [ "$(date +%s)" -gt "$_end" ]; then
			tail -n 20 "$PG_DIR/server.log" | sed 's/^/# postgres: /'
			return 1
		fi
		sleep 0.1
	done
}

pg_url() { printf 'postgresql://certdesk@127.0.0.1:%s/%s' "$PG_PORT" "$1"; }

pg_sql() {
	"$PG_BIN/psql" -X -q -A -t -v ON_ERROR_STOP=1 "$(pg_url "$1")" -c "$2"
}

pg_createdb() { pg_sql postgres "CREATE DATABASE \"$1\""; }

pg_stop() {
	if [ -n "$PG_PID" ] && kill -0 "$PG_PID" 2>/dev/null; then
		kill -INT "$PG_PID" 2>/dev/null # fast shutdown: ends the sessions
		# the server removes its pid file last (an exited child stays a
		# zombie for kill -0 until waited for)
		_end=$(($(date +%s) + 30))
		while [ -f "$PG_DIR/data/postmaster.pid" ] && [ "$(date +%s)" -le "$_end" ]; do
			sleep 0.1
		done
		kill -KILL "$PG_PID" 2>/dev/null
		wait "$PG_PID" 2>/dev/null
	fi
	PG_PID=""
	[ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
	PG_DIR=""
}
