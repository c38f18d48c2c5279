"""Watchlists: YAML files that ops edit, validated strictly, every error named by file and line.

All `*.yaml`/`*.yml` files of a directory are merged. Each file is checked on its own against the
schema (unknown keys, bad URLs, bad durations); then the merged watchlist is checked across files
(duplicate ids and names, unknown entity and channel names). `${VAR}` and `${VAR:-default}` in
strings come from the environment, so secrets stay out of the YAML; a target that expands to an
empty string is switched off, and `${VAR}` with VAR unset is an error.
"""
from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from matcher.match import Claim, Entity

_DURATION = re.compile(r"(\d+)\s*(d|h|m|s)")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
MIN_EVERY_SECONDS = 30


def parse_duration(text: str | int) -> int:
    """'5m', '1h30m', '90s', '1d' → seconds. Bare numbers are refused: the unit is never implied."""
    if isinstance(text, bool) or not isinstance(text, str):
        raise ValueError(f"duration {text!r} needs a unit, like '5m', '1h' or '90s'")
    compact = text.strip().lower().replace(" ", "")
    if not compact or _DURATION.sub("", compact):
        raise ValueError(f"not a duration: {text!r} (use e.g. '30s', '5m', '1h30m', '1d')")
    seconds = sum(int(n) * _UNITS[u] for n, u in _DURATION.findall(compact))
    if seconds < MIN_EVERY_SECONDS:
        raise ValueError(f"duration {text!r} is shorter than {MIN_EVERY_SECONDS}s; be kind to outlets")
    return seconds


def _http_url(value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected a URL, got {value!r}")
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value.strip()


@dataclass(frozen=True)
class Digest:
    """When a digest channel sends: every hour on the hour, or once a day at `at` in `tz`."""

    period: Literal["hourly", "daily"]
    at: time = time(0, 0)
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)


_DIGEST = re.compile(r"^(?:hourly|daily\s+at\s+(\d{1,2}):(\d{2})(?:\s+(\S+))?)$")


def parse_digest(text: Any) -> Digest:
    """'hourly' | 'daily at 08:00' | 'daily at 08:00 Europe/London' (default zone UTC)."""
    if isinstance(text, Digest):
        return text
    m = _DIGEST.match(" ".join(str(text).split()).lower()) if isinstance(text, str) else None
    if m is None:
        raise ValueError(f"not a digest schedule: {text!r} (use 'hourly' or 'daily at 08:00 [Europe/London]')")
    if m.group(1) is None:
        return Digest("hourly")
    hour, minute = int(m.group(1)), int(m.group(2))
    if hour > 23 or minute > 59:
        raise ValueError(f"not a time of day: {m.group(1)}:{m.group(2)}")
    tz = str(text).split()[-1] if m.group(3) else "UTC"
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {tz!r} (use an IANA name like 'Europe/London')") from None
    return Digest("daily", time(hour, minute), tz)


def _since(value: Any) -> datetime:
    """A date or an ISO timestamp; a date is its midnight UTC, a naive time is UTC."""
    if isinstance(value, datetime):
        at = value
    elif isinstance(value, date):
        at = datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            at = datetime.fromisoformat(value.strip())
        except ValueError:
            raise ValueError(f"not a date: {value!r} (use e.g. 2024-10-01)") from None
    else:
        raise ValueError(f"not a date: {value!r} (use e.g. 2024-10-01)")
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


DEFAULT_BACKFILL_SECONDS = 2 * 86400


def parse_backfill(value: Any) -> int | None:
    """'2d', '12h', … → seconds; 'all' → None (a new source's whole back catalogue is read)."""
    if value is None or isinstance(value, str) and value.strip().lower() == "all":
        return None
    return parse_duration(value)


