"""`ExecutedStep` parts read back from the store: sandbox runs as the sandbox recorded them."""

from __future__ import annotations

import json
import math

import pytest

from autoalign.critics import get_critic, load_step_runs
from autoalign.critics.known_answers import VALUES, clean_step, sandbox_run
from autoalign.errors import DataError
from autoalign.store import Store


def test_runs_load_from_their_artifacts_and_feed_the_critics(store: Store) -> None:
    ids = []
    for arm, intervention in (("repeat_penalty", "repeat_penalty"), ("baseline", None)):
        record = sandbox_run(intervention=intervention, values=VALUES[arm],
                             seeds=[0, 1, 2])
        art = store.add_artifact(run_id=None, kind="sandbox_run", stage="execute",
                                 content_json=json.loads(record.model_dump_json()))
        ids.append(art.id)

    runs = load_step_runs(store, [(ids[0], "repeat_penalty"), (ids[1], "baseline")])

    assert [r.arm for r in runs] == ["repeat_penalty", "baseline"]
    assert runs[0].seeds == [0, 1, 2] and runs[0].intervention == "repeat_penalty"
    assert runs[1].testbed == "reward_hacking" and runs[1].intervention is None
    values = {(m, s): v for m, s, v in runs[0].values()}
    assert values[("hacking_rate", 1)] == 0.10
    assert math.isclose(values[("hacking_rate", None)], 0.12)
    clean = clean_step()
    step = clean.model_copy(update={
        "runs": runs,
        "claims": [clean.claims[0].model_copy(update={"run_ids": ids})],
    })
    assert get_critic("c1.results-produced").rule(step) == []  # type: ignore[attr-defined]


def test_a_one_seed_record_keeps_its_nan_error_through_the_store(store: Store) -> None:
    record = sandbox_run(intervention=None, values={"hacking_rate": [0.3]}, seeds=[4])
    art = store.add_artifact(run_id=None, kind="sandbox_run", stage="execute",
                             content_json=json.loads(record.model_dump_json()))
    [run] = load_step_runs(store, [(art.id, "baseline")])
    assert run.seeds == [4]
    assert math.isnan(float(run.run.result["se"]["hacking_rate"]))  # type: ignore[index]
    # The stored "NaN" standard error neither crashes the numbers check nor matches a number.
    clean = clean_step()
    step = clean.model_copy(update={
        "runs": [run], "claims": [],
        "log": clean.log.model_copy(update={"rows": [], "text": "mean 0.30, SE 0.00"}),
        "interpretation": None,
    })
    [finding] = get_critic("c1.numbers-match").rule(step)  # type: ignore[attr-defined]
    assert "0.00" in finding.description


def test_an_artifact_that_is_not_a_sandbox_run_is_refused(store: Store) -> None:
    art = store.add_artifact(run_id=None, kind="research_log", stage="execute")
    with pytest.raises(DataError, match="is a research_log, not a sandbox_run"):
        load_step_runs(store, [(art.id, "x")])
