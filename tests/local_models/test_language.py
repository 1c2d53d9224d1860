"""Language detection, offline, and the lower confidence of the local models outside their languages."""

from __future__ import annotations

import pytest

from tests.local_models.conftest import ask
from triage.local_models.language import TRAINED_LANGUAGES, detect_language

SAMPLES = {
    "en": "Our dashboard has been showing a blank page since this morning for everyone.",
    "de": "Seit heute Morgen zeigt unser Dashboard für alle Kollegen nur eine leere Seite an.",
    "fr": "Depuis ce matin, notre tableau de bord affiche une page blanche pour tout le monde.",
    "es": "Desde esta mañana nuestro panel muestra una página en blanco para todo el equipo.",
    "pt": "Desde hoje de manhã o nosso painel mostra uma página em branco para toda a equipe.",
    "it": "Da stamattina la nostra dashboard mostra una pagina bianca a tutto il team.",
    "nl": "Sinds vanochtend toont ons dashboard voor iedereen alleen een lege pagina.",
    "pl": "Od dzisiaj rana nasz panel pokazuje wszystkim tylko pustą stronę, prosimy o pomoc.",
}


@pytest.mark.parametrize("code", sorted(SAMPLES))
def test_a_ticket_of_a_sentence_is_detected_in_its_language(code: str) -> None:
    assert detect_language(SAMPLES[code]).code == code


def test_urls_numbers_and_ids_do_not_decide_the_language() -> None:
    text = "Bonjour, la facture INV-20331 https://app.example.com/billing/inv_8812 est fausse depuis le 3/11."
    assert detect_language(text).code == "fr"


@pytest.mark.parametrize("text", ["refund??", "cant login", "INV-2231 502 09:14", ""])
def test_too_short_to_tell_is_undetermined_and_counts_as_known(text: str) -> None:
    guess = detect_language(text)
    assert guess.code == ""
    assert guess.known_to_local_models


def test_the_trained_languages_are_known_and_others_are_not() -> None:
    assert all(detect_language(SAMPLES[c]).known_to_local_models for c in TRAINED_LANGUAGES)
    assert not detect_language(SAMPLES["pl"]).known_to_local_models


def test_local_models_are_less_sure_of_a_ticket_in_a_language_they_were_not_trained_on() -> None:
    """A Polish ticket gets half the confidence, so a cascade sends it to the next model."""
    english = "I was charged twice for my subscription this month, please refund the second payment."
    polish = "Zostałem obciążony dwa razy za subskrypcję w tym miesiącu, proszę o zwrot drugiej płatności."
    for task in ("classify_ticket", "urgency_detection"):
        known = ask(task, "Charged twice", english)
        unknown = ask(task, "Podwójna płatność", polish)
        assert unknown["confidence"] <= 0.5, (task, unknown)
        assert unknown["confidence"] < known["confidence"], (task, known, unknown)
