"""The licence of each raw source, as data: the card's table and the export's ``LICENSE.md``.

ECInstruct's records are derived from four public datasets (paper, Table A2);
each part of the data is governed by its source's licence.  Two sources state
none, so the card declares ``license: other`` with ``license_link: LICENSE.md``,
the file :func:`licence_file` renders beside the data.

Examples
--------
>>> [s.tasks for s in SOURCES][1]
('PM',)
>>> licence_table().splitlines()[0]
'| source | licence | tasks | where |'
"""

from __future__ import annotations

from dataclasses import dataclass

#: The export's licence file, which the card's ``license_link`` names.
LICENCE_FILE = "LICENSE.md"


@dataclass(frozen=True)
class SourceLicence:
    source: str
    licence: str
    tasks: tuple[str, ...]
    url: str


SOURCES = (
    SourceLicence("Amazon Review 2018 (Ni et al., 2019), with Amazon Review 2014 metadata and MAVE attribute "
                  "labels (Yang et al., 2022)", "not specified (released for research)", ("AVE", "PRP", "SA", "SR"),
                  "https://cseweb.ucsd.edu/~jmcauley/datasets.html#amazon_reviews"),
    SourceLicence("Amazon-Google Products (Köpcke et al., 2010)", "CC BY 4.0", ("PM",),
                  "https://dbs.uni-leipzig.de/research/projects/benchmark-datasets-for-entity-resolution"),
    SourceLicence("Shopping Queries Dataset (ESCI; Reddy et al., 2022)", "Apache License 2.0", ("MPC", "PSI", "QPR"),
                  "https://github.com/amazon-science/esci-data"),
    SourceLicence("AmazonQA (Gupta et al., 2019)", "not specified (released for research)", ("AP", "AG"),
                  "https://github.com/amazonqa/amazonqa"),
)

NOTE = ("The instructions are those of the paper (Appendix C). Because two sources state no licence, "
        "the card declares `license: other`; check each source's terms before any use beyond research.")


def licence_table() -> str:
    """The sources' licences as a Markdown table."""
    rows = ["| source | licence | tasks | where |", "|---|---|---|---|"]
    rows += [f"| {s.source} | {s.licence} | {', '.join(s.tasks)} | {s.url} |" for s in SOURCES]
    return "\n".join(rows)


def licence_file() -> str:
    """The export's ``LICENSE.md``: the licence of each source the records come from."""
    return ("# Licences of ECInstruct's data\n\n"
            "ECInstruct is derived from four public datasets (paper, Table A2). Use of each part of the "
            "data is governed by the licence of its source:\n\n" + licence_table() + "\n\n" + NOTE + "\n")
