"""Submissions are untrusted: every malformed kind is rejected with its line and reason."""

from __future__ import annotations

import json
import os
import tracemalloc

import pytest
from conftest import META, fake_score, load, write_gold_submission
from ecinstruct_leaderboard.results import score_submission
from ecinstruct_leaderboard.submission import (
    Limits,
    SubmissionError,
    meta_path_for,
    required_sets,
    safe_filename,
    validate_submission,
)


@pytest.fixture
def valid(build_dir, tmp_path):
    return write_gold_submission(build_dir, tmp_path / "model.jsonl")


def _lines(path):
    return path.read_bytes().split(b"\n")[:-1]


def _rewrite(path, lines):
    path.write_bytes(b"\n".join(lines) + b"\n")


def _only(report):
    assert not report.ok
    return [(p.line, p.message) for p in report.problems]


def test_valid_submission_passes(valid, build_dir):
    report = validate_submission(valid, location=build_dir)
    assert report.ok, report.summary()
    assert len(report.counts) == 16 == len(required_sets())
    assert report.metadata["model"] == "test-model"
    assert "valid" in report.summary()


def _replace_line(path, lineno, new: bytes):
    lines = _lines(path)
    old = lines[lineno - 1]
    lines[lineno - 1] = new
    _rewrite(path, lines)
    return json.loads(old)


def _line_obj(path, lineno):
    return json.loads(_lines(path)[lineno - 1])


@pytest.mark.parametrize(
    "make, expected, names_its_item",
    [
        (lambda o: b'{"task": "SR", "split": "test", "id": "x", "prediction": "\xff\xfe"}', "not valid UTF-8", False),
        (lambda o: b'{"task": "SR", "split": ', "not valid JSON", False),
        (lambda o: b'["SR", "test"]', "must be a JSON object, got list", False),
        (lambda o: json.dumps({k: o[k] for k in ("task", "split", "id")}).encode(), "missing key(s) 'prediction'", True),
        (lambda o: json.dumps({**o, "score": 1}).encode(), "unknown key(s) 'score'", True),
        (lambda o: json.dumps({**o, "prediction": None}).encode(), "prediction must be a string, got null", True),
        (lambda o: json.dumps({**o, "prediction": 3}).encode(), "prediction must be a string, got int", True),
        (lambda o: json.dumps({**o, "id": 12}).encode(), "id must be a string, got int", False),
        (lambda o: json.dumps({**o, "task": "XYZ"}).encode(), "unknown task 'XYZ'", False),
        (lambda o: json.dumps({**o, "task": "ave"}).encode(), "did you mean 'AVE'?", False),
        (lambda o: json.dumps({**o, "split": "validation"}).encode(), "(not a test split)", False),
        (lambda o: json.dumps({**o, "split": "dev"}).encode(), "unknown split 'dev'", False),
        (lambda o: json.dumps({**o, "id": "AVE-test-99999"}).encode(), "unknown id 'AVE-test-99999' for AVE/test", False),
        (lambda o: json.dumps({**o, "id": "../../etc/passwd"}).encode(), "malformed id", False),
        (lambda o: b"", "empty line", False),
        (lambda o: b'{"task": "AVE", "split": "test", "id": "a", "prediction": NaN}', "NaN is not valid JSON", False),
        (lambda o: b'{"task": "AVE", "task": "AVE", "split": "test", "id": "a", "prediction": ""}', "duplicate key 'task'", False),
        (lambda o: b"[" * 100000 + b"]" * 100000, "nested too deeply", False),
        (lambda o: b"\x80\x04\x95cos\nsystem\n.", "not valid UTF-8", False),  # a pickle is not JSON
        (lambda o: json.dumps({**o, "prediction": "\ud800"}).encode(), "unpaired surrogate", True),
    ],
)
def test_malformed_line_reported_with_its_line_number(valid, build_dir, make, expected, names_its_item):
    lineno = 5
    obj = _line_obj(valid, lineno)
    _replace_line(valid, lineno, make(obj))
    problems = _only(validate_submission(valid, location=build_dir))
    assert any(line == lineno and expected in msg for line, msg in problems), problems
    # a refused line that still names its item is that item's line: reported once, not
    # again as a missing id; otherwise the item is missing from its set (whole file, line 0)
    missing = [m for line, m in problems if line == 0 and f"{obj['task']}/{obj['split']}: 1 of" in m]
    assert len(missing) == (0 if names_its_item else 1), problems


