"""Masking of customer data before text goes to a third-party model.

``mask_text`` finds e-mail addresses, phone numbers, payment card numbers, IBANs, national ids,
secrets (API keys, tokens, passwords written in the text) and URLs carrying credentials, and replaces
each distinct value with a stable placeholder (``<EMAIL_1>``, ``<CARD_2>``); ``unmask_text`` puts the
real values back into what the model answers. Pure functions: no database, no Django, no network.

How each kind is found (precision matters as much as recall: the models need invoice numbers, order
ids, error codes, dates, amounts, versions, IP addresses, request ids and plain URLs to triage):

- EMAIL: an address pattern anchored at the start of its token (so a long run without "@" is scanned
  once, not once per character).
- PHONE: digit runs that look like a phone number are handed to ``phonenumbers.PhoneNumberMatcher``.
  International numbers (``+``/``00``) must be valid (``Leniency.VALID``); national numbers are tried
  in the regions US, GB, DE, FR, ES, IT, NL, BR and IN and must be valid *and* grouped the way that
  country writes them (``Leniency.STRICT_GROUPING``), unless a phone word ("tel", "call", "Handy",
  "portable", "móvil", ...) stands just before them, when ``VALID`` is enough. An ungrouped national
  digit run needs a leading trunk ``0`` or a phone word, and a number right after "ticket", "order",
  "invoice", "Rechnung", "pedido", "zip", ... without a phone word is an id. Dates, times, IP
  addresses, versions, amounts, UUIDs and ``2026-000123``-style invoice numbers are never a phone
  number or a national id.
- CARD: 13-19 digits (spaces or dashes in card-like groups), a Visa/Mastercard/Amex/Discover/JCB/
  Diners/UnionPay prefix of the right length, and a valid Luhn check digit.
- IBAN: any country ``python-stdnum`` knows, checksum and national structure valid, with or without
  spaces.
- NATIONAL_ID: US SSN, UK NINO, DE Steuer-IdNr, FR NIR, ES DNI/NIE, IT codice fiscale, NL BSN, each
  validated by its ``python-stdnum`` module (NINO, which has no check digit and no stdnum module, by
  its allowed prefixes). The schemes whose check catches only 1 in 10-11 random numbers (Steuer-IdNr,
  BSN, an undashed SSN) count only after a keyword ("Steuer-ID", "BSN", "SSN", ...).
- SECRET: known token shapes (``sk-``, ``sk_live_``, ``ghp_``, ``xoxb-``, ``AKIA``, ``AIza``, JWTs,
  private key blocks, ...), ``Bearer``/``Basic`` credentials, a high-entropy string shortly after
  "key", "token", "secret", "API-Schlüssel", "clé API", ..., and a password after "password",
  "pw", "Passwort", "Kennwort", "mot de passe", "contraseña", "senha", "wachtwoord", ... followed by
  ":", "=", "is", "ist", "est", "es", "é", "è", ...
- URL_CREDENTIALS: the ``user:password`` part of a URL, the values of query parameters named like a
  token, key, secret, password or signature, and the token in a webhook's path (Slack, Discord) or a
  reset/invite/verify link's. The rest of the URL (scheme, host, path) stays for the model.

Placeholders are ``<KIND_N>``, numbered per kind; ``Masked.counts`` has only the kinds found.
``mask_text`` expects raw customer text: a placeholder-like string already in it ("<EMAIL_1>" typed
by a customer) keeps its number out of use, and is itself masked when it would collide with a
placeholder in ``existing``, so unmasking never turns it into someone's address.

Why not Microsoft Presidio (``presidio-analyzer`` 2.2.366, measured in a throwaway venv here):
``pip install presidio-analyzer`` pulls in 50 packages (spaCy 3.8, thinc, blis, pydantic, requests,
tldextract, ...), 367 MB on disk. ``import presidio_analyzer`` imports spaCy even when only the pattern
recognizers are used: 0.45-0.7 s and +113 MB RSS in a bare interpreter, still +68 MB with numpy,
pydantic and requests already loaded (a worker's situation) - over the 50 MB a worker may grow.
``AnalyzerEngine()`` tries to download ``en_core_web_lg`` and fails offline, and its e-mail
recognizer's tldextract tries to fetch the public suffix list on first use. Its pattern recognizers
are what is done here with ``phonenumbers`` (9.0.43) and ``python-stdnum`` (2.2): this module costs
about 13 MB RSS and 60-90 ms of import in a fresh interpreter (``bench/masking.py`` prints it).

Runs in linear time: every pattern is anchored at a token start or a literal prefix, quantifiers are
bounded, and the validators only see short candidates (a 64 KB body takes well under a second; a
typical ticket about a millisecond).
"""

from __future__ import annotations

import math
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import phonenumbers
from phonenumbers import Leniency, PhoneNumberMatcher
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.it import codicefiscale as it_codicefiscale
from stdnum.nl import bsn as nl_bsn
from stdnum.us import ssn as us_ssn

KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "SECRET", "URL_CREDENTIALS")
SENSITIVE_KINDS = frozenset({"CARD", "IBAN", "SECRET", "URL_CREDENTIALS"})

# Which finding wins where two overlap (lower first): a URL's credentials contain something that looks
# like an e-mail address, an IBAN and a card contain digit groups that look like phone numbers.
_PRIORITY = {
    "URL_CREDENTIALS": 0,
    "SECRET": 1,
    "EMAIL": 2,
    "IBAN": 3,
    "CARD": 4,
    "NATIONAL_ID": 5,
    "PHONE": 6,
}
# Kinds that give way to dates, times, IP addresses, versions, amounts, UUIDs and invoice numbers.
_YIELDING_KINDS = frozenset({"PHONE", "NATIONAL_ID"})


