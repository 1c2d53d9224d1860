"""Helpdesk connectors, one module per helpdesk, looked up by kind.

Each module is a registry entry exposing the same names: ``KIND``, ``DEFAULT_MAPPING``,
``CREDENTIAL_FIELDS``, ``WEBHOOK_BODY_TEMPLATE``, ``auth_header``, ``webhook_authentic``,
``incoming_ticket`` and ``writeback_requests``. A new helpdesk is a new module with those names, added
to ``HELPDESKS``. The shared types and ``send_request`` live in ``base``.
"""

from __future__ import annotations

from types import ModuleType

from triage.connectors.helpdesks import freshdesk, zendesk

HELPDESKS: dict[str, ModuleType] = {zendesk.KIND: zendesk, freshdesk.KIND: freshdesk}


def helpdesk(kind: str) -> ModuleType:
    """The connector module for ``kind``; ``KeyError`` lists the known kinds."""
    try:
        return HELPDESKS[kind]
    except KeyError:
        raise KeyError(f"unknown helpdesk {kind!r}; known: {', '.join(sorted(HELPDESKS))}") from None
