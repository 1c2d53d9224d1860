"""Reading a ticket for the local models: the request's ticket, its sentences, its specifics, its signals.

Everything here is pure and cheap (regular expressions over one ticket), so the models can call it
on every request. It never trains, loads or downloads anything.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from triage.input_policy import without_control_characters
from triage.local_models.registry import Message
from triage.ticket_text import TicketText, parse_ticket_message

CATEGORIES = ("billing", "bug", "how-to", "account", "feature-request", "other")


# The models read this much of a body: the gist of a ticket is at its start, and pasted logs or
# quoted threads further down would only cost time (the tier must answer in milliseconds).
MAX_BODY_CHARS = 2000


def ticket_from_messages(messages: Sequence[Message]) -> TicketText:
    """The ticket is the last user message; a chat message in any other shape is a body alone."""
    for message in reversed(messages):
        if message.get("role") == "user":
            content = without_control_characters(str(message.get("content") or ""))
            return clipped(parse_ticket_message(content))
    raise ValueError("the request has no user message")


def clipped(ticket: TicketText) -> TicketText:
    if len(ticket.body) <= MAX_BODY_CHARS:
        return ticket
    return replace(ticket, body=ticket.body[:MAX_BODY_CHARS])


def ticket_text(ticket: TicketText) -> str:
    return f"{ticket.subject}\n{ticket.body}".strip()


_LIST = re.compile(r"[a-z][a-z-]*(?:\s*,\s*(?:or\s+|and\s+)?[a-z][a-z-]*){2,}")


def categories_from_prompt(messages: Sequence[Message]) -> list[str] | None:
    """Known categories named in a comma-separated list in the system prompt, if there is one.

    The prompt is admin-editable, so this only narrows the labels when it clearly lists them.
    """
    for message in messages:
        if message.get("role") != "system":
            continue
        for match in _LIST.finditer(str(message.get("content") or "").lower()):
            words = [
                w.strip().removeprefix("or ").removeprefix("and ").strip() for w in match.group().split(",")
            ]
            known = [w for w in words if w in CATEGORIES]
            if len(known) >= 2:
                return known
    return None


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")


def split_sentences(text: str) -> list[str]:
    """Sentences of free text; good enough for tickets (no abbreviation handling needed)."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s and s.strip()]


def count_sentences(text: str) -> int:
    return len(split_sentences(text))


# --- specifics -------------------------------------------------------------------------------

_INVOICE = re.compile(r"\bINV-?\d{3,}(?:-\d+)*\b", re.IGNORECASE)
_ORDER = re.compile(r"(?<![\w#])#\d{4,}\b")
_AMOUNT = re.compile(r"(?:[$€£]\s?\d[\d,]*(?:\.\d{2})?|\d[\d.,]*\d?\s?(?:€|(?:EUR|USD|GBP)\b))")
_HTTP = re.compile(
    r"\b(?:HTTP\s?)?([45]\d\d)(?:s\b|\b)(?:\s(?:Bad Gateway|Internal Server Error|Unauthorized|Forbidden|"
    r"Too Many Requests|Service Unavailable|Not Found|gateway timeout))?",
    re.IGNORECASE,
)
_NAMED_ERROR = re.compile(
    r"\b(?:OOMKilled|CrashLoopBackOff|ImagePullBackOff|ECONNREFUSED|ECONNRESET|ETIMEDOUT|ERR_[A-Z_]+|"
    r"SSL_[A-Z_]+|CUDA out of memory|exit code \d+|E-?\d{3,5}|0x[0-9a-fA-F]{6,8}|"
    r"[A-Z][A-Za-z]+(?:Exception|Error)(?::[^.\n]{0,60})?|connection pool exhausted|disk quota exceeded)"
)
_TIME = re.compile(r"\b(?:since\s+)?\d{1,2}:\d{2}(?:\s?(?:UTC|CET|GMT|PST|EST|am|pm))?", re.IGNORECASE)
_FEATURE = re.compile(
    r"(?:please add|can you add|could you add|could we get|would love(?: to see)?|it would be great to have|"
    r"plans to (?:support|add)|plan for|feature request:|request:|one wish:|add(?:ing)? my vote for|"
    r"\+1 for|support for|we need|please build|please support|please let us|is)\s+"
    r"(?P<feature>[^.?!,;\n]{3,60}?)"
    r"(?=\s+(?:on your roadmap|before|in the|so|to the|at once|for all)\b|[.?!,;\n]|$)",
    re.IGNORECASE,
)
AREAS = (
    "dashboard",
    "API gateway",
    "public API",
    "API",
    "export",
    "import",
    "reports",
    "report",
    "analytics",
    "billing page",
    "checkout",
    "mobile app",
    "app",
    "webhooks",
    "webhook",
    "search",
    "notifications",
    "admin console",
    "file uploads",
    "uploads",
    "audit log",
    "calendar",
    "inbox",
    "SSO",
    "login",
    "integration",
    "deploy",
    "pods",
)
_AREA = re.compile(r"\b(" + "|".join(re.escape(a) for a in AREAS) + r")\b", re.IGNORECASE)
_AREA_NAMES = {area.lower(): area for area in AREAS}
_INTEGRATION = re.compile(
    r"\b(Slack|Salesforce|HubSpot|Zapier|GitHub|Jira|Stripe|Google Drive|Google Calendar|Teams|Okta|"
    r"Azure AD|Zendesk|Outlook|Notion)\b"
)


