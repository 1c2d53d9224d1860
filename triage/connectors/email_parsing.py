"""Inbound email as a ticket needs it: the sender, the subject, the customer's own words, the thread
references and the attachments. Pure functions: no database, no Django models, no network.

Reply trimming (``trim_reply``) is written here, not taken from a library: the maintained multi-language
one (mail-parser-reply 1.36, MIT) also cuts ordinary sign-offs ("Thanks,") and hyphen lists as
signatures and strips every line's indentation, which drops customer text from tickets, and it has no
Portuguese (its Spanish pattern missed Gmail's attribution when tried).
"""

from __future__ import annotations

import codecs
import hashlib
import re
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email import policy
from email.headerregistry import AddressHeader
from email.message import Message
from email.parser import BytesParser
from email.utils import collapse_rfc2231_value, getaddresses, parsedate_to_datetime
from mimetypes import guess_extension
from pathlib import PurePosixPath

from bs4 import BeautifulSoup, MarkupResemblesLocatorWarning, XMLParsedAsHTMLWarning
from bs4.element import (
    Comment,
    Declaration,
    Doctype,
    NavigableString,
    PageElement,
    ProcessingInstruction,
    Tag,
)

# Mail bodies are markup, never file names or URLs, and XHTML mail is still HTML to a mail client.
warnings.filterwarnings("ignore", category=MarkupResemblesLocatorWarning)
warnings.filterwarnings("ignore", category=XMLParsedAsHTMLWarning)

NO_SUBJECT = "(no subject)"
MAX_MESSAGE_ID = 255  # the width of the column the ids are stored in
MAX_FILENAME = 200

Headers = Sequence[tuple[str, str]]


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str
    size: int  # bytes of the decoded content
    content: bytes | None = None  # only when parse_* was called with keep_attachments=True


@dataclass(frozen=True)
class InboundEmail:
    message_id: str  # without <>; derived ("sha256-<hex>@derived.invalid") when the message has none
    references: tuple[str, ...]  # In-Reply-To first, then References; no <>, no duplicates
    sender_email: str  # lower-cased address from From (Reply-To is not used)
    sender_name: str
    subject: str  # decoded, whitespace collapsed; "(no subject)" when empty
    body: str  # plain text, quoted history and signature trimmed
    attachments: tuple[Attachment, ...]
    date: datetime | None  # aware; None when missing or unparseable


class EmailParseError(ValueError):
    """The input is not an email at all: empty, no headers and no body, or no From address."""


# --- RFC 822 ---------------------------------------------------------------------------------------


def parse_rfc822(raw: bytes, *, keep_attachments: bool = False) -> InboundEmail:
    """An ``InboundEmail`` from the raw bytes of a message (RFC 5322 / MIME)."""
    if not isinstance(raw, bytes | bytearray) or not raw.strip():
        raise EmailParseError("empty input: not an email")
    try:
        message = BytesParser(policy=policy.default).parsebytes(bytes(raw))
        return _email_from_message(message, keep_attachments=keep_attachments)
    except RecursionError as error:  # thousands of nested multiparts
        raise EmailParseError("MIME structure nested too deeply") from error


def _email_from_message(message: Message, *, keep_attachments: bool) -> InboundEmail:
    headers = list(message.raw_items())
    if not headers:
        raise EmailParseError("no headers: not an email")
    sender_email, sender_name = sender_address(header_value(headers, "From"))
    if not sender_email:
        raise EmailParseError("no From address")
    plain, html = _body_parts(message)
    text = part_text(plain) if plain is not None else ""
    html_source = part_text(html) if html is not None and not text.strip() else ""
    attachments = [
        _part_attachment(part, index=index, keep=keep_attachments)
        for index, part in enumerate(_attachment_parts(message, body_parts=(plain, html)), start=1)
    ]
    return inbound_email(
        headers=headers,
        sender_email=sender_email,
        sender_name=sender_name,
        subject=decoded_header("Subject", header_value(headers, "Subject")),
        text=text,
        html=html_source,
        attachments=attachments,
    )