HttpURL = Annotated[str, BeforeValidator(_http_url)]
Backfill = Annotated[int | None, BeforeValidator(parse_backfill)]
Duration = Annotated[int, BeforeValidator(parse_duration)]
Name = Annotated[str, Field(min_length=1, max_length=200)]
DigestSchedule = Annotated[Digest, BeforeValidator(parse_digest)]
Since = Annotated[datetime, BeforeValidator(_since)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


class SourceModel(_Strict):
    name: Name
    feed: HttpURL | None = None
    page: HttpURL | None = None
    every: Duration = Field(default=900, validate_default=False)
    # Politeness towards the source's host (monitor/politeness.py): requests at once, and the
    # seconds between the starts of two requests. Unset: the daemon's defaults.
    host_connections: Annotated[int, Field(ge=1, le=64)] | None = None
    host_gap: Annotated[float, Field(ge=0, le=3600)] | None = None
    # A private/loopback address is reached only for this source's own host, and only if set.
    allow_private: bool = False
    # First poll: items older than this are recorded as seen, not read ("all": read them all).
    backfill: Backfill = DEFAULT_BACKFILL_SECONDS

    @model_validator(mode="after")
    def _one_kind(self) -> SourceModel:
        if (self.feed is None) == (self.page is None):
            raise ValueError("give exactly one of 'feed' (RSS/Atom) or 'page' (outlet page)")
        return self


class EntityModel(_Strict):
    name: Name
    aliases: list[Name] = []


class ClaimModel(_Strict):
    id: Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_.-]*$", max_length=100)]
    statement: Annotated[str, Field(min_length=8)]
    entities: list[Name] = []
    keywords: list[Name] = []
    notify: list[Name] = []
    since: Since | None = None  # older articles are recorded as evidence, never alerted
    stale_after: Duration = 7 * 86400  # published this long before it was seen: an "old story"


def _listify(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


Targets = Annotated[list[str], BeforeValidator(_listify)]


class ChannelModel(_Strict):
    """A channel: its apprise targets and how it is sent. A bare list is `targets` alone."""

    targets: Targets
    template: str | None = None  # a Jinja2 file, relative to the watchlist file
    mode: Literal["immediate", "digest"] | None = None
    digest: DigestSchedule | None = None
    max_per_hour: Annotated[int, Field(ge=1)] | None = None
    fold_every: Duration = 900

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"targets": value} if isinstance(value, (list, str)) else value

    @model_validator(mode="after")
    def _digest_needs_schedule(self) -> ChannelModel:
        if self.mode == "digest" and self.digest is None:
            raise ValueError("mode: digest needs a schedule, e.g. digest: hourly")
        if self.mode == "immediate" and self.digest is not None:
            raise ValueError("mode: immediate cannot have a digest schedule (drop one of them)")
        return self


class OpsModel(_Strict):
    """Where claimwatch reports on itself: failing sources and channels, rejected reloads."""

    targets: Targets
    template: str | None = None
    source_failing_after: Duration = 6 * 3600
    channel_failing_after: Duration = 3600

    @model_validator(mode="before")
    @classmethod
    def _short_form(cls, value: Any) -> Any:
        return {"targets": value} if isinstance(value, (list, str)) else value


class FileModel(_Strict):
    sources: list[SourceModel] = []
    entities: list[EntityModel] = []
    claims: list[ClaimModel] = []
    channels: dict[Name, ChannelModel] = {}
    ops: OpsModel | None = None


@dataclass(frozen=True)
class Problem:
    path: Path
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}"


class WatchlistError(Exception):
    """Every problem found, so ops fix them all in one go."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = sorted(problems, key=lambda p: (str(p.path), p.line))
        super().__init__("\n".join(map(str, self.problems)))


@dataclass(frozen=True)
class Source:
    name: str
    kind: str  # "feed" | "page"
    url: str
    every_seconds: int
    host_connections: int | None = None  # politeness towards the host of `url`; None: default
    host_gap_seconds: float | None = None
    allow_private: bool = False  # its own host may be private (the watchlist says so)
    backfill_seconds: int | None = DEFAULT_BACKFILL_SECONDS  # None: read the whole back catalogue


@dataclass(frozen=True)
class ChannelOptions:
    """How a channel is sent; `template` is an absolute path, None for the bundled ones."""

    template: Path | None = None
    digest: Digest | None = None  # None: each alert immediately
    max_per_hour: int | None = None  # beyond it, alerts fold into one message per fold_every
    fold_every_seconds: int = 900


@dataclass(frozen=True)
class ClaimOptions:
    """What decides whether a claim's finding alerts, besides its stance being new."""

    since: datetime | None = None
    stale_after_seconds: int = 7 * 86400


@dataclass(frozen=True)
class Ops:
    """The ops channel (its targets are also `Watchlist.channels[OPS_CHANNEL]`) and thresholds."""

    options: ChannelOptions
    source_failing_after_seconds: int = 6 * 3600
    channel_failing_after_seconds: int = 3600


