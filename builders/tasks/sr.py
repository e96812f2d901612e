"""SR, sequential recommendation, built as the official release built it (RELEASED_FORMAT.md §6).

The release's procedure, step by step:

1. Per category, the ratings ``<Category>.csv`` (``item,user,rating,time``;
   without it, the full review file ``<Category>.json``, which holds the
   same rows, is read as those four fields, and without that the 5-core
   ``<Category>_5.json``, a subset) as a *set* of
   ``(user, item, rating, time)``: identical rows count once.
2. Interactions whose item has 2018 metadata are kept; then iterative 5-core
   filtering (option ``core``): users and items with fewer than 5
   interactions go, until none does.
3. Per user, the interactions in time order (a stable sort), the first 50
   (option ``max_history``), as item texts (:func:`item_text`: title,
   first two categories and brand, each cleaned, the 2014 metadata filling
   an empty 2018 title or brand).
4. One PY-RNG stream seeded 1: the OOD categories' user lists are shuffled
   and processed, then the IND categories' lists are shuffled in turn and
   processed in the same order.  The candidate pool is the set of item
   texts of the categories processed together (IND together, OOD alone).
5. Per user, until the category's train list is full (``cfg.target("train")``
   for IND, ``cfg.target("test_ood")`` for OOD): ``pot`` = pool minus the
   texts of the user's last three items; for train, then (while the test list
   is not full) validation and test, the target is the third last, second
   last or last item and the history the items before it; candidates =
   ``sample(pot, 19)`` + target, shuffled; the output is the target's letter.
6. IND mix: per split, category ``i`` of ``c`` gives its first
   ``size // c`` records, the last category ``size - (c - 1) * (size // c)``
   (the release's 3,333 / 3,333 / 3,334 and 333 / 333 / 334 for size 10,000
   and 1,000 and three categories), in category order, not shuffled.
   ``test_ood`` is the first ``size`` OOD test records.
7. ``input`` = Python ``str`` of the list ``"<ordinal>: <item>"`` per history
   item, ``options`` = ``"A: <item>"`` ... ``"T: <item>"`` (stored as Python
   ``str`` of the list), each item cut by the 25-word rule
   (:func:`ecinstruct_builders.release.cut_words`); ``output`` = the letter.

The release iterated Python sets (interactions, the candidate pool) whose
order depends on hash randomisation; we use the first-appearance orders
below and record that in ``report.differs``.  Every interaction read is
accounted for in ``report.extra["interactions"]`` (per category: read = in
user sequences + without metadata + repeated + removed by the k-core + beyond
a user's first ``max_history``).

Examples
--------
>>> [ordinal(i) for i in (1, 2, 3, 4, 11, 12, 13, 20, 21, 22, 23, 24, 31, 42)]
['1st', '2nd', '3rd', '4th', '11th', '12th', '13th', '20th', '21st', '22nd', '23rd', '24th', '31st', '42nd']
>>> item_text({"title": "Drill &amp; Bits...", "category": [], "brand": "Kimberly Bay "})
'Drill & Bits.  Kimberly Bay .'
"""

from __future__ import annotations

import math
import re
from array import array
from html.entities import html5
from html.parser import HTMLParser

import numpy as np
from ecinstruct_builders.core import BuildConfig, Example, TaskReport, find_source
from ecinstruct_builders.readers import amazon_review_2014 as ar14
from ecinstruct_builders.readers.amazon_review_2018 import iter_interactions, iter_meta
from ecinstruct_builders.release import cut_words, py_list_text, py_rng
from ecinstruct_builders.sources import PAPER_CATEGORIES

TASK = "SR"
LETTERS = "ABCDEFGHIJKLMNOPQRST"
SPLITS = ("train", "validation", "test")
#: Item fields of the text, in order.
FIELDS = ("title", "category", "brand")


def ordinal(n: int) -> str:
    """The release's ordinals: 1st, 2nd, 3rd, 4th ... 20th, then by the last digit (21st, 22nd, 111st)."""
    key = n if n <= 20 else n % 10
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(key, 'th')}"


# BeautifulSoup's html.parser builder keeps the text of these elements in string
# classes that get_text() leaves out, and keeps whitespace only inside the second set.
_HIDDEN = frozenset({"script", "style", "template", "rt", "rp"})
_KEEP_SPACE = frozenset({"pre", "textarea"})
# Its void elements: a start tag closes at once, and a later end tag of the same name is crossed off
# without ending the string in progress (``<br> </br> `` is one string, one space).  As bs4 4.15 does;
# 4.12-4.14 also let a ``<br/>`` cross off an earlier ``<br>`` (the authors' version is unknown).
_VOID = frozenset({"area", "base", "basefont", "bgsound", "br", "col", "command", "embed", "frame", "hr", "image",
                   "img", "input", "isindex", "keygen", "link", "menuitem", "meta", "nextid", "param", "source",
                   "spacer", "track", "wbr"})
