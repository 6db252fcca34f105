"""The store at scale: provenance walks over a million artifacts, listings, indexed lookups.

Everything is built afresh in temporary databases (a SQLite file; a PostgreSQL database too when
`AUTOALIGN_BENCH_PG_URL` or `AUTOALIGN_TEST_PG_URL` names a server whose role may create
databases) and dropped at the end; nothing is cached between runs. Rows are bulk-inserted
(`executemany` on SQLite, `COPY` on PostgreSQL), then measured through the `Store` and the CLI:

- the provenance graph: 100 runs of the pipeline's shape (a topic, ideas, proposals, rounds of
  tasks that fan out to sandbox runs and fan back in to step logs, reports, claims, an
  interpretation and a decision, then a research log and a paper whose sections fan in), each
  run derived from one shared root, and each paper citing claims of earlier runs. A run's topic
  reaches its run, about 1% of the graph: `Store.descendants` of it must take under 100 ms
  (median of several topics). The shared root reaches everything: the streamed walk
  (`Store.iter_descendants`) must peak at a small fraction of the list walk's memory
  (tracemalloc, Python allocations only).
- `autoalign status` and `autoalign show artifacts` on the same number of artifacts holding a
  few bytes or tens of kilobytes each: the time ratio must stay near 1 (listings read no
  content).
- `Store.judgments(judge_artifact_id=...)` and `Store.flaws(found_by_id=...)` against a copy of
  the same database with those indexes dropped. On PostgreSQL the indexed lookup itself takes
  tens of microseconds; what the Store call costs is its round trips to the server (pool
  pre-ping, query, rollback), so on a loaded machine that ratio measures the round trips.

Run:  python bench/store_scale.py [--quick]      (--quick: 100,000 artifacts instead of 1,000,000)
Another script can `measure(quick=...)` and print the rows itself.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import secrets
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from autoalign.store import Store
from autoalign.store._schema import PREVIEW_CHARS

PG_ENV_VARS = ("AUTOALIGN_BENCH_PG_URL", "AUTOALIGN_TEST_PG_URL")
RUNS = 100
"""Runs in the provenance graph: a run's topic reaches about 1 / RUNS of it."""
WALK_TARGET_MS = 100.0
SMALL_BYTES = 100
"""Text of each artifact in the small-content listing database (longer than a preview)."""
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)
SQLITE_NOW = "2026-11-29 12:00:00.000000"
"""`NOW` as SQLAlchemy stores a `DateTime` in SQLite (rows are inserted below the ORM)."""

Row = dict[str, Any]


# -- the databases ------------------------------------------------------------------------------


@dataclass
class Database:
    """A temporary research database: a SQLite file, or a PostgreSQL database of its own."""

    dialect: str
    url: str
    admin_url: str | None = None
    copies: list[str] = field(default_factory=list)

    def copy(self) -> str:
        """The URL of a copy of this database (to change without touching the original)."""
        if self.dialect == "sqlite":
            source = Path(make_url(self.url).database or "")
            target = source.with_name(f"copy{len(self.copies)}-{source.name}")
            shutil.copyfile(source, target)
            url = f"sqlite:///{target}"
        else:
            name = f"autoalign_bench_{secrets.token_hex(6)}"
            _pg_admin(self.admin_url or "", f'CREATE DATABASE "{name}" TEMPLATE '
                      f'"{make_url(self.url).database}"')
            url = make_url(self.url).set(database=name).render_as_string(hide_password=False)
        self.copies.append(url)
        return url

    def drop(self) -> None:
        if self.dialect == "postgresql":
            for url in [self.url, *self.copies]:
                name = make_url(url).database
                _pg_admin(self.admin_url or "", f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _pg_admin(admin_url: str, sql: str) -> None:
    engine = create_engine(make_url(admin_url).set(drivername="postgresql+psycopg"),
                           isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql(sql)
    finally:
        engine.dispose()


@contextlib.contextmanager
def databases(folder: Path, name: str) -> Iterator[list[Database]]:
    """A fresh SQLite database, and a PostgreSQL one when a server is configured."""
    made = [Database("sqlite", f"sqlite:///{folder / f'{name}.db'}")]
    admin = next((os.environ[v] for v in PG_ENV_VARS if os.environ.get(v)), None)
    if admin:
        db_name = f"autoalign_bench_{secrets.token_hex(6)}"
        _pg_admin(admin, f'CREATE DATABASE "{db_name}"')
        url = make_url(admin).set(drivername="postgresql+psycopg", database=db_name)
        made.append(Database("postgresql", url.render_as_string(hide_password=False), admin))
    try:
        yield made
    finally:
        for db in made:
            db.drop()


def bulk_insert(store: Store, table: str, columns: Sequence[str],
                rows: Iterable[Sequence[Any]]) -> None:
    """Insert `rows` below the ORM: `executemany` on SQLite, `COPY` on PostgreSQL."""
    raw = store.engine.raw_connection()
    try:
        cursor: Any = raw.cursor()
        if store.engine.dialect.name == "postgresql":
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join("?" for _ in columns)
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})",
                               rows)
        raw.commit()
    finally:
        raw.close()


