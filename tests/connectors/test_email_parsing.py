"""Raw email (RFC 5322 / MIME) to what a ticket shows: the sender, the subject, the customer's own words,
the thread and the attachments.

Formats: https://www.rfc-editor.org/rfc/rfc5322 (messages), https://www.rfc-editor.org/rfc/rfc2047
(encoded words), https://www.rfc-editor.org/rfc/rfc3676 (format=flowed, the "-- " signature delimiter).
Fixture shapes and where they come from: tests/data/email/README.md.
"""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from triage.connectors.email_parsing import (
    Attachment,
    EmailParseError,
    InboundEmail,
    html_to_text,
    parse_rfc822,
    trim_reply,
)

DATA = Path(__file__).resolve().parent.parent / "data" / "email"
DERIVED_ID = re.compile(r"sha256-[0-9a-f]{64}@derived\.invalid")


def load(name: str) -> bytes:
    return (DATA / name).read_bytes()


def parse(name: str, **kwargs: bool) -> InboundEmail:
    return parse_rfc822(load(name), **kwargs)


# --- what reaches the ticket ---------------------------------------------------------------------------


def test_multipart_alternative_uses_the_text_part_and_the_from_address() -> None:
    email = parse("alternative_text_html.eml")

    assert email.body == (
        "Hello,\n\n"
        'when I click "Download PDF" on the billing page nothing happens.\n'
        "This started after yesterday's maintenance window.\n\n"
        "Thanks,\nMaria"
    )
    assert email.sender_email == "maria.lopez@example.org"  # lower-cased, and not the Reply-To
    assert email.sender_name == "Maria Lopez"
    assert email.subject == "Cannot download invoices from the billing page"
    assert email.message_id == "20250304091240.GA1234@mail.example.org"
    assert email.references == ()
    assert email.attachments == ()
    assert email.date == datetime(2025, 3, 4, 9, 12, 40, tzinfo=timezone(timedelta(hours=1)))


def test_html_only_message_reads_as_plain_text() -> None:
    email = parse("html_only.eml")

    assert email.body == (
        "Hi team,\n\n"
        "could you add a dark mode? Our night shift & on-call staff would love it.\n\n"
        "- dashboard\n- ticket view\n\n"
        "Cheers – Tom"
    )
    for hidden in ("alert", "ignored title", "tracking comment", "color: red", "<"):
        assert hidden not in email.body
    assert email.subject == "Feature request: dark mode"  # whitespace collapsed


def test_gmail_reply_keeps_the_customers_words_and_drops_quote_and_signature() -> None:
    email = parse("gmail_reply.eml")

    assert email.body == (
        "Hi Support,\n\n"
        "On Monday the export failed again, this time with error E-4012.\n"
        "I attached nothing, the CSV just never arrives.\n\n"
        "Thanks,\nAnna"
    )
    assert "could you tell us" not in email.body  # quoted history
    assert "Operations Lead" not in email.body  # signature after "-- "


def test_gmail_reply_threads_on_in_reply_to_then_references() -> None:
    email = parse("gmail_reply.eml")

    assert email.message_id == "CAJx8Lk2vQ9+Zr5s4oT8mW3q7Bv1FbA0@mail.gmail.com"
    assert email.references == (
        "ticket-4711-1741000000@support.example.com",  # In-Reply-To first
        "ticket-4711-1740900000@support.example.com",  # then References, without the repeat
    )


def test_gmail_html_part_converts_and_trims_to_the_same_words() -> None:
    html = EmailMessageFrom("gmail_reply.eml").html()

    assert trim_reply(html_to_text(html)) == parse("gmail_reply.eml").body


def test_outlook_desktop_reply_in_windows_1252() -> None:
    email = parse("outlook_desktop_reply.eml")

    assert email.body == (
        "Hello,\n\n"
        "the invoice shows € 1.299,00 but we were quoted € 999,00. Please don’t charge us twice.\n"
        "“Urgent” because our finance team closes the month on Friday.\n\n"
        "Kind regards\nPeter Brown"  # a sign-off is the customer's, not a signature delimiter
    )
    assert "the invoice is attached" not in email.body
    assert email.references == ("inv-2025-0042@support.example.com",)


