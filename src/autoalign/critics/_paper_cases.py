"""Known-answer papers for critic #2's programmatic checks (see `known_answers`).

Each is a crafted `PaperDraft` of the same experiment as the step cases' clean step (a repeat
penalty against the baseline on three seeds): a faithful paper, and edits of it that a check
must flag or must pass.
"""

from __future__ import annotations

from ._paper import EvidenceClaim, LogNumber, PaperClaim, PaperDraft, PaperSection, SectionName
from ._step import ExecutedStep

ABSTRACT_ID, INTRO_ID, MAIN_ID, APPENDIX_ID, PAPER_ID, RESEARCH_LOG_ID = 40, 41, 42, 43, 50, 60
THRESHOLD = -0.5
"""The scoped question's threshold (a relative change of hacking of at most -50%)."""

ABSTRACT = (
    "Repeat penalties and reward hacking\n\nOn three seeds, a repeat penalty cut the hacking "
    "rate from 0.32 to 0.12.\n\nClaims:\n- The repeat penalty cuts hacking (p=95%)"
)
INTRODUCTION = (
    "Introduction\n\nReward hacking undermines training. We test whether a repeat penalty "
    "reduces it in a toy environment."
)
MAIN_TEXT = (
    "Results\n\nWe ran the baseline and the repeat penalty on seeds 0-2. The hacking rate fell "
    "from 0.32 to 0.12 with the repeat penalty, a relative change of -62.5% (95% interval "
    "-0.70 to -0.55); true return rose from 1.20 to 1.60. The repeat penalty cuts hacking."
)
APPENDIX = (
    "Appendix\n\nPer-seed hacking rates with the penalty: 0.12, 0.10, 0.14; without: 0.30, "
    "0.34, 0.32."
)


def paper_from(step: ExecutedStep) -> PaperDraft:
    """A faithful paper of `step` (the step cases' clean step): its log rows as the paper's
    numbers, its claim as the evidence with the question's threshold and its seeds."""
    runs = {r.arm: r.artifact_id for r in step.runs}
    numbers = tuple(
        LogNumber(artifact_id=step.log.artifact_id, run=runs.get(row.arm), arm=row.arm,
                  metric=row.metric, seed=row.seed, value=row.value)
        for row in step.log.rows
    )
    evidence = tuple(
        EvidenceClaim(
            artifact_id=c.artifact_id,
            question=f"{c.testbed}/{c.question_id}" if c.question_id else None,
            text=c.text, treated_arm=step.runs[0].arm, estimate=c.estimate, ci_low=c.ci_low,
            ci_high=c.ci_high, probability=c.probability, threshold=THRESHOLD,
            seeds=c.n_seeds,
        )
        for c in step.claims
    )
    texts: tuple[tuple[SectionName, int, str], ...] = (
        ("abstract", ABSTRACT_ID, ABSTRACT), ("introduction", INTRO_ID, INTRODUCTION),
        ("main_text", MAIN_ID, MAIN_TEXT), ("appendix", APPENDIX_ID, APPENDIX),
    )
    return PaperDraft(
        paper_id=PAPER_ID,
        title="Repeat penalties and reward hacking",
        sections=tuple(PaperSection(name=n, artifact_id=i, text=t) for n, i, t in texts),
        research_log_id=RESEARCH_LOG_ID,
        research_log=step.log.text,
        claims=(PaperClaim(text="The repeat penalty cuts hacking", probability=0.95),),
        numbers=numbers,
        evidence=evidence,
    )


def with_section(paper: PaperDraft, name: SectionName, text: str) -> PaperDraft:
    """`paper` with the text of its section `name` replaced."""
    return paper.model_copy(update={"sections": tuple(
        s.model_copy(update={"text": text}) if s.name == name else s for s in paper.sections
    )})


def with_claim(paper: PaperDraft, text: str, probability: float) -> PaperDraft:
    """`paper` making one claim, `text` at `probability`."""
    return paper.model_copy(
        update={"claims": (PaperClaim(text=text, probability=probability),)}
    )


def with_evidence(paper: PaperDraft, **update: object) -> PaperDraft:
    """`paper` whose one research claim has `update` applied."""
    return paper.model_copy(update={"evidence": (paper.evidence[0].model_copy(update=update),)})


def numbers_cases(clean: PaperDraft) -> tuple[dict[str, PaperDraft], dict[str, PaperDraft]]:
    """Positives and negatives of `c2.numbers-match`."""
    main, abstract = MAIN_TEXT, ABSTRACT
    positives = {
        "abstract quotes a mean never measured (0.08)": with_section(
            clean, "abstract", abstract.replace("0.12.", "0.08.")),
        "main text misrounds the mean (0.13 for 0.12)": with_section(
            clean, "main_text", main.replace("to 0.12", "to 0.13")),
        "main text inflates the relative change (-71.2%)": with_section(
            clean, "main_text", main.replace("-62.5%", "-71.2%")),
        "appendix transposes a seed's digits (0.41 for 0.14)": with_section(
            clean, "appendix", APPENDIX.replace("0.14", "0.41")),
        "introduction quotes a return never measured (1.90)": with_section(
            clean, "introduction", INTRODUCTION + " Earlier work reached a return of 1.90."),
        "main text widens the interval (-0.80)": with_section(
            clean, "main_text", main.replace("-0.70", "-0.80")),
        "abstract states a percent never measured (15.0%)": with_section(
            clean, "abstract", abstract.replace("0.12.", "15.0%.")),
    }
    negatives = {
        "faithful paper": clean,
        "rounded and percent forms (0.1200, 32.0%)": with_section(
            clean, "main_text", main + " Hacking was 0.1200 with the penalty, 32.0% without."),
        "difference of means as a magnitude (a drop of 0.20)": with_section(
            clean, "main_text", main + " That is a drop of 0.20 in the hacking rate."),
        "standard error quoted (0.0115)": with_section(
            clean, "appendix", APPENDIX + " The penalty arm's standard error was 0.0115."),
        "numbers glued to names, integers, years": with_section(
            clean, "introduction", INTRODUCTION + " We used gpt-4.1 and protocol v1.2 in 2024, "
            "3 seeds and 1000 episodes."),
        "the claim's probability and interval end quoted (0.97, -0.70)": with_section(
            clean, "appendix", APPENDIX + " The worker gave 0.97; the interval ends at -0.70."),
        "the question's threshold quoted (-0.5)": with_section(
            clean, "introduction", INTRODUCTION + " The question asks for a change of -0.5."),
        "no log numbers to compare with (an import without logs)": with_section(
            clean.model_copy(update={"numbers": ()}), "main_text", main + " We saw 0.77."),
    }
    return positives, negatives


