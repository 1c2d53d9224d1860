"""Every inbound door, through Django's test client on the real URL: email providers' webhooks,
helpdesk webhooks and ``manage.py ingest_email``. Each: a bad signature is 401, a malformed body is
400/422 in the API's error shape, a redelivery is the same ticket (nothing stored twice), and a 2xx
means the ticket row is there."""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import json
import time
from email.message import EmailMessage
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.test import Client

from tests.support.fake_helpdesks import zendesk_signed_post
from triage.connectors.helpdesks import zendesk
from triage.models import Connector, Ticket, TicketMessage

pytestmark = pytest.mark.django_db

MAILGUN_KEY = "mailgun-signing-key"
TOKEN = "inbound-shared-token"
ZENDESK_SECRET = "zendesk-signing-secret"
FRESHDESK_SECRET = "freshdesk-shared-secret"


@pytest.fixture
def sources(presets: None, monkeypatch: pytest.MonkeyPatch) -> dict[str, Connector]:
    monkeypatch.setenv("MAILGUN_SIGNING_KEY", MAILGUN_KEY)
    monkeypatch.setenv("POSTMARK_INBOUND_TOKEN", TOKEN)
    monkeypatch.setenv("SENDGRID_INBOUND_TOKEN", TOKEN)
    monkeypatch.setenv("ZENDESK_WEBHOOK_SECRET", ZENDESK_SECRET)
    monkeypatch.setenv("FRESHDESK_WEBHOOK_SECRET", FRESHDESK_SECRET)
    make = Connector.objects.create
    return {
        "postmark": make(name="support-postmark", kind="postmark", secret_env="POSTMARK_INBOUND_TOKEN"),
        "mailgun": make(name="support-mailgun", kind="mailgun", secret_env="MAILGUN_SIGNING_KEY"),
        "sendgrid": make(name="support-sendgrid", kind="sendgrid", secret_env="SENDGRID_INBOUND_TOKEN"),
        "zendesk": make(name="acme", kind="zendesk", secret_env="ZENDESK_WEBHOOK_SECRET", write_back=False),
        "freshdesk": make(
            name="acme-fd", kind="freshdesk", secret_env="FRESHDESK_WEBHOOK_SECRET", write_back=False
        ),
    }


