"""lmprep report: one self-contained HTML page of a learner's progress.

The realistic database is docs/make_report_screenshot.py's demo learner (30 graded
attempts over 14 days on ten challenges of the bank, hints, a solution viewed, a quiz, a
review, one grading the grader failed), written through ProgressStore with a fixed clock.
The tests that open the page in headless Chromium skip where Debian's ``chromium`` is not
installed (CI machines).
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import json
import math
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner

from lmprep import progress_report, review
from lmprep.cli import cli
from lmprep.errors import LmprepError
from lmprep.learner import Learner
from lmprep.progress_report import FailedTest
from tests.conftest import ROOT

_spec = importlib.util.spec_from_file_location("make_report_screenshot", ROOT / "docs" / "make_report_screenshot.py")
demo = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(demo)

NOW = demo.NOW
UTC = dt.timezone.utc
CHROMIUM = shutil.which("chromium")
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed here (apt-get install chromium)"
)
URL_ATTRIBUTES = {"src", "href", "xlink:href", "srcset", "action", "formaction", "poster", "data", "background"}


class Page(HTMLParser):
    """What the tests read of a page: its text, tags, ids, links, table rows and styles."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict]] = []
        self.chunks: list[str] = []
        self.styles: list[str] = []
        self.rows: list[list[str]] = []
        self._cell: list[str] | None = None
        self._in_style = False
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.tags.append((tag, attrs))
        if "style" in attrs:
            self.styles.append(attrs["style"] or "")
        if tag == "style":
            self._in_style = True
        elif tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "br" and self._cell is not None:
            self._cell.append(" ")

    def handle_endtag(self, tag):
        if tag == "style":
            self._in_style = False
        elif tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data):
        if self._in_style:
            self.styles.append(data)
            return
        self.chunks.append(data)
        if self._cell is not None:
            self._cell.append(data)

    @property
    def text(self) -> str:
        return " ".join(" ".join(self.chunks).split())

    @property
    def ids(self) -> set[str]:
        return {attrs["id"] for _, attrs in self.tags if attrs.get("id")}

    def row(self, first: str) -> list[str]:
        """The first table row whose first cell starts with ``first``."""
        return next(r for r in self.rows if r and r[0].startswith(first))


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory) -> Path:
    return demo.build_demo(tmp_path_factory.mktemp("demo") / "demo.db")


@pytest.fixture(scope="module")
def made(demo_db, tmp_path_factory) -> dict:
    return progress_report.write(Learner(demo_db), tmp_path_factory.mktemp("out") / "report.html", now=NOW)


@pytest.fixture(scope="module")
def html(made) -> str:
    return Path(made["path"]).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def page(html) -> Page:
    return Page(html)


# ------------------------------------------------------------------ what the page says


def test_write_says_what_it_wrote(made):
    path = Path(made["path"])
    assert made["size_kb"] == math.ceil(path.stat().st_size / 1024)
    assert 20 <= made["size_kb"] <= 400
    assert {k: made[k] for k in ("attempts", "solved", "challenges", "failed_tests")} == {
        "attempts": 30,  # the grading the grader failed is not the learner's
        "solved": 9,
        "challenges": 37,
        "failed_tests": 10,
    }


def test_the_header_has_the_learners_figures(page):
    text = page.text
    assert "9 / 37 challenges solved" in text
    assert "30 attempts (+1 grader error, not counted)" in text
    assert "14 active days in 01 Mar – 14 Mar" in text
    assert "14 day streak" in text
    assert "lmprep report of 2026-03-14 21:00 UTC" in text


def test_solved_and_attempted_per_topic_and_difficulty(page):
    assert page.row("Decoding and sampling")[1:] == ["5", "5", "6"]
    assert page.row("The Transformer")[1:] == ["1", "2", "9"]  # multi-head attention: attempted, unsolved
    assert page.row("N-gram language models")[1:] == ["0", "0", "3"]
    assert page.row("easy")[1:] == ["4", "4", "10"]
    assert page.row("hard")[1:] == ["1", "2", "6"]


