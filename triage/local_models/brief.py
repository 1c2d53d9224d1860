"""``local/brief-writer``: an extractive escalation brief for the human who picks the ticket up.

The brief answers four questions from the ticket's own words: what is wrong (``problem``), who and
what it hurts (``impact``), what the customer already did (``tried``) and what they want from us
(``ask``), plus the evidence they gave and next steps chosen from the category, the urgency signals
and the ask. Before any of that the body is read like an email: quoted history, signatures, legal
disclaimers and pasted log lines are set apart (log lines feed only the evidence), and greetings,
pleasantries and sign-offs are dropped.

It must never invent a fact: every field quotes the ticket's sentences or phrases (the impact line
quotes phrases: a count of people, the tier field, since when, consequences), and a field with
nothing to quote says the ticket does not state it. Only the next steps are written here.

Pure and cheap (a few milliseconds for a clipped 2,000-character ticket): regular expressions, no
I/O. Most patterns run on the lower-cased sentence and are written in lower case without
``re.IGNORECASE``, which makes Python's matcher several times slower on long alternations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from triage.local_models.classifier import classify
from triage.local_models.registry import Message
from triage.local_models.text import (
    AREAS,
    SIGNAL_PATTERNS,
    Specifics,
    extract_specifics,
    split_sentences,
    ticket_from_messages,
)
from triage.local_models.urgency import UrgencyAssessment, assess
from triage.ticket_text import TicketText

TASK = "escalate_complex_issue"
NOT_STATED = "Not stated in the ticket."
MAX_SENTENCE_CHARS = 300
MAX_LOG_LINE_CHARS = 160


def _lower(pattern: str) -> re.Pattern[str]:
    """A pattern for folded (lower-case) text: written in lower case, compiled without IGNORECASE."""
    return re.compile(pattern)


def _fold(text: str) -> str:
    """``text`` in lower case, the same length, so a match's span also fits the original."""
    folded = text.lower()
    if len(folded) == len(text):
        return folded
    return "".join(ch if len(ch.lower()) != 1 else ch.lower() for ch in text)  # "İ" folds to 2 chars


# --- reading the body like an email ------------------------------------------------------------

# Where the quoted history of a reply starts ("On Mon, 3 Jun 2024 ... wrote:" may wrap onto 2 lines).
_QUOTE_HEADER = re.compile(
    r"^(?:On\s.{0,250}\bwrote:|Am\s.{0,250}\bschrieb.{0,60}:|Le\s.{0,250}\ba\s+écrit\s?:|"
    r"El\s.{0,250}\bescribió:|-{2,}\s*Original Message\s*-{2,}|-{2,}\s*Forwarded message\s*-{2,}|"
    r"Begin forwarded message:)\s*$",
    re.IGNORECASE,
)
_MAIL_HEADER = re.compile(r"^(?:From|Sent|To|Cc|Date|Subject):\s", re.IGNORECASE)
_SIGNATURE_DELIMITER = re.compile(
    r"^(?:--|—|__+|Sent from my \w+.*|Get Outlook for \w+.*|Sent via \w+.*)\s*$", re.IGNORECASE
)
_SIGN_OFF_LINE = re.compile(
    r"^(?:thanks|thank you|many thanks|thanks again|thanks in advance|thank you in advance|cheers|best|"
    r"best regards|kind regards|warm regards|regards|sincerely|thx|tia|br|all the best|talk soon|"
    r"mit freundlichen grüßen|(?:viele |liebe |beste )?grüße|met vriendelijke groet|groeten|cordialement|"
    r"bien à vous|merci|gracias|saludos|un saludo|atenciosamente|obrigad[oa]|danke)\b[\s,.!]*"
    r"(?:[\w.'-]+[\s,.!]*){0,3}$",
    re.IGNORECASE,
)
# Trailing lines of a signature: a phone number, an address, a title line, a bare name.
_CONTACT = (
    r"[+(]?\d[\d\s().-]{6,}|(?:tel|phone|mobile|mob|cell|fax|t|m|e|w)[.:]\s*\S.*|\S+@\S+\.\w+|"
    r"(?:https?://|www\.)\S+|[^|]{1,60}\|.*"
)
_CONTACT_LINE = re.compile(rf"^(?:{_CONTACT})$", re.IGNORECASE)
_SIGNATURE_LINE = re.compile(rf"^(?:{_CONTACT}|[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){{0,3}},?)$")
_DISCLAIMER = _lower(
    r"\b(?:confidentiality notice|disclaimer:|this (?:e-?mail|message|communication)(?: and any "
    r"(?:attachments?|files?)(?: transmitted with it)?)? (?:is|are|may (?:be|contain)|contains?) "
    r"(?:confidential|privileged|intended)|intended (?:solely |only )?for the (?:use of the )?"
    r"(?:named |intended )?(?:addressee|recipient|individual|person)|received this (?:e-?mail|message|"
    r"communication) in error|not the intended recipient|privileged (?:and|or|and/or) confidential|"
    r"(?:unauthori[sz]ed|any) (?:review|use|disclosure|dissemination|distribution|copying) "
    r"(?:of this|is (?:strictly )?prohibited)|consider the environment before printing)"
)
# Pasted logs, stack traces, JSON or shell output: evidence, never the problem statement.
_LOG_LINE = re.compile(
    r"^\s*(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\[?\d{2}:\d{2}:\d{2}|"
    r"\[?(?:ERROR|WARN(?:ING)?|INFO|DEBUG|FATAL|TRACE|CRITICAL|SEVERE)\]?[\s:|]|"
    r"Traceback \(most recent call last\)|File \".+\", line \d+|at [\w$.<>]+\(.*\)|"
    r"[\w$]+(?:\.[\w$]+)+(?:Error|Exception)\b|[\w$]+(?:\.[\w$]+)+:\s|\w+(?:Error|Exception|Violation|Fault):|"
    r"[{}\[\]]|\"[\w.-]+\"\s*:|#\d+\s+0x|\$ |>>> |"
    r"(?:GET|POST|PUT|PATCH|DELETE|HEAD) /\S*)"
)
_KEY_VALUE = re.compile(r"\b\w+=\S+")
_PROSE_WORD = re.compile(r"[A-Za-z][a-z'’-]*[.,;:!?]?")
_FENCE = re.compile(r"^\s*(?:```|~~~)")
_BULLET = re.compile(r"^\s*(?:[-*•·]|\d{1,2}[.)])\s+")
_ABBREVIATION_END = re.compile(
    r"\b(?:ca|approx|e\.g|i\.e|etc|z\.b|bzw|vs|nr|no|inc|ltd|mr|mrs|ms|dr|st|min|max|avg|ref|dept|ex|cf|"
    r"p\.ex|env|u\.a|d\.h|usw)\.$",
    re.IGNORECASE,
)
_HELLO = (
    r"(?:hi|hello|hey|hiya|howdy|greetings|dear|good (?:morning|afternoon|evening|day)|"
    r"to whom it may concern|hallo|guten tag|sehr geehrte\w*|liebe[rs]?|bonjour|madame|monsieur|buongiorno|"
    r"hola|estimad[oa]s?|olá|ola|prezad[oa]s?|beste|geachte|hoi|hej)"
)
_GREETING = re.compile(
    rf"^{_HELLO}\b(?:[^,.!?:;]{{0,30}}[,.!:;]\s*|\s+(?=(?:i|i'm|we|our|my|j'|je|nous|ich|wir|yo|eu)\b))",
    re.IGNORECASE,
)
_GREETING_ONLY = re.compile(rf"^{_HELLO}\b[^,.!?:;]{{0,30}}[,.!:;]?$", re.IGNORECASE)
_DISCOURSE = re.compile(
    r"^(?:anyway|anyways|so|also|btw|by the way|basically|well|ok|okay|however|but|and|unfortunately|"
    r"sadly|fyi|just fyi|quick question|quick note|one more thing|in any case)\s*[,:]\s+",
    re.IGNORECASE,
)
_REQUEST_WORD = re.compile(r"\b(?:please|help|urgent|asap)\b", re.IGNORECASE)


@dataclass(frozen=True)
class _Body:
    sentences: list[str]  # the customer's own sentences, greetings and sign-offs taken out
    log_lines: list[str]


