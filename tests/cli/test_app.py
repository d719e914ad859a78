"""The light path: `memo --help` and every subcommand's --help import no heavy library, and user
errors are one line with a non-zero exit code."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "transformers", "chromadb", "vllm", "sentence_transformers", "llama_index")
COMMANDS = ("index", "search", "ask", "synth", "train", "serve", "doctor", "bench", "status", "config", "repair")


@pytest.mark.parametrize("argv", [["--help"]] + [[command, "--help"] for command in COMMANDS])
def test_help_imports_no_heavy_library(argv):
    code = ("import sys, contextlib, io\nfrom memo.cli import main\n"
            "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
            f"    try: main({argv!r})\n    except SystemExit: pass\n"
            f"heavy = [m for m in {HEAVY!r} if m in sys.modules]\n"
            "print(heavy, len(out.getvalue()))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    heavy, size = done.stdout.rsplit("]", 1)
    assert heavy == "[" and int(size) > 200


def test_subcommand_help_is_the_docstring(run_memo):
    done = run_memo("ask", "--help")
    assert done.returncode == 0 and "first person" in done.stdout and "--mode" in done.stdout


@pytest.mark.parametrize("args, needle", [
    (["search", "q"], "--company"),
    (["index", "somewhere"], "--company is required"),
    (["ask", "q", "--company", "X", "--mode", "wild"], "invalid choice"),
])
def test_usage_errors(memo_env, run_memo, args, needle):
    done = run_memo(*args)
    assert done.returncode == 2 and needle in done.stderr and "Traceback" not in done.stderr


def test_bad_setting_from_environment_is_one_line(memo_env, run_memo):
    done = run_memo("config", env={"MEMO_RETRIEVAL_K": "lots"})
    assert done.returncode == 2
    assert done.stderr.strip() == "memo: error: $MEMO_RETRIEVAL_K: 'lots' is not a valid int"


def test_config_prints_effective_settings(memo_env, run_memo):
    import json

    done = run_memo("config", "--index", "second", env={"MEMO_RETRIEVAL_K": "8"})
    settings = json.loads(done.stdout)
    assert settings["retrieval"]["k"] == 8 and settings["index"]["name"] == "second"


def test_train_takes_the_old_settings_spelling_with_a_warning(memo_env, tmp_path, run_memo):
    """`--config` is the settings file in every command; `memo train --settings` still works."""
    toml = tmp_path / "memo.toml"
    toml.write_text("[train]\nlora_r = 128\n")
    old = run_memo("train", str(tmp_path), "--out", str(tmp_path / "a"), "--settings", str(toml))
    lines = old.stderr.strip().splitlines()
    assert old.returncode == 2 and len(lines) == 2, old.stderr
    assert lines[0].startswith("memo: warning: --settings is now --config")
    assert lines[1].startswith("memo: error: ") and "lora_r" in lines[1]  # the file was read
    both = run_memo("train", str(tmp_path), "--out", str(tmp_path / "a"), "--settings", str(toml),
                    "--config", str(toml))
    assert both.returncode == 2 and "give one settings file" in both.stderr and "Traceback" not in both.stderr


class PanicException(BaseException):
    """What pyo3 raises for a Rust panic inside a library: not even an Exception."""


@pytest.mark.parametrize("raised", [RuntimeError("boom\nsecond line"), PanicException("unwrap on Err")])
def test_an_unforeseen_failure_is_one_line_and_its_traceback_goes_to_the_log(memo_env, monkeypatch, capsys, raised):
    from memo.cli import main

    monkeypatch.setenv("MEMO_API_KEY", "sk-never-shown-12345678")

    def fail(*args, **kwargs):
        raise type(raised)(f"{raised} with sk-never-shown-12345678")

    monkeypatch.setattr("memo.ingestion.store.index_status", fail)
    assert main(["status"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"memo: error: status failed unexpectedly ({type(raised).__name__}: ")
    log = memo_env / "logs" / "errors.log"
    assert str(log) in err[0] and "Traceback" in log.read_text()
    assert "sk-never-shown-12345678" not in err[0] + log.read_text()
