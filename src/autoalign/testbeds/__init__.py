"""Testbeds: small CPU experiments about alignment-shaped questions with known ground truth.

A testbed declares knobs, interventions, metrics and research questions; `run` executes one real
simulation or training run for one config and seed. Because each question's true answer can be
computed by heavy replication (`ground_truth`), the pipeline's claims about testbeds can be scored
for calibration.

    from autoalign.testbeds import ExperimentSpec, get_testbed, run_spec

    get_testbed("reward_hacking").run({"bonus": 1.5}, intervention="repeat_penalty", seed=0)
    run_spec(ExperimentSpec(testbed="reward_hacking", intervention="reward_noise", seeds=[0, 1]))

Importing this package registers the built-in testbeds (`probe_detection`, `reward_hacking`,
`spurious_correlation`, `weak_to_strong`); scikit-learn is imported only at the first run.
"""

from . import _probe, _reward_hacking, _spurious, _weak_to_strong  # noqa: F401  (registers them)
from ._base import Intervention, Knob, Metric, Question, Testbed
from ._experiment import ExperimentResult, ExperimentSpec, run_spec
from ._registry import get_testbed, list_testbeds, register_testbed
from ._truth import Truth, estimate_effect, ground_truth, truth_cache_path

__all__ = [
    "ExperimentResult",
    "ExperimentSpec",
    "Intervention",
    "Knob",
    "Metric",
    "Question",
    "Testbed",
    "Truth",
    "estimate_effect",
    "get_testbed",
    "ground_truth",
    "list_testbeds",
    "register_testbed",
    "run_spec",
    "truth_cache_path",
]
