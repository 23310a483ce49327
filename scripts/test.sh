#!/usr/bin/env bash
# The whole test suite: on the embedded SQLite default, then on PostgreSQL.
#   scripts/test.sh              both databases (PostgreSQL at $PORTALIS_TEST_PG,
#                                default postgresql://postgres@127.0.0.1:5432/test)
#   scripts/test.sh -k lists     extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --with-system
PG=${PORTALIS_TEST_PG:-postgresql://postgres@127.0.0.1:5432/test}
echo "== tests on SQLite"
PORTALIS_TEST_DATABASE=sqlite .venv/bin/pytest "$@"
echo "== tests on PostgreSQL ($PG)"
PORTALIS_TEST_DATABASE="$PG" .venv/bin/pytest "$@"