@dataclass(frozen=True)
class Finding:
    kind: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class Masked:
    text: str
    replacements: dict[str, str]
    counts: dict[str, int]

    @property
    def sensitive(self) -> bool:
        return any(self.counts.get(kind, 0) for kind in SENSITIVE_KINDS)

    @property
    def total(self) -> int:
        return sum(self.counts.values())


_Add = Callable[..., None]  # add(kind, start, end, priority=None)
# A high-entropy string near "key"/"token" is the weakest evidence: a valid IBAN, card or national id
# there is that, not a secret.
_GENERIC_SECRET_PRIORITY = 7

# --------------------------------------------------------------------------------------------------
# URLs with credentials

_URL = re.compile(r"(?<![A-Za-z0-9+.\-])[A-Za-z][A-Za-z0-9+.\-]{1,15}://[^\s<>\"'`]{1,4000}")
_URL_TRAILING = ".,;:)]}'\""  # not "!"/"?": a credential may end with one; masking a "!" too costs nothing
_QUERY_PARAM = re.compile(r"(?<=[?&;#])([^=&#;\s]{1,100})=([^&#;\s]{1,2000})")
_SECRET_PARAM_NAME = re.compile(
    r"token|secret|passw|pwd|signature|credential|api[_-]?key|apikey|access[_-]?key|private|"
    r"^(?:key|sig|pass|auth|code_verifier|client_secret|session|sessionid|sid)$|[_-](?:key|sig|auth)$",
    re.IGNORECASE,
)
_PASSWORD_PARAM_NAME = re.compile(r"passw|pwd|^pass$|secret", re.IGNORECASE)
# Path segments that carry a credential: a webhook's (Slack, Discord, Teams) or a reset/invite link's token.
_SECRET_PATH = re.compile(
    r"/(?:services|webhooks|webhookb2|reset|reset-password|password-reset|invite|invitation|magic-link|"
    r"login-link|verify|activate|confirm|token)/((?:[A-Za-z0-9_\-.~%]{1,200}/?){1,4})",
    re.IGNORECASE,
)
_HOST_PORT = re.compile(r"[A-Za-z0-9.\-\[\]:]+")


def _url_credentials(text: str, add: _Add) -> None:
    if "://" not in text:
        return
    for match in _URL.finditer(text):
        url = match.group().rstrip(_URL_TRAILING)
        start = match.start()
        scheme_end = url.find("://")
        if scheme_end < 0:
            continue
        authority_start = scheme_end + 3
        slash = url.find("/", authority_start)
        authority_end = slash if slash >= 0 else len(url)
        authority = url[authority_start:authority_end]
        at = authority.rfind("@")
        if at > 0:
            userinfo = authority[:at]
            host = authority[at + 1 :]
            host_only = re.split(r"[?#]", host, maxsplit=1)[0]
            credentials = ":" in userinfo and "?" not in userinfo and "#" not in userinfo
            # "user:password@host", or a token as the user name ("https://ghp_...@github.com/...")
            if (host_only and _HOST_PORT.fullmatch(host_only)) and (
                credentials or _looks_secret(userinfo, direct=True)
            ):
                add("URL_CREDENTIALS", start + authority_start, start + authority_start + at)
        path_end = min(
            (i for i in (url.find("?", authority_end), url.find("#", authority_end)) if i >= 0),
            default=len(url),
        )
        for secret_path in _SECRET_PATH.finditer(url, authority_end, path_end):
            if _looks_secret(secret_path.group(1), direct=True) or secret_path.group(0).startswith(
                "/services/"
            ):
                add("URL_CREDENTIALS", start + secret_path.start(1), start + secret_path.end(1))
        query = url.find("?")
        if query < 0:
            query = url.find("#")
        if query < 0:
            continue
        for param in _QUERY_PARAM.finditer(url, query):
            name, value = param.group(1), param.group(2)
            if not _SECRET_PARAM_NAME.search(name):
                continue
            if not _PASSWORD_PARAM_NAME.search(name) and not (
                any(c.isdigit() for c in value) or len(value) >= 12
            ):
                continue  # "?sort_key=date"
            add("URL_CREDENTIALS", start + param.start(2), start + param.end(2))


# --------------------------------------------------------------------------------------------------
# Secrets