def test_outlook_desktop_html_drops_everything_from_the_reply_header_on() -> None:
    text = html_to_text(EmailMessageFrom("outlook_desktop_reply.eml").html())

    assert text.startswith("Hello,\n\nthe invoice shows € 1.299,00")
    assert text.endswith("Kind regards\nPeter Brown")
    assert "Sent:" not in text and "Hello Peter" not in text


def test_outlook_original_message_separator() -> None:
    email = parse("outlook_original_message.eml")

    assert email.body == "Please reset my password, the link in your mail expired after 10 minutes.\n\nJane"
    assert email.sender_name == "Doe, Jane"


def test_outlook_on_the_web_html_reply() -> None:
    email = parse("outlook_web_reply.eml")

    assert email.body == "Please renew our licence for 25 seats.\nPO number: 4500012345"
    assert email.references == ("lic-8800@support.example.com",)


def test_apple_mail_reply_drops_quote_and_mobile_footer() -> None:
    email = parse("apple_mail_reply.eml")

    assert (
        email.body
        == "The app crashes as soon as I open the reports tab – every time.\nVersion 5.2.1 on iOS 18.3."
    )


def test_thunderbird_flowed_reply_is_unwrapped_and_trimmed() -> None:
    email = parse("thunderbird_reply.eml")

    assert email.body == (
        "Hello,\n\n"
        "after the update the dashboard stays empty. I tried Firefox and Chrome, same result. "
        'The browser console says "TypeError: data is undefined".\n\n'
        "Regards,\nLena"
    )


def test_german_client_in_iso_8859_1() -> None:
    email = parse("german_reply.eml")

    assert email.body == (
        "Hallo,\n\ndie Überweisung für März wurde doppelt abgebucht. Bitte prüfen Sie das.\n\n"
        "Viele Grüße\nJürgen Müller"
    )
    assert email.subject == "Re: Doppelte Abbuchung für März"
    assert email.sender_name == "Jürgen Müller"
    assert email.sender_email == "juergen.mueller@example.de"


def test_french_client_keeps_a_line_starting_with_le() -> None:
    email = parse("french_reply.eml")

    assert email.body == (
        "Bonjour,\n\nLe paiement a échoué deux fois avec ma carte. Pouvez-vous vérifier ?\n\n"
        "Cordialement,\nÉlodie"
    )
    assert email.subject == "Re: Problème de paiement"
    assert email.sender_name == "Élodie Martin"


def test_koi8_r() -> None:
    email = parse("koi8r.eml")

    assert "Не могу войти в личный кабинет" in email.body
    assert email.body.startswith("Здравствуйте!")
    assert email.subject == "Не работает вход"
    assert email.sender_name == "Иван Петров"


def test_shift_jis_body_and_iso_2022_jp_headers() -> None:
    email = parse("shift_jis.eml")

    assert "ログインできません。パスワードを再設定しても同じエラーが表示されます。" in email.body
    assert email.subject == "ログインできません"
    assert email.sender_name == "山田 太郎"


def test_iso_2022_jp_body() -> None:
    email = parse("iso2022jp.eml")

    assert email.body == "請求書の金額が間違っています。"
    assert email.subject == "請求書"


def test_wrongly_declared_charset_still_decodes() -> None:
    assert parse("wrong_charset.eml").body == "Le café commandé n'est jamais arrivé."


def test_unknown_charset_decodes_without_raising() -> None:
    email = parse("unknown_charset.eml")

    assert email.body == "Fakturaen for måneden er feil, beløpet er for høyt."
    assert email.subject == "Fakturaen er feil"