def _read_body(body: str) -> _Body:
    lines = _without_signature(_own_lines(body.replace("\r\n", "\n").replace("\r", "\n").split("\n")))
    kept: list[str] = []
    logs: list[str] = []
    in_fence = False
    for line in lines:
        stripped = line.strip()
        if _FENCE.match(line):
            in_fence = not in_fence
            kept.append("")
        elif in_fence or (stripped and _is_log_line(line)):
            if stripped:
                logs.append(stripped)
            kept.append("")  # a pasted log ends a paragraph
        else:
            kept.append(stripped)
    return _Body(sentences=_sentences(kept), log_lines=logs)


def _own_lines(lines: list[str]) -> list[str]:
    """The lines the customer wrote in this message: up to quoted history, a signature delimiter
    or a legal disclaimer, without quoted (">") lines."""
    own: list[str] = []
    in_fence = False
    for index, raw in enumerate(lines):
        line = raw.rstrip()
        stripped = line.strip()
        fence = bool(_FENCE.match(line))
        in_fence = in_fence != fence
        if in_fence or fence:
            own.append(line)
            continue
        following = lines[index + 1].strip() if index + 1 < len(lines) else ""
        quote_start = (
            _QUOTE_HEADER.match(stripped)
            or (stripped.startswith("On ") and _QUOTE_HEADER.match(f"{stripped} {following}"))
            or (_MAIL_HEADER.match(stripped) and _MAIL_HEADER.match(following))
        )
        if quote_start or _SIGNATURE_DELIMITER.match(stripped):
            break
        if own and _DISCLAIMER.search(_fold(stripped)) and any(k.strip() for k in own):
            break
        if not stripped.startswith(">") and not _MAIL_HEADER.match(stripped):
            own.append(line)
    return own


def _without_signature(lines: list[str]) -> list[str]:
    """The lines up to a sign-off followed by nothing but a short signature, or up to a trailing
    block of name, title, phone and address lines."""
    if not lines:
        return lines
    for index, line in enumerate(lines):
        if len(line.strip()) <= 50 and _SIGN_OFF_LINE.match(line.strip()):
            rest = [r for r in lines[index + 1 :] if r.strip()]
            if len(rest) <= 8 and all(len(r) <= 80 and r.strip()[-1:] not in ".?!" for r in rest):
                return lines[:index]
    end = len(lines)
    while end > 1 and (not lines[end - 1].strip() or _SIGNATURE_LINE.match(lines[end - 1].strip())):
        end -= 1
    block = [line.strip() for line in lines[end:] if line.strip()]
    # A phone, address or title line is a signature; so is a short name block set apart by a blank
    # line after a finished sentence. A lone "Outage" on the last line could be the ticket's words.
    if any(_CONTACT_LINE.match(line) for line in block):
        return lines[:end]
    set_apart = end < len(lines) and not lines[end].strip()
    finished = bool(lines[end - 1].strip()) and lines[end - 1].strip()[-1] in ".!?"
    if (
        block
        and set_apart
        and finished
        and len(block) <= 3
        and not any(_REQUEST_WORD.search(b) for b in block)
    ):
        return lines[:end]
    return lines


def _is_log_line(line: str) -> bool:
    looks_like_log = (
        _LOG_LINE.match(line)
        or len(_KEY_VALUE.findall(line)) >= 2
        or (line.startswith(("    ", "\t")) and not _BULLET.match(line))
        or (len(line) >= 24 and sum(ch.isalpha() or ch == " " for ch in line) < 0.6 * len(line))
    )
    if not looks_like_log:
        return False
    # "GET /v2/summary returns totals that are 3% lower than what the dashboard shows" is prose.
    words = line.split()
    return len(words) < 8 or sum(bool(_PROSE_WORD.fullmatch(w)) for w in words) < 0.7 * len(words)


def _sentences(lines: list[str]) -> list[str]:
    # Hard-wrapped email lines are joined back: a line that doesn't end a sentence, followed by one
    # that starts in lower case, is the same sentence.
    paragraphs: list[str] = []
    for line in lines:
        if not line:
            paragraphs.append("")
            continue
        bullet = _BULLET.match(line)
        line = line[bullet.end() :] if bullet else line
        joins = paragraphs and paragraphs[-1] and paragraphs[-1][-1] not in ".!?:;" and line[:1].islower()
        if joins and not bullet:
            paragraphs[-1] += " " + line
        else:
            paragraphs.append(line)
    sentences: list[str] = []
    for paragraph in paragraphs:
        for sentence in _rejoined(split_sentences(paragraph)):
            sentence = _GREETING.sub("", sentence, count=1).strip() if not sentences else sentence
            if not sentence or _GREETING_ONLY.match(sentence) or _DISCLAIMER.search(_fold(sentence)):
                continue
            if sentence.endswith(":") and len(sentence.split()) <= 6:
                continue  # "Log below:", "Steps to reproduce:": a lead-in, not a statement
            sentences.append(_tidy(sentence))
    return sentences


def _rejoined(pieces: list[str]) -> list[str]:
    """Sentences split after "ca." or "e.g." joined back."""
    joined: list[str] = []
    for piece in pieces:
        if joined and joined[-1].endswith(".") and _ABBREVIATION_END.search(joined[-1][-7:]):
            joined[-1] += " " + piece
        else:
            joined.append(piece)
    return joined