_TOKEN = re.compile(
    r"""(?<![A-Za-z0-9_\-])(?:
        sk-[A-Za-z0-9_\-]{20,400}
      | (?:sk|rk)_(?:live|test)_[A-Za-z0-9]{10,200}
      | whsec_[A-Za-z0-9+/=]{20,200}
      | gh[pousr]_[A-Za-z0-9]{30,200}
      | github_pat_[A-Za-z0-9_]{30,300}
      | glpat-[A-Za-z0-9_\-]{20,200}
      | xox[abposr]-[A-Za-z0-9\-]{10,300}
      | xapp-[A-Za-z0-9\-]{10,300}
      | (?:AKIA|ASIA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[0-9A-Z]{16}
      | AIza[0-9A-Za-z_\-]{35}
      | ya29\.[0-9A-Za-z_\-]{20,400}
      | SG\.[A-Za-z0-9_\-]{16,100}\.[A-Za-z0-9_\-]{16,100}
      | hf_[A-Za-z0-9]{30,100}
      | npm_[A-Za-z0-9]{36}
      | pypi-[A-Za-z0-9_\-]{50,300}
      | dop_v1_[a-f0-9]{64}
      | shp(?:at|ss|ca|pa)_[a-fA-F0-9]{32}
      | eyJ[A-Za-z0-9_\-]{5,2000}\.[A-Za-z0-9_\-]{5,4000}\.[A-Za-z0-9_\-]{0,2000}
    )(?![A-Za-z0-9_\-])""",
    re.VERBOSE,
)
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z ]{0,30}PRIVATE KEY-----"
    r"(?:[\s\S]{0,20000}?-----END [A-Z ]{0,30}PRIVATE KEY-----|[A-Za-z0-9+/=\s]{0,20000})"
)
_BEARER = re.compile(r"(?i)(?<![A-Za-z0-9])bearer(?:[ \t]+|[ \t]*\r?\n[ \t]*)([A-Za-z0-9\-._~+/]{16,4000}=*)")
_BASIC = re.compile(r"(?i)authorization[\"']?[ \t]*[:=][ \t]*[\"']?basic[ \t]+([A-Za-z0-9+/]{8,2000}={0,2})")
_SECRET_KEYWORD = re.compile(
    r"""(?i)(?<![A-Za-z0-9])(?:
        api[\s_.\-]?(?:key|token|secret)s?|apikey|
        access[\s_\-]?(?:key|token)(?:[\s_\-]?id)?|
        secret(?:[\s_\-]?(?:access[\s_\-]?)?key)?|client[\s_\-]?secret|
        (?:auth|refresh|session|bearer)[\s_\-]?token|token|
        (?:private|signing|webhook|license|licence)[\s_\-]?key|key|
        api[\s\-]?schl(?:ü|ue)ssel|schl(?:ü|ue)ssel|cl(?:é|e)|clave|chiave|sleutel|chave|jeton|geheimnis
    )(?![A-Za-z0-9])""",
    re.VERBOSE,
)
_SECRET_VALUE = re.compile(r"[A-Za-z0-9+/][A-Za-z0-9_\-+/=.~]{15,511}")
_WINDOW_STOP = re.compile(r"\n[ \t]*\n|\.[ \t\n]")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_HOSTNAME = re.compile(r"(?:[A-Za-z0-9\-]+\.)+[A-Za-z]{2,24}")
_DATETIME_LIKE = re.compile(r"[\d\-:.TZ+/]+")
_CHUNKS = re.compile(r"[_\-./+=~]")
# "token: X", "api_key = 'X'", "key is X": X is what the keyword names (even if it is a UUID).
_DIRECT_CONNECTOR = re.compile(
    r"""[ \t"'`(\[\]]*(?:[:=]|\s(?:is|ist|est|es|é|è|lautet)\b)[\s"'`]*""", re.IGNORECASE
)

_PASSWORD_KEYWORD = re.compile(
    r"""(?i)(?<![A-Za-z0-9])(?:
        pass(?:word|wort|wd|phrase|code)?|pwd|pw|kennwort|wachtwoord|senha|contrase(?:ñ|n)a|
        clave|mot\s+de\s+passe|mdp|parola\s+d['’]ordine
    )s?(?![A-Za-z0-9_\-])""",
    re.VERBOSE,
)
_SPACE = r"(?:[ \t]+|[ \t]*\r?\n[ \t]*)"  # a hard-wrapped line may break anywhere between words
_PASSWORD_CONNECTOR = re.compile(
    r"""(?ix)
    # "for the VPN", "für das Postfach"
    (?:{space}(?:for|für|pour|para|per|voor|van|del|de|do|da|of|zum|zur|vom)\b[^:=\n]{1,40}?)?
    [ \t]*(?:\([^()\n]{0,40}\)[ \t]*)?                                   # "(temporary)"
    (?:
        (?P<sym>[:=])(?:[ \t]*\r?\n)?[ \t]*
      | {space}(?P<word>(?:is|was|ist|war|lautet|est|était|etait|es|era|é|è|wordt|sera)
            (?:{space}(?:now|jetzt|nun|maintenant|désormais|ahora|agora|adesso|ora|nu|still|noch|toujours))?
            (?:{space}(?:set|reset|changed|updated|geändert|gesetzt){space}(?:to|auf))?
          | (?:changed|set|reset|updated){space}to|to|auf|para|naar)
        [ \t]*[:=]?{space}
    )""".replace("{space}", _SPACE)
)
_QUOTED = re.compile(r"""["'“‘„«`]([^"'”’“»`\n]{1,100})["'”’“»`]""")
_UNQUOTED = re.compile(r"\S{1,128}")
_VALUE_TRAILING = ".,;:)]}>\"'”’»"
_LOWER_WORDS = re.compile(r"[A-Za-zÀ-ÿ]+(?:-[A-Za-zÀ-ÿ]+)*")


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _looks_secret(value: str, *, direct: bool) -> bool:
    """A random-looking credential (not a word, path, host, date, version or, unless it directly
    follows "token:"/"key =", a UUID)."""
    if not 16 <= len(value) <= 512 or value.isdigit():
        return False
    if "://" in value or "@" in value or ("/" in value and not direct):
        return False  # a URL, an address, or a path ("<Key>ws_4/att/9f2c...</Key>" in an S3 error)
    if _UUID.fullmatch(value):
        return direct
    if (_HOSTNAME.fullmatch(value) and value == value.lower()) or _DATETIME_LIKE.fullmatch(value):
        return False
    if _entropy(value) < 3.0:
        return False
    has_upper = any(c.isupper() for c in value)
    has_lower = any(c.islower() for c in value)
    for chunk in _CHUNKS.split(value):
        if len(chunk) >= 8 and any(c.isdigit() for c in chunk) and any(c.isalpha() for c in chunk):
            return True
    return len(value) >= 24 and has_upper and has_lower and _entropy(value) >= 3.5


