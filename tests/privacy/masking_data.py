"""A seeded evaluation set for ``triage.privacy.masking``: support tickets with customer data planted
in them, and the things the models need (invoice numbers, error codes, dates...) as decoys.

``generate(seed)`` is deterministic (``random.Random(seed)``) and returns tickets in seven languages
(en, de, fr, es, pt, it, nl), each a subject and a body, with the exact span and value of every
planted item and every decoy, so recall per kind and precision can be computed exactly. The
formats are those people write: phone numbers in each country's usual national and international
shapes (spaces, dashes, dots, slashes, "(0)", "00" prefixes, parentheses), e-mail addresses with
plus-addressing, subdomains, capitals, angle brackets and "mailto:", cards grouped or not, IBANs
grouped or not, national ids as each country prints them, API keys, tokens, JWTs, Bearer headers
and passwords in sentences, URLs with credentials. Items sit at the start and end of sentences, in
parentheses, after a colon, in signatures and in hard-wrapped paragraphs (never split across lines).

Two conventions a person would share: a national phone number written as one ungrouped digit run
("612345678") appears only next to a word saying it is a phone number, as a bare digit run is
not recognisably a phone number without one; and a password never ends with a full stop or comma
(that is read as the sentence's punctuation).

``DEV_SEED`` is the set the detector was developed against; ``HELD_OUT_SEED`` was kept for a
final check.
"""

from __future__ import annotations

import base64
import json
import random
import re
import string
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import phonenumbers
from phonenumbers import PhoneNumberFormat
from stdnum import iban as stdnum_iban
from stdnum import luhn
from stdnum.de import idnr as de_idnr
from stdnum.es import dni as es_dni
from stdnum.es import nie as es_nie
from stdnum.fr import nir as fr_nir
from stdnum.iso7064 import mod_11_10
from stdnum.it import codicefiscale as it_codicefiscale
from stdnum.nl import bsn as nl_bsn
from stdnum.us import ssn as us_ssn

DEV_SEED = 20260314
HELD_OUT_SEED = 4242
LANGUAGES = ("en", "de", "fr", "es", "pt", "it", "nl")
KINDS = ("EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "SECRET", "URL_CREDENTIALS")


@dataclass(frozen=True)
class Planted:
    """A planted item (``kind`` one of ``KINDS``) or a decoy (``kind`` says what it is: "invoice",
    "date", ...), at ``start:end`` of the ticket's ``field`` ("subject" or "body")."""

    field: str
    kind: str
    start: int
    end: int
    value: str


@dataclass(frozen=True)
class SeededTicket:
    language: str
    subject: str
    body: str
    planted: tuple[Planted, ...]
    decoys: tuple[Planted, ...]

    def text(self, field: str) -> str:
        return self.subject if field == "subject" else self.body


Segment = tuple[str, str | None, str | None]  # text, planted kind, decoy kind
Slot = Callable[[random.Random, str], list[Segment]]

# --------------------------------------------------------------------------------------------------
# People and companies

FIRST = {
    "en": ["James", "Emily", "Michael", "Sarah", "David", "Olivia", "Daniel", "Grace", "Ryan", "Chloe"],
    "de": ["Lukas", "Anna", "Jonas", "Lea", "Felix", "Marie", "Jürgen", "Sabine", "Tobias", "Katrin"],
    "fr": ["Julien", "Camille", "Nicolas", "Chloé", "Thomas", "Léa", "Antoine", "Manon", "Hugo", "Élodie"],
    "es": ["Javier", "Lucía", "Carlos", "María", "Pablo", "Carmen", "Diego", "Elena", "Sergio", "Laura"],
    "pt": ["João", "Ana", "Pedro", "Beatriz", "Rafael", "Mariana", "Lucas", "Fernanda", "Tiago", "Inês"],
    "it": ["Marco", "Giulia", "Luca", "Francesca", "Matteo", "Chiara", "Andrea", "Sara", "Davide", "Elisa"],
    "nl": ["Daan", "Sanne", "Bram", "Lotte", "Thijs", "Fleur", "Ruben", "Eva", "Jeroen", "Anouk"],
}
LAST = {
    "en": ["Smith", "Johnson", "Walker", "Harris", "Clarke", "Patel", "Wright", "Bennett", "Hughes", "Reed"],
    "de": ["Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Becker", "Hoffmann", "Koch", "Wagner"],
    "fr": ["Martin", "Bernard", "Dubois", "Lefebvre", "Moreau", "Laurent", "Girard", "Fournier", "Roux"],
    "es": ["García", "Fernández", "López", "Martínez", "Sánchez", "Romero", "Navarro", "Torres", "Ruiz"],
    "pt": ["Silva", "Santos", "Oliveira", "Souza", "Costa", "Pereira", "Almeida", "Ferreira", "Rocha"],
    "it": ["Rossi", "Russo", "Ferrari", "Esposito", "Bianchi", "Romano", "Colombo", "Ricci", "Greco"],
    "nl": ["de Jong", "Jansen", "de Vries", "van Dijk", "Bakker", "Visser", "Smit", "Meijer", "de Boer"],
}
COMPANY = {
    "en": ["Northwind", "Brightline", "Harbor Labs", "Kestrel", "Bluefin Retail"],
    "de": ["Nordlicht", "Bergmann", "Rheinwerk", "Alpenblick", "Hansetec"],
    "fr": ["Lumière", "Atelier Nova", "Solvéo", "Mistral Conseil", "Bastide"],
    "es": ["Soluciones Iberia", "Mar Azul", "Tecnalia Sur", "Grupo Olivo", "Brisa"],
    "pt": ["Atlântico", "Vértice", "Lusitech", "Sol Nascente", "Ipanema Digital"],
    "it": ["Fiordaliso", "Tecnoitalia", "Arcobaleno", "Dolomiti Srl", "Vesuvio Lab"],
    "nl": ["Polderwerk", "Tulpdata", "Dijkstra BV", "Grachtsoft", "Windkracht"],
}
WEBMAIL = {
    "en": ["gmail.com", "outlook.com", "yahoo.co.uk", "icloud.com", "proton.me"],
    "de": ["gmx.de", "web.de", "t-online.de", "gmail.com", "posteo.de"],
    "fr": ["orange.fr", "free.fr", "laposte.net", "gmail.com", "sfr.fr"],
    "es": ["hotmail.es", "gmail.com", "telefonica.net", "yahoo.es", "outlook.es"],
    "pt": ["uol.com.br", "gmail.com", "sapo.pt", "bol.com.br", "hotmail.com"],
    "it": ["libero.it", "virgilio.it", "gmail.com", "tiscali.it", "alice.it"],
    "nl": ["ziggo.nl", "kpnmail.nl", "gmail.com", "hotmail.nl", "xs4all.nl"],
}
TLD = {"en": "com", "de": "de", "fr": "fr", "es": "es", "pt": "com.br", "it": "it", "nl": "nl"}
PHONE_REGIONS = {
    "en": ["US", "GB", "IN"],
    "de": ["DE"],
    "fr": ["FR"],
    "es": ["ES"],
    "pt": ["BR"],
    "it": ["IT"],
    "nl": ["NL"],
}
ALL_REGIONS = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "BR", "IN")


def _ascii(word: str) -> str:
    table = str.maketrans("äöüéèêëàâçíóúñãõôîïÉá", "aoueeeeaaciounaooiiEa")
    return word.replace("ß", "ss").translate(table).replace(" ", "").lower()


# --------------------------------------------------------------------------------------------------
# Planted values


def _email(rng: random.Random, lang: str) -> list[Segment]:
    first, last = _ascii(rng.choice(FIRST[lang])), _ascii(rng.choice(LAST[lang]))
    company = _ascii(rng.choice(COMPANY[lang])).replace("-", "")
    tld = TLD[lang]
    shape = rng.randrange(9)
    if shape == 0:
        address = f"{first}.{last}@{company}.{tld}"
    elif shape == 1:
        address = f"{first[0]}{last}@{company}.{tld}"
    elif shape == 2:
        tag = rng.choice(["billing", "support", "tickets", "shop", "work"])
        address = f"{first}+{tag}@{rng.choice(WEBMAIL[lang])}"
    elif shape == 3:
        sub = rng.choice(["mail", "eu", "corp", "it", "staff.eu"])
        address = f"{first}.{last}@{sub}.{company}.{tld}"
    elif shape == 4:
        address = f"{first.capitalize()}.{last.capitalize()}@{company.capitalize()}.{tld.upper()}"
    elif shape == 5:
        address = f"{first}{rng.randint(1960, 2005)}@{rng.choice(WEBMAIL[lang])}"
    elif shape == 6:
        address = f"{first}_{last}{rng.randint(1, 99)}@{rng.choice(WEBMAIL[lang])}"
    elif shape == 7:
        address = f"{rng.choice(['billing', 'accounts', 'it-support', 'ops', 'finance'])}@{company}.{tld}"
    else:
        address = f"{first}-{last}@{company}-group.{tld}"
    wrap = rng.randrange(6)
    if wrap == 0:
        return [("<", None, None), (address, "EMAIL", None), (">", None, None)]
    if wrap == 1:
        return [("mailto:", None, None), (address, "EMAIL", None)]
    return [(address, "EMAIL", None)]