def _tidy(sentence: str) -> str:
    sentence = _DISCOURSE.sub("", sentence, count=1) or sentence
    if len(sentence) > MAX_SENTENCE_CHARS:
        sentence = sentence[:MAX_SENTENCE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
    sentence = sentence[0].upper() + sentence[1:].rstrip(":;,")
    return sentence if sentence[-1] in ".!?…" else sentence + "."


# --- what a sentence says (all on folded text) -------------------------------------------------

_ERROR_WORDS = _lower(
    r"\b(?:errors?|exceptions?|fail(?:s|ed|ing|ure|ures)?|crash(?:es|ed|ing)?|time[sd]? ?out|timing out|"
    r"[45]\d\d(?:s)?(?=\W|$)|http\s?[45]\d\d)\b"
)
_BILLING_ERROR = _lower(
    r"\b(?:charged (?:twice|double|\d+ times|(?:several|multiple) times)|double[- ]charged|"
    r"(?:\d+|multiple|several) (?:separate |duplicate |extra )?charges)\b"
)
_MEDIUM_PROBLEM = _lower(
    r"\b(?:can'?t|cannot|can not|couldn'?t|unable|won'?t|wouldn'?t|doesn'?t|does not|isn'?t|is not|"
    r"aren'?t|are not|didn'?t|did not|not (?:working|loading|receiving|arriving|syncing|showing|saving|"
    r"sending|updating|firing|responding|possible|able)|no longer|stopped|broken|broke|down|stuck|hangs?|"
    r"hanging|freez\w*|frozen|blank|spins?|spinning|missing|disappeared|vanished|lost|deleted|gone|wrong|"
    r"incorrect|twice|double[- ]charged|overcharged|duplicated? (?:charges?|entries|records|rows|invoices|"
    r"payments)|duplicates|declined|rejected|invalid|denied|expired|"
    r"(?:was|were|got|been|being|am|are) (?:still |then )?(?:charged|billed)|"
    r"locked out|blocked|suspended|never (?:arrives?|arrived|finishes|loads|came|got)|keeps? \w+ing|"
    r"slow|sluggish|lag\w*|bounc\w+|corrupt\w*|mismatch\w*|outdated|unresponsive|nothing|none of|"
    r"nobody|no one|don'?t(?! know| understand| mind| want| need| see (?:how|where|why))|"
    # the same in the other languages tickets come in
    r"no (?:puedo|podemos|funciona|carga|aparece)|bloquead[oa]s?|sigue igual|ne (?:marche|fonctionne) "
    r"(?:pas|plus)|plant\w+|bloqu[ée]e?s?|(?:je|on) (?:ne )?(?:peux|peut) (?:pas|plus)|fehler\w*|"
    r"funktioniert (?:nicht|nicht mehr)|geht nicht|bricht \w* ?ab|blockiert|kann nicht|keine? \w+ mehr|"
    r"nicht mehr|gar kein\w*|stürzt \w* ?ab|absturz\w*|não (?:funciona|consigo|carrega|aparece)|sumiu|"
    r"erro|trava\w*|se cuelga|échou\w*|erreur\w*|lenteur|werkt niet|"
    r"(?:können|kann) (?:\w+ )?(?:keine|nicht)|eliminand\w*|borrand\w*|hacke\w*|ca(?:indo|iu)|parad[oa]|"
    r"ne \w+ (?:pas|plus|rien)|n'\w+ (?:pas|plus|rien)|"
    r"en boucle|in plaats van|statt|au lieu de|en vez de|em vez de|"
    r"kan (?:nu )?niet|niet (?:meer )?(?:mogelijk|bereikbaar))\b"
)
_WEAK_PROBLEM = _lower(
    r"\b(?:issues?|problems?|bugs?|weird|strange|odd|glitch\w*|not sure why|again|still|since|"
    r"charged|billed|overage|despite|even though|although|instead|suddenly|unexpected\w*|auto-?renew\w*|"
    r"anymore|lower than|higher than|different from|discrepanc\w+|inconsistent|off by|not what|"
    r"only (?:offer|support|allow|permit|show|have|let)s?|solo permite|ne permet que|nur)\b"
)
# What the customer did on purpose ("I deleted my account"), not what went wrong.
_SELF_ACTION = _lower(
    r"\b(?:i|we)(?:'ve| have| had)? (?:deleted|cancell?ed|removed|disabled|blocked|closed)\b"
)
_AREA = _lower(r"\b(?:" + "|".join(re.escape(area.lower()) for area in AREAS) + r")\b")
# Quoted text in a sentence (an error message) neither asks nor tries anything.
_PHONE = re.compile(r"\+?\(?\d[\d ().-]{7,}\d")
_QUOTED = re.compile(r"[\"“„«][^\"”“»]{1,200}[\"”“»]|(?<!\w)'[^']{1,120}'(?!\w)")
_ERROR_QUOTED = _lower(r"[\"“„«‘][^\"”“»’]{3,120}[\"”“»’]|\b[45]\d\d\b|\berror (?:code |message )?:?\s?\S*\d")

_PLEASANTRY = _lower(
    r"^(?:(?:i |we )?hope (?:you|this|all|everything|your)\b|how are you|how's it going|"
    r"(?:many |big )?thanks?(?: you)?\b|much appreciated|(?:i |we )?(?:really )?appreciate\b|"
    r"happy (?:monday|friday|new year|holidays)|have a (?:great|nice|good|lovely)\b|"
    r"looking forward\b|(?:kind |best |warm )?regards\b|cheers\b|sincerely\b|best wishes\b|talk soon\b|"
    r"sorry (?:to bother|for the)\b|long time\b|(?:i |we )?(?:love|loved|enjoy|like)\b|"
    r"(?:great|awesome|amazing|fantastic|nice) (?:product|job|work|tool|app|team|update|release)\b|"
    r"big fan\b|congrat|merci\b|gracias\b|danke\b|obrigad[oa]\b|thx\b)"
)
_SMALL_TALK = _lower(
    r"\b(?:thanks for|thank you for|loved?|enjoy(?:ed)?|great|awesome|amazing|fantastic|congrat\w*|"
    r"offsite|vacation|holidays?|weekend|hope)\b"
)
# Who the customer is or how they feel: context, never the problem itself.
_CONTEXT = _lower(
    r"^(?:(?:i'?m|i am|we'?re|we are) (?:the|an?|on|using|with|based|in charge)\b|"
    r"(?:ik ben|wij zijn|we zijn|je suis|nous sommes|ich bin|wir sind|soy|somos|eu sou|nós somos)\b|"
    r"(?:our|my) account is (?:registered|on|under|with)\b|"
    r"(?:this is|it'?s|that'?s|honestly|really) (?:\w+ )?(?:ridiculous|unacceptable|frustrating|annoying|"
    r"urgent|critical|important|a joke|not ok(?:ay)?)\b)"
)
# "We are a Belgian company, but you charge us Dutch VAT": context with the problem in it.
_CONTRAST = _lower(r"\b(?:but|however|yet|maar|mais|aber|pero|mas)\b")
_EVIDENCE_LEAD = _lower(
    r"^(?:the |our |see )?(?:logs?|build logs?|headers?|screenshots?|console|attached|attachments?|"
    r"here is|here's|please (?:find|see))\b"
)
_REPEATED = _lower(
    r"\b(?:(?:this is|it'?s|that'?s|for) the (?:second|third|fourth|fifth|\d+(?:st|nd|rd|th)) "
    r"(?:time|outage|incident|failure)|(?:second|third|fourth|fifth) (?:time|outage|incident) "
    r"(?:this|in)|keeps happening|same (?:problem|issue) again)"
)
_SO_NOW = _lower(r"\b(?:which means|as a result|because of this|so now)\b")
_THREAT = _lower(
    r"\b(?:alternatives?|competitor|another vendor|cancel (?:our|my|the)|threatening|churn|unless|"
    r"if this isn'?t|chargeback)\b"
)

# What the customer already did: a past-tense action with "I"/"we" (or none, "Tried X"), "already",
# "didn't help", contacting support before.
_TRIED_VERBS = (
    r"(?:tried|attempted|restarted|rebooted|re-?started|power-?cycled|reinstalled|re-?installed|"
    r"uninstalled|cleared|flushed|purged|rolled back|reverted|downgraded|rotated|"
    r"regenerated|re-?generated|reset|re-?added|reconnected|re-?connected|re-?authenticated|"
    r"re-?authori[sz]ed|re-?linked|logged (?:out|in again)|signed (?:out|in again)|disabled|re-?enabled|"
    r"turned (?:it |them )?(?:off|on)|switched|checked|(?:double|triple)-?checked|verified|confirmed|tested|"
    r"followed|contacted|emailed|e-mailed|called|messaged|chatted|reached out|asked|opened (?:a|another) "
    r"(?:ticket|case)|raised (?:a|another) (?:ticket|case)|filed (?:a|another) (?:ticket|case)|"
    r"sent (?:you|support|your team|them|over|in)\b|sent (?:the |a |our |my )?(?:logs?|screenshots?|har|"
    r"details|files?|ticket|request)|whitelisted|allowlisted|re-?ran|re-?tried|retried|recreated|"
    r"re-?created|re-?imported|re-?deployed|redeployed|uploaded|re-?uploaded|re-?synced|resynced|"
    r"re-?saved|deleted and re-?\w+)"
)
_TRIED = _lower(
    # One \b in front of all the branches: Python would otherwise try every branch at every position.
    r"\b(?:"
    r"(?:i|we|i'?ve|we'?ve|i have|we have|i had|we had|i'?d|we'?d|my (?:team|admin|colleague)|"
    r"our (?:team|admins?|it team|devops|engineers?|developers?|devs))"
    r"(?:\s+(?:already|also|even|both|then|just|all|again|first|each))*\s+" + _TRIED_VERBS + r"\b"
    r"|^(?:also |and |then |already |even )?(?:tried|restarted|rebooted|reinstalled|cleared|"
    r"flushed|rolled back|reverted|rotated|regenerated|reconnected|re-?authenticated|checked|"
    r"followed|contacted|emailed|switched|disabled|re-?enabled|logged out|restarting|rebooting|"
    r"reinstalling|clearing|reconnecting|re-?connecting|rolling back|reverting|rotating|regenerating|"
    r"logging out|switching|re-?enabling|downgrading)\b"
    r"|(?:tried|attempted)\b|already\s+(?:ha(?:ve|s)\s+)?" + _TRIED_VERBS + r"\b"
    r"|(?:didn'?t|did not|doesn'?t|does not|hasn'?t|has not) (?:help|fix|work|change anything|"
    r"make (?:a|any) difference|resolve|solve)"
    r"|no (?:difference|luck|change)\b|to no avail\b|same (?:result|error|thing|problem)\b"
    r"|follow(?:ed|ing) (?:the|your) (?:docs|documentation|guide|instructions|steps|article|kb|"
    r"help(?: center)?)\b"
    r"|incognito\b|(?:another|different|other) (?:browsers?|devices?|machines?|networks?)\b"
    r"|following up\b|my (?:second|third|fourth|\w+th) (?:email|message|ticket|request)\b"
    r"|sent (?:this|it) to\b|with no (?:reply|response|answer)\b"
    r"|(?:no (?:answer|response|reply) (?:to|from|yet)|haven'?t heard back|still waiting for (?:a|an|your) "
    r"(?:reply|response|answer)|je vous relance|aucune réponse|keine antwort|sin respuesta|sem resposta)\b"
    r"|(?:asked|told you|contacted you|wrote to you|emailed you) (?:\w+ )?(?:times|twice|before)\b"
    r"|(?:já )?abri (?:um )?chamado|não tive retorno|ya abrí (?:un )?(?:ticket|caso)"
    r"|j'ai (?:déjà )?(?:désinstallé|réinstallé|redémarré|vidé|essayé|supprimé)|on a (?:déjà )?essayé"
    r"|(?:haben|habe) (?:es )?(?:\w+ )?(?:versucht|neu gestartet|neu installiert|gelöscht)"
    r"|(?:ya )?(?:probé|reinicié|borré|he probado|hemos probado)|(?:já )?(?:tentei|reiniciei|limpei)\b"
    r")"
)
# Plans, offers and questions about attempts are not attempts ("should we restart it?").
_NOT_TRIED = _lower(
    r"\b(?:haven'?t|have not|hasn'?t|not yet|will|'ll|going to|gonna|should (?:i|we)|"
    r"do (?:i|we) (?:need|have) to|have you|did you|can you|could you|please|want to|would like to|"
    r"unless (?:i|we)|if (?:i|we))\s+"
    r"(?:\w+\s+){0,2}?(?:try|tried|restart\w*|reinstall\w*|clear\w*|roll\w*|rotat\w+|reset\w*|check\w*|"
    r"update\w*|contact\w*|regenerat\w+|reconnect\w*)\b"
)
_TRIED_SURE = _lower(r"\b(?:already|didn'?t help|did not help|no difference|to no avail|no luck)\b")
_CONTACTED = _lower(
    r"\b(?:contacted|emailed|e-mailed|called|chatted|messaged|asked|following up|wrote to|sent|ticket|"
    r"case|heard back|waiting for|no (?:answer|response|reply)|relance|réponse|antwort|respuesta|"
    r"resposta|chamado|retorno)\b"
)

# What the customer wants: a question, or request phrasing.
_REQUEST = _lower(
    r"\b(?:please|pls|plz|kindly|(?:we|i) (?:really |urgently |just )?(?:need|want|expect|require|"
    r"demand)|(?:we|i)'?d like|(?:we|i) would (?:like|appreciate)|would appreciate|requesting|"
    r"(?:we|i) request|(?:can|could|would|will) (?:you|someone|somebody|your team|anyone)|"
    r"can (?:we|i) (?:get|have)|could (?:we|i) (?:get|have)|let (?:me|us) know|tell (?:me|us)|"
    r"give (?:me|us)|send (?:me|us)|need (?:a|an|the|this|it|them|to|our|my)|escalate|call (?:me|us)|"
    r"get back to (?:me|us)|help (?:me|us)|is there (?:a|any) way|how (?:do|can|should) (?:i|we)|"
    r"would love|(?:we|i)'?d love|it would be (?:great|nice|helpful)|"
    r"bitte|svp|s'il vous plaît|pouvez[- ]vous|pourriez[- ]vous|merci de|por favor|pueden|podrían|"
    r"können sie|könnt ihr|graag|kunnen jullie|vocês podem|preciso|necesito|necesitamos|wir brauchen|"
    r"bloqueen|bloqueiem|bloquez|sperren sie|aidez|ayuden|ajudem|aguardo)\b"
)
# Asking us for something, in so many words (not "we need the file by Friday").
_ASKING = _lower(
    r"\b(?:please|pls|kindly|(?:i|we) request|requesting|(?:can|could|would|will) (?:you|someone)|"
    r"let (?:me|us) know|tell (?:me|us))\b"
)
_NOT_AN_ASK = _lower(
    r"^(?:please )?(?:find|see) (?:the )?(?:attached|below|enclosed)|^(?:let me know|tell me) if you "
    r"(?:need|have|want)|^(?:please )?(?:let (?:me|us) know|feel free)"
)
_RHETORICAL = _lower(
    r"^(?:seriously|really|what|why|how|are you (?:kidding|serious)|is this a joke|what the|"
    r"how is this (?:acceptable|ok|okay|possible)|what is going on|what's going on)\W*$"
    r"|\bhow is this (?:acceptable|ok|okay)\b|\bare you (?:kidding|serious)\b|\bis this a joke\b"
)
ASK_KINDS: dict[str, re.Pattern[str]] = {
    "refund": _lower(
        r"\b(?:refund\w*|reimburs\w+|rembours\w*|reembols\w*|erstatt\w*|money back|"
        r"reverse (?:the|this) charge|(?:charge|it) (?:is|isn'?t) reversed|chargeback)"
    ),
    "credit": _lower(r"\b(?:credits?|compensat\w+|discount|sla credit)\b"),
    "ETA": _lower(
        r"\b(?:eta|timeline|time ?frame|estimate|how long|when (?:will|can|do|is)|by when|status update|"
        r"any updates?|keep (?:us|me) (?:posted|updated))\b"
    ),
    "call": _lower(
        r"\b(?:call (?:me|us|back)|(?:a|quick|phone|teams|zoom) call|callback|on the phone|rückruf|"
        r"rappel(?:er|ez)?|llamada|llámenme|ligação|liguem|terugbellen|bel (?:me|ons)|"
        r"(?:a|set up a|schedule a) meeting|(?:talk|speak) (?:to|with) (?:someone|a human|a person|"
        r"an engineer|a manager))\b"
    ),
    "explanation": _lower(
        r"\b(?:why|explain\w*|explanation|root cause|rca|post-?mortem|what happened|"
        r"what (?:is|was) (?:the cause|going on))\b"
    ),
    "restore": _lower(
        r"\b(?:restor\w+|recover\w*|undo|get (?:them|it|those|these|our|my) \w*\s?back|back ?ups?|"
        r"(?:need|want) (?:them|it) back)\b"
    ),
    "cancellation": _lower(r"\b(?:cancel\w*|unsubscribe|close (?:my|our) account)\b"),
    "account action": _lower(
        r"\b(?:reactivat\w+|unlock\w*|unsuspend\w*|lock (?:the|my|our) account|remove \S+ from|"
        r"reset (?:my|our|the) \w+|revoke)\b"
    ),
    "escalation": _lower(r"\b(?:escalat\w+|manager|supervisor|someone senior)\b"),
    "fix": _lower(r"\b(?:fix\w*|resolv\w+|sorted|working again|back up|look into|investigat\w+)\b"),
    "feature": _lower(r"\b(?:add|support for|roadmap|feature)\b"),
}
_BY_WHEN = _lower(
    r"\b(?:by|before|within|until)\s+(?:\w+\s+){0,3}?(?:\d|today|tonight|tomorrow|monday|tuesday|"
    r"wednesday|thursday|friday|saturday|sunday|end of|eod|noon|morning|the)|\bin (?:an?|one|two|\d+) "
    r"(?:hours?|minutes?|days?)\b|\b(?:today|tonight|tomorrow|asap|immediately|right away|now)\b"
)

# What it costs the business: lost sales, legal exposure, a customer about to leave ...
_LOSS = _lower(
    r"\b(?:(?:revenue(?! (?:reports?|dashboard|page|tab|view|numbers|figures|totals))|"
    r"sales(?! (?:org|team|reps?|department|pipeline|view|dashboard|reports?))|orders|"
    r"compliance|regulat\w+|gdpr|hipaa|can-spam|pci|lawsuit|legal (?:exposure|risk|action)|sla|"
    r"cancel (?:our|my|the) (?:contract|subscription)|can'?t ship|(?:nothing|not) (?:has )?(?:been )?shipped|"
    r"(?:can'?t|cannot|unable to) (?:take|accept|process|receive) payments|customers (?:are|have been) "
    r"(?:noticing|complaining|calling|emailing)|alternatives?|competitor|chargeback|churn|"
    r"leaving a review|reputation|vendas|ventes|ventas|umsatz|bestellungen|commandes|pedidos|"
    r"migrar\w* a otr[ao]|otra solución|otro proveedor|autre (?:solution|prestataire|outil)|concurrent|"
    r"andere[nr]? (?:lösung|anbieter)|anbieter wechseln|outra solução|outro fornecedor|concorrente|"
    r"andere leverancier|overstappen|not (?:to )?renew|won'?t renew|no renovamos|pas renouveler|"
    r"nicht verlängern)\b"
    r"|(?:losing|lost|costing|cost(?:s|ing)? us)\s+(?:us\s+)?(?:about |roughly |around |~)?[$€£]?\s?\d"
    r"|(?:losing|perdendo|perdiendo|verlieren|perdons|perdemos|verliezen)\s+(?:\w+\s+){0,3}?(?:money|"
    r"dinheiro|dinero|geld|argent|reais|euros?|dollars|sales|vendas|ventas|customers|clientes|klanten)\b)"
    r"|[$€£]\s?\d[\d,.]*\s?[km]?\s?(?:/|per|an?|every)\s?(?:hour|day|minute|week)\b"
)
# ... or an event it threatens, counted only with a when: "payroll runs in two hours".
_DEADLINE_EVENT = _lower(
    r"\b(?:deadline|launch\w*|go-?live|demo|board meeting|(?:client|customer|sales) meeting|payroll|"
    r"month-?end|quarter(?:-end)?|finance close|year-?end|audit(?! log)\w*|contract|renewal|investors?|"
    r"support floor|shipments|deliveries|bookings|appointments|gehälter|salaires|salários|auszahlung|"
    r"paie|salaris\w*|uitbetal\w*|close|renovaci[oó]n|renouvellement|verlängerung|renovação)\b"
)
_WHEN_MARK = _lower(
    r"\b(?:today|tonight|tomorrow|this (?:week|month|morning|afternoon|evening|\w+day)|next (?:week|month|"
    r"\w+day)|in (?:an?|one|two|three|four|five|\d+|a few) (?:minutes?|hours?|days?|weeks?)|within|by|"
    r"before|until|due|deadline|(?:mon|tues|wednes|thurs|fri|satur|sun)day|\d{1,2}:\d{2}|\d{1,2}\s?(?:am|pm)|"
    r"heute|morgen|demain|aujourd'hui|mañana|hoy|amanhã|hoje|vandaag|donderdag|vrijdag|donnerstag|"
    r"freitag|jeudi|vendredi|over \w+ dagen|end of|eod|el día \d+|le \d+|am \d+\.|o dia \d+)\b"
)
# Business words that are often the problem itself: a consequence only outside the problem.
_CONSEQUENCE_WEAK = _lower(r"\b(?:checkout|production|orders?)\b")


def _is_consequence(low: str, *, weak: bool) -> bool:
    if _LOSS.search(low) or (_DEADLINE_EVENT.search(low) and _WHEN_MARK.search(low)):
        return True
    return weak and bool(_CONSEQUENCE_WEAK.search(low)) and len(low.split()) >= 3


# Who is affected: a count of people ("~200 internal users blocked"), a whole group ("our entire
# support floor (80 agents) is idle"), or "our customers can't check out".
_STATE = (
    r"(?:\s*\([^)]{0,40}\))?(?:\s+(?:who|that))?(?:\s+(?:are|were|is|was|have been|has been|had been|"
    r"remain|currently|all|now|still|completely|totally|effectively|ist|sind|est|sont|está|están|estão|"
    r"zijn|quasiment|almost|basically|practically|nearly|fast|casi|praticamente|nahezu|bijna)){0,3}\s+"
    r"(?:blocked|affected|impacted|locked out|idle|offline|stuck|down|waiting|sitting idle|blockiert|"
    r"betroffen|bloqu\w+|geblokkeerd|(?:not|no longer) (?:getting|receiving|seeing) (?:\w+ )?\w+|"
    r"(?:(?:unable|not able) to|can'?t|cannot|can not|couldn'?t|could not) \w+(?: (?:in|into|on|out|up)\b)?"
    r"(?: (?:the |their |our |any |a |to the )?(?!(?:and|or|but|since|for|because|right|now|at|anymore|"
    r"today|either|anything|as|if|when|until|from|with)\b)[\w-]+)?)"
)
_STATE_AT_END = _lower(_STATE + r"$")
_AFFECTED = (
    r"(?:users?|people|persons|customers?|clients?|agents?|employees?|staff|teams?|seats?|members?|"
    r"colleagues|coworkers|accounts?|stores?|shops?|locations?|sites?|branches|offices|developers|devs|"
    r"engineers|reps|drivers|students|teachers|patients|doctors|nurses|tenants|workspaces|admins|"
    r"managers|merchants|subscribers|technicians|operators|workers|personnes|utilisateurs|clientes|"
    r"personas|pessoas|persone|utenti|dipendenti|mitarbeite\w*|nutzer\w*|kunden|usuari[oa]s|usuários|"
    r"empleados|funcionários|medewerkers|gebruikers|klanten|salariés|employés)"
)
_NOT_PEOPLE_AFTER = (
    r"(?![\w'-])(?!\s+(?:records?|data|ids?|emails?|lists?|names?|fields?|support|success|service|"
    r"portal|numbers?|files?|orders?|invoices?|contacts?|tickets?|list|base|segment|profiles?|"
    r"settings?|permissions?|roles?))"
)
_NUMBER = (
    r"(?:\d(?:[\d,.]*\d)?\s?k?\+?|a (?:few|couple of|dozen)|dozens|hundreds|thousands|several|"
    r"multiple|many|most|half|both|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|fifteen|"
    r"twenty|thirty|forty|fifty|a hundred|muit[oa]s|much[oa]s|viele|alle|mehrere|tod[oa]s|tous|toutes|"
    r"plusieurs|vári[oa]s|vari[oa]s)"
)
_QUALIFIER = (
    r"(?:(?:all |none |every one )of (?:our |the |my )?)?"
    r"(?:~\s?|about |around |roughly |approx\.? |approximately |nearly |almost |over |more than |"
    r"at least |some |all )?"
)
_COUNT = _lower(
    rf"(?<![\w#$€£/:.-]){_QUALIFIER}{_NUMBER}(?:\s+of)?"
    r"(?:\s+(?:our|my|the|their|your|its|les|nos|des|los|las|nuestros|os|nossos|die|unsere|onze|de))?"
    r"(?:\s+(?!(?:on|in|at|the|for|with|to|from|by|per|and|or|a|an|files?|fichiers|archivos|arquivos|"
    r"dateien|bestanden|records?|data)\b)[\w-]+){0,2}?"
    rf"\s+{_AFFECTED}{_NOT_PEOPLE_AFTER}(?:{_STATE})?"
)
_WHOLE_GROUP = _lower(
    r"\b(?:all|every|entire|whole|none) (?:of )?(?:our |the |my |their )?(?:[\w-]+\s+){0,2}?"
    r"(?:team|company|org|organi[sz]ation|floor|department|staff|users|agents|employees|customers|"
    r"clients|workforce|office|region)\b" + rf"(?:{_STATE})?"
    r"|\b(?:nobody|no one|everyone|everybody) (?:on|in|at) (?:our|my|the) (?:[\w-]+\s+)?"
    r"(?:team|company|org|office|floor)\b" + rf"(?:{_STATE})?"
    r"|\b(?:unser (?:ganzes|gesamtes) team|toute (?:notre|l') ?équipe|todo (?:el|nuestro) equipo|"
    r"toda (?:a|nossa) equipe|ons hele team)(?:\s+\w+){0,4}?" + rf"(?:{_STATE})?"
)
_OUR_GROUP = _lower(
    r"\b(?:our|my) (?:[\w-]+\s+)?(?:customers|users|clients|agents|employees|staff|team|teams|admins)"
    + _STATE
)
# A count that makes it an incident rather than one person's problem.
_MANY = _lower(
    r"\b(?:[1-9]\d[\d,]*|\d+k|all|every|entire|whole|none|nobody|no one|everyone|everybody|many|most|"
    r"dozens|hundreds|thousands|several|multiple|half)\b"
)

# Since when.
_CLOCK = (
    r"\d{1,2}(?::\d{2}(?:\s?(?:am|pm))?|\s?(?:am|pm)\b|h\d{0,2})"
    r"(?:\s?(?:utc|gmt|cet|cest|bst|[pmce][sd]t|ist|aest)\b)?"
)
_PERIOD = r"(?:minutes?|mins|hours?|hrs?|days?|weeks?|months?)"
_SINCE = _lower(
    rf"\b(?:(?:since|as of|starting|started|began|beginning)\s+(?:at\s+|on\s+|about\s+|around\s+)?"
    rf"(?:{_CLOCK}(?!\d)|yesterday(?: (?:morning|afternoon|evening))?|today|this (?:morning|afternoon|"
    r"evening|week)|last (?:night|week|month|mon|tues|wednes|thurs|fri|satur|sun)\w*|"
    r"(?:mon|tues|wednes|thurs|fri|satur|sun)day(?: (?:morning|afternoon|evening|night))?|"
    r"(?:the|your|our) (?:last |latest |recent |new )?(?:update|release|deploy(?:ment)?|upgrade|"
    r"migration|maintenance|outage|change)(?: (?:last night|yesterday|this morning|on \w+))?|"
    r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}(?:st|nd|rd|th)?|"
    r"\d{4}-\d{2}-\d{2}|the \d{1,2}(?:st|nd|rd|th))"
    r"|(?:right )?after (?:the|your|our) (?:last |latest |recent |new |scheduled )?(?:update|release|"
    r"deploy(?:ment)?|upgrade|migration|maintenance(?: window)?|outage|change)"
    r"(?: (?:last night|yesterday|this morning|on \w+))?"
    rf"|for (?:the (?:past|last) (?:\d+\s+|few\s+|couple of\s+|several\s+)?{_PERIOD}|"
    rf"(?:over |about |almost |more than |nearly |at least )?(?:\d+|an?|one|two|three|four|five|six|"
    rf"several|a few|a couple of)\s+{_PERIOD})(?: now| straight| in a row)?"
    rf"|(?:\d+|an?|one|two|three|several|a few)\s+{_PERIOD}\s+ago"
    r"|(?:há|hace) (?:\d+|uns|unos) (?:minutos|horas|dias|días|semanas)"
    r"|all (?:day|morning|afternoon|week|night)\b"
    r"|depuis (?:\d{1,2}h\d{0,2}|ce matin|hier|ce midi|(?:la|le) (?:dernière |dernier )?\w+(?: à jour)?|"
    r"(?:\d+|deux|trois|quatre|cinq|plusieurs) (?:minutes|heures|jours|semaines))"
    r"|seit (?:heute \w+|gestern|\w+tag|\d{1,2}(?::\d{2})? uhr|"
    r"(?:ca\. |etwa )?\d+ (?:minuten|stunden|tagen|wochen)|der \w+)"
    r"|na de (?:laatste )?update(?: van \w+(?: \w+)?)?"
    r"|desde (?:ontem|hoje|ayer|hoy|esta manhã|esta mañana|(?:as|las) \d{1,2}(?::\d{2})?h?|(?:a|la|o|el) "
    r"(?:última |ultima )?(?:atualização|actualización|update)))"
)
_STARTED = _lower(r"\b(?:since|as of|started|began|depuis|seit|desde) \S")
_WHEN_BARE = _lower(
    r"\b(?:this morning|last night|yesterday(?: (?:morning|afternoon|evening))?|"
    r"on (?:the )?\d{1,2}(?:st|nd|rd|th)|on (?:mon|tues|wednes|thurs|fri|satur|sun)day|"
    rf"(?:at|around|from) {_CLOCK}(?!\d))"
)
_ONGOING = _lower(
    r"\b(?:stopped|started|began|broke|went down|has been|have been|keeps?|still|not working|down|"
    r"failing|fails|can'?t|cannot|unable|missing|blocked)\b"
)
_CLAUSE_SPLIT = re.compile(
    r"[,;:()]|\s[-–—]\s|\s(?=and\s)|\s(?=(?:but|so|because|which|while|as)\s+(?:we|our|i|my|the|this|it|"
    r"they|their|every|now|means)\b)",
    re.IGNORECASE,
)
_CLAUSE_LEAD = re.compile(
    r"^(?:and|but|so|because|which means|which|while|as|also|plus|this means|that means|meaning)\s+",
    re.IGNORECASE,
)
_I = re.compile(r"I(?:'|’|\b)")
_DETERMINER = re.compile(r"^(?:the|our|my|a|an|their)\s+")

