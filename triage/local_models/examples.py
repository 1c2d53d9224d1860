"""Agents' approved replies as examples for the offline reply drafter, and the index that finds one.

The app registers where the examples come from (``set_example_source``: the approved replies in
the database, see ``triage.services.reply_examples``); this module stays free of Django, so the
local models run without it (no source registered: no examples). Each language has its own index,
TF-IDF cosine similarity (word 1-2-grams and character 3-5-grams, the mean of the two, as in
``faq``) between a new ticket's subject and body and each example's; below ``MIN_SIMILARITY`` an
example is not a match. Digits are masked first, so two tickets that differ only in their invoice
numbers read as the same ticket.

The index is rebuilt only when the examples changed: the source's cheap ``version`` (for the
database, the count and latest approval time) is read at most once every ``RECHECK_SECONDS`` per
process, in the drafting call itself (no background thread; while one thread rebuilds, the others
draft with the previous index). A source that fails is logged and the previous index kept.

``adapted_reply`` fits an example reply to a new ticket: the example ticket's invoice numbers,
order ids, amounts, error codes and times are replaced by the new ticket's values of the same
kind, and a greeting's name by the new customer's (the name the ticket is signed with), or the
greeting made plain. Another customer's details must never reach a reply, so an example is not
used when its reply would keep a value the new ticket has no counterpart for (or one the agent
wrote that isn't in its ticket), its customer's name (from the greeting or the ticket's signature)
with no new name to put in its place, or an email address or a number of three or more characters
from its ticket that the new ticket doesn't have; nor when the result isn't a reply the pipeline's
parser accepts (more than four sentences, a claim of an action taken). Importing this module loads
no model and no scikit-learn.
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from triage.local_models.phrases import PHRASES, phrase
from triage.local_models.text import Specifics, extract_specifics, ticket_text
from triage.pipeline.parsing import InvalidOutput, parse_reply
from triage.ticket_text import TicketText

if TYPE_CHECKING:
    import numpy as np
    from scipy.sparse import csr_matrix

    from triage.local_models.inference import SparseTfidf

log = logging.getLogger(__name__)

# A reworded ticket about the same problem scores 0.65-0.95 (measured on hand-written pairs with
# 0-800 other examples in the index); another ticket of the same category 0.05-0.46.
MIN_SIMILARITY = 0.6
# How often a process asks the source whether the examples changed.
RECHECK_SECONDS = 5.0
# How many matches above the threshold are tried before giving up on examples.
MAX_CANDIDATES = 5
# The head of a ticket is its gist; pasted logs further down would only cost time.
EXAMPLE_TEXT_CHARS = 1000


@dataclass(frozen=True)
class ReplyExample:
    """One approved reply and the ticket it answered."""

    subject: str
    body: str
    reply: str
    language: str  # ISO 639-1 code of the ticket, "en" when undetermined
    account_id: str = ""

    @property
    def ticket(self) -> TicketText:
        return TicketText(subject=self.subject, body=self.body, account_id=self.account_id)


ExampleLoader = Callable[[], Sequence[ReplyExample]]
ExampleVersion = Callable[[], Hashable]


# --- the index -------------------------------------------------------------------------------


def similarity_text(ticket: TicketText) -> str:
    return re.sub(r"\d", "0", ticket_text(ticket)[:EXAMPLE_TEXT_CHARS])


class _LanguageIndex:
    def __init__(self, examples: list[ReplyExample], language: str) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer

        from triage.local_models.inference import SparseTfidf

        self.examples = examples
        texts = [similarity_text(example.ticket) for example in examples]
        vectorizers = [
            TfidfVectorizer(
                ngram_range=(1, 2), sublinear_tf=True, stop_words="english" if language == "en" else None
            ),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
        ]
        # Per vectorizer: lookups for the new ticket, and the examples as a sparse term-major matrix.
        self.parts: list[tuple[SparseTfidf, csr_matrix]] = []
        for vectorizer in vectorizers:
            try:
                matrix = vectorizer.fit_transform(texts)
            except ValueError:  # no terms at all (every example is digits or stop words)
                continue
            self.parts.append((SparseTfidf.from_vectorizer(vectorizer), matrix.T.tocsr()))

    def similarities(self, text: str) -> np.ndarray:
        import numpy as np

        scores = np.zeros(len(self.examples))
        for part, matrix in self.parts:
            indices, weights = part.vector(text)
            if len(indices):
                scores += np.asarray(matrix[indices].T @ weights).ravel()
        # Each part is a cosine similarity; the mean of the two is the score.
        return scores / 2


class ExampleIndex:
    def __init__(self, examples: Sequence[ReplyExample]) -> None:
        by_language: dict[str, list[ReplyExample]] = {}
        for example in examples:
            if example.reply.strip():
                by_language.setdefault(example.language or "en", []).append(example)
        self._languages = {language: _LanguageIndex(rows, language) for language, rows in by_language.items()}

    def __len__(self) -> int:
        return sum(len(index.examples) for index in self._languages.values())

    def matches(self, ticket: TicketText, *, language: str) -> list[tuple[ReplyExample, float]]:
        """Examples in ``language`` at least ``MIN_SIMILARITY`` alike, the closest first."""
        index = self._languages.get(language or "en")
        if index is None:
            return []
        scores = index.similarities(similarity_text(ticket))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [(index.examples[i], float(scores[i])) for i in order if scores[i] >= MIN_SIMILARITY]


EMPTY_INDEX = ExampleIndex([])


# --- the source and when to rebuild --------------------------------------------------------------


@dataclass
class _Source:
    load: ExampleLoader | None = None
    version: ExampleVersion | None = None
    key: object = None
    index: ExampleIndex = EMPTY_INDEX
    checked_at: float = float("-inf")
    lock: threading.Lock = field(default_factory=threading.Lock)


_source = _Source()
os.register_at_fork(after_in_child=lambda: setattr(_source, "lock", threading.Lock()))


def set_example_source(load: ExampleLoader | None, *, version: ExampleVersion | None = None) -> None:
    """Where the examples come from. ``version`` is a cheap value that changes whenever the examples
    do; without one, ``load`` itself is called at every check and compared. ``None`` removes the source.
    """
    global _source
    _source = _Source(load=load, version=version)


def example_index() -> ExampleIndex:
    """The current examples' index, rebuilt when the source says they changed (checked at most
    every ``RECHECK_SECONDS``). A source that fails leaves the last index in place."""
    source = _source
    now = time.monotonic()
    if source.load is None or now - source.checked_at < RECHECK_SECONDS:
        return source.index
    if not source.lock.acquire(blocking=False):
        return source.index  # another thread is checking right now
    try:
        source.checked_at = now
        if source.version is not None:
            key = source.version()
            if key != source.key:
                source.index = ExampleIndex(source.load())
                source.key = key
        else:
            examples = tuple(source.load())
            if examples != source.key:
                source.index = ExampleIndex(examples)
                source.key = examples
    except Exception:
        log.warning(
            "could not read the reply examples; keeping the %d loaded", len(source.index), exc_info=True
        )
    finally:
        source.lock.release()
    return source.index


# --- fitting an example to a new ticket ----------------------------------------------------------

# Specifics that identify one customer's case; each is swapped for the new ticket's value of its kind.
SPECIFIC_KINDS = ("invoices", "orders", "amounts", "errors", "times")
_NAME_WORD = r"[^\W\d_][\w'’-]*\.?"
_HONORIFICS = {
    "mr", "mrs", "ms", "miss", "dr", "herr", "frau", "m", "mme", "mlle", "monsieur", "madame",
    "sr", "sra", "srta", "señor", "señora", "sig", "sig.ra", "signor", "signora", "dhr", "mevr",
}  # fmt: skip
# Words that follow a greeting or end a ticket without being anybody's name.
_NOT_NAMES = {
    "team", "there", "all", "everyone", "folks", "again", "support", "the", "customer", "thanks",
    "thank", "you", "regards", "best", "cheers", "sent", "from", "my", "iphone", "inc", "ltd", "gmbh",
    "corp", "company", "sir", "madam", "hello", "hi",
}  # fmt: skip
_GREETING = re.compile(
    r"^(?P<salute>hi|hello|hey|dear|good (?:morning|afternoon|evening)|hallo|guten (?:tag|morgen|abend)|"
    r"moin|liebe[rs]?|sehr geehrte[rs]?|bonjour|bonsoir|salut|cher|chère|hola|buen(?:os|as) (?:días|tardes)|"
    r"estimad[oa]s?|querid[oa]s?|olá|oi|bom dia|boa tarde|prezad[oa]s?|car[oa]|ciao|buongiorno|buonasera|"
    r"salve|gentile|beste|geachte|hoi|goedemorgen|goedemiddag|dag)\b"
    # Up to four words; only a short one ends in a period ("Mrs."), so "Hi Maria. Thanks," isn't one.
    r"(?P<rest>(?:[ \t]+(?:[^\W\d_]{1,4}\.|[^\W\d_][\w'’-]*)){0,4})\s*(?P<end>[,!:.])",
    re.IGNORECASE,
)
_CLOSING = (
    r"thanks(?: (?:a lot|again|in advance))?|thank you|thx|cheers|best(?: wishes)?|best regards|kind regards|"
    r"warm regards|regards|many thanks|sincerely|yours|br|danke(?: schön)?|vielen dank|viele grüße|"
    r"beste grüße|liebe grüße|mit freundlichen grüßen|freundliche grüße|mfg|lg|gruß|grüße|"
    r"merci(?: beaucoup)?|cordialement|bien à vous|bonne journée|gracias|muchas gracias|saludos|"
    r"un saludo|atentamente|"
    r"obrigad[oa]|atenciosamente|abraços|grazie(?: mille)?|cordiali saluti|saluti|distinti saluti|"
    r"bedankt|groeten|met vriendelijke groet(?:en)?|mvg|dank je(?: wel)?|alvast bedankt"
)
_NAME = rf"{_NAME_WORD}(?:[ \t]+{_NAME_WORD}){{0,2}}"
_SIGNATURE = re.compile(
    rf"(?:^|[\n.!?])\s*(?:{_CLOSING})\s*[,.!]*\s*(?:\n\s*)?[-–—]*\s*(?P<name>{_NAME})"
    r"\s*[.!]?\s*(?:\n[^\n]{0,60})?\s*$",
    re.IGNORECASE,
)
_CLOSING_LINE = re.compile(rf"^(?:{_CLOSING})\b", re.IGNORECASE)
_DASH_SIGNATURE = re.compile(rf"\n\s*(?:--?|—|–)\s*(?P<name>{_NAME})\s*$")
_GENDERED_SALUTES = {
    "liebe", "lieber", "liebes", "sehr geehrte", "sehr geehrter", "cher", "chère", "estimado", "estimada",
    "querido", "querida", "prezado", "prezada", "caro", "cara",
}  # fmt: skip
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_NUMBER_TOKEN = re.compile(r"\w*\d[\w-]*")


def _is_name(words: list[str]) -> bool:
    return bool(words) and all(
        word[0].isupper() and word.rstrip(".").lower() not in _NOT_NAMES and len(word) <= 30 for word in words
    )


def signer_name(ticket: TicketText) -> str:
    """The name a ticket is signed with ("Thanks, Maria" / "Best regards,\\nMaria Lopez"), or ""."""
    lines = [line.strip() for line in ticket.body.strip().splitlines() if line.strip()][-4:]
    candidates = [match.group("name") for match in (_SIGNATURE.search("\n".join(lines)),) if match]
    candidates += [
        match.group("name") for match in (_DASH_SIGNATURE.search("\n" + "\n".join(lines)),) if match
    ]
    # "Thanks for all your help!" then the name on a line of its own.
    if len(lines) >= 2 and _CLOSING_LINE.match(lines[-2]):
        candidates.append(lines[-1])
    for candidate in candidates:
        words = [w for w in candidate.split() if w.rstrip(".").lower() not in _HONORIFICS]
        if len(words) <= 3 and all(re.fullmatch(_NAME_WORD, w) for w in words) and _is_name(words):
            return " ".join(words)
    return ""


def without_since(time: str) -> str:
    """The time without a leading "since": "09:14 UTC" for "Since 09:14 UTC"."""
    return re.sub(r"^since\s+", "", time.strip(), flags=re.IGNORECASE)


def _key(kind: str, value: str) -> str:
    """What makes two values of a kind the same value: "$49.00" is "$49", "since 09:14" is "09:14"."""
    value = value.lower().strip()
    if kind == "amounts":
        number = re.sub(r"[^\d.]", "", value.replace(",", ""))
        return number.removesuffix(".00")
    if kind == "times":
        return without_since(value)
    if kind == "errors":
        code = re.match(r"(?:http\s?)?([45]\d\d)\b", value)
        return code.group(1) if code else value
    return value


def _replacements(reply: str, old: Specifics, new: Specifics) -> dict[str, str] | None:
    """Each specific of the example reply mapped to the new ticket's value of its kind (by position
    in its ticket), or None when one has no counterpart: the example isn't fit for this ticket."""
    found = extract_specifics(TicketText(subject="", body=reply))
    mapping: dict[str, str] = {}
    for kind in SPECIFIC_KINDS:
        old_keys = [_key(kind, value) for value in getattr(old, kind)]
        new_values: tuple[str, ...] = getattr(new, kind)
        for value in getattr(found, kind):
            key = _key(kind, value)
            if key not in old_keys:
                return None  # the agent wrote a value of their own, which may be the customer's
            position = old_keys.index(key)
            if position >= len(new_values):
                return None  # the new ticket has no value of this kind to put in its place
            replacement = new_values[position]
            if kind == "times":
                since = re.match(r"since\s+", value, re.IGNORECASE)
                replacement = (since.group(0) if since else "") + without_since(replacement)
            mapping[value] = replacement
    return mapping


