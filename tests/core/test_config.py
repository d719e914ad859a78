"""Settings precedence (defaults < TOML < environment < flags) and clear errors for bad values."""

import pytest

from memo.core.config import load_settings
from memo.core.errors import MemoError


def test_precedence_toml_then_env_then_flags(memo_env, tmp_path, monkeypatch):
    toml = tmp_path / "memo.toml"
    toml.write_text('[retrieval]\nk = 7\ncandidates = 11\n[index]\nname = "from-toml"\n')
    settings = load_settings(str(toml))
    assert (settings.retrieval.k, settings.retrieval.candidates, settings.index.name) == (7, 11, "from-toml")

    monkeypatch.setenv("MEMO_RETRIEVAL_K", "9")
    settings = load_settings(str(toml))
    assert settings.retrieval.k == 9 and settings.retrieval.candidates == 11

    settings = load_settings(str(toml), {"retrieval.k": 3, "retrieval.candidates": None})
    assert settings.retrieval.k == 3 and settings.retrieval.candidates == 11
    assert settings.source == str(toml)


def test_memo_home_separates_indexes(memo_env, tmp_path, monkeypatch):
    assert load_settings().index_dir == memo_env / "indexes" / "default"
    monkeypatch.setenv("MEMO_HOME", str(tmp_path / "other"))
    assert load_settings().index_dir == tmp_path / "other" / "indexes" / "default"


def test_config_file_in_working_directory_and_home(memo_env, tmp_path):
    (tmp_path / "cwd" / "memo.toml").write_text('[generation]\nmax_new_tokens = 99\n')
    assert load_settings().generation.max_new_tokens == 99


@pytest.mark.parametrize("text, needle", [
    ('[retrieval]\nkk = 1\n', "retrieval.kk"),
    ('[nope]\nk = 1\n', "[nope]"),
    ('[retrieval]\nk = "many"\n', "'many'"),
    ('[retrieval]\nk = 0\n', "retrieval.k"),
    ('[model]\nprofile = "gpt-9"\n', "gpt-9"),
    ('[index]\nchroma_url = "localhost:8000"\n', "http://"),
    ('not toml at all [', "not valid TOML"),
])
def test_bad_settings_name_the_offending_value(memo_env, tmp_path, text, needle):
    toml = tmp_path / "bad.toml"
    toml.write_text(text)
    with pytest.raises(MemoError) as err:
        load_settings(str(toml))
    assert needle in str(err.value)


def test_bad_environment_value_names_the_variable(memo_env, monkeypatch):
    monkeypatch.setenv("MEMO_GENERATION_TEMPERATURE", "hot")
    with pytest.raises(MemoError, match=r"\$MEMO_GENERATION_TEMPERATURE"):
        load_settings()


def test_missing_config_file_is_reported(memo_env, tmp_path):
    with pytest.raises(MemoError, match="does not exist"):
        load_settings(str(tmp_path / "absent.toml"))
