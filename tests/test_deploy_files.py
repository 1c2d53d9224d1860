"""docker-compose.yml is wired as the README says (no Docker engine runs here, so we read it)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]


def test_every_service_has_an_image_or_a_build() -> None:
    assert set(SERVICES) == {"postgres", "redis", "migrate", "web", "worker", "beat"}
    for name, service in SERVICES.items():
        assert "image" in service or "build" in service, name


def test_databases_have_healthchecks_and_postgres_keeps_a_volume() -> None:
    for name in ("postgres", "redis"):
        assert SERVICES[name]["healthcheck"]["test"]
    assert any("pgdata" in v for v in SERVICES["postgres"]["volumes"])


def test_app_services_get_database_broker_secret_and_provider_keys() -> None:
    for name in ("migrate", "web", "worker"):
        env = SERVICES[name]["environment"]
        assert env["DATABASE_URL"].startswith("postgres://") and "@postgres:" in env["DATABASE_URL"]
        assert env["REDIS_URL"].startswith("redis://redis:")
        assert "SECRET_KEY" in env and "DO_MODEL_ACCESS_KEY" in env and "OPENAI_API_KEY" in env


def test_app_services_wait_for_healthy_dependencies_and_the_migration() -> None:
    for name in ("web", "worker"):
        deps = SERVICES[name]["depends_on"]
        assert deps["postgres"]["condition"] == "service_healthy"
        assert deps["redis"]["condition"] == "service_healthy"
        assert deps["migrate"]["condition"] == "service_completed_successfully"
    assert SERVICES["migrate"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "load_presets" in " ".join(SERVICES["migrate"]["command"])


def test_web_runs_gunicorn_and_worker_runs_celery_with_an_io_pool() -> None:
    assert SERVICES["web"]["command"][0] == "gunicorn"
    worker = SERVICES["worker"]["command"]
    assert worker[:4] == ["celery", "-A", "triage_site", "worker"]
    assert worker[worker.index("--pool") + 1] in {"threads", "gevent", "eventlet"}


def test_beat_schedules_the_stuck_ticket_sweep() -> None:
    assert SERVICES["beat"]["command"][:4] == ["celery", "-A", "triage_site", "beat"]
    assert "DATABASE_URL" in SERVICES["beat"]["environment"]


def test_dockerfile_installs_requirements_and_collects_static() -> None:
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert "requirements.txt" in dockerfile and "collectstatic" in dockerfile


def test_static_files_live_in_the_image_not_in_the_data_volume(tmp_path: Path) -> None:
    """Compose mounts a volume over /data, and Docker fills a named volume from the image only when
    it is empty: static files collected under /data would stay an older image's after an upgrade."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    match = re.search(r"STATIC_ROOT=(\S+)", dockerfile)
    assert match and not match.group(1).startswith("/data")
    assert match.start() < dockerfile.index("collectstatic")  # set before the build collects them
    env = {"PATH": os.environ.get("PATH", ""), "DEBUG": "1", "TRIAGE_DATA_DIR": str(tmp_path)}
    env["STATIC_ROOT"] = str(tmp_path / "static")
    shown = "from django.conf import settings; print(settings.STATIC_ROOT)"
    result = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", shown],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.stdout.strip().splitlines()[-1] == str(tmp_path / "static"), result.stderr


def test_the_variables_the_readme_asks_for_reach_the_app_services() -> None:
    """Metrics token, mail for password reset, links back, CSRF origins and every connector secret
    the README names: compose passes only what it lists."""
    from django.conf import settings

    needed = {"METRICS_TOKEN", "EMAIL_URL", "TRIAGE_PUBLIC_URL", "CSRF_TRUSTED_ORIGINS"}
    needed |= set(settings.TRIAGE_CONNECTOR_SECRET_ENVS)
    for name in ("web", "worker"):
        assert needed <= set(SERVICES[name]["environment"]), name


def test_local_models_are_trained_once_into_a_volume_the_app_services_share() -> None:
    assert "triage.local_models" in " ".join(SERVICES["migrate"]["command"])
    for name in ("migrate", "web", "worker"):
        assert "appdata:/data" in SERVICES[name]["volumes"]


def test_long_running_services_come_back_after_they_exit() -> None:
    """A worker that loses Redis can exit (kombu's reconnect fails now and then, seen in make soak);
    without a restart policy nobody would consume the queue until someone noticed."""
    for name in ("postgres", "redis", "web", "worker", "beat"):
        assert SERVICES[name]["restart"] == "unless-stopped", name
    assert "restart" not in SERVICES["migrate"]  # one-shot: it must finish, not loop