def test_attempts_over_time_by_verdict(page):
    counts = dict(re.findall(r"(Accepted|Wrong Answer|Error|Limit exceeded|Interrupted): (\d+)", page.text))
    assert counts == {"Accepted": "10", "Wrong Answer": "15", "Error": "3", "Limit exceeded": "1", "Interrupted": "1"}
    assert "Attempts per day (UTC) from 01 Mar 2026 to 14 Mar 2026" in page.text
    timeline = next(
        attrs for tag, attrs in page.tags if tag == "svg" and attrs.get("aria-label", "").startswith("Attempts")
    )
    assert timeline["class"] == "plot"


def test_tests_failed_most_link_to_their_notes_in_the_page(page):
    first = page.row("decode step matches full causal attention [cpu]")
    assert first == [
        "decode step matches full causal attention [cpu] Causal self-attention with a KV cache · KV cache",
        "3×",
        "2026-03-06",
    ]
    diagnosed = page.row("fully masked rows give zeros [cpu-float32]")
    assert "the mask is applied after the softmax" in diagnosed[0] and diagnosed[1] == "2×"
    links = [attrs["href"] for tag, attrs in page.tags if tag == "a" and attrs.get("href", "").startswith("#notes-")]
    assert "#notes-decoding-kv-cache" in links and "#notes-transformer-scaled-dot-product-attention" in links
    assert {link[1:] for link in links} <= page.ids  # every link lands in the appendix
    assert "Study notes for the tests you failed" in page.text
    assert "KV cache · Decoding and sampling (decoding#kv-cache)" in page.text


def test_the_appendix_holds_the_linked_sections_once(html):
    for anchor, words in [("notes-decoding-kv-cache", "KV cache"), ("notes-neural-lstm", "LSTM")]:
        assert html.count(f'id="{anchor}"') == 1
        article = html[html.index(f'id="{anchor}"') :]
        article = article[: article.index("</article>")]
        assert words in article and "<p>" in article


def test_the_review_schedule_is_lmprep_reviews(page, demo_db):
    from lmprep.store import ProgressStore

    store = ProgressStore(demo_db)
    forecast = review.forecast(store, NOW, days=30)
    total = sum(len(cards) for _, cards in forecast)
    assert total > 0
    assert f"{total} review{'' if total == 1 else 's'} fall due in the next 30 days" in page.text
    for day, cards in forecast:
        if cards:
            assert page.row(day.strftime("%a %d %b"))  # each day with cards has its row
    today = page.row(NOW.strftime("%a %d %b"))[1]
    assert "Quiz: decoding and sampling (10 questions)" in today  # its answered questions, as one item
    store.close()


def test_time_per_challenge(page):
    # kv-cache (est 45 min, so a 90-minute pause): 57 min on day 3, 38 on day 4, 44 on day 5
    est = {slug: str(_challenge(slug).est_minutes) for slug in ("kv-cache", "greedy-decoding")}
    assert est["kv-cache"] == "45"
    assert page.row("Causal self-attention with a KV cache")[1:] == ["solved", "6", "2", "139 in 3", est["kv-cache"]]
    assert page.row("Greedy decoding")[1:] == ["solved", "1", "0", "6 in 1", est["greedy-decoding"]]
    assert page.row("Multi-head attention")[1] == "in progress"
    assert "How time is estimated" in page.text


def test_nothing_in_the_page_points_outside_it(page, html):
    for tag, attrs in page.tags:
        assert tag not in ("script", "link", "img", "iframe", "object", "embed", "base", "audio", "video"), tag
        for name, value in attrs.items():
            if name in URL_ATTRIBUTES:
                assert (value or "").startswith("#"), (tag, name, value)
            assert "//" not in (value or ""), (tag, name, value)  # no http://, https:// or //host
    css = "\n".join(page.styles)
    assert "@import" not in css and "@font-face" not in css
    assert re.findall(r"url\(\s*['\"]?([^)'\"]*)", html) and all(
        ref.startswith("#") for ref in re.findall(r"url\(\s*['\"]?([^)'\"]*)", html)
    )  # the SVGs' clip paths, in the page
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html and "xmlns" not in html
    assert "http://" not in html and "https://" not in html


