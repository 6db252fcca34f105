"""Property: whatever malformed agenda or database URL a user passes, the real CLI exits 1 with
exactly one line on stderr, prints no traceback, and writes nothing (no database, no folder).

The inputs are generated: agendas with one thing wrong (a wrong type, a missing or unknown key,
a control character, a huge string, a seed out of range, an unknown role or provider, broken
TOML) and database URLs that cannot work (unparseable, unknown dialect, missing driver, SQLite
URI filenames, a path under a file, a file that is not a database, empty). Seeded and bounded,
so the run is the same every time and stays quick.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import tempfile
import tomllib
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, NoSuchModuleError

from autoalign.agenda import MAX_SEED
from autoalign.models import known_providers
from autoalign.vocabulary import ROLE_NAMES

from .helpers import invoke

SETTINGS = settings(
    max_examples=50,
    deadline=None,
    derandomize=True,
    # Each example makes its own temporary folder; the suite's autouse fixtures only clear
    # the environment, which holds for every example alike.
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)

BASE: dict[str, Any] = {
    "run": {"name": "prop", "seed": 0},
    "models": {"default": "scripted:schema"},
    "pipeline": {"ideas_per_topic": 1, "idea_framings": 1, "proposals": 1},
    "topics": [{"name": "Reward hacking", "description": "When does an agent hack?"}],
}

# Text that survives being written to TOML and passed in argv: no surrogates, no NUL.
plain_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=40,
)
controls = st.sampled_from(
    [chr(c) for c in (*range(0x01, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0))]
    + ["\u202e", "\u2066", "\u200f"]
)
not_a_number = st.one_of(
    st.text(alphabet="abcxyz -", min_size=1, max_size=10),
    st.lists(st.integers(), max_size=3),
    st.dictionaries(st.sampled_from(["a", "b"]), st.integers(), min_size=1),
)
short_text_fields = [("run", "name"), ("topics", "name"), ("models", "default")]


# -- TOML rendering (inline tables and arrays cover every agenda) ------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)  # a JSON string with ASCII escapes is a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in value.items()) \
            + "}"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    return "".join(f"{json.dumps(key)} = {_toml_value(value)}\n" for key, value in data.items())


# -- malformed agendas ---------------------------------------------------------------------------


@st.composite
def malformed_agendas(draw: st.DrawFn) -> str:
    data = copy.deepcopy(BASE)
    kind = draw(st.sampled_from([
        "wrong_type", "missing_topics", "unknown_key", "control_char", "huge_string",
        "bad_seed", "unknown_role", "unknown_provider", "out_of_range", "bad_toml",
    ]))
    if kind == "wrong_type":
        section, key = draw(st.sampled_from([
            ("run", "seed"), ("pipeline", "ideas_per_topic"), ("pipeline", "proposals"),
            ("budget", "max_tokens"), ("budget", "max_usd"),
        ]))
        data.setdefault(section, {})[key] = draw(not_a_number)
    elif kind == "missing_topics":
        if draw(st.booleans()):
            del data["topics"]
        else:
            data["topics"] = []
    elif kind == "unknown_key":
        section = draw(st.sampled_from(["run", "models", "pipeline", None]))
        key = "x_" + draw(st.text(alphabet="abcdefgh_", max_size=8))
        (data if section is None else data[section])[key] = draw(st.integers())
    elif kind == "control_char":
        where = draw(st.sampled_from([*short_text_fields, ("topics", "description")]))
        char = draw(controls)
        assume(where[1] != "description" or char not in "\t\n")
        target = data[where[0]][0] if where[0] == "topics" else data[where[0]]
        text = target[where[1]]
        at = draw(st.integers(0, len(text)))
        target[where[1]] = text[:at] + char + text[at:]
    elif kind == "huge_string":
        field, limit = draw(st.sampled_from([("name", 200), ("description", 2000)]))
        size = draw(st.integers(limit + 1, 200_000))
        data["topics"][0][field] = draw(st.sampled_from("xé字")) * size
    elif kind == "bad_seed":
        data["run"]["seed"] = draw(st.one_of(
            st.integers(min_value=MAX_SEED + 1, max_value=2**200),
            st.integers(max_value=-1, min_value=-(2**200)),
            st.floats(allow_nan=True).filter(lambda f: not f.is_integer()),
            not_a_number,
        ))
    elif kind == "unknown_role":
        role = draw(plain_text.filter(lambda r: r and r not in ROLE_NAMES))
        assume(not any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in role))
        data["models"]["roles"] = {role: "scripted:schema"}
    elif kind == "unknown_provider":
        provider = draw(st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8))
        assume(provider not in known_providers())
        model = f"{provider}:model"
        if draw(st.booleans()):
            data["models"]["default"] = model
        else:
            data["models"]["roles"] = {draw(st.sampled_from(ROLE_NAMES)): model}
    elif kind == "out_of_range":
        key = draw(st.sampled_from(["ideas_per_topic", "idea_framings", "proposals"]))
        data["pipeline"][key] = draw(st.one_of(st.integers(max_value=0), st.integers(6, 2**80)))
    text = to_toml(data)
    if kind == "bad_toml":
        broken = draw(st.sampled_from(['[[topics]\n', 'name = "open\n', "= 1\n", "[run\n",
                                       "x = \n", '"run" = {name = 1\n']))
        at = draw(st.sampled_from([0, len(text)]))
        text = text[:at] + broken + text[at:]
        try:
            tomllib.loads(text)
        except tomllib.TOMLDecodeError:
            pass
        else:
            assume(False)
    return text


def _snapshot(folder: Path) -> dict[str, str]:
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file()
        else "folder"
        for p in folder.rglob("*")
    }


def assert_one_line_and_nothing_written(args: list[str], folder: Path) -> None:
    before = _snapshot(folder)
    result = invoke(*args, cwd=folder)
    lines = result.err.splitlines()
    assert result.code == 1, (args[:3], result.code, result.out[-500:], result.err[-500:])
    assert len(lines) == 1 and lines[0].startswith("error: "), result.err[-1000:]
    assert "Traceback" not in result.err + result.out
    assert len(lines[0]) < 2000, lines[0][:200]
    assert _snapshot(folder) == before


@SETTINGS
@given(text=malformed_agendas(), command=st.sampled_from(["run", "run --new"]))
def test_malformed_agendas_are_one_line_and_write_nothing(text: str, command: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "agenda.toml").write_text(text, encoding="utf-8")
        assert_one_line_and_nothing_written([*command.split(), "agenda.toml"], folder)


# -- malformed database URLs ---------------------------------------------------------------------


def _unparseable(url: str) -> bool:
    try:
        make_url(url)
    except ArgumentError:
        return True
    return False


def _unknown_dialect(name: str) -> bool:
    try:
        make_url(f"{name}://host/db").get_dialect()
    except NoSuchModuleError:
        return True
    return False


credentials = st.tuples(
    st.text(alphabet="abcdefghij", min_size=1, max_size=6),
    st.text(alphabet="abcdefghij0123456789", min_size=1, max_size=8),
)

database_urls = st.one_of(
    plain_text.filter(_unparseable),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=10)
    .filter(_unknown_dialect).map(lambda d: f"{d}://localhost/db"),
    st.builds(
        lambda dialect, cred: f"{dialect}://{cred[0]}:{cred[1]}@localhost/db",
        st.sampled_from(["mysql", "mssql", "oracle", "mysql+pymysql", "postgresql+asyncpg"]),
        credentials,
    ),
    st.builds(lambda path, mode: f"sqlite:///file:{path}?mode={mode}&uri=true",
              st.sampled_from(["r.db", "sub/r.db", "a b.db"]),
              st.sampled_from(["ro", "rw", "rwc"])),
    st.sampled_from(["sqlite:///notes/r.db", "sqlite:///notes/deeper/r.db",
                     "sqlite:///not-a-db.bin", "sqlite:///folder"]),
    st.text(alphabet=" \t", max_size=3),
)


@SETTINGS
@given(
    url=database_urls,
    command=st.sampled_from([["init"], ["run", "agenda.toml"], ["status"], ["show"],
                             ["show", "artifact", "1"], ["calibration"]]),
    junk=st.binary(min_size=200, max_size=2000).filter(lambda b: not b.startswith(b"SQLite")),
)
def test_malformed_database_urls_are_one_line_and_write_nothing(
    url: str, command: list[str], junk: bytes
) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        (folder / "agenda.toml").write_text(to_toml(BASE), encoding="utf-8")
        (folder / "notes").write_text("a file where a folder would be")
        (folder / "not-a-db.bin").write_bytes(junk)
        (folder / "folder").mkdir()
        assert_one_line_and_nothing_written([f"--db={url}", *command], folder)
