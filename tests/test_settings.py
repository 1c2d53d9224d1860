"""Settings pick their backends from the environment alone."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PROBE = (
    "import json, django; from django.conf import settings as s; django.setup(); print(json.dumps({"
    "'engine': s.DATABASES['default']['ENGINE'], 'broker': s.CELERY_BROKER_URL, "
    "'cache': s.CACHES['default']['BACKEND'], 'session_secure': s.SESSION_COOKIE_SECURE, "
    "'csrf_secure': s.CSRF_COOKIE_SECURE, 'debug': s.DEBUG, 'hosts': s.ALLOWED_HOSTS}))"
)


def _settings_with(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k
        not in {
            "DATABASE_URL",
            "REDIS_URL",
            "SECRET_KEY",
            "DEBUG",
            "ALLOWED_HOSTS",
            "HTTPS",
            "TRIAGE_DATA_DIR",
        }
    }
    clean.update({"DJANGO_SETTINGS_MODULE": "triage_site.settings", "TRIAGE_DATA_DIR": str(tmp_path), **env})
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=clean, capture_output=True, text=True, timeout=60
    )


def _probe(env: dict[str, str], tmp_path: Path) -> dict:
    result = _settings_with(env, tmp_path)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_no_environment_selects_the_embedded_default(tmp_path: Path) -> None:
    found = _probe({"DEBUG": "1"}, tmp_path)
    assert found["engine"] == "django.db.backends.sqlite3"
    assert found["broker"] == "filesystem://"
    assert found["cache"] == "django.core.cache.backends.db.DatabaseCache"
    assert (tmp_path / "broker" / "queue").is_dir()


def test_database_and_redis_urls_select_postgresql_and_redis(tmp_path: Path) -> None:
    found = _probe(
        {
            "DEBUG": "1",
            "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/test",
            "REDIS_URL": "redis://127.0.0.1:6379/0",
        },
        tmp_path,
    )
    assert found["engine"] == "django.db.backends.postgresql"
    assert found["broker"] == "redis://127.0.0.1:6379/0"
    assert found["cache"] == "django_redis.cache.RedisCache"


def test_production_refuses_to_start_without_a_secret_key(tmp_path: Path) -> None:
    result = _settings_with({}, tmp_path)
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_safe(tmp_path: Path) -> None:
    found = _probe({"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "triage.example.com"}, tmp_path)
    assert found["debug"] is False
    assert found["session_secure"] is True and found["csrf_secure"] is True
    assert found["hosts"] == ["triage.example.com"]


@pytest.mark.parametrize("flag", ["0", "false"])
def test_https_can_be_turned_off_for_plain_http_deployments(tmp_path: Path, flag: str) -> None:
    found = _probe({"SECRET_KEY": "x" * 50, "HTTPS": flag}, tmp_path)
    assert found["session_secure"] is False


def test_deploy_checks_pass_with_production_defaults(tmp_path: Path) -> None:
    # the browser tests set DJANGO_ALLOW_ASYNC_UNSAFE for Playwright; no deployment would
    test_only = {"DEBUG", "HTTPS", "DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {k: v for k, v in os.environ.items() if k not in test_only}
    env["SECRET_KEY"] = secrets.token_urlsafe(50)
    env["ALLOWED_HOSTS"] = "triage.example.com"
    env["TRIAGE_DATA_DIR"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_logs_are_json_lines_and_development_logs_are_text(tmp_path: Path) -> None:
    code = (
        "import django, logging; django.setup(); "
        "logging.getLogger('triage.check').warning('model call', extra={'ticket_id': 7, 'outcome': 'ok'})"
    )
    base = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "LOG_FORMAT"}}
    base.update({"DJANGO_SETTINGS_MODULE": "triage_site.settings", "TRIAGE_DATA_DIR": str(tmp_path)})
    prod = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env={**base, "SECRET_KEY": "k" * 50},
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    line = json.loads(prod.stderr.strip().splitlines()[-1])
    assert line["message"] == "model call" and line["ticket_id"] == 7 and line["level"] == "WARNING"
    dev = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "DEBUG": "1"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert "WARNING triage.check model call" in dev.stderr


@pytest.mark.parametrize("seconds", ["0", "2640", "2700"])
def test_a_time_limit_a_run_could_outlast_the_brokers_redelivery_is_refused(
    tmp_path: Path, seconds: str
) -> None:
    """A run may last its time limit plus one call's request deadline (at most 900 s): beyond the
    broker's visibility timeout (3600 s) a task still running would be handed to a second worker."""
    result = _settings_with({"DEBUG": "1", "TRIAGE_TASK_SOFT_TIME_LIMIT": seconds}, tmp_path)
    assert result.returncode != 0
    assert "TRIAGE_TASK_SOFT_TIME_LIMIT must be between 1 and 2639 seconds" in result.stderr
    assert _probe({"DEBUG": "1", "TRIAGE_TASK_SOFT_TIME_LIMIT": "2639"}, tmp_path)["debug"] is True


def test_an_open_triage_contract_refuses_to_start_in_production_unless_confirmed(tmp_path: Path) -> None:
    """TRIAGE_COMPAT_OPEN lets anyone spend model money through /triage: with DEBUG off it takes
    a second, explicit TRIAGE_COMPAT_OPEN_IN_PRODUCTION=1."""
    production = {"SECRET_KEY": "x" * 50, "ALLOWED_HOSTS": "triage.example.com"}
    refused = _settings_with(
        {**production, "TRIAGE_COMPAT_OPEN": "1", "TRIAGE_COMPAT_OPEN_IN_PRODUCTION": "0"}, tmp_path
    )
    assert refused.returncode != 0
    assert "ImproperlyConfigured" in refused.stderr and "TRIAGE_COMPAT_OPEN_IN_PRODUCTION=1" in refused.stderr
    confirmed = {**production, "TRIAGE_COMPAT_OPEN": "1", "TRIAGE_COMPAT_OPEN_IN_PRODUCTION": "1"}
    assert _probe(confirmed, tmp_path)["debug"] is False
    assert _probe({"DEBUG": "1", "TRIAGE_COMPAT_OPEN": "1"}, tmp_path)["debug"] is True  # make run
    assert _probe({**production, "TRIAGE_COMPAT_OPEN": "0"}, tmp_path)["debug"] is False  # closed


def test_a_negative_trusted_proxy_count_is_refused(tmp_path: Path) -> None:
    result = _settings_with({"DEBUG": "1", "TRUSTED_PROXY_COUNT": "-1"}, tmp_path)
    assert result.returncode != 0 and "TRUSTED_PROXY_COUNT must be 0 or more" in result.stderr
