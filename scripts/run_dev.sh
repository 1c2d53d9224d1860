#!/usr/bin/env bash
# Started by `make run`: prepare the database, then run the web server and a Celery worker
# together. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBUG="${DEBUG:-1}"
# listens on 127.0.0.1 only, so the article's keyless /triage client may use it
export TRIAGE_COMPAT_OPEN="${TRIAGE_COMPAT_OPEN:-1}"
PY=.venv/bin/python
PORT="${PORT:-8000}"

$PY manage.py migrate --noinput
$PY manage.py load_presets
echo "Preparing the built-in local models (trained once, then cached in var/local_models)..."
$PY -m triage.local_models
echo "Demo data:"
$PY manage.py load_demo_data

stop() {
  trap - INT TERM EXIT
  echo; echo "Stopping web and worker..."
  kill -TERM $(jobs -p) 2>/dev/null || true
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

# --beat runs the periodic sweep that re-enqueues tickets stuck after a crash.
.venv/bin/celery -A triage_site worker --beat --pool threads --concurrency "${WORKER_CONCURRENCY:-16}" \
  --loglevel "${LOG_LEVEL:-INFO}" &
# gunicorn as in production, one process of threads (SQLite takes one writer at a time): Django's
# runserver queues only 10 connections, and a burst of parallel API calls saw resets.
GUNICORN_BIND="127.0.0.1:${PORT}" GUNICORN_WORKERS=1 GUNICORN_THREADS="${WEB_THREADS:-16}" \
  .venv/bin/gunicorn -c triage_site/gunicorn.conf.py --access-logfile - triage_site.wsgi:application &

if [ -n "${DATABASE_URL:-}" ]; then db="PostgreSQL (DATABASE_URL)"; else db="SQLite in var/"; fi
if [ -n "${REDIS_URL:-}" ]; then broker="Redis (REDIS_URL)"; else broker="file broker + database cache in var/"; fi
cat <<MSG

  Support triage is running: http://127.0.0.1:${PORT}/
  Admin:                     http://127.0.0.1:${PORT}/admin/   (log in as demo-admin)
  Backends: ${db}; ${broker}. Press Ctrl-C to stop.

MSG
wait -n
