"""One process at a time executes a run: a live owner is refused, a dead one is taken over."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

import pytest
from sqlalchemy import update

from autoalign.errors import RunBusyError
from autoalign.store import Store
from autoalign.store._runs import Owner
from autoalign.store._schema import Run


def _set_owner(store: Store, run_id: int, owner: str | None) -> None:
    with store.engine.begin() as conn:
        conn.execute(update(Run).where(Run.id == run_id).values(owner=owner))


def test_claim_marks_this_process_and_finishing_clears_it(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d", config={})
    store.claim_run(run.id)
    assert store.get_run(run.id).owner == str(Owner.me())
    assert Owner.parse(str(Owner.me())) == Owner.me()
    assert Owner.me().pid == os.getpid() and Owner.me().host == socket.gethostname()
    store.claim_run(run.id)  # claiming again from the same process is fine
    store.set_run_status(run.id, "completed")
    assert store.get_run(run.id).owner is None


def test_a_live_owner_on_this_host_is_refused(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d", config={})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        _set_owner(store, run.id, str(Owner(socket.gethostname(), other.pid, _ticks(other.pid))))
        with pytest.raises(RunBusyError, match=f"process {other.pid} on this host"):
            store.claim_run(run.id)
        # --takeover is for owners on other hosts; a live one here is never taken over.
        with pytest.raises(RunBusyError, match="only applies to a process on another host"):
            store.claim_run(run.id, takeover=True)
    finally:
        other.kill()
        other.wait()
    # Now that it is dead (as after a SIGKILL), the run is taken over: that is how it resumes.
    store.claim_run(run.id)
    assert store.get_run(run.id).owner == str(Owner.me())


def _ticks(pid: int) -> int:
    from autoalign.store._runs import _start_ticks

    ticks = _start_ticks(pid)
    assert ticks is not None
    return ticks


def test_a_reused_pid_is_not_mistaken_for_the_owner(store: Store) -> None:
    """A crashed owner's pid may be reused by an unrelated process: its start time differs."""
    run = store.create_run(name="r", agenda_digest="d", config={})
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        real = _ticks(other.pid)
        _set_owner(store, run.id, str(Owner(socket.gethostname(), other.pid, real - 1)))
        store.claim_run(run.id)  # same pid, another start time: the owner is gone
        assert store.get_run(run.id).owner == str(Owner.me())
    finally:
        other.kill()
        other.wait()


def test_owners_written_before_start_times_were_recorded_still_parse() -> None:
    assert Owner.parse("host.example:123") == Owner("host.example", 123, None)
    assert Owner.parse("host.example:123:456") == Owner("host.example", 123, 456)


def test_an_owner_on_another_host_needs_takeover(store: Store) -> None:
    run = store.create_run(name="r", agenda_digest="d", config={})
    _set_owner(store, run.id, "elsewhere.example:123")
    with pytest.raises(RunBusyError, match="--takeover"):
        store.claim_run(run.id)
    store.claim_run(run.id, takeover=True)
    assert store.get_run(run.id).owner == str(Owner.me())
