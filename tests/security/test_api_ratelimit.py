"""Authentication failures are limited per client IP: 10 a minute, then 429 until the window passes."""

from __future__ import annotations

from gateway.auth import AuthRepo
from gateway.auth.ratelimit import FailureLimiter
from tests.dashboard.seed import bearer, client_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_blocks_after_the_limit_and_forgets_after_the_window() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(10, 60.0, clock)
    for _ in range(9):
        limiter.record_failure("10.0.0.1")
        clock.now += 1
    assert limiter.blocked_for("10.0.0.1") == 0
    limiter.record_failure("10.0.0.1")
    assert limiter.blocked_for("10.0.0.1") > 0
    assert limiter.blocked_for("10.0.0.2") == 0
    clock.now += 51  # the first failure is now 60 s old
    assert limiter.blocked_for("10.0.0.1") == 0


def test_limiter_memory_is_bounded_under_address_spray() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(3, 60.0, clock, max_clients=100)
    for i in range(1000):
        limiter.record_failure(f"10.1.{i // 256}.{i % 256}")
    assert len(limiter._failures) <= 100


def test_api_answers_429_after_ten_failures_even_for_a_good_token(gateway_store) -> None:  # type: ignore[no-untyped-def]
    token = AuthRepo(gateway_store.db).add_user("admin", "admin")
    attacker = client_for(gateway_store, "tokens", ip="192.0.2.7")
    codes = [attacker.get("/api/v1/lots", headers=bearer(f"jk_{i:012d}_{'x' * 43}")).status_code for i in range(10)]
    assert codes == [401] * 10
    blocked = attacker.get("/api/v1/lots", headers=bearer(token))
    assert blocked.status_code == 429 and int(blocked.headers["retry-after"]) > 0
    login = attacker.post("/api/v1/auth/login", json={"token": token})
    assert login.status_code == 429
    neighbour = client_for(gateway_store, "tokens", ip="192.0.2.8")
    assert neighbour.get("/api/v1/lots", headers=bearer(token)).status_code == 200


def test_login_form_failures_count_too(gateway_store) -> None:  # type: ignore[no-untyped-def]
    client = client_for(gateway_store, "tokens", ip="198.51.100.1")
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    codes = [client.post("/login", content="token=guess", headers=form).status_code for _ in range(11)]
    assert codes[:10] == [401] * 10 and codes[10] == 429
