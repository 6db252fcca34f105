"""The case checker: gsn2x's well-formedness rules and autoalign's, each problem naming the
element and its line; `autoalign case check` exits non-zero on an error."""

from __future__ import annotations

from pathlib import Path

from autoalign.case import Case, load_text

from ..cli.helpers import invoke

GOOD = """\
module: {name: demo}
G1:
  text: The critics catch flaws.
  supportedBy: [S1]
  inContextOf: [C1]
C1:
  text: Flaw taxonomy version 4.
S1:
  text: Argue over each critic.
  supportedBy: [G2]
  x-dependence: {kind: unknown}
G2:
  text: Critic 2 has high recall.
  supportedBy: [Sn1]
Sn1:
  text: Red-team recall.
  x-evidence:
    metric: "redteam:recall{critic=c2@1}"
    bound: lower
    threshold: 0.5
"""


def errors(text: str) -> list[str]:
    return [str(p) for p in load_text(text, file="case.yaml").problems if p.severity == "error"]


def test_a_good_case_has_no_error_and_keeps_gsn2x_keys() -> None:
    loaded = load_text(GOOD)
    assert loaded.ok and loaded.problems == []
    assert isinstance(loaded.case, Case)
    assert loaded.case.elements["G1"].supported_by == ["S1"]
    evidence = loaded.case.elements["Sn1"].evidence
    assert evidence is not None and evidence.metric == "redteam:recall{critic=c2@1}"


def test_a_cycle_is_rejected_with_the_id_and_line() -> None:
    text = GOOD.replace("  supportedBy: [Sn1]", "  supportedBy: [Sn1, S1]")
    found = errors(text)
    assert any("cycle: S1 -> G2 -> S1" in e and "element S1" in e and "case.yaml:8:" in e
               for e in found), found


def test_a_dangling_link_names_the_element_and_the_line_of_the_item() -> None:
    text = GOOD.replace("  inContextOf: [C1]", "  inContextOf:\n    - C1\n    - C9")
    found = errors(text)
    assert found == ["case.yaml:7: error: element G1: inContextOf names C9, which does not "
                     "exist"], found


def test_a_bad_link_kind_is_rejected() -> None:
    text = GOOD.replace("  supportedBy: [G2]", "  supportedBy: [Sn1]")
    found = errors(text)
    assert any("element S1" in e and "case.yaml:10:" in e and "links to Sn1, a solution" in e
               for e in found), found
    text = GOOD.replace("  inContextOf: [C1]", "  inContextOf: [G2]")
    assert any("element G1" in e and "links to G2, a goal" in e for e in errors(text))


def test_gsn2x_rules_and_autoalign_rules() -> None:
    unsupported = GOOD.replace("  supportedBy: [Sn1]\n", "")
    assert any("element G2" in e and "neither supported" in e for e in errors(unsupported))
    undeveloped = GOOD.replace("  supportedBy: [Sn1]\n", "  undeveloped: true\n")
    assert errors(undeveloped) == []
    duplicate = GOOD + "G2:\n  text: again\n  undeveloped: true\n"
    found = errors(duplicate)
    assert len(found) == 1 and "duplicate id" in found[0] and "case.yaml:" in found[0]
    misplaced = GOOD.replace("  text: Flaw taxonomy version 4.",
                             "  text: x\n  x-evidence: {metric: 'db:runs.count', threshold: 1}")
    assert any("element C1" in e and "x-evidence belongs on solutions" in e
               for e in errors(misplaced))
    bad_path = GOOD.replace('"redteam:recall{critic=c2@1}"', '"recall of c2"')
    assert any("element Sn1" in e and "is not `redteam:" in e and "case.yaml:18:" in e
               for e in errors(bad_path))
    prefix = GOOD + "X1:\n  text: what\n"
    assert any("element X1" in e and "unknown id prefix" in e for e in errors(prefix))
    typo = GOOD.replace("  supportedBy: [G2]", "  suportedBy: [G2]")
    assert any("element S1" in e and "suportedBy" in e for e in errors(typo))
    challenge = GOOD + "CG9:\n  text: c\n  challenges: S7\n  undeveloped: true\n"
    assert any("element CG9" in e and "challenges S7, which does not exist" in e
               for e in errors(challenge))
    not_counter = GOOD + "G9:\n  text: c\n  challenges: [S1]\n  undeveloped: true\n"
    assert any("element G9" in e and "a goal cannot challenge" in e
               for e in errors(not_counter))
    lone_defeat = GOOD.replace("  text: Critic 2 has high recall.",
                               "  text: Critic 2 has high recall.\n  defeated: true")
    assert any("element G2" in e and "nothing challenges it" in e for e in errors(lone_defeat))


def test_gsn2x_spellings_are_accepted() -> None:
    """One id as a plain string, an element without text, nodeType instead of a prefix, and
    gsn2x's dialectic extension (CG, CSn, defeated)."""
    text = """\
G1:
  text: top
  supportedBy: S1
  inContextOf: C1
C1: {}
S1:
  text: s
  supportedBy: [G2]
G2:
  text: g2
  supportedBy: Sn1
  defeated: true
Sn1:
  text: e
  x-evidence: {metric: "db:runs.completed_rate", threshold: 0.5}
CG1:
  text: counter
  challenges: G2
  supportedBy: CSn1
CSn1:
  text: counter evidence
Other:
  nodeType: Justification
  text: why
"""
    loaded = load_text(text)
    assert [p.severity for p in loaded.problems if p.severity == "error"] == []
    assert loaded.case is not None
    assert loaded.case.elements["G1"].supported_by == ["S1"]
    assert loaded.case.type_of("CG1").value == "counter-goal"
    assert loaded.case.type_of("Other").value == "justification"
    assert loaded.case.challengers("G2") == ["CG1"]


def test_the_format_version_is_checked() -> None:
    assert errors("x-case: {version: 1}\n" + GOOD) == []
    newer = errors("x-case: {version: 7}\n" + GOOD)
    assert newer == ["case.yaml:1: error: x-case version 7 is newer than this autoalign's (1); "
                     "upgrade autoalign"]


def test_case_check_command(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD)
    result = invoke("case", "check", str(good), cwd=tmp_path)
    assert result.code == 0 and "ok" in result.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(GOOD.replace("  supportedBy: [Sn1]", "  supportedBy: [Sn1, S1]"))
    result = invoke("case", "check", str(bad), cwd=tmp_path)
    assert result.code == 1
    assert "cycle: S1 -> G2 -> S1" in result.out and "1 error(s)" in result.err
