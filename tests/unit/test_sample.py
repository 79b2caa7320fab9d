import datetime as dt

from humangap import metrics, sample
from humangap.counts import count_labels
from humangap.readers import read_source_file
from humangap.config import HumangapConfig


def test_sample_has_exact_accuracies():
    frames = sample.sample_frames()
    counts = count_labels(frames["gold"], frames["predictions"], frames["annotations"])
    rows = {row["class"]: row for row in metrics.class_rows(counts, "rps-v1", list(sample.CLASSES))}
    assert {name: r["model_correct"] for name, r in rows.items()} == {"paper": 97, "rock": 82, "scissors": 75}
    assert {name: r["human_correct"] for name, r in rows.items()} == {"paper": 294, "rock": 285, "scissors": 231}
    assert [rows[name]["priority_rank"] for name in ("rock", "scissors", "paper")] == [1, 2, 3]


def test_sample_is_the_same_every_time():
    first, second = sample.sample_frames(), sample.sample_frames()
    for name in first:
        assert first[name].equals(second[name])


def test_written_sample_reads_back(tmp_path):
    paths = sample.write_sample(tmp_path, dt.date(2026, 11, 5))
    config = HumangapConfig(bucket="b")
    for path, source in zip(paths, ("predictions", "gold", "annotations")):
        parsed = read_source_file(path.read_bytes(), path.name, source, config)
        assert len(parsed.frame) == {"predictions": 300, "gold": 300, "annotations": 900}[source]
