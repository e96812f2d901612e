"""PSI: ESCI substitutes are yes, exact/complement/irrelevant are no; rows sampled with seed 1 (RELEASED_FORMAT.md §7)."""

import json
from pathlib import Path

import pyarrow.parquet as pq
from ecinstruct_builders.core import BuildConfig, TaskReport
from ecinstruct_builders.readers import esci
from ecinstruct_builders.tasks import mpc, psi

SOURCES = Path(__file__).resolve().parents[2] / "samples" / "sources"


def test_labels_follow_the_esci_grade_and_are_reported():
    report = TaskReport("PSI")
    splits = psi.build(BuildConfig(sources=SOURCES, out=Path("unused")), report)
    labels = {r["example_id"]: r["esci_label"] for r in pq.read_table(SOURCES / "esci" / esci.EXAMPLES_FILE).to_pylist()}
    seen = set()
    for exs in splits.values():
        for ex in exs:
            grade = labels[int(ex.source_ids[0])]
            assert ex.output == ("yes" if grade == "S" else "no")
            assert ex.options == []
            assert list(json.loads(ex.input)) == ["query", "product"]
            seen.add(grade)
    assert seen == {"E", "S", "C", "I"}
    for split, exs in splits.items():
        assert report.labels[split] == {
            k: v for k, v in {"no": sum(e.output == "no" for e in exs),
                              "yes": sum(e.output == "yes" for e in exs)}.items() if v
        }


def test_same_rows_as_mpc_in_another_order():
    cfg = BuildConfig(sources=SOURCES, out=Path("unused"))
    p = psi.build(cfg, TaskReport("PSI"))
    m = mpc.build(cfg, TaskReport("MPC"))
    for split in p:  # every row of each split: same rows, but seed 1 vs MPC's seed 2
        ids_p, ids_m = [e.source_ids[0] for e in p[split]], [e.source_ids[0] for e in m[split]]
        assert sorted(ids_p) == sorted(ids_m) and ids_p != ids_m
    capped = psi.build(BuildConfig(sources=SOURCES, out=Path("unused"), sizes=3), TaskReport("PSI"))
    assert [e.input for e in capped["train"]] == [e.input for e in p["train"][:30]]


def test_label_of():
    assert [psi.label_of(g) for g in "ESCI"] == ["no", "yes", "no", "no"]