_ASCII_SPACES = " \n\t\x0c\r"
_ENTITIES = {name.rstrip(";"): text for name, text in html5.items()}
_LEADING_DIGITS = {10: re.compile("^([0-9]+)(.*)", re.S), 16: re.compile("^([0-9a-f]+)(.*)", re.S)}


def _char_ref(code: int) -> str:
    """A numeric character reference as the HTML standard (and BeautifulSoup 4.13+) resolves it."""
    if code == 0 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return "\ufffd"
    if 0x80 <= code <= 0x9F:
        try:
            return bytes([code]).decode("windows-1252")
        except UnicodeDecodeError:
            pass
    return chr(code)


class _Text(HTMLParser):
    """The text BeautifulSoup(markup, "html.parser").get_text() returns, with the standard library only.

    Text between two tags (or other markup) is one string; a string of ASCII
    whitespace only becomes one space (or a newline if it holds one), as
    BeautifulSoup stores it.
    """

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.buf: list[str] = []
        self.stack: list[str] = []
        self.closed_void: list[str] = []  # void start tags whose end tag may still come

    def flush(self, keep: bool = True):
        data = "".join(self.buf)
        self.buf = []
        if not data:
            return
        if not _KEEP_SPACE.intersection(self.stack) and not data.strip(_ASCII_SPACES):
            data = "\n" if "\n" in data else " "
        if keep:
            self.out.append(data)

    def _visible(self) -> bool:
        return not _HIDDEN.intersection(self.stack)

    def handle_starttag(self, tag, attrs):
        self.flush(self._visible())
        if tag in _VOID:
            self.closed_void.append(tag)
        else:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.flush(self._visible())

    def handle_endtag(self, tag):
        if tag in self.closed_void:
            self.closed_void.remove(tag)
            return
        self.flush(self._visible())
        if tag in self.stack:
            while self.stack.pop() != tag:
                pass

    def handle_data(self, data):
        self.buf.append(data)

    def handle_entityref(self, name):
        self.buf.append(_ENTITIES.get(name, "&" + name))

    def handle_charref(self, name):
        base = 16 if name[:1] in ("x", "X") else 10
        digits = name[1:] if base == 16 else name
        try:
            self.buf.append(_char_ref(int(digits, base)))
        except ValueError:
            m = _LEADING_DIGITS[base].search(digits)
            if m is None:
                self.buf.append(digits)
            else:
                self.buf.append(_char_ref(int(m.group(1), base)))
                self.buf.append(m.group(2))

    def _other(self, data, keep: bool):
        self.flush(self._visible())
        self.buf.append(data)
        self.flush(keep)

    def handle_comment(self, data):
        self._other(data, False)

    def handle_decl(self, decl):
        self._other(decl, False)

    def handle_pi(self, data):
        self._other(data, False)

    def unknown_decl(self, data):
        if data.upper().startswith("CDATA["):
            self._other(data[len("CDATA["):], True)
        else:
            self._other(data, False)

    def close(self):
        super().close()
        self.flush(self._visible())


def html_text(markup: str) -> str:
    """Tags removed and entities unescaped, as BeautifulSoup's ``html.parser`` ``get_text()``.

    >>> html_text("<b>Ben &amp; Jerry&#39;s</b> <!-- c --><script>x()</script>tubs &foo;")
    "Ben & Jerry's tubs &foo"
    """
    parser = _Text()
    parser.feed(markup)
    parser.close()
    return "".join(parser.out)


def clean_string(text: str) -> str:
    """One string cleaned as the release cleaned it (before the field's final strip).

    Empty or 2000+ characters: empty.  Else ``"``, ``\\n``, ``\\r`` removed,
    HTML text taken, leading/trailing ``.`` stripped and one ``.`` added.

    >>> clean_string('12&quot; "Deluxe" <i>Saw</i>...')
    '12" Deluxe Saw.'
    """
    if not text or len(text) >= 2000:
        return ""
    text = text.replace('"', "").replace("\n", "").replace("\r", "")
    return html_text(text).strip(".") + "."


def clean_value(value) -> str:
    """A metadata field cleaned: a list element-wise (non-empty pieces each after a space), a dict as ``str``.

    >>> clean_value(["Gift Cards", "", "Gift Card Recipients"])
    'Gift Cards. Gift Card Recipients.'
    """
    if value is None:
        return ""
    if isinstance(value, list):
        pieces = [clean_value(v) if not isinstance(v, str) else clean_string(v) for v in value]
        return "".join(" " + p for p in pieces if p).strip()
    if isinstance(value, str):
        return clean_string(value).strip()
    return clean_string(str(value)).strip()