@pytest.mark.parametrize(
    ("charset", "text"),
    [
        ("iso-8859-1", "Grüße aus Köln"),
        ("windows-1252", "“quoted” – €5"),
        ("koi8-r", "Привет, мир"),
        ("shift_jis", "日本語のメール"),
        ("iso-2022-jp", "日本語のメール"),
        ("gb2312", "邮件无法发送"),
        ("big5", "無法登入"),
        ("euc-kr", "로그인 오류"),
    ],
)
def test_each_charset_decodes_to_the_right_characters(charset: str, text: str) -> None:
    raw = (
        f"From: a@example.com\nSubject: x\nContent-Type: text/plain; charset={charset}\n"
        "Content-Transfer-Encoding: 8bit\n\n"
    ).encode() + text.encode(charset)

    assert parse_rfc822(raw).body == text


def test_undecodable_bytes_are_replaced_not_raised() -> None:
    raw = b"From: a@example.com\nContent-Type: text/plain; charset=shift_jis\n\nok \x81\xff\xfe end"

    body = parse_rfc822(raw).body

    assert body.startswith("ok ") and body.endswith(" end")


def test_raw_8bit_headers_are_decoded() -> None:
    raw = "From: José Núñez <jose@example.es>\nSubject: Factura errónea\n\nHola".encode("latin-1")

    email = parse_rfc822(raw)

    assert email.subject == "Factura errónea"
    assert email.sender_name == "José Núñez"


def test_rfc_2047_subject_and_name() -> None:
    email = parse("encoded_headers.eml")

    assert email.subject == "Rechnung für März – dringend"
    assert email.sender_name == "Zoë Ngô"
    assert email.sender_email == "zoe.ngo@example.com"


def test_empty_subject_reads_no_subject() -> None:
    assert parse_rfc822(b"From: a@example.com\nSubject:   \n\nbody").subject == "(no subject)"
    assert parse_rfc822(b"From: a@example.com\n\nbody").subject == "(no subject)"


# --- message ids ---------------------------------------------------------------------------------------


def test_missing_message_id_gets_a_stable_derived_id() -> None:
    first = parse("no_message_id.eml")
    redelivered = parse_rfc822(
        b"Received: from relay2.example.net by mx; Thu, 6 Mar 2025 03:20:00 +0000\n"
        + load("no_message_id.eml")
    )

    assert DERIVED_ID.fullmatch(first.message_id)
    assert parse("no_message_id.eml").message_id == first.message_id
    assert redelivered.message_id == first.message_id  # transport headers differ, the message does not


def test_derived_id_differs_for_a_different_message() -> None:
    original = load("no_message_id.eml")
    other_body = original.replace(b"/var is at 93%", b"/var is at 97%")
    other_date = original.replace(b"03:14:15", b"03:44:15")

    ids = {parse_rfc822(raw).message_id for raw in (original, other_body, other_date)}

    assert len(ids) == 3


@pytest.mark.parametrize("name", sorted(path.name for path in DATA.glob("*.eml")))
def test_message_ids_have_no_angle_brackets(name: str) -> None:
    email = parse(name)

    assert email.message_id and "<" not in email.message_id and ">" not in email.message_id
    assert all(ref and "<" not in ref and ">" not in ref for ref in email.references)
    assert email.body.strip()


def test_references_without_duplicates_in_order() -> None:
    raw = (
        b"From: a@example.com\nMessage-ID: <m3@x>\nIn-Reply-To: <m2@x>\n"
        b"References: <m1@x>\n <m2@x> <m1@x>\n\nhi"
    )

    assert parse_rfc822(raw).references == ("m2@x", "m1@x")


def test_bare_in_reply_to_is_still_a_reference() -> None:
    raw = b"From: a@example.com\nIn-Reply-To: m2@example.com\n\nhi"

    assert parse_rfc822(raw).references == ("m2@example.com",)


def test_overlong_ids_are_hashed_the_same_way_everywhere() -> None:
    long_id = "x" * 300 + "@example.com"
    parent = parse_rfc822(f"From: a@example.com\nMessage-ID: <{long_id}>\n\nfirst".encode())
    reply = parse_rfc822(f"From: b@example.com\nIn-Reply-To: <{long_id}>\n\nsecond".encode())

    assert len(parent.message_id) <= 255
    assert reply.references == (parent.message_id,)


