"""The warm memo process (memo.serving.daemon) through the real CLI: `memo search` and `memo ask`
answered by one long-lived process, identical to in-process answers, reopened after indexing,
private to its user, and gone when stopped, idle or stale."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time

import pytest

from memo.core.config import load_settings
from memo.serving.daemon_client import code_stamp, runtime_dir, socket_path
from tests.conftest import QUESTION, REPO_ROOT, write_files

ON = {"MEMO_DAEMON_ENABLED": "true"}


@pytest.fixture
def warm(demo, run_memo, monkeypatch):
    """The demo home with the warm process enabled; stopped (or killed) after the test."""
    monkeypatch.setenv("MEMO_DAEMON_ENABLED", "true")
    yield demo
    run_memo("daemon", "stop")
    path = socket_path(demo)
    assert not path.exists(), "memo daemon stop left the socket behind"


def status(run_memo) -> dict:
    done = run_memo("daemon", "status", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_searches_share_one_process_and_equal_in_process(warm, run_memo):
    assert status(run_memo) == {"running": False}
    first = run_memo("search", "parental leave", "--company", "Tidewell", "--json")
    assert first.returncode == 0, first.stderr
    info = status(run_memo)
    assert info["running"] and info["requests"] == 1
    second = run_memo("search", "on-call rotation", "--company", "Tidewell", "--role", "Backend Engineer", "--json")
    again = status(run_memo)
    assert again["pid"] == info["pid"] and again["requests"] == 3  # two searches and a status
    local = run_memo("search", "on-call rotation", "--company", "Tidewell", "--role", "Backend Engineer", "--json",
                     "--no-daemon")
    assert json.loads(second.stdout) == json.loads(local.stdout)
    assert status(run_memo)["requests"] == 4  # --no-daemon did not ask it


def test_user_errors_keep_their_line_and_exit_code(warm, run_memo):
    done = run_memo("search", "leave", "--company", "Nobody")
    assert done.returncode == 3
    assert done.stderr.strip().startswith("memo: error: nothing is indexed for company 'Nobody'")
    assert "Traceback" not in done.stderr
    assert status(run_memo)["running"]  # the process survives a refused request


def test_ask_through_the_warm_process_equals_in_process(warm, run_memo):
    warm_answer = run_memo("ask", QUESTION, "--company", "Tidewell", "--json")
    assert warm_answer.returncode == 0, warm_answer.stderr
    local = run_memo("ask", QUESTION, "--company", "Tidewell", "--json", "--no-daemon")
    assert json.loads(warm_answer.stdout) == json.loads(local.stdout)
    assert status(run_memo)["selectors"] and not status(run_memo)["models"]  # the default loads no generator


def test_index_changes_are_seen(warm, run_memo, tmp_path):
    assert run_memo("search", "leave", "--company", "Tidewell").returncode == 0
    extra = write_files(tmp_path / "extra", {"pets.md": "# Pets at work\n\nDogs are welcome in the Lisbon "
                                             "office on Fridays, with a quiet corner and water bowls."})
    indexed = run_memo("index", str(extra), "--company", "Tidewell")
    assert indexed.returncode == 0, indexed.stderr
    hits = json.loads(run_memo("search", "Can I bring my dog to the office?", "--company", "Tidewell",
                               "--json").stdout)
    assert hits[0]["source"].endswith("pets.md")


def test_private_socket_and_no_secrets(warm, run_memo):
    done = run_memo("search", "leave", "--company", "Tidewell", env={"OPENAI_API_KEY": "sk-test-secret-123"})
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(runtime_dir().stat().st_mode) == 0o700
    assert stat.S_IMODE(socket_path(warm).stat().st_mode) == 0o600
    environ = (f"/proc/{status(run_memo)['pid']}/environ")
    if os.path.exists(environ):
        assert b"sk-test-secret-123" not in open(environ, "rb").read()


def test_stale_code_is_replaced(warm, run_memo):
    assert run_memo("search", "leave", "--company", "Tidewell").returncode == 0
    pid = status(run_memo)["pid"]
    with socket.socket(socket.AF_UNIX) as conn:  # what an older memo would send
        conn.connect(str(socket_path(warm)))
        conn.sendall(json.dumps({"stamp": "older", "op": "status", "settings": load_settings().as_dict(),
                                 "args": {}}).encode() + b"\n")
        assert json.loads(conn.makefile().readline()) == {"event": "stale"}
    for _ in range(100):
        if not socket_path(warm).exists():
            break
        time.sleep(0.05)
    assert run_memo("search", "leave", "--company", "Tidewell").returncode == 0
    assert status(run_memo)["pid"] != pid
    assert code_stamp() == code_stamp()


def test_idle_timeout_ends_it(warm, run_memo):
    done = run_memo("search", "leave", "--company", "Tidewell", env={"MEMO_DAEMON_IDLE_TIMEOUT": "1"})
    assert done.returncode == 0, done.stderr
    for _ in range(100):
        if not socket_path(warm).exists():
            break
        time.sleep(0.1)
    assert not socket_path(warm).exists()
    assert status(run_memo) == {"running": False}


def test_a_stale_socket_file_is_replaced(warm, run_memo):
    """A socket file left by a process that died without cleaning up (nothing listens on it)."""
    path = socket_path(warm)
    leftover = socket.socket(socket.AF_UNIX)
    leftover.bind(str(path))
    leftover.close()  # the file stays, and nothing accepts on it
    assert path.exists()
    done = run_memo("search", "leave", "--company", "Tidewell", "--json")
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert status(run_memo)["running"]


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to run a command as a second user")
def test_another_user_cannot_reach_the_warm_process(warm, run_memo):
    assert run_memo("search", "leave", "--company", "Tidewell").returncode == 0
    path = socket_path(warm)
    probe = ("import socket, sys\ns = socket.socket(socket.AF_UNIX)\n"
             "try:\n    s.connect(sys.argv[1])\nexcept PermissionError:\n    print('refused')\n"
             "else:\n    print('connected')\n")
    system_python = shutil.which("python3", path="/usr/bin:/bin")  # one the other user may run
    if system_python is None:
        pytest.skip("no system python3 for the second user")
    other = subprocess.run([system_python, "-c", probe, str(path)], capture_output=True, text=True, user=65534,
                           cwd="/", env={"PATH": "/usr/bin:/bin"})
    assert other.stdout.strip() == "refused", other.stderr
    assert status(run_memo)["requests"] == 1  # the search; nothing of the other user reached it


def test_a_kill_mid_answer_leaves_a_working_process(warm, run_memo, memo_env):
    """The command killed while the warm process answers it: the process lives on and answers the
    next command. The warm process killed mid-answer: the command ends cleanly and the next one
    starts a new process."""
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    assert run_memo("search", "leave", "--company", "Tidewell").returncode == 0  # warm, model not loaded yet
    pid = status(run_memo)["pid"]
    client = subprocess.Popen([sys.executable, "-m", "memo", "ask", QUESTION, "--company", "Tidewell", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(2.0)  # the warm process is loading the model or answering
    client.kill()
    client.wait()
    after = run_memo("ask", QUESTION, "--company", "Tidewell", "--json")
    assert after.returncode == 0, after.stderr
    assert status(run_memo)["pid"] == pid

    client = subprocess.Popen([sys.executable, "-m", "memo", "ask", QUESTION, "--company", "Tidewell", "--json"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    os.kill(pid, signal.SIGKILL)
    out, err = client.communicate(timeout=300)
    assert "Traceback" not in err, err
    assert client.returncode == 0 or len(err.strip().splitlines()) == 1, err
    again = run_memo("search", "leave", "--company", "Tidewell", "--json")
    assert again.returncode == 0, again.stderr
    assert status(run_memo)["pid"] != pid