def test_plots_follow_the_page_colour_and_width(html, page):
    svgs = [attrs for tag, attrs in page.tags if tag == "svg"]
    assert len(svgs) == 3 and all(a["class"] == "plot" and "viewbox" in a and "width" not in a for a in svgs)
    assert "currentColor" in html and progress_report.INK not in html
    assert "svg.plot { display: block; width: 100%" in html
    assert "@media (prefers-color-scheme: dark)" in html
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in html
    ids = [attrs["id"] for _, attrs in page.tags if attrs.get("id")]
    assert len(ids) == len(set(ids))  # the three plots' clip paths do not collide


def test_the_page_is_the_same_every_time(demo_db, html, tmp_path):
    again = progress_report.write(Learner(demo_db), tmp_path / "again.html", now=NOW)
    assert Path(again["path"]).read_text(encoding="utf-8") == html


def test_a_learner_with_no_history(tmp_path):
    made = progress_report.write(Learner(tmp_path / "new.db"), tmp_path / "r.html", now=NOW)
    page = Page(Path(made["path"]).read_text(encoding="utf-8"))
    assert made["attempts"] == 0 and made["solved"] == 0 and made["failed_tests"] == 0
    for words in (
        "0 / 37 challenges solved",
        "no attempts yet",
        "No test has failed yet",
        "nothing to review",
        "Nothing to review yet",
        "0 day streak",
    ):
        assert words in page.text
    assert "Study notes for the tests you failed" not in page.text
    assert "Attempts per day (UTC) from 01 Mar 2026 to 14 Mar 2026" in page.text  # two weeks, empty


def test_an_unwritable_output_is_a_one_line_error(tmp_path):
    target = tmp_path / "no-such-folder" / "r.html"
    with pytest.raises(LmprepError) as info:
        progress_report.write(Learner(tmp_path / "p.db"), target, now=NOW)
    assert str(info.value) == f"cannot write the report to {target}: No such file or directory"


def test_now_defaults_to_the_stores_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("LMPREP_NOW", "2026-03-14T21:00:00")
    made = progress_report.write(Learner(tmp_path / "p.db"), tmp_path / "r.html")
    assert "lmprep report of 2026-03-14 21:00 UTC" in Path(made["path"]).read_text(encoding="utf-8")
    naive = progress_report.write(Learner(tmp_path / "p.db"), tmp_path / "n.html", now=dt.datetime(2026, 3, 1, 8, 30))
    assert "lmprep report of 2026-03-01 08:30 UTC" in Path(naive["path"]).read_text(encoding="utf-8")


# ------------------------------------------------------------------ the parts


def _attempt(slug, at, verdict="Wrong Answer", tests=(), seconds=10, status="done"):
    begin = dt.datetime.fromisoformat(at).replace(tzinfo=UTC)
    return {
        "slug": slug,
        "created_at": begin.isoformat(),
        "finished_at": (begin + dt.timedelta(seconds=seconds)).isoformat() if seconds is not None else None,
        "status": status,
        "verdict": verdict,
        "tests": [{"id": t, "name": t, "outcome": o, "diagnosis": d} for t, o, d in tests],
    }


def _event(slug, at, kind="start"):
    return {"slug": slug, "kind": kind, "created_at": dt.datetime.fromisoformat(at).replace(tzinfo=UTC).isoformat()}


def test_time_spent_counts_sittings_split_at_long_pauses():
    attempts = [
        _attempt("a", "2026-03-01T10:25:00", seconds=60),  # 25 min after the start: one sitting
        _attempt("a", "2026-03-01T10:50:00", seconds=None),  # interrupted: no finish time
        _attempt("a", "2026-03-02T09:00:00", seconds=30),  # next day: a sitting of 30 s
        _attempt("b", "2026-03-01T12:00:00", seconds=5),
    ]
    events = [_event("a", "2026-03-01T10:00:00"), _event("a", "2026-03-01T10:40:00", "hint")]
    spent = progress_report.time_spent(attempts, events)
    assert (spent["a"].seconds, spent["a"].sessions, spent["a"].minutes) == (50 * 60 + 30, 2, 50)
    assert (spent["b"].seconds, spent["b"].sessions) == (5, 1)
    # a 45-minute challenge pauses at 90 minutes: an hour of coding before the first submit counts
    late = [_attempt("c", "2026-03-01T11:00:00", seconds=0)]
    start = [_event("c", "2026-03-01T10:00:00")]
    assert progress_report.time_spent(late, start)["c"].minutes == 0
    assert progress_report.time_spent(late, start, {"c": 45})["c"].minutes == 60


