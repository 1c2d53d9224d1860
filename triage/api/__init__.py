"""Programs' ways in: the ticket API (/api/), the triage article's contract (/triage) and the
OpenAI-compatible router endpoint (/v1/). Handlers are thin: parse, call a service, shape."""