def strength_cases(clean: PaperDraft) -> tuple[dict[str, PaperDraft], dict[str, PaperDraft]]:
    """Positives and negatives of `c2.claim-strength`."""
    crossing = with_evidence(clean, ci_low=-0.6, ci_high=-0.3, estimate=-0.45)
    one_seed = with_evidence(clean, seeds=1)
    claim = "The repeat penalty cuts hacking"
    proof = ABSTRACT.replace("On three seeds, a", "This proves that a")
    positives = {
        "p=0.95 while the interval crosses the threshold": crossing,
        "p=0.95 on one seed": one_seed,
        "a confident no (p=0.05) while the interval crosses zero": with_claim(
            with_evidence(clean, threshold=None, ci_low=-0.2, ci_high=0.1), claim, 0.05),
        "abstract says 'proves' while the interval crosses the threshold": with_claim(
            with_section(crossing, "abstract", proof), claim, 0.7),
        "abstract says 'shows that' on one seed": with_claim(with_section(
            one_seed, "abstract", ABSTRACT.replace("On three seeds,", "This shows that")),
            claim, 0.7),
        "p=0.99 with no research claim at all": with_claim(
            clean.model_copy(update={"evidence": ()}), claim, 0.99),
        "p=0.92 on a claim without an interval": with_claim(
            with_evidence(clean, ci_low=None, ci_high=None), claim, 0.92),
    }
    negatives = {
        "faithful paper (decisive interval, three seeds)": clean,
        "hedged p=0.6 while the interval crosses the threshold": with_claim(crossing, claim, 0.6),
        "'suggests' while the interval crosses the threshold": with_claim(with_section(
            crossing, "abstract", ABSTRACT.replace("On three seeds, a", "This suggests a")),
            claim, 0.7),
        "'proves' on decisive evidence": with_section(clean, "abstract", proof),
        "p=0.89 on one seed (just below confident)": with_claim(one_seed, claim, 0.89),
        "confident claim about the decisive arm; a weak claim about another arm": clean.model_copy(
            update={"evidence": (*clean.evidence, clean.evidence[0].model_copy(update={
                "artifact_id": 31, "treated_arm": "reward_noise",
                "question": "reward_hacking/noise_cuts_hacking", "ci_low": -0.4, "ci_high": 0.1,
            }))}),
        "a confident no on an interval wholly above the threshold": with_claim(
            with_evidence(clean, ci_low=-0.3, ci_high=-0.1, estimate=-0.2), claim, 0.05),
    }
    return positives, negatives


def scope_cases(clean: PaperDraft) -> tuple[dict[str, PaperDraft], dict[str, PaperDraft]]:
    """Positives and negatives of `c2.abstract-scope`."""
    abstract = ABSTRACT
    method_only = "Method\n\nWe ran the baseline and the repeat penalty on seeds 0-2."
    positives = {
        "abstract quotes a seed value only the appendix has (0.10)": with_section(
            clean, "abstract", abstract.replace("0.12.", "0.10.")),
        "abstract quotes the standard error only the appendix could (0.0115)": with_section(
            clean, "abstract", abstract + "\nStandard error 0.0115."),
        "abstract is more precise than the main text (0.123)": with_section(
            clean, "abstract", abstract.replace("0.12.", "0.123.")),
        "main text reports no results": with_section(clean, "main_text", method_only),
        "claim about honesty and calibration the main text never makes": with_claim(
            clean, "The repeat penalty improves honesty and calibration", 0.7),
        "claim about another intervention": with_claim(
            clean, "Gaussian noise eliminates tampering", 0.7),
    }
    negatives = {
        "faithful paper": clean,
        "abstract rounds the main text's number (0.1)": with_section(
            clean, "abstract", abstract.replace("0.12.", "about 0.1.")),
        "abstract as a percent of the main text's decimal (12.0%)": with_section(
            clean, "abstract", abstract.replace("0.12.", "12.0%.")),
        "claim reworded with inflections": with_claim(
            clean, "Repeat penalties cut the hacking", 0.7),
        "integers and years are not checked": with_section(
            clean, "abstract", abstract + "\nWe ran 3 seeds in 2024."),
        "no main text to compare with": clean.model_copy(update={"sections": tuple(
            s for s in clean.sections if s.name != "main_text")}),
    }
    return positives, negatives