def _body_parts(message: Message) -> tuple[Message | None, Message | None]:
    """The text/plain and text/html parts that carry the body (either may be missing): the first of each
    kind, in order, that is not marked as an attachment. (``EmailMessage.get_body`` does much the same but
    raises on some malformed structures.)"""
    plain: Message | None = None
    html: Message | None = None
    for part in _leaf_parts(message):
        if part.get_content_disposition() == "attachment":
            continue
        if part.get_content_maintype() == "multipart":  # no boundary: read as one block of text
            subtype = "plain"
        elif part.get_content_maintype() == "text":
            subtype = part.get_content_subtype()
        else:
            continue
        if subtype == "plain" and plain is None:
            plain = part
        elif subtype == "html" and html is None:
            html = part
        if plain is not None and html is not None:
            break
    return plain, html


def _leaf_parts(message: Message) -> Iterator[Message]:
    """Every part that is not a container, in order. An attached message (message/rfc822) counts as one
    part, and so does a multipart whose boundary is missing (the parser leaves its content as text)."""
    stack = [message]
    while stack:
        part = stack.pop()
        children = part.get_payload() if part.get_content_maintype() == "multipart" else None
        if isinstance(children, list):
            stack.extend(reversed([child for child in children if isinstance(child, Message)]))
        else:
            yield part


def _attachment_parts(message: Message, *, body_parts: Iterable[Message | None]) -> Iterator[Message]:
    """Parts that are files: named, marked as attachments, or not text; never the body parts."""
    bodies = [part for part in body_parts if part is not None]
    for part in _leaf_parts(message):
        if any(part is body for body in bodies) or part.get_content_maintype() == "multipart":
            continue
        named = bool(_filename(part)) or part.get_content_disposition() == "attachment"
        if named or part.get_content_maintype() != "text":
            yield part


def _filename(part: Message) -> str:
    try:
        return part.get_filename() or ""
    except Exception:  # the stdlib's RFC 2231 / 2047 decoding has raised on malformed parameters
        return ""


def _part_attachment(part: Message, *, index: int, keep: bool) -> Attachment:
    content = _part_bytes(part)
    content_type = clean_content_type(part.get_content_type())
    return Attachment(
        name=safe_filename(_filename(part), content_type=content_type, index=index),
        content_type=content_type,
        size=len(content),
        content=content if keep else None,
    )


def _part_bytes(part: Message) -> bytes:
    """The decoded content of a part; an attached message as its own raw bytes."""
    if part.get_content_maintype() == "message":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            try:
                return inner[0].as_bytes()
            except Exception:  # re-serialising a broken attached message can fail in many ways
                return b""
    data = part.get_payload(decode=True)
    return data if isinstance(data, bytes) else b""


def part_text(part: Message) -> str:
    """The text of a text/* part, decoded from its transfer encoding and charset; never raises."""
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return ""
    text = decode_text(data, _param(part, "charset"))
    if part.get_content_subtype() == "plain" and _param(part, "format").lower() == "flowed":
        text = unflow(text, delsp=_param(part, "delsp").lower() == "yes")
    return text


def _param(part: Message, name: str) -> str:
    value = part.get_param(name)
    if isinstance(value, tuple):  # RFC 2231 (charset, language, value)
        value = collapse_rfc2231_value(value)
    return value.strip() if isinstance(value, str) else ""


# --- charsets ---------------------------------------------------------------------------------------

# Labels mail software sends where the bytes are really the (Windows) superset, as browsers also assume.
_SUPERSETS = {
    "iso8859-1": "cp1252",
    "iso8859-9": "cp1254",
    "iso8859-11": "cp874",
    "tis-620": "cp874",
    "shift_jis": "cp932",
    "euc_kr": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
    "iso2022_jp": "iso2022_jp_ext",
}


def _codec(charset: str | None) -> str | None:
    """The Python codec for a declared charset, widened to its superset; None for ASCII and unknowns."""
    label = (charset or "").strip().strip("\"'").lower()
    try:
        name = codecs.lookup(label).name if label else ""
    except (LookupError, ValueError):  # ValueError: a NUL in the label
        return None
    if not name or name == "ascii":
        return None
    return _SUPERSETS.get(name, name)


