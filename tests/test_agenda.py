"""Agenda loading: valid files parse; every malformed one is reported with file, field, reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from autoalign.agenda import load_agenda
from autoalign.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "agenda.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_quickstart_parses_and_is_the_packaged_starter() -> None:
    agenda = load_agenda(ROOT / "examples" / "quickstart.toml")
    assert [t.name for t in agenda.topics] == ["Reward hacking", "Probing for deception"]
    assert agenda.models.default == "local:gemma-3-270m"
    packaged = ROOT / "src" / "autoalign" / "_quickstart.toml"
    assert packaged.read_text() == (ROOT / "examples" / "quickstart.toml").read_text()


def test_digest_is_stable_and_sensitive(tmp_path: Path) -> None:
    a = load_agenda(write(tmp_path, '[[topics]]\nname = "x"\n'))
    b = load_agenda(write(tmp_path, '[[topics]]\nname="x"   # same content\n'))
    c = load_agenda(write(tmp_path, '[[topics]]\nname = "y"\n'))
    assert a.digest() == b.digest() != c.digest()
    # The budget is not part of the identity: raising it resumes the same run.
    d = load_agenda(write(tmp_path, '[budget]\nmax_tokens = 5\n[[topics]]\nname = "x"\n'))
    assert d.digest() == a.digest()


def test_toml_syntax_error_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, '[[topics]]\nname = "x\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    message = str(info.value)
    assert str(path) in message and "TOML syntax error" in message and "line 2" in message


def test_unknown_key_names_field(tmp_path: Path) -> None:
    path = write(tmp_path, '[run]\nnmae = "typo"\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "run.nmae"
    assert info.value.reason == "unknown key"
    assert str(path) in str(info.value)


def test_wrong_type_names_field_and_value(tmp_path: Path) -> None:
    path = write(tmp_path, '[budget]\nmax_tokens = "lots"\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "budget.max_tokens"
    assert "'lots'" in info.value.reason


def test_list_item_field_path(tmp_path: Path) -> None:
    path = write(tmp_path, '[[topics]]\nname = "x"\n[[topics]]\ndescription = "no name"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "topics[1].name"
    assert "missing" in info.value.reason


def test_several_errors_all_reported(tmp_path: Path) -> None:
    path = write(tmp_path, '[run]\nseed = "a"\nbogus = 1\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    message = str(info.value)
    assert "run.seed" in message and "run.bogus" in message and "topics" in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_agenda(tmp_path / "nope.toml")


def test_seed_must_fit_the_database(tmp_path: Path) -> None:
    from autoalign.agenda import MAX_SEED

    assert load_agenda(write(tmp_path, f'[run]\nseed = {MAX_SEED}\n[[topics]]\nname = "x"\n'))
    for seed in (2**70, MAX_SEED + 1, -1):
        path = write(tmp_path, f'[run]\nseed = {seed}\n[[topics]]\nname = "x"\n')
        with pytest.raises(ConfigError) as info:
            load_agenda(path)
        assert info.value.field == "run.seed"


def test_unknown_role_lists_the_known_ones(tmp_path: Path) -> None:
    path = write(tmp_path, '[models.roles]\ncritic2 = "openai:x"\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == "models"
    assert "unknown role 'critic2'" in info.value.reason
    assert "proposer, judge, worker, critic-1, summarizer, critic-2" in info.value.reason


def test_every_role_of_the_pipeline_is_known_to_the_agenda() -> None:
    from autoalign.pipeline import ROLES
    from autoalign.vocabulary import ROLE_NAMES

    assert tuple(ROLES) == ROLE_NAMES


@pytest.mark.parametrize(
    ("toml", "field", "char"),
    [
        ('[[topics]]\nname = "a\\u001b[2Jb"\n', "topics[0].name", "U+001B"),
        ('[[topics]]\nname = "a\\nb"\n', "topics[0].name", "U+000A"),
        ('[run]\nname = "a\\tb"\n[[topics]]\nname = "x"\n', "run.name", "U+0009"),
        ('[[topics]]\nname = "x"\ndescription = "ok\\n\\tok\\u0007"\n',
         "topics[0].description", "U+0007"),
        ('[models]\ndefault = "openai:\\u009bx"\n[[topics]]\nname = "x"\n', "models.default",
         "U+009B"),
        ('[[topics]]\nname = "\\u202eevil"\n', "topics[0].name", "U+202E"),
    ],
)
def test_control_characters_are_refused(tmp_path: Path, toml: str, field: str, char: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_agenda(write(tmp_path, toml))
    assert info.value.field == field and char in info.value.reason


def test_newlines_and_tabs_are_allowed_in_descriptions(tmp_path: Path) -> None:
    agenda = load_agenda(write(tmp_path, '[[topics]]\nname = "x"\ndescription = "a\\n\\tb"\n'))
    assert agenda.topics[0].description == "a\n\tb"


def test_long_values_are_clipped_in_the_message(tmp_path: Path) -> None:
    path = write(tmp_path, f'[[topics]]\nname = "{"n" * 300}"\ndescription = "{"d" * 9000}"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    message = str(info.value)
    assert "(300 characters)" in message and "(9000 characters)" in message
    assert len(message) < 600 and "\n" not in message


def test_many_problems_fit_one_line(tmp_path: Path) -> None:
    topics = "".join(f'[[topics]]\nbad{i} = 1\n' for i in range(9))
    with pytest.raises(ConfigError) as info:
        load_agenda(write(tmp_path, topics))
    message = str(info.value)
    assert "\n" not in message and "problems" in message and "more" in message


def test_sandbox_section_picks_the_backend(tmp_path: Path) -> None:
    default = load_agenda(write(tmp_path, '[[topics]]\nname = "x"\n'))
    assert (default.sandbox.backend, default.sandbox.ray_address, default.sandbox.workers) == (
        "local", None, None,
    )
    text = (
        '[sandbox]\nbackend = "ray"\nray_address = "ray://head:10001"\nworkers = 8\n'
        '[[topics]]\nname = "x"\n'
    )
    on_ray = load_agenda(write(tmp_path, text))
    assert (on_ray.sandbox.backend, on_ray.sandbox.ray_address, on_ray.sandbox.workers) == (
        "ray", "ray://head:10001", 8,
    )
    # Where the jobs run is not part of the identity: a run may resume on another backend.
    assert on_ray.digest() == default.digest()


@pytest.mark.parametrize(
    ("section", "field", "reason"),
    [
        ('backend = "dask"', "sandbox.backend",
         "Input should be 'local', 'ray' or 'queue' (got 'dask')"),
        ("workers = 0", "sandbox.workers", "greater than or equal to 1"),
        ('ray_address = "auto"', "sandbox",
         "ray_address 'auto' is set but backend is 'local'; set backend = \"ray\""),
        ('backnd = "ray"', "sandbox.backnd", "unknown key"),
    ],
)
def test_bad_sandbox_keys_name_field_and_reason(
    tmp_path: Path, section: str, field: str, reason: str
) -> None:
    path = write(tmp_path, f'[sandbox]\n{section}\n[[topics]]\nname = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_agenda(path)
    assert info.value.field == field
    assert reason in info.value.reason


def test_critic2_settings_are_checked(tmp_path: Path) -> None:
    quick = load_agenda(ROOT / "examples" / "quickstart.toml")
    assert (quick.critic2.instances, quick.critic2.investigate, quick.critic2.revision_rounds) == (
        2, 1, 1
    )
    band = '[critic2]\nescalate_low = 0.8\nescalate_high = 0.5\n[[topics]]\nname = "x"\n'
    with pytest.raises(ConfigError, match=r"escalate_low 0\.8 is above escalate_high 0\.5"):
        load_agenda(write(tmp_path, band))
    model = '[critic2]\nmodels = ["gpt-4o"]\n[[topics]]\nname = "x"\n'
    with pytest.raises(ConfigError, match=r"critic2\.models.*'gpt-4o' is not of the form"):
        load_agenda(write(tmp_path, model))