def _substitute(text: str, mapping: dict[str, str]) -> str:
    """Every mapped value replaced in one pass (so a new value is never replaced again)."""
    if not mapping:
        return text
    by_lower = {old.lower(): new for old, new in mapping.items()}
    alternatives = "|".join(re.escape(old) for old in sorted(mapping, key=len, reverse=True))
    pattern = re.compile(rf"(?<![\w-])(?:{alternatives})(?![\w-]|[.,]\d)", re.IGNORECASE)
    return pattern.sub(lambda match: by_lower[match.group(0).lower()], text)


@dataclass(frozen=True)
class _Greeting:
    salute: str  # "Hi", "Guten Tag"
    words: list[str]  # what follows it: "Mrs. Lopez", "there"
    end: str  # "," "!" or ":"
    length: int  # characters of the reply it takes up


def _greeting(reply: str, language: str) -> _Greeting | None:
    match = _GREETING.match(reply)
    if match:
        return _Greeting(match.group("salute"), match.group("rest").split(), match.group("end"), match.end())
    if language in PHRASES:
        return None
    # A language without a phrase table: a short first line ending in "," or "!" greets, and its
    # capitalised words after the first are a name ("Dzień dobry Pani Anno,").
    line = reply.partition("\n")[0].rstrip()
    words = line[:-1].split()
    if not line.endswith((",", "!")) or not 2 <= len(words) <= 6:
        return None
    start = next((i for i, word in enumerate(words) if i and word[0].isupper()), 0)
    if not start:
        return None
    return _Greeting(" ".join(words[:start]), words[start:], line[-1], len(line))