def _looks_password(value: str, *, word_connector: bool) -> bool:
    if not 4 <= len(value) <= 128 or len(set(value)) < 3:
        return False
    if "://" in value or value.startswith(("<", "&lt;")):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() for c in value)
    mixed = any(c.isupper() for c in value[1:]) and any(c.islower() for c in value)
    if not (has_digit or has_symbol or mixed):
        return False
    # "the password is case-sensitive", "password is Enterprise-wide": words, not a password.
    return not (word_connector and not has_digit and _LOWER_WORDS.fullmatch(value))


def _secrets(text: str, add: _Add) -> None:
    for match in _TOKEN.finditer(text):
        add("SECRET", match.start(), match.end())
    if "PRIVATE KEY" in text:
        for match in _PRIVATE_KEY.finditer(text):
            add("SECRET", match.start(), match.end())
    lowered = text.lower()
    if "bearer" in lowered:
        for match in _BEARER.finditer(text):
            value = match.group(1)
            if _looks_secret(value, direct=True) or value.startswith("eyJ"):
                add("SECRET", match.start(1), match.end(1))
    if "basic" in lowered:
        for match in _BASIC.finditer(text):
            add("SECRET", match.start(1), match.end(1))
    for match in _SECRET_KEYWORD.finditer(text):
        end = match.end()
        window_end = min(len(text), end + 80)
        stop = _WINDOW_STOP.search(text, end, window_end)
        if stop:
            window_end = stop.start()
        direct = _DIRECT_CONNECTOR.match(text, end, window_end)
        direct_at = direct.end() if direct else -1
        for value in _SECRET_VALUE.finditer(text, end, min(len(text), window_end + 512)):
            if value.start() >= window_end:
                break
            token = value.group().rstrip(".")
            if _looks_secret(token, direct=value.start() == direct_at):
                add("SECRET", value.start(), value.start() + len(token), _GENERIC_SECRET_PRIORITY)
                break
    for match in _PASSWORD_KEYWORD.finditer(text):
        connector = _PASSWORD_CONNECTOR.match(text, match.end())
        if not connector:
            continue
        at = connector.end()
        quoted = _QUOTED.match(text, at)
        if quoted:
            start, value = quoted.start(1), quoted.group(1)
        else:
            unquoted = _UNQUOTED.match(text, at)
            if not unquoted:
                continue
            start, value = at, unquoted.group()
            if connector.group("sym") == "=":
                value = re.split(r"[;&,]", value, maxsplit=1)[0]  # Password=S3cret;Database=app
            value = value.rstrip(_VALUE_TRAILING)
        if _looks_password(value, word_connector=connector.group("word") is not None):
            add("SECRET", start, start + len(value))


# --------------------------------------------------------------------------------------------------
# E-mail addresses

_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+'\-]{0,63}@"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)


def _emails(text: str, add: _Add) -> None:
    if "@" not in text:
        return
    for match in _EMAIL.finditer(text):
        value = match.group()
        if value.lower().startswith("git@"):  # git@github.com:org/repo is a remote, not a person
            continue
        add("EMAIL", match.start(), match.end())


# --------------------------------------------------------------------------------------------------
# IBANs

_IBAN = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{2}\d{2}(?:[ \-]?[A-Za-z0-9]){10,34}")


def _ibans(text: str, add: _Add) -> None:
    for match in _IBAN.finditer(text):
        candidate = match.group()
        cuts = [i for i, c in enumerate(candidate) if c in " -"] + [len(candidate)]
        for cut in reversed(cuts):
            piece = candidate[:cut]
            end = match.start() + cut
            if end < len(text) and text[end].isalnum():
                continue
            compact = piece.replace(" ", "").replace("-", "").upper()
            if 15 <= len(compact) <= 34 and stdnum_iban.is_valid(compact):
                add("IBAN", match.start(), end)
                break


# --------------------------------------------------------------------------------------------------
# Payment cards

_DIGIT_RUN = re.compile(r"(?<![\w.,/+\-])\d{1,19}(?:[ \-]\d{1,19}){0,7}(?!\w|[.,]\d)")
_DIGIT_GROUP = re.compile(r"\d+")


def _card_brand_ok(digits: str) -> bool:
    n = len(digits)
    two, three, four, six = int(digits[:2]), int(digits[:3]), int(digits[:4]), int(digits[:6])
    if digits[0] == "4":
        return n in (13, 16, 19)  # Visa
    if 51 <= two <= 55 or 2221 <= four <= 2720:
        return n == 16  # Mastercard
    if two in (34, 37):
        return n == 15  # American Express
    if four == 6011 or 644 <= three <= 649 or two == 65 or 622126 <= six <= 622925:
        return 16 <= n <= 19  # Discover
    if 3528 <= four <= 3589:
        return 16 <= n <= 19  # JCB
    if 300 <= three <= 305 or two in (36, 38, 39):
        return 14 <= n <= 19  # Diners Club
    if two == 62:
        return 16 <= n <= 19  # UnionPay
    return False


