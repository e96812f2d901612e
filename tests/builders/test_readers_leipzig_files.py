"""Leipzig Amazon-GoogleProducts reader on the real bundled files and on broken copies."""

from pathlib import Path

import pytest
from ecinstruct_builders.core import TaskReport
from ecinstruct_builders.readers import leipzig

SRC = Path(__file__).resolve().parents[2] / "samples" / "sources" / "amazon_google"


def test_reads_the_real_files():
    r = TaskReport("PM")
    amazon = leipzig.read_catalogue(SRC / "Amazon.csv", r)
    google = leipzig.read_catalogue(SRC / "GoogleProducts.csv", r)
    mapping = leipzig.read_mapping(leipzig.mapping_path(SRC), r)
    assert (len(amazon), len(google), len(mapping)) == (1363, 3226, 1300)
    assert r.rows_read == {"Amazon.csv": 1363, "GoogleProducts.csv": 3226,
                           "Amzon_GoogleProducts_perfectMapping.csv": 1300}
    assert r.dropped == {}
    p = next(p for p in amazon if p.id == "b00027eqmy")
    assert (p.title, p.description, p.manufacturer, p.price) == ("omniweb 5.0", None, "omni group", "29.99")
    g = next(g for g in google if g.id == "http://www.google.com/base/feeds/snippets/11125907881740407428")
    assert g.title == "learning quickbooks 2007" and g.price == "38.99"
    # CRLF line ends never leak into values
    assert not any("\r" in (v or "") for prod in amazon for v in vars(prod).values())


def test_release_decoding_and_the_correct_one(tmp_path):
    """The release read the Latin-1 files as UTF-8 with U+FFFD; latin-1 stays available."""
    (tmp_path / "Amazon.csv").write_bytes(
        b'"id","title","description","manufacturer","price"\r\n"x1","caf\xe9 \xe2\xae d","two\r\nlines","m",1\r\n'
    )
    released = leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"))[0]
    assert released.title == "caf\ufffd \ufffd d"  # E2 AE, a maximal invalid sequence, is one U+FFFD
    correct = leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"), encoding="latin-1")[0]
    assert correct.title == "café â® d" and correct.description == "two\r\nlines"
    with pytest.raises(ValueError, match="encoding must be one of"):
        leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"), encoding="cp1252")


def test_misspelled_and_corrected_mapping_names(tmp_path):
    (tmp_path / "Amazon_GoogleProducts_perfectMapping.csv").write_bytes(b'"idAmazon","idGoogleBase"\r\n"a","g"\r\n')
    assert leipzig.mapping_path(tmp_path).name == "Amazon_GoogleProducts_perfectMapping.csv"


def test_malformed_rows_are_counted_not_fatal(tmp_path):
    path = tmp_path / "GoogleProducts.csv"
    path.write_bytes(
        b'"id","name","description","manufacturer","price"\r\n'
        b'"g1","ok","d","","1"\r\n'
        b'"g2","too","many","fields","1","extra"\r\n'
        b'"","no id","d","m","1"\r\n'
        b'"g1","repeat","d","m","1"\r\n'
    )
    r = TaskReport("PM")
    out = leipzig.read_catalogue(path, r)
    assert [p.title for p in out] == ["ok", "repeat"]  # repeated ids are rows of their own, as in the release
    assert out[0].manufacturer is None
    assert r.rows_read == {"GoogleProducts.csv": 4}
    assert r.dropped == {"GoogleProducts.csv: wrong number of fields": 1, "GoogleProducts.csv: missing id": 1}


def test_missing_file_and_bad_header_are_clear_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="Amzon_GoogleProducts_perfectMapping.csv"):
        leipzig.mapping_path(tmp_path)
    with pytest.raises(FileNotFoundError, match=str(tmp_path / "Amazon.csv")):
        leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"))
    (tmp_path / "Amazon.csv").write_text('"id","name"\r\n', encoding="latin-1")
    with pytest.raises(ValueError, match="unexpected header"):
        leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"))


def test_a_field_longer_than_csv_s_default_limit_is_read_as_pandas_reads_it(tmp_path):
    import csv

    long = "a" * 200_000  # over csv's 128 KiB default field size limit; the release's pandas has none
    (tmp_path / "Amazon.csv").write_text(
        f'"id","title","description","manufacturer","price"\n"x1","t","{long}","m",1\n', encoding="utf-8")
    before = csv.field_size_limit()
    [product] = leipzig.read_catalogue(tmp_path / "Amazon.csv", TaskReport("PM"))
    assert product.description == long
    assert csv.field_size_limit() == before  # the process-wide limit is given back