# Evidence: what the customer saw or sent.
_EVIDENCE = _lower(
    r"\b(?:(?:logs? (?:show|shows|say|says|attached|from|below|here)|(?:attached|the|our|server|console|"
    r"error|browser|app|delivery|build|access|nginx) logs?\b(?! ?(?:in|into|on|out)\b)|log file|console|"
    r"screenshots?|screen recording|video|har|request[- ]?id|trace[- ]?id|correlation[- ]?id|req_\w+|"
    r"stack ?trace|traceback|status page|error (?:code|message)|attached|attachments?|shows?|showing|says|"
    r"saying|(?:returns?|returned|returning|responds?|responded) (?:with )?(?:a |an |the )?(?:errors?|\d+|"
    r"status|code|invalid|empty|null|nothing|blank)|response|curl|message reads)\b|[45]\d\d(?:s)?\b|"
    r"inv-?\d+|https?://\S+|v?\d+\.\d+\.\d+\b)|(?<![\w])#\d{4,}|(?<![\w/])/[\w-]+(?:/[\w.-]+)+"
)
_SCREENSHOT = _lower(r"\b(?:screenshots?|screen recording|video|har|attached)\b")
_LOG_ERROR = re.compile(
    r"(?:\b(?:ERROR|FATAL|CRITICAL|SEVERE|failed|refused|denied|timed? ?out|[45]\d\d)\b|"
    r"[Ee]rrors?\b|Exception\b|Violation\b|Fault\b)"
)
_LOG_NOISE = re.compile(r"^(?:Traceback \(most recent call last\)|File \"|at )")

