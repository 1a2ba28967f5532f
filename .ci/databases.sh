#!/usr/bin/env bash
# The local PostgreSQL and MariaDB servers the database collector tests use: installed (as root, with
# apt-get) when missing, started when down, and given the logins the tests connect with when they lack
# them: PostgreSQL's `postgres` over TCP on 127.0.0.1 without a password (trust, on 127.0.0.1 only), and
# MariaDB's `root` over TCP with an empty password. A server that already accepts those logins is left as
# it is. Idempotent. Not root, or no package access: the tests skip, naming the install command
# (an error under CI=true, tests/servers.py).
set -uo pipefail

root() { [ "$(id -u)" = "0" ]; }

if ! { command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -x /usr/sbin/mariadbd ]; } \
    && root && command -v apt-get >/dev/null 2>&1; then
  echo "installing PostgreSQL and MariaDB for the database tests (apt-get, about a minute)"
  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      postgresql mariadb-server >/dev/null; } || echo "note: could not install PostgreSQL / MariaDB (apt-get failed)" >&2
fi

pg_login() { psql -h 127.0.0.1 -U postgres -d postgres -w -Atqc 'select 1' >/dev/null 2>&1; }

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  if ! pg_isready -q -h 127.0.0.1 -p 5432; then
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
  fi
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  if pg_isready -q -h 127.0.0.1 -p 5432 && ! pg_login && root; then
    # A fresh Debian cluster asks for a password over TCP: let `postgres` in from 127.0.0.1 only.
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
      grep -q '^host all postgres 127.0.0.1/32 trust' "$hba" \
        || sed -i '1i host all postgres 127.0.0.1/32 trust  # crosspath tests (.ci/databases.sh)' "$hba"
    done
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
    done
    sleep 1
  fi
  pg_login || echo "warning: PostgreSQL does not accept postgres@127.0.0.1 without a password; its tests will skip" >&2
else
  echo "note: PostgreSQL is not installed (apt-get install postgresql); PostgreSQL tests will skip" >&2
fi

maria_login() { mariadb -h 127.0.0.1 -u root --password= --connect-timeout=2 -e 'select 1' >/dev/null 2>&1; }

if [ -x /usr/sbin/mariadbd ]; then
  if ! mariadb-admin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1; then
    install -d -o mysql -g mysql /run/mysqld 2>/dev/null || mkdir -p /run/mysqld
    start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql || true
  fi
  for _ in $(seq 1 30); do
    mariadb-admin -h 127.0.0.1 -u root --connect-timeout=2 ping >/dev/null 2>&1 && break; sleep 1
  done
  if ! maria_login && root; then
    # A fresh Debian install lets root in over the socket only: add an empty password for TCP.
    mariadb -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD(''); \
      CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ''; \
      GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION; FLUSH PRIVILEGES;" || true
  fi
  maria_login || echo "warning: MariaDB does not accept root@127.0.0.1 with an empty password; its tests will skip" >&2
else
  echo "note: MariaDB is not installed (apt-get install mariadb-server); MariaDB tests will skip" >&2
fi
exit 0