_NATIONAL_PATTERNS = {
    "US": ["{area}{ex}{line}"],
    "GB": ["20{d8}", "7{m}{d8}", "161{d7}", "131{d7}", "113{d7}"],
    "DE": [
        "30{d8}",
        "30{d7}",
        "40{d8}",
        "89{d7}",
        "69{d8}",
        "221{d7}",
        "15{a}{d8}",
        "17{b}{d7}",
        "16{c}{d7}",
    ],
    "FR": ["{f}{d8}", "6{d8}", "7{d8}"],
    "ES": ["6{d8}", "7{g}{d7}", "91{d7}", "93{d7}", "96{d7}"],
    "IT": ["3{h}{d8}", "02{d8}", "06{d8}", "011{d7}"],
    "NL": ["6{d8}", "20{d7}", "10{d7}", "30{d7}"],
    "BR": ["119{d8}", "219{d8}", "11{e}{d7}", "21{e}{d7}", "319{d8}"],
    "IN": ["{i}{d9}", "22{d8}", "11{d8}", "80{d8}"],
}
_US_AREAS = ["212", "415", "312", "646", "617", "206", "303", "512", "702", "919", "404", "213"]


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _phone_number(rng: random.Random, region: str) -> phonenumbers.PhoneNumber:
    while True:
        pattern = rng.choice(_NATIONAL_PATTERNS[region])
        national = pattern.format(
            area=rng.choice(_US_AREAS),
            ex=str(rng.randint(2, 9)) + _digits(rng, 2),
            line=_digits(rng, 4),
            d7=_digits(rng, 7),
            d8=_digits(rng, 8),
            d9=_digits(rng, 9),
            m=rng.choice("456789"),
            a=rng.choice("125679"),
            b=rng.choice("0123456"),
            c=rng.choice("023"),
            f=rng.choice("12345"),
            g=rng.choice("1234"),
            h=rng.choice("234567"),
            e=rng.choice("2345"),
            i=rng.choice("6789"),
        )
        code = phonenumbers.country_code_for_region(region)
        number = phonenumbers.parse(f"+{code}{national}", region)
        if phonenumbers.is_valid_number(number):
            return number


def _phone_text(rng: random.Random, number: phonenumbers.PhoneNumber, *, grouped_only: bool) -> str:
    intl = phonenumbers.format_number(number, PhoneNumberFormat.INTERNATIONAL)
    national = phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL)
    e164 = phonenumbers.format_number(number, PhoneNumberFormat.E164)
    region = phonenumbers.region_code_for_number(number)
    code = str(number.country_code)
    rest = intl[len(code) + 2 :]
    options = [intl, intl, national, national, e164]
    if region in ("GB", "DE", "FR", "IT", "NL", "ES"):
        options.append("00" + code + " " + rest)
    if region in ("GB", "DE", "NL", "FR"):
        options.append(f"+{code} (0){rest}")
    if region == "US":
        digits = str(number.national_number)
        options += [
            f"{digits[:3]}-{digits[3:6]}-{digits[6:]}",
            f"{digits[:3]}.{digits[3:6]}.{digits[6:]}",
            f"+1 {digits[:3]}-{digits[3:6]}-{digits[6:]}",
            f"+1-{digits[:3]}-{digits[3:6]}-{digits[6:]}",
        ]
    if region == "FR":
        options.append(national.replace(" ", "."))
        options.append(national.replace(" ", "-"))
    if region == "DE":
        prefix, _, subscriber = national.partition(" ")
        options += [f"{prefix}/{subscriber}", f"{prefix}-{subscriber}", f"{prefix} / {subscriber}"]
    if region == "NL":
        prefix, _, subscriber = national.partition(" ")
        options += [f"{prefix}-{subscriber.replace(' ', '')}", f"+31 (0){national[1:]}"]
    if region == "IN":
        options.append(intl.replace(" ", "-"))
    if region == "BR":
        options.append(f"+55 ({national[1:3]}) {national[5:]}" if national.startswith("(") else intl)
    if not grouped_only:
        compact = "".join(c for c in national if c.isdigit())
        options += [compact, compact]
    return rng.choice(options)


def _phone(rng: random.Random, lang: str, *, grouped_only: bool = False) -> list[Segment]:
    region = rng.choice(PHONE_REGIONS[lang]) if rng.random() < 0.75 else rng.choice(ALL_REGIONS)
    text = _phone_text(rng, _phone_number(rng, region), grouped_only=grouped_only)
    if rng.random() < 0.08:
        return [("(", None, None), (text, "PHONE", None), (")", None, None)]
    return [(text, "PHONE", None)]


def _phone_grouped(rng: random.Random, lang: str) -> list[Segment]:
    return _phone(rng, lang, grouped_only=True)


def _card_number(rng: random.Random) -> str:
    brand = rng.choices(["visa", "mc", "mc2", "amex", "discover", "jcb", "visa13"], [40, 22, 6, 14, 8, 5, 2])[
        0
    ]
    prefix, length = {
        "visa": ("4", 16),
        "visa13": ("4", 13),
        "mc": (str(rng.randint(51, 55)), 16),
        "mc2": (str(rng.randint(2221, 2720)), 16),
        "amex": (rng.choice(["34", "37"]), 15),
        "discover": (rng.choice(["6011", "65"]), 16),
        "jcb": (str(rng.randint(3528, 3589)), 16),
    }[brand]
    body = prefix + _digits(rng, length - len(prefix) - 1)
    return body + luhn.calc_check_digit(body)


def _card(rng: random.Random, lang: str) -> list[Segment]:
    number = _card_number(rng)
    style = rng.randrange(4)
    if style == 0:
        text = number
    elif len(number) == 15:
        sep = " " if style < 3 else "-"
        text = f"{number[:4]}{sep}{number[4:10]}{sep}{number[10:]}"
    else:
        sep = "-" if style == 3 else " "
        text = sep.join(number[i : i + 4] for i in range(0, len(number), 4))
    return [(text, "CARD", None)]


def _iban_structures() -> dict[str, str]:
    import stdnum

    path = stdnum.__path__[0] + "/iban.dat"
    structures = {}
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            match = re.match(r'^([A-Z]{2}) country="[^"]*" bban="([^"]+)"', line)
            if match:
                structures[match.group(1)] = match.group(2)
    return structures


_IBAN_COUNTRIES = [
    "DE",
    "GB",
    "FR",
    "ES",
    "IT",
    "NL",
    "BE",
    "PT",
    "AT",
    "CH",
    "IE",
    "PL",
    "SE",
    "LU",
    "DK",
    "FI",
]
_IBAN_BY_LANG = {"en": "GB", "de": "DE", "fr": "FR", "es": "ES", "pt": "PT", "it": "IT", "nl": "NL"}
_STRUCTURES: dict[str, str] = {}


def _iban_value(rng: random.Random, country: str) -> str:
    if not _STRUCTURES:
        _STRUCTURES.update(_iban_structures())
    alphabet = {"n": string.digits, "a": string.ascii_uppercase, "c": string.ascii_uppercase + string.digits}
    while True:
        bban = "".join(
            "".join(rng.choice(alphabet[kind]) for _ in range(int(size)))
            for size, kind in re.findall(r"(\d+)!([nac])", _STRUCTURES[country])
        )
        value = country + stdnum_iban.calc_check_digits(country + "00" + bban) + bban
        if stdnum_iban.is_valid(value):
            return value


def _iban(rng: random.Random, lang: str) -> list[Segment]:
    country = _IBAN_BY_LANG[lang] if rng.random() < 0.6 else rng.choice(_IBAN_COUNTRIES)
    value = _iban_value(rng, country)
    text = " ".join(value[i : i + 4] for i in range(0, len(value), 4)) if rng.random() < 0.65 else value
    return [(text, "IBAN", None)]


# National ids, each as its country prints it. The keyword travels with the value, as people write it.
def _ssn(rng: random.Random) -> str:
    while True:
        area = rng.randint(1, 899)
        value = f"{area:03d}-{rng.randint(1, 99):02d}-{rng.randint(1, 9999):04d}"
        if us_ssn.is_valid(value):
            return value


def _nino(rng: random.Random) -> str:
    first = rng.choice("ABCEGHJKLMNOPRSTWXYZ")
    second = rng.choice("ABCEGHJKLMNPRSTWXYZ")
    if first + second in ("BG", "GB", "NK", "KN", "TN", "NT", "ZZ"):
        first, second = "A", "B"
    digits = _digits(rng, 6)
    suffix = rng.choice("ABCD")
    if rng.random() < 0.5:
        return f"{first}{second} {digits[:2]} {digits[2:4]} {digits[4:]} {suffix}"
    return f"{first}{second}{digits}{suffix}"


def _idnr(rng: random.Random) -> str:
    while True:
        digits = [rng.choice("123456789")]
        pool = list(string.digits)
        rng.shuffle(pool)
        unique = [d for d in pool if d != digits[0]][:8]
        body = digits + unique
        body.append(rng.choice(body))
        rng.shuffle(body)
        if body[0] == "0":
            continue
        number = "".join(body[:10])
        number += mod_11_10.calc_check_digit(number)
        if de_idnr.is_valid(number):
            if rng.random() < 0.5:
                return f"{number[:2]} {number[2:5]} {number[5:8]} {number[8:]}"
            return number


def _nir(rng: random.Random) -> str:
    while True:
        body = (
            rng.choice("12")
            + f"{rng.randint(40, 99):02d}{rng.randint(1, 12):02d}"
            + rng.choice([f"{rng.randint(1, 95):02d}", "2A", "2B"])
            + _digits(rng, 6)
        )
        number = body + fr_nir.calc_check_digits(body + "00")
        if fr_nir.is_valid(number):
            if rng.random() < 0.6:
                n = number
                return f"{n[0]} {n[1:3]} {n[3:5]} {n[5:7]} {n[7:10]} {n[10:13]} {n[13:]}"
            return number