# For the next steps.
_SLOW = _lower(
    r"\b(?:slow\w*|takes? (?:\w+ )?(?:a )?(?:minutes?|seconds|forever|ages)|lag\w*|sluggish|lent\w*|"
    r"lenteur|langsam|traag|lento|lentissim\w*)\b"
)
# What a "data loss" is about: "I lost my phone" is not one.
_DATA = _lower(
    r"\b(?:data|records?|files?|contacts?|projects?|invoices?|orders?|emails?|documents?|tickets?|entries|"
    r"rows|items|deals?|tasks?|notes?|backups?|daten|données|datos|dados|gegevens)\b"
)
_GONE = _lower(
    r"\b(?:lost|deleted|gone|disappeared|vanished|wiped|overwr\w+|missing|removed|verloren|gelöscht|"
    r"perdu\w*|supprimé\w*|perdid\w*|borrad\w*|apagad\w*|sumi\w+|kwijt|verdwenen)\b"
)


# --- reading each sentence once ----------------------------------------------------------------


@dataclass(frozen=True)
class _Sentence:
    text: str
    low: str  # folded, the same length as text
    index: int
    problem: float  # how strongly it says something is wrong
    rank: float  # how good a problem statement it is (problem, less what it says besides)
    tried: bool
    ask: float
    ask_kinds: tuple[str, ...]
    chat: bool  # greeting, thanks, small talk
    context: bool  # who the customer is, how they feel
    consequence: bool
    evidence: bool