# --- attachments ---------------------------------------------------------------------------------------


def test_attachment_is_listed_without_its_bytes_by_default() -> None:
    (attachment,) = parse("attachment_pdf.eml").attachments

    assert attachment == Attachment(name="invoice-2025-0042.pdf", content_type="application/pdf", size=148)
    assert attachment.content is None


def test_attachment_bytes_when_asked() -> None:
    email = parse("attachment_pdf.eml", keep_attachments=True)

    (attachment,) = email.attachments
    assert attachment.content is not None
    assert attachment.content.startswith(b"%PDF-1.4") and attachment.content.rstrip().endswith(b"%%EOF")
    assert len(attachment.content) == attachment.size == 148
    assert email.body == "The attached invoice charges 21% VAT, it should be 19%."


def test_nested_multipart_with_inline_image() -> None:
    email = parse("nested_inline_image.eml", keep_attachments=True)

    assert email.body == (
        "The export page looks like the screenshot below: every row is empty.\n"
        "The CSV it produced is attached."
    )
    names = [(item.name, item.content_type, item.size) for item in email.attachments]
    assert names == [("screenshot.png", "image/png", 70), ("export.csv", "text/csv", 36)]
    assert email.attachments[0].content is not None and email.attachments[0].content.startswith(b"\x89PNG")
    assert email.attachments[1].content == b"date,rows\n2025-03-05,0\n2025-03-06,0\n"


def _message_with_attachment(data: bytes, *, filename: str) -> bytes:
    message = EmailMessage()
    message["From"] = "Big Sender <big@example.com>"
    message["Subject"] = "Logs"
    message.set_content("Full logs attached.")
    message.add_attachment(data, maintype="application", subtype="octet-stream", filename=filename)
    return message.as_bytes()


def test_ten_megabyte_attachment_parses_quickly_and_is_not_kept() -> None:
    data = os.urandom(10 * 1024 * 1024)
    raw = _message_with_attachment(data, filename="dump.bin")

    started = time.perf_counter()
    email = parse_rfc822(raw)
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0
    (attachment,) = email.attachments
    assert attachment.size == len(data) and attachment.content is None
    assert email.body == "Full logs attached."
    assert parse_rfc822(raw, keep_attachments=True).attachments[0].content == data


def test_attachment_names_lose_directories_and_get_one_when_missing() -> None:
    evil = _message_with_attachment(b"x", filename="../../etc/cron.d/evil")
    unnamed = EmailMessage()
    unnamed["From"] = "a@example.com"
    unnamed.set_content("see file")
    unnamed.add_attachment(b"%PDF-1.4", maintype="application", subtype="pdf")

    assert parse_rfc822(evil).attachments[0].name == "evil"
    assert parse_rfc822(unnamed.as_bytes()).attachments[0].name == "attachment-1.pdf"


def test_forwarded_message_attachment_is_one_file() -> None:
    inner = EmailMessage()
    inner["From"] = "vendor@example.net"
    inner["Subject"] = "Quote"
    inner.set_content("The quote is 100 EUR.")
    outer = EmailMessage()
    outer["From"] = "buyer@example.com"
    outer.set_content("See the forwarded mail.")
    outer.add_attachment(inner)

    email = parse_rfc822(outer.as_bytes())

    assert email.body == "See the forwarded mail."
    assert [(item.content_type, item.size > 0) for item in email.attachments] == [("message/rfc822", True)]


# --- dates and errors ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Date: Thu, 6 Mar 2025 03:14:15 -0000\n", datetime(2025, 3, 6, 3, 14, 15, tzinfo=UTC)),
        ("Date: yesterday-ish\n", None),
        ("", None),
    ],
)
def test_date_is_aware_or_none(header: str, expected: datetime | None) -> None:
    email = parse_rfc822(f"From: a@example.com\n{header}\nhi".encode())

    assert email.date == expected
    assert email.date is None or email.date.tzinfo is not None


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   \r\n\r\n",
        b"just some words, no headers at all",
        b"Subject: no sender\n\nhello",
        b"From: undisclosed-recipients:;\nSubject: x\n\nhello",
        b"From: Support Team\nSubject: x\n\nhello",
    ],
)
def test_input_that_is_not_an_email_is_refused(raw: bytes) -> None:
    with pytest.raises(EmailParseError):
        parse_rfc822(raw)


