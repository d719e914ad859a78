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
    ('[index]\nchunk_tokens = "200"\n', "chunk_tokens"),  # TOML values must have the type
    ('[train]\nlora_r = "16"\n', "lora_r"),
    ('[train]\nlora_r = 128\n', "lora_r"),
    ('[train]\ntarget_modules = "q_proj"\n', "list of strings"),
    ('[train]\ntarget_modules = ["lm_head"]\n', "target_modules"),
    ('[train]\nprofile = "gpt-9"\n', "gpt-9"),
    ('lora_r = 8\n', "training settings go under [train]"),
    ('[generation]\nloop_ngram = 1\n', "generation.loop_ngram"),
    ('[generation]\nstop_after_answer = "yes"\n', "stop_after_answer"),
    ('[train]\ndata_style = "closed"\n', "data_style"),
    ('[train]\nclosed_book = 1.5\n', "closed_book"),
    ('[generation]\ntemperature = true\n', "temperature"),  # a bool is not a number
    ('[index]\nname = "../../outside"\n', "plain name"),
    ('[index]\nname = "a/b"\n', "plain name"),
    ('[index]\nname = "ends-with-dot."\n', "plain name"),
    ('[index]\nchroma_url = "http://[::1"\n', "not a valid URL"),
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


def test_missing_config_file_is_reported(memo_env, tmp_path, monkeypatch):
    with pytest.raises(MemoError, match=r"--config .*absent.toml: no such file"):
        load_settings(str(tmp_path / "absent.toml"))
    monkeypatch.setenv("MEMO_CONFIG", str(tmp_path / "gone.toml"))
    with pytest.raises(MemoError, match=r"\$MEMO_CONFIG .*gone.toml: no such file"):
        load_settings()


def test_train_section_loads_like_every_other_section(memo_env, tmp_path, monkeypatch):
    """memo train's hyperparameters: the same file, type checks, variables and flags as the rest."""
    toml = tmp_path / "memo.toml"
    toml.write_text('[retrieval]\nk = 6\n[train]\nlora_r = 8\nepochs = 2\ntarget_modules = ["q_proj", "v_proj"]\n')
    settings = load_settings(str(toml))
    assert (settings.retrieval.k, settings.train.lora_r, settings.train.epochs) == (6, 8, 2.0)
    assert settings.train.target_modules == ["q_proj", "v_proj"]
    monkeypatch.setenv("MEMO_TRAIN_TARGET_MODULES", "q_proj, k_proj")
    monkeypatch.setenv("MEMO_TRAIN_LORA_R", "4")
    settings = load_settings(str(toml), {"train.lora_r": 2, "train.epochs": None})
    assert settings.train.target_modules == ["q_proj", "k_proj"] and settings.train.lora_r == 2
    assert settings.train.epochs == 2.0 and load_settings().train.lora_r == 4
    assert load_settings().as_dict()["train"]["lora_r"] == 4