def test_duplicate_id_names_first_line(valid, build_dir):
    lines = _lines(valid)
    _rewrite(valid, lines + [lines[2]])
    problems = _only(validate_submission(valid, location=build_dir))
    assert problems == [(len(lines) + 1, f"duplicate id {_line_obj(valid, 3)['id']!r} for AVE/test (first on line 3)")]


def test_missing_ids_and_missing_sets(valid, build_dir):
    lines = [ln for ln in _lines(valid) if b'"SR"' not in ln]
    _rewrite(valid, lines)
    problems = _only(validate_submission(valid, location=build_dir))
    assert {line for line, _ in problems} == {0}
    msgs = " ".join(m for _, m in problems)
    assert "SR/test: 24 of 24 ids missing (required test set)" in msgs
    assert "SR/test_ood: 24 of 24 ids missing" in msgs


def test_split_of_task_without_ood(valid, build_dir):
    obj = _line_obj(valid, 1)
    lines = _lines(valid)
    pm = next(i for i, ln in enumerate(lines) if b'"PM"' in ln)
    _replace_line(valid, pm + 1, json.dumps({**json.loads(lines[pm]), "split": "test_ood"}).encode())
    problems = _only(validate_submission(valid, location=build_dir))
    assert any(line == pm + 1 and "PM has no out-of-domain test set" in m for line, m in problems), problems
    assert obj  # first line untouched


def test_optional_unseen_set_must_be_complete(valid, build_dir):
    rec = load(build_dir, "SA", "test_unseen")[0]
    with open(valid, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"task": "SA", "split": "test_unseen", "id": rec["id"], "prediction": "A"}) + "\n")
    problems = _only(validate_submission(valid, location=build_dir))
    assert problems == [(0, problems[0][1])]
    assert "SA/test_unseen: 23 of 24 ids missing (optional test set, complete when present)" in problems[0][1]


def test_size_limits(valid, build_dir):
    limits = Limits(max_prediction_chars=10, max_line_bytes=200)
    obj = _line_obj(valid, 7)
    _replace_line(valid, 7, json.dumps({**obj, "prediction": "x" * 50}).encode())
    _replace_line(valid, 8, json.dumps({**_line_obj(valid, 8), "prediction": "y" * 500}).encode())
    problems = _only(validate_submission(valid, location=build_dir, limits=limits))
    assert (7, "prediction is 50 characters, over the limit of 10") in problems
    assert (8, "line is longer than 200 bytes") in problems
    # each refused line names its item, so it is not reported again as a missing id
    assert not [m for line, m in problems if line == 0], problems
    small = Limits(max_file_bytes=100)
    problems = _only(validate_submission(valid, location=build_dir, limits=small))
    assert len(problems) == 1 and problems[0][0] == 0 and "over the limit of 100 bytes" in problems[0][1]


def test_byte_order_mark_rejected(valid, build_dir):
    valid.write_bytes(b"\xef\xbb\xbf" + valid.read_bytes())
    problems = _only(validate_submission(valid, location=build_dir))
    assert problems[0] == (1, "file starts with a UTF-8 byte order mark; save it without BOM")


def test_problem_list_is_bounded(valid, build_dir):
    valid.write_bytes(b"not json\n" * 1000)
    report = validate_submission(valid, location=build_dir, limits=Limits(max_problems=20))
    assert len(report.problems) == 20 and report.n_more_problems > 980
    assert "more problems" in report.summary() and "nothing was scored" in report.summary()


def test_one_gigabyte_file_rejected_without_reading(valid, build_dir):
    with open(valid, "r+b") as fh:
        fh.truncate(1 << 30)  # sparse: costs no disk
    problems = _only(validate_submission(valid, location=build_dir))
    assert problems == [(0, f"file is {1 << 30} bytes, over the limit of {256 * 1024 * 1024} bytes; nothing was read")]


def test_streaming_a_one_gigabyte_file_keeps_memory_bounded(build_dir, tmp_path):
    """Even when the size limit allows it, a 1 GB file is read in bounded pieces, never held."""
    path = tmp_path / "big.jsonl"
    meta_path_for(path).write_text(json.dumps(META))
    line = json.dumps({"task": "SR", "split": "test", "id": "SR-test-99999", "prediction": "A" * 900}) + "\n"
    with open(path, "w") as fh:
        fh.write(line * 10000)  # ~9 MB of unknown ids
    with open(path, "r+b") as fh:
        fh.truncate(1 << 30)  # then one ~1 GB line of NUL bytes (sparse: costs no disk)
    tracemalloc.start()
    report = validate_submission(path, location=build_dir,
                                 limits=Limits(max_file_bytes=1 << 31, max_problems=50))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 24 * 1024 * 1024, peak
    assert report.n_lines == 10001 and report.n_more_problems > 9900
    assert os.path.getsize(path) == 1 << 30


