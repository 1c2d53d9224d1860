"""Masking customer data before a ticket goes to a third-party model: what is found on the seeded
sets (``masking_data``), what must survive, and placeholders a model's answer can be restored from."""

from __future__ import annotations

import pytest

from tests.privacy.masking_data import (
    DEV_SEED,
    HELD_OUT_SEED,
    KINDS,
    LANGUAGES,
    Evaluation,
    SeededTicket,
    evaluate,
    generate,
)
from triage.privacy.masking import (
    KINDS as MODULE_KINDS,
)
from triage.privacy.masking import (
    SENSITIVE_KINDS,
    Finding,
    Masked,
    find_sensitive,
    mask_text,
    unmask_text,
)

SEEDS = {"dev": DEV_SEED, "held_out": HELD_OUT_SEED}


@pytest.fixture(scope="module", params=list(SEEDS), ids=list(SEEDS))
def seeded(request: pytest.FixtureRequest) -> tuple[list[SeededTicket], Evaluation]:
    tickets = generate(SEEDS[request.param])
    return tickets, evaluate(tickets, find_sensitive)


def test_the_generator_is_deterministic_and_seeds_differ() -> None:
    first, again, other = generate(DEV_SEED)[:20], generate(DEV_SEED)[:20], generate(HELD_OUT_SEED)[:20]
    assert first == again
    assert [t.body for t in first] != [t.body for t in other]


def _report(result: Evaluation) -> str:
    lines = [f"{kind}: {result.found[kind]}/{result.planted[kind]}" for kind in KINDS]
    lines.append(f"precision {result.precision:.4f}, decoys {result.decoys_survived}/{result.decoys}")
    lines += [f"miss {kind}: {value!r} in {context!r}" for kind, value, context in result.misses[:10]]
    lines += [
        f"false positive {kind}: {value!r} in {context!r}"
        for kind, value, context in result.false_positives[:10]
    ]
    lines += [
        f"broken decoy {kind}: {value!r} in {context!r}" for kind, value, context in result.broken_decoys[:10]
    ]
    return "\n".join(lines)


# --- the seeded sets ------------------------------------------------------------------------------


def test_the_seeded_set_is_big_varied_and_deterministic(
    seeded: tuple[list[SeededTicket], Evaluation],
) -> None:
    tickets, result = seeded
    assert KINDS == MODULE_KINDS
    assert len(tickets) >= 200
    assert {ticket.language for ticket in tickets} == set(LANGUAGES)
    assert all(result.planted[kind] >= 400 for kind in KINDS), result.planted
    assert result.decoys >= 400
    assert any(item.field == "subject" for ticket in tickets for item in ticket.planted)
    for ticket in tickets:  # spans are exact
        for item in ticket.planted + ticket.decoys:
            assert ticket.text(item.field)[item.start : item.end] == item.value


def test_recall_per_kind(seeded: tuple[list[SeededTicket], Evaluation]) -> None:
    _, result = seeded
    for kind in ("CARD", "IBAN", "EMAIL", "PHONE"):
        assert result.recall(kind) >= 0.98, _report(result)
    assert result.recall("SECRET") >= 0.90, _report(result)
    # not given a bar by the issue; reported, and held to the secrets' bar
    assert result.recall("NATIONAL_ID") >= 0.90, _report(result)
    assert result.recall("URL_CREDENTIALS") >= 0.90, _report(result)


def test_precision_and_decoys(seeded: tuple[list[SeededTicket], Evaluation]) -> None:
    _, result = seeded
    assert result.precision >= 0.95, _report(result)
    assert result.decoy_survival >= 0.99, _report(result)


def test_round_trip_over_the_whole_set(seeded: tuple[list[SeededTicket], Evaluation]) -> None:
    tickets, _ = seeded
    for ticket in tickets:
        subject = mask_text(ticket.subject)
        body = mask_text(ticket.body, existing=subject.replacements)
        assert unmask_text(subject.text, body.replacements) == ticket.subject
        assert unmask_text(body.text, body.replacements) == ticket.body