def _dni(rng: random.Random) -> str:
    digits = _digits(rng, 8)
    value = digits + es_dni.calc_check_digit(digits)
    assert es_dni.is_valid(value)
    return value if rng.random() < 0.7 else f"{digits}-{value[-1]}"


def _nie(rng: random.Random) -> str:
    body = rng.choice("XYZ") + _digits(rng, 7)
    value = body + es_nie.calc_check_digit(body)
    assert es_nie.is_valid(value)
    return value


def _codice_fiscale(rng: random.Random) -> str:
    letters = string.ascii_uppercase
    body = (
        "".join(rng.choice("BCDFGHLMNPRSTVZ") for _ in range(6))
        + _digits(rng, 2)
        + rng.choice("ABCDEHLMPRST")
        + f"{rng.choice([rng.randint(1, 28), rng.randint(41, 68)]):02d}"
        + rng.choice(letters)
        + _digits(rng, 3)
    )
    value = body + it_codicefiscale.calc_check_digit(body)
    assert it_codicefiscale.is_valid(value), value
    return value


def _bsn(rng: random.Random) -> str:
    while True:
        value = rng.choice("123456789") + _digits(rng, 8)
        if nl_bsn.is_valid(value):
            return value if rng.random() < 0.7 else f"{value[:4]}.{value[4:6]}.{value[6:]}"


_ID_MAKERS: dict[str, Callable[[random.Random], str]] = {
    "ssn": _ssn,
    "nino": _nino,
    "idnr": _idnr,
    "nir": _nir,
    "dni": _dni,
    "nie": _nie,
    "cf": _codice_fiscale,
    "bsn": _bsn,
}


def _national_id_slot(scheme: str) -> Slot:
    def slot(rng: random.Random, lang: str) -> list[Segment]:
        return [(_ID_MAKERS[scheme](rng), "NATIONAL_ID", None)]

    return slot


_B62 = string.ascii_letters + string.digits


def _rand(rng: random.Random, n: int, alphabet: str = _B62) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _jwt(rng: random.Random) -> str:
    header = _b64url(json.dumps({"alg": rng.choice(["HS256", "RS256"]), "typ": "JWT"}).encode())
    payload = _b64url(
        json.dumps(
            {"sub": _rand(rng, 12), "iat": rng.randint(1700000000, 1790000000), "scope": "read write"}
        ).encode()
    )
    return f"{header}.{payload}.{_rand(rng, 43, _B62 + '-_')}"


def _api_key(rng: random.Random, lang: str) -> list[Segment]:
    shape = rng.randrange(11)
    if shape == 0:
        value = "sk-" + _rand(rng, 48)
    elif shape == 1:
        value = "sk-proj-" + _rand(rng, rng.randint(40, 120), _B62 + "-_")
    elif shape == 2:
        value = rng.choice(["sk_live_", "sk_test_", "rk_live_"]) + _rand(rng, rng.randint(24, 99))
    elif shape == 3:
        value = "ghp_" + _rand(rng, 36)
    elif shape == 4:
        value = f"{rng.choice(['xoxb', 'xoxp'])}-{_digits(rng, 12)}-{_digits(rng, 13)}-{_rand(rng, 24)}"
    elif shape == 5:
        value = "AKIA" + _rand(rng, 16, string.ascii_uppercase + "234567")
    elif shape == 6:
        value = "AIza" + _rand(rng, 35, _B62 + "-_")
    elif shape == 7:
        value = "glpat-" + _rand(rng, 20, _B62 + "-_")
    elif shape == 8:
        value = "github_pat_" + _rand(rng, 22) + "_" + _rand(rng, 59)
    elif shape == 9:
        value = "hf_" + _rand(rng, 34)
    else:
        value = "whsec_" + _rand(rng, 32)
    return [(value, "SECRET", None)]


def _token(rng: random.Random, lang: str) -> list[Segment]:
    shape = rng.randrange(5)
    if shape == 0:
        value = _rand(rng, 32, "0123456789abcdef")
    elif shape == 1:
        value = _rand(rng, 40, "0123456789abcdef")
    elif shape == 2:
        value = _rand(rng, rng.randint(24, 48))
    elif shape == 3:
        value = _rand(rng, 40, _B62 + "/+")
    else:
        value = f"{_rand(rng, 8)}-{_rand(rng, 8)}-{_rand(rng, 8)}-{_rand(rng, 8)}"
    return [(value, "SECRET", None)]


def _jwt_slot(rng: random.Random, lang: str) -> list[Segment]:
    return [(_jwt(rng), "SECRET", None)]


def _bearer(rng: random.Random, lang: str) -> list[Segment]:
    value = _jwt(rng) if rng.random() < 0.5 else _rand(rng, rng.randint(32, 64), _B62 + "-._")
    return [(value, "SECRET", None)]


_WORDS = [
    "summer",
    "winter",
    "dragon",
    "sunshine",
    "monkey",
    "football",
    "berlin",
    "paris",
    "rosa",
    "tigre",
    "estrela",
    "gatto",
    "fiets",
    "hunter",
    "shadow",
    "falcon",
    "coffee",
    "banana",
]


def _password_value(rng: random.Random, *, passphrase: bool) -> str:
    shape = rng.randrange(6 if passphrase else 5)
    word = rng.choice(_WORDS)
    if shape == 0:
        return f"{word.capitalize()}{rng.randint(2019, 2026)}{rng.choice('!#$%&*?@')}"
    if shape == 1:
        leet = word.replace("a", "@").replace("o", "0").replace("e", "3").replace("s", "$")
        return f"{leet.capitalize()}{rng.randint(1, 99)}"
    if shape == 2:
        return f"{word}{rng.randint(1, 999)}"
    if shape == 3:
        return _rand(rng, rng.randint(10, 16), _B62 + "!#$%&*+-=?@^_")
    if shape == 4:
        return f"{_rand(rng, 4, string.ascii_uppercase)}-{_digits(rng, 4)}-{_rand(rng, 4)}"
    return "-".join(rng.sample(_WORDS, 4))


def _password(rng: random.Random, lang: str) -> list[Segment]:
    return [(_password_value(rng, passphrase=False), "SECRET", None)]


def _password_any(rng: random.Random, lang: str) -> list[Segment]:
    return [(_password_value(rng, passphrase=True), "SECRET", None)]


def _url_userinfo(rng: random.Random, lang: str) -> list[Segment]:
    scheme, host, tail = rng.choice(
        [
            ("postgres", "db.internal", ":5432/app"),
            ("postgresql", "10.0.3.12", ":5432/billing"),
            ("mysql", "mysql-primary.prod.local", ":3306/shop"),
            ("redis", "cache.internal", ":6379/0"),
            ("amqp", "rabbit.internal", ":5672/%2f"),
            ("mongodb+srv", "cluster0.ab1cd.mongodb.net", "/orders?retryWrites=true"),
            ("https", "git.example.org", "/team/repo.git"),
            ("ftp", "files.example.net", "/upload/"),
            ("sftp", "transfer.example.com", ":22/in"),
            ("https", "registry.example.io", "/v2/"),
        ]
    )
    user = rng.choice(["admin", "root", "app", "svc_export", "deploy", _ascii(rng.choice(FIRST[lang]))])
    password = (
        _password_value(rng, passphrase=False).replace("%", "%25").replace("@", "%40").replace("/", "%2F")
    )
    password = password.replace("#", "%23").replace("?", "%3F")
    return [
        (f"{scheme}://", None, None),
        (f"{user}:{password}", "URL_CREDENTIALS", None),
        (f"@{host}{tail}", None, None),
    ]


def _url_query(rng: random.Random, lang: str) -> list[Segment]:
    host = rng.choice(["api.example.com", "files.example.net", "app.example.io", "hooks.example.org"])
    shape = rng.randrange(6)
    if shape == 0:
        return [
            (f"https://{host}/v1/export?format=csv&token=", None, None),
            (_rand(rng, 32), "URL_CREDENTIALS", None),
        ]
    if shape == 1:
        return [
            (f"https://{host}/reset-password?token=", None, None),
            (_rand(rng, 40, _B62 + "-_"), "URL_CREDENTIALS", None),
            ("&lang=" + lang, None, None),
        ]
    if shape == 2:
        return [
            (f"https://{host}/data.json?api_key=", None, None),
            (_rand(rng, 24, "0123456789abcdef"), "URL_CREDENTIALS", None),
        ]
    if shape == 3:
        return [
            (
                "https://stacct01.blob.core.windows.net/exports/report.pdf?sv=2024-08-04&se=2026-04-01T00%3A00%3A00Z"
                "&sp=r&sig=",
                None,
                None,
            ),
            (_rand(rng, 43, _B62) + "%3D", "URL_CREDENTIALS", None),
        ]
    if shape == 4:
        return [
            (f"https://{host}/login?user=demo&password=", None, None),
            (
                _password_value(rng, passphrase=False)
                .replace("%", "%25")
                .replace("&", "%26")
                .replace("#", "%23")
                .replace("?", "%3F"),
                "URL_CREDENTIALS",
                None,
            ),
        ]
    return [
        (f"https://{host}/callback?access_token=", None, None),
        (_rand(rng, 36, _B62 + "-_."), "URL_CREDENTIALS", None),
        ("&expires_in=3600", None, None),
    ]


# --------------------------------------------------------------------------------------------------
# Decoys: what the models need and must see unchanged


def _decoy(kind: str, maker: Callable[[random.Random], str]) -> Slot:
    def slot(rng: random.Random, lang: str) -> list[Segment]:
        return [(maker(rng), None, kind)]

    return slot


def _clock(rng: random.Random) -> str:
    return f"{rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:{rng.randint(0, 59):02d}"


def _year(rng: random.Random) -> int:
    return rng.randint(2023, 2026)


