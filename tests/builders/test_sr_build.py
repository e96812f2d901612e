"""SR's rules (RELEASED_FORMAT.md §6) pinned on real rows of the bundled samples."""

import ast
import gzip
import json
import random
import shutil

import numpy as np
import pytest
from _review_samples import SOURCES, records, report, sample_config, sources_without_ratings
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.release import cut_words, py_list_text, py_rng
from ecinstruct_builders.tasks import sr

META = SOURCES / "amazon_review_2018/meta/all_category"
RATINGS = SOURCES / "amazon_review_2018/rating/all_category/Magazine_Subscriptions.csv"
TOOLS18 = SOURCES / "amazon_review_2018/fixtures/meta_Tools_and_Home_Improvement.json.gz"
TOOLS14 = SOURCES / "amazon_review_2014/meta_Tools_and_Home_Improvement.json.gz"


def _meta(path):
    with gzip.open(path, "rt", encoding="utf-8") as f:
        return {m["asin"]: m for m in map(json.loads, f)}


def test_ordinals_follow_the_release_rule():
    assert [sr.ordinal(i) for i in range(1, 25)][:4] == ["1st", "2nd", "3rd", "4th"]
    assert [sr.ordinal(i) for i in (11, 12, 13, 20, 21, 22, 23, 24, 30, 41, 49)] == [
        "11th", "12th", "13th", "20th", "21st", "22nd", "23rd", "24th", "30th", "41st", "49th"]


def test_item_text_of_real_magazine_rows():
    meta = _meta(META / "meta_Magazine_Subscriptions.json.gz")
    # the title is an HTML fragment: quotes removed first, then the unfinished tag stays text;
    # "&amp;" in the category is unescaped; only the first two categories are used
    assert sr.item_text(meta["B00005N7OC"]) == (
        "<span class=a-size-medium a-color-secondary. Magazine Subscriptions. Arts, Music & Photography. "
        "String Letter Publishers.")
    assert meta["B00005N7NQ"]["category"][2] == "Professional & Trade"
    assert sr.item_text(meta["B00005N7NQ"]) == (
        "<span class=a-size-medium a-color-secondary. Magazine Subscriptions. Professional & Educational Journals. "
        "Reason Magazine.")


def test_item_text_of_real_gift_card_rows():
    meta = _meta(META / "meta_Gift_Cards.json.gz")
    # a leading space in the title is stripped with the field
    assert sr.item_text(meta["B001H53QEO"]) == (
        "Amazon.com $50 Gift Cards, Pack of 50 (Old Version) (Classic White Card Design). Gift Cards. Gift Cards. Amazon.")


def test_2014_metadata_fills_empty_title_and_brand():
    m18 = _meta(TOOLS18)
    with gzip.open(TOOLS14, "rt", encoding="utf-8") as f:
        m14 = {m["asin"]: m for m in map(ast.literal_eval, f)}
    assert m18["FXT0000003"]["title"] == "" and m18["FXT0000005"]["brand"] == ""
    assert sr.item_text(m18["FXT0000003"], m14["FXT0000003"]) == (
        "Baylock Screwdriver Set Model 103. Tools & Home Improvement. Power & Hand Tools. Baylock.")
    assert sr.item_text(m18["FXT0000005"], m14["FXT0000005"]).endswith("Power & Hand Tools. Hartwell.")
    assert sr.item_text(m18["FXT0000005"]).endswith("Power & Hand Tools.")


@pytest.mark.parametrize("raw, text", [
    ({"title": 'The "Best" &quot;Saw&quot;', "category": [], "brand": "Kimberly Bay "}, 'The Best "Saw".  Kimberly Bay .'),
    ({"title": "Line\nbreak...", "category": ["A", ""], "brand": {"k": "v"}}, "Linebreak. A. {'k': 'v'}."),
    ({"title": "x" * 2000, "category": ["<b>Bold</b>"], "brand": None}, "Bold."),
])
def test_cleaning_chain(raw, text):
    assert sr.item_text(raw) == text


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_html_text_matches_beautifulsoup_on_the_real_metadata():
    bs4 = pytest.importorskip("bs4")
    values = set()
    for path in (META / "meta_Magazine_Subscriptions.json.gz", META / "meta_Gift_Cards.json.gz", TOOLS18):
        for m in _meta(path).values():
            for field in ("title", "brand", "category", "description", "feature", "details"):
                v = m.get(field)
                for s in v if isinstance(v, list) else [v if isinstance(v, str) else str(v)]:
                    if isinstance(s, str) and s:
                        values.add(s.replace('"', "").replace("\n", "").replace("\r", ""))
    assert len(values) > 3000
    for s in values:
        assert sr.html_text(s) == bs4.BeautifulSoup(s, "html.parser").get_text(), s