def test_no_planted_value_reaches_the_masked_text(seeded: tuple[list[SeededTicket], Evaluation]) -> None:
    tickets, _ = seeded
    leaks = []
    for ticket in tickets:
        subject = mask_text(ticket.subject)
        body = mask_text(ticket.body, existing=subject.replacements)
        masked = {"subject": subject.text, "body": body.text}
        leaks += [item.value for item in ticket.planted if item.value in masked[item.field]]
        for value in body.replacements.values():
            assert value not in subject.text + "\n" + body.text
        decoys_kept = [d for d in ticket.decoys if d.value in masked[d.field]]
        assert len(decoys_kept) >= len(ticket.decoys) - 1
    assert leaks == []


# --- what must survive ---------------------------------------------------------------------------

MUST_SURVIVE = [
    "I was charged twice for invoice INV-20931 and again on 2026-000123.",
    "Order #A-77812 and order 5531 are missing, PO-88213 too.",
    "Errors: E-40421, ERR_CONNECTION_RESET, 0x80070005, HTTP 502, SQLSTATE 40001, errno 111, exit code 137.",
    "Ticket #48213 was closed; case 00482913 is still open; ref. 7731-2210.",
    "Since 2026-03-14 09:14 UTC (14.03.2026, 03/14/2026 at 9:14 am, 14h30) nothing works.",
    "The invoice says $1,240.00 but should be 1.240,00 € (EUR 2.500,00, £85.50, R$ 1.234,56, ₹12,499).",
    "We run v2.14.3 on Windows 10.0.19045.3803 with Chrome 126.0.6478.127 and iOS 17.4.1.",
    "The server 192.168.10.24 and 10.0.0.1:8443 (and 2001:db8::1) answer, 203.0.113.42 doesn't.",
    "Request ID: 3f2b6c1e-8d4a-4e2f-9b1a-7c3d5e6f8a90, trace id 7c9e6679-7425-40de-944b-e07fc1f90ae7.",
    "See https://status.example.com/incidents/8841 and https://app.example.com/settings?tab=billing&page=2.",
    "The host api.eu.example.com and db-replica-02.internal resolve; smtp.mailgun.org times out.",
    "Tracking 1Z999AA10123456784, SKU 44-1021-77, customer CUST-004821, account acct_1M9x2KAbCdEfGh.",
    "Order #113-4829112-5501234 shipped to Springfield, IL 62704-1234 on 2026/03/14.",
    "Timestamp 1767225600, build 20260314.1, port 5432, 3 x 4 = 12, 12 500,00 EUR, CVE-2024-12345.",
    "The token endpoint /oauth/token returns 400; the token expired at 2026-03-14T09:14:22Z.",
    "Password reset doesn't work. The password field is required and the password is case-sensitive.",
    "Passwort ist abgelaufen. Le mot de passe est incorrect. La contraseña es incorrecta.",
    "Senha é obrigatória. La password è scaduta. Het wachtwoord is verlopen.",
    "I typed my password: ******** and it failed.",
    "See https://github.com/org/repo/pull/1234 and clone git@github.com:org/repo.git first.",
    "Steuernummer 21/815/08150, Rechnung RE-2026-0042 vom 14.03.2026 über 1.240,00 €.",
    "Il s'agit de la facture F202512345 du 14/03/2026, commande n° 4471203.",
    "El pedido nº 4471203 y la factura FAC-4821 (HTTP 503 desde las 09:14).",
    "P.IVA 04821730965, VAT ID: GB 284 1120 73, USt-IdNr. DE298417563, company no. 04418821.",
    "<Error><Code>NoSuchKey</Code><Key>ws_41882/att/9f2c7e1a-3b55-4e0a-a1d4-77c0f2b8e913</Key></Error>",
]


