#!/usr/bin/env bash
# Start the local PostgreSQL and MariaDB servers the database collector tests use, if they are
# installed and down; wait until both accept connections. Idempotent: running servers are left alone.
# Without the packages, the tests skip and name the install command
# (apt-get install postgresql mariadb-server).
set -uo pipefail

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  pg_isready -h 127.0.0.1 -p 5432 || echo "warning: PostgreSQL did not start; database tests will skip" >&2
else
  echo "note: PostgreSQL is not installed (apt-get install postgresql); PostgreSQL tests will skip" >&2
fi

if [ -x /usr/sbin/mariadbd ]; then
  if ! mariadb-admin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
  fi
  for _ in $(seq 1 30); do
    mariadb-admin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1 && break; sleep 1
  done
  mariadb-admin -h 127.0.0.1 -u root --connect-timeout=2 ping \
    || echo "warning: MariaDB did not start; database tests will skip" >&2
else
  echo "note: MariaDB is not installed (apt-get install mariadb-server); MariaDB tests will skip" >&2
fi
exit 0