OPS_CHANNEL = "ops"


@dataclass(frozen=True)
class Watchlist:
    """The merged, validated watchlist the daemon runs on."""

    sources: tuple[Source, ...]
    entities: tuple[Entity, ...]
    claims: tuple[Claim, ...]
    channels: Mapping[str, tuple[str, ...]]  # channel → apprise URLs ("" = switched off)
    notify: Mapping[str, tuple[str, ...]]  # claim id → channel names
    files: tuple[Path, ...] = field(default=())
    channel_options: Mapping[str, ChannelOptions] = field(default_factory=dict)
    claim_options: Mapping[str, ClaimOptions] = field(default_factory=dict)
    ops: Ops | None = None  # the `ops:` section; its targets are channels[OPS_CHANNEL]


# --- YAML with line numbers -------------------------------------------------------------------

Loc = tuple[str | int, ...]
_ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


# libyaml's parser where PyYAML has it: a 10,000-source watchlist composes in 0.9 s instead of 9 s,
# with less garbage left behind; the node tree and its line marks are the same.
_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Reader:
    """Turns a composed YAML node tree into plain data, remembering the line of every location."""

    def __init__(self, path: Path, env: Mapping[str, str]) -> None:
        self.path, self.env = path, env
        self.lines: dict[Loc, int] = {}
        # YAML scalars → Python values. Its own, per file: a constructor remembers every node it
        # built, so a shared one kept each load's whole node tree alive (26 MB per 10,000
        # sources, again on every reload).
        self._scalars = yaml.constructor.SafeConstructor()
        self.problems: list[Problem] = []

    def problem(self, line: int, message: str) -> None:
        self.problems.append(Problem(self.path, line, message))

    def read(self, node: yaml.Node, loc: Loc = ()) -> Any:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.read(key_node, loc + ("<key>",))
                line = key_node.start_mark.line + 1
                if key in out:
                    self.problem(line, f"duplicate key {key!r}")
                self.lines[loc + (key,)] = line
                out[key] = self.read(value_node, loc + (key,))
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.read(item, loc + (i,)) for i, item in enumerate(node.value)]
        value = self._scalars.construct_object(node, deep=True)
        self._scalars.constructed_objects.pop(node, None)
        return self.expand(value, node.start_mark.line + 1) if isinstance(value, str) else value

    def expand(self, text: str, line: int) -> str:
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in self.env:
                return self.env[name]
            if default is not None:
                return default
            self.problem(line, f"environment variable {name} is not set (write ${{{name}:-}} to allow it unset)")
            return ""

        return _ENV.sub(sub, text)

    def line_of(self, loc: Loc) -> int:
        while loc and loc not in self.lines:
            loc = loc[:-1]
        return self.lines.get(loc, 1)


def _read_file(path: Path, env: Mapping[str, str]) -> tuple[FileModel | None, _Reader]:
    """Parse one file; the model holds its valid entries, the reader its problems."""
    reader = _Reader(path, env)
    try:
        node = yaml.compose(path.read_text(encoding="utf-8"), Loader=_LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        reader.problem(mark.line + 1 if mark else 1, f"YAML syntax: {err.problem or err}")
        return None, reader
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
        reader.problem(1, f"cannot read: {err}")
        return None, reader
    data = reader.read(node) if node is not None else {}
    if not isinstance(data, dict):
        reader.problem(1, "a watchlist file is a mapping with sources, entities, claims, channels")
        return None, reader
    return _validate(data, reader), reader


_SECTIONS: dict[str, type[BaseModel]] = {"sources": SourceModel, "entities": EntityModel, "claims": ClaimModel}


def _validate(data: dict[Any, Any], reader: _Reader) -> FileModel:
    """Validate item by item, so one bad entry does not hide the problems of the others."""
    good: dict[str, Any] = {}
    for key, value in data.items():
        if key == "channels":
            if not isinstance(value, dict):
                reader.problem(reader.line_of((key,)), "channels: expected a mapping of channel names")
                continue
            channels = {}
            for name, item in value.items():
                try:
                    channels.update(FileModel.model_validate({"channels": {name: item}}).channels)
                except ValidationError as err:
                    _report(err, (), reader)
            good[key] = channels
        elif key == "ops":
            try:
                good[key] = FileModel.model_validate({"ops": value}).ops
            except ValidationError as err:
                _report(err, (), reader)
        elif key in _SECTIONS:
            if not isinstance(value, list):
                reader.problem(reader.line_of((key,)), f"{key}: expected a list of entries")
                continue
            items = []
            for i, item in enumerate(value):
                try:
                    items.append(_SECTIONS[key].model_validate(item))
                except ValidationError as err:
                    _report(err, (key, i), reader)
            good[key] = items
        else:
            reader.problem(reader.line_of((key,)), f"unknown key {key!r} (expected sources, entities, claims, channels, ops)")
    return FileModel.model_construct(**good)


def _report(err: ValidationError, prefix: Loc, reader: _Reader) -> None:
    for e in err.errors():
        loc = prefix + tuple(e["loc"])
        where = ".".join(str(p) for p in loc[:-1] if p != "<key>") if e["type"] == "extra_forbidden" else ".".join(map(str, loc))
        if e["type"] == "extra_forbidden":
            message = f"unknown key {loc[-1]!r}" + (f" in {where}" if where else "")
        else:
            msg = e["msg"].removeprefix("Value error, ")
            message = f"{where}: {msg}" if where else msg
        reader.problem(reader.line_of(loc), message)


def watchlist_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())