def finish_bulk_load(store: Store) -> None:
    """On PostgreSQL, move the id sequences past the ids given explicitly and gather the
    statistics autovacuum would have gathered on a database that grew to this size. SQLite is
    left as the store leaves it (no ANALYZE)."""
    if store.engine.dialect.name != "postgresql":
        return
    with store.engine.begin() as conn:
        for table in ("artifacts", "runs"):
            conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                              f"(SELECT max(id) FROM {table}))"))
    with store.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE")


def _now(store: Store) -> Any:
    return SQLITE_NOW if store.engine.dialect.name == "sqlite" else NOW


def add_runs(store: Store, count: int) -> None:
    now = _now(store)
    bulk_insert(store, "runs",
                ("id", "name", "agenda_digest", "config", "seed", "status", "created_at",
                 "updated_at"),
                ((i, f"run {i}", f"{i:064x}", "{}", 0, "completed", now, now)
                 for i in range(1, count + 1)))


ARTIFACT_COLUMNS = ("id", "run_id", "kind", "stage", "step_key", "content_text", "preview",
                    "initial_status", "created_at")


def add_artifacts(store: Store, artifacts: Sequence[tuple[int, int | None, str, str, str, str]],
                  edges: Sequence[tuple[int, int, str]]) -> None:
    """Artifacts (id, run, kind, stage, step key, text), their creation events and edges."""
    now = _now(store)
    bulk_insert(store, "artifacts", ARTIFACT_COLUMNS,
                ((i, run, kind, stage, key, body, body[:PREVIEW_CHARS], "ok", now)
                 for i, run, kind, stage, key, body in artifacts))
    bulk_insert(store, "artifact_events", ("artifact_id", "status", "reason", "created_at"),
                ((a[0], "ok", "created", now) for a in artifacts))
    bulk_insert(store, "provenance_edges", ("child_id", "parent_id", "relation"), edges)


# -- the provenance graph -----------------------------------------------------------------------


@dataclass
class RunGraph:
    """One run's artifacts and edges, ready to insert."""

    artifacts: list[tuple[int, int | None, str, str, str, str]] = field(default_factory=list)
    edges: list[tuple[int, int, str]] = field(default_factory=list)
    topic: int = 0
    claims: list[int] = field(default_factory=list)


def run_graph(run_id: int, first_id: int, size: int, root: int, cited: Sequence[int],
              rng: random.Random) -> RunGraph:
    """About `size` artifacts in the pipeline's shape, ids from `first_id`; the topic derives
    from `root`, the paper cites `cited` (claims of earlier runs) as context."""
    g = RunGraph()

    def add(kind: str, stage: str, key: str, parents: Iterable[int],
            relation: str = "derived_from") -> int:
        node = first_id + len(g.artifacts)
        g.artifacts.append((node, run_id, kind, stage, key, f"{kind} {key}"))
        g.edges.extend((node, p, relation) for p in dict.fromkeys(parents))
        return node

    g.topic = add("topic", "propose", "topic", [root])
    ideas = [add("idea", "propose", f"idea/{k}", [g.topic]) for k in range(10)]
    proposals = [add("proposal", "propose", f"proposal/{k}", rng.sample(ideas, 3))
                 for k in range(3)]
    previous, interpretations, r = proposals[0], [], 0
    round_size = 10 * 18 + 2
    while len(g.artifacts) + round_size + 6 <= size:
        reports = []
        for k in range(10):
            step = f"{r}.{k}"
            task = add("task_spec", "execute", f"task/{step}", [proposals[0], previous])
            plan = add("experiment_plan", "execute", f"plan/{step}", [task])
            runs = [add("sandbox_run", "execute", f"run/{step}/{s}", [plan]) for s in range(12)]
            log = add("step_log", "execute", f"log/{step}", runs)
            report = add("step_report", "execute", f"report/{step}", [log, plan])
            g.claims += [add("experiment_claim", "execute", f"claim/{step}/{c}",
                             [report, *rng.sample(runs, 2)]) for c in range(3)]
            add("check_report", "execute", f"check/{step}", [report, log])
            reports.append(report)
        interpretations.append(add("interpretation", "execute", f"interpret/{r}", reports))
        previous = add("decision", "execute", f"decision/{r}", [interpretations[-1]])
        r += 1
    log = add("research_log", "execute", "research-log", interpretations)
    appendix = add("appendix", "writeup", "appendix", [log], "summarises")
    main_text = add("main_text", "writeup", "main", [appendix, interpretations[-1]],
                    "summarises")
    intro = add("introduction", "writeup", "intro", [main_text], "summarises")
    abstract = add("abstract", "writeup", "abstract", [intro, main_text], "summarises")
    paper = add("paper", "writeup", "paper", [abstract, intro, main_text, appendix], "contains")
    g.edges.extend((paper, c, "context") for c in cited)
    while len(g.artifacts) < size:  # the rest of the run's share: ideas not taken further
        add("idea", "propose", f"idea/{len(g.artifacts)}", [g.topic])
    return g


