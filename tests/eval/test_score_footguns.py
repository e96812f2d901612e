"""Scoring footguns of issue 14: OOD matching from the records, id-less prediction files, the data message."""

import json

import pytest

from ecinstruct_eval import score
from ecinstruct_eval.cli import main
from ecinstruct_eval.data import DataNotFoundError, load_split, read_predictions

GOLD = json.dumps([{"attribute": "material", "value": "stainless steel", "source": "product title"}])
NEAR = json.dumps([{"attribute": "material", "value": "steel", "source": "product title"}])


def _ave(split):
    return {"id": f"AVE-{split}-00000", "task": "AVE", "split": split, "output": GOLD, "options": [],
            "attributes": json.loads(GOLD)}


def test_released_ave_matches_as_ood_from_the_records_not_the_split_argument(tmp_path, capsys):
    ood = score([NEAR], "AVE", [_ave("test_ood")], compat="released")  # split argument left at "test"
    ind = score([NEAR], "AVE", [_ave("test")], compat="released")
    assert ood["f1_star"] == pytest.approx(1.0, abs=1e-5) and ind["f1_star"] == 0.0
    refs = tmp_path / "test_ood.jsonl"
    refs.write_text(json.dumps(_ave("test_ood")) + "\n")
    preds = tmp_path / "p.jsonl"
    preds.write_text(json.dumps({"id": "AVE-test_ood-00000", "prediction": NEAR}) + "\n")
    assert main(["score", "--task", "AVE", "--predictions", str(preds), "--references", str(refs),
                 "--compat", "released", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["metrics"]["f1_star"] == pytest.approx(1.0, abs=1e-5)


def test_prediction_records_without_ids_in_a_file_are_one_clear_error(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"prediction": "A"}\n{"prediction": "B"}\n')
    with pytest.raises(ValueError, match=r"p.jsonl, line 1: no 'id'.*list of strings"):
        read_predictions(path)
    listed = tmp_path / "p.json"
    listed.write_text('[{"prediction": "A"}]')
    with pytest.raises(ValueError, match="no 'id'"):
        read_predictions(listed)
    # asking for position alignment: the authors' format, a JSON list of outputs
    listed.write_text('["A", "B"]')
    assert [p["id"] for p in read_predictions(listed)] == [None, None]


def test_data_message_names_only_parameters_that_exist(monkeypatch):
    monkeypatch.delenv("ECINSTRUCT_DATA", raising=False)
    with pytest.raises(DataNotFoundError) as err:
        load_split("SA", "test")
    assert "location=" not in str(err.value) and "references=" in str(err.value)
