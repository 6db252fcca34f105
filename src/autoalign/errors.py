"""The project's errors.

Every error a user can cause or fix derives from `AutoalignError`; the CLI turns these into a
one-line message and exit code 1. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import ValidationError


class AutoalignError(Exception):
    """Base class of every error autoalign raises on purpose."""


class ConfigError(AutoalignError):
    """A configuration or agenda file is malformed.

    Carries the file, the dotted field path and the reason, so a message can point at the fix.
    """

    def __init__(self, reason: str, *, file: str | None = None, field: str | None = None) -> None:
        self.reason = reason
        self.file = file
        self.field = field
        where = ": ".join(part for part in (file, field) if part)
        super().__init__(f"{where}: {reason}" if where else reason)

    @classmethod
    def from_validation(cls, exc: ValidationError, *, source: str | None = None) -> ConfigError:
        """The first problem pydantic found in a config file, naming its field (`critics[1]`,
        `b.critic2.instances`) and, for a bad value, the value."""
        first = exc.errors()[0]
        kind = first["type"]
        reason = {"extra_forbidden": "unknown key", "missing": "required key is missing"}.get(
            kind, first["msg"].removeprefix("Value error, ")
        )
        value = first.get("input")
        if kind not in ("extra_forbidden", "missing") and isinstance(value, str | int | float):
            reason += f" (got {value!r})"
        field = ""
        for part in first["loc"]:
            field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
        return cls(reason, file=source, field=field or None)


class UnknownProviderError(ConfigError):
    """A model id names a provider autoalign does not know."""


class MissingCredentialsError(ConfigError):
    """A provider needs a key that is not in the environment."""


class UsageError(AutoalignError):
    """A command-line argument has a value the command cannot use (checked before anything is
    written)."""


class ModelError(AutoalignError):
    """A model provider failed in a way retries did not fix.

    Attributes:
        provider: provider prefix of the model id (`openai`, `anthropic`, ...).
        model: the full `provider:model` id.
        status: HTTP status when the provider gave one.
        retryable: whether the failure was of a kind that is normally transient.
    """

    def __init__(
        self,
        message: str,
        *,
        provider: str,
        model: str,
        status: int | None = None,
        retryable: bool = False,
    ) -> None:
        self.provider = provider
        self.model = model
        self.status = status
        self.retryable = retryable
        super().__init__(message)


class BackendError(AutoalignError):
    """A sandbox backend lost a job: its worker or node died, or it did not come back in time.

    The job's own failures (a limit, an exception in the code) are records, not this error; a
    lost job left no record, so running the same work again runs it again.
    """


class BudgetExceededError(AutoalignError):
    """The next call would take the run over its token or dollar budget."""


class RunBusyError(AutoalignError):
    """Another live process is executing the run this one would resume."""


class DataError(AutoalignError):
    """Stored or produced data is not what it must be (a missing artifact, a broken reference)."""


class StoreError(AutoalignError):
    """The research database cannot be used as it is."""


class SchemaVersionError(StoreError):
    """The database was migrated by a newer autoalign than this one."""


class WorkError(AutoalignError):
    """A queued work item could not be done: its handler failed in a worker, its payload is not
    what its kind needs, or no worker finished it in time."""
