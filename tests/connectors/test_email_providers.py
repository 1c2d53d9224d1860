"""Inbound email from the providers' webhooks, shaped as each provider documents it:

- Postmark inbound webhook JSON: https://postmarkapp.com/developer/webhooks/inbound-webhook
  (basic auth in the webhook URL: https://postmarkapp.com/developer/webhooks/webhooks-overview)
- Mailgun route forward() POST: https://documentation.mailgun.com/docs/mailgun/user-manual/receive-forward-store/receive-http
  (signature: https://documentation.mailgun.com/docs/mailgun/user-manual/webhooks/securing-webhooks)
- SendGrid Inbound Parse: https://www.twilio.com/docs/sendgrid/for-developers/parsing-email/setting-up-the-inbound-parse-webhook
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import QueryDict

from triage.connectors.email_parsing import parse_rfc822
from triage.connectors.email_providers import (
    InboundRejected,
    mailgun_email,
    mailgun_signature_valid,
    postmark_email,
    sendgrid_email,
    shared_secret_valid,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "email"

REPLY_TEXT = (
    "Hi Support,\n\nOn Monday the export failed again, this time with error E-4012.\n\nThanks,\nAnna\n\n"
    "-- \nAnna Schmidt\nOperations Lead\n\n"
    "On Mon, 3 Mar 2025 at 10:00, Support Team <support@example.com> wrote:\n\n> could you tell us when?\n"
)
REPLY_BODY = "Hi Support,\n\nOn Monday the export failed again, this time with error E-4012.\n\nThanks,\nAnna"


def postmark_payload() -> dict[str, Any]:
    payload: dict[str, Any] = json.loads((DATA / "postmark_inbound.json").read_text(encoding="utf-8"))
    return payload


def assert_malformed(error: pytest.ExceptionInfo[InboundRejected], field: str) -> None:
    assert error.value.status == 422
    assert error.value.code == "malformed_payload"
    assert field in error.value.message


# --- Postmark -------------------------------------------------------------------------------------------


def test_postmark_payload_becomes_the_ticket_email() -> None:
    email = postmark_email(postmark_payload())

    assert email.sender_email == "kenji.watanabe@example.jp"  # FromFull.Email, lower-cased; not ReplyTo
    assert email.sender_name == "Kenji Watanabe"
    assert email.subject == "Re: Nightly export failed"
    assert email.body == (
        "Hi,\n\nthe nightly export to S3 failed again (job 8812), log attached.\n\nThanks,\nKenji"
    )
    assert email.date == datetime(2025, 3, 4, 10, 5, tzinfo=timezone(timedelta(hours=9)))


def test_postmark_message_id_comes_from_the_headers_not_postmarks_own() -> None:
    email = postmark_email(postmark_payload())

    assert email.message_id == "CAKx9Yp3mN7qR2sT5vW8xZ0aB1cD4eF6gH@mail.gmail.com"
    assert email.references == ("export-8812-1@support.example.com", "export-8800-1@support.example.com")


def test_postmark_message_id_falls_back_to_postmarks_id() -> None:
    payload = postmark_payload()
    payload["Headers"] = [item for item in payload["Headers"] if item["Name"] != "Message-ID"]

    assert postmark_email(payload).message_id == "73e6d360-66eb-11e1-8e72-a8206ea7d3c5"


def test_postmark_attachments_listed_and_kept_only_when_asked() -> None:
    listed = postmark_email(postmark_payload()).attachments
    kept = postmark_email(postmark_payload(), keep_attachments=True).attachments

    assert [(item.name, item.content_type, item.size, item.content) for item in listed] == [
        ("export-8812.log", "text/plain", 59, None),
        ("report.pdf", "application/pdf", 83, None),
    ]
    assert kept[0].content == b"2025-03-04T10:01:02Z ERROR export job 8812 failed: timeout\n"
    assert kept[1].content is not None and kept[1].content.startswith(b"%PDF-1.4")


def test_postmark_html_only_is_converted_and_trimmed() -> None:
    payload = postmark_payload()
    payload["TextBody"] = ""

    assert postmark_email(payload).body == (
        "Hi,\n\nthe nightly export to S3 failed again (job 8812), log attached.\n\nThanks,\nKenji"
    )


def test_postmark_stripped_reply_is_the_last_resort() -> None:
    payload = postmark_payload()
    payload["TextBody"] = payload["HtmlBody"] = ""
    payload["StrippedTextReply"] = "Only the stripped reply."

    assert postmark_email(payload).body == "Only the stripped reply."


def test_postmark_plain_from_without_fromfull() -> None:
    payload = postmark_payload()
    del payload["FromFull"]
    payload["From"] = '"Kenji W." <KENJI@example.jp>'
    payload["FromName"] = ""

    email = postmark_email(payload)

    assert (email.sender_email, email.sender_name) == ("kenji@example.jp", "Kenji W.")


def _set(path: str, value: object) -> Callable[[dict[str, Any]], None]:
    def mutate(payload: dict[str, Any]) -> None:
        target: Any = payload
        *parents, last = path.split(".")
        for key in parents:
            target = target[int(key)] if key.isdigit() else target[key]
        target[int(last) if last.isdigit() else last] = value

    return mutate


def _drop_sender(payload: dict[str, Any]) -> None:
    del payload["From"], payload["FromFull"]


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        pytest.param(_drop_sender, "From", id="no-sender"),
        pytest.param(_set("FromFull", "kenji@example.jp"), "FromFull", id="fromfull-not-object"),
        pytest.param(_set("FromFull.Email", 42), "FromFull.Email", id="fromfull-email-number"),
        pytest.param(_set("Subject", ["x"]), "Subject", id="subject-list"),
        pytest.param(_set("TextBody", 1), "TextBody", id="textbody-number"),
        pytest.param(_set("Headers", "Message-ID: <x@y>"), "Headers", id="headers-string"),
        pytest.param(_set("Headers.0", "x"), "Headers[0]", id="header-not-object"),
        pytest.param(_set("Headers.7.Value", None), "", id="header-value-null-is-fine"),
        pytest.param(_set("Headers.8.Value", 5), "Headers[8].Value", id="header-value-number"),
        pytest.param(_set("Attachments", {}), "Attachments", id="attachments-object"),
        pytest.param(
            _set("Attachments.0.Content", "@@not base64@@="), "Attachments[0].Content", id="bad-base64"
        ),
        pytest.param(_set("Attachments.1", None), "Attachments[1]", id="attachment-null"),
    ],
)
def test_postmark_malformed_payload_is_rejected_with_the_field_named(
    mutate: Callable[[dict[str, Any]], None], field: str
) -> None:
    payload = postmark_payload()
    mutate(payload)

    if not field:  # a null where a string may be missing is not malformed
        assert postmark_email(payload).sender_email == "kenji.watanabe@example.jp"
        return
    with pytest.raises(InboundRejected) as error:
        postmark_email(payload)
    assert_malformed(error, field)


@pytest.mark.parametrize("payload", [[], "x", None, {}, {"From": None}, {"FromFull": {}}])
def test_postmark_garbage_is_rejected_not_a_crash(payload: Any) -> None:
    with pytest.raises(InboundRejected) as error:
        postmark_email(payload)
    assert error.value.status == 422


def test_postmark_payload_is_not_modified() -> None:
    payload = postmark_payload()
    before = copy.deepcopy(payload)

    postmark_email(payload, keep_attachments=True)

    assert payload == before


# --- Mailgun --------------------------------------------------------------------------------------------

SIGNING_KEY = "key-3ax6xnjp29jd6fds4gc373sgvjxteol0"
TOKEN = "e0b5477167110d68991efc6b9f89f0a11066af27834600e123"  # 50 characters, as Mailgun sends
TIMESTAMP = "1741079722"


def mailgun_signature(timestamp: str = TIMESTAMP, token: str = TOKEN, key: str = SIGNING_KEY) -> str:
    """As documented: hex HMAC-SHA256 of timestamp + token, keyed with the webhook signing key."""
    return hmac.new(key.encode(), (timestamp + token).encode(), hashlib.sha256).hexdigest()


def mailgun_fields(**overrides: str) -> dict[str, str]:
    headers = [
        ["Received", "from mail-ej1-f41.google.com by mxa.mailgun.org with ESMTP"],
        ["Mime-Version", "1.0"],
        ["From", "Anna Schmidt <Anna.Schmidt@example.org>"],
        ["Date", "Tue, 4 Mar 2025 10:15:08 +0100"],
        ["Message-Id", "<CAJx8Lk2vQ9@mail.gmail.com>"],
        ["Subject", "Re: [#4711] Export fails"],
        ["To", "support@mg.example.com"],
        ["In-Reply-To", "<ticket-4711-2@support.example.com>"],
        ["References", "<ticket-4711-1@support.example.com> <ticket-4711-2@support.example.com>"],
        ["Content-Type", 'multipart/mixed; boundary="000000000000b1c2"'],
    ]
    fields = {
        "recipient": "support@mg.example.com",
        "sender": "anna.schmidt@example.org",
        "from": "Anna Schmidt <Anna.Schmidt@example.org>",
        "subject": "Re: [#4711] Export fails",
        "body-plain": REPLY_TEXT,
        "stripped-text": "Hi Support,\n\nOn Monday the export failed again, this time with error E-4012.",
        "stripped-signature": "Thanks,\nAnna",
        "body-html": "<div>Hi Support,</div>",
        "stripped-html": "<div>Hi Support,</div>",
        "message-headers": json.dumps(headers),
        "Message-Id": "<CAJx8Lk2vQ9@mail.gmail.com>",
        "In-Reply-To": "<ticket-4711-2@support.example.com>",
        "References": "<ticket-4711-1@support.example.com> <ticket-4711-2@support.example.com>",
        "Date": "Tue, 4 Mar 2025 10:15:08 +0100",
        "attachment-count": "1",
        "content-id-map": "{}",
        "timestamp": TIMESTAMP,
        "token": TOKEN,
        "signature": mailgun_signature(),
    }
    fields.update(overrides)
    return fields


def mailgun_files() -> dict[str, SimpleUploadedFile]:
    return {"attachment-1": SimpleUploadedFile("error.png", b"\x89PNG\r\n\x1a\n" + b"\0" * 92, "image/png")}


def test_mailgun_post_becomes_the_ticket_email() -> None:
    email = mailgun_email(mailgun_fields(), mailgun_files())

    assert email.sender_email == "anna.schmidt@example.org"
    assert email.sender_name == "Anna Schmidt"
    assert email.subject == "Re: [#4711] Export fails"
    assert email.body == REPLY_BODY  # body-plain trimmed here: quote and "-- " signature gone, sign-off kept
    assert email.message_id == "CAJx8Lk2vQ9@mail.gmail.com"
    assert email.references == ("ticket-4711-2@support.example.com", "ticket-4711-1@support.example.com")
    assert email.date == datetime(2025, 3, 4, 10, 15, 8, tzinfo=timezone(timedelta(hours=1)))


def test_mailgun_attachment_content_only_when_asked() -> None:
    (listed,) = mailgun_email(mailgun_fields(), mailgun_files()).attachments
    (kept,) = mailgun_email(mailgun_fields(), mailgun_files(), keep_attachments=True).attachments

    assert (listed.name, listed.content_type, listed.size, listed.content) == (
        "error.png",
        "image/png",
        100,
        None,
    )
    assert kept.content is not None and kept.content.startswith(b"\x89PNG") and len(kept.content) == 100


def test_mailgun_accepts_a_django_querydict() -> None:
    fields = QueryDict(urlencode(mailgun_fields()))

    assert mailgun_email(fields, mailgun_files()).body == REPLY_BODY


def test_mailgun_without_message_headers_uses_the_header_fields() -> None:
    fields = mailgun_fields()
    del fields["message-headers"]

    email = mailgun_email(fields, {})

    assert email.message_id == "CAJx8Lk2vQ9@mail.gmail.com"
    assert email.references == ("ticket-4711-2@support.example.com", "ticket-4711-1@support.example.com")


def test_mailgun_attachment_that_did_not_arrive_is_skipped() -> None:
    email = mailgun_email(mailgun_fields(**{"attachment-count": "2"}), mailgun_files())

    assert [item.name for item in email.attachments] == ["error.png"]


def test_mailgun_attachment_count_is_not_trusted_for_work() -> None:
    started = time.perf_counter()
    email = mailgun_email(mailgun_fields(**{"attachment-count": "99999999"}), mailgun_files())

    assert time.perf_counter() - started < 1.0
    assert [item.name for item in email.attachments] == ["error.png"]


def test_mailgun_raw_mime_route() -> None:
    raw = (DATA / "gmail_reply.eml").read_bytes()

    email = mailgun_email({"body-mime": raw.decode("ascii"), "timestamp": TIMESTAMP, "token": TOKEN}, {})

    assert email == parse_rfc822(raw)


@pytest.mark.parametrize(
    ("overrides", "drop", "field"),
    [
        pytest.param({}, "from", "from", id="no-from"),
        pytest.param({"from": "Anna Schmidt"}, None, "from", id="from-without-address"),
        pytest.param({"message-headers": "[not json"}, None, "message-headers", id="headers-not-json"),
        pytest.param({"message-headers": '{"From": "x"}'}, None, "message-headers", id="headers-not-list"),
        pytest.param({"message-headers": '[["From"]]'}, None, "message-headers", id="header-pair-short"),
        pytest.param({"attachment-count": "two"}, None, "attachment-count", id="count-not-number"),
        pytest.param({"body-mime": "no headers here"}, None, "body-mime", id="raw-mime-not-an-email"),
    ],
)
def test_mailgun_malformed_post_is_rejected_with_the_field_named(
    overrides: dict[str, str], drop: str | None, field: str
) -> None:
    fields = mailgun_fields(**overrides)
    if drop:
        del fields[drop]

    with pytest.raises(InboundRejected) as error:
        mailgun_email(fields, mailgun_files())
    assert_malformed(error, field)


def test_mailgun_field_of_the_wrong_type_is_rejected() -> None:
    fields: dict[str, Any] = mailgun_fields()
    fields["subject"] = ["Re: one", "Re: two"]

    with pytest.raises(InboundRejected) as error:
        mailgun_email(fields, {})
    assert_malformed(error, "subject")


def test_mailgun_signature_valid_as_documented() -> None:
    now = float(TIMESTAMP) + 30

    assert mailgun_signature_valid(
        signing_key=SIGNING_KEY, timestamp=TIMESTAMP, token=TOKEN, signature=mailgun_signature(), now=now
    )


@pytest.mark.parametrize(
    ("changes", "now_offset"),
    [
        pytest.param({"signature": "0" * 64}, 30, id="bad-signature"),
        pytest.param({"signing_key": "key-someone-else"}, 30, id="other-key"),
        pytest.param({"token": TOKEN[:-1] + "4"}, 30, id="tampered-token"),
        pytest.param({}, 901, id="stale-timestamp-replay"),
        pytest.param({}, -901, id="timestamp-from-the-future"),
        pytest.param({"timestamp": "yesterday"}, 30, id="timestamp-not-a-number"),
        pytest.param({"signing_key": ""}, 30, id="no-key-configured"),
        pytest.param({"signature": ""}, 30, id="no-signature"),
        pytest.param({"signature": "ü" * 64}, 30, id="non-ascii-signature"),
    ],
)
def test_mailgun_signature_rejected(changes: dict[str, str], now_offset: int) -> None:
    assert not signed(changes, now=float(TIMESTAMP) + now_offset)


def test_mailgun_signature_max_age_is_configurable() -> None:
    assert signed(now=float(TIMESTAMP) + 3000, max_age_seconds=3600)
    assert not signed(now=float(TIMESTAMP) + 61, max_age_seconds=60)


def signed(changes: dict[str, str] | None = None, *, now: float, max_age_seconds: int = 900) -> bool:
    """``mailgun_signature_valid`` on the documented example, with some of its inputs changed."""
    arguments = {
        "signing_key": SIGNING_KEY,
        "timestamp": TIMESTAMP,
        "token": TOKEN,
        "signature": mailgun_signature(),
    }
    arguments.update(changes or {})
    return mailgun_signature_valid(
        signing_key=arguments["signing_key"],
        timestamp=arguments["timestamp"],
        token=arguments["token"],
        signature=arguments["signature"],
        now=now,
        max_age_seconds=max_age_seconds,
    )


# --- SendGrid -------------------------------------------------------------------------------------------

SENDGRID_HEADERS = (
    "Received: by mx0047p1mdw1.sendgrid.net with SMTP id 6WCVv7KAWn Tue, 04 Mar 2025 09:15:08 +0000 (UTC)\n"
    "From: =?UTF-8?Q?J=C3=BCrgen_M=C3=BCller?= <Juergen.Mueller@example.de>\n"
    "Date: Tue, 4 Mar 2025 10:15:08 +0100\n"
    "Subject: =?UTF-8?Q?Re=3A_Doppelte_Abbuchung_f=C3=BCr_M=C3=A4rz?=\n"
    "To: support@parse.example.com\n"
    "Message-ID: <4f1c2a7e@example.de>\n"
    "In-Reply-To: <billing-5120@support.example.com>\n"
    "References: <billing-5120@support.example.com>\n"
    "MIME-Version: 1.0\n"
    'Content-Type: multipart/mixed; boundary="xYzZY"\n'
)
GERMAN_TEXT = (
    "Hallo,\n\ndie Überweisung wurde doppelt abgebucht.\n\nViele Grüße\nJürgen\n\n"
    "Am 03.03.2025 um 10:00 schrieb Support Team <support@example.com>:\n> Guten Tag\n"
)


def sendgrid_fields(**overrides: str | bytes) -> dict[str, str | bytes]:
    fields: dict[str, str | bytes] = {
        "headers": SENDGRID_HEADERS,
        "dkim": "{@example.de : pass}",
        "content-ids": "{}",
        "to": "support@parse.example.com",
        "from": "Jürgen Müller <Juergen.Mueller@example.de>",
        "subject": "Re: Doppelte Abbuchung für März",
        "text": GERMAN_TEXT,
        "html": "<div>Hallo,</div>",
        "sender_ip": "203.0.113.9",
        "envelope": json.dumps({"to": ["support@parse.example.com"], "from": "juergen.mueller@example.de"}),
        "attachments": "1",
        "attachment-info": json.dumps(
            {
                "attachment1": {
                    "filename": "Kontoauszug März.pdf",
                    "name": "Kontoauszug März.pdf",
                    "type": "application/pdf",
                }
            }
        ),
        "charsets": json.dumps(
            {"to": "UTF-8", "html": "UTF-8", "subject": "UTF-8", "from": "UTF-8", "text": "UTF-8"}
        ),
        "SPF": "pass",
        "spam_score": "0.1",
    }
    fields.update(overrides)
    return fields


def sendgrid_files() -> dict[str, SimpleUploadedFile]:
    # Django sanitises the upload's own name; attachment-info keeps the original one.
    return {
        "attachment1": SimpleUploadedFile("Kontoauszug_Mrz.pdf", b"%PDF-1.4\n" + b"0" * 91, "application/pdf")
    }


def test_sendgrid_parsed_post_becomes_the_ticket_email() -> None:
    email = sendgrid_email(sendgrid_fields(), sendgrid_files())

    assert email.sender_email == "juergen.mueller@example.de"
    assert email.sender_name == "Jürgen Müller"  # from the raw headers block, RFC 2047 decoded
    assert email.subject == "Re: Doppelte Abbuchung für März"
    assert email.body == "Hallo,\n\ndie Überweisung wurde doppelt abgebucht.\n\nViele Grüße\nJürgen"
    assert email.message_id == "4f1c2a7e@example.de"
    assert email.references == ("billing-5120@support.example.com",)
    assert email.date == datetime(2025, 3, 4, 10, 15, 8, tzinfo=timezone(timedelta(hours=1)))


def test_sendgrid_attachment_uses_attachment_info() -> None:
    (listed,) = sendgrid_email(sendgrid_fields(), sendgrid_files()).attachments
    (kept,) = sendgrid_email(sendgrid_fields(), sendgrid_files(), keep_attachments=True).attachments

    assert (listed.name, listed.content_type, listed.size, listed.content) == (
        "Kontoauszug März.pdf",
        "application/pdf",
        100,
        None,
    )
    assert kept.content is not None and kept.content.startswith(b"%PDF-1.4")


def test_sendgrid_attachments_in_number_order() -> None:
    files = {
        f"attachment{number}": SimpleUploadedFile(f"file{number}.txt", b"x" * number, "text/plain")
        for number in (10, 2, 1)
    }

    email = sendgrid_email(sendgrid_fields(**{"attachment-info": "{}", "attachments": "3"}), files)

    assert [(item.name, item.size) for item in email.attachments] == [
        ("file1.txt", 1),
        ("file2.txt", 2),
        ("file10.txt", 10),
    ]


def test_sendgrid_text_in_the_charset_it_declares() -> None:
    fields = sendgrid_fields(
        text=GERMAN_TEXT.encode("iso-8859-1"),
        charsets=json.dumps(
            {"text": "iso-8859-1", "html": "windows-1252", "subject": "UTF-8", "from": "UTF-8"}
        ),
    )

    assert (
        sendgrid_email(fields, {}).body
        == "Hallo,\n\ndie Überweisung wurde doppelt abgebucht.\n\nViele Grüße\nJürgen"
    )


def test_sendgrid_html_only() -> None:
    fields = sendgrid_fields(
        text="",
        html="<p>Bitte <b>sofort</b> erstatten&nbsp;&ndash; danke.</p><blockquote type=cite>alt</blockquote>",
    )

    assert sendgrid_email(fields, {}).body == "Bitte sofort erstatten – danke."


def test_sendgrid_without_headers_block_uses_the_fields() -> None:
    fields = sendgrid_fields()
    del fields["headers"]

    email = sendgrid_email(fields, {})

    assert (email.sender_email, email.sender_name) == ("juergen.mueller@example.de", "Jürgen Müller")
    assert email.subject == "Re: Doppelte Abbuchung für März"
    assert email.message_id.endswith("@derived.invalid")


@pytest.mark.parametrize(
    "name", ["koi8r.eml", "nested_inline_image.eml", "french_reply.eml", "wrong_charset.eml"]
)
def test_sendgrid_raw_full_mime_message(name: str) -> None:
    raw = (DATA / name).read_bytes()

    as_text = sendgrid_email({"email": raw.decode("utf-8", "surrogateescape"), "to": "x"}, {})
    as_bytes = sendgrid_email({"email": raw}, {}, keep_attachments=True)

    assert as_text == parse_rfc822(raw)
    assert as_bytes == parse_rfc822(raw, keep_attachments=True)


def test_sendgrid_raw_message_in_koi8_r_reads_right() -> None:
    email = sendgrid_email({"email": (DATA / "koi8r.eml").read_text("ascii")}, {})

    assert "Не могу войти в личный кабинет" in email.body


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        pytest.param({"to": "x", "text": "hi"}, "headers", id="neither-raw-nor-parsed"),
        pytest.param({"email": "not an email"}, "email", id="raw-not-an-email"),
        pytest.param({"email": ""}, "email", id="raw-empty"),
        pytest.param({"headers": "Subject: x\n", "from": "nobody"}, "from", id="no-sender-address"),
        pytest.param(sendgrid_fields(charsets="{oops"), "charsets", id="charsets-not-json"),
        pytest.param(sendgrid_fields(charsets="[]"), "charsets", id="charsets-not-object"),
        pytest.param(
            sendgrid_fields(**{"attachment-info": "nope"}), "attachment-info", id="attachment-info-bad"
        ),
    ],
)
def test_sendgrid_malformed_post_is_rejected_with_the_field_named(fields: dict[str, str], field: str) -> None:
    with pytest.raises(InboundRejected) as error:
        sendgrid_email(fields, sendgrid_files())
    assert_malformed(error, field)


# --- shared secrets -------------------------------------------------------------------------------------


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "token", "valid"),
    [
        pytest.param(basic("postmark", "s3cret-Ünïcode"), None, True, id="basic-auth-password"),
        pytest.param(basic("anyone", "s3cret-Ünïcode"), None, True, id="user-name-does-not-matter"),
        pytest.param(None, "s3cret-Ünïcode", True, id="query-token"),
        pytest.param(basic("postmark", "wrong"), "s3cret-Ünïcode", True, id="either-one-suffices"),
        pytest.param(basic("postmark", "wrong"), None, False, id="wrong-password"),
        pytest.param(None, "wrong", False, id="wrong-token"),
        pytest.param(None, None, False, id="nothing-offered"),
        pytest.param("Basic !!!not-base64", None, False, id="broken-basic-header"),
        pytest.param("Bearer s3cret-Ünïcode", None, False, id="bearer-is-not-basic"),
        pytest.param(basic("s3cret-Ünïcode", ""), None, False, id="secret-as-user-name"),
        pytest.param("Basic " + base64.b64encode(b"no-colon").decode(), None, False, id="no-colon"),
    ],
)
def test_shared_secret(authorization: str | None, token: str | None, valid: bool) -> None:
    assert (
        shared_secret_valid(expected="s3cret-Ünïcode", authorization_header=authorization, query_token=token)
        is valid
    )


def test_password_with_colons() -> None:
    assert shared_secret_valid(expected="a:b:c", authorization_header=basic("u", "a:b:c"), query_token=None)


@pytest.mark.parametrize("offered", ["", "anything"])
def test_no_configured_secret_never_validates(offered: str) -> None:
    assert not shared_secret_valid(expected="", authorization_header=basic("u", offered), query_token=offered)


# --- InboundRejected ------------------------------------------------------------------------------------


def test_inbound_rejected_carries_status_message_and_code() -> None:
    error = InboundRejected(401, "bad signature", code="bad_signature")

    assert (error.status, error.message, error.code, str(error)) == (
        401,
        "bad signature",
        "bad_signature",
        "bad signature",
    )


def test_inbound_rejected_only_for_client_errors() -> None:
    with pytest.raises(ValueError):
        InboundRejected(500, "oops", code="x")
