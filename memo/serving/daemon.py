"""The warm memo process: it holds the opened index (Chroma, BM25, the query encoder) and the
loaded models, and answers `memo search` and `memo ask` for one MEMO_HOME, so that only the first
command of a session pays for loading them (the way Ollama and language servers work).

    python -m memo.serving.daemon MEMO_HOME      (started by memo.serving.daemon_client)

It listens on the home's Unix socket in a folder only its user may enter, answers one request at
a time, and exits after `daemon.idle_timeout` seconds without one, on `memo daemon stop`, or when
a command runs other memo code (a `stale` reply; the command then starts a fresh process). An
index is reopened when `memo index` has committed to it since (its manifest and docstore change).
A store that fails a request (a damaged index) is let go at once, and `memo repair` and `memo
index --rebuild` ask the process to let go of their index (`release`) before they start, so the
next request opens the store as it is then, never a cached client of the broken one.
Its log, with the traceback of anything unexpected, is MEMO_HOME/logs/daemon.log.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import sys
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

from memo.answering.ask import GENERATING_MODES, Answerer, resolve_mode
from memo.answering.selector import load_scorer
from memo.core import notices
from memo.core.config import Settings, settings_from_dict
from memo.core.errors import PASS_THROUGH, LibraryError, MemoError, describe
from memo.core.redaction import RedactingFormatter
from memo.ingestion.store import forget_clients
from memo.llm.adapter import resolve_adapter
from memo.llm.generator import load_generator
from memo.retrieval.hybrid import HybridRetriever
from memo.serving.daemon_client import code_stamp, socket_path

LOG = logging.getLogger("memo.daemon")
OPS = ("search", "ask", "status", "release", "stop")
MAX_MODELS = 2  # models kept loaded (base + one adapter): a SmolLM2 is 0.65 GB mapped, 1.2 GB when transformers loads too


class Stop(Exception):
    """Raised by a request that ends the process (stop, or a stale command)."""


class Warm:
    """The loaded state, keyed by what it depends on, and one handler per operation."""

    def __init__(self):
        self.started = time.time()
        self.stamp = code_stamp()
        self.retrievers: dict[tuple, tuple[tuple, HybridRetriever]] = {}
        self.generators: OrderedDict[tuple, Any] = OrderedDict()
        self.scorers: dict[tuple, Any] = {}  # evidence selectors, keeping their sentence vectors
        self.served = 0
        self.idle_timeout = 900.0  # the latest request's daemon.idle_timeout

    def retriever(self, settings: Settings) -> HybridRetriever:
        """The index's retriever, reopened when the index changed since it was opened."""
        key = (str(settings.index_dir), settings.index.chroma_url, settings.model.embedder)
        generation = _index_generation(settings.index_dir)
        held = self.retrievers.get(key)
        if held is None or held[0] != generation:
            if held is not None:
                forget_clients()
            held = (generation, HybridRetriever(settings))
            self.retrievers[key] = held
        held[1].settings = settings  # this request's retrieval settings
        return held[1]

    def generator(self, settings: Settings, adapter: Path | None):
        model = settings.model
        key = (model.profile, model.llm, model.device, model.threads, str(adapter), settings.generation.fast_decode)
        if key not in self.generators:
            if len(self.generators) >= MAX_MODELS:
                self.generators.popitem(last=False)
            self.generators[key] = load_generator(settings, adapter)
        self.generators.move_to_end(key)
        return self.generators[key]

    def scorer(self, settings: Settings, retriever):
        """The evidence selector, one per configured selector, kept with the vectors it computed."""
        key = (settings.evidence.selector, settings.model.embedder)
        if key not in self.scorers:
            self.scorers[key] = load_scorer(settings, lambda: retriever.embedder)
        return self.scorers[key]

    def search(self, settings: Settings, args: dict, send) -> list[dict]:
        hits = self.retriever(settings).retrieve(args["query"], args["company"], args.get("role"), args.get("k"))
        return [hit.as_dict() for hit in hits]

    def ask(self, settings: Settings, args: dict, send) -> dict:
        company, role = args["company"], args.get("role")
        mode, adapter = resolve_mode(settings, args.get("mode", "auto"), args.get("adapter"), None)
        path = resolve_adapter(adapter)
        retriever = self.retriever(settings)
        Answerer(settings, retriever=retriever, adapter=path).check_mode(mode)
        retriever.scope(company, role)  # refused before any model loads
        generator = self.generator(settings, path) if mode in GENERATING_MODES else None
        answerer = Answerer(settings, retriever=retriever, generator=generator, adapter=path,
                            scorer=self.scorer(settings, retriever))
        on_text = (lambda text: send({"event": "text", "text": text})) if args.get("stream") else None
        return answerer.ask(args["question"], company, role, mode, on_text, args.get("candidate")).as_dict()

    def status(self, settings: Settings, args: dict, send) -> dict:
        return {"pid": os.getpid(), "uptime_s": round(time.time() - self.started, 1), "requests": self.served,
                "indexes": sorted(key[0] for key in self.retrievers),
                "models": [f"{key[0]} {key[1] or '(default weights)'} adapter={key[4]}" for key in self.generators],
                "selectors": [key[0] or f"{key[1]} cosine" for key in self.scorers],
                "idle_timeout_s": settings.daemon.idle_timeout}

    def release(self, settings: Settings, args: dict, send) -> None:
        """Let go of this home's index (its store is being set aside or rebuilt)."""
        self.forget(settings)

    def forget(self, settings: Settings) -> None:
        """Drop the opened index of `settings` and Chroma's cached clients with it."""
        for key in [key for key in self.retrievers if key[0] == str(settings.index_dir)]:
            del self.retrievers[key]
        forget_clients()

    def stop(self, settings: Settings, args: dict, send) -> None:
        send({"event": "result", "value": None})
        raise Stop