def _read(sentences: list[str], errors: Sequence[str], signals: Iterable[str]) -> list[_Sentence]:
    strong = _strong_signals(signals)
    folded_errors = [error.lower() for error in errors]
    read = []
    for index, text in enumerate(sentences):
        low = _fold(text)
        scan = _PHONE.sub(lambda m: " " * len(m.group()), low)  # "+1 415 555 0199" is no HTTP 415
        problem = _problem_score(text, scan, folded_errors, strong)
        own = _QUOTED.sub(" ", low)
        ask, kinds = _ask_score(own)
        tried = _is_tried(own) and not (ask and own.endswith("?") and not _TRIED_SURE.search(own))
        chat = bool(_PLEASANTRY.match(low) or _SMALL_TALK.search(low)) and not (problem or tried or ask)
        context = bool(_CONTEXT.match(low)) and not _CONTRAST.search(low)
        consequence = _is_consequence(low, weak=False)
        rank = _rank(text, low, index, problem=problem, tried=tried, ask=ask, kinds=kinds) - consequence
        read.append(
            _Sentence(
                text=text,
                low=low,
                index=index,
                problem=problem,
                rank=rank,
                tried=tried,
                ask=ask,
                ask_kinds=kinds,
                chat=chat,
                context=context,
                consequence=consequence,
                evidence=bool(_EVIDENCE.search(scan)),
            )
        )
    return read


