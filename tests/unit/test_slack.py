"""The Slack message: content, Slack's limits, escaping, links and delivery."""

import json
import time
import urllib.parse
import urllib.request

import pytest
from slack_sdk.webhook import WebhookClient

from humangap import slack
from humangap.config import HumangapConfig
from humangap.storage import LocalStore, S3ClientStore
from report_shapes import REAL_WINDOW, basic_report, real_report, statistics_report

URL = "https://airflow.example.com/humangap/reports/dt=2026-11-05"


def texts(message: dict) -> list[str]:
    """Every text of the blocks, in order."""
    found = []
    for block in message["blocks"]:
        if "text" in block:
            found.append(block["text"]["text"])
        for element in block.get("elements", []):
            if "text" in element:
                text = element["text"]
                found.append(text["text"] if isinstance(text, dict) else text)
    return found


def assert_within_limits(message: dict) -> None:
    assert len(message["blocks"]) <= 50
    for block in message["blocks"]:
        if block["type"] == "header":
            assert block["text"]["type"] == "plain_text"
            assert len(block["text"]["text"]) <= 150
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= 3000
        if block["type"] == "context":
            assert len(block["elements"]) <= 10
            for element in block["elements"]:
                assert len(element["text"]) <= 3000
        if block["type"] == "actions":
            for element in block["elements"]:
                assert len(element["url"]) <= 3000
    assert len(message["text"]) <= 3000
    assert len(json.dumps(message)) < 40_000


def test_real_report_message_content_and_limits():
    report = real_report()
    message = slack.build_message(report, URL)
    assert_within_limits(message)
    headers = [block["text"]["text"] for block in message["blocks"] if block["type"] == "header"]
    window = f"{REAL_WINDOW[0]} to {REAL_WINDOW[1]}"
    assert headers == [f"{model['model_version']}: {window}" for model in report["models"]]
    for model in report["models"]:
        index = next(
            position for position, block in enumerate(message["blocks"])
            if block["type"] == "header" and block["text"]["text"].startswith(model["model_version"])
        )
        section = message["blocks"][index + 1]["text"]["text"]
        context = message["blocks"][index + 2]["elements"][0]["text"]
        for row in model["classes"][:3]:
            line = f"{row['priority_rank']}. {row['class']}: gap {row['gap'] * 100:+.1f} points"
            assert line in section
            assert line[3:] in message["text"]
        # Every CIFAR-10N model is ahead of the human labels on all 10 classes.
        assert section.count("ahead of human") == 3
        assert "10 of 10 measured classes at or past human level" in context
    assert message["blocks"][-1]["elements"][0]["url"] == URL
    assert "\n" not in message["text"]
    assert message["text"].startswith(f"humangap, {window}:")
    assert message["text"].endswith(f"Full report: {URL}")
    assert message["text"].count("10 of 10 measured classes at or past human level") == 5


def test_statistics_message_shows_intervals_status_and_regressions():
    report = statistics_report()
    message = slack.build_message(report, URL)
    assert_within_limits(message)
    section = message["blocks"][1]["text"]["text"]
    # rock: gap 0.95 - 0.82 = +13.0 points, interval set by hand to [+9.0, +19.0].
    assert "1. rock: gap +13.0 points [+9.0, +19.0], behind human" in section
    assert "2. scissors: gap -2.0 points [-6.0, +4.0], at human level" in section
    assert "3. paper: gap -2.0 points [-6.0, +4.0], ahead of human" in section
    context = message["blocks"][2]["elements"][0]["text"]
    assert "2 of 3 measured classes at or past human level" in context
    assert "regressions since the last report: rock (+5.0 points)" in context
    warnings = next(text for text in texts(message) if text.startswith("*Input warnings*"))
    assert "1 file(s) skipped for their type" in warnings
    assert "regressions since the last report: rock (+5.0 points)" in message["text"]
    assert "Input warnings: 1 file(s) skipped" in message["text"]


def test_first_report_has_nothing_to_compare():
    report = statistics_report()
    for row in report["models"][0]["classes"]:
        row["trend"] = None
    report["previous_report_key"] = None
    message = slack.build_message(report, URL)
    assert "no earlier report to compare with" in message["blocks"][2]["elements"][0]["text"]


def test_basic_report_says_nothing_on_trends():
    message = slack.build_message(basic_report(), URL)
    assert "regression" not in json.dumps(message)
    assert "1 of 3 measured classes" not in message["text"]
    assert "2 of 3 measured classes at or past human level" in message["text"]


def test_sixty_long_classes_stay_within_limits():
    classes = tuple(f"class {index:02d} " + "with a very long descriptive name " * 8 for index in range(60))
    versions = tuple(f"model-{index:02d}-" + "x" * 200 for index in range(20))
    report = basic_report(classes=classes, versions=versions)
    report["inputs"]["skipped_keys"] = [f"predictions/dt=2026-11-05/file-{n}.txt" for n in range(100)]
    message = slack.build_message(report, URL)
    assert_within_limits(message)
    summary = next(text for text in texts(message) if "more model version(s)" in text)
    # 50 blocks leave room for 15 model versions of 3 blocks and the footer.
    assert summary.startswith("5 more model version(s) are in the full report: model-15-")
    assert message["blocks"][-1]["elements"][0]["url"] == URL
    assert message["text"].endswith(f"(see the full report) Full report: {URL}")