def _card_grouping_ok(sizes: list[int]) -> bool:
    if len(sizes) == 1:
        return True
    if all(size == 4 for size in sizes[:-1]) and 1 <= sizes[-1] <= 4:
        return True
    return sizes in ([4, 6, 5], [4, 6, 4])


def _cards(text: str, add: _Add) -> None:
    for match in _DIGIT_RUN.finditer(text):
        run = match.group()
        if len(run) < 13:
            continue
        groups = [(g.start(), g.end()) for g in _DIGIT_GROUP.finditer(run)]
        for j in range(len(groups), 0, -1):
            digits = "".join(run[s:e] for s, e in groups[:j])
            if not 13 <= len(digits) <= 19:
                continue
            if (
                _card_grouping_ok([e - s for s, e in groups[:j]])
                and _card_brand_ok(digits)
                and luhn.is_valid(digits)
            ):
                add("CARD", match.start(), match.start() + groups[j - 1][1])
                break


# --------------------------------------------------------------------------------------------------
# National ids

# One pass for every scheme; which one a run of digits is follows from its length and the keyword.
_NATIONAL_ID = re.compile(
    r"""
      (?P<nino>(?<![A-Za-z0-9])(?!BG|GB|NK|KN|TN|NT|ZZ)[A-CEGHJ-PR-TW-Z][A-CEGHJ-NPR-TW-Z]
          [\ ]?\d{2}[\ ]?\d{2}[\ ]?\d{2}[\ ]?[A-D](?![A-Za-z0-9]))
    | (?P<cf>(?<![\w])[A-Za-z]{6}\d{2}[A-Za-z]\d{2}[A-Za-z]\d{3}[A-Za-z](?![\w]))
    | (?P<nie>(?<![\w\-])[XYZxyz][\ \-]?\d{7}[\ \-]?[A-Za-z](?![\w]))
    | (?P<dni>(?<![\w\-.])\d{2}\.?\d{3}\.?\d{3}[\ \-]?[A-Za-z](?![\w]))
    | (?P<nir>(?<![\w.,/+\-])[12378][\ .]?\d{2}[\ .]?\d{2}[\ .]?(?:\d{2}|2[AB])
          [\ .]?\d{3}[\ .]?\d{3}[\ .]?\d{2}
          (?!\w|[.,/\-]?\d))
    | (?P<digits>(?<![\w.,/+\-])\d(?:[\ ./\-]?\d){8,10}(?!\w|[.,/\-]?\d))
    """,
    re.VERBOSE,
)
_SSN_DASHED = re.compile(r"\d{3}-\d{2}-\d{4}")
_SSN_PLAIN = re.compile(r"\d{3}[ ]?\d{2}[ ]?\d{4}")
_DE_IDNR = re.compile(r"[1-9](?:[ /]?\d){10}")
_NL_BSN = re.compile(r"\d(?:[ .]?\d){8}")

_SSN_KEYWORD = re.compile(r"(?i)\b(?:ssn|ss#|social[ \t]+security|soc\.?[ \t]*sec)")
_DE_IDNR_KEYWORD = re.compile(
    r"(?i)(?:steuer[\s\-]?id|steuer[\s\-]?identifikations|identifikationsnummer|\bidnr|steuernummer|"
    r"\btax[\s\-]?id|\btin\b|\bst\.?[\s\-]?idnr)"
)
_NL_BSN_KEYWORD = re.compile(
    r"(?i)(?:\bbsn|burgerservice|\bsofi[\s\-]?nummer|citizen[ \t]+service[ \t]+number|persoonsnummer)"
)


def _keyword_before(keyword: re.Pattern[str], text: str, start: int, distance: int = 60) -> bool:
    return keyword.search(text, max(0, start - distance), start) is not None


def _national_ids(text: str, add: _Add) -> None:
    for match in _NATIONAL_ID.finditer(text):
        value, start, end = match.group(), match.start(), match.end()
        scheme = match.lastgroup
        if scheme == "nino":
            valid = True
        elif scheme == "cf":
            valid = it_codicefiscale.is_valid(value.upper())
        elif scheme == "nie":
            valid = es_nie.is_valid(value)
        elif scheme == "dni":
            valid = es_dni.is_valid(value.replace(".", ""))
        elif scheme == "nir":
            valid = fr_nir.is_valid(value)
        elif _SSN_DASHED.fullmatch(value):
            valid = us_ssn.is_valid(value)
        else:
            # The weak schemes (a random number passes their check 1 time in 10 or 11) need a keyword.
            valid = (
                (
                    _SSN_PLAIN.fullmatch(value) is not None
                    and _keyword_before(_SSN_KEYWORD, text, start)
                    and us_ssn.is_valid(value.replace(" ", ""))
                )
                or (
                    _NL_BSN.fullmatch(value) is not None
                    and _keyword_before(_NL_BSN_KEYWORD, text, start)
                    and nl_bsn.is_valid(value)
                )
                or (
                    _DE_IDNR.fullmatch(value) is not None
                    and _keyword_before(_DE_IDNR_KEYWORD, text, start)
                    and de_idnr.is_valid(value)
                )
            )
        if valid:
            add("NATIONAL_ID", start, end)


# --------------------------------------------------------------------------------------------------
# Phone numbers

