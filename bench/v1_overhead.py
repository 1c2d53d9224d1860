"""What our /v1/chat/completions under gunicorn adds to a model call, next to LiteLLM's proxy.

One client, one request at a time (the openai SDK, keep-alive), against a zero-latency stub model
server in its own process: the same chat request sent (a) to the stub directly, (b) through our
endpoint (``model: "router:<name>"`` with ``task`` named, so no classification runs) under gunicorn
with production settings, and (c) through LiteLLM's proxy routed to the same stub, in alternating
blocks so all three see the same machine. Prints p50/p95/p99 of each, what (b) and (c) add over (a)
(quantile differences) and the ratio of the added p50s against the target "ours adds <= 1/4 of what
LiteLLM adds". Then checks that every /v1 request left exactly one ModelCall row, "ok", none
pending: the only check; it exits 0 either way.

Runs on the embedded default (SQLite + database cache in a temporary TRIAGE_DATA_DIR) unless
DATABASE_URL / REDIS_URL are set. Its router, model, provider and API key (``v1bench-<pid>``) are
deleted afterwards.

    .venv/bin/python bench/v1_overhead.py [--requests 2000] [--stream] [--litellm PATH|none]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/triage_v1bench REDIS_URL=redis://127.0.0.1:6379/7 \\
        .venv/bin/python bench/v1_overhead.py --litellm /tmp/litellm-venv/bin/litellm

LiteLLM is never one of the project's requirements: install it into a venv of its own,
    python3 -m venv /tmp/litellm-venv && /tmp/litellm-venv/bin/pip install 'litellm[proxy]==1.106.2'
and pass its ``litellm`` with --litellm (or have it on PATH). Without it only ours is measured.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.common import allow_provider_key_env, ensure_database, percentile  # noqa: E402 - after the path is set

# production settings, the same here and in gunicorn (which inherits this environment)
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
os.environ.update(DEBUG="0", HTTPS="0", ALLOWED_HOSTS="127.0.0.1", LOG_LEVEL="WARNING")
os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 40)
if not os.environ.get("DATABASE_URL"):
    os.environ["TRIAGE_DATA_DIR"] = tempfile.mkdtemp(prefix="triage-v1bench-")
KEY_ENV = "BENCH_V1_STUB_KEY"
os.environ[KEY_ENV] = "bench-key"
allow_provider_key_env(KEY_ENV)  # its stub provider's key variable

import django  # noqa: E402

django.setup()  # opens no connection: the stub process is forked after this

import openai  # noqa: E402
from openai.types.chat import ChatCompletionMessageParam  # noqa: E402

from bench.stub_process import StubProcess  # noqa: E402
from tests.support.stub_openai import answer  # noqa: E402

NAME = f"v1bench-{os.getpid()}"  # router, provider and API key; the model is SLUG
SLUG, TASK = f"{NAME}-model", "general_faq"
ANSWER = "We are open 9 to 5 UTC, Monday to Friday."
MESSAGES: list[ChatCompletionMessageParam] = [
    {"role": "system", "content": "You are a helpful customer support assistant."},
    {"role": "user", "content": "What are your support hours?"},
]
BLOCK = 50  # requests per block; the targets' blocks alternate
LITELLM_ENV = {  # catalogs from its bundled copies (nothing fetched), no telemetry, quiet logs
    "LITELLM_OFFLINE_MODE": "true",
    "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    "LITELLM_LOCAL_ANTHROPIC_BETA_HEADERS": "True",
    "LITELLM_LOCAL_BLOG_POSTS": "True",
    "LITELLM_LOCAL_POLICY_TEMPLATES": "True",
    "LITELLM_LOCAL_AUTOROUTER_PRESETS": "True",
    "LITELLM_TELEMETRY": "False",
    "LITELLM_DONT_SHOW_FEEDBACK_BOX": "true",
    "LITELLM_LOG": "ERROR",  # also uvicorn's level: no access log line per request
}


class Target(NamedTuple):
    client: openai.OpenAI
    model: str
    extra_body: dict[str, object] | None = None


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
        try:
            urllib.request.urlopen(url, timeout=1)  # noqa: S310 - our own loopback server
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing answered {url} within {seconds:.0f} s")


def setup_routing(base_url: str) -> str:
    """Provider -> the stub, its model, a router whose one task's pool is that model; an API key."""
    from triage.models import ApiKey, LLMModel, PoolEntry, Provider, Router, RouterTask

    provider = Provider.objects.create(name=NAME, base_url=base_url, api_key_env=KEY_ENV)
    model = LLMModel.objects.create(
        slug=SLUG, provider=provider, input_price_per_m=Decimal("1"), output_price_per_m=Decimal("2")
    )
    task = RouterTask.objects.create(router=Router.objects.create(name=NAME), name=TASK, description="FAQ")
    PoolEntry.objects.create(task=task, model=model, rank=1)
    return ApiKey.issue(name=NAME, rate_limit_per_minute=10_000_000, scopes=["routers", "models"])[1]


