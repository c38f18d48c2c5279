"""Delivery of committed alerts from the persisted outbox, through apprise.

Storage commits an alert and one pending delivery per target in the same transaction as the
evidence; this module drains that outbox: lease what is due, send each with a timeout,
record every attempt, retry with capped exponential backoff, and give up for good on
configuration errors or after ``max_attempts``. A delivery is only sent while we hold its
lease and is marked sent right after apprise accepts it, so a second run never resends it.

Secrets live only in the watchlist and never reach a log line, the database or a recorded
error: a delivery is addressed by its channel and ``target_key`` (a hash of the target's URL,
so reordering a channel's list cannot send it elsewhere) and everything names a target by
``privacy_label`` (apprise's privacy form, with what apprise leaves visible masked too).
"""
from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import unquote, urlsplit

import apprise

from alerts import render
from storage.records import ConfiguredTarget, PendingDelivery, Target, removed_reason

if TYPE_CHECKING:
    from monitor.watchlist import ChannelOptions

log = logging.getLogger("claimwatch.alerts")

__all__ = ["Attempted", "DeliveryReport", "DeliverySettings", "Outbox", "attempt", "backoff", "channel_targets", "configured_targets",
           "deliver_due", "privacy_label", "removed_reason", "resolve", "target_error", "target_key"]


class Outbox(Protocol):
    """The storage side of the outbox (implemented by storage's Repository)."""

    async def lease_deliveries(
        self, now: datetime, limit: int, lease_seconds: int, due_by: datetime | None = None
    ) -> list[PendingDelivery]: ...

    async def release_deliveries(
        self, delivery_ids: Sequence[int], *, next_attempt_at: datetime | None = None
    ) -> None: ...

    async def record_attempt(
        self,
        delivery_id: int,
        *,
        now: datetime,
        ok: bool,
        error: str | None,
        duration_ms: int,
        next_attempt_at: datetime | None,
    ) -> None: ...


@dataclass(frozen=True)
class DeliverySettings:
    timeout_seconds: float = 30.0  # one attempt, end to end
    batch: int = 50  # deliveries leased at a time
    lease_seconds: int = 120  # we start no attempt that could outlive the lease
    backoff_base_seconds: float = 30.0
    backoff_max_seconds: float = 3600.0
    max_attempts: int = 20  # then the delivery is failed for good
    concurrency: int = 8  # targets served at once
    jitter_fraction: float = 0.2  # retries land in [80%, 100%] of the backoff, spreading load


@dataclass
class DeliveryReport:
    """What one `deliver_due` run did; `deferred` were left leased for a later run."""

    sent: int = 0
    retrying: int = 0
    failed: int = 0
    deferred: int = 0


def backoff(attempts: int, settings: DeliverySettings, jitter: float = 0.0) -> timedelta:
    """Delay before the next try after `attempts` failures: base·2^(n-1), capped.

    `jitter` is a draw in [0, 1] from the caller (random.random()) so this stays pure; it
    shortens the delay by up to `settings.jitter_fraction` and never exceeds the cap.
    """
    exponent = max(attempts - 1, 0)
    base = settings.backoff_base_seconds
    cap = settings.backoff_max_seconds
    # Compare exponents rather than computing 2**huge: attempts may be large.
    delay = cap if exponent >= 64 else min(cap, base * 2.0**exponent)
    spread = min(max(settings.jitter_fraction, 0.0), 1.0) * min(max(jitter, 0.0), 1.0)
    return timedelta(seconds=max(delay * (1.0 - spread), 0.0))


# --- apprise: quiet, offline-safe, never leaking secrets -------------------------------------

# Query parameters apprise appends to every privacy URL with their default values: noise.
_DEFAULT_PARAMS = frozenset({"overflow=upstream", "retry=0", "wait=0.5", "optional=no"})
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]{0,31})://")
_TOKEN_SPLIT = re.compile(r"[/:@?&=,;#+\s]+")
_ERROR_CHARS = 300