@pytest.mark.parametrize("markup, text", [
    ("a<br> </br> ", "a "),  # the redundant </br> does not end the string: "  " is one string, one space
    ("<br>\t</br>x", "\tx"),
    ("<wbr><br/>A\n</wbr>  ", "A\n  "),
    ("</br> \t", " "),  # no <br> before: the end tag ends the string
    ("<br><br></br>\n</br> </br>", "\n"),  # two crossed off; the third ends "\n " (a newline)
    ("<pre>  </pre>", "  "),
    ("<br><br/> </br> ", " "),  # <br/> crosses nothing off (bs4 4.15; 4.12-4.14 give "  ")
])
def test_html_text_crosses_off_end_tags_of_void_elements(markup, text):
    assert sr.html_text(markup) == text


@pytest.mark.filterwarnings("ignore::UserWarning")
def test_html_text_matches_beautifulsoup_on_random_markup():
    bs4 = pytest.importorskip("bs4")
    fragments = ["<br>", "</br>", "<br/>", "<p>", "</p>", "<pre>", "</pre>", "<script>", "</script>", "<b>", "</b>",
                 "<img src=x>", "</img>", "<hr/>", "<wbr>", "</wbr>", "<input>", "</input>", "<textarea>",
                 "</textarea>", "&amp;", "&#39;", "&#x41;", "&foo;", "&#128;", " ", "  ", "\n", "\t", "a", "bc",
                 "<!-- c -->", "<![CDATA[x]]>", "<!DOCTYPE x>", "<?pi?>", "<", ">", "&"]
    rng = random.Random(0)
    for _ in range(5000):
        s = "".join(rng.choice(fragments) for _ in range(rng.randint(1, 12)))
        assert sr.html_text(s) == bs4.BeautifulSoup(s, "html.parser").get_text(), s


@pytest.mark.parametrize("n, excluded", [(30, [0, 5]), (86, [1]), (200, [3, 7, 199]), (5000, [0, 4999, 17])])
def test_sample_without_draws_what_random_sample_draws(n, excluded):
    pool = [f"t{i}" for i in range(n)]
    a, b = py_rng(), py_rng()
    for _ in range(20):
        pot = [p for i, p in enumerate(pool) if i not in excluded]
        assert sr.sample_without(a, pool, excluded, 19) == b.sample(pot, 19)


def test_ratings_csv_is_a_set_then_5_core(tmp_path):
    root = tmp_path / "amazon_review_2018"
    root.mkdir()
    shutil.copy(META / "meta_Magazine_Subscriptions.json.gz", root)
    lines = RATINGS.read_text().splitlines()
    (root / "Mag.csv").write_text("\n".join(lines + lines[:7]) + "\n")  # 7 identical rows again
    (root / "meta_Mag.json.gz").symlink_to(root / "meta_Magazine_Subscriptions.json.gz")
    cfg = BuildConfig(sources=tmp_path, out=tmp_path)
    rep = TaskReport("SR")
    cat = sr.load_category(cfg, rep, "Mag")
    tally = rep.extra["interactions"]["Mag"]
    assert tally["read"] == 553 and tally["repeated"] == 7
    assert tally["read"] == sum(v for k, v in tally.items() if k != "read")
    # the first 546 real ratings leave no user with 5 interactions of items that keep 5 users
    assert cat.users == [] and tally["removed by 5-core"] == 553 - 7 - tally["item without metadata"]


def test_five_core_is_iterative():
    # Round 1 drops user 6 (2 interactions); only then does item 9 fall to 4 users and go in round 2.
    users = np.array([u for u in range(5) for _ in range(5)] + [6, 6] + [0, 1, 2, 3])
    items = np.array([i for _ in range(5) for i in range(5)] + [9, 0] + [9] * 4)
    assert sr.five_core(users, items, 5).tolist() == [True] * 25 + [False] * 6


def _reference(cfg):
    """An independent replay of the release's loop: materialised pots, plain random.sample."""
    rng = py_rng(1)
    cats = {c: sr.load_category(cfg, TaskReport("SR"), c) for c in ("Tools_and_Home_Improvement", "Gift_Cards",
                                                                    "Magazine_Subscriptions")}

    def run(names, cap_train, cap_test):
        pool = list(dict.fromkeys(t for c in names for u in cats[c].users for t in cats[c].seqs[u]))
        orders = {}
        for c in names:
            orders[c] = list(cats[c].users)
            rng.shuffle(orders[c])
        res = {}
        for c in names:
            lists = {"train": [], "validation": [], "test": []}
            for u in orders[c]:
                if len(lists["train"]) >= cap_train:
                    break
                e = cats[c].seqs[u]
                pot = [t for t in pool if t not in set(e[-3:])]
                for mode, split in enumerate(("train", "validation", "test")):
                    if mode and len(lists["test"]) >= cap_test:
                        continue
                    target = e[len(e) - 3 + mode]
                    cands = rng.sample(pot, 19) + [target]
                    rng.shuffle(cands)
                    lists[split].append((
                        py_list_text([f"{sr.ordinal(i)}: {cut_words(t, 25)}" for i, t in enumerate(e[: len(e) - 3 + mode], 1)]),
                        [f"{'ABCDEFGHIJKLMNOPQRST'[j]}: {cut_words(t, 25)}" for j, t in enumerate(cands)],
                        "ABCDEFGHIJKLMNOPQRST"[cands.index(target)]))
            res[c] = lists
        return res

    ood = run(["Tools_and_Home_Improvement"], 6, 6)["Tools_and_Home_Improvement"]["test"][:6]
    ind = run(["Gift_Cards", "Magazine_Subscriptions"], 60, 6)
    return ood, ind