def test_failed_tests_most_first_then_most_recent():
    challenges = {"kv-cache": _challenge("kv-cache")}
    attempts = [
        _attempt(
            "kv-cache",
            "2026-03-01T10:00:00",
            tests=[("x", "wrong_answer", ""), ("y", "passed", ""), ("s", "skipped", "")],
        ),
        _attempt(
            "kv-cache", "2026-03-02T10:00:00", tests=[("x", "runtime_error", "a diagnosis"), ("z", "time_limit", "")]
        ),
        _attempt("gone", "2026-03-03T10:00:00", tests=[("w", "wrong_answer", "")]),
    ]
    found = progress_report.failed_tests(attempts, challenges)
    assert [(f.name, f.slug, f.count, f.last) for f in found] == [
        ("x", "kv-cache", 2, "2026-03-02"),
        ("w", "gone", 1, "2026-03-03"),  # a challenge no longer in the bank keeps its slug
        ("z", "kv-cache", 1, "2026-03-02"),
    ]
    assert found[0].diagnosis == "a diagnosis" and found[0].notes == "decoding#kv-cache" and found[1].notes == ""
    many = [_attempt("kv-cache", "2026-03-01T10:00:00", tests=[(f"t{n}", "wrong_answer", "") for n in range(15)])]
    assert len(progress_report.failed_tests(many, challenges)) == progress_report.TOP_FAILED


def _challenge(slug):
    from lmprep import bank

    return bank.get(slug)


def test_the_appendix_skips_a_link_the_notes_do_not_resolve():
    failed = [
        FailedTest("a", "s1", "S1", 2, "2026-03-01", "", "decoding#greedy"),
        FailedTest("b", "s2", "S2", 1, "2026-03-01", "", "decoding#no-such-section"),
        FailedTest("c", "s3", "S3", 1, "2026-03-01", "", "decoding#greedy"),
        FailedTest("d", "s4", "S4", 1, "2026-03-01", "", "probability"),  # a whole page
        FailedTest("e", "s5", "S5", 1, "2026-03-01", "", ""),
    ]
    sections = progress_report.appendix(failed)
    assert [(s["id"], s["title"], s["page"]) for s in sections] == [
        ("notes-decoding-greedy", "Greedy", "Decoding and sampling"),
        ("notes-probability", "Probability and information", "Probability and information"),
    ]
    assert [(f.anchor, f.section) for f in failed] == [
        ("notes-decoding-greedy", "Greedy"),
        ("", ""),
        ("notes-decoding-greedy", "Greedy"),
        ("notes-probability", "Probability and information"),
        ("", ""),
    ]


def test_notes_markdown_stays_inside_the_page():
    out = progress_report.markdown_html(
        "# Top\n\n## Sub\n\nSee [the paper](https://example.com/p), <https://example.com>, "
        "![plot](http://example.com/a.png), [below](#greedy) and <b>x</b>.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n"
    )
    assert "<h3>Top</h3>" in out and "<h4>Sub</h4>" in out
    assert "<a " in out and 'href="#greedy"' in out and out.count("<a ") == 1
    assert "<img" not in out and "&lt;b&gt;" in out and "<table>" in out


