"""Loads the preset providers, catalog and routers. Idempotent; never overwrites admin edits
unless asked to reset."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import Group
from django.db import transaction

from triage import presets
from triage.models import FallbackEntry, LLMModel, PoolEntry, Provider, Router, RouterTask


@dataclass
class PresetReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        if not self.created and not self.updated:
            return "Presets already loaded: nothing changed."
        parts = []
        if self.created:
            parts.append(f"created {len(self.created)}: {', '.join(self.created)}")
        if self.updated:
            parts.append(f"reset {len(self.updated)}: {', '.join(self.updated)}")
        return "Presets " + "; ".join(parts) + "."


def _upsert(
    model: type[Any],
    lookup: dict[str, Any],
    defaults: dict[str, Any],
    *,
    reset: bool,
    label: str,
    report: PresetReport,
) -> tuple[Any, bool]:
    if reset:
        obj, created = model.objects.update_or_create(**lookup, defaults=defaults)
        (report.created if created else report.updated).append(label)
    else:
        obj, created = model.objects.get_or_create(**lookup, defaults=defaults)
        if created:
            report.created.append(label)
    return obj, created


@transaction.atomic
def presets_load(*, reset: bool = False) -> PresetReport:
    """Create missing preset rows. With ``reset`` also restore existing rows to the presets."""
    report = PresetReport()
    providers = {}
    for spec in presets.PROVIDERS:
        fields = {k: v for k, v in spec.items() if k != "name"}
        providers[spec["name"]], _ = _upsert(
            Provider,
            {"name": spec["name"]},
            fields,
            reset=reset,
            label=f"provider {spec['name']}",
            report=report,
        )
    models = {}
    for spec in presets.MODELS:
        fields = {k: v for k, v in spec.items() if k not in ("slug", "provider")}
        provider = providers[str(spec["provider"])]
        models[spec["slug"]], _ = _upsert(
            LLMModel,
            {"slug": spec["slug"], "provider": provider},
            fields,
            reset=reset,
            label=f"model {spec['slug']}",
            report=report,
        )
    for router_spec in presets.ROUTERS:
        _load_router(router_spec, models, reset=reset, report=report)
    if Group.objects.get_or_create(name=presets.AGENTS_GROUP)[1]:
        report.created.append(f"group {presets.AGENTS_GROUP}")
    return report


def _load_router(spec: dict, models: dict, *, reset: bool, report: PresetReport) -> None:
    router, created = _upsert(
        Router,
        {"name": spec["name"]},
        {
            "description": spec["description"],
            "escalation_threshold": spec["escalation_threshold"],
            "classifier_confidence_threshold": spec.get("classifier_confidence_threshold", Decimal("0.35")),
        },
        reset=reset,
        label=f"router {spec['name']}",
        report=report,
    )
    if not (created or reset):
        return  # an existing router belongs to its admin now
    for position, slug in enumerate(spec["fallbacks"], start=1):
        FallbackEntry.objects.update_or_create(
            router=router, model=models[slug], defaults={"order": position}
        )
    if reset:
        router.fallbacks.exclude(model__slug__in=spec["fallbacks"]).delete()
    for task_spec in spec["tasks"]:
        task, _ = RouterTask.objects.update_or_create(
            router=router,
            name=task_spec["name"],
            defaults={
                "description": task_spec["description"],
                "selection_policy": task_spec["selection_policy"],
                "system_prompt": task_spec["system_prompt"],
                "example_utterances": "\n".join(task_spec["utterances"]),
                "expected_input_tokens": 300,
                "expected_output_tokens": task_spec["expected_output_tokens"],
                "cascade_enabled": task_spec.get("cascade", False),
                "cascade_confidence_threshold": Decimal(task_spec.get("cascade_threshold", "0.6")),
            },
        )
        task.pool.all().delete()
        for rank, entry in enumerate(task_spec["pool"], start=1):
            slug, tier = entry if isinstance(entry, tuple) else (entry, {})
            PoolEntry.objects.create(task=task, model=models[slug], rank=rank, **tier)