DECOYS: dict[str, Slot] = {
    "INVOICE": _decoy(
        "invoice",
        lambda r: r.choice(
            [
                f"INV-{r.randint(10000, 99999)}",
                f"{_year(r)}-{r.randint(1, 999999):06d}",
                f"RE-{_year(r)}-{r.randint(1, 9999):04d}",
                f"F{_year(r)}{r.randint(10000, 99999)}",
                f"FAC-{r.randint(1000, 9999)}",
                f"{r.randint(1, 999)}/{_year(r)}",
                f"INV-{_year(r)}-{r.randint(1, 99999):05d}",
            ]
        ),
    ),
    "ORDER": _decoy(
        "order",
        lambda r: r.choice(
            [
                f"#A-{r.randint(10000, 99999)}",
                f"#{r.randint(100000, 9999999)}",
                f"PO-{r.randint(10000, 99999)}",
                f"{r.randint(100, 999)}-{r.randint(1000000, 9999999)}-{r.randint(1000000, 9999999)}",
                f"SO{r.randint(100000, 999999)}",
                f"{r.randint(1000, 99999)}",
            ]
        ),
    ),
    "ERROR": _decoy(
        "error code",
        lambda r: r.choice(
            [
                f"E-{r.randint(10000, 99999)}",
                r.choice(["ERR_CONNECTION_RESET", "ERR_SSL_PROTOCOL_ERROR", "ECONNREFUSED", "ETIMEDOUT"]),
                f"0x{r.randint(0x80000000, 0x8FFFFFFF):08X}",
                f"0x{r.randint(0xC0000000, 0xC00000FF):08x}",
                f"HTTP {r.choice([400, 401, 403, 404, 409, 422, 429, 500, 502, 503, 504])}",
                f"SQLSTATE {r.choice(['40001', '23505', '57014', '08006'])}",
                f"error {r.randint(1000, 9999)}",
            ]
        ),
    ),
    "TICKETNO": _decoy(
        "ticket number",
        lambda r: r.choice(
            [
                f"#{r.randint(10000, 999999)}",
                f"{r.randint(0, 9999999):08d}",
                f"SR-{_year(r)}-{r.randint(1, 9999):04d}",
                f"CS{r.randint(1000000, 9999999)}",
                f"{r.randint(1000, 9999)}-{r.randint(1000, 9999)}",
            ]
        ),
    ),
    "DATE": _decoy(
        "date",
        lambda r: (
            lambda y, m, d: r.choice(
                [
                    f"{y}-{m:02d}-{d:02d}",
                    f"{d:02d}.{m:02d}.{y}",
                    f"{m:02d}/{d:02d}/{y}",
                    f"{d:02d}/{m:02d}/{y}",
                    f"{d}.{m}.{y}",
                    f"{y}-{m:02d}-{d:02d}T{_clock(r)}Z",
                    f"{d:02d}-{m:02d}-{y}",
                ]
            )
        )(_year(r), r.randint(1, 12), r.randint(1, 28)),
    ),
    "TIME": _decoy(
        "time",
        lambda r: r.choice(
            [
                f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}",
                f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
                f"{r.randint(1, 12)}:{r.randint(0, 59):02d} {r.choice(['am', 'pm'])}",
                f"{r.randint(0, 23)}h{r.randint(0, 59):02d}",
            ]
        ),
    ),
    "AMOUNT": _decoy(
        "amount",
        lambda r: (
            lambda whole, cents: r.choice(
                [
                    f"${whole:,}.{cents:02d}",
                    f"{whole:,}.{cents:02d} €".replace(",", "X").replace(".", ",").replace("X", "."),
                    f"€{whole},{cents:02d}",
                    f"£{whole:,}.{cents:02d}",
                    f"R$ {whole:,}.{cents:02d}".replace(",", "X").replace(".", ",").replace("X", "."),
                    f"₹{whole:,}",
                    f"EUR {whole:,}.{cents:02d}".replace(",", "X").replace(".", ",").replace("X", "."),
                    f"{whole} EUR",
                ]
            )
        )(
            r.choice([r.randint(5, 999), r.randint(1000, 99999), r.randint(100000, 2500000)]),
            r.randint(0, 99),
        ),
    ),
    "VERSION": _decoy(
        "version",
        lambda r: r.choice(
            [
                f"v{r.randint(1, 9)}.{r.randint(0, 30)}.{r.randint(0, 20)}",
                f"10.0.{r.randint(17000, 26100)}.{r.randint(100, 5000)}",
                f"{r.randint(110, 131)}.0.{r.randint(5000, 6999)}.{r.randint(10, 200)}",
                f"{r.randint(14, 18)}.{r.randint(0, 7)}.{r.randint(1, 3)}",
                f"{r.randint(1, 5)}.{r.randint(0, 20)}.{r.randint(0, 30)}",
                f"{_year(r)}.{r.randint(1, 12):02d}.{r.randint(1, 9)}",
            ]
        ),
    ),
    "IP": _decoy(
        "ip address",
        lambda r: r.choice(
            [
                f"192.168.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"10.{r.randint(0, 255)}.{r.randint(0, 255)}.{r.randint(1, 254)}",
                f"203.0.113.{r.randint(1, 254)}",
                f"172.{r.randint(16, 31)}.{r.randint(0, 255)}.{r.randint(1, 254)}"
                f":{r.choice([443, 8443, 8080])}",
                f"2001:db8::{r.randint(1, 9999):x}",
            ]
        ),
    ),
    "UUID": _decoy(
        "request id",
        lambda r: "-".join(_rand(r, n, "0123456789abcdef") for n in (8, 4, 4, 4, 12)),
    ),
    "URL": _decoy(
        "url",
        lambda r: r.choice(
            [
                f"https://status.example.com/incidents/{r.randint(1000, 9999)}",
                f"https://app.example.com/settings?tab=billing&page={r.randint(1, 9)}",
                "https://docs.example.com/api/v2/auth#rotate",
                f"https://app.example.com/orders/{r.randint(1000, 99999)}?view=details",
                f"https://help.example.com/hc/articles/{r.randint(10**9, 10**10 - 1)}",
            ]
        ),
    ),
    "HOST": _decoy(
        "hostname",
        lambda r: r.choice(
            [
                "api.eu.example.com",
                f"db-replica-{r.randint(1, 9):02d}.internal",
                "smtp.mailgun.org",
                f"worker-{r.randint(1, 40)}.prod.example.net",
                "cdn.example-static.com",
            ]
        ),
    ),
    "TRACKING": _decoy(
        "tracking number",
        lambda r: r.choice(
            [
                f"1Z{_rand(r, 6, string.ascii_uppercase + string.digits)}{_digits(r, 10)}",
                f"JJD{_digits(r, 15)}",
                f"{_rand(r, 2, string.ascii_uppercase)}{_digits(r, 9)}{r.choice(['DE', 'NL', 'FR', 'GB'])}",
            ]
        ),
    ),
}

ITEMS: dict[str, Slot] = {
    "EMAIL": _email,
    "PHONE": _phone,
    "PHONEG": _phone_grouped,
    "CARD": _card,
    "IBAN": _iban,
    "SSN": _national_id_slot("ssn"),
    "NINO": _national_id_slot("nino"),
    "IDNR": _national_id_slot("idnr"),
    "NIR": _national_id_slot("nir"),
    "DNI": _national_id_slot("dni"),
    "NIE": _national_id_slot("nie"),
    "CF": _national_id_slot("cf"),
    "BSN": _national_id_slot("bsn"),
    "APIKEY": _api_key,
    "TOKEN": _token,
    "JWT": _jwt_slot,
    "BEARER": _bearer,
    "PW": _password,
    "PWQ": _password_any,
    "DBURL": _url_userinfo,
    "QURL": _url_query,
}

# --------------------------------------------------------------------------------------------------
# Sentences. {SLOT} is filled by ITEMS or DECOYS; PHONE appears after a word saying it's a phone
# number, PHONEG (grouped or international formats only) may appear without one.

