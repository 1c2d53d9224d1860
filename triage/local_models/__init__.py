"""The offline tier: small models served in-process, with no HTTP and no API key, at $0.

``registry`` holds the interface the routing service calls; the models themselves register
there when first needed, so importing this package never trains or loads anything.

The five models (``builtin``), each answering like a well-behaved remote model would:

- ``local/ticket-classifier`` (``classifier``): category, TF-IDF + logistic regression.
- ``local/urgency-scorer`` (``urgency``): score, sentiment (VADER), escalation risk with its
  calibrated probability (``escalation``), reason.
- ``local/reply-drafter`` (``drafter``): a short reply in the ticket's language (``phrases``):
  an agent's approved reply to a near-duplicate ticket, adapted (``examples``), else the FAQ,
  else templates filled with the ticket's specifics.
- ``local/brief-writer`` (``brief``): an extractive escalation brief (problem, impact, tried, ask).
- ``local/support-bot`` (``support_bot``): FAQ answers (``faq``) or an honest hand-off to a human.

``language`` detects a ticket's language offline (py3langid); the models lower their confidence
outside the languages they were trained on.

Data and cache: the labeled set is ``data/tickets.jsonl``, written by ``data/generate.py`` from
``data/handwritten.jsonl``, the ``data/written_*.jsonl`` tickets written one by one, and templates;
the fixed held-out 20% is never trained on (``store``). Blind sets for judging the tier on tickets
nobody wrote for it are in ``tests/data/blind/``.
Fitted models are cached under ``TRIAGE_LOCAL_MODELS_DIR`` (default ``DATA_DIR/local_models``) and
retrained when the data file changes; ``python -m triage.local_models`` builds the cache ahead of
time. ``TRIAGE_LOCAL_FAQ_FILE`` replaces the shipped FAQ. ``bench/local_models.py`` prints the
quality, latency and memory figures.
"""