def decode_text(data: bytes, charset: str | None) -> str:
    """Bytes in a declared charset as text: that charset (or its superset), else UTF-8, else windows-1252.
    Never raises; undecodable bytes become U+FFFD as the last resort."""
    codec = _codec(charset)
    for candidate in (codec, "utf-8"):
        if candidate:
            try:
                return data.decode(candidate).removeprefix("\ufeff")
            except (UnicodeDecodeError, LookupError):  # LookupError: a bytes-to-bytes codec like "zlib"
                continue
    fallback = codec if codec and codec != "utf-8" else "cp1252"
    try:
        return data.decode(fallback, errors="replace")
    except LookupError:
        return data.decode("cp1252", errors="replace")


def _undo_surrogates(value: str) -> str:
    """Header text that arrived as raw 8-bit bytes (the parser keeps them as surrogates), decoded."""
    if not any("\udc80" <= char <= "\udcff" for char in value):
        return value
    return decode_text(value.encode("utf-8", "surrogateescape"), None)


# --- headers ------------------------------------------------------------------------------------------


def header_value(headers: Headers, name: str) -> str:
    """The first header called ``name`` (any case), unfolded, 8-bit bytes decoded; "" when absent."""
    wanted = name.lower()
    for key, value in headers:
        if key.strip().lower() == wanted and isinstance(value, str):
            return _undo_surrogates(re.sub(r"\s*\r?\n\s*", " ", value)).strip()
    return ""


def header_pairs(block: str | bytes) -> list[tuple[str, str]]:
    """(name, raw value) pairs from a raw header block (as SendGrid posts it)."""
    raw = block.encode("utf-8", "surrogateescape") if isinstance(block, str) else block
    parsed = BytesParser(policy=policy.default).parsebytes(raw.lstrip(b"\r\n"), headersonly=True)
    return [(name, value) for name, value in parsed.raw_items() if isinstance(value, str)]


def decoded_header(name: str, value: str) -> str:
    """A header value with RFC 2047 encoded-words decoded; the value as given if that fails.
    (https://www.rfc-editor.org/rfc/rfc2047)"""
    if "=?" not in value:
        return value
    try:
        return str(policy.default.header_factory(name, value))
    except Exception:  # the stdlib header parser has raised IndexError/AttributeError on odd input
        return value


_ADDRESS = re.compile(r"[\w.!#$%&'*+/=?^`{|}~-]+@[\w-]+(?:\.[\w-]+)+")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def sender_address(value: str) -> tuple[str, str]:
    """(lower-cased address, display name) of the first address in a From value; ("", "") if none."""
    if not value.strip():
        return "", ""
    try:
        header = policy.default.header_factory("from", value)
        addresses = header.addresses if isinstance(header, AddressHeader) else ()
    except Exception:  # see decoded_header
        addresses = ()
    for address in addresses:
        if address.username and address.domain:
            return address.addr_spec.lower(), clean_name(address.display_name)
    decoded = decoded_header("from", value)
    for name, addr in getaddresses([decoded]):
        if _ADDRESS.fullmatch(addr.strip()):
            return addr.strip().lower(), clean_name(name)
    found = _ADDRESS.search(decoded)
    return (found.group(0).lower(), "") if found else ("", "")


def clean_name(name: str) -> str:
    """A display name on one line, without control characters or surrounding quotes."""
    return " ".join(_CONTROL.sub("", _undo_surrogates(name)).split()).strip("\"' ")


def clean_subject(subject: str) -> str:
    """Whitespace collapsed, control characters dropped; "(no subject)" when nothing is left."""
    return " ".join(_CONTROL.sub("", _undo_surrogates(subject)).split()) or NO_SUBJECT


_MESSAGE_ID = re.compile(r"<([^<>\s]+)>")


def message_ids(value: str) -> list[str]:
    """The ids in an In-Reply-To / References value, without <>; bare ids (with an @) if none is bracketed."""
    found = _MESSAGE_ID.findall(value)
    if not found:
        found = [token.strip("<>,;") for token in value.split() if "@" in token]
    return [fit_message_id(item) for item in found if item]