def item_text(meta18: dict, meta14: dict | None = None) -> str:
    """An item's text: title, first two categories, brand; each cleaned and followed by a space, then stripped.

    A 2018 field that is empty or absent takes the 2014 value when that is non-empty.

    >>> item_text({"title": "", "category": ["Tools", "Saws", "Hand"], "brand": ""}, {"title": "Saw", "brand": "Acme"})
    'Saw. Tools. Saws. Acme.'
    """
    parts = []
    for field in FIELDS:
        value = meta18.get(field)
        if not value and meta14 is not None and meta14.get(field):
            value = meta14[field]
        if field == "category" and isinstance(value, list):
            value = value[:2]
        parts.append(clean_value(value) + " ")
    return "".join(parts).strip()


def five_core(users: np.ndarray, items: np.ndarray, k: int) -> np.ndarray:
    """Boolean mask of the interactions left by iterative k-core filtering (the result is order-independent).

    >>> five_core(np.array([0, 0, 1]), np.array([0, 1, 0]), 1).tolist()
    [True, True, True]
    """
    keep = np.ones(len(users), dtype=bool)
    while True:
        u, i = users[keep], items[keep]
        ucount = np.bincount(u, minlength=users.max(initial=-1) + 1)
        icount = np.bincount(i, minlength=items.max(initial=-1) + 1)
        bad = keep & ((ucount[users] < k) | (icount[items] < k))
        if not bad.any():
            return keep
        keep &= ~bad


def _sample_size(k: int) -> int:
    """CPython ``random.sample``'s ``setsize``: populations up to it are copied into a pool."""
    setsize = 21
    if k > 5:
        setsize += 4 ** math.ceil(math.log(k * 3, 4))
    return setsize


def sample_without(rng, pool: list[str], excluded: list[int], k: int) -> list[str]:
    """``rng.sample(pot, k)`` where ``pot`` is ``pool`` without the positions ``excluded``, same draws.

    ``pot`` is not built when CPython's ``sample`` would not copy it (its
    set branch), so a large pool costs nothing per user.

    >>> pool = [f"item {i}" for i in range(200)]
    >>> a, b = py_rng(), py_rng()
    >>> sample_without(a, pool, [3, 7], 19) == b.sample([p for i, p in enumerate(pool) if i not in (3, 7)], 19)
    True
    """
    excluded = sorted(set(excluded))
    n = len(pool) - len(excluded)
    if n <= _sample_size(k):
        drop = set(excluded)
        return rng.sample([p for i, p in enumerate(pool) if i not in drop], k)
    out, selected = [], set()
    for _ in range(k):
        j = rng.randrange(n)
        while j in selected:
            j = rng.randrange(n)
        selected.add(j)
        for p in excluded:
            if j >= p:
                j += 1
        out.append(pool[j])
    return out


class _Category:
    """One category after filtering: users (first-appearance order) and their item texts (time order)."""

    def __init__(self, name: str, users: list[str], seqs: dict[str, list[str]]):
        self.name, self.users, self.seqs = name, users, seqs


def _meta_2014(cfg: BuildConfig, category: str):
    name = cfg.option(TASK, "meta2014", {}).get(category, category)
    if not name:
        return None
    return find_source(cfg.sources, "amazon_review_2014", [f"meta_{name}.json"], required=False)


def interaction_file(cfg: BuildConfig, category: str):
    """The interactions of ``category``: its ratings CSV, else its full review file, else its 5-core review file.

    The release read the ratings CSV; a full review file holds the same
    ``(item, user, rating, time)`` rows, the 5-core file only a subset.  The
    order is the one :mod:`ecinstruct_builders.sources` checks and fingerprints.
    """
    return find_source(cfg.sources, "amazon_review_2018",
                       [f"{category}.csv", f"{category}.json", f"{category}_5.json"], task=TASK)


