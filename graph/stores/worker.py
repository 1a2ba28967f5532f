"""Run embedded-store queries in child processes, with a time limit and a memory limit.

A query can crash LadybugDB (a segmentation fault, an abort on heap corruption, a runaway allocation):
that cannot be caught in Python, and in-process it would take down the CLI or the dashboard's server
with every user's session. So queries run in worker processes:

- a worker is a child process (multiprocessing's `spawn` context: a fresh interpreter, never a fork of
  a threaded server) that caps its own address space with `resource.setrlimit(RLIMIT_AS)` (default
  4 GiB; `CROSSPATH_CYPHER_MEMORY_LIMIT` or the caller's `memory_limit`), sizes LadybugDB's file mapping
  and buffer pool to fit under it, opens the store file read-only and answers queries one at a time,
  keeping the file open between them (reopening it costs more than the pipe round trip);
- the parent sends a query, waits for the answer until the timeout plus a short grace (the store's own
  timeout normally answers first), and on expiry kills the worker;
- a worker that dies (a signal, the kernel's out-of-memory killer) or runs out of memory is replaced
  by a new one at the next query; the failed query gets an error saying what happened and is never
  retried, since a query that crashed the store once will crash it again;
- idle workers are kept (at most MAX_IDLE_WORKERS) and at most MAX_WORKERS queries run at once; a query
  waits for a free worker within its own time limit.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import re
import signal
import threading
import time
from dataclasses import dataclass
from os import _exit as exit_now  # leave the process at once: no interpreter shutdown, no destructors
from pathlib import Path
from typing import Any

from graph.stores.errors import CypherError, StoreCrashError
from graph.stores.results import QueryResult, plain

GiB = 1 << 30
MiB = 1 << 20
DEFAULT_MEMORY_LIMIT = 4 * GiB
MEMORY_LIMIT_ENV = "CROSSPATH_CYPHER_MEMORY_LIMIT"
TIMEOUT_GRACE_S = 2.0  # the store's own timeout answers first; the kill is for a store that does not
STARTUP_TIMEOUT_S = 120.0  # a new worker's start-up (not counted in any query's time limit)
# Address space the child needs besides LadybugDB's two reservations (file mapping and buffer pool):
# the interpreter, real_ladybug's libraries, thread stacks and malloc arenas, the rows being pickled.
_RESERVE_MIN = 768 * MiB
_MIN_FILE_MAP = 64 * MiB
_MIN_BUFFER_POOL = 64 * MiB
_MEMORY_WORDS = ("bad_alloc", "buffer pool is full", "unable to allocate", "mmap for size", "out of memory",
                 "cannot allocate memory")

MAX_WORKERS = 4  # queries running at once (each may use up to the memory limit)
MAX_IDLE_WORKERS = 2  # workers kept for the next queries
CHILD_NAME = "crosspath-cypher"

# Tests only: makes the worker misbehave before running the query ("segfault", "abort", "exit", "hang").
TEST_FAULT: str | None = None


@dataclass(frozen=True)
class Job:
    path: str
    query: str
    parameters: dict[str, Any]
    limit: int | None
    timeout_s: float
    memory_limit: int | None
    fault: str | None = None


def parse_size(text: str | int | None) -> int | None:
    """Bytes from `4GiB`, `4G`, `512MiB`, `512M` or a plain number of bytes; None for `0` / `none` (no limit)."""
    if text is None:
        return None
    if isinstance(text, int):
        return text or None
    value = text.strip().lower().replace(" ", "")
    if value in ("", "0", "none", "off", "unlimited"):
        return None
    match = re.fullmatch(r"(\d+(?:\.\d+)?)(b|k|kb|kib|m|mb|mib|g|gb|gib|t|tb|tib)?", value)
    if not match:
        raise CypherError(f"{text!r} is not a memory size: write e.g. 4GiB, 512MiB or 0 for no limit")
    units = {"b": 1, "k": 1 << 10, "m": MiB, "g": GiB, "t": 1 << 40}
    unit = units[(match.group(2) or "b")[0]]
    return int(float(match.group(1)) * unit) or None


def memory_limit(value: str | int | None = None) -> int | None:
    """The child's address-space limit in bytes (None: no limit): `value` if given, else
    $CROSSPATH_CYPHER_MEMORY_LIMIT, else 4 GiB."""
    if value is not None:
        return parse_size(value)
    env = os.environ.get(MEMORY_LIMIT_ENV)
    return parse_size(env) if env is not None else DEFAULT_MEMORY_LIMIT


def format_size(size: int) -> str:
    return f"{size / GiB:g} GiB" if size >= GiB else f"{size / MiB:.0f} MiB"


def _next_power_of_two(size: int) -> int:
    return 1 << max(0, size - 1).bit_length()


def database_options(path: Path, limit: int | None) -> dict[str, int]:
    """LadybugDB's reservations under an address-space limit: the file mapping (`max_db_size`, a power of
    two at least the file's size) and the buffer pool (`buffer_pool_size`, the rest after a reserve).
    By default LadybugDB maps 8 TiB and sizes its buffer pool at 80% of the machine's memory."""
    if limit is None:
        return {}
    file_map = max(_MIN_FILE_MAP, _next_power_of_two(path.stat().st_size))
    reserve = max(_RESERVE_MIN, limit // 4)
    buffer_pool = limit - file_map - reserve
    if buffer_pool < _MIN_BUFFER_POOL:
        need = file_map + _RESERVE_MIN + _MIN_BUFFER_POOL
        raise CypherError(f"the embedded store's memory limit ({format_size(limit)}) is too small for this "
                          f"store ({path.stat().st_size / MiB:.0f} MB on disk): allow at least "
                          f"{format_size(_next_power_of_two(need))} ({MEMORY_LIMIT_ENV}, CLI: --memory-limit)")
    return {"max_db_size": file_map, "buffer_pool_size": buffer_pool}


def timeout_message(timeout_s: float) -> str:
    return (f"the query ran longer than {timeout_s:g} s and was stopped; narrow it (anchor a node by id, "
            "lower the hop bound) or allow more time (CLI: --timeout)")


def memory_message(limit: int | None, detail: str) -> str:
    allowed = format_size(limit) if limit else "the machine's memory"
    return (f"the query needed more memory than the embedded store may use ({allowed}) and was stopped: {detail}. "
            f"Narrow it (LIMIT, anchor a node by id, fewer hops) or allow more ({MEMORY_LIMIT_ENV}, "
            "CLI: --memory-limit)")


def explain(message: str) -> str:
    """A LadybugDB error with hints for the person who typed the query."""
    text = message.strip()
    if "read-only" in text.lower() or "read only" in text.lower():
        return "the Cypher console is read-only: this query would change the database"
    hints = []
    if "shortestPath" in text or "shortestpath" in text.lower():
        hints.append("the embedded store writes shortest paths as MATCH p = (a)-[* SHORTEST 1..10]->(b)")
    if "Parameter" in text and "not found" in text:
        hints.append("pass every $parameter (CLI: --param name=value)")
    if "mismatched input" in text:
        hints.append("a reserved word (GROUP, ORDER, COUNT, ...) as a name needs backticks: `group`")
    if "Table" in text and "does not exist" in text:
        hints.append("labels are Identity, Credential, Resource, Person; relationship types are the edge kinds; "
                     "quote reserved words with backticks")
    return text + (f" (hint: {'; '.join(hints)})" if hints else "")


def open_database(path: Path, memory: int | None) -> Any:
    """The store file opened read-only, its reservations sized for an address-space limit of `memory`."""
    import real_ladybug as lb

    try:
        return lb.Database(str(path), read_only=True, **database_options(path, memory))
    except RuntimeError as exc:
        if any(word in str(exc).lower() for word in _MEMORY_WORDS):
            raise MemoryError(str(exc)) from exc
        raise CypherError(f"cannot open the embedded store: {exc}") from exc


def execute(database: Any, query: str, parameters: dict[str, Any] | None = None, limit: int | None = None,
            timeout_s: float = 60) -> QueryResult:
    """Run one already-checked query on an open database, in this process. Only workers call it (and
    bench/cypher.py, to measure what the worker adds); everything else goes through run()."""
    import real_ladybug as lb

    connection = lb.Connection(database)
    connection.set_query_timeout(max(1, int(timeout_s * 1000)))
    started = time.perf_counter()
    try:
        result = connection.execute(query, parameters or {})
        if isinstance(result, list):  # several statements: refused before this point, but never trusted
            raise CypherError("the Cypher console runs exactly one statement")
        columns = list(result.get_column_names())
        rows = []
        truncated = False
        while result.has_next():
            if limit is not None and len(rows) >= limit:
                truncated = True
                break
            rows.append([plain(value) for value in result.get_next()])
    except RuntimeError as exc:
        text = str(exc)
        if "interrupt" in text.lower():
            raise CypherError(timeout_message(timeout_s)) from exc
        if any(word in text.lower() for word in _MEMORY_WORDS):
            raise MemoryError(text) from exc
        raise CypherError(explain(text)) from exc
    finally:
        connection.close()
    return QueryResult(columns, rows, (time.perf_counter() - started) * 1000, truncated)


def _cap_address_space(limit: int | None) -> None:
    if limit is None:
        return
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows: no address-space limit there
        return

    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (limit if hard == resource.RLIM_INFINITY else min(limit, hard), hard))
    with contextlib.suppress(Exception):  # glibc: each malloc arena reserves 64 MiB of address space
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 4)  # M_ARENA_MAX: at most 4 of them