def _greeted(reply: str, *, new_name: str, language: str) -> tuple[str, str]:
    """The reply with its greeting's name replaced by ``new_name`` (or a plain greeting), and the
    name it replaced ("" when the greeting named nobody)."""
    greeting = _greeting(reply, language)
    if greeting is None:
        return reply, ""
    named = [w for w in greeting.words if _is_name([w]) and w.rstrip(".").lower() not in _HONORIFICS]
    if not named:
        return reply, ""
    salute, end = greeting.salute, greeting.end
    if new_name:
        first = new_name.split()[0] if len(named) == 1 else new_name
        # A title ("Mrs.") or a gendered salute ("Liebe") can't be guessed for the new customer.
        neutral = len(named) == len(greeting.words) and salute.lower() not in _GENDERED_SALUTES
        if neutral or language not in PHRASES:
            text = f"{salute} {first}{end}"
        else:
            text = phrase(language, "greeting.named", name=first)
    else:
        text = phrase(language, "greeting.plain") if language in PHRASES else f"{salute}{end}"
    if end == ".":  # "Hi Maria." stays a sentence of its own
        text = text.rstrip(",:!.") + "."
    return text + reply[greeting.length :], " ".join(named)


def _names_replaced(text: str, old_name: str, new_name: str) -> str | None:
    """``old_name`` (whole or any word of it) replaced by the new one's word in the same place; None
    when a word of it is left with nothing to replace it."""
    old_words, new_words = old_name.split(), new_name.split()
    for position, word in sorted(enumerate(old_words), key=lambda item: -len(item[1])):
        pattern = re.compile(rf"(?<!\w){re.escape(word)}(?!\w)")
        if not pattern.search(text):
            continue
        if position >= len(new_words):
            return None
        text = pattern.sub(new_words[position], text)
    return text


