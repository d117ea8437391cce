"""The pieces of digest.web.security on their own: the sliding window and the CSRF tokens."""

from __future__ import annotations

from digest.web.security import CsrfTokens, SlidingWindowLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_window_allows_the_limit_then_refuses() -> None:
    limiter = SlidingWindowLimiter(3, 60, clock=FakeClock())
    assert [limiter.hit("ip") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit("other-ip")


def test_hits_leave_the_window_as_time_passes() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(2, 60, clock=clock)
    limiter.hit("ip")
    clock.now += 30
    limiter.hit("ip")
    assert not limiter.hit("ip")
    clock.now += 31  # the first hit is now older than the window
    assert limiter.hit("ip")
    assert not limiter.hit("ip")


def test_refused_attempts_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = SlidingWindowLimiter(1, 60, clock=clock)
    limiter.hit("ip")
    for _ in range(10):
        clock.now += 5
        limiter.hit("ip")
    clock.now += 11
    assert limiter.hit("ip")


def test_memory_stays_bounded() -> None:
    limiter = SlidingWindowLimiter(1, 60, clock=FakeClock(), max_keys=100)
    for n in range(1000):
        limiter.hit(f"ip-{n}")
    assert len(limiter._hits) <= 100


def test_a_csrf_token_is_good_only_with_its_own_cookie() -> None:
    tokens = CsrfTokens("secret")
    cookie = tokens.new_cookie_value()
    token = tokens.form_token(cookie)
    assert tokens.is_valid(cookie, token)
    assert not tokens.is_valid(tokens.new_cookie_value(), token)
    assert not tokens.is_valid(cookie, None)
    assert not tokens.is_valid(None, token)
    assert not CsrfTokens("other secret").is_valid(cookie, token)
