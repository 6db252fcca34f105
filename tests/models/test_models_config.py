"""Roles -> model ids, and validation of a configuration before anything is written."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from pydantic import BaseModel, Field
from pydantic_ai.messages import ModelMessage, ModelResponse, TextPart
from pydantic_ai.models.function import AgentInfo, FunctionDef

from autoalign.errors import ConfigError, MissingCredentialsError, UnknownProviderError
from autoalign.models import (
    Budget,
    ModelClient,
    ModelsConfig,
    Price,
    ProviderConfig,
    check_models,
    known_providers,
)
from autoalign.models.openai import OpenAIModels
from autoalign.store import Store


class Name(BaseModel):
    name: str = Field(max_length=20)


def says(name: str) -> FunctionDef:
    def fn(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        return ModelResponse(parts=[TextPart(f'{{"name": "{name}"}}')])

    return fn


def test_model_for_uses_the_role_override_else_the_default() -> None:
    config = ModelsConfig(default="local:gemma-3-270m", roles={"critic": "openai:gpt-4o"})
    assert config.model_for("critic") == "openai:gpt-4o"
    assert config.model_for("ideator") == "local:gemma-3-270m"
    assert ModelsConfig().model_for("anything") == "local:gemma-3-270m"


async def test_each_role_is_answered_by_its_own_model(
    store: Store, run_id: int, script: Callable[[FunctionDef], str]
) -> None:
    default, critic = script(says("default")), script(says("critic"))
    config = ModelsConfig(default=default, roles={"critic": critic})
    client = ModelClient(config=config, ledger=store, run_id=run_id)
    a = await client.ask("critic", Name, instructions="i", prompt="p")
    b = await client.ask("ideator", Name, instructions="i", prompt="p")
    assert (a.model, a.output) == (critic, Name(name="critic"))
    assert (b.model, b.output) == (default, Name(name="default"))
    assert client.model_for("critic") == critic
    assert [c.model for c in store.calls(run_id=run_id)] == [critic, default]


def test_known_providers() -> None:
    assert known_providers() == ["anthropic", "local", "openai", "scripted"]


def test_unknown_provider_lists_the_known_ones() -> None:
    with pytest.raises(UnknownProviderError) as err:
        check_models(ModelsConfig(roles={"critic": "opnai:gpt-4o"}), ["critic"])
    message = str(err.value)
    assert "'opnai'" in message
    for name in known_providers():
        assert name in message


def test_unknown_provider_in_providers_section() -> None:
    config = ModelsConfig(providers={"vllm": ProviderConfig(base_url="http://x")})
    with pytest.raises(UnknownProviderError, match="known providers: anthropic, local"):
        check_models(config, [])


async def test_ask_with_unknown_provider_raises_before_writing(store: Store, run_id: int) -> None:
    client = ModelClient(config=ModelsConfig(default="nope:x"), ledger=store, run_id=run_id)
    with pytest.raises(UnknownProviderError):
        await client.ask("r", Name, instructions="i", prompt="p")
    assert store.calls(run_id=run_id) == []


@pytest.mark.parametrize("bad", ["gpt-4o", ":gpt-4o", "openai:", ""])
def test_model_id_must_be_provider_colon_model(bad: str) -> None:
    with pytest.raises(ConfigError, match='"provider:model"') as err:
        check_models(ModelsConfig(roles={"critic": bad}), ["critic"])
    assert err.value.field == "models.roles.critic"


@pytest.mark.parametrize(
    ("model_id", "env"),
    [("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic:claude-haiku-4-5", "ANTHROPIC_API_KEY")],
)
def test_missing_key_names_the_env_var(model_id: str, env: str) -> None:
    with pytest.raises(MissingCredentialsError, match=env):
        check_models(ModelsConfig(default=model_id), ["critic"])


def test_missing_key_names_the_configured_env_var(monkeypatch: pytest.MonkeyPatch) -> None:
    config = ModelsConfig(
        default="openai:gpt-4o-mini",
        providers={"openai": ProviderConfig(api_key_env="MY_LAB_KEY")},
    )
    monkeypatch.delenv("MY_LAB_KEY", raising=False)
    with pytest.raises(MissingCredentialsError, match="MY_LAB_KEY"):
        check_models(config, ["critic"])
    monkeypatch.setenv("MY_LAB_KEY", "sk-test")
    check_models(config, ["critic"])


async def test_self_hosted_openai_server_needs_no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    config = ModelsConfig(
        default="openai:llama3", providers={"openai": ProviderConfig(base_url="http://gpu:8000/v1")}
    )
    assert check_models(config, ["critic"]) is None  # accepted without a key
    # The same model at api.openai.com, still without a key, is refused: the base URL is what
    # made the key optional.
    with pytest.raises(MissingCredentialsError, match="OPENAI_API_KEY"):
        check_models(ModelsConfig(default="openai:llama3"), ["critic"])
    # And the client built for the keyless server sends no real key.
    model = OpenAIModels().build("llama3", config.provider_config("openai"), seed=0)
    assert model.close is not None
    try:
        assert model.model.client.api_key == "no-key"  # type: ignore[attr-defined]
    finally:
        await model.close()


def test_unknown_local_model_names_the_known_one() -> None:
    with pytest.raises(ConfigError, match="local:gemma-3-270m"):
        check_models(ModelsConfig(default="local:llama-3-8b"), ["r"])


def test_unregistered_script_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="register_script"):
        check_models(ModelsConfig(default="scripted:never-registered"), ["r"])


def test_missing_sdk_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setattr(OpenAIModels, "sdk", ("no_such_sdk_module", "openai"))
    with pytest.raises(ConfigError, match=r"pydantic-ai-slim\[openai\]"):
        check_models(ModelsConfig(default="openai:gpt-4o-mini"), ["r"])


def test_dollar_budget_needs_a_price() -> None:
    config = ModelsConfig(
        default="openai:llama3", providers={"openai": ProviderConfig(base_url="http://gpu/v1")}
    )
    check_models(config, ["r"], budget=Budget(max_tokens=1000))
    with pytest.raises(ConfigError, match="price of 'openai:llama3' is unknown"):
        check_models(config, ["r"], budget=Budget(max_usd=1.0))
    priced = config.model_copy(
        update={
            "providers": {
                "openai": ProviderConfig(
                    base_url="http://gpu/v1",
                    prices={"llama3": Price(input_per_mtok=0.1, output_per_mtok=0.2)},
                )
            }
        }
    )
    check_models(priced, ["r"], budget=Budget(max_usd=1.0))
    check_models(ModelsConfig(), ["r"], budget=Budget(max_usd=1.0))  # local is free


def test_config_is_frozen_and_strict() -> None:
    with pytest.raises(ValueError, match="extra"):
        ModelsConfig.model_validate({"defualt": "local:gemma-3-270m"})
    with pytest.raises(ValueError, match="frozen"):
        ModelsConfig().default = "openai:gpt-4o"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("not a url", "a URL has no spaces"),
        ("file:///etc/passwd", "not an http(s) URL"),
        ("ftp://gpu-box:21/v1", "not an http(s) URL"),
        ("http://", "the URL names no host"),
        ("localhost:8000/v1", "not an http(s) URL"),
        ("http://gpu-box:99999/v1", "Port out of range"),
        ("http://gpu-box:8000/v1?key=1", "query or fragment"),
    ],
)
def test_base_url_must_be_an_http_url(url: str, why: str) -> None:
    """Refused when the agenda is loaded, in one line naming the field, the value and the form;
    before this, such a URL cost five retries and an "unreachable" message."""
    from autoalign.agenda import parse_agenda

    agenda = {"topics": [{"name": "t"}], "models": {"providers": {"openai": {"base_url": url}}}}
    with pytest.raises(ConfigError) as err:
        parse_agenda(agenda, source="agenda.toml")
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("agenda.toml: models.providers.openai.base_url: ")
    assert why in message and "expected http(s)://host[:port][/path]" in message
    assert repr(url) in message


def test_a_long_bad_base_url_is_clipped_in_the_message() -> None:
    from autoalign.agenda import parse_agenda

    url = "gopher://" + "x" * 500
    agenda = {"topics": [{"name": "t"}], "models": {"providers": {"openai": {"base_url": url}}}}
    with pytest.raises(ConfigError) as err:
        parse_agenda(agenda, source="agenda.toml")
    assert len(str(err.value)) < 250 and "gopher://xxx" in str(err.value)


@pytest.mark.parametrize(
    "url",
    ["http://localhost:8000/v1", "https://api.openai.com/v1", "http://10.0.0.7", "http://[::1]:80"],
)
def test_http_base_urls_are_accepted(url: str) -> None:
    assert ProviderConfig(base_url=url).base_url == url


def test_default_request_timeout_is_a_minute() -> None:
    """A server that never answers costs a minute per attempt, not the SDK's ten."""
    config = ProviderConfig()
    assert config.timeout_s == 60.0
    self_hosted = ProviderConfig(base_url="http://gpu-box:8000/v1")
    model = OpenAIModels().build("llama3", self_hosted, seed=0)
    client = model.model.client
    assert client.timeout == 60.0
