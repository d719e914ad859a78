"""The commands' side of the warm memo process (memo.serving.daemon): `search` and `ask` send their
request to it, starting it when none runs, and fall back to answering in-process when it cannot
start or `daemon.enabled` is off (`--no-daemon`).

Where it listens: a Unix socket in a folder only this user may enter (/tmp/memo-UID, mode 0700),
named after MEMO_HOME, so two homes (two test runs) never share a process and no other user can
connect. The protocol is JSON lines over one connection per request:

    -> {"stamp": ..., "op": "search"|"ask"|"status"|"release"|"stop", "settings": {...}, "args": {...}}
    <- {"event": "text", "text": ...}             (ask, streamed as it decodes)
    <- {"event": "notice", "level": ..., "message": ...}
    <- {"event": "result", "value": ...}  or  {"event": "error", "message": ..., "exit_code": N}
       or {"event": "stale"} when the process runs other memo code (then it exits and is restarted)
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import memo
from memo.answering import ask as answering
from memo.answering.ask import Answer
from memo.core import notices
from memo.core.config import Settings
from memo.core.errors import MemoError
from memo.core.limits import check_question
from memo.ingestion.indexer import IndexReport, Target, index_corpus, repair_index
from memo.retrieval import hybrid
from memo.retrieval.hybrid import Hit

START_TIMEOUT = 60.0  # seconds to wait for a new warm process to listen (it imports, then listens)
SECRET_VARIABLES = ("MEMO_API_KEY", "OPENAI_API_KEY")  # never handed to the long-lived process


class DaemonUnavailable(Exception):
    """The warm process could not be reached or started: answer in-process instead."""


def runtime_dir() -> Path:
    """/tmp/memo-UID: made with mode 0700, refused when another user owns it or may enter it."""
    path = Path(tempfile.gettempdir()) / f"memo-{os.getuid()}"
    try:
        path.mkdir(mode=0o700, exist_ok=True)
        info = path.lstat()
    except OSError as exc:
        raise DaemonUnavailable(f"cannot use {path} ({exc.strerror})") from None
    if info.st_uid != os.getuid() or info.st_mode & 0o077 or not path.is_dir() or path.is_symlink():
        raise DaemonUnavailable(f"{path} is not a private folder of this user")
    return path


def socket_path(home: Path) -> Path:
    """The warm process's socket for MEMO_HOME `home` (short: a socket path has ~100 bytes)."""
    key = hashlib.sha256(str(Path(home).resolve()).encode()).hexdigest()[:16]
    return runtime_dir() / f"{key}.sock"


def code_stamp() -> str:
    """Which memo code and Python run: a warm process started before an upgrade or an edit
    answers `stale` and is replaced."""
    digest = hashlib.sha256(f"{memo.__version__} {sys.executable}".encode())
    package = Path(memo.__file__).parent
    for path in sorted(package.rglob("*.py")):
        info = path.stat()
        digest.update(f"{path.relative_to(package)} {info.st_size} {info.st_mtime_ns}".encode())
    return digest.hexdigest()[:16]


def request(settings: Settings, op: str, args: dict[str, Any],
            on_text: Callable[[str], None] | None = None, start: bool = True) -> Any:
    """Send one request to the warm process for `settings.home` (started first when `start` and
    none runs) and return its result; its notices are re-issued here, its errors raised as
    MemoError with its exit code. DaemonUnavailable when it cannot be reached or started."""
    message = {"stamp": code_stamp(), "op": op, "settings": settings.as_dict(), "args": args,
               "stream": on_text is not None}
    for _ in range(2):
        conn = _connect(settings.home, start)
        if conn is None:
            raise DaemonUnavailable("no warm process runs")
        with conn:
            conn.sendall(json.dumps(message).encode() + b"\n")
            reply = _read_replies(conn, on_text)
        if reply is not _STALE:
            return reply
        _wait_gone(settings.home)
    raise DaemonUnavailable("the warm process kept answering for other memo code")


_STALE = object()


def _read_replies(conn: socket.socket, on_text: Callable[[str], None] | None) -> Any:
    for line in conn.makefile("r", encoding="utf-8"):
        event = json.loads(line)
        kind = event.get("event")
        if kind == "text" and on_text is not None:
            on_text(event["text"])
        elif kind == "notice":
            {"warning": notices.warn, "note": notices.note}.get(event["level"], notices.status)(event["message"])
        elif kind == "result":
            return event["value"]
        elif kind == "error":
            error = MemoError(event["message"])
            error.exit_code = int(event.get("exit_code", 2))
            raise error
        elif kind == "stale":
            return _STALE
    raise DaemonUnavailable("the warm process closed the connection without an answer")