class _Secrets:
    """URL fragments that the privacy form masks; scrubbed from any apprise text we pass on.

    Apprise masks secrets in its own messages, but a plugin's warning may still echo a token;
    we compare each URL with its privacy form and scrub whatever the mask hid.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._words: set[str] = set()

    def learn(self, url: str, label: str) -> None:
        shown = {unquote(t) for t in _TOKEN_SPLIT.split(label)}
        hidden = {unquote(t) for t in _TOKEN_SPLIT.split(url) if len(t) >= 4}
        with self._lock:
            self._words |= {w for w in hidden - shown if len(w) >= 4}

    def scrub(self, text: str) -> str:
        with self._lock:
            words = sorted(self._words, key=len, reverse=True)
        for word in words:
            text = text.replace(word, "****")
        return text


_secrets = _Secrets()

_ANY_URL = re.compile(r"\b([A-Za-z][A-Za-z0-9+.-]{0,31})://[^\s'\"<>)]*")
_muted = threading.local()  # set while we probe a URL: apprise would echo it raw


def _from_apprise(text: str) -> str:
    """Apprise's own words made safe to pass on: URLs cut to their scheme, secrets scrubbed."""
    return _secrets.scrub(_ANY_URL.sub(lambda m: f"{m.group(1)}://…", text))


def _make_safe(record: logging.LogRecord) -> bool:
    """Logger-level filter on "apprise": runs before any handler sees the record."""
    if getattr(_muted, "on", False):
        return False  # we are probing a URL; the caller reports it by its privacy label
    try:
        record.msg, record.args = _from_apprise(record.getMessage()), ()
    except Exception:  # a malformed apprise record is dropped, never passed on raw
        return False
    return True


class _ToOurLog(logging.Handler):
    """Re-emits apprise's (already safe) warnings and errors under claimwatch.alerts.apprise."""

    def emit(self, record: logging.LogRecord) -> None:
        log.getChild("apprise").log(record.levelno, "%s", record.getMessage())


_setup_lock = threading.Lock()
_set_up = False


def _quiet_apprise() -> None:
    """Route apprise's logger to ours at WARNING, once, instead of to the root logger."""
    global _set_up
    with _setup_lock:
        if _set_up:
            return
        ours = logging.getLogger("apprise")
        ours.setLevel(logging.WARNING)
        ours.propagate = False
        ours.addFilter(_make_safe)
        ours.addHandler(_ToOurLog(logging.WARNING))
        # apprise's HTTP client logs request paths at DEBUG, and webhook paths hold tokens.
        logging.getLogger("urllib3").setLevel(logging.WARNING)
        _set_up = True


def _asset() -> apprise.AppriseAsset:
    """Keep apprise in memory (no cache files) and on the target's host (no redirects)."""
    try:  # app_id/app_desc: what apprise would brand messages with (a sender name, a footer)
        return apprise.AppriseAsset(storage_mode="memory", http_redirects=False, app_id="claimwatch",
                                    app_desc="claimwatch alerts")
    except Exception:  # an older apprise without these knobs: defaults are still usable
        return apprise.AppriseAsset()


def _instantiate(url: str) -> Any | None:
    """One plugin for exactly this URL (never split into several), or None."""
    _quiet_apprise()
    _muted.on = True
    try:
        return apprise.Apprise.instantiate(url, asset=_asset())
    except Exception:
        return None
    finally:
        _muted.on = False


def _unparseable(url: str) -> str:
    match = _SCHEME.match(url.strip())
    return f"{match.group(1)}://…" if match else "(not a URL)"


def _short(label: str) -> str:
    """Drop the query parameters apprise adds everywhere with their default values."""
    head, sep, query = label.partition("?")
    if not sep:
        return label
    kept = [p for p in query.split("&") if p and p not in _DEFAULT_PARAMS]
    return f"{head}?{'&'.join(kept)}" if kept else head


def privacy_label(url: str) -> str:
    """The URL as apprise prints it with secrets masked; for logs, errors and the desk."""
    return _label(_instantiate(url.strip()) if url.strip() else None, url)