@pytest.mark.parametrize(
    "meta, expected",
    [
        ({**META, "model": "../../etc/passwd"}, "model name '../../etc/passwd' is not allowed"),
        ({**META, "model": "a/b"}, "is not allowed"),
        ({**META, "date": "May 2024"}, "date must be an ISO date"),
        ({**META, "shots": -1}, "shots must be an integer"),
        ({**META, "parameters": "lots"}, "parameters must be"),
        ({**META, "link": "javascript:alert(1)"}, "link must be an http(s) URL"),
        ({**META, "extra": 1}, "unknown metadata key 'extra'"),
        ({k: v for k, v in META.items() if k != "base_model"}, "metadata is missing 'base_model'"),
        ([1, 2], "metadata must be a JSON object"),
    ],
)
def test_bad_metadata(valid, build_dir, meta, expected):
    mp = meta_path_for(valid)
    mp.write_text(json.dumps(meta))
    report = validate_submission(valid, location=build_dir)
    assert any(p.path == str(mp) and expected in p.message for p in report.problems), report.summary()


def test_missing_metadata(valid, build_dir):
    meta_path_for(valid).unlink()
    problems = _only(validate_submission(valid, location=build_dir))
    assert len(problems) == 1 and "metadata header file not found" in problems[0][1]


def test_invalid_submission_is_never_scored(valid, build_dir):
    _replace_line(valid, 3, b"{oops")
    called = []

    def scorer(*a, **k):
        called.append(a)
        return fake_score(*a, **k)

    with pytest.raises(SubmissionError) as err:
        score_submission(valid, location=build_dir, scorer=scorer, n_resamples=0)
    assert called == []
    assert f"{valid}:3: not valid JSON" in str(err.value)


def test_safe_filename_never_a_path():
    for name in ("../../x", "/etc/passwd", "a\\b", "..", ""):
        s = safe_filename(name)
        assert "/" not in s and "\\" not in s and not s.startswith(".") and s


def test_whole_file_problems_have_no_fake_line_number(valid, build_dir):
    lines = [ln for ln in _lines(valid) if b'"SR"' not in ln]
    _rewrite(valid, lines)
    summary = validate_submission(valid, location=build_dir).summary()
    assert f"{valid}: SR/test: 24 of 24 ids missing" in summary
    assert f"{valid}:0:" not in summary


def test_unreadable_reference_data_reported_once(valid, tmp_path):
    def loader(task, split, location):
        raise FileNotFoundError("no data here")

    report = validate_submission(valid, location=tmp_path, loader=loader)
    cannot = [p for p in report.problems if "cannot check" in p.message]
    assert len(cannot) == 1 and cannot[0].line == 0, report.summary()
    assert "AVE/test" in cannot[0].message and "SR/test_ood" in cannot[0].message
    assert cannot[0].message.endswith("FileNotFoundError: no data here")


def test_a_raw_carriage_return_inside_a_line_is_read_as_validated(valid, build_dir):
    """JSON allows a raw CR as whitespace; scoring must read the lines the validator checked."""
    from ecinstruct_leaderboard.submission import iter_submission

    lines = _lines(valid)
    row = json.loads(lines[1])
    lines[1] = json.dumps(row).replace(", ", ",\r", 1).encode()
    assert b"\r" in lines[1]
    _rewrite(valid, lines)
    assert validate_submission(valid, location=build_dir).ok
    assert [r["id"] for r in iter_submission(valid)][1] == row["id"]
    doc = score_submission(valid, location=build_dir, scorer=fake_score, n_resamples=0)
    assert doc["results"]


@pytest.mark.parametrize("date", ["2024-W01-1", "20240501", "2024-5-1"])
def test_metadata_date_must_be_year_month_day(valid, build_dir, date):
    mp = meta_path_for(valid)
    mp.write_text(json.dumps({**META, "date": date}))
    report = validate_submission(valid, location=build_dir)
    assert any("date must be an ISO date" in p.message for p in report.problems), report.summary()