def _misbehave(fault: str | None) -> None:
    if fault == "segfault":
        os.kill(os.getpid(), signal.SIGSEGV)
    elif fault == "abort":
        os.abort()
    elif fault == "exit":
        exit_now(3)
    elif fault == "hang":
        time.sleep(3600)


def _answer(job: Job, opened: dict[str, Any]) -> tuple:
    """("ok", result) or ("error", kind, message) for one job; `opened` holds the one open database."""
    try:
        _misbehave(job.fault)
        stat = os.stat(job.path)
        key = f"{job.path}|{stat.st_ino}|{stat.st_mtime_ns}"  # a rebuilt file is a new database
        if key not in opened:
            for database in opened.values():
                database.close()
            opened.clear()
            opened[key] = open_database(Path(job.path), job.memory_limit)
        return ("ok", execute(opened[key], job.query, job.parameters, job.limit, job.timeout_s))
    except CypherError as exc:
        return ("error", "cypher", str(exc))
    except FileNotFoundError:
        return ("error", "cypher", f"{job.path}: the embedded store's file is gone; run the query again to rebuild it")
    except MemoryError as exc:
        return ("error", "memory", str(exc) or "the worker ran out of address space")
    except Exception as exc:  # noqa: BLE001 - anything else still gets an answer, not a hang
        return ("error", "cypher", f"the embedded store failed: {type(exc).__name__}: {exc}")