def apprise_label(url: str) -> str:
    """The privacy form as claimwatch before target keys stored it (apprise's alone): only to
    recognise the rows of such deliveries (storage/alerting.py `reconcile_targets`)."""
    plugin = _instantiate(url.strip()) if url.strip() else None
    if plugin is None:
        return _unparseable(url) if url.strip() else "(empty URL)"
    try:
        return _short(str(plugin.url(privacy=True)))
    except Exception:
        return _unparseable(url)


def target_key(url: str) -> str:
    """The stable identity of a target: a truncated sha256 of its normalised URL (trimmed,
    scheme lowercased). Stored with each delivery instead of the URL or its position."""
    text = url.strip()
    scheme, sep, rest = text.partition("://")
    normal = f"{scheme.lower()}{sep}{rest}" if sep else text
    return hashlib.sha256(b"claimwatch target\0" + normal.encode("utf-8", "surrogatepass")).hexdigest()[:20]


# Apprise's generic webhooks print their path, `?+Header=`, `?-param=` and `?:field=` as given.
_WEBHOOKS = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
_SECRET_NAME = re.compile(r"(key|token|secret|sig|signature|auth|pass|password|passwd|pwd|bearer|"
                          r"session|cookie|credential)", re.IGNORECASE)
_MASKED = "****"


def _mask_word(word: str) -> str:
    return f"{word[0]}...{word[-1]}" if len(word) >= 8 else _MASKED


def _mask_label(label: str) -> str:
    """Mask what apprise's privacy form leaves visible: a webhook's path, and any header,
    extra parameter, payload field or secret-named parameter's value."""
    try:
        parts = urlsplit(label)
    except ValueError:
        return _unparseable(label)
    scheme = parts.scheme.lower()
    path = parts.path
    if scheme in _WEBHOOKS and path.strip("/"):
        path = "/".join(_mask_word(seg) if seg else seg for seg in path.split("/"))
    query = []
    for item in parts.query.split("&") if parts.query else ():
        name, sep, value = item.partition("=")
        bare = unquote(name)
        if sep and value and (bare[:1] in "+-:" or _SECRET_NAME.search(bare)):
            value = _MASKED
        elif not sep and scheme in _WEBHOOKS:
            name = _MASKED
        query.append(f"{name}{sep}{value}")
    out = f"{parts.scheme}://{parts.netloc}{path}"
    if query:
        out += "?" + "&".join(query)
    return out + ("#" + _MASKED if parts.fragment else "")


def channel_targets(channel: str, urls: Sequence[str]) -> tuple[Target, ...]:
    """A channel's switched-on targets, each with its key and label; a URL listed twice is one
    target (one delivery per alert)."""
    out: dict[str, Target] = {}
    for url in urls:
        if url.strip():
            key = target_key(url)
            out.setdefault(key, Target(channel, key, privacy_label(url)))
    return tuple(out.values())


def configured_targets(channels: Mapping[str, Sequence[str]]) -> list[ConfiguredTarget]:
    """Every switched-on target of every channel, for storage's `reconcile_targets`."""
    out = []
    for channel, urls in channels.items():
        for i, url in enumerate(urls):
            if url.strip():
                out.append(ConfiguredTarget(channel, target_key(url), privacy_label(url), i, apprise_label(url)))
    return out


def _label(plugin: Any | None, url: str) -> str:
    if not url.strip():
        return "(empty URL)"
    if plugin is None:
        return _unparseable(url)
    try:
        label = _mask_label(_short(str(plugin.url(privacy=True))))
    except Exception:
        return _unparseable(url)
    _secrets.learn(url.strip(), label)
    return label


def target_error(url: str) -> str | None:
    """None if apprise can send to `url`, else why not (for `claimwatch check` and delivery)."""
    text = url.strip()
    if not text:
        return "empty URL (is the ${VAR} it comes from set?)"
    if "${" in text:
        return f"URL still contains an unexpanded ${{…}} variable: {_unparseable(text)}"
    if _instantiate(text) is None:
        return f"not a notification URL apprise understands: {_unparseable(text)}"
    return None