SENTENCES: dict[str, dict[str, list[str]]] = {
    "en": {
        "EMAIL": [
            "Please send the receipt to {EMAIL} instead of my old address.",
            "{EMAIL} is the right address for invoices from now on.",
            "You can also cc my colleague ({EMAIL}) on this.",
            "Contact: {EMAIL}",
            "I changed the login email to {EMAIL} last week, maybe that's the problem?",
            "Our finance team is at {EMAIL}.",
        ],
        "PHONE": [
            "Call me on {PHONE} if that's easier.",
            "My mobile is {PHONE}, I'm available until 6pm.",
            "Phone: {PHONE}",
            "You can reach me at {PHONE} any time today.",
            "Please call {PHONE} and ask for the IT desk.",
        ],
        "PHONEG": [
            "{PHONEG} is my direct line.",
            "I tried the number on your website ({PHONEG}) but nobody picked up.",
            "Best number to get me: {PHONEG}.",
            "Or just text me at {PHONEG}.",
        ],
        "CARD": [
            "The charge went to my card {CARD} twice.",
            "Card number: {CARD}, exp 09/28.",
            "Can you refund to {CARD} rather than store credit?",
            "{CARD} is the card on file and it keeps getting declined.",
        ],
        "IBAN": [
            "Please refund to IBAN {IBAN}.",
            "Our bank details changed: {IBAN} (same bank, new account).",
            "IBAN: {IBAN}",
            "We paid from {IBAN} on the 3rd.",
        ],
        "NATIONAL_ID": [
            "The tax form asks for my SSN, it's {SSN}.",
            "SSN: {SSN}",
            "My National Insurance number is {NINO} if you need it for the payroll export.",
            "NI number {NINO}.",
            "For the W-9: social security number {SSN}.",
        ],
        "SECRET": [
            "Here is our API key so you can check: {APIKEY}",
            "We're calling the API with key {APIKEY} and it returns 401.",
            "Our token is {TOKEN} - it was rotated yesterday.",
            "api_key = {TOKEN}",
            'curl -H "Authorization: Bearer {BEARER}" https://api.example.com/v1/me',
            "The JWT we get back ({JWT}) has no exp claim.",
            "My password is {PW} if you need to log in and look.",
            "password: {PWQ}",
            "I set a temporary pw: {PW}",
            "The admin login is admin / password: {PW}",
            "secret key: {TOKEN}",
        ],
        "URL_CREDENTIALS": [
            "Our connection string is {DBURL} and it times out.",
            "The export link {QURL} expired after an hour.",
            "Webhook target: {QURL}",
            "We point the job at {DBURL}.",
            "The reset link you sent ({QURL}) says invalid.",
        ],
        "DECOY": [
            "I was charged twice for invoice {INVOICE} on {DATE}.",
            "Order {ORDER} still shows as pending since {DATE} {TIME}.",
            "Since {TIME} UTC every request fails with {ERROR}.",
            "The amount on {INVOICE} should be {AMOUNT}, not {AMOUNT}.",
            "We're on {VERSION} of the desktop app, Windows build {VERSION}.",
            "The server at {IP} returns {ERROR} when we call {HOST}.",
            "Request ID: {UUID}",
            "See {URL} for the screenshot.",
            "This is about ticket {TICKETNO} which was closed by mistake.",
            "The parcel ({TRACKING}) never arrived, order {ORDER}.",
            "The dashboard at {URL} has been down since {DATE}.",
            "Trace id {UUID}, error {ERROR}, host {HOST}.",
        ],
        "GREETING": ["Hi,", "Hello support team,", "Hi there,", "Dear support,", "Good morning,"],
        "CLOSING": ["Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Thanks in advance,"],
        "SUBJECT": [
            "Double charge on my account",
            "Can't log in since the update",
            "Refund request",
            "API returns 401",
            "Export link not working",
            "Urgent: billing problem",
            "Question about my invoice",
        ],
        "SUBJECT_ITEM": [
            "Please call me back: {PHONEG}",
            "Wrong email on account ({EMAIL})",
            "Refund to {IBAN}",
        ],
        "SIGNATURE": ["Tel: {PHONE}", "M: {PHONE}", "{PHONEG}", "Phone {PHONE} | {EMAIL}", "{EMAIL}"],
        "TITLE": ["Head of Operations", "IT Manager", "Accounts Payable", "Office Manager", "CTO"],
        "QUOTE": ["On {DATE} Support <{EMAIL}> wrote:", "-----Original Message-----"],
    },
    "de": {
        "EMAIL": [
            "Bitte schicken Sie die Rechnung an {EMAIL}.",
            "{EMAIL} ist ab sofort unsere Rechnungsadresse.",
            "Meine Kollegin ({EMAIL}) bitte in CC setzen.",
            "E-Mail: {EMAIL}",
            "Ich habe die Login-Adresse auf {EMAIL} geändert.",
        ],
        "PHONE": [
            "Rufen Sie mich gerne unter {PHONE} an.",
            "Mobil: {PHONE}",
            "Ich bin heute unter {PHONE} erreichbar.",
            "Telefon {PHONE}, am besten vormittags.",
            "Meine Handynummer ist {PHONE}.",
        ],
        "PHONEG": [
            "{PHONEG} ist meine Durchwahl.",
            "Unter der Nummer auf Ihrer Webseite ({PHONEG}) geht niemand ran.",
            "Am besten erreichen Sie mich hier: {PHONEG}.",
        ],
        "CARD": [
            "Die Abbuchung lief zweimal über meine Karte {CARD}.",
            "Kartennummer: {CARD}, gültig bis 11/27.",
            "Bitte auf die Kreditkarte {CARD} erstatten.",
        ],
        "IBAN": [
            "Bitte erstatten Sie den Betrag auf IBAN {IBAN}.",
            "Unsere neue Bankverbindung: {IBAN} (Sparkasse).",
            "IBAN: {IBAN}",
            "Wir haben am 3. von {IBAN} überwiesen.",
        ],
        "NATIONAL_ID": [
            "Für das Formular brauchen Sie meine Steuer-ID: {IDNR}.",
            "Steueridentifikationsnummer {IDNR}",
            "Meine Steuer-IdNr. lautet {IDNR}.",
        ],
        "SECRET": [
            "Hier unser API-Schlüssel zum Testen: {APIKEY}",
            "Wir rufen die API mit dem Key {APIKEY} auf und bekommen 401.",
            "Token: {TOKEN}",
            "Mein Passwort ist {PW}, falls Sie sich einloggen müssen.",
            "Passwort: {PWQ}",
            "Das Kennwort lautet {PW}.",
            "Authorization: Bearer {BEARER}",
            "Das JWT ({JWT}) hat kein exp.",
        ],
        "URL_CREDENTIALS": [
            "Unser Connection-String ist {DBURL}, der Job bricht ab.",
            "Der Export-Link {QURL} ist abgelaufen.",
            "Webhook-Ziel: {QURL}",
            "Die Datenbank erreichen wir über {DBURL}.",
        ],
        "DECOY": [
            "Die Rechnung {INVOICE} vom {DATE} wurde doppelt abgebucht.",
            "Bestellung {ORDER} steht seit {DATE} auf offen.",
            "Seit {TIME} Uhr kommt bei jedem Aufruf {ERROR}.",
            "Der Betrag auf {INVOICE} müsste {AMOUNT} sein, nicht {AMOUNT}.",
            "Wir nutzen Version {VERSION} auf Windows {VERSION}.",
            "Der Server {IP} antwortet mit {ERROR}, Host {HOST}.",
            "Request-ID: {UUID}",
            "Screenshot liegt unter {URL}.",
            "Es geht um Ticket {TICKETNO}.",
            "Sendungsnummer {TRACKING}, Bestellung {ORDER}.",
        ],
        "GREETING": ["Hallo,", "Sehr geehrte Damen und Herren,", "Guten Tag,", "Hallo Support-Team,"],
        "CLOSING": ["Viele Grüße,", "Mit freundlichen Grüßen,", "Danke und Gruß,", "Beste Grüße,"],
        "SUBJECT": [
            "Doppelte Abbuchung",
            "Login geht nicht mehr",
            "Rückerstattung",
            "API liefert 401",
            "Rechnung falsch",
        ],
        "SUBJECT_ITEM": [
            "Bitte Rückruf unter {PHONEG}",
            "Neue Rechnungsadresse {EMAIL}",
            "Erstattung auf {IBAN}",
        ],
        "SIGNATURE": ["Tel.: {PHONE}", "Mobil: {PHONE}", "{PHONEG}", "Tel. {PHONE} · {EMAIL}", "{EMAIL}"],
        "TITLE": ["Leitung Buchhaltung", "IT-Administration", "Geschäftsführer", "Einkauf"],
        "QUOTE": ["Am {DATE} schrieb Support <{EMAIL}>:", "-----Ursprüngliche Nachricht-----"],
    },
    "fr": {
        "EMAIL": [
            "Merci d'envoyer la facture à {EMAIL}.",
            "{EMAIL} est désormais notre adresse de facturation.",
            "Mettez ma collègue ({EMAIL}) en copie, s'il vous plaît.",
            "Courriel : {EMAIL}",
        ],
        "PHONE": [
            "Vous pouvez m'appeler au {PHONE}.",
            "Mon portable : {PHONE}",
            "Tél. {PHONE}, plutôt le matin.",
            "Joignable au {PHONE} toute la journée.",
        ],
        "PHONEG": [
            "{PHONEG} est ma ligne directe.",
            "Le numéro de votre site ({PHONEG}) ne répond pas.",
            "Le plus simple : {PHONEG}.",
        ],
        "CARD": [
            "Le prélèvement a été fait deux fois sur ma carte {CARD}.",
            "Numéro de carte : {CARD}, expire 04/27.",
            "Merci de rembourser sur la carte {CARD}.",
        ],
        "IBAN": [
            "Merci de rembourser sur l'IBAN {IBAN}.",
            "Nos nouvelles coordonnées bancaires : {IBAN} (même banque).",
            "IBAN : {IBAN}",
        ],
        "NATIONAL_ID": [
            "Mon numéro de sécurité sociale : {NIR}.",
            "Le formulaire demande le NIR, c'est {NIR}.",
            "N° de sécu {NIR}",
        ],
        "SECRET": [
            "Voici notre clé API pour tester : {APIKEY}",
            "On appelle l'API avec la clé {APIKEY} et on a une 401.",
            "Mon mot de passe est {PW} si vous devez vous connecter.",
            "mot de passe : {PWQ}",
            "Le token : {TOKEN}",
            "Authorization: Bearer {BEARER}",
        ],
        "URL_CREDENTIALS": [
            "Notre chaîne de connexion est {DBURL} et elle expire.",
            "Le lien d'export {QURL} a expiré.",
            "Cible du webhook : {QURL}",
        ],
        "DECOY": [
            "La facture {INVOICE} du {DATE} a été débitée deux fois.",
            "La commande {ORDER} est en attente depuis le {DATE}.",
            "Depuis {TIME} chaque appel renvoie {ERROR}.",
            "Le montant de {INVOICE} devrait être {AMOUNT} et non {AMOUNT}.",
            "Nous sommes en version {VERSION}.",
            "Le serveur {IP} répond {ERROR}, hôte {HOST}.",
            "ID de requête : {UUID}",
            "Capture d'écran ici : {URL}",
            "Il s'agit du ticket {TICKETNO}.",
        ],
        "GREETING": ["Bonjour,", "Madame, Monsieur,", "Bonjour l'équipe support,"],
        "CLOSING": ["Cordialement,", "Merci d'avance,", "Bien à vous,"],
        "SUBJECT": [
            "Double prélèvement",
            "Impossible de me connecter",
            "Demande de remboursement",
            "Erreur 401 sur l'API",
        ],
        "SUBJECT_ITEM": ["Rappelez-moi au {PHONEG}", "Remboursement sur {IBAN}", "Adresse {EMAIL} erronée"],
        "SIGNATURE": ["Tél. : {PHONE}", "Portable : {PHONE}", "{PHONEG}", "{EMAIL}"],
        "TITLE": ["Responsable comptable", "DSI", "Gérant", "Assistante de direction"],
        "QUOTE": ["Le {DATE}, Support <{EMAIL}> a écrit :"],
    },
    "es": {
        "EMAIL": [
            "Por favor, enviad la factura a {EMAIL}.",
            "{EMAIL} es nuestra nueva dirección de facturación.",
            "Poned en copia a mi compañera ({EMAIL}).",
            "Correo: {EMAIL}",
        ],
        "PHONE": [
            "Podéis llamarme al {PHONE}.",
            "Mi móvil: {PHONE}",
            "Teléfono {PHONE}, mejor por la mañana.",
            "Llámame al {PHONE} cuando podáis.",
        ],
        "PHONEG": [
            "{PHONEG} es mi línea directa.",
            "En el número de vuestra web ({PHONEG}) no contesta nadie.",
            "Lo más fácil: {PHONEG}.",
        ],
        "CARD": [
            "Me han cobrado dos veces en la tarjeta {CARD}.",
            "Número de tarjeta: {CARD}, caduca 08/27.",
            "Devolvedlo a la tarjeta {CARD}, por favor.",
        ],
        "IBAN": ["Haced la devolución al IBAN {IBAN}.", "Nuestra nueva cuenta: {IBAN}.", "IBAN: {IBAN}"],
        "NATIONAL_ID": [
            "Mi DNI es {DNI}.",
            "DNI: {DNI}",
            "Tengo NIE, no DNI: {NIE}.",
            "El formulario pide el NIE ({NIE}).",
        ],
        "SECRET": [
            "Esta es nuestra clave de API: {APIKEY}",
            "Llamamos a la API con la clave {APIKEY} y da 401.",
            "Mi contraseña es {PW} por si tenéis que entrar.",
            "contraseña: {PWQ}",
            "token: {TOKEN}",
            "Authorization: Bearer {BEARER}",
        ],
        "URL_CREDENTIALS": [
            "La cadena de conexión es {DBURL} y da timeout.",
            "El enlace de exportación {QURL} ha caducado.",
            "Destino del webhook: {QURL}",
        ],
        "DECOY": [
            "La factura {INVOICE} del {DATE} se cobró dos veces.",
            "El pedido {ORDER} sigue pendiente desde el {DATE}.",
            "Desde las {TIME} cada llamada devuelve {ERROR}.",
            "El importe de {INVOICE} debería ser {AMOUNT}, no {AMOUNT}.",
            "Usamos la versión {VERSION}.",
            "El servidor {IP} responde {ERROR}, host {HOST}.",
            "ID de la petición: {UUID}",
            "Captura en {URL}",
            "Es sobre el ticket {TICKETNO}.",
        ],
        "GREETING": ["Hola,", "Buenos días,", "Hola equipo de soporte,"],
        "CLOSING": ["Saludos,", "Un saludo,", "Gracias de antemano,"],
        "SUBJECT": [
            "Cobro duplicado",
            "No puedo iniciar sesión",
            "Solicitud de reembolso",
            "Error 401 en la API",
        ],
        "SUBJECT_ITEM": ["Llamadme al {PHONEG}", "Reembolso a {IBAN}", "Correo {EMAIL} incorrecto"],
        "SIGNATURE": ["Tel.: {PHONE}", "Móvil: {PHONE}", "{PHONEG}", "{EMAIL}"],
        "TITLE": ["Responsable de administración", "Director técnico", "Compras"],
        "QUOTE": ["El {DATE}, Soporte <{EMAIL}> escribió:"],
    },
    "pt": {
        "EMAIL": [
            "Por favor, enviem a fatura para {EMAIL}.",
            "{EMAIL} é o nosso novo e-mail de cobrança.",
            "Coloquem minha colega ({EMAIL}) em cópia.",
            "E-mail: {EMAIL}",
        ],
        "PHONE": [
            "Podem me ligar no {PHONE}.",
            "Meu celular: {PHONE}",
            "Telefone {PHONE}, de preferência de manhã.",
            "WhatsApp {PHONE}",
        ],
        "PHONEG": [
            "{PHONEG} é meu número direto.",
            "O número do site ({PHONEG}) não atende.",
            "O mais fácil: {PHONEG}.",
        ],
        "CARD": [
            "Fui cobrado duas vezes no cartão {CARD}.",
            "Número do cartão: {CARD}, validade 10/27.",
            "Estornem no cartão {CARD}, por favor.",
        ],
        "IBAN": ["Façam o reembolso para o IBAN {IBAN}.", "Nova conta: {IBAN}.", "IBAN: {IBAN}"],
        "NATIONAL_ID": [
            "Moro na Espanha, meu NIE é {NIE}.",
            "Codice fiscale (trabalho na Itália): {CF}",
            "Documento (DNI): {DNI}",
        ],
        "SECRET": [
            "Esta é a nossa chave de API: {APIKEY}",
            "Chamamos a API com a chave {APIKEY} e dá 401.",
            "Minha senha é {PW} se precisarem entrar.",
            "senha: {PWQ}",
            "token: {TOKEN}",
            "Authorization: Bearer {BEARER}",
        ],
        "URL_CREDENTIALS": [
            "A string de conexão é {DBURL} e dá timeout.",
            "O link de exportação {QURL} expirou.",
            "Destino do webhook: {QURL}",
        ],
        "DECOY": [
            "A fatura {INVOICE} de {DATE} foi cobrada duas vezes.",
            "O pedido {ORDER} está pendente desde {DATE}.",
            "Desde as {TIME} toda chamada retorna {ERROR}.",
            "O valor de {INVOICE} deveria ser {AMOUNT}, não {AMOUNT}.",
            "Estamos na versão {VERSION}.",
            "O servidor {IP} responde {ERROR}, host {HOST}.",
            "ID da requisição: {UUID}",
            "Print em {URL}",
            "É sobre o chamado {TICKETNO}.",
        ],
        "GREETING": ["Olá,", "Bom dia,", "Prezados,"],
        "CLOSING": ["Obrigado,", "Atenciosamente,", "Abraço,"],
        "SUBJECT": ["Cobrança duplicada", "Não consigo entrar", "Pedido de reembolso", "Erro 401 na API"],
        "SUBJECT_ITEM": ["Me liguem no {PHONEG}", "Reembolso para {IBAN}", "E-mail {EMAIL} errado"],
        "SIGNATURE": ["Tel.: {PHONE}", "Cel: {PHONE}", "{PHONEG}", "{EMAIL}"],
        "TITLE": ["Gerente financeiro", "Coordenadora de TI", "Compras"],
        "QUOTE": ["Em {DATE}, Suporte <{EMAIL}> escreveu:"],
    },
    "it": {
        "EMAIL": [
            "Per favore inviate la fattura a {EMAIL}.",
            "{EMAIL} è il nostro nuovo indirizzo per la fatturazione.",
            "Mettete in copia la mia collega ({EMAIL}).",
            "Email: {EMAIL}",
        ],
        "PHONE": [
            "Potete chiamarmi al {PHONE}.",
            "Cellulare: {PHONE}",
            "Telefono {PHONE}, meglio la mattina.",
            "Chiamatemi al {PHONE} appena possibile.",
        ],
        "PHONEG": [
            "{PHONEG} è il mio numero diretto.",
            "Il numero sul vostro sito ({PHONEG}) non risponde.",
            "Il modo più semplice: {PHONEG}.",
        ],
        "CARD": [
            "Mi avete addebitato due volte sulla carta {CARD}.",
            "Numero carta: {CARD}, scadenza 12/27.",
            "Rimborsate sulla carta {CARD}, grazie.",
        ],
        "IBAN": ["Fate il rimborso sull'IBAN {IBAN}.", "Nuovo conto: {IBAN}.", "IBAN: {IBAN}"],
        "NATIONAL_ID": [
            "Il mio codice fiscale è {CF}.",
            "Codice fiscale: {CF}",
            "CF {CF} (serve per la fattura).",
        ],
        "SECRET": [
            "Questa è la nostra chiave API: {APIKEY}",
            "Chiamiamo l'API con la chiave {APIKEY} e restituisce 401.",
            "La mia password è {PW} se dovete entrare.",
            "password: {PWQ}",
            "token: {TOKEN}",
            "Authorization: Bearer {BEARER}",
        ],
        "URL_CREDENTIALS": [
            "La stringa di connessione è {DBURL} e va in timeout.",
            "Il link di esportazione {QURL} è scaduto.",
            "Destinazione webhook: {QURL}",
        ],
        "DECOY": [
            "La fattura {INVOICE} del {DATE} è stata addebitata due volte.",
            "L'ordine {ORDER} è in sospeso dal {DATE}.",
            "Dalle {TIME} ogni chiamata restituisce {ERROR}.",
            "L'importo di {INVOICE} dovrebbe essere {AMOUNT}, non {AMOUNT}.",
            "Usiamo la versione {VERSION}.",
            "Il server {IP} risponde {ERROR}, host {HOST}.",
            "ID richiesta: {UUID}",
            "Screenshot su {URL}",
            "Riguarda il ticket {TICKETNO}.",
        ],
        "GREETING": ["Buongiorno,", "Ciao,", "Gentile supporto,"],
        "CLOSING": ["Grazie,", "Cordiali saluti,", "Saluti,"],
        "SUBJECT": ["Addebito doppio", "Non riesco ad accedere", "Richiesta di rimborso", "Errore 401 API"],
        "SUBJECT_ITEM": ["Richiamatemi al {PHONEG}", "Rimborso su {IBAN}", "Email {EMAIL} sbagliata"],
        "SIGNATURE": ["Tel. {PHONE}", "Cell. {PHONE}", "{PHONEG}", "{EMAIL}"],
        "TITLE": ["Responsabile amministrativo", "IT manager", "Ufficio acquisti"],
        "QUOTE": ["Il {DATE}, Supporto <{EMAIL}> ha scritto:"],
    },
    "nl": {
        "EMAIL": [
            "Stuur de factuur graag naar {EMAIL}.",
            "{EMAIL} is vanaf nu ons factuuradres.",
            "Zet mijn collega ({EMAIL}) in de cc.",
            "E-mail: {EMAIL}",
        ],
        "PHONE": [
            "Bel me gerust op {PHONE}.",
            "Mobiel: {PHONE}",
            "Telefoon {PHONE}, liefst 's ochtends.",
            "Ik ben bereikbaar op telefoonnummer {PHONE}.",
        ],
        "PHONEG": [
            "{PHONEG} is mijn directe nummer.",
            "Het nummer op jullie site ({PHONEG}) neemt niet op.",
            "Het makkelijkst: {PHONEG}.",
        ],
        "CARD": [
            "Er is twee keer afgeschreven van mijn kaart {CARD}.",
            "Kaartnummer: {CARD}, geldig tot 06/27.",
            "Graag terugstorten op creditcard {CARD}.",
        ],
        "IBAN": ["Graag terugstorten op IBAN {IBAN}.", "Ons nieuwe rekeningnummer: {IBAN}.", "IBAN: {IBAN}"],
        "NATIONAL_ID": [
            "Mijn BSN is {BSN}.",
            "BSN: {BSN}",
            "Het formulier vraagt om mijn burgerservicenummer ({BSN}).",
        ],
        "SECRET": [
            "Dit is onze API-sleutel: {APIKEY}",
            "We roepen de API aan met sleutel {APIKEY} en krijgen 401.",
            "Mijn wachtwoord is {PW} als jullie moeten inloggen.",
            "wachtwoord: {PWQ}",
            "token: {TOKEN}",
            "Authorization: Bearer {BEARER}",
        ],
        "URL_CREDENTIALS": [
            "De connection string is {DBURL} en geeft een timeout.",
            "De exportlink {QURL} is verlopen.",
            "Webhook-doel: {QURL}",
        ],
        "DECOY": [
            "Factuur {INVOICE} van {DATE} is twee keer afgeschreven.",
            "Bestelling {ORDER} staat sinds {DATE} open.",
            "Sinds {TIME} geeft elke aanroep {ERROR}.",
            "Het bedrag op {INVOICE} moet {AMOUNT} zijn, niet {AMOUNT}.",
            "We gebruiken versie {VERSION}.",
            "De server {IP} geeft {ERROR}, host {HOST}.",
            "Request-ID: {UUID}",
            "Screenshot staat op {URL}",
            "Het gaat om ticket {TICKETNO}.",
        ],
        "GREETING": ["Hallo,", "Beste support,", "Goedemorgen,"],
        "CLOSING": ["Groeten,", "Met vriendelijke groet,", "Alvast bedankt,"],
        "SUBJECT": ["Dubbele afschrijving", "Kan niet inloggen", "Verzoek om terugbetaling", "API geeft 401"],
        "SUBJECT_ITEM": [
            "Bel me terug op {PHONEG}",
            "Terugbetaling naar {IBAN}",
            "Verkeerd e-mailadres {EMAIL}",
        ],
        "SIGNATURE": ["Tel: {PHONE}", "Mobiel: {PHONE}", "{PHONEG}", "{EMAIL}"],
        "TITLE": ["Financieel medewerker", "IT-beheer", "Directeur"],
        "QUOTE": ["Op {DATE} schreef Support <{EMAIL}>:"],
    },
}