def first_message_id(value: str) -> str:
    """The id in a Message-ID value without <>; a bare token is taken as it is; "" when there is none."""
    found = _MESSAGE_ID.search(value)
    token = found.group(1) if found else value.strip().strip("<>").strip()
    return fit_message_id(token) if token and not any(char.isspace() for char in token) else ""


def fit_message_id(value: str) -> str:
    """Ids longer than the column are replaced by their hash, the same way everywhere (so threads match);
    control characters (which a database column refuses) are dropped."""
    value = _CONTROL.sub("", value)
    if len(value) <= MAX_MESSAGE_ID:
        return value
    return f"sha256-{hashlib.sha256(value.encode('utf-8', 'surrogatepass')).hexdigest()}@hashed-id.invalid"


def thread_references(*, in_reply_to: str, references: str) -> tuple[str, ...]:
    """Ids from In-Reply-To, then References, each once."""
    return tuple(dict.fromkeys([*message_ids(in_reply_to), *message_ids(references)]))


def derived_message_id(*, sender: str, date: str, subject: str, body: str) -> str:
    """A stable id for a message without one: the same From, Date, Subject and body give the same id."""
    material = "\x1f".join(
        (
            " ".join(sender.lower().split()),
            " ".join(date.split()),
            " ".join(subject.split()),
            _normalize_newlines(body).strip(),
        )
    )
    return f"sha256-{hashlib.sha256(material.encode('utf-8', 'surrogatepass')).hexdigest()}@derived.invalid"