def assert_error_shape(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["message"]
    return error


def basic(password: str) -> str:
    return "Basic " + base64.b64encode(f"postmark:{password}".encode()).decode()


def postmark_payload(message_id: str = "<abc-1@mail.example.com>", **extra: Any) -> dict[str, Any]:
    return {
        "From": "Dana Smith <dana@example.com>",
        "FromName": "Dana Smith",
        "FromFull": {"Email": "dana@example.com", "Name": "Dana Smith"},
        "To": "support@acme.test",
        "Subject": "Invoice INV-20931 charged twice",
        "MessageID": "22c74902-a0c1-4511-804f-341342852c90",
        "Date": "Thu, 3 Dec 2026 09:14:00 +0000",
        "TextBody": "Hi, we were charged twice for invoice INV-20931 this month. Please refund one.\n\n"
        "On Wed, Dec 2, 2026 at 10:00 AM Billing <billing@acme.test> wrote:\n> Your invoice is ready.",
        "HtmlBody": "",
        "StrippedTextReply": "",
        "Headers": [{"Name": "Message-ID", "Value": message_id}],
        "Attachments": [],
        **extra,
    }


def post_postmark(client: Client, payload: Any, *, token: str = TOKEN) -> Any:
    body = payload if isinstance(payload, str) else json.dumps(payload)
    return client.post(
        "/inbound/email/support-postmark",
        data=body,
        content_type="application/json",
        HTTP_AUTHORIZATION=basic(token),
    )


def test_postmark_email_becomes_a_ticket_once_and_the_customer_words_without_the_quote(
    sources: Any, client: Client
) -> None:
    first = post_postmark(client, postmark_payload())
    assert first.status_code == 201, first.content
    ticket = Ticket.objects.get(pk=first.json()["ticket_id"])
    assert ticket.channel == Ticket.Channel.EMAIL and ticket.connector == sources["postmark"]
    assert ticket.subject == "Invoice INV-20931 charged twice"
    assert "charged twice for invoice INV-20931" in ticket.body
    assert "Your invoice is ready" not in ticket.body  # quoted history trimmed
    assert ticket.customer_email == "dana@example.com" and ticket.customer_name == "Dana Smith"
    assert ticket.external_id == "abc-1@mail.example.com"
    assert ticket.steps.count() == 4  # queued for triage like any other ticket
    again = post_postmark(client, postmark_payload())
    assert again.status_code == 200
    assert again.json() == {**first.json(), "created": False}
    assert Ticket.objects.count() == 1 and TicketMessage.objects.count() == 1


def test_a_reply_in_the_thread_joins_its_ticket(sources: Any, client: Client) -> None:
    first = post_postmark(client, postmark_payload()).json()
    reply = postmark_payload(
        "<abc-2@mail.example.com>",
        Subject="Re: Invoice INV-20931 charged twice",
        TextBody="Any news? The second charge is still there.",
        Headers=[
            {"Name": "Message-ID", "Value": "<abc-2@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": "<abc-1@mail.example.com>"},
            {"Name": "References", "Value": "<abc-1@mail.example.com>"},
        ],
    )
    response = post_postmark(client, reply)
    assert response.status_code == 200
    assert response.json()["ticket_id"] == first["ticket_id"] and response.json()["appended"] is True
    assert Ticket.objects.count() == 1
    thread = list(TicketMessage.objects.filter(ticket_id=first["ticket_id"]).values_list("body", flat=True))
    assert thread[1] == "Any news? The second charge is still there."
    assert post_postmark(client, reply).json()["appended"] is False  # a redelivered reply isn't added twice
    assert TicketMessage.objects.count() == 2


def test_postmark_bad_secret_and_malformed_bodies(sources: Any, client: Client) -> None:
    assert_error_shape(post_postmark(client, postmark_payload(), token="wrong"), 401)
    assert assert_error_shape(post_postmark(client, "{not json"), 400)["code"] == "invalid_json"
    missing_from = {k: v for k, v in postmark_payload().items() if k not in ("From", "FromFull", "FromName")}
    assert_error_shape(post_postmark(client, missing_from), 422)
    assert Ticket.objects.count() == 0


def test_a_door_refuses_everything_while_its_secret_is_unset(
    sources: Any, client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POSTMARK_INBOUND_TOKEN")
    assert_error_shape(post_postmark(client, postmark_payload()), 401)
    assert_error_shape(post_postmark(client, postmark_payload(), token=""), 401)


def test_unknown_or_disabled_sources_are_404(sources: Any, client: Client) -> None:
    assert_error_shape(client.post("/inbound/email/nope", data="{}", content_type="application/json"), 404)
    Connector.objects.filter(name="support-postmark").update(enabled=False)
    assert_error_shape(post_postmark(client, postmark_payload()), 404)
    assert_error_shape(
        client.post("/inbound/zendesk/acme-fd", data="{}", content_type="application/json"), 404
    )


def mailgun_form(*, timestamp: str | None = None, key: str = MAILGUN_KEY, **extra: Any) -> dict[str, Any]:
    timestamp = timestamp or str(int(time.time()))
    token = "f" * 50
    signature = hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()
    return {
        "sender": "lee@example.org",
        "from": "Lee Wong <lee@example.org>",
        "recipient": "support@acme.test",
        "subject": "API returns 500 on /v2/orders",
        "body-plain": "Since 08:00 every call to /v2/orders returns HTTP 500.\n\n"
        "-- \nLee Wong\nCTO, Example Org",
        "stripped-text": "Since 08:00 every call to /v2/orders returns HTTP 500.",
        "Message-Id": "<mg-1@example.org>",
        "message-headers": json.dumps(
            [["Message-Id", "<mg-1@example.org>"], ["From", "Lee Wong <lee@example.org>"]]
        ),
        "timestamp": timestamp,
        "token": token,
        "signature": signature,
        **extra,
    }


def test_mailgun_signed_form_becomes_a_ticket_with_its_attachment_listed(
    sources: Any, client: Client
) -> None:
    form = mailgun_form(**{"attachment-count": "1"})
    form["attachment-1"] = SimpleUploadedFile("trace.log", b"x" * 2048, content_type="text/plain")
    response = client.post("/inbound/email/support-mailgun", data=form)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert "returns HTTP 500" in ticket.body and "CTO, Example Org" not in ticket.body
    message = TicketMessage.objects.get()
    assert message.attachments == [
        {"name": "trace.log", "content_type": "text/plain", "size": 2048, "stored": ""}
    ]
    form["attachment-1"] = SimpleUploadedFile("trace.log", b"x" * 2048, content_type="text/plain")
    assert client.post("/inbound/email/support-mailgun", data=form).status_code == 200
    assert Ticket.objects.count() == 1


def test_mailgun_wrong_key_or_stale_timestamp_is_401(sources: Any, client: Client) -> None:
    assert_error_shape(client.post("/inbound/email/support-mailgun", data=mailgun_form(key="other")), 401)
    stale = str(int(time.time()) - 3600)
    assert_error_shape(client.post("/inbound/email/support-mailgun", data=mailgun_form(timestamp=stale)), 401)
    assert Ticket.objects.count() == 0


def test_sendgrid_raw_mime_mode_with_a_query_token(sources: Any, client: Client) -> None:
    message = EmailMessage()
    message["From"] = "Ana Lima <ana@example.com.br>"
    message["To"] = "support@acme.test"
    message["Subject"] = "Não consigo acessar o painel"
    message["Message-ID"] = "<sg-1@example.com.br>"
    message.set_content("Desde ontem não consigo acessar o painel. Erro 403.", charset="iso-8859-1")
    form = {
        "email": message.as_bytes().decode("latin-1"),
        "to": "support@acme.test",
        "from": "ana@example.com.br",
    }
    assert_error_shape(client.post("/inbound/email/support-sendgrid", data=form), 401)
    response = client.post(f"/inbound/email/support-sendgrid?token={TOKEN}", data=form)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.subject == "Não consigo acessar o painel"
    assert "Erro 403" in ticket.body and ticket.language == "pt"


def test_sendgrid_parsed_fields_mode(sources: Any, client: Client) -> None:
    headers = "Message-ID: <sg-2@example.com>\nFrom: Sam <sam@example.com>\nSubject: Refund please\n"
    form = {
        "headers": headers,
        "from": "Sam <sam@example.com>",
        "to": "support@acme.test",
        "subject": "Refund please",
        "text": "Please refund order 5531, it arrived broken.",
        "charsets": json.dumps({"text": "utf-8", "subject": "utf-8", "from": "utf-8"}),
    }
    response = client.post("/inbound/email/support-sendgrid", data=form, HTTP_AUTHORIZATION=basic(TOKEN))
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().external_id == "sg-2@example.com"


def zendesk_post(
    client: Client, payload: Any, *, secret: str = ZENDESK_SECRET, timestamp: str | None = None
) -> Any:
    body = (payload if isinstance(payload, str) else json.dumps(payload)).encode()
    return zendesk_signed_post(client, "/inbound/zendesk/acme", body, secret=secret, timestamp=timestamp)


def zendesk_ticket(ticket_id: int = 4711) -> dict[str, Any]:
    """The JSON our documented trigger body renders to (zendesk.WEBHOOK_BODY_TEMPLATE)."""
    rendered = (
        zendesk.WEBHOOK_BODY_TEMPLATE.replace("{{ticket.id}}", str(ticket_id))
        .replace("{{ticket.title}}", "Checkout is down for all our stores")
        .replace(
            "{{ticket.description}}", "Since 09:10 UTC no customer can pay. We are on the Enterprise plan."
        )
        .replace("{{ticket.requester.email}}", "ops@bigshop.example")
        .replace("{{ticket.requester.name}}", "Big Shop Ops")
    )
    import re

    rendered = re.sub(r"\{\{[^}]+\}\}", "", rendered)  # placeholders a trigger may leave empty
    return json.loads(rendered)


def test_zendesk_webhook_makes_one_ticket_per_zendesk_ticket(sources: Any, client: Client) -> None:
    first = zendesk_post(client, zendesk_ticket())
    assert first.status_code == 201, first.content
    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.ZENDESK and ticket.external_id == "4711"
    assert ticket.customer_email == "ops@bigshop.example"
    assert "no customer can pay" in ticket.body
    assert (
        zendesk_post(client, zendesk_ticket()).status_code == 200
    )  # redelivered (or fired by our write-back)
    assert zendesk_post(client, zendesk_ticket(4712)).status_code == 201
    assert Ticket.objects.count() == 2


def test_zendesk_bad_signatures_and_malformed_payloads(sources: Any, client: Client) -> None:
    assert_error_shape(zendesk_post(client, zendesk_ticket(), secret="wrong"), 401)
    assert_error_shape(zendesk_post(client, zendesk_ticket(), timestamp="2020-01-01T00:00:00Z"), 401)
    unsigned = client.post(
        "/inbound/zendesk/acme", data=json.dumps(zendesk_ticket()), content_type="application/json"
    )
    assert_error_shape(unsigned, 401)
    assert_error_shape(zendesk_post(client, "[1, 2"), 400)
    error = assert_error_shape(zendesk_post(client, {"ticket": {"title": "no id"}}), 422)
    assert "id" in error["message"]
    assert Ticket.objects.count() == 0


def test_freshdesk_webhook_with_its_shared_secret_header(sources: Any, client: Client) -> None:
    from triage.connectors.helpdesks import freshdesk

    rendered = (
        freshdesk.WEBHOOK_BODY_TEMPLATE.replace("{{ticket.id}}", "88")
        .replace("{{ticket.subject}}", "Password reset email never arrives")
        .replace("{{ticket.description}}", "I requested it five times today.")
    )
    import re

    body = json.loads(re.sub(r"\{\{[^}]+\}\}", "", rendered))
    post = lambda secret: client.post(  # noqa: E731
        "/inbound/freshdesk/acme-fd",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_TRIAGE_SECRET=secret,
    )
    assert_error_shape(post("wrong"), 401)
    response = post(FRESHDESK_SECRET)
    assert response.status_code == 201, response.content
    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.FRESHDESK and ticket.external_id == "88"
    assert post(FRESHDESK_SECRET).status_code == 200 and Ticket.objects.count() == 1


def raw_email(
    message_id: str | None = "<raw-1@example.net>", body: str = "The export button does nothing."
) -> bytes:
    message = EmailMessage()
    message["From"] = "Kim <kim@example.net>"
    message["To"] = "support@acme.test"
    message["Subject"] = "Export broken"
    if message_id:
        message["Message-ID"] = message_id
    message["Date"] = "Fri, 4 Dec 2026 10:00:00 +0000"
    message.set_content(body)
    return message.as_bytes()


def ingest(raw: bytes, monkeypatch: pytest.MonkeyPatch, *args: str) -> str:
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(raw)))
    call_command("ingest_email", *args, stdout=out)
    return out.getvalue()