# Filler without anything to mask, so tickets read like tickets and reach 100-400 words.
FILLER: dict[str, list[str]] = {
    "en": [
        "This started right after your maintenance window and it's blocking our month-end close.",
        "I already cleared the cache, tried another browser and restarted the laptop.",
        "Nobody on the team changed any settings as far as I know.",
        "It worked fine until last Tuesday, so something must have changed on your side.",
        "Could you look into it today? Our accountant is waiting for the corrected documents.",
        "I attached two screenshots of the error page and the billing overview.",
        "We have about forty users affected, mostly in the London and Berlin offices.",
    ],
    "de": [
        "Das Problem trat direkt nach Ihrem Wartungsfenster auf und blockiert unseren Monatsabschluss.",
        "Cache geleert, anderen Browser probiert, Rechner neu gestartet - alles ohne Erfolg.",
        "Bei uns hat niemand etwas an den Einstellungen geändert.",
        "Bis letzten Dienstag lief alles, es muss sich also bei Ihnen etwas geändert haben.",
        "Können Sie sich das heute noch ansehen? Unser Steuerberater wartet auf die Unterlagen.",
    ],
    "fr": [
        "Le problème est apparu juste après votre maintenance et bloque notre clôture mensuelle.",
        "J'ai vidé le cache, essayé un autre navigateur et redémarré le poste.",
        "Personne chez nous n'a modifié les paramètres.",
        "Tout fonctionnait jusqu'à mardi dernier.",
        "Pouvez-vous regarder cela aujourd'hui ? Notre comptable attend les documents corrigés.",
    ],
    "es": [
        "El problema empezó justo después de vuestro mantenimiento y nos bloquea el cierre del mes.",
        "Ya borré la caché, probé otro navegador y reinicié el ordenador.",
        "Nadie del equipo ha cambiado la configuración.",
        "Funcionaba bien hasta el martes pasado.",
        "¿Podéis revisarlo hoy? Nuestro gestor espera los documentos corregidos.",
    ],
    "pt": [
        "O problema começou logo depois da manutenção de vocês e está travando o fechamento do mês.",
        "Já limpei o cache, testei outro navegador e reiniciei o computador.",
        "Ninguém da equipe mudou as configurações.",
        "Funcionava bem até terça passada.",
        "Conseguem olhar isso hoje? Nosso contador está esperando os documentos corrigidos.",
    ],
    "it": [
        "Il problema è iniziato subito dopo la vostra manutenzione e blocca la chiusura del mese.",
        "Ho già svuotato la cache, provato un altro browser e riavviato il computer.",
        "Nessuno del team ha cambiato le impostazioni.",
        "Funzionava fino a martedì scorso.",
        "Potete verificarlo oggi? Il nostro commercialista aspetta i documenti corretti.",
    ],
    "nl": [
        "Het probleem begon direct na jullie onderhoud en blokkeert onze maandafsluiting.",
        "Ik heb de cache geleegd, een andere browser geprobeerd en de laptop herstart.",
        "Niemand in het team heeft instellingen gewijzigd.",
        "Tot afgelopen dinsdag werkte alles prima.",
        "Kunnen jullie er vandaag naar kijken? Onze boekhouder wacht op de gecorrigeerde documenten.",
    ],
}