def load_category(cfg: BuildConfig, report: TaskReport, category: str) -> _Category:
    core = cfg.option(TASK, "core", 5)
    max_history = cfg.option(TASK, "max_history", 50)
    meta_path = find_source(cfg.sources, "amazon_review_2018", [f"meta_{category}.json"], task=TASK)
    inter_path = interaction_file(cfg, category)
    if "_5." in inter_path.name:
        report.differs(f"SR {category}: no ratings CSV or full review file; the 5-core review file "
                       f"{inter_path.name} is read instead (a subset of the release's ratings)")
    elif not inter_path.name.endswith((".csv", ".csv.gz")):
        report.differs(f"SR {category}: the full review file {inter_path.name} is read for the interactions; "
                       "the release read the ratings CSV, which holds the same (item, user, rating, time) rows")
    path14 = _meta_2014(cfg, category)
    if path14 is None:
        report.note(f"{category}: no Amazon Review 2014 metadata; empty 2018 titles and brands are not filled")
    has_meta = {m["asin"] for m in iter_meta(meta_path, report)}

    # Interactions with items that have metadata, as integer arrays (ids in first-appearance order).
    user_ids: dict[str, int] = {}
    item_ids: dict[str, int] = {}
    us, its, ts, rs = array("l"), array("l"), array("q"), array("d")
    tally = {"read": 0, "item without metadata": 0}
    for it in iter_interactions(inter_path, report):
        tally["read"] += 1
        if it.item not in has_meta:
            tally["item without metadata"] += 1
            continue
        us.append(user_ids.setdefault(it.user, len(user_ids)))
        its.append(item_ids.setdefault(it.item, len(item_ids)))
        ts.append(it.time)
        rs.append(it.rating)
    del has_meta
    report.drop("interaction with an item without metadata", tally["item without metadata"])
    users, items, times = (np.frombuffer(a, dtype=a.typecode).astype(np.int64) for a in (us, its, ts))
    ratings = np.frombuffer(rs, dtype="d").copy()
    del us, its, ts, rs
    row = np.arange(len(users))
    # The release held a set of (user, item, rating, time): identical rows count once (the first kept).
    order = np.lexsort((row, times, ratings, items, users))
    same = np.zeros(len(users), dtype=bool)
    if len(users):
        u, i, r, t = users[order], items[order], ratings[order], times[order]
        same[1:] = (u[1:] == u[:-1]) & (i[1:] == i[:-1]) & (r[1:] == r[:-1]) & (t[1:] == t[:-1])
    first = np.ones(len(users), dtype=bool)
    first[order[same]] = False
    tally["repeated"] = int((~first).sum())
    report.drop("repeated interaction (same user, item, rating and time)", tally["repeated"])
    users, items, times, row = users[first], items[first], times[first], row[first]
    keep = five_core(users, items, core)
    tally[f"removed by {core}-core"] = int((~keep).sum())
    report.drop(f"interaction removed by {core}-core filtering", tally[f"removed by {core}-core"])
    users, items, times, row = users[keep], items[keep], times[keep], row[keep]
    # Users by first appearance in the file; each user's items by time, ties in file order.
    order = np.lexsort((row, times, users))
    users, items = users[order], items[order]
    user_names = list(user_ids)
    item_names = np.array(list(item_ids), dtype=object)
    seqs_ids: dict[str, list[str]] = {}
    beyond = 0
    if len(users):
        starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
        ends = np.r_[starts[1:], len(users)]
        for s, e in zip(starts, ends):
            seqs_ids[user_names[users[s]]] = list(item_names[items[s: min(e, s + max_history)]])
            beyond += int(max(0, e - s - max_history))
    tally[f"beyond a user's first {max_history}"] = beyond
    report.skip(f"interaction beyond a user's first {max_history}", beyond)
    tally["in user sequences"] = sum(len(seq) for seq in seqs_ids.values())
    report.extra.setdefault("interactions", {})[category] = tally
    if not seqs_ids:  # its share of an IND mix then stays unfilled: say why
        report.note(f"SR {category}: no user is left after the {core}-core filtering of the "
                    f"{tally['read']} interactions read from {inter_path.name}; the category gives no records")
    needed = {a for seq in seqs_ids.values() for a in seq}
    del users, items, times, row, user_ids, item_ids

    # Item texts; the last metadata record of an ASIN wins, in both files.
    meta18 = {}
    for m in iter_meta(meta_path, None, wanted=needed):
        meta18[m["asin"]] = {f: m.get(f) for f in FIELDS}
    meta14 = {}
    if path14 is not None:
        for m in ar14.iter_meta(path14, None, wanted=needed):
            meta14[m["asin"]] = {f: m.get(f) for f in FIELDS}
    texts = {a: item_text(meta18[a], meta14.get(a)) for a in needed}
    filled = sum(1 for a in needed if a in meta14 and any(not meta18[a].get(f) and meta14[a].get(f) for f in FIELDS))
    report.extra.setdefault("items_filled_from_2014", {})[category] = filled
    report.extra.setdefault("after_filtering", {})[category] = {"users": len(seqs_ids), "items": len(needed)}
    seqs = {u: [texts[a] for a in seq] for u, seq in seqs_ids.items()}
    return _Category(category, list(seqs), seqs)


