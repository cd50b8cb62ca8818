#!/usr/bin/env bash
# Start the machine's PostgreSQL (installed, not running) and create the test role and database.
# Prints the URL to export as IVR_TEST_POSTGRES_URL. Idempotent.
set -euo pipefail
version=$(ls /usr/lib/postgresql | sort -n | tail -1)
if ! pg_lsclusters --no-header | awk '{print $4}' | grep -q online; then
  pg_ctlcluster --skip-systemctl-redirect "$version" main start >&2
fi
for _ in $(seq 1 30); do
  su postgres -c "pg_isready -q" && break
  sleep 0.5
done
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_roles WHERE rolname='hotline'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE ROLE hotline LOGIN PASSWORD 'hotline' CREATEDB\"" >&2
su postgres -c "psql -qtAc \"SELECT 1 FROM pg_database WHERE datname='hotline_test'\"" | grep -q 1 \
  || su postgres -c "createdb -O hotline hotline_test" >&2
echo "postgresql+psycopg://hotline:hotline@127.0.0.1:5432/hotline_test"