def test_ingest_email_command_files_once_per_message_id(
    presets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert "created" in ingest(raw_email(), monkeypatch)
    assert "already filed" in ingest(raw_email(), monkeypatch)
    ticket = Ticket.objects.get()
    assert ticket.channel == Ticket.Channel.EMAIL and ticket.connector.kind == Connector.Kind.EMAIL
    # no Message-ID: a key derived from the message itself keeps a redelivery the same ticket
    assert "created" in ingest(raw_email(None, "Another problem."), monkeypatch)
    assert "already filed" in ingest(raw_email(None, "Another problem."), monkeypatch)
    assert Ticket.objects.count() == 2


def test_ingest_email_rejects_what_is_not_an_email_with_a_data_error(
    presets: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SystemExit) as exited:
        ingest(b"", monkeypatch)
    assert exited.value.code == 65
    assert Ticket.objects.count() == 0


def test_attachments_are_stored_only_when_the_connector_keeps_them(
    presets: None, monkeypatch: pytest.MonkeyPatch, settings: Any, tmp_path: Any
) -> None:
    settings.TRIAGE_ATTACHMENTS_DIR = tmp_path / "attachments"
    Connector.objects.create(name="email", kind="email", keep_attachments=True)
    message = EmailMessage()
    message["From"] = "kim@example.net"
    message["Subject"] = "Screenshot of the error"
    message["Message-ID"] = "<att-1@example.net>"
    message.set_content("See the attached screenshot.")
    message.add_attachment(b"\x89PNG fake", maintype="image", subtype="png", filename="error.png")
    ingest(message.as_bytes(), monkeypatch)
    entry = TicketMessage.objects.get().attachments[0]
    assert entry["name"] == "error.png" and entry["size"] == len(b"\x89PNG fake")
    assert (tmp_path / "attachments" / entry["stored"]).read_bytes() == b"\x89PNG fake"


def test_a_10_mb_attachment_comes_through_the_json_door_listed_not_stored(
    sources: Any, client: Client
) -> None:
    blob = bytes(range(256)) * (10 * 1024 * 1024 // 256)
    payload = postmark_payload(
        "<big-1@mail.example.com>",
        Attachments=[
            {
                "Name": "capture.pcap",
                "Content": base64.b64encode(blob).decode(),
                "ContentType": "application/vnd.tcpdump.pcap",
                "ContentLength": len(blob),
            }
        ],
    )
    response = post_postmark(client, payload)  # ~14 MB of JSON: past Django's 2.5 MB form limit
    assert response.status_code == 201, response.content[:300]
    entry = TicketMessage.objects.get().attachments[0]
    assert entry == {
        "name": "capture.pcap",
        "content_type": "application/vnd.tcpdump.pcap",
        "size": len(blob),
        "stored": "",
    }


def test_a_body_over_the_inbound_limit_is_413(sources: Any, client: Client, settings: Any) -> None:
    settings.TRIAGE_INBOUND_MAX_BYTES = 1000
    assert_error_shape(post_postmark(client, postmark_payload(TextBody="x" * 2000)), 413)


def test_control_characters_in_an_email_are_dropped_not_refused(sources: Any, client: Client) -> None:
    response = post_postmark(client, postmark_payload(TextBody="Export fails\u0000 with error E-1234\u001b."))
    assert response.status_code == 201, response.content
    assert Ticket.objects.get().body == "Export fails with error E-1234."


def test_other_malformed_bodies_are_422_naming_the_field(sources: Any, client: Client) -> None:
    form = mailgun_form()
    del form["from"], form["sender"]
    del form["message-headers"]
    error = assert_error_shape(client.post("/inbound/email/support-mailgun", data=form), 422)
    assert "from" in error["message"].lower()
    no_text = {"to": "support@acme.test"}
    assert_error_shape(client.post(f"/inbound/email/support-sendgrid?token={TOKEN}", data=no_text), 422)
    fd = client.post(
        "/inbound/freshdesk/acme-fd", data=json.dumps({"subject": "no id"}), content_type="application/json",
        HTTP_X_TRIAGE_SECRET=FRESHDESK_SECRET,
    )  # fmt: skip
    assert_error_shape(fd, 422)
    assert_error_shape(client.get("/inbound/email/support-postmark"), 405)
    assert Ticket.objects.count() == 0


def test_sendgrid_redelivery_is_the_same_ticket(sources: Any, client: Client) -> None:
    form = {
        "headers": "Message-ID: <sg-3@example.com>\nFrom: Sam <sam@example.com>\n",
        "from": "Sam <sam@example.com>",
        "subject": "Broken zipper",
        "text": "My order 7781 arrived with a broken zipper.",
    }
    url = f"/inbound/email/support-sendgrid?token={TOKEN}"
    first, second = client.post(url, data=form), client.post(url, data=form)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["ticket_id"] == second.json()["ticket_id"] and Ticket.objects.count() == 1


def test_a_replayed_mailgun_signature_with_another_message_is_refused(sources: Any, client: Client) -> None:
    form = mailgun_form()
    assert client.post("/inbound/email/support-mailgun", data=form).status_code == 201
    assert client.post("/inbound/email/support-mailgun", data=form).status_code == 200  # Mailgun's own retry
    forged = {**form, "Message-Id": "<forged@example.org>", "body-plain": "Please refund everything to me."}
    forged["message-headers"] = json.dumps([["Message-Id", "<forged@example.org>"]])
    assert_error_shape(client.post("/inbound/email/support-mailgun", data=forged), 401)
    assert Ticket.objects.count() == 1


def test_a_reply_only_joins_a_thread_of_the_same_mailbox(sources: Any, client: Client) -> None:
    first = post_postmark(client, postmark_payload()).json()
    other = Connector.objects.create(
        name="other-postmark", kind="postmark", secret_env="POSTMARK_INBOUND_TOKEN"
    )
    reply = postmark_payload(
        "<other-2@mail.example.com>",
        Headers=[
            {"Name": "Message-ID", "Value": "<other-2@mail.example.com>"},
            {"Name": "In-Reply-To", "Value": "<abc-1@mail.example.com>"},
        ],
    )
    response = client.post(
        f"/inbound/email/{other.name}", data=json.dumps(reply), content_type="application/json",
        HTTP_AUTHORIZATION=basic(TOKEN),
    )  # fmt: skip
    assert response.status_code == 201 and response.json()["ticket_id"] != first["ticket_id"]