def test_svg_is_ready_to_inline():
    fig = progress_report._figure(3, 2)
    ax = fig.add_subplot()
    ax.bar([0, 1], [1, 2], color=progress_report.INK)
    ax.set_title("Fish & <chips>")
    out = progress_report.svg(fig, "demo", 'A "demo" plot')
    assert out.startswith('<svg class="plot" role="img" aria-label="A &quot;demo&quot; plot" viewBox=')
    assert out.endswith("</svg>") and "<metadata" not in out and "xmlns" not in out and "font-family" not in out
    assert "currentColor" in out and "Fish &amp; &lt;chips&gt;" in out
    refs = re.findall(r"url\(#([^)]+)\)", out)
    assert refs and all(ref.startswith("demo-") and f'id="{ref}"' in out for ref in refs)
    assert out == progress_report.svg(fig, "demo", 'A "demo" plot')


def test_review_items_group_a_quizs_questions():
    challenges = {"quiz-sampling": _challenge("quiz-sampling"), "kv-cache": _challenge("kv-cache")}
    at = NOW

    def card(slug, question):
        return review.Card(
            slug if question is None else f"{slug}#q", slug, question, at, "review", 1, 5, 1, 0, "good", at
        )

    cards = [card("quiz-sampling", "q1?"), card("kv-cache", None), card("quiz-sampling", "q2?"), card("gone", None)]
    assert progress_report.review_items(cards, challenges) == [
        ("Quiz: decoding and sampling", 2),
        ("Causal self-attention with a KV cache", 0),
        ("gone", 0),
    ]


def test_verdict_groups():
    group = progress_report.verdict_group
    assert group({"status": "done", "verdict": "Accepted"}) == "Accepted"
    assert group({"status": "done", "verdict": "Syntax Error"}) == "Error"
    assert group({"status": "done", "verdict": "Memory Limit Exceeded"}) == "Limit exceeded"
    assert group({"status": "interrupted", "verdict": None}) == "Interrupted"


def test_the_timeline_spans_two_to_thirteen_weeks():
    today = dt.date(2026, 3, 14)
    days, per_day = progress_report.attempts_per_day([_attempt("a", "2026-03-13T10:00:00")], today)
    assert (days[0], days[-1], len(days)) == (dt.date(2026, 3, 1), today, 14)
    assert per_day[dt.date(2026, 3, 13)] == {"Wrong Answer": 1}
    days, per_day = progress_report.attempts_per_day([_attempt("a", "2025-01-01T10:00:00")], today)
    assert len(days) == progress_report.TIMELINE_MAX_DAYS and not any(per_day.values())


def test_notes_anchor_and_titles():
    assert progress_report.notes_anchor("decoding#top-k-top-p") == "notes-decoding-top-k-top-p"
    assert progress_report.notes_anchor("decoding") == "notes-decoding"
    assert progress_report.notes_titles()["decoding"] == "Decoding and sampling"
    assert review.parse_time("2026-03-01T10:00:00") == dt.datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert review.parse_time("2026-03-01T05:00:00-05:00") == dt.datetime(2026, 3, 1, 10, tzinfo=UTC)


# ------------------------------------------------------------------ the command


def test_lmprep_report_json_and_open(demo_db, tmp_path, monkeypatch):
    opened = []
    monkeypatch.setattr("webbrowser.open", opened.append)
    monkeypatch.setenv("LMPREP_NOW", NOW.isoformat())
    out = tmp_path / "report.html"
    result = CliRunner().invoke(
        cli, ["--db", str(demo_db), "report", "-o", str(out), "--open", "--json"], catch_exceptions=False
    )
    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    assert made["path"] == str(out) and made["attempts"] == 30 and out.is_file()
    assert opened == [out.resolve().as_uri()]
    result = CliRunner().invoke(cli, ["--db", str(demo_db), "report", "-o", str(out)], catch_exceptions=False)
    assert result.output == f"Wrote {out} ({made['size_kb']} KB)\n"


def test_lmprep_report_to_a_missing_folder(tmp_path):
    target = tmp_path / "nope" / "r.html"
    result = CliRunner().invoke(cli, ["--db", str(tmp_path / "p.db"), "report", "-o", str(target)])
    assert result.exit_code == 1
    assert result.output == f"Error: cannot write the report to {target}: No such file or directory\n"


# ------------------------------------------------------------------ in a browser