_PHONE_CANDIDATE = re.compile(
    r"(?<![\w#@/+\-$€£])(?<!\d\.)(?:\+|\(\+?)?\d(?:[\d \t\u00a0()\-/]|\.(?=\d)){5,26}\d(?!\w|[.\-/]\d)"
)
_PHONE_KEYWORD = re.compile(
    r"""(?ix)(?:
        \b(?:tel|tél|tlf|tfno|tfn|fon|fax|cel|cell|mob|nr|bel|ph)\b
      | \b(?:phone|telephon|téléphon|telefon|telefoon|teléfon|handy|mobil|mobiel|móvil|movil|cellula|celular
          |whatsapp|call|ring|reach|contact|contat|anruf|rufen|rufnummer|rückruf|erreichbar|durchwahl|festnetz
          |appel|joign|joindre|portable|llam|llám|ligar|ligue|chiam|bellen|hotline|sms|text\s+me)\w*
      | \b[tmpf][ \t]?:
      | ☎ | 📞
    )"""
)
# A number right after one of these is an id, unless a phone word says otherwise.
_ID_WORD_BEFORE = re.compile(
    r"""(?ix)(?:\b(?:ticket|case|order|invoice|ref|reference|id|nr|no|n°|nº|number|nummer|numéro|número|numero
        |rechnung|bestellung|bestelling|factuur|commande|facture|pedido|factura|fattura|ordine|chamado|fatura
        |vorgang|kundennummer|customer|account|konto|sku|po|so|build|version|serial
        |zip|zip\s+code|postcode|postal\s+code|plz|cep|cap|código\s+postal|code\s+postal
        |vat|p\.?\s?iva|partita\s+iva|iva|tva|btw|ust|ust-idnr|uid|nif|cif|siret|siren|company\s+no|kvk
        |trade\s?mark|reg)\.?[ \t:#]*$)"""
)
_PHONE_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "IN")


def _national_regions(digits: str) -> tuple[str, ...]:
    """The regions whose national numbers can have this many digits and this first digit (a cheap
    filter before ``phonenumbers`` parses)."""
    n, first = len(digits), digits[0]
    if n > 13:
        return _PHONE_REGIONS  # several numbers in one run: let the matcher split them
    regions = []
    if (n == 10 and first in "23456789") or (n == 11 and first == "1" and digits[1] in "23456789"):
        regions.append("US")
    if first == "0":
        if 10 <= n <= 11:
            regions.append("GB")
        if 6 <= n <= 13:
            regions.append("DE")
        if n == 10:
            regions += ["FR", "NL"]
        if 6 <= n <= 11:
            regions.append("IT")
        if 11 <= n <= 13:
            regions.append("BR")
        if n == 11:
            regions.append("IN")
    else:
        if n == 9 and first in "6789":
            regions.append("ES")
        if first == "3" and 9 <= n <= 10:
            regions.append("IT")
        if 10 <= n <= 11:
            regions.append("BR")
        if n == 10 and first in "6789":
            regions.append("IN")
    return tuple(regions)


# Between two numbers in one run of digits and separators: " / ", " - ", two spaces, a tab.
_PHONE_PIECE_SEPARATOR = re.compile(r"[ \t]*/[ \t]+|[ \t]+/[ \t]*|[ \t]+-[ \t]+|[ \t]{2,}|\t")
# How many runs of more than 13 digits one text may send through the matcher's slow inner search (each
# costs about a millisecond); past that (a pasted table or log), such runs are not phone numbers.
_LONG_RUN_BUDGET = 40


def _phones(text: str, add: _Add) -> None:
    budget = [_LONG_RUN_BUDGET]
    for match in _PHONE_CANDIDATE.finditer(text):
        candidate = match.group()
        if sum(c.isdigit() for c in candidate) <= 13:
            _phone_candidate(text, match.start(), candidate, add, budget)
            continue
        position = 0
        for separator in _PHONE_PIECE_SEPARATOR.finditer(candidate):
            _phone_candidate(
                text, match.start() + position, candidate[position : separator.start()], add, budget
            )
            position = separator.end()
        _phone_candidate(text, match.start() + position, candidate[position:], add, budget)