def _serve(connection: Any, memory: int | None) -> None:
    """A worker: answer jobs until the parent goes away, then leave without running destructors."""
    opened: dict[str, Any] = {}
    try:
        _cap_address_space(memory)
        connection.send(("ready",))
        while True:
            try:
                job = connection.recv()
            except (EOFError, OSError):
                break
            try:
                connection.send(_answer(job, opened))
            except MemoryError:  # the answer itself did not fit (a huge result)
                connection.send(("error", "memory", "the result is larger than the memory limit allows"))
    finally:
        exit_now(0)


def _without_main(get_preparation_data: Any) -> Any:
    """multiprocessing re-imports the parent's __main__ in every child it starts (for functions defined
    there). A worker needs nothing from it, and the parent's main can be costly (the dashboard's is
    Streamlit's command line) or even unguarded, so it is left out for this module's children only."""
    def preparation_data(name: str) -> dict[str, Any]:
        data = get_preparation_data(name)
        if name == CHILD_NAME:
            data.pop("init_main_from_name", None)
            data.pop("init_main_from_path", None)
        return data

    preparation_data.wrapped = get_preparation_data  # type: ignore[attr-defined]
    return preparation_data


def _mp_context() -> Any:
    from multiprocessing import spawn

    if not hasattr(spawn.get_preparation_data, "wrapped"):
        spawn.get_preparation_data = _without_main(spawn.get_preparation_data)
    return multiprocessing.get_context("spawn")


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _crash(exitcode: int | None, limit: int | None) -> StoreCrashError:
    if exitcode is not None and exitcode < 0:
        number = -exitcode
        why = ""
        if number == getattr(signal, "SIGKILL", 9):
            why = (" - killed from outside, most likely by the system's out-of-memory killer"
                   + (f"; the worker's own limit is {format_size(limit)} ({MEMORY_LIMIT_ENV})" if limit else ""))
        return StoreCrashError(
            f"the embedded store crashed while running the query (signal {number}: {_signal_name(number)}{why}); "
            "the query was not run twice. Nothing else is affected; a narrower query or a different formulation "
            "may avoid the engine's defect (docs/cypher.md lists known ones)")
    return StoreCrashError(f"the embedded store's process ended (exit code {exitcode}) while running the query; "
                           "the query was not run twice")