def parse_date(value: str) -> datetime | None:
    """An aware datetime from an RFC 5322 (or ISO 8601) date; a date without a zone is taken as UTC."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed: datetime | None = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


# --- attachments --------------------------------------------------------------------------------------

_CONTENT_TYPE = re.compile(r"[a-z0-9][\w.+-]*/[a-z0-9][\w.+-]*")


def clean_content_type(value: str | None) -> str:
    """``type/subtype`` in lower case, parameters dropped; application/octet-stream when unusable."""
    base = (value or "").split(";", 1)[0].strip().lower()
    return base if _CONTENT_TYPE.fullmatch(base) else "application/octet-stream"


def safe_filename(name: str | None, *, content_type: str, index: int) -> str:
    """The attachment's own file name without any directory part or control characters; when it has none,
    ``attachment-<index>`` with an extension guessed from the type."""
    cleaned = _CONTROL.sub("", _undo_surrogates(name or "").replace("\\", "/"))
    cleaned = PurePosixPath(cleaned).name.strip() if cleaned.strip() else ""
    if cleaned in {"", ".", ".."}:
        cleaned = f"attachment-{index}{guess_extension(content_type) or ''}"
    if len(cleaned) > MAX_FILENAME:
        suffix = PurePosixPath(cleaned).suffix[:20]
        cleaned = cleaned[: MAX_FILENAME - len(suffix)] + suffix
    return cleaned


# --- assembling -----------------------------------------------------------------------------------------


def body_from_parts(*, text: str, html: str) -> tuple[str, str]:
    """(full text, trimmed body): the plain text when it has any, else the HTML converted to text."""
    source = text if text.strip() else (html_to_text(html) if html.strip() else "")
    source = _BODY_CONTROL.sub("", _normalize_newlines(source))
    return source, (trim_reply(source) if source.strip() else "")


def inbound_email(
    *,
    headers: Headers,
    sender_email: str,
    sender_name: str,
    subject: str,
    text: str,
    html: str,
    attachments: Iterable[Attachment],
    message_id: str = "",
) -> InboundEmail:
    """Assemble an ``InboundEmail``; ids, references and the date come from ``headers`` (``message_id`` is
    the fallback when the headers have no Message-ID, e.g. a provider's own id)."""
    full_text, body = body_from_parts(text=text, html=html)
    subject = clean_subject(subject)
    date = header_value(headers, "Date")
    own_id = first_message_id(header_value(headers, "Message-ID")) or first_message_id(message_id)
    if not own_id:
        sender = f"{sender_name} <{sender_email}>"
        own_id = derived_message_id(sender=sender, date=date, subject=subject, body=full_text)
    return InboundEmail(
        message_id=own_id,
        references=thread_references(
            in_reply_to=header_value(headers, "In-Reply-To"), references=header_value(headers, "References")
        ),
        sender_email=_CONTROL.sub("", sender_email).strip().lower(),
        sender_name=clean_name(sender_name),
        subject=subject,
        body=body,
        attachments=tuple(attachments),
        date=parse_date(date),
    )


_BODY_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # all but tab and newlines


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --- format=flowed (RFC 3676) ---------------------------------------------------------------------------
# https://www.rfc-editor.org/rfc/rfc3676#section-4.2 (soft line breaks), #section-4.4 (space-stuffing)


def unflow(text: str, *, delsp: bool = False) -> str:
    """Join the soft-wrapped lines of a format=flowed text/plain body back into paragraphs."""
    out: list[str] = []
    pending: list[str] = []
    pending_depth = 0
    for line in _normalize_newlines(text).split("\n"):
        depth = len(line) - len(line.lstrip(">"))
        content = line[depth:]
        content = content[1:] if content.startswith(" ") else content  # space-stuffing
        if pending and depth != pending_depth:
            out.append(_quoted(pending_depth, pending))
            pending = []
        soft_break = content.endswith(" ") and content != "-- "
        pending.append(content[:-1] if soft_break and delsp else content)
        pending_depth = depth
        if not soft_break:
            out.append(_quoted(depth, pending))
            pending = []
    if pending:
        out.append(_quoted(pending_depth, pending))
    return "\n".join(out)


def _quoted(depth: int, pieces: list[str]) -> str:
    return (">" * depth + " " if depth else "") + "".join(pieces)


# --- HTML to text ---------------------------------------------------------------------------------------

_DROPPED_TAGS = {"script", "style", "head", "title", "noscript", "template", "svg", "object", "iframe"}
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "center", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tbody", "tfoot", "thead", "tr", "ul",
}  # fmt: skip
# Containers of quoted history: Gmail, Yahoo, Proton, Thunderbird's "On ... wrote:" prefix.
_QUOTE_CLASSES = {"gmail_quote", "gmail_quote_container", "gmail_attr", "yahoo_quoted", "protonmail_quote"}
_QUOTE_CLASSES |= {"moz-cite-prefix"}
# Outlook puts the quoted message after a marker rather than inside it: everything from there on goes.
_OUTLOOK_MARKER_IDS = {"divRplyFwdMsg", "appendonsend", "divRplyFwdMsgIncoming"}
_PRE_NEWLINE, _PRE_SPACE = "\ue000", "\ue001"
# Block edges: "start a new line" and "leave a blank line" unless the text already does (as browsers do).
_LINE, _PARAGRAPH = "\ue002", "\ue003"
_NOT_TEXT = (Comment, Declaration, Doctype, ProcessingInstruction)


@dataclass(frozen=True)
class _Visit:
    node: PageElement
    preformatted: bool = False
    prefix: str = ""  # a list item's "- " or "3. "


def html_to_text(html: str) -> str:
    """Readable plain text from an HTML mail body: blocks and <br> become line breaks, scripts and styles
    go, entities are decoded, and quoted history (blockquotes, Gmail/Yahoo/Proton quote containers,
    Outlook's reply header and all after it) is removed; if that leaves nothing, the whole text."""
    soup = BeautifulSoup(html, "html.parser")
    return _html_text(soup, drop_quotes=True) or _html_text(soup, drop_quotes=False)


