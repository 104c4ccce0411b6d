"""`lmprep report`: the learner's progress as one self-contained HTML page.

The page holds everything it shows: CSS inline, plots as inline SVG drawn by matplotlib,
and the study-notes sections its failing tests link to, copied into an appendix of the
same page. Nothing is fetched from anywhere (no scripts, fonts, images or style sheets
from outside), so it opens offline, can be mailed, and shows the same in a year.

Sections: solved / attempted per topic and difficulty; attempts per day, coloured by
verdict (the timeline and the verdicts over time in one plot); the tests that failed most,
each linked to its challenge's notes section; the spaced-review schedule for the next 30
days (`lmprep.review`); time spent per challenge (estimated: see `time_spent`).

Days are UTC days, as in `lmprep review` (`lmprep.review`): an attempt at 23:30 in New York
counts on the next day. ``now`` defaults to the store's clock (``LMPREP_NOW`` fixes it).
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from lmprep import bank, notes
from lmprep.errors import LmprepError
from lmprep.review import parse_time

if TYPE_CHECKING:
    from grader.challenge import Challenge
    from lmprep.learner import Learner

SESSION_GAP = dt.timedelta(minutes=30)  # the shortest pause between two actions that is a break...
PAUSE_SHARE = 2  # ... or twice the challenge's est_minutes, if longer (`time_spent`)
TIMELINE_MIN_DAYS = 14  # the timeline shows at least the last two weeks...
TIMELINE_MAX_DAYS = 91  # ... and at most the last thirteen
REVIEW_DAYS = 30
TOP_FAILED = 10
FAILED = frozenset({"passed", "skipped"})  # outcomes that are not failures

# Verdicts grouped for the plots; each colour reads on a white and on a near-black page.
VERDICT_GROUPS = {
    "Accepted": ("Accepted",),
    "Wrong Answer": ("Wrong Answer",),
    "Error": ("Runtime Error", "Syntax Error", "Interface Error", "Forbidden API", "Crashed"),
    "Limit exceeded": ("Time Limit Exceeded", "Memory Limit Exceeded", "Output Limit Exceeded"),
    "Interrupted": ("interrupted", "running"),
}
COLOURS = {
    "Accepted": "#2f9e5f",
    "Wrong Answer": "#e0533d",
    "Error": "#9b6bd6",
    "Limit exceeded": "#e3a21a",
    "Interrupted": "#8a8f98",
    "attempted": "#e3a21a",
    "solved": "#2f9e5f",
    "review": "#3f8fd9",
}
INK = "#010203"  # text and axes are drawn in this colour, then written as currentColor


@dataclass
class FailedTest:
    """A test that failed for this learner: how often, and where to read up on it."""

    name: str
    slug: str
    title: str
    count: int
    last: str  # the (UTC) date of the latest failure
    diagnosis: str  # the latest failure's diagnosis, if the spec recognised the mistake
    notes: str  # the challenge's notes link ("page#section"), "" where it has none
    anchor: str = ""  # the id of that section in the page's appendix (set by `appendix`)
    section: str = ""  # that section's title (set by `appendix`)


@dataclass
class TimeSpent:
    """The time a learner spent on one challenge, estimated from what was recorded."""

    slug: str
    seconds: float = 0.0
    sessions: int = 0

    @property
    def minutes(self) -> int:
        return round(self.seconds / 60)


# ------------------------------------------------------------------ the page


def write(learner: Learner, output: Path, now: dt.datetime | None = None) -> dict:
    """Write the report to ``output``; returns what was written (path, size, counts)."""
    from lmprep.store import clock

    now = now or clock()
    now = now.replace(tzinfo=dt.timezone.utc) if now.tzinfo is None else now.astimezone(dt.timezone.utc)
    page, facts = render(learner, now)
    output = Path(output)
    try:
        output.write_text(page, encoding="utf-8")
    except OSError as exc:
        raise LmprepError(f"cannot write the report to {output}: {exc.strerror or exc}") from None
    return {"path": str(output), "size_kb": math.ceil(len(page.encode()) / 1024), **facts}


def render(learner: Learner, now: dt.datetime) -> tuple[str, dict]:
    """The page's HTML, and the figures `write` returns beside its path."""
    from lmprep import review
    from lmprep.store import counted

    store = learner.store
    summary = learner.summary()
    challenges = {ch.slug: ch for ch in bank.all_challenges()}
    attempts = store.attempts()
    mine = [a for a in attempts if counted(a)]
    events = store.events()
    today = now.date()

    days, per_day = attempts_per_day(mine, today)
    failed = failed_tests(mine, challenges)
    spent = time_spent(attempts, events, {slug: ch.est_minutes for slug, ch in challenges.items()})
    progress = learner.progress()
    forecast = review.forecast(store, now, days=REVIEW_DAYS)
    due_now = review.due(store, now)
    streak = review.streak(store, today)
    verdicts = Counter(verdict_group(a) for a in mine)

    rows = []
    for slug, t in sorted(spent.items(), key=lambda kv: (-kv[1].seconds, kv[0])):
        ch, state = challenges.get(slug), progress.get(slug)
        rows.append(
            {
                "slug": slug,
                "title": ch.title if ch else slug,
                "topic": ch.topic if ch else "",
                "status": state.status if state else "new",
                "attempts": state.attempts if state else 0,
                "hints": state.hints if state else 0,
                "minutes": t.minutes,
                "sessions": t.sessions,
                "est_minutes": ch.est_minutes if ch else None,
            }
        )
    longest = max((r["minutes"] for r in rows), default=0)
    schedule = [(day, review_items(cards, challenges)) for day, cards in forecast if cards]
    context = {
        "now": now,
        "summary": summary,
        "topic_names": notes_titles(),
        "streak": streak,
        "due_now": len(due_now),
        "span": (days[0], days[-1]),
        "active_days": sum(1 for d in days if sum(per_day[d].values())),
        "verdicts": [(group, verdicts[group]) for group in VERDICT_GROUPS if verdicts[group]],
        "colours": COLOURS,
        "failed": failed,
        "time_rows": rows,
        "longest": longest,
        "total_minutes": round(sum(t.seconds for t in spent.values()) / 60),
        "session_gap_min": int(SESSION_GAP.total_seconds() // 60),
        "schedule": schedule,
        "reviews_30d": sum(len(cards) for _, cards in forecast),
        "review_days": REVIEW_DAYS,
        "appendix": appendix(failed),
        "plots": {  # SVG made here, inlined as it is
            "timeline": Markup(plot_timeline(days, per_day)),
            "topics": Markup(plot_topics(summary["by_topic"])),
            "schedule": Markup(plot_schedule(forecast)),
        },
    }
    env = bank.templates().overlay(autoescape=True)  # the page's text is escaped; the notes and plots are Markup
    page = env.get_template("report.html.j2").render(**context)
    facts = {
        "attempts": len(mine),
        "solved": summary["solved"],
        "challenges": summary["total"],
        "failed_tests": len(failed),
        "reviews_due": len(due_now),
        "reviews_next_30_days": context["reviews_30d"],
        "minutes": context["total_minutes"],
    }
    return page, facts


# ------------------------------------------------------------------ the figures


def verdict_group(attempt: dict) -> str:
    """The plots' group of an attempt's verdict ("Accepted", "Error", ...)."""
    verdict = attempt["verdict"] if attempt["status"] == "done" else attempt["status"]
    return next((group for group, members in VERDICT_GROUPS.items() if verdict in members), "Error")


def attempts_per_day(attempts: list[dict], today: dt.date) -> tuple[list[dt.date], dict[dt.date, Counter]]:
    """The days the timeline shows (oldest first) and each day's attempts by verdict group.

    The timeline runs from the first attempt (at least 14 days back, at most 91) to today.
    """
    when = [parse_time(a["created_at"]).date() for a in attempts]
    first = min(when, default=today)
    span = min(max((today - first).days + 1, TIMELINE_MIN_DAYS), TIMELINE_MAX_DAYS)
    days = [today - dt.timedelta(days=n) for n in range(span - 1, -1, -1)]
    per_day: dict[dt.date, Counter] = {day: Counter() for day in days}
    for attempt, day in zip(attempts, when, strict=True):
        if day in per_day:
            per_day[day][verdict_group(attempt)] += 1
    return days, per_day


def failed_tests(attempts: list[dict], challenges: dict[str, Challenge]) -> list[FailedTest]:
    """The tests that failed most often in these attempts (most first, at most 10)."""
    found: dict[tuple[str, str], FailedTest] = {}
    for attempt in attempts:
        for test in attempt["tests"]:
            if test.get("outcome") in FAILED:
                continue
            name = test.get("name") or test.get("id") or "?"
            key = (attempt["slug"], name)
            if key not in found:
                ch = challenges.get(attempt["slug"])
                link = ch.notes if ch else ""
                found[key] = FailedTest(name, attempt["slug"], ch.title if ch else attempt["slug"], 0, "", "", link)
            entry = found[key]
            entry.count += 1
            entry.last = parse_time(attempt["created_at"]).date().isoformat()
            entry.diagnosis = test.get("diagnosis") or entry.diagnosis
    ranked = sorted(found.values(), key=lambda f: (f.slug, f.name))
    ranked.sort(key=lambda f: f.last, reverse=True)  # the most recent first among equals
    ranked.sort(key=lambda f: f.count, reverse=True)
    return ranked[:TOP_FAILED]


def time_spent(
    attempts: list[dict], events: list[dict], est_minutes: dict[str, int] | None = None
) -> dict[str, TimeSpent]:
    """Time per challenge, estimated from the recorded actions (no clock runs while the
    learner thinks).

    Every action on a challenge — starting it, a review, a hint, the solution, a reset or
    skip, a submission from its start to its verdict — is a moment of work. Actions closer
    than the challenge's pause belong to one sitting, which lasts from its first action to
    its last. The pause is twice the challenge's ``est_minutes``, at least 30 minutes: the
    coding between starting a challenge and a first submit is work, an afternoon away is
    not. Reading before a sitting's first action and thinking after its last are not
    counted, so the estimate errs low.
    """
    moments: dict[str, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    for attempt in attempts:
        begin = parse_time(attempt["created_at"])
        end = parse_time(attempt["finished_at"]) if attempt.get("finished_at") else begin
        moments[attempt["slug"]].append((begin, max(begin, end)))
    for event in events:
        when = parse_time(event["created_at"])
        moments[event["slug"]].append((when, when))
    spent = {}
    for slug, spans in moments.items():
        pause = max(SESSION_GAP, PAUSE_SHARE * dt.timedelta(minutes=(est_minutes or {}).get(slug, 0)))
        spans.sort()
        total, sessions = dt.timedelta(), 0
        start, end = spans[0]
        for begin, finish in spans[1:]:
            if begin - end > pause:
                total, sessions = total + (end - start), sessions + 1
                start, end = begin, finish
            else:
                end = max(end, finish)
        spent[slug] = TimeSpent(slug, (total + (end - start)).total_seconds(), sessions + 1)
    return spent


def review_items(cards: list, challenges: dict[str, Challenge]) -> list[tuple[str, int]]:
    """A day's review cards as (challenge title, questions due): a quiz's questions are one
    item, a code challenge has 0 questions."""
    found: dict[str, int] = {}
    for card in cards:
        ch = challenges.get(card.slug)
        title = ch.title if ch else card.slug
        found[title] = found.get(title, 0) + (card.question is not None)
    return list(found.items())


# ------------------------------------------------------------------ study notes


def notes_titles() -> dict[str, str]:
    """Topic -> the title of its notes page ("decoding" -> "Decoding and sampling")."""
    return notes.topics()


def notes_anchor(link: str) -> str:
    """The appendix id for a notes link: "decoding#greedy" -> "notes-decoding-greedy"."""
    topic, _, section = link.partition("#")
    return f"notes-{topic}-{section}" if section else f"notes-{topic}"


def appendix(failed: list[FailedTest]) -> list[dict]:
    """The notes sections the failing tests link to, as HTML, each once, in link order;
    sets each test's ``anchor`` and ``section``.

    A link the notes do not resolve (a renamed section) is left out of the appendix, and
    its tests show no link.
    """
    sections, seen = [], set()
    titles = notes.topics()
    for entry in failed:
        if not entry.notes or entry.notes in seen:
            continue
        seen.add(entry.notes)
        topic = entry.notes.partition("#")[0]
        try:
            text = notes.read(entry.notes)
        except LmprepError:
            continue
        heading, _, body = text.partition("\n")  # "## Section" (or the page's "# Title")
        title = heading.lstrip("#").strip()
        sections.append(
            {
                "id": notes_anchor(entry.notes),
                "title": title,
                "page": titles.get(topic, topic),
                "link": entry.notes,
                "html": markdown_html(body),
            }
        )
    found = {s["link"]: s for s in sections}
    for entry in failed:  # tests after the first of a link share its section
        entry.anchor = found[entry.notes]["id"] if entry.notes in found else ""
        entry.section = found[entry.notes]["title"] if entry.notes in found else ""
    return sections


def markdown_html(text: str) -> Markup:
    """Study notes in HTML; links that would leave the page stay plain text."""
    from markdown_it import MarkdownIt  # a dependency (rich parses Markdown with it too)

    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    md.validateLink = lambda url: url.startswith("#")
    out = md.render(text)
    out = re.sub(
        r"<(/?)h([1-6])>", lambda m: f"<{m.group(1)}h{min(int(m.group(2)) + 2, 6)}>", out
    )  # below the page's h3
    return Markup(out)


# ------------------------------------------------------------------ plots


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _style() -> dict[str, Any]:
    return {
        "svg.fonttype": "none",  # text stays text: selectable, searchable, small
        "font.size": 11,
        "text.color": INK,
        "axes.labelcolor": INK,
        "axes.edgecolor": INK,
        "xtick.color": INK,
        "ytick.color": INK,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "legend.frameon": False,
    }


def svg(fig, name: str, label: str) -> str:
    """A figure as an SVG element to inline in HTML: no prolog or metadata, ids of its own,
    the ink in the page's text colour, a transparent background, width from the page."""
    import matplotlib

    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": f"lmprep-{name}"}):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, transparent=True, bbox_inches="tight")
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    text = re.sub(r"\s*<metadata>.*?</metadata>", "", text, flags=re.S)
    text = re.sub(r'\s+xmlns(:\w+)?="[^"]*"', "", text)  # the HTML parser knows SVG's namespaces
    text = re.sub(r"font-family:[^;\"]*;?\s*", "", text)  # the page's CSS sets the font
    text = text.replace(INK, "currentColor")
    referenced = set(re.findall(r"(?:url\(#|href=\"#)([^)\"]+)", text))
    text = re.sub(r'\s+id="([^"]+)"', lambda m: f' id="{name}-{m.group(1)}"' if m.group(1) in referenced else "", text)
    text = re.sub(r'(url\(#|href="#)([^)"]+)', lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)
    label = html.escape(label, quote=True)
    text = re.sub(
        r'<svg width="[^"]*" height="[^"]*"', f'<svg class="plot" role="img" aria-label="{label}"', text, count=1
    )
    text = re.sub(r"\n\s*", "\n", text)  # matplotlib's indentation
    return text.strip()


def plot_timeline(days: list[dt.date], per_day: dict[dt.date, Counter]) -> str:
    """Attempts per day, stacked by verdict group."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        fig = _figure(5.0, 2.4)
        ax = fig.add_subplot()
        bottom = [0] * len(days)
        x = list(range(len(days)))
        for group in VERDICT_GROUPS:
            heights = [per_day[day][group] for day in days]
            if any(heights):
                ax.bar(x, heights, bottom=bottom, color=COLOURS[group], label=group, width=0.8)
                bottom = [b + h for b, h in zip(bottom, heights, strict=True)]
        step = max(1, math.ceil(len(days) / 5))  # five dates fit a phone
        ticks = list(range(len(days) - 1, -1, -step))[::-1]
        ax.set_xticks(ticks, [days[i].strftime("%d %b") for i in ticks])
        ax.set_xlim(-0.6, len(days) - 0.4)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("attempts")
        if any(bottom):
            ax.legend(ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=10, handlelength=1)
        else:
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "no attempts yet", transform=ax.transAxes, ha="center", va="center")
        return svg(fig, "timeline", "Attempts per day, by verdict")


def plot_topics(by_topic: dict[str, dict]) -> str:
    """Per topic: challenges solved, attempted (not solved) and the rest, as one bar each."""
    import matplotlib

    topics = sorted(by_topic, reverse=True)
    with matplotlib.rc_context(_style()):
        fig = _figure(5.0, 0.3 * len(topics) + 0.6)
        ax = fig.add_subplot()
        solved = [by_topic[t]["solved"] for t in topics]
        tried = [by_topic[t]["attempted"] - by_topic[t]["solved"] for t in topics]
        total = [by_topic[t]["total"] for t in topics]
        ax.barh(topics, total, color="none", edgecolor=INK, linewidth=0.6, label="in the bank")
        ax.barh(topics, solved, color=COLOURS["solved"], label="solved")
        ax.barh(topics, tried, left=solved, color=COLOURS["attempted"], label="attempted, not solved")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.set_xlabel("challenges")
        ax.legend(ncols=3, loc="lower left", bbox_to_anchor=(0, 1.0), fontsize=10, handlelength=1)
        return svg(fig, "topics", "Challenges solved and attempted per topic")


def plot_schedule(forecast: list[tuple[dt.date, list]]) -> str:
    """Reviews due per day over the next 30 days."""
    import matplotlib

    with matplotlib.rc_context(_style()):
        fig = _figure(5.0, 2.0)
        ax = fig.add_subplot()
        counts = [len(cards) for _, cards in forecast]
        x = list(range(len(forecast)))
        ax.bar(x, counts, color=COLOURS["review"], width=0.8)
        ticks = x[::7]
        ax.set_xticks(ticks, [forecast[i][0].strftime("%d %b") for i in ticks])
        ax.set_xlim(-0.6, max(len(forecast), 1) - 0.4)
        ax.yaxis.get_major_locator().set_params(integer=True)
        ax.set_ylabel("reviews due")
        if not any(counts):
            ax.set_ylim(0, 1)
            ax.text(0.5, 0.5, "nothing to review", transform=ax.transAxes, ha="center", va="center")
        return svg(fig, "schedule", "Reviews due per day, next 30 days")
