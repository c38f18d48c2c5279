"""`monitor`, `matcher`, `alerts` and `storage` are generic names: make sure they are ours and only ours."""
from __future__ import annotations

import importlib
import importlib.metadata
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = ("monitor", "matcher", "alerts", "storage", "web")


@pytest.mark.parametrize("name", OURS)
def test_no_other_installed_distribution_provides_our_top_level_packages(name: str) -> None:
    providers = importlib.metadata.packages_distributions().get(name, [])
    assert set(providers) <= {"claimwatch"}, f"{name!r} is also provided by {providers}: imports would collide"


@pytest.mark.parametrize("name", OURS)
def test_our_top_level_packages_import_from_this_checkout(name: str) -> None:
    module = importlib.import_module(name)
    assert Path(module.__file__ or "").resolve().is_relative_to(REPO), module.__file__


def test_the_claimwatch_command_is_installed() -> None:
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts.get("claimwatch") == "monitor.cli:main"