def load_watchlists(directory: Path | str, env: Mapping[str, str] | None = None) -> Watchlist:
    """Load and validate every YAML file of `directory`; raise WatchlistError listing all problems."""
    directory = Path(directory)
    env = os.environ if env is None else env
    if not directory.is_dir():
        raise WatchlistError([Problem(directory, 0, "watchlist directory does not exist")])
    files = watchlist_files(directory)
    if not files:
        raise WatchlistError([Problem(directory, 0, "no *.yaml watchlist files here")])
    parsed: list[tuple[FileModel, _Reader]] = []
    problems: list[Problem] = []
    for path in files:
        model, reader = _read_file(path, env)
        problems += reader.problems
        if model is not None:
            parsed.append((model, reader))
    watchlist = _merge(parsed, problems)
    if problems:
        raise WatchlistError(problems)
    return replace(watchlist, files=tuple(files))


def reload_problems(watchlist: Watchlist, directory: Path | str) -> list[Problem]:
    """Why a valid watchlist must still not replace a running one: a file that is empty (0 bytes
    or blanks: an editor mid-save, a truncated copy) or no source at all (every source would
    stop). The daemon refuses such a reload like a broken one; at start it only warns."""
    problems = []
    for path in watchlist.files:
        try:
            empty = not path.read_bytes().strip()
        except OSError:
            continue  # gone since it was read: the next reload sees it
        if empty:
            problems.append(Problem(path, 1, "the file is empty (a save in progress?); delete it to drop "
                                             "it from the watchlist"))
    if not watchlist.sources:
        problems.append(Problem(Path(directory), 0, "no sources: every source would stop being polled "
                                                    "(restart claimwatch to run without any)"))
    return problems


