"""The examples in the builders' docstrings run and give what they show (``pytest --doctest-modules builders``)."""

import doctest
import importlib
import pkgutil

import pytest

import builders

MODULES = sorted(m.name for m in pkgutil.walk_packages(builders.__path__, "builders."))


def test_every_builders_module_is_collected():
    assert {"builders.core", "builders.pipeline", "builders.readers.amazonqa"} <= set(MODULES)


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(builders.__path__[0] + "/..")  # examples name paths relative to the repository
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS, report=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} docstring examples failed"
