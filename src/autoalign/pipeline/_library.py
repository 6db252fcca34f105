"""The flaw library in prompts: retrieve past flaws for one step, record the retrieval, and give
the lines its prompt shows (`docs/learning.md`, "The flaw library").

A step's retrieval is recorded (`flaw_retrievals`) before the step asks its model, keyed by run
and step key. A step that already has one (a resumed run, the second pass over critic #2's
investigations) is shown the recorded hits again, so its prompt, and so its cache key, stays
the one it was first asked with, whatever the library has learnt since.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Collection
from dataclasses import dataclass, field

from ..critics import FlawLibrary, library_version
from ..embeddings import Embedder
from ..runtime import StageContext
from ..store import RetrievedFlaw

IDEA_JUDGE = "judge.idea-screen"
"""The reader name of stage 1's idea-screen judges (their critic versions for the library)."""

JUDGE_VERSION = "1"
"""The idea-screen judges' base version."""


@dataclass
class LibraryReader:
    """One reader's view of the flaw library for a stretch of work (a review round, a screen):
    the library is read from the store at the first retrieval that needs it, and its version
    recorded once for the reader."""

    ctx: StageContext
    reader: str
    """A critic id (`c2.investigate`) or a judge's reader name (`judge.idea-screen`)."""
    base_version: str
    embedder: Embedder
    """How texts are compared (the agenda's `[pipeline] embeddings`: `embedder_for`)."""
    _library: FlawLibrary | None = field(default=None, init=False)
    _version: str | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def _snapshot(self) -> tuple[FlawLibrary, str]:
        with self._lock:  # one read and one version per reader, however many steps ask at once
            if self._library is None or self._version is None:
                self._library = FlawLibrary.from_store(self.ctx.store, embedder=self.embedder)
                self._version = library_version(self.ctx.store, self._library,
                                                reader=self.reader,
                                                base_version=self.base_version)
            return self._library, self._version

    async def past_flaws(
        self,
        *,
        key: str,
        query: str,
        k: int,
        exclude_artifacts: Collection[int] = (),
        exclude_runs: Collection[int] = (),
    ) -> tuple[str, ...]:
        """The lines step `key` (before its round suffix) shows of the past flaws most similar
        to `query`: the recorded retrieval's if the step has one, else a new retrieval, recorded
        with the library version it read. Read and retrieved in a worker thread, so a large
        library does not hold up the other steps' asks."""
        return await asyncio.to_thread(
            self._past_flaws, key=key, query=query, k=k, exclude_artifacts=exclude_artifacts,
            exclude_runs=exclude_runs,
        )

    def _past_flaws(
        self,
        *,
        key: str,
        query: str,
        k: int,
        exclude_artifacts: Collection[int] = (),
        exclude_runs: Collection[int] = (),
    ) -> tuple[str, ...]:
        step_key = self.ctx.key(key)
        found = self.ctx.store.flaw_retrieval(self.ctx.run.id, step_key)
        if found is None:
            library, version = self._snapshot()
            hits = library.retrieve(query, k, exclude_artifacts=exclude_artifacts,
                                    exclude_runs=exclude_runs)
            found = self.ctx.store.add_flaw_retrieval(
                run_id=self.ctx.run.id, step_key=step_key, role=self.reader,
                library_version=version, embedder=library.embedder.name, query=query,
                hits=[RetrievedFlaw(entry=h.entry.id, score=h.score, text=h.entry.text)
                      for h in hits],
            )
        return tuple(h.text for h in found.hits)


__all__ = ["IDEA_JUDGE", "JUDGE_VERSION", "LibraryReader"]