def _html_text(soup: BeautifulSoup, *, drop_quotes: bool) -> str:
    """One pass over the tree in document order (iterative, and without editing the tree, which costs
    time proportional to the number of siblings per edit in BeautifulSoup)."""
    out: list[str] = []
    stack: list[_Visit | str] = [_Visit(soup)]
    while stack:
        item = stack.pop()
        if isinstance(item, str):  # the closing edge of a block
            out.append(item)
            continue
        node = item.node
        if isinstance(node, NavigableString):
            if not isinstance(node, _NOT_TEXT):
                out.append(_inline_text(node, preformatted=item.preformatted))
            continue
        if not isinstance(node, Tag) or node.name in _DROPPED_TAGS or _is_hidden(node):
            continue
        if drop_quotes and _is_quote(node):
            continue
        if drop_quotes and _is_outlook_marker(node):
            break  # the rest of the document is the quoted message
        if node.name == "br":
            out.append("\n")
            continue
        edge = _block_edge(node)
        out.append(edge + item.prefix)
        stack.append(" " if node.name in {"td", "th"} else edge)
        stack.extend(reversed(_children(node, preformatted=item.preformatted)))
    return _tidy_text("".join(out))


def _children(tag: Tag, *, preformatted: bool) -> list[_Visit]:
    preformatted = preformatted or tag.name in {"pre", "textarea"}
    if tag.name not in {"ol", "ul"}:
        return [_Visit(child, preformatted) for child in tag.contents]
    visits, number = [], 0
    for child in tag.contents:
        if isinstance(child, Tag) and child.name == "li":
            number += 1
            visits.append(_Visit(child, preformatted, f"{number}. " if tag.name == "ol" else "- "))
        else:
            visits.append(_Visit(child, preformatted))
    return visits


def _inline_text(string: str, *, preformatted: bool) -> str:
    if preformatted:
        return string.replace("\r\n", "\n").replace("\n", _PRE_NEWLINE).replace(" ", _PRE_SPACE)
    return re.sub(r"[ \t\r\n\f\v]+", " ", string)


def _block_edge(tag: Tag) -> str:
    if tag.name == "p":
        # Outlook writes every line as <p class=MsoNormal>, so those are lines, not paragraphs.
        return _LINE if "MsoNormal" in _classes(tag) else _PARAGRAPH
    return _LINE if tag.name in _BLOCK_TAGS else ""


def _classes(tag: Tag) -> list[str]:
    value = tag.get("class")
    return value.split() if isinstance(value, str) else list(value or [])


def _is_hidden(tag: Tag) -> bool:
    return "display:none" in str(tag.get("style", "")).replace(" ", "").lower()


def _is_quote(tag: Tag) -> bool:
    return tag.name == "blockquote" or not _QUOTE_CLASSES.isdisjoint(_classes(tag))


def _is_outlook_marker(tag: Tag) -> bool:
    if str(tag.get("id", "")) in _OUTLOOK_MARKER_IDS:
        return True
    style = str(tag.get("style", "")).replace(" ", "").lower()
    # Outlook desktop: <div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">
    return tag.name == "div" and "border:none;border-top:solid" in style


def _tidy_text(text: str) -> str:
    # A block holding only &nbsp; is a blank line (Outlook's spacing), so nbsp is still text here.
    text = _resolve_block_edges(re.sub(r" *([\n\ue002\ue003]) *", r"\1", text))
    text = text.replace("\xa0", " ").replace("\u200b", "").replace("\ufeff", "")
    lines = [re.sub(r" {2,}", " ", line).strip() for line in text.split("\n")]
    joined = re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
    return joined.replace(_PRE_NEWLINE, "\n").replace(_PRE_SPACE, " ")


def _resolve_block_edges(text: str) -> str:
    """Block-edge marks as line breaks: a mark adds only the newlines the text does not end with yet."""
    out: list[str] = []
    trailing_newlines = 0
    for token in re.split(r"([\ue002\ue003])", text):
        if token in (_LINE, _PARAGRAPH):
            wanted = 1 if token == _LINE else 2
            if out and trailing_newlines < wanted:
                out.append("\n" * (wanted - trailing_newlines))
                trailing_newlines = wanted
        elif token:
            out.append(token)
            stripped = token.rstrip("\n")
            trailing_newlines = trailing_newlines + len(token) if not stripped else len(token) - len(stripped)
    return "".join(out)


# --- reply trimming -------------------------------------------------------------------------------------

