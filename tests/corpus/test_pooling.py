"""The static tier's word-bag pooling: the same vectors as model2vec's own encode, on the texts that matter."""

from __future__ import annotations

import numpy as np
import pytest

from core.corpus.pooling import WordBag, word_bag_for

TEXTS = [
    "Return the JSON representation of obj, as a str.",
    "json.dumps(obj, *, skipkeys=False) -> str; see also json.loads()",
    "",
    "   \n\t ",
    "naïve café ÅNGSTRÖM résumé",  # accents stripped by the normaliser
    "tab\tseparated\nand new lines\r\nand\u00a0no-break\u2003spaces",
    "中文字符 mixed with English",
    "control\x0bchars\x1cjoin\x85words",  # Python splits here, BERT deletes the character: fallback
    "zero\u200bwidth joiner",
    "[UNK] [CLS] special tokens in text",
    "x" * 5000,  # one word over the tokenizer's 100 characters: [UNK], dropped
    "- " * 700,  # 700 tokens: truncated by the tokenizer, so model2vec itself encodes it
    "internationalization " * 200,  # longer than max_tokens * median_token_length characters: cut first
]


def _tiny_model(weights: bool):
    from model2vec import StaticModel
    from tokenizers import Tokenizer

    from core.corpus.encoders import packaged_model_path

    tok = Tokenizer.from_file(packaged_model_path() + "/tokenizer.json")
    rng = np.random.default_rng(0)
    vocab = tok.get_vocab_size()
    vectors = rng.normal(size=(vocab, 16)).astype(np.float32)
    w = rng.uniform(0.1, 1.0, vocab).astype(np.float32) if weights else None
    return StaticModel(vectors, tok, weights=w, normalize=False)


def _unit(x):
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)


@pytest.mark.parametrize("weights", [False, True])
def test_word_bag_gives_model2vecs_vectors_and_names_the_texts_it_cannot_pool(weights):
    model = _tiny_model(weights)
    bag = word_bag_for(model, max_tokens=512)
    assert bag is not None
    sums, fallback = bag.encode(TEXTS)
    assert len(TEXTS[-1]) > bag.max_chars
    assert set(fallback) == {TEXTS.index("control\x0bchars\x1cjoin\x85words"), TEXTS.index("- " * 700)}
    ref = _unit(model.encode(TEXTS, max_length=512, use_multiprocessing=False))
    mine = _unit(sums)
    keep = np.setdiff1d(np.arange(len(TEXTS)), fallback)
    ref_zero = np.linalg.norm(ref, axis=1) == 0
    assert np.array_equal(np.linalg.norm(mine[keep], axis=1) == 0, ref_zero[keep])  # empty texts stay zero
    live = keep[~ref_zero[keep]]
    assert np.all((mine[live] * ref[live]).sum(axis=1) > 0.9999)
    assert np.all(sums[fallback] == 0)


def test_a_full_cache_starts_again_and_gives_the_same_vectors():
    model = _tiny_model(True)
    small = word_bag_for(model, max_tokens=512)
    small.max_words = 8
    big = word_bag_for(model, max_tokens=512)
    texts = TEXTS[:2] + ["another sentence with several new words in it", "and one more, different"]
    for text in texts:
        small.encode([text])
    assert len(small) <= 8 + 10  # reset, then refilled from the last batch only
    a, _ = small.encode(texts)
    b, _ = big.encode(texts)
    assert np.allclose(a, b, atol=1e-5)


def test_word_bag_refuses_tokenizers_that_join_pieces_across_spaces():
    from model2vec import StaticModel
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({"[UNK]": 0, "Ġhello": 1, "hello": 2}, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    model = StaticModel(np.eye(3, dtype=np.float32), tok)
    assert word_bag_for(model, max_tokens=512) is None


def test_the_static_encoder_uses_the_bag_and_falls_back_for_long_texts(monkeypatch):
    from core.corpus.encoders import StaticEncoder

    enc = StaticEncoder.__new__(StaticEncoder)
    enc.model, enc.max_tokens, enc.dim = _tiny_model(True), 512, 16
    enc.bag = word_bag_for(enc.model, 512)
    assert isinstance(enc.bag, WordBag)
    out = enc.encode(TEXTS, batch_size=4)
    ref = _unit(enc.model.encode(TEXTS, max_length=512, use_multiprocessing=False))
    live = np.linalg.norm(ref, axis=1) > 0
    assert np.all((out[live] * ref[live]).sum(axis=1) > 0.9999)  # fallback rows too, through model2vec
    assert np.allclose(np.linalg.norm(out[live], axis=1), 1.0, atol=1e-5)