def test_email_parse_error_is_a_value_error() -> None:
    assert issubclass(EmailParseError, ValueError)


def test_broken_mime_structure_still_yields_the_text() -> None:
    inner_without_boundary = (
        b"From: a@example.com\nContent-Type: multipart/mixed; boundary=outer\n\n--outer\n"
        b"Content-Type: multipart/related\n\nThe text of a part without a boundary.\n"
        b"--outer\nContent-Type: text/html\n\n<p>html</p>\n--outer--\n"
    )
    outer_without_boundary = b"From: a@example.com\nContent-Type: multipart/mixed\n\nNo boundary at all.\n"

    assert parse_rfc822(inner_without_boundary).body == "The text of a part without a boundary."
    assert parse_rfc822(outer_without_boundary).body == "No boundary at all."


def test_deeply_nested_multiparts_are_refused_not_crashed() -> None:
    raw = b"From: a@example.com\nContent-Type: multipart/mixed; boundary=b0\n\n"
    for depth in range(1, 3000):
        raw += f"--b{depth - 1}\nContent-Type: multipart/mixed; boundary=b{depth}\n\n".encode()

    with pytest.raises(EmailParseError):
        parse_rfc822(raw)


def test_control_characters_never_reach_the_ticket() -> None:
    raw = (
        b"From: a@example.com\nSubject: bad\x00subject\nMessage-ID: <id\x01@x>\n\nnul\x00here\x07 ok\tand tab"
    )

    email = parse_rfc822(raw)

    assert (email.subject, email.message_id, email.body) == ("badsubject", "id@x", "nulhere ok\tand tab")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=2000))
def test_any_bytes_give_an_email_or_a_parse_error(data: bytes) -> None:
    for raw in (data, b"From: a@example.com\nContent-Type: multipart/mixed; boundary=x\n\n--x\n" + data):
        try:
            email = parse_rfc822(raw, keep_attachments=True)
        except EmailParseError:
            continue
        for text in (email.subject, email.body, email.sender_name, email.message_id, *email.references):
            text.encode("utf-8")  # storable: no lone surrogates
            assert "\x00" not in text


def test_message_with_only_an_attachment_has_an_empty_body() -> None:
    raw = (
        b"From: scanner@example.com\nContent-Type: application/pdf; name=scan.pdf\n"
        b"Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n"
    )

    email = parse_rfc822(raw)

    assert email.body == ""
    assert [(item.name, item.size) for item in email.attachments] == [("scan.pdf", 9)]