def _records(cat: _Category, users: list[str], pool: list[str], rng, caps: tuple, report: TaskReport) -> dict:
    """The release's loop over one category's shuffled users: train, validation and test lists."""
    train_cap, test_cap = caps
    where = {t: i for i, t in enumerate(pool)}
    cut: dict[str, str] = {}

    def c(text):
        if text not in cut:
            cut[text] = cut_words(text, 25)
        return cut[text]

    out = {s: [] for s in SPLITS}
    short = 0
    for user in users:
        if train_cap is not None and len(out["train"]) >= train_cap:
            break
        e = cat.seqs[user]
        n = len(e)
        excluded = [where[t] for t in set(e[-3:])]
        k = min(len(LETTERS) - 1, len(pool) - len(excluded))
        short += k < len(LETTERS) - 1
        for mode, split in enumerate(SPLITS):
            if mode and test_cap is not None and len(out["test"]) >= test_cap:
                continue
            target, history = e[n - 3 + mode], e[: n - 3 + mode]
            cands = sample_without(rng, pool, excluded, k) + [target]
            rng.shuffle(cands)
            out[split].append(Example(
                input=py_list_text([f"{ordinal(i)}: {c(t)}" for i, t in enumerate(history, 1)]),
                output=LETTERS[cands.index(target)],
                options=[f"{LETTERS[j]}: {c(t)}" for j, t in enumerate(cands)],
                category=cat.name,
                source_ids=[user],
            ))
    if short:
        report.differs(f"SR {cat.name}: for {short} users the candidate pool minus their last three items held "
                       "fewer than 19 texts; the release's random.sample would raise, we take them all (fewer options)")
    return out


def shares(size: int, c: int) -> list[int]:
    """The release's per-category counts of an IND split: ``size // c`` each, the remainder to the last.

    >>> shares(10000, 3), shares(1000, 3), shares(20, 2)
    ([3333, 3333, 3334], [333, 333, 334], [10, 10])
    """
    base = size // c
    return [base] * (c - 1) + [size - base * (c - 1)]


def _pool(cats: list[_Category]) -> list[str]:
    """The set of item texts of ``cats``, in first-appearance order (categories, users, sequences)."""
    return list(dict.fromkeys(t for cat in cats for u in cat.users for t in cat.seqs[u]))


def _shuffled_users(cats, rng) -> list[list]:
    """Each category's users, shuffled in turn on the one stream (the release: ``random.shuffle``)."""
    orders = []
    for cat in cats:
        users = list(cat.users)
        rng.shuffle(users)
        orders.append(users)
    return orders


def build(cfg: BuildConfig, report: TaskReport) -> dict[str, list[Example]]:
    ind, ood = cfg.categories_for(TASK, **PAPER_CATEGORIES[TASK])
    report.differs("SR: the release iterated Python sets for the interactions and the candidate pool (hash order); "
                   "we take users in order of first appearance in the ratings file, a user's same-time "
                   "interactions in file order, and the pool in order of first appearance of each item text "
                   "(categories in configured order, users in that order, each user's sequence; the pool holds the "
                   "texts of the items in the users' first-50 sequences), so the shuffled user order and every "
                   "candidate list differ from the release's")
    rng = py_rng(cfg.seed)
    out: dict[str, list[Example]] = {}
    if ood:
        cats = [load_category(cfg, report, c) for c in ood]
        pool, orders = _pool(cats), _shuffled_users(cats, rng)
        n = cfg.target("test_ood")
        tests = [_records(cat, users, pool, rng, (n, n), report)["test"] for cat, users in zip(cats, orders)]
        flat = [ex for t in tests for ex in t]
        out["test_ood"] = flat if n is None else flat[:n]
        if len(ood) > 1:
            report.differs("SR: several OOD categories share one candidate pool and test_ood is the first records of "
                           "their test lists concatenated in configured order (the release had one OOD category)")
    if ind:
        cats = [load_category(cfg, report, c) for c in ind]
        pool, orders = _pool(cats), _shuffled_users(cats, rng)
        caps = (cfg.target("train"), cfg.target("test"))
        lists = [_records(cat, users, pool, rng, caps, report) for cat, users in zip(cats, orders)]
        for split in SPLITS:
            size = cfg.target(split)
            if size is None:
                out[split] = [ex for lst in lists for ex in lst[split]]
            else:
                out[split] = [ex for lst, k in zip(lists, shares(size, len(ind))) for ex in lst[split][:k]]
    report.extra["categories"] = {"ind": ind, "ood": ood}
    return out