def build_graph(store: Store, total: int, *, seed: int = 0) -> tuple[int, list[int]]:
    """Insert a `total`-artifact graph of `RUNS` runs; returns (shared root, run topics)."""
    rng = random.Random(seed)
    add_runs(store, RUNS)
    root = 1
    add_artifacts(store, [(root, None, "topic", "propose", "corpus", "shared root")], [])
    next_id, topics, claims = 2, [], []
    per_run = (total - 1) // RUNS
    for run in range(1, RUNS + 1):
        size = per_run if run < RUNS else total - next_id + 1
        cited = rng.sample(claims, min(3, len(claims)))
        g = run_graph(run, next_id, size, root, cited, rng)
        add_artifacts(store, g.artifacts, g.edges)
        next_id += len(g.artifacts)
        topics.append(g.topic)
        claims += rng.sample(g.claims, 20)
    finish_bulk_load(store)
    return root, topics


# -- measuring ----------------------------------------------------------------------------------


def timed(fn: Callable[[], object], repeat: int) -> float:
    """Median seconds of `repeat` calls of `fn` (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak bytes Python allocated while `fn` ran (tracemalloc)."""
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def row(name: str, value: float, unit: str, *, target: str, ok: bool,
        baseline: float | None = None, ratio: float | None = None) -> Row:
    return {"name": name, "value": value, "unit": unit, "baseline": baseline, "ratio": ratio,
            "target": target, "ok": ok}


def measure_walks(db: Database, total: int) -> list[Row]:
    started = time.perf_counter()
    with Store.open(db.url) as store:
        root, topics = build_graph(store, total)
        built = time.perf_counter() - started
        rows = [row(f"{db.dialect}: build {total:,} artifacts (bulk insert)", built, "s",
                    target="a couple of minutes", ok=built < 180)]
        probes = topics[len(topics) // 2::len(topics) // 5][:5]
        reach = statistics.median(len(store.descendants(t)) for t in probes)
        for what, walk in (("descendants", store.descendants),
                           ("count_descendants", store.count_descendants)):
            ms = statistics.median(timed(lambda t=t, f=walk: f(t), 3) for t in probes) * 1000
            rows.append(row(f"{db.dialect}: {what} of a run's topic ({reach:,.0f} = "
                            f"{reach / total:.1%} of the graph)", ms, "ms",
                            target=f"< {WALK_TARGET_MS:.0f} ms", ok=ms < WALK_TARGET_MS))
        listed = peak_bytes(lambda: store.descendants(root))
        streamed = peak_bytes(lambda: sum(1 for _ in store.iter_descendants(root)))
        mb = 1024 * 1024
        rows.append(row(f"{db.dialect}: whole-graph walk ({total - 1:,} ids), streamed vs list "
                        "peak memory", streamed / mb, "MB", baseline=listed / mb,
                        ratio=streamed / listed, target="ratio < 0.1",
                        ok=streamed / listed < 0.1))
    return rows


def cli_call(url: str, *args: str) -> Callable[[], None]:
    """`autoalign --db URL ARGS`, run in this process, its output discarded."""
    from autoalign.cli import main

    def once() -> None:
        saved = sys.argv
        sys.argv = ["autoalign", "--db", url, *args]
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):
                main()
        finally:
            sys.argv = saved

    return once


def timed_pair(first: Callable[[], object], second: Callable[[], object],
               repeat: int) -> tuple[float, float]:
    """Median seconds of each, timed in turns (so that a change in the machine's load hits
    both alike), after one warm-up call each."""
    first()
    second()
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for fn, out in ((first, times[0]), (second, times[1])):
            started = time.perf_counter()
            fn()
            out.append(time.perf_counter() - started)
    return statistics.median(times[0]), statistics.median(times[1])