_SLOT = re.compile(r"\{([A-Z_]+)\}")


def _fill(template: str, rng: random.Random, lang: str) -> list[Segment]:
    segments: list[Segment] = []
    position = 0
    for match in _SLOT.finditer(template):
        if match.start() > position:
            segments.append((template[position : match.start()], None, None))
        name = match.group(1)
        maker = ITEMS.get(name) or DECOYS[name]
        # One unit: a value with brackets or a URL around it is never split by wrapping.
        segments.append(("\x00", None, None))
        segments.extend(maker(rng, lang))
        segments.append(("\x00", None, None))
        position = match.end()
    if position < len(template):
        segments.append((template[position:], None, None))
    return segments


def _wrap(paragraph: list[Segment], width: int) -> list[Segment]:
    """Hard-wrap a paragraph at ``width`` columns between words; a slot's value stays on one line."""
    units: list[list[Segment]] = []
    inside = False
    current: list[Segment] = []
    for text, kind, decoy in paragraph:
        if text == "\x00":
            inside = not inside
            continue
        if inside or kind or decoy:
            current.append((text, kind, decoy))
            continue
        pieces = text.split(" ")
        for i, piece in enumerate(pieces):
            if i > 0:
                units.append(current)
                current = []
            if piece:
                current.append((piece, None, None))
    units.append(current)
    lines: list[list[Segment]] = []
    line: list[Segment] = []
    length = 0
    for unit in units:
        size = sum(len(t) for t, _, _ in unit)
        if not unit:
            continue
        if line and length + 1 + size > width:
            lines.append(line)
            line, length = [], 0
        if line:
            line.append((" ", None, None))
            length += 1
        line.extend(unit)
        length += size
    if line:
        lines.append(line)
    out: list[Segment] = []
    for i, words in enumerate(lines):
        if i:
            out.append(("\n", None, None))
        out.extend(words)
    return out