@pytest.mark.parametrize("text", MUST_SURVIVE)
def test_what_the_models_need_survives(text: str) -> None:
    assert find_sensitive(text) == []
    assert mask_text(text).text == text


# --- what real people write (formats the generator doesn't make) ------------------------------------

FOUND = [
    ("my cell is 415 555 0132, thanks", "415 555 0132", "PHONE"),
    ("Mobile +44 (0) 7911 123456", "+44 (0) 7911 123456", "PHONE"),
    ("ring me: 07911123456", "07911123456", "PHONE"),
    ("tel:+4930123456", "+4930123456", "PHONE"),
    ("Phone: 1-800-555-0199", "1-800-555-0199", "PHONE"),
    ("Rufnummer 089 / 1234 5678", "089 / 1234 5678", "PHONE"),
    ("WhatsApp +55 21 98765-4321", "+55 21 98765-4321", "PHONE"),
    ("Ligue para (21) 3456-7890", "(21) 3456-7890", "PHONE"),
    ("cellulare 347 123 4567", "347 123 4567", "PHONE"),
    ("o'connor@example.ie wrote", "o'connor@example.ie", "EMAIL"),
    ("a user 'support-ops@protonmail.com' was added", "support-ops@protonmail.com", "EMAIL"),
    ("call me on +44 7700 900412.", "+44 7700 900412", "PHONE"),  # a reserved range: possible, not valid
    ("write to First.Last@Sub-Domain.Example.co.uk.", "First.Last@Sub-Domain.Example.co.uk", "EMAIL"),
    ("iban de89 3704 0044 0532 0130 00 please", "de89 3704 0044 0532 0130 00", "IBAN"),
    ("IBAN: GB29NWBK60161331926819", "GB29NWBK60161331926819", "IBAN"),
    ("card 3782 822463 10005 (amex)", "3782 822463 10005", "CARD"),
    ("card 5555-5555-5555-4444", "5555-5555-5555-4444", "CARD"),
    ("pw=hunter2", "hunter2", "SECRET"),
    ("DB_PASSWORD=S3cr3t!x", "S3cr3t!x", "SECRET"),
    ("my password was reset to Welcome1 yesterday", "Welcome1", "SECRET"),
    ("New password for the shared mailbox is Tr4ck!ng-2026", "Tr4ck!ng-2026", "SECRET"),
    ('{"api_key": "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c"}', "3f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c", "SECRET"),
    ("X-API-Key: 3f9a8b7c6d5e4f3a2b1c", "3f9a8b7c6d5e4f3a2b1c", "SECRET"),
    (
        "AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "SECRET",
    ),
    ("Authorization: token ghp_16C7e42F292c6912E7710c838347Ae178B4a", None, "SECRET"),
    ("password: 'correct horse battery staple'", "correct horse battery staple", "SECRET"),
    ("Passwort lautet: Sommer2024", "Sommer2024", "SECRET"),
    ("la mia password è Gatto#77", "Gatto#77", "SECRET"),
    ("mot de passe : Soleil!2025", "Soleil!2025", "SECRET"),
    ("contraseña: Playa_2024", "Playa_2024", "SECRET"),
    ("my pw is Tigre99", "Tigre99", "SECRET"),
    ("Authorization: Basic dXNlcjpwYXNzd29yZA==", "dXNlcjpwYXNzd29yZA==", "SECRET"),
    ("xoxb-123456789012-1234567890123-AbCdEfGhIjKlMnOpQrStUvWx is our bot token", None, "SECRET"),
    ("AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE", "SECRET"),
    ("SSN: 123 45 6789", "123 45 6789", "NATIONAL_ID"),
    ("social security number is 123456789", "123456789", "NATIONAL_ID"),
    ("DNI: 12.345.678-Z", "12.345.678-Z", "NATIONAL_ID"),
    ("codice fiscale rssmra85t10a562s", "rssmra85t10a562s", "NATIONAL_ID"),
    ("NINO AB 12 34 56 C", "AB 12 34 56 C", "NATIONAL_ID"),
    ("mongodb://user:p%40ss@host/db", "user:p%40ss", "URL_CREDENTIALS"),
    (
        "https://x.example.com/dl?X-Amz-Signature=abcdef0123456789abcdef",
        "abcdef0123456789abcdef",
        "URL_CREDENTIALS",
    ),
    (
        "https://hooks.slack.com/services/T00000000/B00000000/XXXXXXXXXXXXXXXXXXXXXXXX",
        None,
        "URL_CREDENTIALS",
    ),
]


