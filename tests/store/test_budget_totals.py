"""The running totals of `run_budgets` against a re-total of the rows, under random traffic."""

from __future__ import annotations

import random
import subprocess
import sys
from dataclasses import dataclass, field

import pytest

from autoalign.store import AttemptStatus, Reservation, Store


@dataclass
class Ask:
    """One ask as the model client makes it: a reservation, attempts one at a time, an end."""

    reservation: Reservation | None
    attempts: list[int] = field(default_factory=list)


def test_running_totals_match_the_rows_under_random_asks(db_url: str) -> None:
    rng = random.Random(8)
    with Store.open(db_url) as store:
        run_id = store.create_run(name="r", agenda_digest="r" * 64, config={}).id
        open_asks: list[Ask] = []
        for _ in range(120):
            action = rng.random()
            if action < 0.3 or not open_asks:
                reserved = rng.random() < 0.7
                hold = Reservation(tokens=rng.randint(10, 99), usd=rng.random() / 100)
                if reserved:
                    assert store.reserve_budget(run_id, hold, max_tokens=None,
                                                max_usd=None).granted
                open_asks.append(Ask(hold if reserved else None))
                continue
            ask = rng.choice(open_asks)
            if action < 0.6:  # a request: the previous one of the ask is finished first
                if ask.attempts:
                    status = rng.choice([AttemptStatus.FAILED, AttemptStatus.LOST])
                    store.finish_attempt(ask.attempts[-1], status,
                                         reserved=ask.reservation is not None)
                ask.attempts.append(store.begin_attempt(
                    run_id=run_id, role="w", model="m", step_key=None, cache_key=None,
                    est_tokens=rng.randint(1, 50), est_cost_usd=rng.choice([None, 0.01]),
                    reserved=ask.reservation is not None,
                ))
                continue
            open_asks.remove(ask)
            if action < 0.85 or not ask.attempts:  # booked
                store.record_call(
                    run_id=run_id, role="w", model="m", input_tokens=rng.randint(0, 40),
                    output_tokens=rng.randint(0, 40), cost_usd=rng.choice([None, 0.003]),
                    cache_hit=rng.random() < 0.1, attempt_ids=ask.attempts,
                    last_attempt=rng.choice(list(AttemptStatus)) if ask.attempts else None,
                    reservation=ask.reservation,
                )
            else:  # cut off: its last request lost, its reservation given back
                store.finish_attempt(ask.attempts[-1], AttemptStatus.LOST,
                                     reserved=ask.reservation is not None)
                if ask.reservation is not None:
                    store.release_budget(run_id, ask.reservation)
        # Asks still open are counted by their reservations (or their uncovered attempts).
        totals = store.budget_totals(run_id)
        held = [a.reservation for a in open_asks if a.reservation is not None]
        assert totals.reserved_tokens == sum(r.tokens for r in held)
        for ask in open_asks:  # finish them as a process killed now would be reconciled
            if ask.attempts and ask.reservation is not None:
                store.finish_attempt(ask.attempts[-1], AttemptStatus.PENDING, reserved=True)
            if ask.reservation is not None:
                store.release_budget(run_id, ask.reservation)
        usage = store.run_usage(run_id)
        totals = store.budget_totals(run_id)
        assert totals.spent_tokens == usage.input_tokens + usage.output_tokens
        assert totals.spent_usd == pytest.approx(usage.cost_usd)
        assert totals.unseen_tokens == usage.unseen_tokens
        assert totals.unseen_usd == pytest.approx(usage.unseen_usd)
        assert totals.reserved_tokens == 0 and totals.reserved_usd == pytest.approx(0.0, abs=1e-9)
        rebuilt = store.reconcile_budget(run_id)
        assert (rebuilt.spent_tokens, rebuilt.unseen_tokens) == (
            totals.spent_tokens, totals.unseen_tokens)


_RESERVER = """
import sys
from autoalign.store import Reservation, Store
url, run_id = sys.argv[1], int(sys.argv[2])
granted = 0
with Store.open(url) as store:
    for _ in range(30):
        check = store.reserve_budget(run_id, Reservation(tokens=10, usd=0.0),
                                     max_tokens=100, max_usd=None)
        granted += check.granted
print(granted)
"""


def test_processes_reserving_at_once_never_overshoot_the_budget(db_url: str) -> None:
    """Four processes, each trying 30 reservations of 10 tokens against a 100-token budget at
    the same time: exactly 10 are granted in all, however they interleave."""
    with Store.open(db_url) as store:
        run_id = store.create_run(name="r", agenda_digest="p" * 64, config={}).id
    procs = [
        subprocess.Popen([sys.executable, "-c", _RESERVER, db_url, str(run_id)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    granted = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        granted.append(int(out))
    assert sum(granted) == 10
    with Store.open(db_url) as store:
        assert store.budget_totals(run_id).reserved_tokens == 100