# --- trim_reply ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            "La factura está mal.\n\nEl lun, 3 mar 2025 a las 10:00, Soporte (<soporte@example.com>) "
            "escribió:\n> viejo",
            "La factura está mal.",
            id="spanish-gmail",
        ),
        pytest.param(
            "De factuur klopt niet.\n\nOp ma 3 mrt 2025 om 10:00 schreef Support <support@example.com>:"
            "\n> oud",
            "De factuur klopt niet.",
            id="dutch-gmail",
        ),
        pytest.param(
            "Helpdesk, graag terugbellen.\n\nJan <jan@example.nl> schreef op 3 maart 2025 10:00:\n\n> oud",
            "Helpdesk, graag terugbellen.",
            id="dutch-apple",
        ),
        pytest.param(
            "La fattura è sbagliata.\n\nIl giorno lun 3 mar 2025 alle ore 10:00 Supporto <s@example.it> ha "
            "scritto:\n> vecchio",
            "La fattura è sbagliata.",
            id="italian-gmail",
        ),
        pytest.param(
            "A fatura está errada.\n\nEm seg., 3 de mar. de 2025 às 10:00, Suporte <s@example.com.br> "
            "escreveu:\n> antigo",
            "A fatura está errada.",
            id="portuguese-brazil",
        ),
        pytest.param(
            "A fatura está errada.\n\nSuporte <s@example.pt> escreveu no dia segunda, 3/03/2025 à(s) 10:00:"
            "\n> x",
            "A fatura está errada.",
            id="portuguese-portugal",
        ),
        pytest.param(
            "Bitte zurückrufen.\n\nSupport Team <support@example.com> schrieb am Mo., 3. März 2025, 10:00:"
            "\n> alt",
            "Bitte zurückrufen.",
            id="german-schrieb-am",
        ),
        pytest.param(
            "Bitte stornieren.\n\nVon: Support Team <support@example.com>\n"
            "Gesendet: Montag, 3. März 2025 10:00\nAn: Max Mustermann\nBetreff: Bestellung\n\nalt",
            "Bitte stornieren.",
            id="german-outlook-block",
        ),
        pytest.param(
            "Merci de rappeler.\n\nDe : Support Team <support@example.com>\n"
            "Envoyé : lundi 3 mars 2025 10:00\nÀ : Jean Dupont\nObjet : Commande\n\nancien",
            "Merci de rappeler.",
            id="french-outlook-block",
        ),
        pytest.param(
            "Still broken.\n\n________________________________\nFrom: Support <s@example.com>\n"
            "Sent: Monday, March 3, 2025 10:00\nTo: Kim\nSubject: Re: Broken\n\nold",
            "Still broken.",
            id="outlook-web-rule",
        ),
        pytest.param(
            "Looks good.\n\n*From:* Support <s@example.com>\n*Sent:* Monday, March 3, 2025 10:00\n*To:* Kim\n"
            "*Subject:* Re: Broken\n\nold",
            "Looks good.",
            id="outlook-bold-block",
        ),
        pytest.param(
            "Please help.\n\nJohn Smith <john@example.com> wrote:\n> old", "Please help.", id="no-date"
        ),
        pytest.param(
            "Answer below.\n> Which plan are you on?\nThe business plan.\n> Since when?\nMarch.",
            "Answer below.\nThe business plan.\nMarch.",
            id="inline-answers",
        ),
    ],
)
def test_trim_reply_removes_history_in_many_clients(text: str, expected: str) -> None:
    assert trim_reply(text) == expected


@pytest.mark.parametrize(
    "footer",
    [
        "Sent from my iPhone",
        "Sent from my Galaxy",
        "Get Outlook for Android<https://aka.ms/AAb9ysg>",
        "Von meinem iPhone gesendet",
        "Envoyé de mon iPhone",
        "Enviado desde mi iPhone",
        "Enviado do meu iPhone",
        "Verzonden vanaf mijn iPhone",
        "Inviato da iPhone",
    ],
)
def test_trim_reply_drops_mobile_footers(footer: str) -> None:
    assert trim_reply(f"The sync is stuck.\n\n{footer}\n") == "The sync is stuck."


@pytest.mark.parametrize(
    "text",
    [
        pytest.param(
            "On Monday the export failed.\nOn Tuesday it worked:\n- 10 rows\n- 20 rows", id="on-and-lists"
        ),
        pytest.param("Thanks,\nAnna", id="sign-off"),
        pytest.param("Best regards,\nSupport would you please call me back", id="regards"),
        pytest.param("My log says:\n    at Export.run(Export.java:42)\n    at Main", id="indentation"),
        pytest.param("From: my colleague Tom\nHe says the login fails.", id="from-in-prose"),
        pytest.param("Warning: disk quota exceeded\nplease help", id="warning-line"),
        pytest.param("Le 3 mars, le paiement a échoué:\nerreur 402", id="french-le-with-colon"),
        pytest.param("I wrote:\nthe export fails", id="wrote-without-date"),
    ],
)
def test_trim_reply_keeps_ordinary_text(text: str) -> None:
    assert trim_reply(text) == text