def _index_generation(index_dir: Path) -> tuple:
    """Changes whenever `memo index` commits: the manifest and docstore are rewritten each batch."""
    stamps = []
    for name in ("manifest.json", "docstore.json"):
        try:
            info = (index_dir / name).stat()
            stamps.append((info.st_mtime_ns, info.st_size))
        except OSError:
            stamps.append(None)
    return tuple(stamps)


class _Forward(logging.Handler):
    """memo's notices raised while answering a request go back to the command that sent it."""

    LEVELS = {logging.WARNING: "warning", notices.NOTE: "note"}

    def __init__(self, send):
        super().__init__()
        self.send = send

    def emit(self, record: logging.LogRecord) -> None:
        self.send({"event": "notice", "level": self.LEVELS.get(record.levelno, "status"),
                   "message": record.getMessage()})


def handle(warm: Warm, conn: socket.socket) -> None:
    """Read one request from `conn`, answer it, and raise Stop when the process should exit."""
    def send(event: dict) -> None:
        conn.sendall(json.dumps(event, default=str).encode() + b"\n")

    line = conn.makefile("r", encoding="utf-8").readline()
    if not line:
        return
    message = json.loads(line)
    if message.get("stamp") != warm.stamp:
        send({"event": "stale"})
        raise Stop
    op = getattr(warm, message.get("op", ""), None) if message.get("op") in OPS else None
    forward, settings = _Forward(send), None
    notices.LOGGER.addHandler(forward)
    try:
        if op is None:
            raise MemoError(f"the warm process does not know the request {message.get('op')!r}")
        settings = settings_from_dict(message["settings"])
        warm.idle_timeout = settings.daemon.idle_timeout
        value = op(settings, {**message.get("args", {}), "stream": message.get("stream")}, send)
        send({"event": "result", "value": value})
    except MemoError as exc:
        if isinstance(exc, LibraryError) and settings is not None:
            warm.forget(settings)  # a damaged store (or a library failing on it) is not kept open
        send({"event": "error", "message": str(exc), "exit_code": exc.exit_code})
    except (Stop, BrokenPipeError, ConnectionResetError):
        raise
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # noqa: BLE001 - a library's error or panic: one line to the command, logged in full
        LOG.exception("request failed")
        send({"event": "error", "message": f"the warm memo process failed: {describe(exc)} "
              f"(full report in its log; `--no-daemon` answers in-process)", "exit_code": 1})
    finally:
        notices.LOGGER.removeHandler(forward)
        warm.served += 1


def serve(home: Path) -> int:
    """Listen on the home's socket until idle, stopped or stale. Exits at once (0) when another
    process already serves this home."""
    path = socket_path(home)
    lock = open(str(path) + ".lock", "w")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0
    warm = Warm()
    path.unlink(missing_ok=True)
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(str(path))
    os.chmod(path, 0o600)
    server.listen(16)
    LOG.info("listening on %s (pid %d)", path, os.getpid())
    try:
        while True:
            server.settimeout(warm.idle_timeout)
            try:
                conn, _ = server.accept()
            except TimeoutError:
                LOG.info("idle for %.0f s: exiting", warm.idle_timeout)
                return 0
            with conn:
                try:
                    handle(warm, conn)
                except Stop:
                    return 0
                except (BrokenPipeError, ConnectionResetError):
                    LOG.info("the command went away mid-answer")
    finally:
        server.close()
        path.unlink(missing_ok=True)


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in logging.getLogger().handlers:  # nothing secret reaches the log
        handler.setFormatter(RedactingFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    if len(sys.argv) != 2:
        LOG.error("usage: python -m memo.serving.daemon MEMO_HOME")
        return 2
    return serve(Path(sys.argv[1]))


if __name__ == "__main__":
    raise SystemExit(main())