# --- delivery ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Outcome:
    kind: str  # "sent" | "retry" | "config"
    error: str | None = None


def _classify(result: Any) -> _Outcome:
    """Map apprise's answer (AppriseResult in 2.x, True/False/None before) to our outcome."""
    if result is None:
        return _Outcome("config", "no notification service matched the URL")
    status = getattr(result, "status", None)
    if getattr(status, "name", None) == "NOMATCH":
        return _Outcome("config", "no notification service matched the URL")
    if bool(result):
        return _Outcome("sent")
    detail = ""
    try:
        messages = [e.message for e in result.logs() if e.level in ("WARNING", "ERROR")]
        detail = _from_apprise(messages[-1]) if messages else ""
    except Exception:  # a bool from an older apprise has no logs
        pass
    name = getattr(status, "name", "FAILURE").lower()
    return _Outcome("retry", f"{name}: {detail}" if detail else "the service refused the notification")


def _tune(plugin: Any, message: render.Message) -> None:
    """What a target needs beyond title and body, set on this attempt's own plugin instance.

    Slack: Block Kit through apprise's template support (one mrkdwn section and the stance
    colour, `alerts/templates/slack_blocks.json`), no footer or icon. Discord: an embed (the
    stance colour, the title linked to the article), no avatar. Email: the claim's thread
    headers and a sender display name. A URL's own choices (its `template=`, `name=`) win.
    """
    target = message.target
    if target == "slack":
        plugin.include_footer = False
        plugin.include_image = False
        if not len(getattr(plugin, "template", ())):
            template = apprise.AppriseAttachment(asset=plugin.asset)
            template.add(str(render.TEMPLATES / "slack_blocks.json"))
            plugin.template = template
        plugin.use_blocks = True
    elif target == "discord":
        plugin.avatar = getattr(plugin, "avatar_url", None) is not None and plugin.avatar
        plugin.include_image = False
        if not len(getattr(plugin, "template", ())):
            # An embed (stance colour, title linked to the article) with allowed_mentions
            # {"parse": []}: Discord pings nobody, whatever the text holds.
            link = message.link
            name = "discord_embed.json" if link else "discord_embed_nolink.json"
            template = apprise.AppriseAttachment(asset=plugin.asset)
            template.add(str(render.TEMPLATES / name))
            plugin.template = template
            plugin.tokens = {**getattr(plugin, "tokens", {}), "cw_link": link}
    elif target == "mattermost":
        plugin.include_image = False
    elif target == "email":
        headers = getattr(plugin, "headers", None)
        if isinstance(headers, dict):
            headers.update(message.headers)
        sender = getattr(plugin, "from_addr", None)
        if isinstance(sender, (list, tuple)) and len(sender) == 2 and not sender[0]:
            plugin.from_addr = ["claimwatch", sender[1]]


async def _send(plugin: Any, message: render.Message, settings: DeliverySettings) -> _Outcome:
    """One attempt at one rendered message (`render.alert_message`, `digest_message`,
    `notice_message`); never raises (except cancellation), timeouts and crashes become retries."""
    try:
        _tune(plugin, message)
    except Exception as exc:  # a plugin without the knob: send it plain rather than not at all
        log.debug("could not tune %s: %r", type(plugin).__name__, exc)
    ap = apprise.Apprise(asset=plugin.asset)
    ap.add(plugin)
    # The body is already in a Slack target's own dialect: passthrough, no Markdown conversion.
    # Mattermost blends the title into the body, which already leads with the linked title.
    target = message.target
    title = "" if target == "mattermost" else message.title
    passthrough = message.passthrough
    try:
        result = await asyncio.wait_for(
            ap.async_notify(title=title, body=message.body,
                            body_format=None if passthrough else message.body_format,
                            notify_type=message.notify_type),
            settings.timeout_seconds,
        )
    except asyncio.TimeoutError:
        return _Outcome("retry", f"timed out after {settings.timeout_seconds:g}s")
    except Exception as exc:  # apprise or a plugin crashed: the endpoint may recover
        return _Outcome("retry", f"{type(exc).__name__}: {_from_apprise(str(exc))}")
    try:
        return _classify(result)
    finally:
        close = getattr(result, "close", None)
        if callable(close):
            close()