def test_trim_reply_signature_delimiter() -> None:
    assert trim_reply("Please advise.\n\n-- \nKim Park\nACME Corp\n+1 555 0100") == "Please advise."


def test_trim_reply_falls_back_to_the_whole_text_when_only_history_remains() -> None:
    forwarded = "On Mon, 3 Mar 2025 at 10:00, Kim <kim@example.com> wrote:\n> The export fails."

    assert trim_reply(forwarded) == forwarded
    assert trim_reply("> all quoted\n> here") == "> all quoted\n> here"


def test_body_is_never_empty_when_the_message_has_text() -> None:
    raw = b"From: a@example.com\nSubject: Fwd\n\n> forwarded text only\n> nothing else"

    assert parse_rfc822(raw).body == "> forwarded text only\n> nothing else"


def test_trim_reply_handles_crlf_and_long_input_quickly() -> None:
    text = (
        "A line of customer text that goes on.\r\n" * 20000
    ) + "On Mon, 3 Mar 2025, X <x@example.com> wrote:\r\n> q"

    started = time.perf_counter()
    trimmed = trim_reply(text)

    assert time.perf_counter() - started < 2.0
    assert trimmed.endswith("A line of customer text that goes on.") and "\r" not in trimmed


# --- html_to_text --------------------------------------------------------------------------------------


def test_html_to_text_blocks_breaks_entities_and_scripts() -> None:
    html = (
        "<html><head><style>.x{}</style><script>var a = 1;</script></head><body>"
        "<div>Line&nbsp;one &amp; more</div><div>Line two<br>Line three</div><div><br></div>"
        "<p>Para &lt;1&gt;</p><p>Para 2</p><ol><li>first</li><li>second</li></ol>"
        "<table><tr><td>cell a</td><td>cell b</td></tr></table>"
        "<pre>  def f():\n      return 1</pre><span style='display: none'>preheader</span></body></html>"
    )

    assert html_to_text(html) == (
        "Line one & more\nLine two\nLine three\n\nPara <1>\n\nPara 2\n\n1. first\n2. second\ncell a cell b\n"
        "  def f():\n      return 1"
    )


def test_html_to_text_drops_apple_and_thunderbird_quotes() -> None:
    apple = (
        '<div>Works now, thanks!</div><div><br><blockquote type="cite"><div>On Mar 3, 2025, at 10:00, '
        "Support wrote:</div><div>Try again</div></blockquote></div>"
    )
    thunderbird = (
        '<p>Still failing.</p><div class="moz-cite-prefix">On 03.03.25 10:00, Support wrote:<br></div>'
        '<blockquote type="cite">Try again</blockquote>'
    )

    assert html_to_text(apple) == "Works now, thanks!"
    assert html_to_text(thunderbird) == "Still failing."


def test_html_to_text_keeps_everything_when_it_is_all_quoted() -> None:
    assert html_to_text("<blockquote>Only the forwarded text</blockquote>") == "Only the forwarded text"


def test_html_to_text_of_plain_words() -> None:
    assert html_to_text("just words &eacute;t&eacute;") == "just words été"


class EmailMessageFrom:
    """The parts of a fixture, read with the stdlib, to feed html_to_text directly."""

    def __init__(self, name: str) -> None:
        from email import message_from_bytes, policy

        message = message_from_bytes(load(name), policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.message = message

    def html(self) -> str:
        part = self.message.get_body(preferencelist=("html",))
        assert part is not None
        content = part.get_content()
        assert isinstance(content, str)
        return content


def test_a_short_attribution_right_above_quoted_lines_goes_with_them() -> None:
    assert trim_reply("Production outage!\n\nOn Mon, Dana wrote:\n> old text") == "Production outage!"
    assert trim_reply("Still broken.\n\nDana schrieb:\n> alter Text\n> mehr") == "Still broken."
    # the same words in the customer's own text, with no quote under them, stay
    kept = "My colleague wrote:\nthe export is broken, can you check?"
    assert trim_reply(kept) == kept