def _strong_signals(signals: Iterable[str]) -> list[re.Pattern[str]]:
    # Only a signal the scorer saw somewhere in the ticket can be in one of its sentences.
    seen = set(signals)
    return [
        pattern
        for name in ("outage", "security", "data loss")
        if name in seen and (pattern := SIGNAL_PATTERNS.get(name)) is not None
    ]


def _problem_score(text: str, low: str, errors: Sequence[str], strong: Sequence[re.Pattern[str]]) -> float:
    score = -1.5 if _SELF_ACTION.search(low) else 0.0
    if any(pattern.search(text) for pattern in strong):
        score += 3
    if any(error in low for error in errors) or _ERROR_WORDS.search(low) or _BILLING_ERROR.search(low):
        score += 2.5
    medium = len(_MEDIUM_PROBLEM.findall(low))
    score += 1.5 * (medium >= 1) + 0.5 * (medium >= 2)
    if score <= 0 and _WEAK_PROBLEM.search(low):
        score += 1
    if score > 0 and _AREA.search(low):
        score += 1
    return max(score, 0.0)


def _rank(
    text: str, low: str, index: int, *, problem: float, tried: bool, ask: float, kinds: tuple[str, ...]
) -> float:
    score = problem
    if tried:
        score -= 2
    if ask:
        # A question or a request for something is the ask; a "we need those numbers" is not.
        score -= 3 if kinds or text.endswith("?") else 1
    if _THREAT.search(low):
        score -= 2
    if _EVIDENCE_LEAD.match(low):
        score -= 2
    if _REPEATED.search(low):
        score -= 1.5  # "This is the third outage this month" says how often, not what is wrong
    group = _COUNT.search(low) or _WHOLE_GROUP.search(low)
    if group and len(text.split()) <= 8:
        score -= 1.5  # "~200 users blocked." is the impact, not the problem
    elif group and problem and _STATE_AT_END.search(group.group(0)):
        score += 1  # "About 200 of our agents can't log in since 09:14" says what and whom
    if problem and _STARTED.search(low):
        score += 0.5  # a failure with a start time is the failure itself
    if len(text.split()) <= 3:
        score -= 2  # "Error 502." names the error; the sentence around it says what fails
    if _SO_NOW.search(low):
        score -= 1
    return score - 0.05 * index


def _ask_score(low: str) -> tuple[float, tuple[str, ...]]:
    question = low.rstrip().endswith("?")
    request = bool(_REQUEST.search(low))
    if not (question or request) or _NOT_AN_ASK.search(low):
        return 0.0, ()
    kinds = tuple(kind for kind, pattern in ASK_KINDS.items() if pattern.search(low))
    if question and not request and not kinds and _RHETORICAL.search(low):
        return 0.0, ()
    return 1.0 + 2.0 * bool(kinds) + request + question + bool(_BY_WHEN.search(low)), kinds


def _is_tried(low: str) -> bool:
    if not _TRIED.search(low):
        return False
    return bool(_TRIED_SURE.search(low)) or not _NOT_TRIED.search(low)


# --- problem and ask ---------------------------------------------------------------------------


def _problem(read: list[_Sentence]) -> list[_Sentence]:
    candidates = sorted(
        (s for s in read if s.problem > 0 and not s.chat and s.rank > 0), key=lambda s: s.rank, reverse=True
    )
    if not candidates:
        # No sentence says "fails", "can't" or the like: the first plain statement about the matter.
        plain = (
            s
            for s in read
            if not (s.chat or s.ask or s.tried or s.context or s.consequence or _THREAT.search(s.low))
            and len(s.text.split()) >= 5
        )
        return [first] if (first := next(plain, None)) else []
    best = candidates[0]
    return [best, *(s for s in candidates[1:2] if s.rank >= max(1.5, best.rank - 2.5) and not s.ask)]


def _problem_text(problem: list[_Sentence], subject: str, signals: Iterable[str]) -> str:
    if problem:
        return " ".join(s.text for s in problem)
    if subject.strip() and _problem_score(subject, _fold(subject), (), _strong_signals(signals)) > 0:
        return f'Only the subject says what is wrong: "{subject.strip()}".'
    return NOT_STATED


def _ask(read: list[_Sentence], problem: list[_Sentence]) -> list[_Sentence]:
    asks = sorted((s for s in read if s.ask), key=lambda s: (-s.ask, s.index))
    # A problem statement with a "we need" in it is the ask only when nothing else asks.
    asks = [s for s in asks if s not in problem] or asks
    return [asks[0], *(s for s in asks[1:2] if s.ask_kinds and s not in problem)] if asks else []


# --- impact ------------------------------------------------------------------------------------


def _phrase(text: str, *, starts_sentence: bool) -> str:
    """A phrase to go mid-line. Only a sentence's first word loses its capital ("Our support floor
    opens" -> "our support floor opens"); "Google Pay" after a comma keeps it, and so do "I" and "SSO"."""
    text = " ".join(text.split()).strip(" ,;:.!?-")
    first = text.split(" ", 1)[0]
    if starts_sentence and first[:1].isupper() and first[1:] == first[1:].lower() and _I.match(first) is None:
        text = text[0].lower() + text[1:]
    return text


def _who(read: list[_Sentence]) -> str:
    """Who is affected, as the ticket says it: best a count of people with what happens to them."""
    told = [s for s in read if not s.chat and not s.context]
    text, low = " ".join(s.text for s in told), " ".join(s.low for s in told)
    starts, at = set(), 0
    for s in told:
        starts.add(at)
        at += len(s.text) + 1
    mentions = [m for pattern in (_COUNT, _WHOLE_GROUP, _OUR_GROUP) for m in pattern.finditer(low)]
    if not mentions:
        return ""
    best = max(
        mentions,
        key=lambda m: (
            bool(_STATE_AT_END.search(m.group(0))),
            any(c.isdigit() for c in m.group(0)),
            -m.start(),
        ),
    )
    return _phrase(text[best.start() : best.end()], starts_sentence=best.start() in starts)


def _since(read: list[_Sentence], problem: list[_Sentence]) -> str:
    # When it started, from sentences about the problem ("I emailed you two weeks ago" is not it).
    about = [s for s in read if s in problem or (s.problem and not s.tried and not s.ask)]
    for s in about:
        if match := _SINCE.search(s.low):
            return _phrase(s.text[match.start() : match.end()], starts_sentence=match.start() == 0)
    for s in about:
        match = _WHEN_BARE.search(s.low)
        if match and _ONGOING.search(s.low):
            phrase = _phrase(s.text[match.start() : match.end()], starts_sentence=match.start() == 0)
            if re.match(r"(?:at|around|from)\b", phrase):
                return phrase
            return f"since {phrase.removeprefix('on ')}"
    return ""


def _consequences(read: list[_Sentence], problem: list[_Sentence]) -> list[str]:
    found: list[str] = []
    for s in read:
        weak = s not in problem
        if (
            s.chat
            or s.text.endswith("?")
            or not (s.consequence or (weak and _is_consequence(s.low, weak=True)))
        ):
            continue
        for number, clause in enumerate(_CLAUSE_SPLIT.split(s.text)):
            clause = _CLAUSE_LEAD.sub("", (clause or "").strip())
            low = _fold(clause)
            if len(clause.split()) < 3 or not _is_consequence(low, weak=weak) or _ASKING.search(low):
                continue  # "I request deletion under GDPR" asks; it doesn't say what it costs
            words = clause.split()
            if len(words) > 14:
                hit = _LOSS.search(low) or _DEADLINE_EVENT.search(low) or _CONSEQUENCE_WEAK.search(low)
                at = len(clause[: hit.start()].split()) if hit else 0
                start = max(0, min(at - 5, len(words) - 12))
                more = " …" if start + 12 < len(words) else ""
                clause = ("… " if start else "") + " ".join(words[start : start + 12]) + more
            phrase = _phrase(clause, starts_sentence=number == 0)
            if phrase and not _overlaps(phrase, found):
                found.append(phrase)
            if len(found) == 3:
                return found
    return found


def _overlaps(phrase: str, others: list[str]) -> bool:
    def bare(text: str) -> str:
        return _DETERMINER.sub("", text.lower()).strip()

    low = bare(phrase)
    return any(other and (low in bare(other) or bare(other) in low) for other in others)


