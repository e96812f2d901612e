"""The leaderboard table in the shape of the paper's Tables 3 (IND) and 4 (OOD).

Rows are the paper's reported models (with the table they come from) and the
scored submissions; columns are the primary metric of each task.  The best
value per column is marked (bold), the best paper baseline underlined, and
the improvement row is recomputed from the paper's rows as the paper does.
Submissions whose difference from the best submission in a column is not
significant (paired bootstrap) are marked ``≈``.

Scores are comparable only on the same test set.  :func:`build_boards` groups
results by the fingerprints of the test sets they were scored on (``test_set``
in the results files), one board per group, each headed by where its test
sets came from; bold and ``≈`` marks are computed within a board.  The paper's
rows (measured on the official release's test sets) appear only on the board
of results whose ``test_origin`` is the official release; without such
results they form a board of their own.

Examples
--------
>>> board = build_board([], setting="IND", order="paper")
>>> board.columns[:3], board.rows[0].model
(('AVE', 'PRP', 'PM'), 'GPT-4 Turbo')
>>> lines = render_markdown([board]).splitlines()
>>> lines[2]
'Test set: reported by the paper, on the official test sets.'
>>> print(lines[4][:40])
| Model | Source | AVE<br>F1* | PRP<br>m
"""

from __future__ import annotations

import csv
import hashlib
import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ecinstruct_leaderboard.compare import paired_test
from ecinstruct_leaderboard.reference import SETTING_SPLIT, improvement, paper_source, paper_table
from ecinstruct_leaderboard.results import model_name, test_origin_of, test_set_of

from ecinstruct_eval.tasks import TASKS
from ecinstruct_eval.testsets import describe, is_official

__all__ = ["Board", "Cell", "Row", "TestSetGroup", "build_board", "build_boards", "group_by_test_set",
           "render", "render_csv", "render_html", "render_markdown"]

FORMATS = ("md", "html", "csv")

#: Why results on different test sets get separate boards.
NOT_COMPARABLE = "scores on different test sets are not comparable"
#: The label of the board of the paper's rows when no result is on the official test sets.
PAPER_LABEL = "reported by the paper, on the official test sets"
UNKNOWN_LABEL = "unknown test set (results files without test-set identity; rescore them to record it)"


@dataclass
class Cell:
    value: float | None
    ci: tuple[float, float] | None = None
    best: bool = False
    best_baseline: bool = False
    not_significant: bool = False


@dataclass
class Row:
    model: str
    kind: str  # "baseline", "eCeLLM" (paper rows) or "submission"
    source: str
    cells: list[Cell]
    compat: str = ""

    @property
    def mean(self) -> float | None:
        vals = [c.value for c in self.cells if c.value is not None]
        return sum(vals) / len(vals) if vals else None

    @property
    def complete(self) -> bool:
        return all(c.value is not None for c in self.cells)


@dataclass
class Board:
    setting: str
    split: str
    table: str
    caption: str
    columns: tuple[str, ...]
    metrics: tuple[str, ...]
    rows: list[Row]
    improvement: tuple[float, ...] | None = None
    improvement_avg: float | None = None
    footnotes: list[str] = field(default_factory=list)
    #: what the board's test sets are: ``describe(origin)`` and a short fingerprint
    test_set: str = ""
    #: short fingerprint of the board's test sets ("" for the paper's own board or unknown sets)
    fingerprint: str = ""
    #: whether the board's results are on the official test sets (the paper's rows are then shown)
    official: bool = False
    #: lines shown under the heading (which test set, why boards are separate)
    notes: list[str] = field(default_factory=list)


