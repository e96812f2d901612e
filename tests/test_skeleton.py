import subprocess
import sys

import pytest

from ecinstruct_eval import TASKS, get_task
from ecinstruct_eval.cli import COMMANDS, main


def test_offline_mode_is_forced():
    import os

    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert os.environ["HF_DATASETS_OFFLINE"] == "1"


def test_registry_has_the_ten_tasks_in_paper_order():
    assert list(TASKS) == ["AVE", "PRP", "PM", "SA", "SR", "MPC", "PSI", "QPR", "AP", "AG"]
    assert [c for c, s in TASKS.items() if s.has_ood] == ["AVE", "PRP", "SA", "SR", "AP", "AG"]


def test_unknown_task_suggests_close_match():
    with pytest.raises(KeyError, match="did you mean 'SR'"):
        get_task("SRR")
    assert get_task("sr").code == "SR"


def test_cli_help_lists_every_subcommand(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for name, _, _ in COMMANDS:
        assert name in out


@pytest.mark.parametrize("name", [c[0] for c in COMMANDS])
def test_every_subcommand_has_help(name, capsys):
    with pytest.raises(SystemExit) as e:
        main([name, "--help"])
    assert e.value.code == 0
    assert "usage: ecinstruct" in capsys.readouterr().out


def test_console_script_is_installed():
    r = subprocess.run([sys.executable, "-m", "ecinstruct_eval", "--help"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "COMMAND" in r.stdout
