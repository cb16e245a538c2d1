#!/usr/bin/env bash
# pg.sh - starts and stops a throwaway PostgreSQL 15 server for the tests.
#
#   tests/pg.sh start DIR    prints the server's URL (postgres://...) on stdout
#   tests/pg.sh stop DIR
#
# The server keeps its data and its Unix socket in DIR, listens on 127.0.0.1
# on a free port, trusts local connections and has a database "barge". As
# root, PostgreSQL refuses to run, so the server runs as the user postgres
# (which Debian's package creates) and DIR is handed to that user.
set -eu

bindir=${PG_BINDIR:-}
if [ -z "$bindir" ]; then
	for d in /usr/lib/postgresql/*/bin; do
		[ -x "$d/initdb" ] && bindir=$d
	done
fi
if [ -z "$bindir" ] || [ ! -x "$bindir/initdb" ]; then
	echo "pg.sh: no PostgreSQL server found (install the Debian package postgresql-15)" >&2
	exit 1
fi

# as_pg runs a command as the user that owns the cluster.
as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

cmd=${1:-}
dir=${2:-}
[ -n "$dir" ] || { echo "usage: tests/pg.sh start|stop DIR" >&2; exit 2; }

case "$cmd" in
start)
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown postgres: "$dir"
		if ! runuser -u postgres -- test -w "$dir"; then
			echo "pg.sh: the user postgres cannot reach $dir (a parent directory is private):" \
				"use a directory of its own, such as one from mktemp -d" >&2
			exit 1
		fi
	fi
	as_pg "$bindir/initdb" -D "$dir/data" -A trust -U postgres --no-sync >"$dir/initdb.log" 2>&1 || {
		cat "$dir/initdb.log" >&2
		exit 1
	}
	# A port another program takes between free_port and the server's bind
	# fails the start; a second port then is enough.
	for attempt in 1 2 3; do
		port=$(free_port)
		if as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
			-o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" \
			start >/dev/null 2>&1; then
			echo "$port" >"$dir/port"
			as_pg "$bindir/psql" -h 127.0.0.1 -p "$port" -U postgres -d postgres -q \
				-c "CREATE DATABASE barge" >/dev/null
			echo "postgres://postgres@127.0.0.1:$port/barge"
			exit 0
		fi
	done
	cat "$dir/server.log" >&2
	exit 1
	;;
stop)
	[ -d "$dir/data" ] || exit 0
	as_pg "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
	;;
*)
	echo "usage: tests/pg.sh start|stop DIR" >&2
	exit 2
	;;
esac
