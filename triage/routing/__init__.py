"""The routing service: the only code that knows model names."""
