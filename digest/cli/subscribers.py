"""`digest subscribers ...`: add, set, list, show, remove. Flags map onto the one Profile model."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any

import typer

from digest.cli.common import JsonOpt
from digest.cli.imports import import_command
from digest.cli.output import echo_json
from digest.config import load_settings
from digest.errors import DigestError
from digest.ingest.bibtex import decode_library, merge_library, read_library
from digest.profiles import WEEKDAYS, check_timezone, parse_topic
from digest.service import Service, utcnow
from digest.store import subscribers

subscribers_app = typer.Typer(
    no_args_is_help=True, rich_markup_mode=None, help="Subscribers and their topics."
)

Multi = list[str] | None
TopicOpt = Annotated[Multi, typer.Option("--topic", help="A topic; TEXT:WEIGHT sets a weight.")]
ExcludeOpt = Annotated[Multi, typer.Option("--exclude", help="Leave out papers mainly about this.")]
CategoryOpt = Annotated[Multi, typer.Option("--category", help="arXiv category to favour.")]
ExCatOpt = Annotated[
    Multi,
    typer.Option(
        "--exclude-category",
        help="Drop papers whose primary arXiv category is this (cs.CV, or cs for all of cs); "
        "a paper only cross-listed into it stays.",
    ),
]
AuthorOpt = Annotated[Multi, typer.Option("--author", help="Author to follow.")]
SeedOpt = Annotated[Multi, typer.Option("--seed", help="arXiv id or DOI: more like this.")]
PerDigestOpt = Annotated[
    int | None, typer.Option("--per-digest", min=1, max=100, help="Papers per digest (1-100).")
]
MinScoreOpt = Annotated[
    float | None,
    typer.Option(
        "--min-score", min=0.0, max=1.0, help="Leave out papers scoring below this (0-1)."
    ),
]
TrendingOpt = Annotated[
    float | None,
    typer.Option("--trending", min=0.0, max=1.0, help="Weight of the trending signal (0-1)."),
]
QuietOpt = Annotated[str | None, typer.Option("--quiet-days", help="send | skip")]
TimezoneOpt = Annotated[str | None, typer.Option("--timezone", help="e.g. Europe/Berlin")]
HourOpt = Annotated[
    int | None, typer.Option("--send-hour", min=0, max=23, help="Local hour to send (0-23).")
]
FrequencyOpt = Annotated[str | None, typer.Option("--frequency", help="daily | weekly")]
ConfirmedOpt = Annotated[bool, typer.Option("--confirmed", help="Confirmed: skip double opt-in.")]
EmailArg = Annotated[str, typer.Argument(help="The subscriber's email address.")]
PauseOpt = Annotated[
    dt.datetime | None,
    typer.Option(
        "--pause-until",
        formats=["%Y-%m-%d"],
        help="No digests before this day (the first one comes on it).",
    ),
]
ResumeOpt = Annotated[bool, typer.Option("--resume", help="End a pause now.")]
WeekdayOpt = Annotated[str | None, typer.Option("--weekday", help="mon .. sun, for weekly")]


def _clean(values: Multi) -> tuple[str, ...] | None:
    if values is None:
        return None
    return tuple(dict.fromkeys(v.strip() for v in values if v.strip()))


def profile_changes(
    topic: Multi,
    exclude: Multi,
    category: Multi,
    exclude_category: Multi,
    author: Multi,
    seed: Multi,
    per_digest: int | None,
    min_score: float | None,
    trending: float | None,
    quiet_days: str | None,
) -> dict[str, Any]:
    """Only the fields the user gave: a repeated flag replaces that list, others stay."""
    changes: dict[str, Any] = {}
    if topic is not None:
        changes["topics"] = tuple({t.text.lower(): t for t in map(parse_topic, topic)}.values())
    for name, values in (
        ("exclude", exclude),
        ("categories", category),
        ("exclude_categories", exclude_category),
        ("authors", author),
        ("seeds", seed),
    ):
        cleaned = _clean(values)
        if cleaned is not None:
            changes[name] = cleaned
    if quiet_days is not None and quiet_days not in ("send", "skip"):
        raise DigestError("--quiet-days must be send or skip")
    for name, value in (
        ("per_digest", per_digest),
        ("min_score", min_score),
        ("trending", trending),
        ("quiet_days", quiet_days),
    ):
        if value is not None:
            changes[name] = value
    return changes


def schedule_changes(
    timezone: str | None, send_hour: int | None, frequency: str | None, weekday: str | None
) -> dict[str, Any]:
    if timezone is not None:
        check_timezone(timezone)
    if frequency is not None and frequency not in ("daily", "weekly"):
        raise DigestError("--frequency must be daily or weekly")
    day = None
    if weekday is not None:
        if weekday.lower()[:3] not in WEEKDAYS:
            raise DigestError("--weekday must be one of mon tue wed thu fri sat sun")
        day = WEEKDAYS.index(weekday.lower()[:3])
    return {"timezone": timezone, "send_hour": send_hour, "frequency": frequency, "weekday": day}


def pause_changes(pause_until: dt.datetime | None, resume: bool) -> dict[str, Any]:
    """Only what was asked: a paused_until of None would clear a pause already set."""
    if pause_until is not None and resume:
        raise DigestError("--pause-until and --resume contradict each other: give one")
    if resume:
        return {"paused_until": None}
    return {"paused_until": pause_until.date()} if pause_until is not None else {}


def _save(
    email: EmailArg,
    *,
    must_exist: bool,
    confirmed: bool,
    changes: dict[str, Any],
    schedule: dict[str, Any],
) -> None:
    service = Service.open(load_settings())
    now = utcnow()
    with service.db.session() as session:
        if must_exist:
            subscribers.get_row(session, email)
        row, created = subscribers.upsert_subscriber(
            session,
            email,
            now=now,
            profile_changes=changes,
            schedule=schedule,
            state="confirmed" if confirmed else None,
        )
        topics = ", ".join(t["text"] for t in row.profile.get("topics", [])) or "no topics"
        typer.echo(f"{'added' if created else 'updated'} {row.email} ({row.state}): {topics}")
        invite = created and row.state == "unconfirmed"
        address = row.email
    if invite:  # double opt-in: the address itself must agree
        from digest.web.invite import send_confirmation

        typer.echo(send_confirmation(service, address, now=now))


def _profile_command(*, must_exist: bool, doc: str) -> Callable[..., None]:
    """`subscribers add` and `subscribers set`: the same flags, differing only in must_exist."""

    def command(
        email: EmailArg,
        topic: TopicOpt = None,
        exclude: ExcludeOpt = None,
        category: CategoryOpt = None,
        exclude_category: ExCatOpt = None,
        author: AuthorOpt = None,
        seed: SeedOpt = None,
        per_digest: PerDigestOpt = None,
        min_score: MinScoreOpt = None,
        trending: TrendingOpt = None,
        quiet_days: QuietOpt = None,
        timezone: TimezoneOpt = None,
        send_hour: HourOpt = None,
        frequency: FrequencyOpt = None,
        weekday: WeekdayOpt = None,
        pause_until: PauseOpt = None,
        resume: ResumeOpt = False,
        confirmed: ConfirmedOpt = False,
    ) -> None:
        changes = profile_changes(
            topic, exclude, category, exclude_category, author, seed,
            per_digest, min_score, trending, quiet_days,
        )  # fmt: skip
        _save(
            email,
            must_exist=must_exist,
            confirmed=confirmed,
            changes=changes,
            schedule=schedule_changes(timezone, send_hour, frequency, weekday)
            | pause_changes(pause_until, resume),
        )

    command.__doc__ = doc
    return command


subscribers_app.command("add")(
    _profile_command(
        must_exist=False,
        doc="Add a subscriber, or update the one with this address.",
    )
)
subscribers_app.command("set")(
    _profile_command(
        must_exist=True,
        doc="Change an existing subscriber's profile or schedule.",
    )
)


@subscribers_app.command("list")
def list_(as_json: JsonOpt = False) -> None:
    """Every subscriber with state and topics."""
    service = Service.open(load_settings())
    with service.db.session() as session:
        rows = [subscribers.subscriber_json(row) for row in subscribers.all_rows(session)]
    if as_json:
        echo_json(rows)
        return
    for row in rows:
        typer.echo(
            f"{row['email']}  {row['state']}  topics: {', '.join(row['topics']) or '-'}"
            + (f"  exclude: {', '.join(row['exclude'])}" if row["exclude"] else "")
        )


@subscribers_app.command("show")
def show(email: EmailArg, as_json: JsonOpt = False) -> None:
    """One subscriber's whole profile."""
    service = Service.open(load_settings())
    with service.db.session() as session:
        data = subscribers.subscriber_json(subscribers.get_row(session, email))
    if as_json:
        echo_json(data)
        return
    for key, value in data.items():
        if key != "profile":
            typer.echo(f"{key}: {value}")
    for key, value in data["profile"].items():
        if key not in ("topics", "exclude"):
            typer.echo(f"{key}: {value}")