def _merge(parsed: list[tuple[FileModel, _Reader]], problems: list[Problem]) -> Watchlist:
    """Cross-file checks: unique names and ids, and every reference resolves."""
    first_seen: dict[tuple[str, str], Problem] = {}

    def unique(kind: str, key: str, reader: _Reader, loc: Loc) -> bool:
        here = Problem(reader.path, reader.line_of(loc), "")
        seen = first_seen.setdefault((kind, key.casefold()), here)
        if seen is not here:
            problems.append(Problem(here.path, here.line, f"duplicate {kind} {key!r} (first at {seen.path}:{seen.line})"))
            return False
        return True

    sources: list[Source] = []
    entities: dict[str, Entity] = {}
    owners: dict[str, str] = {}  # name or alias (casefolded) → the entity it names
    channels: dict[str, tuple[str, ...]] = {}
    options: dict[str, ChannelOptions] = {}
    ops: Ops | None = None
    for model, r in parsed:
        for i, s in enumerate(model.sources):
            url = s.feed or s.page or ""
            if unique("source", s.name, r, ("sources", i)) and unique("source URL", url, r, ("sources", i, "feed" if s.feed else "page")):
                sources.append(Source(s.name, "feed" if s.feed else "page", url, s.every,
                                      host_connections=s.host_connections, host_gap_seconds=s.host_gap,
                                      allow_private=s.allow_private, backfill_seconds=s.backfill))
        for i, e in enumerate(model.entities):
            if not unique("entity", e.name, r, ("entities", i, "name")):
                continue
            entities[e.name.casefold()] = Entity(e.name, tuple(e.aliases))
            for j, alias in enumerate(e.aliases):  # one alias, two entities: who would be the party?
                owner = owners.setdefault(alias.casefold(), e.name)
                if owner != e.name:
                    problems.append(Problem(r.path, r.line_of(("entities", i, "aliases", j)),
                                            f"alias {alias!r} of {e.name!r} already names {owner!r}"))
            owners.setdefault(e.name.casefold(), e.name)
        for name, ch in model.channels.items():
            if name == OPS_CHANNEL:
                problems.append(Problem(r.path, r.line_of(("channels", name)),
                                        f"channel name {name!r} is reserved for the top-level 'ops:' section"))
                continue
            if unique("channel", name, r, ("channels", name)):
                channels[name] = tuple(u.strip() for u in ch.targets)
                options[name] = ChannelOptions(_template(ch.template, r, ("channels", name, "template"), problems),
                                               ch.digest, ch.max_per_hour, ch.fold_every)
                _check_targets(name, ch.targets, r, problems, ("channels", name))
        if model.ops is not None and unique("section", "ops", r, ("ops",)):
            o = model.ops
            channels[OPS_CHANNEL] = tuple(u.strip() for u in o.targets)
            _check_targets(OPS_CHANNEL, o.targets, r, problems, ("ops",))
            ops = Ops(ChannelOptions(_template(o.template, r, ("ops", "template"), problems)),
                      o.source_failing_after, o.channel_failing_after)

    claims: list[Claim] = []
    notify: dict[str, tuple[str, ...]] = {}
    claim_options: dict[str, ClaimOptions] = {}
    for model, r in parsed:
        for i, c in enumerate(model.claims):
            if not unique("claim id", c.id, r, ("claims", i, "id")):
                continue
            resolved = []
            for j, name in enumerate(c.entities):
                entity = entities.get(name.casefold())
                if entity is None:
                    problems.append(Problem(r.path, r.line_of(("claims", i, "entities", j)), f"claim {c.id!r}: unknown entity {name!r} (declare it under 'entities:')"))
                else:
                    resolved.append(entity)
            for j, channel in enumerate(c.notify):
                if channel not in channels or channel == OPS_CHANNEL:
                    problems.append(Problem(r.path, r.line_of(("claims", i, "notify", j)), f"claim {c.id!r}: unknown channel {channel!r} (declare it under 'channels:')"))
            claims.append(Claim(c.id, c.statement, tuple(resolved), tuple(c.keywords)))
            notify[c.id] = tuple(c.notify)
            claim_options[c.id] = ClaimOptions(c.since, c.stale_after)
    return Watchlist(tuple(sources), tuple(entities.values()), tuple(claims), channels, notify,
                     channel_options=options, claim_options=claim_options, ops=ops)


def _template(name: str | None, reader: _Reader, loc: Loc, problems: list[Problem]) -> Path | None:
    """A channel's own template file, relative to the watchlist file that names it."""
    if name is None:
        return None
    path = (reader.path.parent / name).resolve()
    if not path.is_file():
        problems.append(Problem(reader.path, reader.line_of(loc), f"template file {name!r} not found (looked at {path})"))
        return None
    from alerts.render import (
        template_problems,  # the alert layer owns what a valid template is
    )

    purpose = "notice" if loc[:1] == ("ops",) else "alert"
    for line, message in template_problems(path, purpose):  # syntax, and rendering a sample
        problems.append(Problem(path, line, f"{message} (template of {reader.path.name}:{reader.line_of(loc)})"))
    return path


def _check_targets(name: str, urls: list[str], reader: _Reader, problems: list[Problem], loc: Loc) -> None:
    from alerts.deliver import (
        target_error,  # the alert layer owns what a valid target is
    )

    for j, url in enumerate(urls):
        if not url.strip():
            continue  # switched off by an empty ${VAR:-}
        error = target_error(url.strip())
        if error:
            # the short form (a bare list) has no 'targets' key: line_of falls back to the list
            problems.append(Problem(reader.path, reader.line_of(loc + ("targets", j)) if (loc + ("targets",)) in reader.lines
                                    else reader.line_of(loc + (j,)), f"channel {name!r}: {error}"))