def _connect(home: Path, start: bool) -> socket.socket | None:
    """A connection to the warm process, starting it when `start` and none listens."""
    path = socket_path(home)
    conn = _try_connect(path)
    if conn is not None or not start:
        return conn
    process = _spawn(home)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        conn = _try_connect(path)
        if conn is not None:
            return conn
        if process.poll() is not None and process.returncode != 0:
            raise DaemonUnavailable(f"the warm process exited with code {process.returncode} "
                                    f"(see {log_path(home)})")
        time.sleep(0.05)
    raise DaemonUnavailable(f"the warm process did not start within {START_TIMEOUT:.0f} s (see {log_path(home)})")


def _try_connect(path: Path) -> socket.socket | None:
    conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        conn.connect(str(path))
    except OSError:
        conn.close()
        return None
    return conn


def _wait_gone(home: Path, seconds: float = 10.0) -> None:
    """Wait until the stale process has stopped listening."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and socket_path(home).exists():
        time.sleep(0.05)


def log_path(home: Path) -> Path:
    return Path(home) / "logs" / "daemon.log"


def _spawn(home: Path) -> subprocess.Popen:
    """Start `python -m memo.serving.daemon HOME` in its own session, logging to its log file."""
    log = log_path(home)
    log.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in SECRET_VARIABLES}
    env["MEMO_HOME"] = str(home)
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "memo.serving.daemon", str(home)], stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
                                close_fds=True)


def status(settings: Settings) -> dict | None:
    """What the warm process for this home holds, or None when none runs (nothing is started)."""
    try:
        return request(settings, "status", {}, start=False)
    except DaemonUnavailable:
        return None


def stop(settings: Settings) -> bool:
    """Ask the warm process for this home to exit; False when none was running."""
    try:
        request(settings, "stop", {}, start=False)
    except DaemonUnavailable:
        return False
    _wait_gone(settings.home)
    return True


def release(settings: Settings) -> bool:
    """Ask the warm process for this home to let go of the index of `settings` (it opens the store
    afresh on its next request); False when none was running."""
    try:
        request(settings, "release", {}, start=False)
    except DaemonUnavailable:
        return False
    return True


def repair(settings: Settings, show_progress: bool = True) -> list[IndexReport]:
    """`memo repair` (memo.ingestion.indexer.repair_index), once a warm process of this home has let
    go of the store being set aside."""
    release(settings)
    return repair_index(settings, show_progress)


def index(settings: Settings, paths: list[Path], target: Target, prune_missing: bool = False,
          rebuild: bool = False, show_progress: bool = True) -> IndexReport:
    """`memo index` (memo.ingestion.indexer.index_corpus); a rebuild first has a warm process of this
    home let go of the store it replaces."""
    if rebuild:
        release(settings)
    return index_corpus(settings, paths, target, prune_missing=prune_missing, rebuild=rebuild,
                        show_progress=show_progress)


def search(settings: Settings, query: str, company: str, role: str | None = None, k: int | None = None) -> list[Hit]:
    """`memo search`: through the warm process when `daemon.enabled`, else in-process."""
    if query.strip():
        check_question(query)  # refused here, before a warm process is started for it
    if settings.daemon.enabled:
        try:
            hits = request(settings, "search", {"query": query, "company": company, "role": role, "k": k})
            return [Hit(**hit) for hit in hits]
        except DaemonUnavailable as exc:
            notices.note(f"searching in-process: {exc}")
    return hybrid.search(settings, query, company, role, k)


def ask(settings: Settings, question: str, company: str, role: str | None = None, mode: str = "auto",
        adapter: str | None = None, endpoint: str | None = None, served_model: str | None = None,
        timeout: float = 120.0, on_text: Callable[[str], None] | None = None,
        candidate: str | None = "auto") -> Answer:
    """`memo ask` (memo.answering.ask.ask): through the warm process when `daemon.enabled` and the
    model is local; an --endpoint answer is asked in-process (its key never leaves this process)."""
    if question.strip():
        check_question(question)
    if settings.daemon.enabled and not endpoint:
        if served_model:
            raise MemoError("--model names a model served at --endpoint; for local weights use --llm")
        try:
            value = request(settings, "ask", {"question": question, "company": company, "role": role,
                                              "mode": mode, "adapter": adapter, "candidate": candidate}, on_text)
            return Answer(**value)
        except DaemonUnavailable as exc:
            notices.note(f"answering in-process: {exc}")
    return answering.ask(settings, question, company, role, mode, adapter, endpoint, served_model, timeout, on_text,
                         candidate)