def _impact(who: str, since: str, read: list[_Sentence], problem: list[_Sentence], tier: str) -> str:
    """One line: who is affected; the tier; since when; what it costs the business."""
    tier_part = f"{tier} customer" if tier else ""
    consequences = []
    for phrase in _consequences(read, problem):
        if who and who.lower() in phrase.lower() and len(phrase.split()) <= 12:
            who = phrase  # "about 30 stores are not getting order updates" says more than "about 30 stores"
        elif not _overlaps(phrase, [who, since]):
            consequences.append(phrase)
    if not (who or since or consequences):
        return f"{tier_part.capitalize()}; no other impact stated in the ticket." if tier_part else NOT_STATED
    line = "; ".join(part for part in (who, tier_part, since, *consequences[:2]) if part)
    return line[0].upper() + line[1:] + ("" if line.endswith("…") else ".")


# --- evidence ----------------------------------------------------------------------------------


def _evidence(read: list[_Sentence], problem: list[_Sentence], logs: list[str], specifics: Specifics) -> str:
    sentences = [
        s.text
        for s in read
        if s.evidence
        and s not in problem
        and not s.chat
        and not (s.tried and not _ERROR_WORDS.search(s.low))
        and not (s.ask and not s.problem)
    ]
    parts = list(dict.fromkeys(sentences))[:3]
    useful = [line for line in logs if not _LOG_NOISE.match(line)]
    errors_in_logs = [line for line in useful if _LOG_ERROR.search(line)] or useful
    if errors_in_logs:
        clipped = [
            line if len(line) <= MAX_LOG_LINE_CHARS else line[: MAX_LOG_LINE_CHARS - 1] + "…"
            for line in errors_in_logs[:2]
        ]
        parts.append(f"Pasted log: {' | '.join(clipped)}")
    if not parts:
        named = [*specifics.errors, *specifics.invoices, *specifics.orders]
        if named:
            parts.append(f"Named in the ticket: {', '.join(named[:4])}.")
    return " ".join(parts) or "None provided in the ticket."


# --- next steps --------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Stated:
    """What the ticket states, as far as the next steps need it."""

    ask_kinds: frozenset[str]
    since: str
    times: tuple[str, ...]  # clock times written in the customer's sentences (not in pasted logs)
    many_blocked: bool
    data_gone: bool
    error: bool
    slow_only: bool
    screenshot: bool
    contacted_before: bool


def _next_steps(
    category: str, urgency: UrgencyAssessment, specifics: Specifics, stated: _Stated
) -> list[str]:
    signals = urgency.signals
    steps: list[str] = []
    if signals.has("security"):
        steps.append(
            "Lock the affected account, revoke its sessions and API keys, and involve the security team."
        )
    if (signals.has("data loss") and stated.data_gone) or "restore" in stated.ask_kinds:
        steps.append(
            "Check backups and the change history for the missing records before anything else is changed."
        )
    if signals.has("outage") or signals.has("many users blocked") or stated.many_blocked:
        area = specifics.area or "affected service"
        steps.append(
            f"Check the health of the {area} and recent deploys; open an incident if it is not already open."
        )
    # "SSLHandshakeException" and "SSLHandshakeException: Received fatal alert" are one error.
    errors = [e for e in specifics.errors if not any(o != e and o in e for o in specifics.errors)]
    if errors:
        when = f" around {stated.times[0].removeprefix('since ')}" if stated.times else ""
        steps.append(f"Search the logs for {', '.join(errors[:2])}{when} and find the failing component.")
    if category == "billing" or stated.ask_kinds & {"refund", "credit"}:
        invoice = ", ".join(specifics.invoices[:2]) or "the customer's recent invoices"
        steps.append(
            f"Verify the charges on {invoice} in the billing system before promising any refund or credit."
        )
    if category == "account" and not signals.has("security"):
        steps.append("Check the account's login, SSO and API key history for what changed.")
    if signals.has("churn threat") or signals.enterprise:
        steps.append("Tell the account manager and agree who owns the relationship until this is resolved.")
    if stated.contacted_before:
        steps.append("Read the customer's earlier tickets so they don't have to explain it again.")
    if category == "bug":
        # Ask only for what the ticket leaves out; a slow page has no error message to give.
        missing = [
            what
            for what, known in (
                ("the exact error", stated.error or stated.slow_only),
                ("when it started", bool(stated.since)),
                ("a screenshot", stated.screenshot),
            )
            if not known
        ]
        if missing:
            steps.append(f"Ask the customer for {_listed(missing)}.")
    if "call" in stated.ask_kinds:
        steps.append("Offer the call the customer asked for, or say when one can happen.")
    steps.append(_reply_step(stated.ask_kinds))
    return steps


def _listed(items: list[str]) -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


def _reply_step(ask_kinds: frozenset[str]) -> str:
    wanted = [
        promise
        for kind, promise in (
            ("ETA", "an ETA or the time of the next update"),
            ("explanation", "what is known about the cause"),
            ("refund", "whether the refund is possible"),
            ("credit", "whether a credit applies"),
            ("restore", "whether the data can be restored"),
        )
        if kind in ask_kinds
    ]
    if not wanted:
        return "Reply to the customer with what is being done and when they will hear from us next."
    return f"Reply to the customer with what is being done and {_listed(wanted)}, as they asked."


# --- the brief ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Brief:
    summary: str
    problem: str
    impact: str
    evidence: str
    tried: str
    ask: str
    next_steps: list[str]

    def as_json(self) -> str:
        return json.dumps(self.__dict__)


def write_brief(ticket: TicketText) -> Brief:
    return compose_brief(ticket, category=classify(ticket).category, urgency=assess(ticket))


def compose_brief(ticket: TicketText, *, category: str, urgency: UrgencyAssessment) -> Brief:
    """The brief for a ticket the classifier and the urgency scorer have read (pure, no models)."""
    body = _read_body(ticket.body)
    own_words = TicketText(
        subject=ticket.subject,
        body="\n".join([*body.sentences, *body.log_lines]),
        customer_tier=ticket.customer_tier,
    )
    specifics = extract_specifics(own_words)
    signals = urgency.signals.seen
    read = _read(body.sentences, specifics.errors, signals)
    problem = _problem(read)
    tried = [s for s in read if s.tried][:3]
    asks = _ask(read, problem)
    who = _who(read)
    since = _since(read, problem)
    stated = _Stated(
        ask_kinds=frozenset(kind for s in asks for kind in s.ask_kinds),
        since=since,
        times=tuple(t for t in specifics.times if any(t in s.text for s in read)),
        many_blocked=bool(_MANY.search(_fold(who))) and bool(_STATE_AT_END.search(_fold(who))),
        data_gone=any(_DATA.search(s.low) and _GONE.search(s.low) for s in read),
        error=bool(specifics.errors or body.log_lines)
        or any(s.problem and _ERROR_QUOTED.search(s.low) for s in read),
        slow_only=any(_SLOW.search(s.low) for s in problem)
        and not any(_ERROR_WORDS.search(s.low) for s in problem),
        screenshot=bool(body.log_lines) or any(_SCREENSHOT.search(s.low) for s in read),
        contacted_before=any(_CONTACTED.search(s.low) for s in tried),
    )
    tier = ticket.customer_tier.strip().lower()
    who_reports = f"{tier.capitalize()} customer" if tier else "Customer"
    lead = f" {problem[0].text}" if problem else ""
    summary = (
        f'{who_reports} reports "{ticket.subject.strip() or "a problem"}" ({category}, urgency '
        f"{urgency.score}/5).{lead} Signals: {', '.join(signals) or 'none'}."
    )
    return Brief(
        summary=summary,
        problem=_problem_text(problem, ticket.subject, signals),
        impact=_impact(
            who, since, read, problem, tier or ("enterprise" if urgency.signals.enterprise else "")
        ),
        evidence=_evidence(read, problem, body.log_lines, specifics),
        tried=" ".join(s.text for s in tried) or "Nothing stated in the ticket.",
        ask=" ".join(s.text for s in asks) or NOT_STATED,
        next_steps=_next_steps(category, urgency, specifics, stated),
    )


class BriefWriter:
    slug = "local/brief-writer"
    tasks = frozenset({TASK})

    def reply(self, messages: Sequence[Message], *, task: str | None) -> str:
        if task != TASK:
            raise ValueError(f"{self.slug} only serves {TASK}, not {task!r}")
        return write_brief(ticket_from_messages(messages)).as_json()