def teardown() -> None:
    from triage.models import ApiKey, LLMModel, ModelCall, Provider, Router

    ModelCall.objects.filter(model_slug=SLUG).delete()
    Router.objects.filter(name=NAME).delete()
    LLMModel.objects.filter(slug=SLUG).delete()
    Provider.objects.filter(name=NAME).delete()
    ApiKey.objects.filter(name=NAME).delete()


def start_gunicorn(port: int, threads: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/gunicorn"), "triage_site.wsgi:application", "--bind", f"127.0.0.1:{port}",
         "--workers", "1", "--worker-class", "gthread", "--threads", str(threads),
         "--keep-alive", "5", "--log-level", "warning"],
        cwd=ROOT,
        env=dict(os.environ),
    )  # fmt: skip
    wait_until_up(f"http://127.0.0.1:{port}/healthz", process, 30)
    return process


def start_litellm(executable: str, port: int, stub_url: str, master_key: str) -> subprocess.Popen[bytes]:
    workdir = Path(tempfile.mkdtemp(prefix="v1bench-litellm-"))
    route = {"model": f"openai/{SLUG}", "api_base": stub_url, "api_key": "dummy"}
    config = {  # JSON is YAML
        "model_list": [{"model_name": "bench-model", "litellm_params": route}],
        "litellm_settings": {"telemetry": False, "drop_params": True},
        "general_settings": {"master_key": master_key},  # it authenticates each request, as ours does
    }
    (workdir / "config.yaml").write_text(json.dumps(config, indent=2))
    # a clean environment: none of ours (DATABASE_URL would give it a database, DEBUG its --debug)
    env = {"PATH": os.environ["PATH"], "HOME": str(workdir), "LANG": "C.UTF-8", **LITELLM_ENV}
    with open(workdir / "litellm.log", "wb") as log:
        process = subprocess.Popen(
            [executable, "--config", str(workdir / "config.yaml"), "--host", "127.0.0.1", "--port", str(port)],
            cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_until_up(f"http://127.0.0.1:{port}/health/liveliness", process, 180)
    except RuntimeError:
        process.kill()
        print((workdir / "litellm.log").read_text(errors="replace")[-3000:])
        raise
    return process


def litellm_version(executable: str) -> str:
    python = Path(executable).parent / "python"  # the venv it was installed into
    probe = "import importlib.metadata as m; print(m.version('litellm'))"
    try:
        return subprocess.run([python, "-c", probe], capture_output=True, text=True).stdout.strip() or "?"
    except OSError:
        return "?"


def caller(target: Target, *, stream: bool) -> Callable[[], None]:
    """One chat request; checks the answer, so a failing target can't pass for a fast one."""
    client, model, extra_body = target

    def call() -> None:
        if stream:
            events = client.chat.completions.create(
                model=model,
                messages=MESSAGES,
                stream=True,
                stream_options={"include_usage": True},
                extra_body=extra_body,
            )
            text = "".join(event.choices[0].delta.content or "" for event in events if event.choices)
        else:
            completion = client.chat.completions.create(model=model, messages=MESSAGES, extra_body=extra_body)
            text = completion.choices[0].message.content or ""
        if text != ANSWER:
            raise RuntimeError(f"{model}: unexpected answer {text[:200]!r}")

    return call


def measure(calls: dict[str, Callable[[], None]], requests: int, warmup: int) -> dict[str, list[float]]:
    """Warm each target up, then alternate blocks of BLOCK requests (rotating which goes first)."""
    for call in calls.values():
        for _ in range(warmup):
            call()
    spans: dict[str, list[float]] = {name: [] for name in calls}
    names = list(calls)
    for index, first in enumerate(range(0, requests, BLOCK)):
        for name in names[index % len(names) :] + names[: index % len(names)]:
            for _ in range(min(BLOCK, requests - first)):
                began = time.perf_counter()
                calls[name]()
                spans[name].append((time.perf_counter() - began) * 1000)
    return spans


def report(title: str, spans: dict[str, list[float]]) -> None:
    quantiles = (50, 95, 99)
    direct = [percentile(spans["direct"], q) for q in quantiles]
    print(f"\n{title}: {len(spans['direct'])} requests per target, in alternating blocks of {BLOCK}")
    print(f"  {'':30s} {'p50':>8s} {'p95':>8s} {'p99':>8s}  (ms)")
    added: dict[str, list[float]] = {}
    for name, values in spans.items():
        figures = [percentile(values, q) for q in quantiles]
        print(f"  {name:30s} " + " ".join(f"{v:8.2f}" for v in figures))
        if name != "direct":
            added[name] = [f - d for f, d in zip(figures, direct, strict=True)]
            print(f"  {'  added over direct':30s} " + " ".join(f"{v:8.2f}" for v in added[name]))
    if "litellm" not in added:
        print("  LiteLLM not measured: no ratio")
        return
    ratio = added["ours"][0] / added["litellm"][0] if added["litellm"][0] > 0 else float("inf")
    verdict = "holds" if ratio <= 0.25 else "does NOT hold"
    print(f"  ratio ours/LiteLLM of the added p50: {ratio:.2f}: the target <= 0.25 {verdict}")


def check_rows(sent: int) -> None:
    """Every /v1 request left exactly one ModelCall row, ok; none pending."""
    from triage.models import ModelCall

    rows = ModelCall.objects.filter(router__name=NAME)
    for _ in range(50):  # a stream's row is completed as its last bytes go out: give it a moment
        if not rows.filter(outcome="pending").exists():
            break
        time.sleep(0.1)
    total, ok = rows.count(), rows.filter(outcome="ok").count()
    pending = rows.filter(outcome="pending").count()
    status = "OK" if total == ok == sent and pending == 0 else "FAILED (expected one ok row per request)"
    print(f"\nModelCall rows {status}: {sent} /v1 requests sent, {total} rows, {ok} ok, {pending} pending")


def describe(threads: int, executable: str | None, asked: str | None) -> None:
    from django.conf import settings

    def git(*command: str) -> str:
        return subprocess.run(
            ["git", "-C", str(ROOT), *command], capture_output=True, text=True
        ).stdout.strip()

    dirty = " (+ uncommitted changes)" if git("status", "--porcelain", "--untracked-files=no") else ""
    print(
        f"ours: commit {git('rev-parse', '--short', 'HEAD')}{dirty}, gunicorn {version('gunicorn')} "
        f"(1 gthread worker x {threads} threads), Django {django.get_version()}, "
        f"database {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]}, "
        f"shared cache {settings.CACHES['default']['BACKEND'].rsplit('.', 1)[-1]}; "
        f"client: openai {openai.__version__}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    if executable:
        print(
            f"LiteLLM {litellm_version(executable)} proxy: {executable}, 1 uvicorn worker, no database, offline"
        )
    else:
        print(
            f"LiteLLM not measured: no litellm executable ({asked or 'none on PATH'}). Install it apart from "
            "the project: python3 -m venv /tmp/litellm-venv && "
            "/tmp/litellm-venv/bin/pip install 'litellm[proxy]==1.106.2', then pass --litellm"
        )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000, help="measured requests per target")
    parser.add_argument("--warmup", type=int, default=100, help="requests per target before measuring")
    parser.add_argument("--stream", action="store_true", help="also measure streamed requests, to [DONE]")
    parser.add_argument("--threads", type=int, default=4, help="threads of the one gunicorn worker")
    parser.add_argument("--litellm", help="the litellm executable (default: on PATH; 'none' skips it)")
    args = parser.parse_args()
    executable = shutil.which(args.litellm or "litellm") if args.litellm != "none" else None

    stub = StubProcess({SLUG: answer(ANSWER)})  # before any database connection: see StubProcess
    ensure_database()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    key = setup_routing(stub.base_url)
    servers: list[subprocess.Popen[bytes]] = []
    try:
        port = free_port()
        servers.append(start_gunicorn(port, args.threads))
        targets = {
            "direct": Target(openai.OpenAI(base_url=stub.base_url, api_key="bench-key", max_retries=0), SLUG),
            "ours": Target(
                openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=key, max_retries=0),
                f"router:{NAME}",
                {"task": TASK},
            ),
        }
        if executable:
            port, master_key = free_port(), "sk-" + secrets.token_hex(32)
            servers.append(start_litellm(executable, port, stub.base_url, master_key))
            client = openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key=master_key, max_retries=0)
            targets["litellm"] = Target(client, "bench-model")
        describe(args.threads, executable, args.litellm)
        sent = 0
        for stream in (False, True) if args.stream else (False,):
            calls = {name: caller(target, stream=stream) for name, target in targets.items()}
            title = "streamed, read to [DONE]" if stream else "non-streaming"
            report(title, measure(calls, args.requests, args.warmup))
            sent += args.warmup + args.requests
        check_rows(sent)
    finally:
        for server in servers:
            server.terminate()
            server.wait(timeout=30)
        stub.stop()
        teardown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