@dataclass(frozen=True)
class Specifics:
    invoices: tuple[str, ...]
    orders: tuple[str, ...]
    amounts: tuple[str, ...]
    errors: tuple[str, ...]
    times: tuple[str, ...]
    features: tuple[str, ...]
    area: str
    integration: str


def _clean(value: str) -> str:
    # Fills go into customer-facing text: no brackets that could read as placeholders, one line.
    return " ".join(re.sub(r"[\[\]{}<>]", "", value).split()).strip(" .,:;-")


def _unique(values: list[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for value in values:
        value = _clean(value)
        if value and value.lower() not in {v.lower() for v in seen}:
            seen[value] = None
    return tuple(seen)


def extract_specifics(ticket: TicketText) -> Specifics:
    text = ticket_text(ticket)
    errors = [m.group(0) for m in _NAMED_ERROR.finditer(text)]
    for match in _HTTP.finditer(text):
        code = match.group(1)
        if not any(code in e for e in errors) and not _looks_like_number_in_prose(text, match):
            token = match.group(0)
            # "502s" is the code in the plural; "429 Too Many Requests" keeps its s.
            errors.append(token[:-1] if re.fullmatch(r"[45]\d\ds", token) else token)
    features = [m.group("feature") for m in _FEATURE.finditer(text)]
    area_match = _AREA.search(text)
    integration = _INTEGRATION.search(text)
    return Specifics(
        invoices=_unique([m.group(0).upper() for m in _INVOICE.finditer(text)]),
        orders=_unique(_ORDER.findall(text)),
        amounts=_unique(_AMOUNT.findall(text)),
        errors=_unique(errors)[:3],
        times=_unique(_TIME.findall(text))[:2],
        features=_unique([f for f in features if not _is_filler(f)])[:2],
        area=_AREA_NAMES[area_match.group(1).lower()] if area_match else "",
        integration=integration.group(1) if integration else "",
    )


def _looks_like_number_in_prose(text: str, match: re.Match[str]) -> bool:
    # "4000 records", "400 people": a status code is followed by s/an error word or preceded by HTTP.
    after = text[match.end() : match.end() + 12].lower()
    before = text[max(0, match.start() - 12) : match.start()].lower()
    token = match.group(0)
    if token.lower().startswith("http") or token.endswith("s") or " " in token:
        return False
    if re.search(r"(?:error|erro|errore|erreur|fehler|fout|code|status|código)\s*:?\s*$", before):
        return False
    return not re.match(r"\s*(?:error|errors|response|responses|from|on|status|code)\b", after)


_FILLER = re.compile(
    r"^(?:it|this|that|there|a|an|the|something|anything|broken|down|wrong)\b", re.IGNORECASE
)


def _is_filler(feature: str) -> bool:
    return bool(_FILLER.match(feature.strip())) or len(feature.split()) > 7


# --- urgency signals -------------------------------------------------------------------------

SIGNAL_PATTERNS: dict[str, re.Pattern[str]] = {
    "outage": re.compile(
        r"\b(?:(?<!for )(?<!for the )(?<!credit )outages?(?! (?:last|on|yesterday|earlier))|"
        r"(?:is|are|went|gone|has gone|been|everything|site|service|app|it'?s) down|down again|"
        r"unable to access|can'?t access|cannot access|nothing loads|completely blocked|not loading at all|"
        r"unavailable|en panne|lädt nicht|caído|fora do ar)\b",
        re.IGNORECASE,
    ),
    "many users blocked": re.compile(
        r"(?:\b(?:all|every|entire|whole)\s+(?:\d+\s+)?(?:of\s+)?(?:our\s+)?(?:\w+\s+)?"
        r"(?:team|users|agents|employees|staff|org|company|customers|floor|people)\b|"
        r"~?\b\d{2,}\s+(?:internal\s+)?(?:users|agents|employees|people|personnes|staff|customers)\b|"
        r"\bnone of our\b|\bnobody on our team\b|\bmany (?:of our )?(?:users|customers)\b|"
        r"\bmost customers\b|\b(?:several|multiple|many) (?:teams|customers|users)\b|"
        r"\bganzes team\b|\btoute notre équipe\b)",
        re.IGNORECASE,
    ),
    "churn threat": re.compile(
        r"\b(?:alternatives?|(?:going with|move to|moving to) (?:a |your )?competitor|"
        r"switch(?:ing)? to (?:a |another )?(?:competitor|different (?:tool|vendor|provider))|"
        r"cancel (?:our|my) (?:contract|subscription|account)|"
        r"will cancel|churn|chargeback|leaving|going with your competitor|look(?:ing)? elsewhere|"
        r"evaluating (?:other|alternatives)|move to another (?:vendor|provider|tool)|switch(?:ing)? vendors)",
        re.IGNORECASE,
    ),
    "security": re.compile(
        r"\b(?:hacked|breach|compromised|phishing|suspicious|unauthori[sz]ed access|"
        r"logins? (?:I|we) didn'?t make|"
        r"nobody on our team created|changed my email|unknown IP|account takeover|"
        r"(?:i|we) didn'?t do (?:this|that)|wasn'?t me|"
        r"(?:i|we) (?:didn'?t|never) (?:request|make|authori[sz]e)|"
        r"password (?:was |has been )?changed|"
        r"leak(?:ed)?|exposed|stolen|suspect|verdächtig|gehackt|piraté|sospechos|hackead|suspeit|sospett|"
        r"verdacht|n'ai jamais demandé|no he sido yo|non sono stato|"
        # said in passing ("probably nothing, but..."): a hole, someone else's data, an unknown sign-in
        r"vulnerabilit(?:y|ies)(?! disclosure)|security (?:hole|flaw|issue|bug)|"
        r"(?:someone|somebody) else'?s (?:account|data|details|invoices?|payslips?|records?|files?)|"
        r"(?:another|a different) (?:company|customer|clinic|business|tenant|organi[sz]ation)'?s? "
        r"(?:data|details|invoices?|names?|records?|address(?:es)?|account|card)|"
        r"(?:new[- ]device|unrecogni[sz]ed|unknown device) (?:sign-?in|log-?in)|sign-?in alert|login alert|"
        r"still has access|"
        r"(?:ex-?employee|former (?:employee|manager|staff member|colleague|admin))\b[^.]{0,120}\bstill\b|"
        r"can see (?:every|all|other) (?:\w+ )?(?:client|customer|patient|user|member|employee)s?'?s? "
        r"(?:names?|data|details|emails?|phone|records?|address(?:es)?|payslips?|salar))",
        re.IGNORECASE,
    ),
    "legal": re.compile(
        r"\b(?:lawyers?|attorneys?|legal (?:action|department|team|counsel|steps)|lawsuit|sue\b|"
        r"breach of (?:contract|the agreement|sla)|sla breach|regulator|gdpr complaint|"
        r"data protection authority|small claims|"
        r"avocat|anwalt|rechtliche schritte|abogado|avvocato|advocaat)",
        re.IGNORECASE,
    ),
    "data loss": re.compile(
        r"\b(?:data loss|lost (?:all|our|my) (?:\w+ )?(?:data|files|records|projects|work|contacts|orders|"
        r"invoices|history|documents|photos|emails|messages|entries|changes)|lost all|"
        r"disappeared|were deleted|got deleted|deleted without|are gone|"
        r"overwrote|overwritten|wiped|data lost)\b",
        re.IGNORECASE,
    ),
    "repeated failure": re.compile(
        r"\b(?:again|third time|second time|fourth time|keeps happening|every few days|"
        r"keeps? (?:crashing|failing)|"
        r"still (?:broken|no fix|being charged|billing)|following up|asked (?:three|two|several) times|"
        r"for \d+ weeks)\b",
        re.IGNORECASE,
    ),
    "deadline": re.compile(
        r"\b(?:tomorrow|tonight|today|end of (?:the )?day|before (?:friday|monday|our)|in (?:the next )?"
        r"(?:an? |one |two |three |four |few |a few |\d+ )hours?|in \d+ minutes|next hour|asap|urgently|"
        r"launch|board demo|payroll|"
        r"quarter closes|month-end|finance close|by the \d+(?:st|nd|rd|th))\b",
        re.IGNORECASE,
    ),
    "production or revenue impact": re.compile(
        r"\b(?:losing (?:sales|orders|money|revenue)|customers can'?t|can'?t complete checkout|production)\b",
        re.IGNORECASE,
    ),
}
# The same signals in the other languages the models were trained on (German, French, Spanish,
# Portuguese, Italian, Dutch): the phrases customers use for them, kept apart for readability.
OTHER_LANGUAGE_SIGNALS: dict[str, re.Pattern[str]] = {
    "outage": re.compile(
        r"\b(?:ausfall|funktioniert (?:gar )?nicht(?: mehr)?|nicht erreichbar|geht nichts mehr|"
        r"ne fonctionne plus|inaccessible|hors service|plus rien ne marche|"
        r"no funciona|no carga|no responde|fuera de servicio|"
        r"não funciona|não carrega|fora do ar|indisponível|"
        r"non funziona|non si carica|irraggiungibile|"
        r"werkt niet(?: meer)?|ligt plat|niet bereikbaar|storing)",
        re.IGNORECASE,
    ),
    "many users blocked": re.compile(
        r"\b(?:alle (?:unsere |onze )?(?:mitarbeiter|kollegen|kunden|nutzer|medewerkers|klanten|gebruikers)|"
        r"tous (?:nos|les) (?:utilisateurs|clients|collaborateurs|employés|salariés)|toute l'équipe|"
        r"todos (?:nuestros|los|os nossos|os) "
        r"(?:usuarios|clientes|empleados|utilizadores|usuários|funcionários)|"
        r"todo el equipo|toda a equipe|tutti i (?:nostri )?(?:utenti|clienti|dipendenti)|tutto il team|"
        r"iedereen|niemand (?:van ons|kan)|nessuno (?:di noi|riesce)|nadie puede|ninguém consegue|"
        r"personne ne peut|niemand kann|\d{2,}\s+(?:mitarbeiter|utilisateurs|usuarios|usuários|utenti|"
        r"gebruikers|medewerkers|salariés|empleados|funcionários|dipendenti))",
        re.IGNORECASE,
    ),
    "security": re.compile(
        r"\b(?:unbefugt|nicht autorisiert|nicht von mir|accès non autorisé|pas moi|"
        r"acceso no autorizado|no (?:lo )?solicité|acesso não autorizado|não fui eu|não solicitei|"
        r"accesso non autorizzato|non richiesto|niet (?:door mij|aangevraagd)|onbevoegd|phishing)",
        re.IGNORECASE,
    ),
    "legal": re.compile(
        r"\b(?:juristisch|gericht|klage|justice|tribunal|mise en demeure|judicial|juzgado|demanda|"
        r"processo|tribunale|diffida|rechter|rechtszaak|ingebrekestelling)",
        re.IGNORECASE,
    ),
    "data loss": re.compile(
        r"\b(?:(?:sind|ist|wurden) (?:alle |komplett )?(?:verschwunden|gelöscht)|daten verloren|"
        r"(?:ont|a|sont) (?:tous |toutes )?(?:disparu|été supprimé)e?s?|données perdues|"
        r"(?:han|ha) (?:desaparecido|sido borrad[oa]s)|datos perdidos|"
        r"(?:sumiram|foram apagad[oa]s|desapareceram)|dados perdidos|"
        r"(?:sono|è) (?:tutti |tutte )?(?:spariti|scompars[eio]|stat[ie] cancellat[ie])|dati persi|"
        r"(?:zijn|is) (?:allemaal )?(?:verdwenen|verwijderd)|gegevens kwijt)\b",
        re.IGNORECASE,
    ),
    "repeated failure": re.compile(
        r"\b(?:erneut|schon wieder|zum (?:zweiten|dritten) mal|encore une fois|à nouveau|"
        r"(?:deuxième|troisième) (?:fois|relance|mail)|de nuevo|otra vez|(?:segunda|tercera) vez|"
        r"de novo|novamente|(?:segundo|terceiro) (?:contato|e-mail|chamado)|já abri|"
        r"di nuovo|ancora una volta|(?:seconda|terza) volta|opnieuw|alweer|(?:tweede|derde) (?:keer|mail))",
        re.IGNORECASE,
    ),
    "deadline": re.compile(
        r"\b(?:morgen|heute|sofort|dringend|demain|aujourd'hui|urgent|mañana|hoy|urgente|amanhã|hoje|"
        r"domani|oggi|vandaag|spoed|dringend|entro (?:il|venerdì|lunedì)|avant (?:vendredi|lundi))",
        re.IGNORECASE,
    ),
    "churn threat": re.compile(
        r"\b(?:kündigen|anbieter wechseln|résilier|changer de (?:fournisseur|prestataire)|cancelar|"
        r"cambiar de proveedor|mudar de fornecedor|disdire|cambiare fornitore|opzeggen|overstappen)",
        re.IGNORECASE,
    ),
    "production or revenue impact": re.compile(
        r"\b(?:umsatz|bestellungen|chiffre d'affaires|commandes|ventas|pedidos|vendas|vendite|ordini|"
        r"omzet|bestellingen|produktion|production|producción|produção|produzione|productie)",
        re.IGNORECASE,
    ),
}
# Signals that raise a real problem one step (the scorer's rule, mirrored when training).
STEP_SIGNALS = ("repeated failure", "deadline")
_BLOCKING = re.compile(
    r"\b(?:blocked|blockiert|bloqu\w+|can'?t|cannot|unable|affected|locked out|idle|down|fail\w*|"
    r"no access|not able|stuck|broken|errors?|returns? (?:an? )?5\d\d|5\d\ds?|timing out|times out)\b",
    re.IGNORECASE,
)
_NO_RUSH = re.compile(
    r"\b(?:no rush|not urgent|no hurry|low priority|whenever you (?:get|have) a chance|just curious|minor)\b",
    re.IGNORECASE,
)
_ENTERPRISE_TEXT = re.compile(r"\benterprise (?:customer|account|plan|tier|contract)\b", re.IGNORECASE)
# "!!", "?!", or words people shout; acronyms in capitals (CNAME, HTTP) are not shouting.
_SHOUTING = re.compile(
    r"!!|\?!|\b(?:AGAIN|STILL|NOW|NEVER|ASAP|URGENT|WHY|NOTHING|DOWN|BROKEN|HELP|PLEASE|UNACCEPTABLE)\b"
)


@dataclass(frozen=True)
class Signals:
    seen: tuple[str, ...]
    no_rush: bool
    enterprise: bool
    shouting: bool

    def has(self, name: str) -> bool:
        return name in self.seen


def detect_signals(ticket: TicketText) -> Signals:
    text = ticket_text(ticket)
    seen = [
        name
        for name, pattern in SIGNAL_PATTERNS.items()
        if pattern.search(text)
        or (name in OTHER_LANGUAGE_SIGNALS and OTHER_LANGUAGE_SIGNALS[name].search(text))
    ]
    if "many users blocked" in seen and not _BLOCKING.search(text):
        seen.remove("many users blocked")  # "we asked all agents to..." names many users, blocks none
    enterprise = ticket.customer_tier.strip().lower() == "enterprise" or bool(_ENTERPRISE_TEXT.search(text))
    if enterprise:
        seen.append("enterprise tier")
    shouting = bool(_SHOUTING.search(text))
    return Signals(
        seen=tuple(seen), no_rush=bool(_NO_RUSH.search(text)), enterprise=enterprise, shouting=shouting
    )


def signal_tokens(signals: Signals) -> str:
    """Signals as pseudo-words, appended to the text the learned urgency model reads.

    The customer tier is left out on purpose: the scorer applies the enterprise step as a rule.
    """
    words = [f"zzsig{name.replace(' ', '')}" for name in signals.seen if name != "enterprise tier"]
    if signals.no_rush:
        words.append("zzsignorush")
    if signals.shouting:
        words.append("zzsigshouting")
    return " ".join(words)
