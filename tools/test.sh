#!/usr/bin/env bash
# Set up everything the tests need on a fresh Debian machine, then run them.
# Idempotent: on a prepared machine it only checks and runs the tests.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
apt_ready=0
need_pkg() {  # install Debian packages that are missing
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ $apt_ready -eq 0 ]; then $SUDO apt-get update -qq; apt_ready=1; fi
  echo "installing: ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
}

# System packages: the sandbox, the database servers, a compiler for llama-server.
need_pkg bubblewrap python3-venv build-essential cmake postgresql mariadb-server mariadb-client \
  procps util-linux
# Commands the InterCode-Bash gold answers use (slinvit bench --suite intercode-bash).
need_pkg tree cpio bind9-dnsutils ncal

# PostgreSQL on 127.0.0.1:5432 with trust auth for local test connections.
if ! pg_isready -h 127.0.0.1 -p 5432 -q 2>/dev/null; then
  ver=$(ls /etc/postgresql | sort -V | tail -n1)
  hba=/etc/postgresql/$ver/main/pg_hba.conf
  if ! grep -q "slinvit-tests" "$hba"; then
    $SUDO sed -i "1i host all all 127.0.0.1/32 trust # slinvit-tests" "$hba"
  fi
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start
  for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -q && break; sleep 1; done
fi
# MariaDB on 127.0.0.1:3306, root with an empty password.
if ! mariadb -uroot -h127.0.0.1 -e "SELECT 1" >/dev/null 2>&1; then
  if ! mariadb-admin ping >/dev/null 2>&1; then
    $SUDO mkdir -p /run/mysqld && $SUDO chown mysql:mysql /run/mysqld 2>/dev/null || true
    $SUDO start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd -- --user=mysql
    for _ in $(seq 30); do mariadb-admin ping >/dev/null 2>&1 && break; sleep 1; done
  fi
  mariadb -uroot -h127.0.0.1 -e "SELECT 1" >/dev/null 2>&1 || $SUDO mariadb -uroot -e \
    "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD(''); FLUSH PRIVILEGES;"
fi

# Python environment.
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip >/dev/null
# ray: the --ray tests; alfworld: the TextWorld engine, whose fast-downward builds from source
# with the venv's cmake/python on PATH (pip keeps the built wheel in its cache for later runs)
PATH="$PWD/.venv/bin:$PATH" .venv/bin/python -m pip install -q -e '.[dev,ray,alfworld]'


# The embedded local model and llama-server (cached in ~/.cache/langgraph-slinvit).
if [ -f tools/prepare_local_model.py ] && [ "${SLINVIT_SKIP_LOCAL_MODEL:-0}" != "1" ]; then
  .venv/bin/python tools/prepare_local_model.py
fi

.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/python -m pytest "$@"