def test_mentions_and_markup_are_escaped():
    classes = ("<!channel>", "cats & dogs", "<b>bold</b>", "<@U123|bob>")
    report = basic_report(classes=classes, versions=("<!here> v1",))
    message = slack.build_message(report, URL)
    dumped = json.dumps([message["text"], *[t for t in texts(message) if t]])
    assert "<!channel>" not in dumped
    assert "<!here>" not in message["text"]
    assert "<@U123" not in dumped
    section = message["blocks"][1]["text"]["text"]
    assert "1. &lt;!channel&gt;: gap" in section
    assert "cats &amp; dogs" in section
    assert "&lt;b&gt;bold&lt;/b&gt;" in section
    assert "model &lt;!here&gt; v1" in message["text"]
    # A header is plain text, which Slack shows as written and never parses for mentions.
    assert message["blocks"][0]["text"] == {"type": "plain_text", "text": "<!here> v1: 2026-11-05"}


def test_no_models_message():
    report = basic_report()
    report["models"] = []
    message = slack.build_message(report, "s3://bucket/reports/dt=2026-11-05/report.html")
    assert_within_limits(message)
    assert "no predictions in this window" in message["text"]
    assert "`s3://bucket/reports/dt=2026-11-05/report.html`" in texts(message)[-1]


def test_report_link_base_url_wins(tmp_path):
    store = LocalStore(tmp_path)
    link = {"base_url": "https://airflow.example.com/humangap/reports/", "presigned_url_seconds": 60}
    url = slack.report_link(store, "reports/window=2026-11-01_2026-11-05/report.html", link)
    assert url == "https://airflow.example.com/humangap/reports/window=2026-11-01_2026-11-05"


def test_report_link_falls_back_to_store_url(tmp_path):
    store = LocalStore(tmp_path)
    url = slack.report_link(store, "reports/dt=2026-11-05/report.html", {"presigned_url_seconds": 60})
    assert url == (tmp_path / "reports/dt=2026-11-05/report.html").resolve().as_uri()


def test_presigned_link_opens_report(s3, bucket):
    store = S3ClientStore(s3, bucket)
    store.write_bytes("reports/dt=2026-11-05/report.html", b"<html>ok</html>", "text/html")
    url = slack.report_link(store, "reports/dt=2026-11-05/report.html", {"presigned_url_seconds": 600})
    assert url.startswith("http://127.0.0.1:")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    # botocore signs this client's URLs with an absolute Expires time.
    expires = int(query["Expires"][0]) if "Expires" in query else None
    assert expires is not None and abs(expires - (time.time() + 600)) < 60
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == b"<html>ok</html>"


def test_config_link_options_are_checked():
    config = HumangapConfig.from_dict({"bucket": "b", "presigned_url_seconds": "3600"})
    assert config.presigned_url_seconds == 3600
    with pytest.raises(ValueError, match="1 to 604800 seconds"):
        HumangapConfig(bucket="b", presigned_url_seconds=700000)
    with pytest.raises(ValueError, match="give an http"):
        HumangapConfig(bucket="b", report_link_base_url="airflow.example.com")


# Delivery, against a real HTTP server through slack_sdk's webhook client ----------------


def _client(receiver) -> WebhookClient:
    # No SDK retry handlers, so post_message alone decides on retries.
    return WebhookClient(receiver.url, retry_handlers=[])


def test_post_waits_for_retry_after(slack_receiver):
    slack_receiver.respond_with(429, {"Retry-After": "1"}, "rate_limited")
    message = slack.build_message(basic_report(), URL)
    started = time.monotonic()
    response = slack.post_message(message, _client(slack_receiver).send_dict)
    assert time.monotonic() - started >= 1.0
    assert response.status_code == 200
    assert slack_receiver.posts == [message, message]


def test_post_gives_up_on_endless_rate_limit(slack_receiver):
    for _ in range(3):
        slack_receiver.respond_with(429, {"Retry-After": "0"}, "rate_limited")
    with pytest.raises(slack.SlackDeliveryError, match="still returned HTTP 429 after 3 attempt"):
        slack.post_message({"text": "x"}, _client(slack_receiver).send_dict, max_attempts=3)
    assert len(slack_receiver.posts) == 3


def _published(tmp_path):
    store = LocalStore(tmp_path)
    report = basic_report()
    key = "reports/dt=2026-11-05/report.json"
    store.write_bytes(key, json.dumps(report).encode(), "application/json")
    message = slack.build_message(report, URL)
    published = {"report_key": key, "report_url": store.url(key), "generated_at": report["generated_at"], "slack_message": message}
    return store, published


def test_webhook_down_posts_once_per_try(slack_receiver, tmp_path):
    store, published = _published(tmp_path)
    send = _client(slack_receiver).send_dict
    for attempt in range(1, 4):
        slack_receiver.respond_with(500, {}, "internal_error")
        with pytest.raises(slack.SlackDeliveryError, match="returned HTTP 500"):
            slack.deliver_once(published, send, store)
        assert len(slack_receiver.posts) == attempt
    # The report stays published and no marker claims a post.
    assert store.list_keys("reports/") == ["reports/dt=2026-11-05/report.json"]


def test_retried_delivery_posts_once(slack_receiver, tmp_path):
    store, published = _published(tmp_path)
    send = _client(slack_receiver).send_dict
    assert slack.deliver_once(published, send, store) is True
    assert slack.deliver_once(published, send, store) is False
    assert slack_receiver.posts == [published["slack_message"]]
    marker = json.loads(store.read_bytes("reports/_slack_posted/dt=2026-11-05.json"))
    assert marker["report_key"] == published["report_key"]
    # A rerun publishes again with a new generated_at, and that is posted.
    republished = {**published, "generated_at": "2026-11-07T00:00:00+00:00"}
    assert slack.deliver_once(republished, send, store) is True
    assert len(slack_receiver.posts) == 2
