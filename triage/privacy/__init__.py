"""Customer-data protection: masking what must not reach a third-party model."""