# "On <date>, <name> wrote:" and its translations. Each must also hold a digit (the date), which plain
# sentences that happen to start with "On"/"Am"/"Le" and end with a colon rarely do.
_ATTRIBUTION_WITH_OPENER = re.compile(
    r"^(?:"
    r"On\b.{1,300}\bwrote\s*:"  # English: Gmail, Apple Mail, Thunderbird, mutt
    r"|Am\b.{1,300}\bschrieb\b.{0,200}:"  # German: "Am 03.03.2025 um 10:00 schrieb Max <m@x.de>:"
    r"|.{1,200}\bschrieb am\b.{1,200}:"  # German: "Max <m@x.de> schrieb am 03.03.2025 10:00:"
    r"|Le\b.{1,300}\ba\s+écrit\s*:"  # French: "Le 3 mars 2025 à 10:00, Jean <j@x.fr> a écrit :"
    r"|El\b.{1,300}\bescribió\s*:"  # Spanish: "El lun, 3 mar 2025 a las 10:00, Juan (<j@x.es>) escribió:"
    r"|Op\b.{1,300}\bschreef\b.{0,200}:"  # Dutch: "Op ma 3 mrt 2025 om 10:00 schreef Jan <j@x.nl>:"
    r"|.{1,200}\bschreef op\b.{1,200}:"  # Dutch: "Jan <j@x.nl> schreef op 3 maart 2025 10:00:"
    r"|Il\b.{1,300}\bha scritto\s*:"  # Italian: "Il giorno lun 3 mar 2025 alle ore 10:00 Mario ha scritto:"
    # Portuguese: "Em seg., 3 de mar. de 2025 às 10:00, João <j@x.br> escreveu:"
    r"|(?:Em|A|No dia)\b.{1,300}\bescreveu\s*:"
    r"|.{1,200}\bescreveu no dia\b.{1,200}:"  # Portuguese (Portugal): "J <j@x.pt> escreveu no dia 3/03/2025:"
    r")$",
    re.IGNORECASE,
)
# "John Smith <john@example.com> wrote:" (no date): must name an address.
_ATTRIBUTION_BY_ADDRESS = re.compile(
    r"^.{0,200}@.{0,200}\b(?:wrote|schrieb|a\s+écrit|escribió|schreef|ha scritto|escreveu)\s*:$",
    re.IGNORECASE,
)
# "Dana wrote:" with neither date nor address: only when quoted lines follow it directly.
_ATTRIBUTION_SHORT = re.compile(
    r"^.{1,200}\b(?:wrote|schrieb|a\s+écrit|escribió|schreef|ha scritto|escreveu)\s*:$", re.IGNORECASE
)
_ORIGINAL_MESSAGE = re.compile(
    r"^\s*-{2,}\s*(?:original message|ursprüngliche nachricht|originalnachricht|message d'origine"
    r"|mensaje original|oorspronkelijk bericht|messaggio originale|mensagem original)\s*-{2,}\s*$",
    re.IGNORECASE,
)
_UNDERSCORE_RULE = re.compile(r"^\s*_{10,}\s*$")
# Outlook's reply header: "From: ... / Sent: ... / To: ... / Subject: ..." in the client's language.
_HEADER_FROM = re.compile(r"^\s*\*?(?:from|von|de|van|da|fra|från|od)\s*\*?\s*:", re.IGNORECASE)
_HEADER_DATE = re.compile(
    r"^\s*\*?(?:sent|date|gesendet|datum|envoyé|enviado|enviada|fecha|verzonden|inviato|data|sendt|skickat)"
    r"\s*\*?\s*:",
    re.IGNORECASE,
)
_HEADER_OTHER = re.compile(
    r"^\s*\*?(?:to|cc|subject|an|betreff|à|a|objet|para|asunto|aan|onderwerp|oggetto|assunto|til|emne|till|ämne)"
    r"\s*\*?\s*:",
    re.IGNORECASE,
)
_QUOTED_LINE = re.compile(r"^\s*>")
# "-- " alone on a line (https://www.rfc-editor.org/rfc/rfc3676#section-4.3); "--" too: the space gets lost
_SIGNATURE_DELIMITER = re.compile(r"^-- ?$")
_MOBILE_FOOTER = re.compile(
    r"^(?:"
    r"sent (?:from|with|via) (?:my )?\S.{0,60}"
    r"|get outlook for \S.{0,60}"
    r"|von meinem \S.{0,40} gesendet\.?"
    r"|gesendet (?:von|mit|vom) (?:meinem )?\S.{0,60}"
    r"|envoyé (?:de|depuis|à partir de) (?:mon )?\S.{0,60}"
    r"|enviado (?:desde|de|do|a partir do) (?:mi |meu |o meu )?\S.{0,60}"
    r"|(?:verzonden|verstuurd) (?:vanaf|met|van) (?:mijn )?\S.{0,60}"
    r"|inviato da(?:l mio)? \S.{0,60}"
    r")$",
    re.IGNORECASE,
)