@pytest.mark.parametrize(("text", "value", "kind"), FOUND)
def test_what_real_people_write_is_found(text: str, value: str | None, kind: str) -> None:
    findings = find_sensitive(text)
    assert any(f.kind == kind and (value is None or f.value == value) for f in findings), findings
    masked = mask_text(text)
    if value is not None:
        assert value not in masked.text
    assert unmask_text(masked.text, masked.replacements) == text


def test_checksums_keep_look_alikes_out() -> None:
    # Luhn-invalid card, mod-97-invalid IBAN, invalid DNI letter, BSN failing the 11-test with its keyword
    text = "Card 4111 1111 1111 1112, IBAN DE89 3704 0044 0532 0130 01, DNI 12345678A, BSN 123456789."
    assert find_sensitive(text) == []


# --- the interface --------------------------------------------------------------------------------


def test_findings_are_sorted_non_overlapping_slices() -> None:
    text = "Mail a.b@example.com, call +44 20 7946 0958, card 4111-1111-1111-1111, pw: Hunter22!"
    findings = find_sensitive(text)
    assert [f.kind for f in findings] == ["EMAIL", "PHONE", "CARD", "SECRET"]
    assert all(isinstance(f, Finding) and text[f.start : f.end] == f.value for f in findings)
    assert all(a.end <= b.start for a, b in zip(findings, findings[1:], strict=False))


def test_placeholders_are_stable_within_and_across_calls() -> None:
    subject = mask_text("Call me back on +44 20 7946 0958 (jane@example.com)")
    assert subject.text == "Call me back on <PHONE_1> (<EMAIL_1>)"
    body = mask_text(
        "As I said, +44 20 7946 0958. Or bob@example.com, or again jane@example.com.",
        existing=subject.replacements,
    )
    assert body.text == "As I said, <PHONE_1>. Or <EMAIL_2>, or again <EMAIL_1>."
    assert body.replacements == {
        "<PHONE_1>": "+44 20 7946 0958",
        "<EMAIL_1>": "jane@example.com",
        "<EMAIL_2>": "bob@example.com",
    }
    assert body.counts == {"EMAIL": 2, "PHONE": 1}  # distinct values in this text
    assert body.total == 3 and not body.sensitive
    # a later prompt quoting the ticket gets the same placeholders
    prompt = mask_text("Ticket: jane@example.com / +44 20 7946 0958", existing=body.replacements)
    assert prompt.text == "Ticket: <EMAIL_1> / <PHONE_1>"


def test_existing_is_not_changed() -> None:
    existing = {"<EMAIL_1>": "jane@example.com"}
    result = mask_text("bob@example.com", existing=existing)
    assert existing == {"<EMAIL_1>": "jane@example.com"}
    assert result.replacements == {"<EMAIL_1>": "jane@example.com", "<EMAIL_2>": "bob@example.com"}


def test_sensitive_kinds() -> None:
    assert frozenset({"CARD", "IBAN", "SECRET", "URL_CREDENTIALS"}) == SENSITIVE_KINDS
    assert mask_text("card 4111 1111 1111 1111").sensitive
    assert mask_text("IBAN DE89370400440532013000").sensitive
    assert mask_text("password: Hunter22!").sensitive
    assert mask_text("postgres://app:S3cret!x@db.internal/app").sensitive
    assert not mask_text("call +44 20 7946 0958, a@b.example.com, SSN 123-45-6789").sensitive
    clean = mask_text("Nothing here, invoice INV-20931.")
    assert isinstance(clean, Masked) and clean.counts == {} and clean.total == 0 and not clean.sensitive
    assert clean.text == "Nothing here, invoice INV-20931."


