"""Build the local tier's model cache ahead of time: ``python -m triage.local_models``.

Useful in an image build or a deploy step, so the first ticket after a start never waits for
training. Prints where the cache is and whether it was already up to date.
"""

from __future__ import annotations

import os
import time


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "triage_site.settings")
    import django

    django.setup()
    from triage.local_models import store

    started = time.perf_counter()
    models = store.load_or_train()
    path = store.cache_path(store.cache_dir(), models.data_hash)
    state = "trained and cached" if models.fresh else "already cached"
    print(f"local models {state} in {time.perf_counter() - started:.1f} s: {path}")


if __name__ == "__main__":
    main()
