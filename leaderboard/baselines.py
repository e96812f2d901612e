"""Reference predictors that need no weights: majority, random and lexical.

They give every user a floor to beat and keep the board from being empty.
Each returns one output string per record, written in the task's output form
(:attr:`ecinstruct_eval.TaskSpec.output_form`, the official release's:
``"B"``, ``"A: very positive"``, ``"yes"``, ``"B,A,C"``, an AVE JSON list,
answer text), so :func:`ecinstruct_eval.parse` reads them without failures.

Inputs are read as the release writes them (RELEASED_FORMAT.md §2-§9): JSON
text objects (PRP, PM with its bare ``NaN``, MPC, PSI, QPR's ``product list``,
AP/AG's ``question`` and ``document``, AVE's product texts and ``target
attributes``), SR's Python list of ``"1st: item"`` texts, SA's raw review.  An
input that cannot be decoded is used as plain text; nothing here raises on a
malformed input.

- ``majority``: the most frequent training output (per task; per number of
  products for QPR; per attribute for AVE; the most frequent answer for AG).
- ``random``: seeded uniform choice over the task's labels or the record's
  options (a random order for QPR; for AVE a random training value of the
  attribute or ``"None"``; a random training answer for AG).
- ``lexical``: TF-IDF similarity.  SR: the candidate most similar to the
  purchase history; QPR: products ranked by similarity to the query; PRP: a
  depth-2 decision tree over the title similarity of the two products; PM,
  SA, MPC, PSI, AP: the label of the nearest training input; AG: the review
  sentence most similar to the question; AVE: the most frequent training
  value of each target attribute that occurs in the product text, else
  ``"None"``.

Examples
--------
>>> train = [{"task": "PM", "input": "a", "options": [], "output": "no"}] * 3
>>> predict([{"task": "PM", "id": "PM-test-1", "input": "b", "options": []}], "majority",
...         train_records=train)
['no']
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from ecinstruct_eval.data import read_json_text, read_py_list, record_options
from ecinstruct_eval.tasks import LETTERS, TASKS

__all__ = ["METHODS", "predict"]

METHODS = ("majority", "random", "lexical")

_LETTERED = re.compile(r"^\s*(?:[-*•]\s*)?(?:Product\s+)?([A-Z])\s*[:.)]\s*(.*\S)\s*$", re.S)
_PRODUCT_KEY = re.compile(r"product\s*(\d)", re.I)
_ORDINAL = re.compile(r"^\s*\d+(?:st|nd|rd|th)\s*:\s*", re.I)
_SENT = re.compile(r"(?<=[.!?])\s+|\n+")


def _task_of(records: Sequence[Mapping]) -> str:
    codes = {TASKS[r["task"]].code for r in records}
    if len(codes) != 1:
        raise ValueError(f"records of one task expected, got {sorted(codes)}")
    return codes.pop()


def _input_value(record: Mapping) -> dict | list | str:
    """The record's input decoded: a dict (JSON object text), a list of strings (SR's
    Python list text, or a JSON array), else the text itself."""
    text = str(record.get("input", ""))
    value = read_json_text(text)
    if isinstance(value, dict) or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
        return value
    listed = read_py_list(text)
    return listed if listed is not None else text


def _plain_text(value) -> str:
    """Every string inside a decoded input, one per line (numbers and ``NaN`` left out)."""
    out, stack = [], [value]
    while stack:  # iterative: a deeply nested input cannot exhaust the recursion limit
        v = stack.pop()
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            stack.extend(reversed(list(v.values())))
        elif isinstance(v, list):
            stack.extend(reversed(v))
    return "\n".join(out)


def _field(obj: dict, word: str, default=None):
    """The value of the first key of ``obj`` containing ``word`` (case-insensitive)."""
    return next((v for k, v in obj.items() if word in str(k).lower()), default)


def _lettered(items: Iterable) -> list[tuple[str, str]]:
    out = []
    for item in items:
        m = _LETTERED.match(str(item))
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def _candidates(record: Mapping) -> list[tuple[str, str]]:
    """Lettered candidates: the record's options (SR), else the input's product list (QPR)."""
    out = _lettered(record_options(record))
    if out:
        return out
    value = _input_value(record)
    if isinstance(value, dict):
        products = _field(value, "product list")
        return _lettered(products) if isinstance(products, list) else []
    if isinstance(value, str):
        return _lettered(value.splitlines())
    return []


def _context(record: Mapping) -> str:
    """What the candidates are compared with: QPR's query, SR's purchase history."""
    value = _input_value(record)
    if isinstance(value, dict):
        query = _field(value, "query")
        if query is not None:
            return _plain_text(query)
        return _plain_text({k: v for k, v in value.items() if "product list" not in str(k).lower()})
    if isinstance(value, list):
        return "\n".join(_ORDINAL.sub("", item) for item in value)
    return "\n".join(ln for ln in value.splitlines() if not _LETTERED.match(ln))


def _n_letters(record: Mapping, task: str) -> int:
    n = len(_candidates(record))
    return n or len(TASKS[task].labels) or 1


def _rng(seed: int, record_id: str) -> np.random.Generator:
    import zlib

    return np.random.default_rng([int(seed), zlib.crc32(str(record_id).encode())])


def _vectorizer(texts: Iterable[str]):
    from sklearn.feature_extraction.text import TfidfVectorizer

    vec = TfidfVectorizer(lowercase=True, sublinear_tf=True, ngram_range=(1, 1),
                          token_pattern=r"(?u)\b\w+\b", min_df=1)
    texts = [t if t.strip() else "_" for t in texts]
    return vec.fit(texts)


def _cos(vec, a: Sequence[str], b: Sequence[str]) -> np.ndarray:
    return (vec.transform(list(a)) @ vec.transform(list(b)).T).toarray()


# ----------------------------------------------------------------------------- AVE helpers


def _gold_triples(record: Mapping) -> list[dict]:
    triples = record.get("attributes") or []
    if triples:
        return list(triples)
    try:
        parsed = json.loads(record.get("output", ""))
    except (TypeError, ValueError):
        return []
    return [t for t in parsed if isinstance(t, dict)] if isinstance(parsed, list) else []


def _target_attributes(record: Mapping) -> list[str]:
    value = _input_value(record)
    if isinstance(value, dict):
        attrs = _field(value, "attribute")
        if isinstance(attrs, list):
            return [str(x) for x in attrs]
        return _split_attrs(str(attrs)) if attrs is not None else []
    m = re.search(r"target attributes?\s*[:=]\s*(.+)", _plain_text(value), flags=re.I)
    return _split_attrs(m.group(1)) if m else []


def _split_attrs(s: str) -> list[str]:
    """``"color and size"`` (the release joins attribute names with ``" and "``), or a list."""
    parts = re.split(r"\s+and\s+|[,;]", s.strip().strip("[]"))
    return [a.strip(" .'\"") for a in parts if a.strip(" .'\"")]


def _product_texts(record: Mapping) -> list[tuple[str, str]]:
    """AVE ``(source, text)`` pairs: ``("product title", ...)``, the target attributes left out."""
    value = _input_value(record)
    if isinstance(value, dict):
        return [(str(k).lower(), _plain_text(v)) for k, v in value.items()
                if "attribute" not in str(k).lower()]
    return [("None", _plain_text(value))]


def _ave_output(pairs: list[tuple[str, str, str]]) -> str:
    return json.dumps([{"attribute": a.lower(), "value": v, "source": s} for a, v, s in pairs])


class _AveStats:
    def __init__(self, train: Sequence[Mapping]):
        self.values: dict[str, Counter] = defaultdict(Counter)
        self.source: dict[tuple[str, str], Counter] = defaultdict(Counter)
        for r in train:
            for t in _gold_triples(r):
                a = str(t.get("attribute", "")).lower()
                v, s = str(t.get("value", "None")), str(t.get("source", "None"))
                self.values[a][v] += 1
                self.source[(a, v.lower())][s] += 1

    def majority(self, attr: str) -> tuple[str, str]:
        c = self.values.get(attr.lower())
        if not c:
            return "None", "None"
        v = sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
        return v, self.source_of(attr, v)

    def source_of(self, attr: str, value: str) -> str:
        if value == "None":
            return "None"
        c = self.source.get((attr.lower(), value.lower()))
        return sorted(c.items(), key=lambda kv: (-kv[1], kv[0]))[0][0] if c else "None"


# ----------------------------------------------------------------------------- methods


def _majority(task: str, records, train) -> list[str]:
    kind = TASKS[task].kind
    if kind == "extraction":
        stats = _AveStats(train)
        return [_ave_output([(a, *stats.majority(a)) for a in _target_attributes(r)]) for r in records]
    outs = [str(r["output"]).strip() for r in train]
    if kind == "ranking":
        by_len: dict[int, Counter] = defaultdict(Counter)
        for o in outs:
            by_len[len(o.split(","))][o] += 1
        res = []
        for r in records:
            n = _n_letters(r, task)
            c = by_len.get(n)
            res.append(_top(c) if c else TASKS[task].format_answer(LETTERS[:n]))
        return res
    top = _top(Counter(outs))
    return [top] * len(records)


def _top(counter: Counter) -> str:
    return sorted(counter.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]


def _random(task: str, records, train, seed: int) -> list[str]:
    spec = TASKS[task]
    res = []
    stats = _AveStats(train) if spec.kind == "extraction" else None
    answers = sorted({str(r["output"]) for r in train}) if spec.kind == "generation" else []
    for r in records:
        rng = _rng(seed, r.get("id", ""))
        if spec.kind == "extraction":
            pairs = []
            for a in _target_attributes(r):
                vals = sorted(stats.values.get(a.lower(), {}))
                v = vals[int(rng.integers(len(vals)))] if vals else "None"
                pairs.append((a, v, stats.source_of(a, v)))
            res.append(_ave_output(pairs))
        elif spec.kind == "generation":
            res.append(answers[int(rng.integers(len(answers)))] if answers else "")
        elif spec.kind == "ranking":
            n = _n_letters(r, task)
            res.append(spec.format_answer([LETTERS[i] for i in rng.permutation(n)]))
        elif spec.kind == "pick":
            res.append(LETTERS[int(rng.integers(_n_letters(r, task)))])
        else:
            labels = spec.labels
            res.append(spec.format_answer(labels[int(rng.integers(len(labels)))]))
    return res


def _nearest_neighbour(records, train) -> list[str]:
    """The output of the training record whose input text is most similar."""
    train_texts = [_plain_text(_input_value(r)) for r in train]
    vec = _vectorizer(train_texts)
    sims = _cos(vec, [_plain_text(_input_value(r)) for r in records], train_texts)
    outs = [str(r["output"]).strip() for r in train]
    return [outs[int(np.argmax(row))] for row in sims]


def _two_products(record: Mapping) -> tuple[str, str]:
    """PRP's two titles (``{"Product 1:": ..., "Product 2:": ...}``); else the text halved."""
    value = _input_value(record)
    found: dict[str, str] = {}
    if isinstance(value, dict):
        for k, v in value.items():
            m = _PRODUCT_KEY.search(str(k))
            if m and m.group(1) not in found:
                found[m.group(1)] = _plain_text(v)
    if "1" in found and "2" in found:
        return found["1"], found["2"]
    text = _plain_text(value)
    return text[: len(text) // 2], text[len(text) // 2:]


def _prp(records, train, seed) -> list[str]:
    from sklearn.tree import DecisionTreeClassifier

    pairs_train = [_two_products(r) for r in train]
    pairs_test = [_two_products(r) for r in records]
    vec = _vectorizer([t for p in pairs_train + pairs_test for t in p])

    def sims(pairs):
        if not pairs:
            return np.zeros((0, 1))
        a = vec.transform([p[0] for p in pairs])
        b = vec.transform([p[1] for p in pairs])
        return np.asarray(a.multiply(b).sum(axis=1)).reshape(-1, 1)

    y = [str(r["output"]).strip() for r in train]
    tree = DecisionTreeClassifier(max_depth=2, random_state=seed).fit(sims(pairs_train), y)
    return [str(p) for p in tree.predict(sims(pairs_test))] if records else []


def _lexical(task: str, records, train, seed: int) -> list[str]:
    spec = TASKS[task]
    if spec.kind == "extraction":
        stats = _AveStats(train)
        res = []
        for r in records:
            texts = [(src, text.lower()) for src, text in _product_texts(r)]
            pairs = []
            for a in _target_attributes(r):
                found = ("None", "None")
                for v, _ in sorted(stats.values.get(a.lower(), Counter()).items(),
                                   key=lambda kv: (-kv[1], kv[0])):
                    pattern = re.compile(r"\b" + re.escape(v.lower()) + r"\b")
                    src = next((s for s, t in texts if pattern.search(t)), None) \
                        if v != "None" else None
                    if src is not None:
                        # the field the value was found in is its source, as the release names it
                        found = (v, src if src != "None" else stats.source_of(a, v))
                        break
                pairs.append((a, *found))
            res.append(_ave_output(pairs))
        return res
    if spec.kind in ("pick", "ranking"):
        cands = [_candidates(r) for r in records]
        ctx = [_context(r) for r in records]
        flat = [t for c in cands for _, t in c]
        vec = _vectorizer(ctx + flat + [str(r["input"]) for r in train])
        q_vecs, c_vecs = vec.transform(ctx), vec.transform(flat or ["_"])
        res, start = [], 0
        for k, c in enumerate(cands):
            if not c:
                res.append("A")
                continue
            s = (c_vecs[start:start + len(c)] @ q_vecs[k].T).toarray().ravel()
            start += len(c)
            order = sorted(range(len(c)), key=lambda i: (-s[i], i))
            res.append(c[order[0]][0] if spec.kind == "pick"
                       else spec.format_answer([c[i][0] for i in order]))
        return res
    if spec.kind == "generation":
        res = []
        for r in records:
            question, sentences = _question_and_sentences(r)
            if not sentences:
                res.append(question)
                continue
            vec = _vectorizer([question] + sentences)
            s = _cos(vec, [question], sentences)[0]
            res.append(sentences[int(np.argmax(s))])
        return res
    if task == "PRP":
        return _prp(records, train, seed)
    return _nearest_neighbour(records, train)


def _question_and_sentences(record: Mapping) -> tuple[str, list[str]]:
    """AP/AG's question and the sentences of its document (``{"question", "document"}``)."""
    value = _input_value(record)
    if isinstance(value, dict):
        q = _plain_text(_field(value, "question", ""))
        doc = _field(value, "document")
        if doc is None:
            doc = _field(value, "review", [])
        snippets = doc if isinstance(doc, list) else [doc]
    else:
        text = _plain_text(value)
        lines = text.strip().split("\n", 1)
        q, snippets = lines[0], lines[1:]
    sentences = [s.strip() for snippet in snippets for s in _SENT.split(_plain_text(snippet))
                 if len(s.strip().split()) >= 3]
    return q, sentences


def predict(
    records: Sequence[Mapping],
    method: str,
    *,
    train_records: Sequence[Mapping] | None = None,
    seed: int = 0,
) -> list[str]:
    """Outputs of a weight-free baseline, one string per record, in order.

    Parameters
    ----------
    records : sequence of canonical records of one task
        Only ``id``, ``task``, ``input`` and ``options`` are read (never the gold).
    method : {"majority", "random", "lexical"}
    train_records : sequence of canonical records, optional
        The task's training split; required by ``majority`` and ``lexical``
        (and ``random`` for AVE/AG, which draw from training values).
    seed : int
        Seed of ``random`` (per record, so the output of a record does not
        depend on the others) and of the PRP tree.

    Returns
    -------
    list of str
    """
    if method not in METHODS:
        raise ValueError(f"unknown baseline {method!r}; choose one of {', '.join(METHODS)}")
    records = list(records)
    if not records:
        return []
    task = _task_of(records)
    train = list(train_records or [])
    needs_train = method in ("majority", "lexical") or TASKS[task].kind in ("extraction", "generation")
    if needs_train and not train and not (method == "lexical" and TASKS[task].kind in ("pick", "ranking", "generation")):
        raise ValueError(f"baseline {method!r} on {task} needs train_records (the task's train split)")
    if method == "majority":
        return _majority(task, records, train)
    if method == "random":
        return _random(task, records, train, seed)
    return _lexical(task, records, train, seed)