@pytest.mark.parametrize(
    "reply",
    [
        "We wrote to <EMAIL_1> about {0}.",
        "We wrote to EMAIL_1 about {0}.",
        "We wrote to < EMAIL_1 > about {0}.",
        "We wrote to &lt;EMAIL_1&gt; about {0}.",
        "We wrote to [EMAIL_1] about {0}.",
        "We wrote to {{EMAIL_1}} about {0}.",
        "We wrote to \\<EMAIL_1\\> about {0}.",
    ],
)
def test_a_models_reply_gets_the_values_back(reply: str) -> None:
    masked = mask_text("I'm jane@example.com, my card is 4111 1111 1111 1111.")
    assert masked.text == "I'm <EMAIL_1>, my card is <CARD_1>."
    answer = reply.format("CARD_1")
    assert (
        unmask_text(answer, masked.replacements) == "We wrote to jane@example.com about 4111 1111 1111 1111."
    )


def test_unknown_placeholders_and_look_alikes_stay() -> None:
    replacements = {"<EMAIL_1>": "jane@example.com"}
    text = "<EMAIL_2>, EMAIL_12, MY_EMAIL_1, <PHONE_1>, email_1 and EMAIL_1."
    assert (
        unmask_text(text, replacements)
        == "<EMAIL_2>, EMAIL_12, MY_EMAIL_1, <PHONE_1>, email_1 and jane@example.com."
    )
    assert unmask_text("", replacements) == ""
    assert unmask_text("no placeholders", {}) == "no placeholders"


def test_a_customer_writing_a_placeholder_is_not_confused() -> None:
    text = "Your template shows <EMAIL_1> instead of my address jane@example.com."
    masked = mask_text(text)
    assert "jane@example.com" not in masked.text
    assert masked.replacements == {"<EMAIL_2>": "jane@example.com"}  # 1 is taken by the customer's text
    assert masked.text == "Your template shows <EMAIL_1> instead of my address <EMAIL_2>."
    assert unmask_text(masked.text, masked.replacements) == text
    # the model quotes both: the literal stays literal
    assert (
        unmask_text("You saw <EMAIL_1> instead of <EMAIL_2>.", masked.replacements)
        == "You saw <EMAIL_1> instead of jane@example.com."
    )


def test_a_literal_placeholder_colliding_with_an_earlier_call_is_kept_apart() -> None:
    subject = mask_text("Wrong address jane@example.com")
    assert subject.text == "Wrong address <EMAIL_1>"
    body = "The mail merge printed <EMAIL_1> and EMAIL_1 literally; my address is jane@example.com."
    masked = mask_text(body, existing=subject.replacements)
    assert "jane@example.com" not in masked.text
    assert unmask_text(masked.text, masked.replacements) == body
    assert masked.text.count("<EMAIL_1>") == 1  # only the real address
    assert masked.counts == {"EMAIL": 1}  # the literals are not customer data


def test_pathological_inputs_finish_and_round_trip() -> None:
    """A 64 KB body of each shape a quadratic pattern would choke on (the bench prints timings)."""
    inputs = [
        "1 " * 32768,
        "1234 " * 13107,
        "a@" * 32768,
        "a" * 65000 + "@",
        "token: " * 9362,
        "password: x1 " * 5041,
        "https://a.com/?" + "token=abc&" * 6500,
        "DE89 " * 13107,
        "(1) " * 16384,
        "Tel: +49 30 1234567, " * 3000,
    ]
    for text in inputs:
        masked = mask_text(text)
        assert unmask_text(masked.text, masked.replacements) == text
