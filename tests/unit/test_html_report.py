"""report.html: sections, both report layouts, escaping, trend history."""

import base64
import json
import re
import xml.etree.ElementTree as ElementTree

from humangap import html_report, report
from humangap.storage import LocalStore
from report_shapes import basic_report, statistics_report, with_window

HOSTILE = [
    "<script>alert('class')</script>",
    '"><img src=x onerror=alert(1)>',
    "a & b <b>bold</b>",
    "<!channel>",
    "$x^2$ cost",
]


def chart_uris(page: str) -> list[str]:
    return re.findall(r'<img class="chart" src="(data:image/svg\+xml;base64,[^"]+)"', page)


def test_basic_report_renders_without_statistics():
    page = html_report.render_html(basic_report()).decode()
    assert page.startswith("<!doctype html>")
    assert "<title>Human gap report, 2026-11-05</title>" in page
    assert "<h2>Model rps-v1</h2>" in page
    assert "behind human" in page
    assert "at or past human level" in page
    assert "this report has no intervals" in page
    assert "This report has no annotator statistics." in page
    assert "no trend yet" in page
    assert len(chart_uris(page)) == 1
    # Today's layout has no trend or confusions, so the table has no such columns.
    assert "gap change since last report" not in page
    assert "most confused with" not in page


def test_page_fetches_nothing():
    page = html_report.render_html(statistics_report()).decode()
    assert not re.search(r'(src|href)="(?!data:)', page)
    assert "<script" not in page
    assert "@import" not in page
    assert "url(" not in page


def test_charts_are_valid_svg():
    page = html_report.render_html(basic_report()).decode()
    (uri,) = chart_uris(page)
    svg = base64.b64decode(uri.split(",", 1)[1])
    root = ElementTree.fromstring(svg)
    assert root.tag.endswith("svg")
    assert b"<script" not in svg


def test_statistics_fields_are_shown():
    page = html_report.render_html(statistics_report()).decode()
    rows = re.findall(r"<tr>.*?</tr>", page)
    rock = next(row for row in rows if ">rock<" in row)
    # rock: model 82/100, humans 95/100, intervals set by hand around them.
    assert "behind human" in rock
    assert "0.820<br><span class=\"note\">[0.750, 0.870]</span>" in rock
    assert "0.950<br><span class=\"note\">[0.900, 0.980]</span>" in rock
    assert "+13.0<br><span class=\"note\">[+9.0, +19.0]</span>" in rock
    assert "+5.0" in rock
    assert "regression" in rock
    assert "model far more than humans: scissors" in rock
    scissors = next(row for row in rows if ">scissors<" in row)
    assert "at human level" in scissors
    paper = next(row for row in rows if ">paper<" in row)
    assert "ahead of human" in paper
    assert "bars are 95% intervals" in page
    assert "regressions since the last report: rock" in page
    assert "human baseline: pooled" in page
    assert "Krippendorff" in page
    assert "0.812" in page
    assert "worker-7" in page
    assert "1 file(s) skipped for their type" in page


def test_insufficient_data_status_in_words():
    document = statistics_report()
    row = document["models"][0]["classes"][2]
    row["status"] = "insufficient_data"
    page = html_report.render_html(document).decode()
    assert "insufficient data" in page


def test_user_strings_are_escaped():
    document = statistics_report(classes=tuple(HOSTILE[:3]), annotator=HOSTILE[0])
    document["models"][0]["model_version"] = HOSTILE[1]
    document["inputs"]["skipped_keys"] = [f"predictions/dt=2026-11-05/{HOSTILE[0]}"]
    document["annotators"]["alpha_per_class"] = {HOSTILE[2]: 0.5}
    page = html_report.render_html(document).decode()
    assert "<script" not in page
    assert "<img src=x" not in page
    assert "<b>bold</b>" not in page
    assert "&lt;script&gt;alert(&#x27;class&#x27;)&lt;/script&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "a &amp; b &lt;b&gt;bold&lt;/b&gt;" in page


def test_dollar_signs_do_not_break_charts():
    page = html_report.render_html(basic_report(classes=tuple(HOSTILE[3:]) + ("plain",))).decode()
    assert len(chart_uris(page)) == 1
    assert "$x^2$ cost" in page


def test_no_models_page():
    document = basic_report()
    document["models"] = []
    document["status"] = "no_data"
    page = html_report.render_html(document).decode()
    assert "No predictions in this window" in page
    assert chart_uris(page) == []


def test_history_draws_trend_chart():
    current = basic_report(window=("2026-11-05", "2026-11-05"))
    history = [
        with_window(current, "2026-11-03", "2026-11-03", gap_shift=0.02),
        with_window(current, "2026-11-04", "2026-11-04", gap_shift=0.01),
    ]
    page = html_report.render_html(current, history).decode()
    assert len(chart_uris(page)) == 2
    assert "no trend yet" not in page
    dates, series = html_report.trend_series(current["models"][0], current, history)
    assert dates == ["2026-11-03", "2026-11-04", "2026-11-05"]
    # rock: gap 0.95 - 0.82 = 0.13 today, shifted by +0.02 and +0.01 before.
    assert [round(value, 6) for value in series["rock"]] == [0.15, 0.14, 0.13]


def test_history_of_another_model_draws_no_trend():
    current = basic_report()
    earlier = with_window(basic_report(versions=("other",)), "2026-11-04", "2026-11-04")
    page = html_report.render_html(current, [earlier]).decode()
    assert len(chart_uris(page)) == 1


def _write(store, key, document):
    store.write_bytes(key, json.dumps(document).encode(), "application/json")


def test_load_history_reads_earlier_reports(tmp_path):
    store = LocalStore(tmp_path)
    base = basic_report()
    for day in ("2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04", "2026-11-06"):
        _write(store, f"reports/dt={day}/report.json", with_window(base, day, day))
    _write(store, "reports/window=2026-10-01_2026-10-31/report.json", with_window(base, "2026-10-01", "2026-10-31"))
    store.write_bytes("reports/dt=2026-11-02/report.html", b"<html>", "text/html")
    store.write_bytes("reports/dt=2026-10-30/report.json", b"{not json", "application/json")
    _write(store, "reports/dt=2026-11-05/report.json", base)
    history = html_report.load_history(store, "reports/dt=2026-11-05/", limit=3)
    ends = [item["run"]["window"]["last_date"] for item in history]
    assert ends == ["2026-11-02", "2026-11-03", "2026-11-04"]
    history = html_report.load_history(store, "reports/dt=2026-11-05/")
    ends = [item["run"]["window"]["last_date"] for item in history]
    # The unreadable report is skipped; the later one and the current one are left out.
    assert ends == ["2026-10-31", "2026-11-01", "2026-11-02", "2026-11-03", "2026-11-04"]


def test_load_history_without_earlier_reports(tmp_path):
    store = LocalStore(tmp_path)
    (tmp_path / "reports").mkdir()
    assert html_report.load_history(store, "reports/dt=2026-11-05/") == []


def test_report_module_alias_renders_same_page():
    document = basic_report()
    assert report.render_html(document) == html_report.render_html(document)
