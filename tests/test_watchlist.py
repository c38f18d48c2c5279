"""Watchlists as ops write them: every mistake is named with its file and line, none is silent."""
from __future__ import annotations

from pathlib import Path

import pytest

from monitor.watchlist import WatchlistError, load_watchlists, parse_duration

GOOD = """\
sources:
  - name: Wire
    feed: https://example.org/rss
    every: 5m
  - name: Outlet
    page: https://news.example.org/world
entities:
  - name: Elon Musk
    aliases: [Musk, Tesla CEO]
  - name: Vladimir Putin
    aliases: [Putin]
claims:
  - id: musk-putin-talks
    statement: Elon Musk has held private talks with Vladimir Putin
    entities: [Elon Musk, Vladimir Putin]
    keywords: [talks]
    notify: [desk]
channels:
  desk: ["json://127.0.0.1:9/hook", "${DESK_MAIL:-}"]
"""


def write(tmp_path: Path, **files: str) -> Path:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def problems(tmp_path: Path, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(WatchlistError) as err:
        load_watchlists(tmp_path, env=env or {})
    return [str(p) for p in err.value.problems]


def test_a_good_watchlist_loads_with_entities_resolved_and_durations_in_seconds(tmp_path: Path) -> None:
    wl = load_watchlists(write(tmp_path, **{"desk.yaml": GOOD}), env={})
    assert [(s.name, s.kind, s.every_seconds) for s in wl.sources] == [("Wire", "feed", 300), ("Outlet", "page", 900)]
    [claim] = wl.claims
    assert [e.name for e in claim.entities] == ["Elon Musk", "Vladimir Putin"]
    assert claim.entities[0].aliases == ("Musk", "Tesla CEO")
    assert wl.notify == {"musk-putin-talks": ("desk",)}
    assert wl.channels["desk"] == ("json://127.0.0.1:9/hook", ""), "an empty ${VAR:-} switches a target off"


def test_secrets_come_from_the_environment(tmp_path: Path) -> None:
    text = GOOD.replace('"${DESK_MAIL:-}"', '"json://user:${HOOK_SECRET}@127.0.0.1:9/hook"')
    wl = load_watchlists(write(tmp_path, **{"desk.yaml": text}), env={"HOOK_SECRET": "s3cret"})
    assert wl.channels["desk"][1] == "json://user:s3cret@127.0.0.1:9/hook"


def test_an_unset_environment_variable_is_an_error_with_its_line(tmp_path: Path) -> None:
    text = GOOD.replace('"${DESK_MAIL:-}"', '"${DESK_MAIL}"')
    assert problems(write(tmp_path, **{"desk.yaml": text})) == [
        f"{tmp_path / 'desk.yaml'}:19: environment variable DESK_MAIL is not set (write ${{DESK_MAIL:-}} to allow it unset)"
    ]


def test_every_mistake_in_a_file_is_reported_not_just_the_first(tmp_path: Path) -> None:
    text = (GOOD.replace("every: 5m", "every: 5 minutes")
                .replace("    page: https://news.example.org/world", "    page: ftp://news.example.org/world")
                .replace("    keywords: [talks]", "    keywords: [talks]\n    priority: high"))
    found = problems(write(tmp_path, **{"desk.yaml": text}))
    path = tmp_path / "desk.yaml"
    assert found == [
        f"{path}:4: sources.0.every: not a duration: '5 minutes' (use e.g. '30s', '5m', '1h30m', '1d')",
        f"{path}:6: sources.1.page: not an http(s) URL: 'ftp://news.example.org/world'",
        f"{path}:17: unknown key 'priority' in claims.0",
    ]


def test_unknown_entity_and_channel_names_point_at_the_claim_line(tmp_path: Path) -> None:
    text = GOOD.replace("[Elon Musk, Vladimir Putin]", "[Elon Musk, Vladmir Putin]").replace("notify: [desk]", "notify: [desk, night-desk]")
    found = problems(write(tmp_path, **{"desk.yaml": text}))
    path = tmp_path / "desk.yaml"
    assert found == [
        f"{path}:15: claim 'musk-putin-talks': unknown entity 'Vladmir Putin' (declare it under 'entities:')",
        f"{path}:17: claim 'musk-putin-talks': unknown channel 'night-desk' (declare it under 'channels:')",
    ]


def test_duplicates_across_files_name_both_places(tmp_path: Path) -> None:
    other = "claims:\n  - id: musk-putin-talks\n    statement: Musk talked to Putin again and again\n"
    found = problems(write(tmp_path, **{"a.yaml": GOOD, "b.yaml": other}))
    assert found == [f"{tmp_path / 'b.yaml'}:2: duplicate claim id 'musk-putin-talks' (first at {tmp_path / 'a.yaml'}:13)"]


def test_a_duplicate_yaml_key_is_an_error_not_a_silent_overwrite(tmp_path: Path) -> None:
    text = GOOD.replace("    every: 5m\n", "    every: 5m\n    every: 1h\n")
    assert problems(write(tmp_path, **{"desk.yaml": text})) == [f"{tmp_path / 'desk.yaml'}:5: duplicate key 'every'"]


def test_a_yaml_syntax_error_names_its_line(tmp_path: Path) -> None:
    text = GOOD.replace("    aliases: [Putin]", "    aliases: [Putin")
    [found] = problems(write(tmp_path, **{"desk.yaml": text}))
    assert found.startswith(f"{tmp_path / 'desk.yaml'}:12: YAML syntax:")


@pytest.mark.parametrize("page", [
    "    page: https://news.example.org/world\n    feed: https://news.example.org/rss",  # both
    "    every: 1h",  # neither
])
def test_a_source_needs_exactly_one_of_feed_or_page(tmp_path: Path, page: str) -> None:
    text = GOOD.replace("    page: https://news.example.org/world", page)
    [found] = problems(write(tmp_path, **{"desk.yaml": text}))
    assert found == f"{tmp_path / 'desk.yaml'}:5: sources.1: give exactly one of 'feed' (RSS/Atom) or 'page' (outlet page)"


def test_a_channel_url_apprise_cannot_use_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace('"json://127.0.0.1:9/hook"', '"nosuchservice://whatever"')
    [found] = problems(write(tmp_path, **{"desk.yaml": text}))
    assert found.startswith(f"{tmp_path / 'desk.yaml'}:19: channel 'desk': ")
    assert "nosuchservice" in found


def test_a_top_level_typo_is_an_unknown_key(tmp_path: Path) -> None:
    [found] = problems(write(tmp_path, **{"desk.yaml": GOOD + "chanels:\n  night: []\n"}))
    assert found == f"{tmp_path / 'desk.yaml'}:20: unknown key 'chanels' (expected sources, entities, claims, channels, ops)"


def test_an_empty_directory_is_an_error(tmp_path: Path) -> None:
    assert problems(tmp_path) == [f"{tmp_path}:0: no *.yaml watchlist files here"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("5m", 300), ("1h30m", 5400), ("1d", 86400), ("2H", 7200)]
)
def test_durations_read_as_people_write_them(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["5", 5, "5x", "", "10s", "m5"])
def test_durations_without_a_unit_or_too_short_are_refused(text: str | int) -> None:
    with pytest.raises(ValueError):
        parse_duration(text)


def test_an_alias_that_names_two_entities_is_an_error(tmp_path: Path) -> None:
    text = GOOD.replace("    aliases: [Putin]", "    aliases: [Putin, Musk]")
    assert problems(write(tmp_path, **{"desk.yaml": text})) == [
        f"{tmp_path / 'desk.yaml'}:11: alias 'Musk' of 'Vladimir Putin' already names 'Elon Musk'"
    ]


def test_loading_a_watchlist_again_and_again_keeps_no_yaml_tree_alive(tmp_path: Path) -> None:
    """A daemon reloads its watchlists for months: each load must leave nothing of its parse."""
    import gc

    import yaml

    (tmp_path / "w.yaml").write_text("sources:\n" + "".join(
        f"  - name: Wire {k}\n    feed: https://example.org/{k}.xml\n" for k in range(50)))
    for _ in range(3):
        assert len(load_watchlists(tmp_path).sources) == 50
    gc.collect()
    assert not [o for o in gc.get_objects() if isinstance(o, yaml.Node)]