def _phone_candidate(text: str, offset: int, candidate: str, add: _Add, budget: list[int]) -> None:
    candidate = candidate.strip(" \t-/")
    digits = "".join(c for c in candidate if c.isdigit())
    if not 7 <= len(digits) <= 30:
        return
    end = offset + len(candidate)
    line_end = text.find("\n", end)
    after_end = min(end + 16, len(text) if line_end < 0 else line_end)
    keyword = _keyword_before(_PHONE_KEYWORD, text, offset, 32) or (
        _PHONE_KEYWORD.search(text, end, after_end) is not None
    )
    if not keyword and _ID_WORD_BEFORE.search(text, max(0, offset - 24), offset):
        return
    stripped = candidate.lstrip("(")
    if stripped.startswith("+") or stripped.startswith("00"):
        # International: valid is enough, whatever the grouping ("00" is the prefix in DE and most
        # of Europe). The matcher only looks inside when the whole run isn't one valid number.
        # A number written with "+" only has to be possible (right length for its country): a new or
        # reserved range ("+44 7700 900412") is still somebody's number as far as masking goes.
        if _valid_in(candidate, "DE", possible=stripped.startswith("+") and len(digits) >= 8):
            add("PHONE", offset, end)
            return
        attempts: tuple[tuple[str, int], ...] = (("DE", Leniency.VALID),)
    else:
        if candidate.isdigit() and not keyword and (digits[0] != "0" or len(digits) < 10):
            return  # an ungrouped run like 4155550132 or 04897730 without "tel"/"call" is an id
        regions = _national_regions(digits)
        leniency = Leniency.VALID if keyword else Leniency.STRICT_GROUPING
        if len(digits) <= 13:
            # One number: parse it in each region (cheap) and, without a phone word, let the matcher
            # check the grouping only where it is valid.
            partial: list[tuple[int, int]] = []
            for region in regions:
                if not _valid_in(candidate, region):
                    continue
                if keyword:
                    add("PHONE", offset, end)
                    return
                spans = [(n.start, n.end) for n in PhoneNumberMatcher(candidate, region, leniency=leniency)]
                if sum(stop - start for start, stop in spans) >= len(candidate) - 2:
                    partial = spans
                    break
                if sum(stop - start for start, stop in spans) > sum(stop - start for start, stop in partial):
                    partial = spans
            for start, stop in partial:
                add("PHONE", offset + start, offset + stop)
            return
        attempts = tuple((region, leniency) for region in regions)
    if budget[0] <= 0:
        return
    budget[0] -= 1
    # Several numbers in one run: the region whose numbers cover most of it. A region where only a
    # prefix is valid ("091108" of the Indian "091108 11063" is a valid Italian number) must not win.
    best: list[tuple[int, int]] = []
    best_covered = 0
    for region, leniency in attempts:
        spans = [(n.start, n.end) for n in PhoneNumberMatcher(candidate, region, leniency=leniency)]
        covered = sum(stop - start for start, stop in spans)
        if covered > best_covered:
            best, best_covered = spans, covered
            if covered >= len(candidate) - 2:
                break
    for start, stop in best:
        add("PHONE", offset + start, offset + stop)


_TRUNK_ZERO = re.compile(r"\([ \t]?0[ \t]?\)")  # "+44 (0) 20 ...": the national prefix, dropped abroad


def _valid_in(candidate: str, region: str, *, possible: bool = False) -> bool:
    try:
        number = phonenumbers.parse(_TRUNK_ZERO.sub("", candidate), region)
        if possible:
            return phonenumbers.is_possible_number(number)
        return phonenumbers.is_valid_number(number)
    except phonenumbers.NumberParseException:
        return False


# --------------------------------------------------------------------------------------------------
# What must survive: dates, times, IP addresses, UUIDs, versions, amounts, invoice numbers

_PROTECTED = re.compile(
    r"""
      (?<![\w])\d{4}-\d{2}-\d{2}
          (?:[T\ ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+\-]\d{2}:?\d{2})?)?(?![\w]|[./\-]\d)
    | (?<![\w])(?<!\d[./\-])\d{1,2}[./\-]\d{1,2}[./\-](?:\d{4}|\d{2})(?![\w]|[./\-]\d)
    | (?<![\w])(?<!\d[./\-])\d{4}[./]\d{1,2}[./]\d{1,2}(?![\w]|[./\-]\d)
    | (?<![\w:])\d{1,2}:\d{2}(?::\d{2})?(?![\w:]|\.\d)
    | (?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?::\d{1,5})?(?![\w]|\.\d)
    | (?<![\w\-])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w\-])
    | (?<![\w\-])(?:19|20)\d{2}[\-/]\d{3,8}(?![\w\-])
    | (?<=\b[A-Z]{2}\ )\d{5}-\d{4}\b
    | [$€£¥₹][\ \u00a0]?\d[\d.,'\u00a0]{0,20}
    | (?<![\w.,])\d[\d.,'\u00a0]{0,20}[\ \u00a0]?(?:€|EUR|USD|GBP|CHF|£|\$|₹|INR|BRL|euros?)(?![A-Za-z])
    """,
    re.VERBOSE,
)
_VERSION = re.compile(r"(?<![\w.])[vV]?\d+(?:\.\d+){2,5}(?![\w]|\.\d)")


def _protected(text: str, start: int, end: int) -> bool:
    """Whether [start, end) overlaps a date, time, IP address, UUID, version, amount or invoice number.
    Looked for only around a finding (lookbehinds see the whole text, lookaheads 40 characters on)."""
    lo, hi = max(0, start - 40), min(len(text), end + 40)
    for match in _PROTECTED.finditer(text, lo, hi):
        if match.start() < end and start < match.end():
            return True
    for match in _VERSION.finditer(text, lo, hi):
        if match.start() < end and start < match.end():
            value = match.group()
            if value[0] in "vV" or any(len(g) == 1 for g in value.lstrip("vV").split(".")):
                return True
    return False


def _blank(text: str, spans: list[tuple[int, int]]) -> str:
    """``text`` with each span replaced by as many letters (so offsets stay and no digit run crosses it)."""
    parts: list[str] = []
    position = 0
    for start, end in sorted(spans):
        start = max(start, position)
        if end <= start:
            continue
        parts.append(text[position:start])
        parts.append("x" * (end - start))
        position = end
    parts.append(text[position:])
    return "".join(parts)


# --------------------------------------------------------------------------------------------------
# Public interface