def resolve(channel: str, key: str | None, channels: Mapping[str, Sequence[str]]) -> str | None:
    """The URL of the channel's target with this key, None if the channel no longer has it
    (removed, edited or switched off). Never by position: reordering cannot misroute."""
    if key is None:
        return None
    for url in channels.get(channel, ()):
        if url.strip() and target_key(url) == key:
            return url.strip()
    return None


@dataclass(frozen=True)
class Attempted:
    """One try at one target, classified: what to record, and what the report and log say."""

    state: str  # "sent" | "retry" | "failed"
    label: str  # the target's privacy label
    error: str | None
    duration_ms: int
    at: datetime
    attempts: int  # including this one
    next_attempt_at: datetime | None  # set when state is "retry"

    def report(self, report: DeliveryReport, what: str, settings: DeliverySettings, count: int = 1) -> None:
        """Count it in `report` and log it; `what` names the message and its target."""
        if self.state == "sent":
            report.sent += count
            log.info("%s sent (%d ms)", what, self.duration_ms)
        elif self.state == "retry":
            report.retrying += count
            assert self.next_attempt_at is not None
            log.warning("%s: attempt %d/%d failed (%s); retrying at %s", what, self.attempts,
                        settings.max_attempts, self.error, self.next_attempt_at.isoformat(timespec="seconds"))
        else:
            report.failed += count
            log.error("%s failed for good: %s", what, self.error)


async def attempt(
    url: str | None,
    missing: str,
    label: str,
    build: Callable[[str], render.Message],
    attempts_before: int,
    settings: DeliverySettings,
    now: Callable[[], datetime],
    rng: Callable[[], float],
) -> Attempted:
    """Send one message to `url` (None: the target is gone, for the reason `missing`) and
    classify the outcome: sent, retry after a backoff, or failed for good (a configuration
    error, or `max_attempts` reached). Alerts, digests and ops notices all go through here."""
    started = time.monotonic()
    if url is None:
        outcome = _Outcome("config", missing)
    else:
        plugin = _instantiate(url) if url and "${" not in url else None
        label = _label(plugin, url)
        if plugin is None:
            outcome = _Outcome("config", target_error(url) or "apprise could not load the URL")
        else:
            outcome = await _send(plugin, build(url), settings)
    duration_ms = int((time.monotonic() - started) * 1000)
    error = outcome.error[:_ERROR_CHARS] if outcome.error else None
    at, attempts = now(), attempts_before + 1
    if outcome.kind == "sent":
        return Attempted("sent", label, None, duration_ms, at, attempts, None)
    if outcome.kind == "retry" and attempts < settings.max_attempts:
        return Attempted("retry", label, error, duration_ms, at, attempts, at + backoff(attempts, settings, rng()))
    if outcome.kind == "retry":
        error = f"gave up after {attempts} attempts; last: {error}"
    return Attempted("failed", label, error, duration_ms, at, attempts, None)


def _resolve(d: PendingDelivery, channels: Mapping[str, Sequence[str]]) -> str | None:
    return resolve(d.channel, d.target_key, channels)


