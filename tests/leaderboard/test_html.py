"""The HTML board is one self-contained page whose rows a real browser sorts."""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser

import pytest
from ecinstruct_leaderboard.table import build_board, render_html

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


class _Rows(HTMLParser):
    """Model names of the rows of each board table, in DOM order."""

    def __init__(self):
        super().__init__()
        self.tables: dict[str, list[str]] = {}
        self._table = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table" and a.get("id", "").startswith("board-"):
            self._table = a["id"][6:]
            self.tables[self._table] = []
        elif tag == "tr" and self._table and "data-model" in a:
            self.tables[self._table].append(a["data-model"])

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None


def _rows(html: str) -> dict[str, list[str]]:
    p = _Rows()
    p.feed(html)
    return p.tables


def _dump_dom(url: str, tmp_path) -> str:
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
           "--disable-component-update", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}",
           "--virtual-time-budget=2000", "--dump-dom", url]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=90)
    assert out.returncode == 0, out.stderr[-2000:]
    return out.stdout


@pytest.fixture
def page(tmp_path):
    html = render_html([build_board([], setting="IND"), build_board([], setting="OOD", order="paper")])
    path = tmp_path / "board.html"
    path.write_text(html, encoding="utf-8")
    return path, html


def test_html_is_self_contained(page):
    _, html = page
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "<script>" in html and "<style>" in html
    rows = _rows(html)
    assert len(rows["IND"]) == 10 and rows["OOD"][0] == "GPT-4 Turbo"


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (Debian package 'chromium')")
def test_browser_renders_and_sorts_rows(page, tmp_path):
    path, html = page
    static = _rows(html)
    dom = _dump_dom(path.as_uri(), tmp_path)
    assert _rows(dom) == static  # no sort requested: server order kept
    dom = _dump_dom(path.as_uri() + "#sort=OOD:SR:descending", tmp_path)
    rows = _rows(dom)
    assert rows["OOD"][:4] == ["eCeLLM-M", "eCeLLM-L", "eCeLLM-S", "GPT-4 Turbo"]  # HR@1 .280 .273 .241 .198
    assert rows["OOD"][-1] == "EcomGPT"
    assert rows["IND"] == static["IND"]
    assert 'aria-sort="descending"' in dom
    dom = _dump_dom(path.as_uri() + "#sort=IND:model:ascending", tmp_path)
    assert _rows(dom)["IND"] == sorted(static["IND"], key=str.lower)
    assert "improvement (%, avg: 10.7)" in dom