def test_records_replay_the_release_stream_ood_first_then_ind(tmp_path):
    cfg = sample_config(tmp_path / "out", sizes=6, sources=sources_without_ratings(tmp_path / "src"))
    out = sr.build(cfg, TaskReport("SR"))
    ood, ind = _reference(cfg)
    assert [(ex.input, ex.options, ex.output) for ex in out["test_ood"]] == ood
    assert [(ex.input, ex.options, ex.output) for ex in out["train"]] == (
        ind["Gift_Cards"]["train"][:30] + ind["Magazine_Subscriptions"]["train"][:30])
    for split in ("validation", "test"):
        assert [(ex.input, ex.options, ex.output) for ex in out[split]] == (
            ind["Gift_Cards"][split][:3] + ind["Magazine_Subscriptions"][split][:3])


def test_shares_are_the_release_numbers():
    assert sr.shares(10000, 3) == [3333, 3333, 3334] and sr.shares(1000, 3) == [333, 333, 334]


def test_built_records_render_as_python_lists():
    for split in ("train", "validation", "test", "test_ood"):
        for r in records("SR", split):
            hist = ast.literal_eval(r["input"])
            assert isinstance(hist, list) and hist and py_list_text(hist) == r["input"]
            assert [h.split(": ", 1)[0] for h in hist] == [sr.ordinal(i) for i in range(1, len(hist) + 1)]
            assert [o[:3] for o in r["options"]] == [f"{c}: " for c in sr.LETTERS]
            target = r["options"][sr.LETTERS.index(r["output"])][3:]
            assert [o[3:] for o in r["options"]].count(target) == 1
            assert all(len(o[3:].split(" ")) <= 25 for o in r["options"])


def test_the_ratings_csv_is_read_before_a_review_file_as_the_release_read_it(tmp_path):
    cfg = sample_config(tmp_path)  # Magazine_Subscriptions has both a 5-core review file and the ratings CSV
    assert sr.interaction_file(cfg, "Magazine_Subscriptions") == RATINGS
    assert sr.interaction_file(cfg, "Gift_Cards").name == "Gift_Cards_5.json.gz"
    differs = report("SR")["release_differences"]
    assert not [d for d in differs if "Magazine_Subscriptions" in d]
    assert [d for d in differs if "SR Gift_Cards: no ratings CSV" in d]
    # the sample CSV is the real file's first 546 rows: no user keeps 5 interactions, and the report says so
    assert ("SR Magazine_Subscriptions: no user is left after the 5-core filtering of the 546 interactions read "
            "from Magazine_Subscriptions.csv; the category gives no records") in report("SR")["notes"]


def test_every_interaction_read_is_in_a_sequence_or_counted():
    tallies = report("SR")["extra"]["interactions"]
    for cat, t in tallies.items():
        assert t["read"] == sum(v for k, v in t.items() if k != "read"), cat
    assert report("SR")["rows_read"]["Gift_Cards_5.json.gz"] == tallies["Gift_Cards"]["read"]


def test_history_beyond_the_cap_is_counted(tmp_path):
    root = tmp_path / "amazon_review_2018"
    root.mkdir()
    items = [f"I{i:02d}" for i in range(24)]
    with open(root / "meta_Tiny.json", "w") as f:
        for a in items:
            f.write(json.dumps({"asin": a, "title": f"Item {a}", "category": ["Tiny"], "brand": "B"}) + "\n")
    with open(root / "Tiny.csv", "w") as f:
        for u in range(6):
            for t, a in enumerate(items):
                f.write(f"{a},U{u},5.0,{1000 + t}\n")
    cfg = BuildConfig(sources=tmp_path, out=tmp_path, sizes="all", categories={"SR": {"ind": ["Tiny"], "ood": []}},
                      options={"SR": {"max_history": 10}})
    rep = TaskReport("SR")
    out = sr.build(cfg, rep)
    tally = rep.extra["interactions"]["Tiny"]
    assert tally["beyond a user's first 10"] == 6 * 14 and tally["in user sequences"] == 60
    assert len(out["train"]) == 6
    # the pool holds the texts in the sequences (I00..I09): minus the last three, 7 candidates + the target
    assert all(len(ex.options) == 8 for ex in out["train"])
    assert any("fewer than 19" in d for d in rep.release_differences)
    assert ast.literal_eval(out["test"][0].input)[-1] == "9th: Item I08. Tiny. B."