@subscribers_app.command("remove")
def remove(email: EmailArg) -> None:
    """Delete a subscriber; only a hash stays, so the address is not mailed again by accident."""
    service = Service.open(load_settings())
    with service.db.session() as session:
        subscribers.remove_subscriber(session, email, now=utcnow())
    typer.echo(f"removed {email.strip()}")


@subscribers_app.command("import-bib")
def import_bib(
    email: EmailArg,
    file: Annotated[typer.FileBinaryRead, typer.Argument(help="A BibTeX (.bib) file.")],
    titles: Annotated[
        bool, typer.Option("--titles/--no-titles", help="Titles without ids become topics.")
    ] = True,
) -> None:
    """Add a BibTeX library's arXiv ids and DOIs as seeds (titles of the rest as topics)."""
    library = read_library(decode_library(file.read(), file.name))
    service = Service.open(load_settings())
    with service.db.session() as session:
        current = subscribers.to_subscriber(subscribers.get_row(session, email)).profile
        merged = merge_library(current, library, titles=titles)
        subscribers.upsert_subscriber(
            session, email, now=utcnow(), profile_changes=dict(merged.changes)
        )
    typer.echo(
        f"{email.strip()}: {library.entries} entries, {merged.new_seeds} new seeds,"
        f" {merged.title_topics} title topics"
    )


subscribers_app.command("import")(import_command)