class _Worker:
    def __init__(self, memory: int | None):
        context = _mp_context()
        self.memory = memory
        self.connection, child_end = context.Pipe(duplex=True)
        self.process = context.Process(target=_serve, args=(child_end, memory), name=CHILD_NAME, daemon=True)
        try:
            self.process.start()
        except OSError as exc:
            raise CypherError(f"cannot start the embedded store's process: {exc}") from exc
        finally:
            child_end.close()

    def wait_ready(self) -> None:
        """Wait for a new worker to start (an interpreter, LadybugDB's import): not part of any query's time."""
        try:
            if self.connection.poll(STARTUP_TIMEOUT_S) and self.connection.recv() == ("ready",):
                return
        except (EOFError, OSError):
            pass
        self.stop()
        raise CypherError(f"the embedded store's worker process did not start (exit code {self.process.exitcode}); "
                          "check that real-ladybug is installed and that the machine has memory left")

    def alive(self) -> bool:
        return self.process.is_alive()

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.connection.close()
        if self.process.is_alive():
            self.process.kill()
        self.process.join(5)


_pool_lock = threading.Lock()
_idle: list[_Worker] = []
_slots = threading.BoundedSemaphore(MAX_WORKERS)


def _checkout(memory: int | None) -> _Worker:
    with _pool_lock:
        while _idle:
            worker = _idle.pop()
            if worker.memory == memory and worker.alive():
                return worker
            worker.stop()
    worker = _Worker(memory)
    worker.wait_ready()
    return worker


def _checkin(worker: _Worker) -> None:
    with _pool_lock:
        if len(_idle) < MAX_IDLE_WORKERS:
            _idle.append(worker)
            return
    worker.stop()


def shutdown() -> None:
    """Stop the idle workers (they also stop by themselves when this process ends)."""
    with _pool_lock:
        while _idle:
            _idle.pop().stop()


def run(path: Path, query: str, parameters: dict[str, Any] | None = None, limit: int | None = None,
        timeout_s: float = 60, memory: int | None = DEFAULT_MEMORY_LIMIT) -> QueryResult:
    """Run one checked query on the store file `path` in a worker process (see the module docstring)."""
    job = Job(str(Path(path).resolve()), query, dict(parameters or {}), limit, timeout_s, memory, TEST_FAULT)
    started = time.perf_counter()
    if not _slots.acquire(timeout=timeout_s):
        raise CypherError(f"the embedded store is busy with {MAX_WORKERS} other queries; try again shortly")
    try:
        remaining = max(0.0, timeout_s - (time.perf_counter() - started))  # waiting for a slot counts
        worker = _checkout(memory)  # starting a worker does not
        try:
            worker.connection.send(job)
        except OSError:  # an idle worker died since its last answer: the query has not run, use a new one
            worker.stop()
            worker = _Worker(memory)
            worker.wait_ready()
            worker.connection.send(job)
        message = None
        try:
            if not worker.connection.poll(remaining + TIMEOUT_GRACE_S):
                worker.stop()
                raise CypherError(timeout_message(timeout_s))
            message = worker.connection.recv()
        except (EOFError, OSError):
            message = None
        except BaseException:  # interrupted (Ctrl-C in the shell): the worker may still be busy
            worker.stop()
            raise
        if message is None:
            worker.process.join(5)
            exitcode = worker.process.exitcode
            worker.stop()
            raise _crash(exitcode, memory)
        if message[0] == "error" and message[1] == "memory":
            worker.stop()  # its heap may be in any state: the next query gets a fresh worker
        else:
            _checkin(worker)
    finally:
        _slots.release()
    if message[0] == "ok":
        result: QueryResult = message[1]
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result
    _, kind, text = message
    if kind == "memory":
        raise CypherError(memory_message(memory, text))
    raise CypherError(text)