def _chromium(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    profile = tmp_path / f"profile-{len(list(tmp_path.glob('profile-*')))}"
    return subprocess.run(
        demo.chromium_command(profile, *args), capture_output=True, text=True, timeout=120, check=True
    )


def _page_requests(net_log: Path) -> list[str]:
    """The URLs a page asked for, from Chromium's net log: requests with a document as their
    initiator (a file:// page is the opaque origin "null"); Chromium's own housekeeping
    requests have none ("not an origin") and are cut off by the resolver rules anyway."""
    log = json.loads(net_log.read_text())
    start_job = log["constants"]["logEventTypes"]["URL_REQUEST_START_JOB"]
    return [
        e["params"]["url"]
        for e in log["events"]
        if e["type"] == start_job and e.get("params", {}).get("initiator", "not an origin") != "not an origin"
    ]


@needs_chromium
def test_chromium_shows_the_page_and_it_requests_nothing(made, tmp_path):
    net_log = tmp_path / "net.json"
    shown = _chromium(
        tmp_path, "--window-size=360,800", f"--log-net-log={net_log}", "--dump-dom", Path(made["path"]).as_uri()
    ).stdout
    text = Page(shown).text
    for words in (
        "Your progress",
        "9 / 37 challenges solved",
        "Tests you failed most",
        "3×",
        "Review schedule, next 30 days",
        "139 in 3",
        "Study notes for the tests you failed",
    ):
        assert words in text
    assert _page_requests(net_log) == []
    # the check sees a page that does reach out
    leaky = tmp_path / "leaky.html"
    leaky.write_text(
        '<link rel="stylesheet" href="https://cdn.example.com/x.css"><img src="http://img.example.com/a.png">'
    )
    _chromium(tmp_path, f"--log-net-log={net_log}", "--dump-dom", leaky.as_uri())
    assert sorted(_page_requests(net_log)) == ["http://img.example.com/a.png", "https://cdn.example.com/x.css"]


PROBE = """<script>
parent.postMessage(JSON.stringify({
  width: innerWidth, scrollWidth: document.documentElement.scrollWidth,
  dark: matchMedia("(prefers-color-scheme: dark)").matches,
  background: getComputedStyle(document.body).backgroundColor,
  plotWidth: document.querySelector("svg.plot").getBoundingClientRect().width
}), "*");
</script>"""
FRAME = """<!doctype html><body style="margin:0"><iframe src="report.html" style="border:0;width:360px;height:800px"></iframe>
<pre id="probe"></pre><script>addEventListener("message", e => document.getElementById("probe").textContent = e.data)</script>"""


@pytest.mark.parametrize("dark", [False, True], ids=["light", "dark"])
@needs_chromium
def test_at_a_phone_width_in_either_theme(html, tmp_path, dark):
    """Headless Chromium keeps its window at least 500 px wide, so the page is measured in a
    360 px iframe (a phone's viewport) by a probe added to a copy of it."""
    (tmp_path / "report.html").write_text(html.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    (tmp_path / "frame.html").write_text(FRAME, encoding="utf-8")
    flags = ["--blink-settings=preferredColorScheme=0", "--force-dark-mode"] if dark else []
    shown = _chromium(tmp_path, *flags, "--virtual-time-budget=5000", "--dump-dom", (tmp_path / "frame.html").as_uri())
    probe = json.loads(re.search(r'<pre id="probe">(.*?)</pre>', shown.stdout, re.S).group(1).replace("&quot;", '"'))
    assert probe["width"] == 360
    assert probe["scrollWidth"] <= 360  # nothing wider than the phone: wide tables scroll in their own box
    assert 300 <= probe["plotWidth"] <= 340  # the plots shrink to the column
    assert probe["dark"] is dark
    assert probe["background"] == ("rgb(20, 23, 28)" if dark else "rgb(255, 255, 255)")


@needs_chromium
def test_the_screenshot_script(tmp_path):
    png = tmp_path / "report.png"
    assert demo.main(["-o", str(png), "--keep", str(tmp_path / "kept")]) == 0
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) < 300 * 1024
    assert (int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")) == demo.WINDOW
    assert (tmp_path / "kept" / "demo.db").is_file() and (tmp_path / "kept" / "report.html").is_file()
