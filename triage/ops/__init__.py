"""Operations: health and readiness checks and Prometheus metrics. Reads only; never changes state."""