@dataclass
class TestSetGroup:
    """Results scored on one test set (per task of a setting): indices into the results."""

    members: list[int]
    fingerprints: dict[str, str]  # task -> sha256 (empty: unknown test set)
    origin: dict | None = None

    __test__ = False  # not a pytest class

    @property
    def known(self) -> bool:
        return bool(self.fingerprints)

    @property
    def official(self) -> bool:
        return self.known and is_official(self.origin)

    @property
    def short(self) -> str:
        """12 hex digits naming the group's task fingerprints together ("" if unknown)."""
        if not self.fingerprints:
            return ""
        text = "\n".join(f"{t}:{h}" for t, h in sorted(self.fingerprints.items()))
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    @property
    def label(self) -> str:
        if not self.known:
            return UNKNOWN_LABEL
        return f"{describe(self.origin)}, test-set fingerprint {self.short}"


def _entry(doc: Mapping, task: str, split: str) -> Mapping | None:
    return doc.get("results", {}).get(task, {}).get(split)


def _finite(v) -> float | None:
    """``v`` as a float when it is a finite real number, else ``None`` (a document that did not come
    through :func:`ecinstruct_leaderboard.results.load_results` may hold anything)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    try:
        v = float(v)
    except OverflowError:
        return None
    return v if math.isfinite(v) else None


def _agree(a: Mapping[str, str], b: Mapping[str, str]) -> bool:
    shared = set(a) & set(b)
    return bool(shared) and all(a[t] == b[t] for t in shared)


def group_by_test_set(results: Sequence[Mapping], *, setting: str = "IND") -> list[TestSetGroup]:
    """Group results by the test sets of ``setting``'s columns they were scored on.

    Two results share a group when the fingerprints (``test_set.sha256``) of
    the tasks they both hold agree (and they share one at least).  Results
    without fingerprints (schema-1 files) form one "unknown test set" group,
    listed last; results with no entry in the setting's split are in no
    group.  The official group (``test_origin`` the release) comes first.

    >>> group_by_test_set([])
    []
    """
    setting = setting.upper()
    ref = paper_table(setting)
    split = SETTING_SPLIT[setting]
    groups: list[TestSetGroup] = []
    unknown = TestSetGroup([], {})
    for i, doc in enumerate(results):
        present = [t for t in ref.columns if _entry(doc, t, split)]
        if not present:
            continue
        fps = {t: h for t in present if (h := test_set_of(doc, t, split))}
        if not fps:
            unknown.members.append(i)
            continue
        for g in groups:
            if _agree(g.fingerprints, fps):
                g.members.append(i)
                g.fingerprints.update(fps)
                break
        else:
            groups.append(TestSetGroup([i], dict(fps)))
    merged = True
    while merged:  # a later result may join two groups formed earlier
        merged = False
        for a in range(len(groups)):
            for b in range(a + 1, len(groups)):
                if _agree(groups[a].fingerprints, groups[b].fingerprints):
                    groups[a].members = sorted(groups[a].members + groups[b].members)
                    groups[a].fingerprints.update(groups[b].fingerprints)
                    del groups[b]
                    merged = True
                    break
            if merged:
                break
    for g in groups:
        origins = [o for o in (test_origin_of(results[i]) for i in g.members) if o]
        # the same fingerprints are the same test set: one official member makes the group official
        g.origin = next((o for o in origins if is_official(o)), origins[0] if origins else None)
    groups.sort(key=lambda g: not g.official)
    return groups + ([unknown] if unknown.members else [])


def build_board(
    results: Sequence[Mapping],
    *,
    setting: str = "IND",
    include_paper: bool = True,
    order: str = "rank",
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
) -> Board:
    """Assemble one table (``setting`` ``"IND"`` = Table 3 shape, ``"OOD"`` = Table 4)
    of results on one test set.

    Parameters
    ----------
    results : sequence of results documents
        As written by ``ecinstruct leaderboard score``, all on the same test
        set (else ``ValueError``: use :func:`build_boards`).
    include_paper : bool
        Add the paper's reported rows and its improvement row: with no
        results (a board of the paper's rows only), or beside results on the
        official test sets; other results are not comparable with them.
    order : {"rank", "paper"}
        ``"rank"``: rows with every column first, by mean primary metric
        (descending); ``"paper"``: the paper's rows in its order, then the
        submissions by mean.
    alpha : float
        Significance level of the paired bootstrap marks.
    """
    setting = setting.upper()
    if setting not in SETTING_SPLIT:
        raise ValueError(f"setting must be one of {sorted(SETTING_SPLIT)}, got {setting!r}")
    if order not in ("rank", "paper"):
        raise ValueError(f"order must be 'rank' or 'paper', got {order!r}")
    ref = paper_table(setting)
    split = SETTING_SPLIT[setting]
    columns, metrics = ref.columns, ref.metrics
    groups = group_by_test_set(results, setting=setting)
    if len(groups) > 1:
        raise ValueError(f"the results are on {len(groups)} different test sets ({NOT_COMPARABLE}); "
                         "use build_boards() for one board per test set")
    group = groups[0] if groups else None
    paper_beside = include_paper and (group is None or group.official)
    rows: list[Row] = []
    if paper_beside:
        for r in ref.rows:
            rows.append(Row(r.model, r.kind, ref.table, [Cell(v) for v in r.values]))
    subs: list[Row] = []
    for i, doc in enumerate(results):
        name = names[i] if names else model_name(doc, f"submission {i + 1}")
        cells = []
        for task in columns:
            e = _entry(doc, task, split)
            if not e:
                cells.append(Cell(None))
                continue
            m = e["metrics"].get(e["primary_metric"], {})
            lo, hi = _finite(m.get("ci_low")), _finite(m.get("ci_high"))
            cells.append(Cell(_finite(m.get("value")), (lo, hi) if lo is not None and hi is not None else None))
        compat = doc.get("evaluator", {}).get("compat", "")
        subs.append(Row(name, "submission", doc.get("submission", {}).get("file", "results"), cells, compat))

    all_rows = rows + subs
    for j in range(len(columns)):
        vals = [r.cells[j].value for r in all_rows if r.cells[j].value is not None]
        if vals:
            top = max(vals)
            for r in all_rows:
                if r.cells[j].value is not None and math.isclose(r.cells[j].value, top, abs_tol=1e-12):
                    r.cells[j].best = True
        bvals = [r.cells[j].value for r in rows if r.kind == "baseline"]
        if bvals:
            btop = max(bvals)
            for r in rows:
                if r.kind == "baseline" and math.isclose(r.cells[j].value, btop, abs_tol=1e-12):
                    r.cells[j].best_baseline = True
    footnotes = []
    if len(subs) > 1:
        n_marked = _mark_not_significant(subs, list(results), columns, split, alpha)
        if n_marked:
            footnotes.append(
                f"≈ : not significantly different from the best submission in its column "
                f"(paired bootstrap over test items, p ≥ {alpha:g})."
            )

    def key_mean(r: Row) -> float:
        return -(r.mean if r.mean is not None else -math.inf)

    if order == "rank":
        all_rows = sorted(all_rows, key=lambda r: (not r.complete, key_mean(r)))
    else:
        all_rows = rows + sorted(subs, key=lambda r: (not r.complete, key_mean(r)))

    per = avg = None
    if paper_beside:
        per, avg = improvement(ref)
        printed = dict(zip(columns, ref.improvement_printed))
        diffs = [c for c, v in zip(columns, per) if abs(round(v, 1) - printed[c]) > 0.05]
        footnotes.append(
            f"Paper rows: {ref.table} of {paper_source()}. Improvement: best eCeLLM row over the "
            "best baseline row per column, in % (recomputed from the rows)."
        )
        if diffs or abs(round(avg, 1) - ref.improvement_avg_printed) > 0.05:
            shown = ", ".join(f"{c} {printed[c]:.1f}" for c in diffs)
            footnotes.append(
                f"The paper prints {shown} and avg {ref.improvement_avg_printed:.1f}; its own rows "
                f"give the values shown. {ref.note}".strip()
            )
    compats = sorted({r.compat for r in subs if r.compat})
    if "released" in compats:
        footnotes.append("Submissions scored with compat='released' drop unparseable outputs; "
                         "they are not comparable to the paper's rows.")
    board = Board(setting, split, ref.table, ref.caption, columns, metrics, all_rows, per, avg, footnotes)
    if group is None:
        if paper_beside:
            board.test_set, board.official = PAPER_LABEL, True
            board.notes.append(f"Test set: {PAPER_LABEL}.")
    else:
        board.test_set, board.fingerprint, board.official = group.label, group.short, group.official
        board.notes.append(f"Test set: {group.label}.")
        if not group.official:
            board.notes.append("Scores here are not comparable with the paper's rows (measured on the "
                               "official test sets)" + (", which are left out." if include_paper else "."))
    return board


def build_boards(
    results: Sequence[Mapping],
    *,
    setting: str = "IND",
    include_paper: bool = True,
    order: str = "rank",
    alpha: float = 0.05,
    names: Sequence[str] | None = None,
) -> list[Board]:
    """One board per test set the results were scored on (see :func:`group_by_test_set`).

    The paper's rows go beside the results on the official test sets; when no
    result is on them, the paper's rows form a board of their own, labelled
    as such (and, with no results at all, that is the only board).

    >>> [b.test_set for b in build_boards([], setting="OOD")]
    ['reported by the paper, on the official test sets']
    """
    setting = setting.upper()
    groups = group_by_test_set(results, setting=setting)
    boards = []
    for g in groups:
        docs = [results[i] for i in g.members]
        sub_names = [names[i] for i in g.members] if names else [
            model_name(results[i], f"submission {i + 1}") for i in g.members]
        boards.append(build_board(docs, setting=setting, include_paper=include_paper, order=order,
                                  alpha=alpha, names=sub_names))
    if include_paper and not any(g.official for g in groups):
        boards.append(build_board([], setting=setting, order=order, alpha=alpha))
    if len(boards) > 1:
        for b in boards:
            b.notes.append(f"Results on different test sets are in separate tables: {NOT_COMPARABLE}.")
    if not boards:  # no results and no paper rows: an empty board, as before
        boards.append(build_board([], setting=setting, include_paper=False, order=order, alpha=alpha))
    return boards


def _compat(doc) -> str:
    return doc.get("evaluator", {}).get("compat", "paper")


def _mark_not_significant(subs, docs, columns, split, alpha) -> int:
    marked = 0
    for j, task in enumerate(columns):
        cand = [(r, d) for r, d in zip(subs, docs) if r.cells[j].value is not None]
        if len(cand) < 2:
            continue
        best_r, best_d = max(cand, key=lambda rd: rd[0].cells[j].value)
        eb = _entry(best_d, task, split)
        for r, d in cand:
            if r is best_r:
                continue
            e = _entry(d, task, split)
            if (
                not e.get("bootstrap_primary")
                or e.get("ids_sha256") != eb.get("ids_sha256")
                or test_set_of(d, task, split) != test_set_of(best_d, task, split)
                or len(e["bootstrap_primary"]) != len(eb.get("bootstrap_primary") or [])
                or d.get("bootstrap", {}).get("seed") != best_d.get("bootstrap", {}).get("seed")
                or _compat(d) != _compat(best_d)  # scores of different modes are not comparable
            ):
                continue
            _, _, p = paired_test(eb["bootstrap_primary"], e["bootstrap_primary"], confidence=1 - alpha)
            if not p < alpha:
                r.cells[j].not_significant = True
                best_r.cells[j].not_significant = True
                marked += 1
    return marked


def _fmt(v: float | None) -> str:
    return "–" if v is None else f"{v:.3f}"


def _label(kind: str) -> str:
    return {"baseline": "paper baseline", "eCeLLM": "paper eCeLLM"}.get(kind, kind)


# ----------------------------------------------------------------------------- markdown


def render_markdown(boards: Sequence[Board], *, ci: bool = False) -> str:
    """Markdown tables; ``**best**``, ``<u>best baseline</u>``, ``≈`` not significant."""
    out = []
    for b in boards:
        out.append(f"### {b.table} shape: {b.caption} ({b.setting}, split `{b.split}`)")
        out.append("")
        if b.notes:
            out.append("  \n".join(_md_escape(n) for n in b.notes))
            out.append("")
        head = ["Model", "Source"] + [f"{c}<br>{m}" for c, m in zip(b.columns, b.metrics)] + ["mean"]
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * 2 + "---:|" * (len(b.columns) + 1))
        for r in b.rows:
            cells = []
            for c in r.cells:
                s = _fmt(c.value)
                if ci and c.ci:
                    s += f" ({c.ci[0]:.3f}–{c.ci[1]:.3f})"
                if c.best_baseline:
                    s = f"<u>{s}</u>"
                if c.best:
                    s = f"**{s}**"
                if c.not_significant:
                    s += " ≈"
                cells.append(s)
            src = r.source if r.kind != "submission" else f"submission ({r.compat or 'paper'})"
            out.append("| " + " | ".join([_md_escape(r.model), _md_escape(src)] + cells + [_fmt(r.mean)]) + " |")
        if b.improvement is not None:
            vals = [f"{v:.1f}" for v in b.improvement]
            out.append(f"| improvement (%, avg: {b.improvement_avg:.1f}) | {b.table} | " + " | ".join(vals) + " | |")
        out.append("")
        for f in b.footnotes:
            out.append(f"- {f}")
        out.append("")
    return "\n".join(out).rstrip() + "\n"


_MD_BREAKS = re.compile(r"[\x00-\x1f\x7f\x85\u2028\u2029]+")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]!#|~])")
_MD_AUTOLINK = re.compile(r"(?<=[A-Za-z])(:)(?=//)|(?<=www)(\.)", re.I)


def _md_escape(s: object) -> str:
    """Text as inert Markdown: no row break (CR/LF and other control characters become a
    space), no markup (``|``, ``\\``, backticks, ``*``, ``_``, ``[``, ``]``, ``!``, ``#``, ``~``
    backslash-escaped; ``&``, ``<``, ``>`` as entities), no bare-URL autolink.

    >>> _md_escape("![b](http://x) | <img>\\n**x**")
    '\\\\!\\\\[b\\\\](http\\\\://x) \\\\| &lt;img&gt; \\\\*\\\\*x\\\\*\\\\*'
    """
    text = _MD_BREAKS.sub(" ", str(s))
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    text = _MD_SPECIAL.sub(r"\\\1", text)
    return _MD_AUTOLINK.sub(lambda m: "\\" + (m.group(1) or m.group(2)), text)


# ----------------------------------------------------------------------------- csv

#: A spreadsheet reads a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _csv_text(s: object) -> str:
    """A text cell that no spreadsheet runs: a leading ``=``, ``+``, ``-``, ``@``, tab or CR/LF
    gets a ``'`` before it (numbers are written by :func:`render_csv` itself, unchanged).

    >>> _csv_text("=2+5+cmd|' -C calc'!A0"), _csv_text("-x"), _csv_text("eCeLLM-L")
    ("'=2+5+cmd|' -C calc'!A0", "'-x", 'eCeLLM-L')
    """
    text = str(s)
    return "'" + text if text.startswith(_FORMULA_START) else text



def render_csv(boards: Sequence[Board]) -> str:
    """One CSV for all boards: ``setting`` and ``test_set`` columns (rows of different test
    sets are not comparable), values and CI bounds per task."""
    buf = io.StringIO()
    # RFC 4180 line ends: the writer then quotes every field holding CR or LF (with "\n" alone,
    # a bare CR would go out unquoted).
    w = csv.writer(buf, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    tx = _csv_text
    tasks = [t for t in TASKS if any(t in b.columns for b in boards)]
    w.writerow(["setting", "split", "test_set", "fingerprint", "model", "kind", "source", "mean"]
               + [x for t in tasks for x in (t, f"{t}_ci_low", f"{t}_ci_high")])
    for b in boards:
        for r in b.rows:
            vals = []
            for t in tasks:
                c = r.cells[b.columns.index(t)] if t in b.columns else Cell(None)
                vals += ["" if c.value is None else f"{c.value:.6g}",
                         "" if not c.ci else f"{c.ci[0]:.6g}", "" if not c.ci else f"{c.ci[1]:.6g}"]
            src = r.source if r.kind != "submission" else f"{r.source} ({r.compat or 'paper'})"
            w.writerow([tx(b.setting), tx(b.split), tx(b.test_set), tx(b.fingerprint), tx(r.model), tx(r.kind),
                        tx(src), "" if r.mean is None else f"{r.mean:.6g}"] + vals)
        if b.improvement is not None:
            vals = []
            for t in tasks:
                v = b.improvement[b.columns.index(t)] if t in b.columns else None
                vals += ["" if v is None else f"{v:.1f}", "", ""]
            w.writerow([tx(b.setting), tx(b.split), tx(b.test_set), tx(b.fingerprint), "improvement (%)",
                        "improvement", tx(b.table), f"{b.improvement_avg:.1f}"] + vals)
    return buf.getvalue()


# ----------------------------------------------------------------------------- html

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em;color:#222}
table.board{border-collapse:collapse;margin-bottom:.5em;font-size:14px}
.board th,.board td{border:1px solid #ccc;padding:4px 8px;text-align:right}
.board th{background:#f3f3f3;cursor:pointer;user-select:none}
.board th[aria-sort=descending]::after{content:" \\25BC"}
.board th[aria-sort=ascending]::after{content:" \\25B2"}
.board td.model,.board td.src,.board th.model{text-align:left}
.board tr.submission td{background:#eef6ff}
.board td.best{font-weight:bold}
.board td.bestbase{text-decoration:underline}
.board tfoot td{font-style:italic;background:#fafafa}
.ns::after{content:" \\2248"}
.foot{font-size:12px;color:#555;max-width:70em}
.testset{font-size:14px;max-width:70em;margin:.3em 0 .6em}
"""

_JS = """
(function(){
  function val(td){var v=td.getAttribute('data-value');
    if(v===null){return td.textContent.trim().toLowerCase();}
    return v===''?null:parseFloat(v);}
  function sortTable(table,col,dir){
    var tbody=table.tBodies[0];var rows=Array.prototype.slice.call(tbody.rows);
    rows.sort(function(a,b){var x=val(a.cells[col]),y=val(b.cells[col]);
      if(x===null&&y===null)return 0; if(x===null)return 1; if(y===null)return -1;
      if(x<y)return dir==='ascending'?-1:1; if(x>y)return dir==='ascending'?1:-1; return 0;});
    rows.forEach(function(r){tbody.appendChild(r);});
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      if(i===col){th.setAttribute('aria-sort',dir);}else{th.removeAttribute('aria-sort');}});
  }
  window.sortBoard=sortTable;
  Array.prototype.forEach.call(document.querySelectorAll('table.board'),function(table){
    Array.prototype.forEach.call(table.tHead.rows[0].cells,function(th,i){
      th.addEventListener('click',function(){
        var numeric=th.getAttribute('data-type')==='number';
        var cur=th.getAttribute('aria-sort');
        var dir=cur?(cur==='descending'?'ascending':'descending'):(numeric?'descending':'ascending');
        sortTable(table,i,dir);});});});
  // Deep link: #sort=IND:SR or #sort=OOD:mean:ascending
  var m=/sort=([A-Za-z]+):([^:&]+)(?::(ascending|descending))?/.exec(location.hash);
  if(m){var t=document.getElementById('board-'+m[1].toUpperCase());
    if(t){Array.prototype.forEach.call(t.tHead.rows[0].cells,function(th,i){
      if(th.getAttribute('data-col')===m[2]){sortTable(t,i,m[3]||'descending');}});}}
})();
"""


def render_html(boards: Sequence[Board], *, title: str = "ECInstruct leaderboard") -> str:
    """One self-contained HTML page (inline CSS and JS, no network); click a header to sort."""
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
    ]
    seen: dict[str, int] = {}
    for b in boards:
        seen[b.setting] = seen.get(b.setting, 0) + 1
        anchor = b.setting if seen[b.setting] == 1 else f"{b.setting}-{seen[b.setting]}"
        parts.append(f"<h2>{e(b.table)} shape: {e(b.caption)} ({e(b.setting)}, split <code>{e(b.split)}</code>)</h2>")
        if b.notes:
            parts.append('<p class="testset">' + "<br>".join(e(n) for n in b.notes) + "</p>")
        parts.append(f'<table class="board" id="board-{e(anchor)}" data-fingerprint="{e(b.fingerprint)}"><thead><tr>')
        parts.append('<th class="model" data-col="model" data-type="text">Model</th>')
        parts.append('<th class="model" data-col="source" data-type="text">Source</th>')
        for c, m in zip(b.columns, b.metrics):
            parts.append(f'<th data-col="{e(c)}" data-type="number" title="{e(m)}">{e(c)}<br><small>{e(m)}</small></th>')
        parts.append('<th data-col="mean" data-type="number">mean</th></tr></thead><tbody>')
        for r in b.rows:
            src = r.source if r.kind != "submission" else f"submission ({r.compat or 'paper'})"
            parts.append(f'<tr class="{e(r.kind)}" data-model="{e(r.model)}">'
                         f'<td class="model">{e(r.model)}</td><td class="src">{e(src)}</td>')
            for c in r.cells:
                cls = [k for k, on in (("best", c.best), ("bestbase", c.best_baseline),
                                       ("ns", c.not_significant)) if on]
                tip = f' title="95% CI {c.ci[0]:.3f}–{c.ci[1]:.3f}"' if c.ci else ""
                dv = "" if c.value is None else repr(float(c.value))
                parts.append(f'<td class="{" ".join(cls)}" data-value="{dv}"{tip}>{_fmt(c.value)}</td>')
            mv = "" if r.mean is None else repr(float(r.mean))
            parts.append(f'<td data-value="{mv}">{_fmt(r.mean)}</td></tr>')
        parts.append("</tbody>")
        if b.improvement is not None:
            parts.append(f'<tfoot><tr><td class="model">improvement (%, avg: {b.improvement_avg:.1f})</td>'
                         f'<td class="src">{e(b.table)}</td>')
            parts += [f"<td>{v:.1f}</td>" for v in b.improvement]
            parts.append("<td></td></tr></tfoot>")
        parts.append("</table>")
        notes = ["<b>bold</b>: best in column; <u>underlined</u>: best paper baseline."] + [e(f) for f in b.footnotes]
        parts.append('<div class="foot">' + "<br>".join(notes) + "</div>")
    parts.append(f"<script>{_JS}</script></body></html>")
    return "\n".join(parts) + "\n"


def render(boards: Sequence[Board], fmt: str, **kw) -> str:
    """Render ``boards`` as ``"md"``, ``"html"`` or ``"csv"``."""
    if fmt == "md":
        return render_markdown(boards, **kw)
    if fmt == "html":
        return render_html(boards, **kw)
    if fmt == "csv":
        return render_csv(boards)
    raise ValueError(f"format must be one of {FORMATS}, got {fmt!r}")