def adapted_reply(example: ReplyExample, ticket: TicketText, *, language: str) -> str | None:
    """The example's reply fitted to ``ticket``, or None when it can't be without carrying over
    something of the example's customer (or it isn't a reply the pipeline accepts)."""
    old, new = extract_specifics(example.ticket), extract_specifics(ticket)
    mapping = _replacements(example.reply, old, new)
    if mapping is None:
        return None
    if example.account_id and example.account_id.lower() in example.reply.lower():
        if not ticket.account_id:
            return None
        mapping[example.account_id] = ticket.account_id
    new_name = signer_name(ticket)
    reply, greeted_name = _greeted(example.reply.strip(), new_name=new_name, language=language)
    reply = _substitute(reply, mapping)
    for old_name in {greeted_name, signer_name(example.ticket)} - {"", new_name}:
        replaced = _names_replaced(reply, old_name, new_name)
        if replaced is None:
            return None
        reply = replaced
    if _carries_old_details(reply, example, ticket):
        return None
    try:
        return parse_reply(reply)["reply"]
    except InvalidOutput:
        return None  # too long, a promise of an action taken for the other customer, ...


def _carries_old_details(reply: str, example: ReplyExample, ticket: TicketText) -> bool:
    """A number of three or more characters, or an email address, from the example's ticket that the
    new ticket doesn't have: a reference, an id or an address of the other customer."""
    old_text, new_text = ticket_text(example.ticket).lower(), ticket_text(ticket).lower()
    old_numbers = {token for token in _NUMBER_TOKEN.findall(old_text) if len(token) >= 3}
    new_numbers = set(_NUMBER_TOKEN.findall(new_text))
    for token in _NUMBER_TOKEN.findall(reply.lower()):
        if token in old_numbers and token not in new_numbers:
            return True
    old_emails = set(_EMAIL.findall(old_text))
    return any(email in old_emails and email not in new_text for email in _EMAIL.findall(reply.lower()))


def example_reply(ticket: TicketText, *, language: str) -> str | None:
    """The closest approved reply in ``language`` fitted to ``ticket``, or None when none fits."""
    for example, _ in example_index().matches(ticket, language=language)[:MAX_CANDIDATES]:
        reply = adapted_reply(example, ticket, language=language)
        if reply is not None:
            return reply
    return None