def measure_listings(small: Database, large: Database, count: int, big_bytes: int) -> list[Row]:
    for db, size in ((small, SMALL_BYTES), (large, big_bytes)):
        with Store.open(db.url) as store:
            add_runs(store, 5)
            add_artifacts(store, [(i, 1 + i % 5, "step_log", "execute", f"log/{i}",
                                   secrets.token_hex(size // 2)) for i in range(1, count + 1)],
                          [])
            finish_bulk_load(store)
    rows = []
    for args in (("status",), ("show", "artifacts"), ("show", "artifacts", "--limit", "0")):
        few, many = timed_pair(cli_call(small.url, *args), cli_call(large.url, *args),
                               repeat=3 if "0" in args else 7)
        ratio = many / few
        rows.append(row(f"{small.dialect}: `autoalign {' '.join(args)}`, {count:,} artifacts of "
                        f"{big_bytes // 1000} kB vs {SMALL_BYTES} B", many * 1000, "ms",
                        baseline=few * 1000, ratio=ratio, target="ratio < 1.5",
                        ok=ratio < 1.5))
    return rows


LOOKUP_INDEXES = (("judgments", "ix_judgments_judge_artifact_id"),
                  ("flaws", "ix_flaws_found_by_id"))


def measure_lookups(db: Database, count: int) -> list[Row]:
    """Judgments by judge reply and flaws by report, indexed vs in a copy without the indexes."""
    with Store.open(db.url) as store:
        add_runs(store, 1)
        add_artifacts(store, [(i, 1, "note", "execute", f"n/{i}", "") for i in
                              range(1, count + 1)], [])
        now = _now(store)
        bulk_insert(store, "judgments",
                    ("artifact_id", "judge_artifact_id", "role", "score", "rationale",
                     "created_at"),
                    ((i, 1 + (i * 7919) % count, "judge", 0.5, "", now)
                     for i in range(1, count + 1)))
        bulk_insert(store, "flaws",
                    ("artifact_id", "found_by_id", "category", "severity", "description",
                     "created_at"),
                    ((i, 1 + (i * 7919) % count, "other", "minor", "", now)
                     for i in range(1, count + 1)))
        finish_bulk_load(store)
    copy = db.copy()
    with Store.open(copy) as store, store.engine.begin() as conn:
        for _table, index in LOOKUP_INDEXES:
            conn.execute(text(f"DROP INDEX {index}"))
    probes = random.Random(1).sample(range(1, count + 1), 20)
    timings: dict[str, list[float]] = {}
    for url in (db.url, copy):
        with Store.open(url) as store:
            lookups = {
                "judgments": lambda p: store.judgments(judge_artifact_id=p),
                "flaws": lambda p: store.flaws(found_by_id=p),
            }
            for name, lookup in lookups.items():
                seconds = statistics.median(timed(lambda p=p, f=lookup: f(p), 3) for p in probes)
                timings.setdefault(name, []).append(seconds * 1000)
    rows = []
    for (table, index), (indexed, scanned) in zip(LOOKUP_INDEXES, timings.values(), strict=True):
        rows.append(row(f"{db.dialect}: {table} lookup by {index.split(table + '_')[1]} "
                        f"({count:,} rows), with vs without {index}", indexed, "ms",
                        baseline=scanned, ratio=indexed / scanned, target="ratio < 0.2",
                        ok=indexed / scanned < 0.2))
    return rows


def measure(quick: bool) -> list[Row]:
    """Every measurement, on SQLite (and PostgreSQL when configured): one dict per row with
    keys name, value, unit, baseline, ratio, target, ok."""
    total = 100_000 if quick else 1_000_000
    listing_count, big_bytes = (1_000, 20_000) if quick else (5_000, 20_000)
    lookup_rows = 100_000 if quick else 500_000
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="store-scale-") as tmp:
        folder = Path(tmp)
        with databases(folder, "graph") as graphs:
            for db in graphs:
                rows += measure_walks(db, total)
        with databases(folder, "small") as smalls, databases(folder, "large") as larges:
            for small, large in zip(smalls, larges, strict=True):
                rows += measure_listings(small, large, listing_count, big_bytes)
        with databases(folder, "lookups") as lookups:
            for db in lookups:
                rows += measure_lookups(db, lookup_rows)
    return rows


def print_table(rows: Sequence[Row]) -> None:
    def number(value: float | None) -> str:
        return "" if value is None else f"{value:,.2f}"

    print(f"{'measurement':<92} {'value':>10} {'unit':<4} {'baseline':>10} {'ratio':>7}  "
          "target")
    for r in rows:
        print(f"{r['name']:<92} {number(r['value']):>10} {r['unit']:<4} "
              f"{number(r['baseline']):>10} {number(r['ratio']):>7}  {r['target']}"
              f"{'' if r['ok'] else '  MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="100,000 artifacts in the provenance graph instead of 1,000,000")
    args = parser.parse_args()
    rows = measure(args.quick)
    print_table(rows)
    sys.exit(0 if all(r["ok"] for r in rows) else 1)


if __name__ == "__main__":
    main()