# --- gunicorn: one configuration, read the way gunicorn reads it ------------------------------
GUNICORN_ENV = ("GUNICORN_CMD_ARGS", "GUNICORN_BIND", "GUNICORN_WORKERS", "WEB_CONCURRENCY")


def _gunicorn_config(argv: list[str], monkeypatch: pytest.MonkeyPatch, **env: str) -> Any:
    """gunicorn's own reading of a command line: its config file, the environment, then flags."""
    from gunicorn.app.wsgiapp import WSGIApplication

    for name in (*GUNICORN_ENV, "GUNICORN_THREADS", "GUNICORN_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(ROOT)
    assert argv[0] == "gunicorn"
    monkeypatch.setattr(sys, "argv", argv)
    return WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]").cfg


def _dockerfile_cmd() -> list[str]:
    line = next(ln for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith("CMD "))
    return json.loads(line.removeprefix("CMD "))


@pytest.mark.parametrize("source", ["Dockerfile", "docker-compose.yml"])
def test_gunicorn_runs_threads_with_a_timeout_above_the_sync_triage_deadline(
    source: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default sync worker and its 30 s timeout killed a /triage waiting 35 s on a model
    ("WORKER TIMEOUT", an HTML 500); the sync path answers 504 itself after 150 s."""
    argv = _dockerfile_cmd() if source == "Dockerfile" else SERVICES["web"]["command"]
    cfg = _gunicorn_config(argv, monkeypatch)
    assert cfg.worker_class_str == "gthread"
    assert cfg.threads >= 4
    assert cfg.timeout > 150
    assert cfg.workers >= 2
    assert cfg.bind == ["0.0.0.0:8000"]
    # one place: the command names the config file and overrides none of it
    assert argv[argv.index("-c") + 1] == "triage_site/gunicorn.conf.py"
    assert not {"--workers", "-w", "--timeout", "-t", "--threads", "-k", "--worker-class"} & set(argv)


def test_the_gunicorn_config_follows_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    argv = SERVICES["web"]["command"]
    # compose passes the variables a user left unset as empty strings: the defaults hold
    assert {k: v for k, v in SERVICES["web"]["environment"].items() if k.startswith("GUNICORN_")} == {
        "GUNICORN_WORKERS": "${GUNICORN_WORKERS:-}",
        "GUNICORN_THREADS": "${GUNICORN_THREADS:-}",
        "GUNICORN_TIMEOUT": "${GUNICORN_TIMEOUT:-}",
    }
    cfg = _gunicorn_config(argv, monkeypatch, GUNICORN_WORKERS="", GUNICORN_THREADS="", GUNICORN_TIMEOUT="")
    assert (cfg.workers, cfg.threads, cfg.timeout) == (3, 8, 180)
    cfg = _gunicorn_config(
        argv, monkeypatch, GUNICORN_WORKERS="5", GUNICORN_THREADS="16", GUNICORN_TIMEOUT="400"
    )
    assert (cfg.workers, cfg.threads, cfg.timeout) == (5, 16, 400)


# --- secure by default -------------------------------------------------------------------------
def _interpolate(value: str, shell: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}`` against a user's shell."""

    def one(match: re.Match[str]) -> str:
        name, op, arg = match.group(1), match.group(2), match.group(3) or ""
        if shell.get(name):
            return shell[name]
        if op == ":?":
            raise AssertionError(f"compose would refuse to start without {name}: {arg}")
        return arg if op == ":-" else ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def test_the_web_port_is_published_on_this_machine_only_by_default() -> None:
    (published,) = SERVICES["web"]["ports"]
    assert _interpolate(published, {}) == "127.0.0.1:8000:8000"
    assert _interpolate(published, {"TRIAGE_BIND_ADDRESS": "0.0.0.0"}) == "0.0.0.0:8000:8000"


def test_deploy_checks_pass_with_the_environment_compose_gives_the_web_service(tmp_path: Path) -> None:
    """A user who sets only SECRET_KEY (as the README's command does) gets HTTPS on: secure cookies,
    HSTS and the redirect (W004/W008/W012/W016 with the old HTTPS=false default)."""
    shell = {"SECRET_KEY": secrets.token_urlsafe(50)}
    env = {name: _interpolate(str(value), shell) for name, value in SERVICES["web"]["environment"].items()}
    assert env["HTTPS"] == "true"
    # as in the image: no DEBUG, the data volume (here a temporary folder) and nothing else of ours
    env.update({"PATH": os.environ.get("PATH", ""), "HOME": str(tmp_path), "TRIAGE_DATA_DIR": str(tmp_path)})
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
