"""How the soak sorts the downed model's requests by what its breaker knew (bench/soak.py)."""

from bench.soak import breaker_misses


def test_requests_in_flight_before_failures_return_are_the_breakers_learning_not_misses():
    # 5 requests leave before any failure is back; the breaker opens at t=1.0 until t=11
    calls = [(0.00, 0.9), (0.01, 0.9), (0.02, 0.95), (0.03, 0.95), (0.04, 0.96)]
    samples = [(0.5, 0.0), (1.0, 11.0), (5.0, 11.0)]

    assert breaker_misses(calls, samples, threshold=3) == {"learning": 5, "trial": 0, "missed": 0}


def test_a_request_while_open_or_after_three_failures_came_back_is_missed():
    samples = [(0.0, 0.0), (2.0, 11.0)]
    # the 4th leaves after 3 failures came back, the 5th while the breaker is open
    calls = [(0.0, 0.1), (0.1, 0.2), (0.2, 0.3), (1.0, 1.1), (3.0, 3.1)]

    assert breaker_misses(calls, samples, threshold=3) == {"learning": 3, "trial": 0, "missed": 2}


def test_one_trial_per_cooldown_end_and_a_lost_record_starts_learning_again():
    # open until 5, a trial and a second request at 5.6-5.7, re-opened, the record gone at 8 (Redis restart)
    samples = [(0.0, 0.0), (1.0, 5.0), (5.5, 5.0), (6.0, 26.0), (8.0, None)]
    calls = [(0.0, 0.5), (0.1, 0.5), (0.2, 0.5), (5.6, 5.9), (5.7, 5.9), (9.0, 9.5), (9.1, 9.5)]

    assert breaker_misses(calls, samples, threshold=3) == {"learning": 5, "trial": 1, "missed": 1}


def test_a_failure_that_never_came_back_teaches_the_breaker_nothing():
    # three requests in flight, one of them interrupted by a SIGKILL: only two failures came back
    calls = [(0.0, 0.2), (0.0, 0.2), (0.0, float("inf")), (1.0, 1.1)]

    assert breaker_misses(calls, [(0.0, 0.0)], threshold=3) == {"learning": 4, "trial": 0, "missed": 0}
