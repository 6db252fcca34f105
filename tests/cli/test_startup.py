"""`autoalign --help` loads only typer and the project's base modules.

Every command module imports its heavy dependencies inside the command that needs them, so that
the help, a mistyped command and shell completion answer at once (bench/startup.py measures the
time; this test holds the import rule that the time rests on, without timing anything).
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points
from typing import Any

from autoalign.pipeline import STAGES
from autoalign.vocabulary import PIPELINE_STAGES

HEAVY = (
    "sqlalchemy", "alembic", "pydantic", "pydantic_ai", "numpy", "scipy", "sklearn", "choix",
    "openai", "anthropic", "httpx", "matplotlib", "llama_cpp", "autoalign.store",
    "autoalign.models", "autoalign.pipeline", "autoalign.critics", "autoalign.testbeds",
    "autoalign.calibration", "autoalign.sandbox", "autoalign.review", "autoalign.examine",
    "autoalign.agenda", "autoalign.cluster", "autoalign.experiments", "ray",
    "typer.rich_utils", "rich.markdown", "rich.traceback", "rich",
)

_PROBE = """
import json, sys
from autoalign.cli import app
try:
    app(ARGS, prog_name="autoalign")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "loaded": sorted(m for m in HEAVY if m in sys.modules)}))
"""


def _loaded_after(args: list[str]) -> tuple[int, list[str], str]:
    code = _PROBE.replace("ARGS", repr(args)).replace("HEAVY", repr(HEAVY))
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    *printed, last = done.stdout.strip().splitlines()
    result = json.loads(last)
    return result["code"], result["loaded"], "\n".join(printed)


def test_help_lists_every_command_without_loading_heavy_modules() -> None:
    code, loaded, out = _loaded_after(["--help"])
    assert code == 0
    assert loaded == []
    for command in ("init", "run", "study", "status", "show", "testbeds", "calibration",
                    "critics", "review", "examine", "submit", "worker"):
        assert command in out


def test_a_command_s_help_loads_nothing_heavy_either() -> None:
    code, loaded, out = _loaded_after(["run", "--help"])
    assert code == 0
    # Typer itself imports pydantic to convert a command's parameters; nothing else loads.
    assert [m for m in loaded if m != "pydantic"] == []
    assert "propose, execute," in out and all(stage in out for stage in PIPELINE_STAGES)


def test_the_stage_names_in_run_help_are_the_pipeline_s() -> None:
    assert STAGES == PIPELINE_STAGES


def test_a_group_s_help_loads_neither_heavy_modules_nor_asyncio() -> None:
    code, loaded, out = _loaded_after(["show", "--help"])
    assert code == 0
    assert [m for m in loaded if m != "pydantic"] == []
    assert "runs" in out
    probe = _PROBE.replace("ARGS", repr(["show", "--help"])).replace("HEAVY", repr(("asyncio",)))
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          timeout=120, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1])["loaded"] == []


def test_the_executable_skips_the_final_collection_and_tests_main_does_not() -> None:
    # `autoalign` runs `entry`, which freezes what is left before the interpreter exits (so its
    # final collection skips it); `main`, which tests call in their process, freezes nothing.
    (script,) = entry_points(group="console_scripts", name="autoalign")
    assert script.value == "autoalign.cli:entry"
    probe = (
        "import atexit, gc, sys\n"
        "from autoalign.cli import {fn}\n"
        "atexit.register(lambda: print('frozen', gc.get_freeze_count()))\n"
        "sys.argv = ['autoalign', '--help']\n"
        "{fn}()\n"
    )
    for fn, frozen in (("entry", True), ("main", False)):
        done = subprocess.run([sys.executable, "-c", probe.format(fn=fn)], capture_output=True,
                              text=True, timeout=120, check=False)
        assert done.returncode == 0, done.stderr
        count = int(done.stdout.strip().splitlines()[-1].split()[-1])
        assert (count > 0) is frozen, (fn, count)


def test_every_group_and_command_uses_the_plain_help_layout() -> None:
    # typer's rich layout (any group or command without `rich_markup_mode=None`) imports rich's
    # Markdown, Syntax and Traceback when its help or a usage error is shown.
    import typer

    from autoalign.cli import app

    def walk(command: Any) -> list[Any]:  # typer's own click classes: groups have `commands`
        subs = getattr(command, "commands", {}).values()
        return [command, *(c for sub in subs for c in walk(sub))]

    commands = walk(typer.main.get_command(app))
    assert len(commands) > 40
    assert [c.name for c in commands if getattr(c, "rich_markup_mode", "unset") is not None] == []
