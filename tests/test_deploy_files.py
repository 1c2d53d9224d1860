"""docker-compose.yml is wired as the README says (no Docker engine runs here, so we read it)."""

from __future__ import annotations

from pathlib import Path

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