class _Run:
    """State of one deliver_due call: shared report, clock, and the lease budget."""

    def __init__(
        self,
        outbox: Outbox,
        channels: Mapping[str, Sequence[str]],
        settings: DeliverySettings,
        now: Callable[[], datetime],
        rng: Callable[[], float],
        options: Mapping[str, ChannelOptions] | None = None,
    ) -> None:
        self.outbox, self.channels, self.settings = outbox, channels, settings
        self.now, self.rng = now, rng
        self.options = options or {}  # digest and per-hour limits per channel (alerts/grouped.py)
        self.report = DeliveryReport()
        self.semaphore = asyncio.Semaphore(max(settings.concurrency, 1))
        self.lease_ends = 0.0  # monotonic time the current batch's lease runs out

    async def target(self, deliveries: list[PendingDelivery]) -> None:
        """Deliveries to one target, in order; stop at its first failure (it is down)."""
        async with self.semaphore:
            from alerts import grouped  # digests, folds, per-hour limits: held in the outbox

            options = self.options.get(deliveries[0].channel)
            if grouped.applies(options, deliveries):
                await grouped.serve(self, deliveries, options)
                return
            for i, d in enumerate(deliveries):
                # Never start an attempt that could outlive our lease (another run could then
                # lease and send it too); the first always goes, so a short lease cannot stall.
                if i and time.monotonic() + self.settings.timeout_seconds > self.lease_ends:
                    log.info("lease running out: %d deliveries to %s left for the next run",
                             len(deliveries) - i, d.target_label)
                    await self.defer(deliveries[i:], None)
                    return
                retry_at = await self.one(d)
                if retry_at is not None:  # the target is down: its backlog waits with it
                    await self.defer(deliveries[i + 1:], retry_at)
                    return

    async def defer(self, deliveries: list[PendingDelivery], at: datetime | None) -> None:
        """Hand leased deliveries back unattempted, so a restart need not wait out our lease."""
        if deliveries:
            self.report.deferred += len(deliveries)
            await asyncio.shield(self.outbox.release_deliveries([d.id for d in deliveries], next_attempt_at=at))

    async def one(self, d: PendingDelivery) -> datetime | None:
        """Attempt and record one delivery; the retry time when the target failed and should
        not be tried again now, else None."""
        url = _resolve(d, self.channels)
        options = self.options.get(d.channel)
        template = options.template if options is not None else None
        a = await attempt(url, removed_reason(d.channel, self.channels, d.target_key) if url is None else "",
                          d.target_label, lambda u: render.alert_message(d, u, template), d.attempts,
                          self.settings, self.now, self.rng)
        what = f"alert {d.alert_id} to channel {d.channel!r} via {a.label}"
        a.report(self.report, what, self.settings)
        # Shielded: a shutdown arriving now must not lose the record of a send that happened.
        await asyncio.shield(self.outbox.record_attempt(
            d.id, now=a.at, ok=a.state == "sent", error=a.error, duration_ms=a.duration_ms,
            next_attempt_at=a.next_attempt_at,
        ))
        return a.next_attempt_at


async def deliver_due(
    outbox: Outbox,
    channels: Mapping[str, Sequence[str]],
    settings: DeliverySettings,
    *,
    now: Callable[[], datetime],
    rng: Callable[[], float] = random.random,
    due_by: datetime | None = None,
    options: Mapping[str, ChannelOptions] | None = None,
) -> DeliveryReport:
    """Send every delivery due now (or by `due_by`: `run --once` ignores backoffs); return what
    happened.

    Leases batches until fewer than a full batch comes back. Targets are served concurrently
    (bounded), each target's deliveries in order. A delivery leased twice in one run (its
    retry already due) waits for the next run, so a zero backoff cannot spin this loop.
    `options` (the watchlist's channel options) holds digest and rate-limited channels'
    deliveries for one grouped message (alerts/grouped.py); `due_by` never sends those early.
    A channel's own template is `options[channel].template`.
    """
    _quiet_apprise()
    run = _Run(outbox, channels, settings, now, rng, options)
    seen: set[int] = set()
    while True:
        batch = await outbox.lease_deliveries(now(), settings.batch, settings.lease_seconds, due_by)
        run.lease_ends = time.monotonic() + settings.lease_seconds
        fresh = [d for d in batch if d.id not in seen]
        if not fresh:
            break
        seen.update(d.id for d in fresh)
        by_target: dict[tuple[str, str | int], list[PendingDelivery]] = {}
        for d in fresh:
            by_target.setdefault((d.channel, d.target_key if d.target_key is not None else -d.id), []).append(d)
        # gather, not a TaskGroup: one target's storage error must not cancel another's
        # send halfway (it would go out unrecorded and be sent again after the lease).
        results = await asyncio.gather(
            *(run.target(deliveries) for deliveries in by_target.values()), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result
        if len(batch) < settings.batch:
            break
    return run.report