def trim_reply(text: str) -> str:
    """The new part of a reply: quoted history (attribution lines such as "On ... wrote:" in English,
    German, French, Spanish, Dutch, Italian and Portuguese, Outlook's "-----Original Message-----" and
    "From:/Sent:" blocks, "> " lines) and the signature (after a "-- " line, mobile "Sent from my ..."
    footers) removed. Sign-offs such as "Thanks, Anna" stay. When trimming would leave nothing, the
    untrimmed text is returned."""
    original = _normalize_newlines(text)
    lines = original.split("\n")
    kept = lines[: _history_start(lines)]
    kept = [line for line in kept if not _QUOTED_LINE.match(line)]
    delimiter = next((i for i, line in enumerate(kept) if _SIGNATURE_DELIMITER.match(line)), None)
    if delimiter is not None:
        kept = kept[:delimiter]
    kept = _drop_mobile_footer([line.rstrip() for line in kept])
    trimmed = re.sub(r"\n{3,}", "\n\n", "\n".join(kept)).strip("\n")
    return trimmed if trimmed.strip() else original.strip()


def _history_start(lines: list[str]) -> int:
    """Index of the first line of quoted history, or len(lines) when there is none."""
    for index, line in enumerate(lines):
        if _ORIGINAL_MESSAGE.match(line) or _is_attribution(lines, index):
            return index
        if _is_header_block(lines, index):
            return index
        if _UNDERSCORE_RULE.match(line):  # Outlook's rule right above its header block
            following = next((i for i in range(index + 1, len(lines)) if lines[i].strip()), None)
            if following is not None and _is_header_block(lines, following):
                return index
    return len(lines)


def _is_attribution(lines: list[str], index: int) -> bool:
    """Whether an attribution ("On ... wrote:") starts at ``index``; clients wrap it over up to 3 lines."""
    if not lines[index].strip() or _QUOTED_LINE.match(lines[index]):
        return False
    pieces: list[str] = []
    for line in lines[index : index + 3]:
        if not line.strip():
            break
        pieces.append(line.strip())
        candidate = " ".join(" ".join(pieces).split())
        if len(candidate) > 600:
            break
        if not candidate.endswith(":"):
            continue
        if any(char.isdigit() for char in candidate) and _ATTRIBUTION_WITH_OPENER.match(candidate):
            return True
        if _ATTRIBUTION_BY_ADDRESS.match(candidate):
            return True
        following = index + len(pieces)
        if (
            _ATTRIBUTION_SHORT.match(candidate)
            and following < len(lines)
            and _QUOTED_LINE.match(lines[following])
        ):
            return True
    return False


def _is_header_block(lines: list[str], index: int) -> bool:
    """A "From:" line at ``index`` followed within a few lines by a date line and a To/Subject/Cc line."""
    if not _HEADER_FROM.match(lines[index]):
        return False
    window = [line for line in lines[index + 1 : index + 8] if line.strip()][:6]
    has_date = any(_HEADER_DATE.match(line) for line in window)
    return has_date and any(_HEADER_OTHER.match(line) for line in window)


def _drop_mobile_footer(lines: list[str]) -> list[str]:
    end = len(lines)
    while end and not lines[end - 1].strip():
        end -= 1
    if end and len(lines[end - 1]) <= 80 and _MOBILE_FOOTER.match(lines[end - 1].strip()):
        end -= 1
    return lines[:end]
