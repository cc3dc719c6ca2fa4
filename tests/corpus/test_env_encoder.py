"""EQUALCTAR_ENCODER read once for the app (core.corpus.encoders.parse_env_encoder): a value is used, offered as
the local model, or named with the default used; never silently replaced."""

from __future__ import annotations

import re

import pytest

from core.corpus.encoders import (
    DEFAULT_MODEL,
    STATIC_MODEL,
    EnvEncoder,
    env_encoder,
    in_model_cache,
    parse_env_encoder,
)

NAMED = (DEFAULT_MODEL, STATIC_MODEL, "hashing")


@pytest.mark.parametrize("raw, name", [(None, DEFAULT_MODEL), ("  ", DEFAULT_MODEL), ("hashing", "hashing"),
                                       ("hashing-128", "hashing"), (STATIC_MODEL, STATIC_MODEL)])
def test_named_encoders_and_unset_are_used_as_named(raw, name):
    assert parse_env_encoder(raw, NAMED) == EnvEncoder(name)


@pytest.mark.parametrize("raw", ["/models/not-here-yet", "./model", "~/model", "hashing-64",
                                 f"{STATIC_MODEL}:/models/static", f"{DEFAULT_MODEL}@bf16"])
def test_folders_and_names_the_encoders_know_are_local_and_kept_as_set(raw):
    got = parse_env_encoder(raw, NAMED)
    assert (got.name, got.local, got.note) == (raw, True, "")


def test_an_existing_folder_without_a_path_prefix_is_local(tmp_path, monkeypatch):
    (tmp_path / "mymodel").mkdir()
    monkeypatch.chdir(tmp_path)
    assert parse_env_encoder("mymodel", NAMED).local


def _cache_model(cache, repo: str) -> None:
    folder = cache / f"models--{repo.replace('/', '--')}"
    (folder / "refs").mkdir(parents=True)
    (folder / "refs" / "main").write_text("abc123")
    (folder / "snapshots" / "abc123").mkdir(parents=True)
    (folder / "snapshots" / "abc123" / "config.json").write_text("{}")


def test_a_model_in_the_local_cache_is_local_and_an_unknown_name_is_named(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path))
    _cache_model(tmp_path, "sentence-transformers/paraphrase-MiniLM-L3-v2")
    _cache_model(tmp_path, "org/model")
    assert in_model_cache("paraphrase-MiniLM-L3-v2") and in_model_cache("org/model")
    assert parse_env_encoder("paraphrase-MiniLM-L3-v2", NAMED).local
    assert parse_env_encoder("org/model", NAMED).local
    unknown = parse_env_encoder("org/other-model", NAMED)
    assert (unknown.name, unknown.local) == (DEFAULT_MODEL, False)
    assert unknown.note.startswith("EQUALCTAR_ENCODER='org/other-model' names no encoder this machine has")
    assert DEFAULT_MODEL in unknown.note
    assert not in_model_cache("not a repository id!")


def test_the_setting_reads_the_environment_at_call_time(monkeypatch):
    monkeypatch.setenv("EQUALCTAR_ENCODER", "hashing-64")
    assert env_encoder(NAMED).name == "hashing-64"
    monkeypatch.delenv("EQUALCTAR_ENCODER")
    assert env_encoder(NAMED).name == DEFAULT_MODEL


@pytest.mark.parametrize("raw, says", [
    ("hashing-0", "hashing-0: a hashing encoder's dimension must be 2 to 4,096, not 0"),
    ("hashing-1", "must be 2 to 4,096, not 1"),
    ("hashing-99999999999", "must be 2 to 4,096, not 99,999,999,999"),
    ("hashing-64@fp32", "hashing-64@fp32: @fp32 is a CPU variant of a transformer model; hashing-64 has none"),
    (f"{STATIC_MODEL}@bf16", f"{STATIC_MODEL}@bf16: @bf16 is a CPU variant of a transformer model"),
    (f"{STATIC_MODEL}:", f"{STATIC_MODEL}:: names no folder after the colon"),
])
def test_an_encoder_name_that_would_load_another_encoder_or_none_is_refused_by_name(raw, says):
    """``hashing-0`` loaded a 128-dimension encoder (``0 or 128``) in a space it called ``hashing-0``; a huge
    dimension allocated ``n x dim`` floats; ``@<variant>`` on the hashing or static tier looked for a transformer
    of that name; ``static-minilm:`` loaded the working directory. Each is now refused, by name, in the variable's
    note (the default used), at the sidebar's box and by the loader."""
    from core.corpus.encoders import EncoderNameError, EncoderSpec, gate_encoder, load_encoder

    got = parse_env_encoder(raw, NAMED)
    assert (got.name, got.local) == (DEFAULT_MODEL, False)
    assert got.note.startswith(f"EQUALCTAR_ENCODER={raw!r}") and says in got.note and DEFAULT_MODEL in got.note
    for refuse in (EncoderSpec.of, load_encoder, lambda name: gate_encoder(name, None)):
        with pytest.raises(EncoderNameError, match=re.escape(says)):
            refuse(raw)


@pytest.mark.parametrize("dim", [2, 16, 4096])
def test_hashing_dimensions_in_range_load_with_that_dimension(dim):
    from core.corpus.encoders import EncoderSpec, HashingEncoder, load_encoder

    assert EncoderSpec.of(f"hashing-{dim}").dimension == dim == load_encoder(f"hashing-{dim}").dim
    assert EncoderSpec.of("hashing", dimension=dim).space_id == f"hashing-{dim}"
    with pytest.raises(ValueError, match="must be 2 to 4,096, not 0"):
        EncoderSpec.of("hashing", dimension=0)  # was 128: ``dimension or 128``
    with pytest.raises(ValueError, match="must be 2 to 4,096, not -3"):
        HashingEncoder(-3)