def find_sensitive(text: str) -> list[Finding]:
    """Every value to mask in ``text``: non-overlapping, sorted by start."""
    if not text:
        return []
    raw: list[tuple[int, int, int, str]] = []

    def add(kind: str, start: int, end: int, priority: int | None = None) -> None:
        if end > start:
            raw.append((_PRIORITY[kind] if priority is None else priority, start, end, kind))

    _url_credentials(text, add)
    _secrets(text, add)
    _emails(text, add)
    _ibans(text, add)
    if any(c.isdigit() for c in text):
        _cards(text, add)
        # Phone numbers and national ids are looked for around what was found so far, not in it.
        strong = [(start, end) for priority, start, end, _ in raw if priority < _GENERIC_SECRET_PRIORITY]
        rest = _blank(text, strong) if strong else text
        _national_ids(rest, add)
        _phones(rest, add)
    if not raw:
        return []
    raw.sort(key=lambda item: (item[0], item[1], item[1] - item[2]))
    accepted: list[tuple[int, int, str]] = []
    starts: list[int] = []
    for _, start, end, kind in raw:
        if kind in _YIELDING_KINDS and _protected(text, start, end):
            continue
        i = bisect_left(starts, start)
        if i > 0 and accepted[i - 1][1] > start:
            continue
        if i < len(accepted) and accepted[i][0] < end:
            continue
        starts.insert(i, start)
        accepted.insert(i, (start, end, kind))
    return [Finding(kind, start, end, text[start:end]) for start, end, kind in accepted]


_KIND_ALTERNATION = "|".join(sorted(KINDS, key=len, reverse=True))
_CORE = r"(?<![A-Za-z0-9_])(" + _KIND_ALTERNATION + r")_(\d{1,6})(?!\d)"
# A placeholder as written by us ("<EMAIL_1>") or as a model may echo it: with spaces inside the
# brackets, HTML-escaped, markdown-escaped, in square or curly brackets, or bare ("EMAIL_1"). Each
# bracketed form must close the way it opens, so text around our own "<EMAIL_1>" is never taken in.
_PLACEHOLDER_FORMS = (
    r"<[ \t]?{c}[ \t]?>",
    r"&lt;[ \t]?{c}[ \t]?&gt;",
    r"\\<{c}\\>",
    r"\[{c}\]",
    r"\{{c}\}",
    r"{c}",
)
_PLACEHOLDER_LIKE = re.compile("|".join(form.replace("{c}", _CORE) for form in _PLACEHOLDER_FORMS))
_OUR_PLACEHOLDER = re.compile(r"<(" + _KIND_ALTERNATION + r")_(\d{1,6})>")


def _placeholder_of(match: re.Match[str]) -> tuple[str, int]:
    """The kind and number of a ``_PLACEHOLDER_LIKE`` match, whichever form matched."""
    groups = match.groups()
    for i in range(0, len(groups), 2):
        if groups[i] is not None:
            return groups[i], int(groups[i + 1])
    raise ValueError(match.group())


def mask_text(text: str, *, existing: Mapping[str, str] | None = None) -> Masked:
    """``text`` with every finding replaced by a placeholder. The same value always gets the same
    placeholder, also across calls that pass the previous call's ``replacements`` as ``existing``;
    numbers already written in the text (a customer typing "<EMAIL_1>") are skipped, and such a literal
    that collides with a placeholder in ``existing`` is itself replaced (and restored by unmasking)."""
    replacements: dict[str, str] = dict(existing or {})
    by_value: dict[str, str] = {}
    used: dict[str, set[int]] = {kind: set() for kind in KINDS}
    for placeholder, value in replacements.items():
        by_value.setdefault(value, placeholder)
        ours = _OUR_PLACEHOLDER.fullmatch(placeholder)
        if ours:
            used[ours.group(1)].add(int(ours.group(2)))
    findings = find_sensitive(text)
    spans: list[tuple[int, int, str, bool]] = [(f.start, f.end, f.kind, True) for f in findings]
    literal_collisions = False
    for literal in _PLACEHOLDER_LIKE.finditer(text):
        kind, number = _placeholder_of(literal)
        used[kind].add(number)
        if f"<{kind}_{number}>" in replacements:
            literal_collisions = True
            spans.append((literal.start(), literal.end(), kind, False))
    if literal_collisions:
        spans.sort()
        kept: list[tuple[int, int, str, bool]] = []
        for span in spans:
            if not kept or span[0] >= kept[-1][1]:
                kept.append(span)
        spans = kept
    next_number = {kind: max(used[kind], default=0) + 1 for kind in KINDS}
    counted: dict[str, set[str]] = {}
    parts: list[str] = []
    position = 0
    for start, end, kind, real in spans:
        value = text[start:end]
        known = by_value.get(value)
        if known is not None:
            placeholder = known
        else:
            while next_number[kind] in used[kind]:
                next_number[kind] += 1
            placeholder = f"<{kind}_{next_number[kind]}>"
            used[kind].add(next_number[kind])
            replacements[placeholder] = value
            by_value[value] = placeholder
        if real:
            counted.setdefault(kind, set()).add(value)
        parts.append(text[position:start])
        parts.append(placeholder)
        position = end
    parts.append(text[position:])
    counts = {kind: len(counted[kind]) for kind in KINDS if kind in counted}
    return Masked(text="".join(parts), replacements=replacements, counts=counts)


def unmask_text(text: str, replacements: Mapping[str, str]) -> str:
    """``text`` with the real values put back wherever a known placeholder appears, in any of the
    shapes a model writes it ("<EMAIL_1>", "EMAIL_1", "< EMAIL_1 >", "&lt;EMAIL_1&gt;"); unknown
    placeholders stay as they are."""
    if not replacements or not text:
        return text

    def restore(match: re.Match[str]) -> str:
        kind, number = _placeholder_of(match)
        value = replacements.get(f"<{kind}_{number}>")
        return match.group() if value is None else value

    return _PLACEHOLDER_LIKE.sub(restore, text)