def _strip_markers(segments: list[Segment]) -> list[Segment]:
    return [segment for segment in segments if segment[0] != "\x00"]


def _assemble(field: str, segments: list[Segment]) -> tuple[str, list[Planted], list[Planted]]:
    parts: list[str] = []
    planted: list[Planted] = []
    decoys: list[Planted] = []
    position = 0
    for text, kind, decoy in segments:
        if kind:
            planted.append(Planted(field, kind, position, position + len(text), text))
        if decoy:
            decoys.append(Planted(field, decoy, position, position + len(text), text))
        parts.append(text)
        position += len(text)
    return "".join(parts), planted, decoys


def _item_sentences(rng: random.Random, lang: str, kinds: list[str]) -> list[list[Segment]]:
    sentences = []
    for kind in kinds:
        pool = (
            SENTENCES[lang]["PHONE"] + SENTENCES[lang]["PHONEG"] if kind == "PHONE" else SENTENCES[lang][kind]
        )
        sentences.append(_fill(rng.choice(pool), rng, lang))
    return sentences


def _ticket(rng: random.Random, lang: str, *, clean: bool) -> SeededTicket:
    words = SENTENCES[lang]
    first, last = rng.choice(FIRST[lang]), rng.choice(LAST[lang])
    # Subject: sometimes carries an item or a decoy.
    roll = rng.random()
    if not clean and roll < 0.15:
        subject_segments = _strip_markers(_fill(rng.choice(words["SUBJECT_ITEM"]), rng, lang))
    elif roll < 0.35:
        subject_segments = _strip_markers(
            _fill(
                rng.choice(words["SUBJECT"]) + rng.choice([" ({INVOICE})", " - {ORDER}", " [{TICKETNO}]"]),
                rng,
                lang,
            )
        )
    else:
        subject_segments = [(rng.choice(words["SUBJECT"]), None, None)]
    subject, subject_planted, subject_decoys = _assemble("subject", subject_segments)

    kinds: list[str] = []
    if not clean:
        kinds = list(KINDS)
        kinds += [k for k in KINDS if rng.random() < 0.35]
        rng.shuffle(kinds)
    item_sentences = _item_sentences(rng, lang, kinds)
    decoy_sentences = [_fill(rng.choice(words["DECOY"]), rng, lang) for _ in range(rng.randint(2, 4))]
    filler = [[(s, None, None)] for s in rng.sample(FILLER[lang], rng.randint(1, 3))]
    sentences = item_sentences + decoy_sentences + filler
    rng.shuffle(sentences)

    # Paragraphs of 1-3 sentences, "Label: value" sentences on their own line.
    body: list[Segment] = [(rng.choice(words["GREETING"]), None, None), ("\n\n", None, None)]
    wrap_width = rng.choice([0, 0, 0, 64, 72, 76])
    paragraph: list[Segment] = []
    count = 0
    for sentence in sentences:
        own_line = bool(sentence) and sentence[0][0] != "\x00" and sentence[0][0].rstrip().endswith(":")
        if paragraph and (own_line or count >= rng.randint(1, 3)):
            body.extend(_wrap(paragraph, wrap_width) if wrap_width else _strip_markers(paragraph))
            body.append(("\n\n" if rng.random() < 0.7 else "\n", None, None))
            paragraph, count = [], 0
        if paragraph:
            paragraph.append((" ", None, None))
        paragraph.extend(sentence)
        count += 3 if own_line else 1  # a "Label: value" line stands alone
    if paragraph:
        body.extend(_wrap(paragraph, wrap_width) if wrap_width else _strip_markers(paragraph))
    # Closing and signature (with contact details unless the ticket is clean).
    body += [("\n\n", None, None), (rng.choice(words["CLOSING"]), None, None), ("\n", None, None)]
    body += [(f"{first} {last}", None, None), ("\n", None, None)]
    if rng.random() < 0.6:
        body += [(f"{rng.choice(words['TITLE'])}, {rng.choice(COMPANY[lang])}", None, None)]
    if not clean:
        for line in rng.sample(words["SIGNATURE"], rng.randint(0, 2)):
            body += [("\n", None, None)] + _strip_markers(_fill(line, rng, lang))
    # Sometimes a quoted earlier message from support, with its own decoys.
    if rng.random() < 0.25:
        quote_head = rng.choice(words["QUOTE"]) if not clean else "-----Original Message-----"
        body += [("\n\n", None, None)] + _strip_markers(_fill(quote_head, rng, lang))
        for template in rng.sample(words["DECOY"], 2):
            body += [("\n> ", None, None)] + _strip_markers(_fill(template, rng, lang))
    body_text, body_planted, body_decoys = _assemble("body", _strip_markers(body))
    return SeededTicket(
        language=lang,
        subject=subject,
        body=body_text,
        planted=tuple(subject_planted + body_planted),
        decoys=tuple(subject_decoys + body_decoys),
    )


def customer_details(rng: random.Random, lang: str = "en", n_items: int = 3) -> tuple[str, list[Planted]]:
    """A few sentences and a signature line carrying customer data, to append to another ticket's
    body (spans relative to the returned text, field "body")."""
    kinds = rng.sample(list(KINDS), n_items)
    segments: list[Segment] = []
    for sentence in _item_sentences(rng, lang, kinds):
        segments += [(" " if segments else "", None, None)] + _strip_markers(sentence)
    segments += [("\n\n", None, None), (f"{rng.choice(FIRST[lang])} {rng.choice(LAST[lang])}", None, None)]
    segments += [("\n", None, None)] + _strip_markers(
        _fill(rng.choice(SENTENCES[lang]["SIGNATURE"]), rng, lang)
    )
    text, planted, _ = _assemble("body", segments)
    return text, planted


def generate(seed: int = DEV_SEED, n_planted: int = 400, n_clean: int = 50) -> list[SeededTicket]:
    """``n_planted`` tickets that each carry every kind at least once (so each kind is planted at
    least ``n_planted`` times) and ``n_clean`` with decoys only, shuffled, all from ``seed``."""
    rng = random.Random(seed)
    weights = [30, 12, 12, 12, 10, 12, 12]
    plan = [False] * n_planted + [True] * n_clean
    rng.shuffle(plan)
    return [_ticket(rng, rng.choices(LANGUAGES, weights)[0], clean=clean) for clean in plan]


@dataclass
class Evaluation:
    """What a detector found on a set: per kind, planted and found (all of the value covered by
    findings of that kind) and masked (covered by findings of any kind); findings and the correct
    ones (overlapping a planted item of the same kind); decoys and those untouched."""

    planted: dict[str, int]
    found: dict[str, int]
    masked: dict[str, int]
    findings: dict[str, int]
    correct: dict[str, int]
    decoys: int
    decoys_survived: int
    misses: list[tuple[str, str, str]]  # kind, value, a line of context
    false_positives: list[tuple[str, str, str]]
    broken_decoys: list[tuple[str, str, str]]

    def recall(self, kind: str) -> float:
        return self.found[kind] / self.planted[kind] if self.planted[kind] else float("nan")

    @property
    def precision(self) -> float:
        total = sum(self.findings.values())
        return sum(self.correct.values()) / total if total else float("nan")

    @property
    def decoy_survival(self) -> float:
        return self.decoys_survived / self.decoys if self.decoys else float("nan")


def _context(text: str, start: int, end: int) -> str:
    return text[max(0, start - 40) : end + 40].replace("\n", "⏎")


def evaluate(tickets: list[SeededTicket], find: Callable[[str], list[Any]]) -> Evaluation:
    """Score ``find`` (``triage.privacy.masking.find_sensitive``: text -> findings with ``kind``,
    ``start``, ``end``) on ``tickets``."""
    result = Evaluation(
        planted=dict.fromkeys(KINDS, 0),
        found=dict.fromkeys(KINDS, 0),
        masked=dict.fromkeys(KINDS, 0),
        findings=dict.fromkeys(KINDS, 0),
        correct=dict.fromkeys(KINDS, 0),
        decoys=0,
        decoys_survived=0,
        misses=[],
        false_positives=[],
        broken_decoys=[],
    )
    for ticket in tickets:
        for field in ("subject", "body"):
            text = ticket.text(field)
            findings = find(text)
            planted = [p for p in ticket.planted if p.field == field]
            for item in planted:
                result.planted[item.kind] += 1
                same = {i for f in findings if f.kind == item.kind for i in range(f.start, f.end)}
                anything = {i for f in findings for i in range(f.start, f.end)}
                span = set(range(item.start, item.end))
                if span <= same:
                    result.found[item.kind] += 1
                else:
                    result.misses.append((item.kind, item.value, _context(text, item.start, item.end)))
                if span <= anything:
                    result.masked[item.kind] += 1
            for finding in findings:
                result.findings[finding.kind] += 1
                if any(
                    p.kind == finding.kind and p.start < finding.end and finding.start < p.end
                    for p in planted
                ):
                    result.correct[finding.kind] += 1
                else:
                    value = text[finding.start : finding.end]
                    result.false_positives.append(
                        (finding.kind, value, _context(text, finding.start, finding.end))
                    )
            for decoy in (d for d in ticket.decoys if d.field == field):
                result.decoys += 1
                hit = [f for f in findings if f.start < decoy.end and decoy.start < f.end]
                if hit:
                    result.broken_decoys.append(
                        (decoy.kind, decoy.value, _context(text, decoy.start, decoy.end))
                    )
                else:
                    result.decoys_survived += 1
    return result


if __name__ == "__main__":  # print a few tickets, to read them as a person would
    for ticket in generate()[:3]:
        print(f"[{ticket.language}] {ticket.subject}\n{ticket.body}\n{'=' * 72}")
