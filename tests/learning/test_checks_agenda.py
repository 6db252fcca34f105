"""The agenda's `[learning]` section (issue 14, part CK): defaults that change nothing (an
agenda without it keeps its digest), and clear errors that name the field."""

from __future__ import annotations

from typing import Any

import pytest

from autoalign.agenda import LearningSection, parse_agenda
from autoalign.errors import ConfigError

BASE: dict[str, Any] = {"topics": [{"name": "Reward hacking"}]}


def test_the_defaults_disable_both_checks_and_the_section_is_not_in_the_digest() -> None:
    plain = parse_agenda(BASE)
    assert plain.learning == LearningSection()
    assert plain.learning.deep_reviews == 0 and plain.learning.human_escalations == 0
    # the digest this agenda had before the `[learning]` section existed
    before = "594083d127572fe514a1a7fcc4d50ef920d71a62666fb462bf33689bb3b47f13"
    assert plain.digest() == before
    # Its budgets are budgets: raising one resumes the run instead of starting a new one.
    assert parse_agenda({**BASE, "learning": {"deep_reviews": 2}}).digest() == before
    assert parse_agenda({**BASE, "learning": {"human_escalations": 3}}).digest() == before


@pytest.mark.parametrize(
    ("learning", "field", "says"),
    [
        ({"confused_band": [0.6, 0.4]}, "learning.confused_band", "needs 0 <= low <= high"),
        ({"confused_band": [0.2, 1.5]}, "learning.confused_band", "needs 0 <= low <= high"),
        ({"deep_scrutiny": {"extra_critics": 0, "escalation_drop": 0}},
         "learning.deep_scrutiny", "asks for nothing deeper"),
        ({"deep_reviews": -1}, "learning.deep_reviews", "greater than or equal to 0"),
        ({"human_escalations": -2}, "learning.human_escalations", "greater than or equal"),
        ({"load_bearing_descendants": 0}, "learning.load_bearing_descendants",
         "greater than or equal to 1"),
        ({"instance_spread": 0}, "learning.instance_spread", "greater than 0"),
        ({"deep_reviewz": 1}, "learning.deep_reviewz", "unknown key"),
    ],
)
def test_bad_values_are_refused_naming_the_field(
    learning: dict[str, Any], field: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        parse_agenda({**BASE, "learning": learning})
    assert info.value.field == field
    assert says in str(info.value)
