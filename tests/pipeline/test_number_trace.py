"""Number tracing's reading of printed numbers, against hand-made log entries."""

from __future__ import annotations

from autoalign.critics import LogNumber
from autoalign.pipeline._hierarchy import artifact_source, check_paragraph, trace_numbers

LOG = [
    LogNumber(artifact_id=10, run=11, arm="baseline", metric="hack_rate", seed=0, value=0.4123),
    LogNumber(artifact_id=10, run=12, arm="penalty", metric="hack_rate", seed=0, value=-0.25),
    LogNumber(artifact_id=20, run=21, arm="penalty", metric="hack_rate", seed=None, value=0.4121),
]


def test_rounded_percent_negative_and_range_numbers_are_read_and_traced() -> None:
    text = "Hacking was 0.41 [10] (41.2%), the effect -0.25, a range 0.3-0.5 and 3 seeds."
    found = {t.text: t.run for t in trace_numbers(text, LOG)}
    # The source id [10] is not a number of the paper; 0.41 matches the first entry in log
    # order, 41.2% the same value as a percent, -0.25 keeps its sign, a range gives two numbers.
    assert found == {"0.41": 11, "41.2%": 11, "-0.25": 12, "0.3": None, "0.5": None, "3": None}


def test_entries_of_a_cited_run_are_preferred() -> None:
    (t,) = trace_numbers("The mean was 0.41.", LOG, prefer={21})
    assert (t.run, t.seed, t.value, t.start, t.end) == (21, None, 0.4121, 13, 17)


def test_an_integer_must_equal_the_value() -> None:
    (t,) = trace_numbers("About 0 hacking.", LOG)
    assert t.run is None


def test_a_cited_id_is_read_as_shown_and_anything_else_is_dropped() -> None:
    shown = {s.ref: s for s in [artifact_source(25, "step log"), artifact_source(23, "run")]}
    trace = check_paragraph(
        "No numbers.", ["[25] step log: ", "#23", "run 23", "99", "2005 report"], shown, LOG
    )
    assert [link.artifact for link in trace.links] == [25, 23]
    assert trace.dropped == ["run 23", "99", "2005 report"]
