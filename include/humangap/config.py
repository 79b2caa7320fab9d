"""Configuration of a humangap report, checked when it is built."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from humangap.stats import BASELINES, StatsSettings

DEFAULT_STATS = StatsSettings()

SOURCES = ("predictions", "gold", "annotations")

# Canonical column names of each source. Files may use other names, mapped by
# ``HumangapConfig.columns``.
REQUIRED_COLUMNS = {
    "predictions": ("item_id", "predicted_label"),
    "gold": ("item_id", "label"),
    # Without annotator_id the per-annotator figures are reported as unavailable.
    "annotations": ("item_id", "label"),
}
OPTIONAL_COLUMNS = {
    "predictions": ("model_version", "score"),
    "gold": (),
    "annotations": ("annotator_id",),
}


INTEGER_SETTINGS = ("min_gold_items", "min_human_labels", "bootstrap_resamples", "seed")
# Allowed values of the policy settings; the first of each is the default.
UNKNOWN_PREDICTED_LABEL_POLICIES = ("fail", "warn")
EMPTY_LABEL_POLICIES = ("exclude", "fail")
EMPTY_FILE_POLICIES = ("fail", "skip")


class ConfigError(ValueError):
    """Raised when a configuration value is invalid."""


@dataclasses.dataclass(frozen=True)
class HumangapConfig:
    """Where the inputs are, how to read them and where the report goes.

    Attributes
    ----------
    bucket:
        Bucket holding ``predictions/``, ``gold/`` and ``annotations/``.
    prefix:
        Key prefix of those three folders inside the bucket ("" for the root).
    output_prefix:
        Key prefix of the reports, relative to the bucket root.
    classes:
        The class set. ``None`` means the gold labels seen in the label window.
    lookback_days:
        Gold labels and annotations are read from the partitions of this many
        days before the prediction window, plus the window itself.
    columns:
        Per source, a map from canonical column name to the name in the files,
        for example ``{"predictions": {"predicted_label": "pred_label"}}``.
        A file that already has the canonical name keeps it.
    min_gold_items, min_human_labels:
        A class with fewer scored gold items, or fewer human labels on them, gets
        the status ``insufficient_data``.
    baseline:
        The human baseline that drives ``gap``, status and ranking: ``pooled``,
        ``mean_per_annotator`` or ``majority``.
    exclude_outliers:
        Leave annotators listed as outliers out of every human baseline.
    bootstrap_resamples, seed:
        Resamples of the bootstrap over items, and the seed that makes it repeatable.
    case_fold_labels:
        Fold the case of every label (gold, predicted, human) and of ``classes``,
        after trimming surrounding whitespace, which always happens.
    empty_label:
        ``exclude`` drops rows whose label is empty and counts them in the
        report; ``fail`` fails validation on them.
    unknown_predicted_label:
        ``fail`` fails validation on a predicted label outside the class set;
        ``warn`` counts it in the report and scores it as a wrong prediction.
    empty_files:
        ``fail`` rejects a 0-byte input file; ``skip`` skips it and lists it
        in the report.
    max_bad_lines:
        How many unparseable JSON Lines lines a run may skip (over all files);
        one more fails the run.
    csv_delimiters:
        Per source, the field delimiter of its CSV files (default ``,``).
    report_link_base_url:
        When set, the Slack message links to this URL followed by ``/<folder name>``,
        such as the Airflow plugin's ``https://airflow.example.com/humangap/reports``.
    presigned_url_seconds:
        When set and no base URL is, the Slack message links to a presigned S3 URL
        of ``report.html`` valid this many seconds (1 to 604800, S3's maximum).
    """

    bucket: str
    prefix: str = ""
    output_prefix: str = "reports"
    classes: tuple[str, ...] | None = None
    lookback_days: int = 30
    columns: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    # The statistics settings take their defaults from StatsSettings, defined once.
    min_gold_items: int = DEFAULT_STATS.min_gold_items
    min_human_labels: int = DEFAULT_STATS.min_human_labels
    baseline: str = DEFAULT_STATS.baseline
    exclude_outliers: bool = DEFAULT_STATS.exclude_outliers
    bootstrap_resamples: int = DEFAULT_STATS.bootstrap_resamples
    seed: int = DEFAULT_STATS.seed
    case_fold_labels: bool = False
    empty_label: str = EMPTY_LABEL_POLICIES[0]
    unknown_predicted_label: str = UNKNOWN_PREDICTED_LABEL_POLICIES[0]
    empty_files: str = EMPTY_FILE_POLICIES[0]
    max_bad_lines: int = 0
    csv_delimiters: dict[str, str] = dataclasses.field(default_factory=dict)

    report_link_base_url: str | None = None
    presigned_url_seconds: int | None = None

    def __post_init__(self) -> None:
        self._check_statistics()
        if self.report_link_base_url and not self.report_link_base_url.startswith(
            ("https://", "http://")
        ):
            raise ConfigError(
                f"invalid report_link_base_url {self.report_link_base_url!r}: give an http(s) "
                "URL, for example https://airflow.example.com/humangap/reports"
            )
        if self.presigned_url_seconds is not None and not 1 <= self.presigned_url_seconds <= 604800:
            raise ConfigError(
                f"invalid presigned_url_seconds {self.presigned_url_seconds}: S3 signs URLs "
                "for 1 to 604800 seconds (7 days)"
            )
        if not self.bucket or "/" in self.bucket:
            raise ConfigError(
                f"invalid bucket {self.bucket!r}: give a bucket name without '/', "
                "for example HUMANGAP_BUCKET=my-bucket"
            )
        if self.lookback_days < 0:
            raise ConfigError(
                f"invalid lookback_days {self.lookback_days}: must be 0 or more"
            )
        self._check_policies()
        if self.classes is not None:
            # Classes go through the same normalisation as the labels they are compared with.
            classes = tuple(normalise_label(name, self.case_fold_labels) for name in self.classes)
            if len(classes) == 0:
                raise ConfigError("classes is empty: list the classes or leave it unset")
            if "" in classes:
                raise ConfigError(f"classes has an empty name: {list(self.classes)}")
            if len(set(classes)) != len(classes):
                raise ConfigError(
                    f"classes has duplicates after trimming"
                    f"{' and case folding' if self.case_fold_labels else ''}: {list(self.classes)}"
                )
            object.__setattr__(self, "classes", classes)
        for source, mapping in self.columns.items():
            if source not in SOURCES:
                raise ConfigError(
                    f"unknown source {source!r} in columns; expected one of {SOURCES}"
                )
            known = REQUIRED_COLUMNS[source] + OPTIONAL_COLUMNS[source]
            for canonical in mapping:
                if canonical not in known:
                    raise ConfigError(
                        f"unknown column {canonical!r} for {source} in columns; "
                        f"expected one of {known}"
                    )

    def _check_statistics(self) -> None:
        for name in ("min_gold_items", "min_human_labels"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"invalid {name} {value!r}: give a whole number of 1 or more")
        if self.baseline not in BASELINES:
            raise ConfigError(
                f"invalid baseline {self.baseline!r}: expected one of {', '.join(BASELINES)}"
            )
        if not isinstance(self.exclude_outliers, bool):
            raise ConfigError(
                f"invalid exclude_outliers {self.exclude_outliers!r}: give true or false"
            )
        resamples = self.bootstrap_resamples
        if isinstance(resamples, bool) or not isinstance(resamples, int) or not 100 <= resamples <= 100_000:
            raise ConfigError(
                f"invalid bootstrap_resamples {resamples!r}: give a whole number from 100 to "
                "100000 (2000 is the default)"
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise ConfigError(f"invalid seed {self.seed!r}: give a whole number of 0 or more")

    def stats_settings(self) -> StatsSettings:
        """Return the settings the statistics depend on."""
        names = [field.name for field in dataclasses.fields(StatsSettings)]
        return StatsSettings(**{name: getattr(self, name) for name in names})

    def _check_policies(self) -> None:
        policies = {
            "empty_label": (self.empty_label, EMPTY_LABEL_POLICIES),
            "unknown_predicted_label": (
                self.unknown_predicted_label,
                UNKNOWN_PREDICTED_LABEL_POLICIES,
            ),
            "empty_files": (self.empty_files, EMPTY_FILE_POLICIES),
        }
        for name, (value, allowed) in policies.items():
            if value not in allowed:
                raise ConfigError(f"invalid {name} {value!r}: expected one of {list(allowed)}")
        if not isinstance(self.case_fold_labels, bool):
            raise ConfigError(
                f"invalid case_fold_labels {self.case_fold_labels!r}: expected true or false"
            )
        if isinstance(self.max_bad_lines, bool) or not isinstance(self.max_bad_lines, int) or (
            self.max_bad_lines < 0
        ):
            raise ConfigError(
                f"invalid max_bad_lines {self.max_bad_lines!r}: expected an integer, 0 or more"
            )
        for source, delimiter in self.csv_delimiters.items():
            if source not in SOURCES:
                raise ConfigError(
                    f"unknown source {source!r} in csv_delimiters; expected one of {SOURCES}"
                )
            if not isinstance(delimiter, str) or len(delimiter) != 1 or delimiter in "\"\r\n":
                raise ConfigError(
                    f"invalid csv_delimiters[{source!r}] {delimiter!r}: expected one character "
                    "other than a quote or a line break, such as ';'"
                )

    def source_prefix(self, source: str) -> str:
        """Return the key prefix of a source folder, ending in '/'."""
        return join_key(self.prefix, source) + "/"

    def file_column(self, source: str, canonical: str) -> str:
        """Return the column name that the files of ``source`` use for ``canonical``."""
        return self.columns.get(source, {}).get(canonical, canonical)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> HumangapConfig:
        """Build a configuration from plain values, rejecting unknown keys."""
        names = {field.name for field in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ConfigError(
                f"unknown configuration keys {unknown}; expected some of {sorted(names)}"
            )
        values = dict(values)
        if values.get("classes") is not None:
            values["classes"] = tuple(str(name) for name in values["classes"])
        for name in ("lookback_days", *INTEGER_SETTINGS):
            if isinstance(values.get(name), str):
                try:
                    values[name] = int(values[name])
                except ValueError as error:
                    raise ConfigError(
                        f"invalid {name} {values[name]!r}: give a whole number"
                    ) from error
        if "lookback_days" in values:
            values["lookback_days"] = int(values["lookback_days"])
        if isinstance(values.get("max_bad_lines"), str):
            values["max_bad_lines"] = _parse_int("max_bad_lines", values["max_bad_lines"])
        for name in ("case_fold_labels", "exclude_outliers"):
            if isinstance(values.get(name), str):
                values[name] = _parse_bool(name, values[name])
        if values.get("presigned_url_seconds") is not None:
            try:
                values["presigned_url_seconds"] = int(values["presigned_url_seconds"])
            except ValueError as error:
                raise ConfigError(
                    f"invalid presigned_url_seconds {values['presigned_url_seconds']!r}: "
                    "give a whole number of seconds"
                ) from error
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """Return the configuration as JSON-ready values."""
        values = dataclasses.asdict(self)
        if self.classes is not None:
            values["classes"] = list(self.classes)
        return values


def normalise_label(value: str, case_fold: bool) -> str:
    """Trim surrounding whitespace and, when ``case_fold`` is set, fold the case."""
    value = value.strip()
    return value.casefold() if case_fold else value


def _parse_int(name: str, value: str) -> int:
    try:
        return int(value)
    except ValueError as error:
        raise ConfigError(f"invalid {name} {value!r}: expected an integer") from error


def _parse_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"invalid {name} {value!r}: expected true or false")


def join_key(*parts: str) -> str:
    """Join S3 key parts with single slashes, skipping empty parts."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


def load_config(overrides: dict[str, Any] | None = None) -> HumangapConfig:
    """Build the configuration from a file, the environment and overrides.

    Later sources win: the JSON file named by ``HUMANGAP_CONFIG``, then the
    variables ``HUMANGAP_BUCKET``, ``HUMANGAP_PREFIX``, ``HUMANGAP_OUTPUT_PREFIX``,
    ``HUMANGAP_CLASSES`` (comma-separated), ``HUMANGAP_LOOKBACK_DAYS``,
    ``HUMANGAP_BASELINE``, ``HUMANGAP_EXCLUDE_OUTLIERS``,
    ``HUMANGAP_REPORT_LINK_BASE_URL``, ``HUMANGAP_PRESIGNED_URL_SECONDS`` and the
    policy variables listed in docs/configuration.md, then
    ``overrides`` (keys with value ``None`` are ignored).
    """
    values: dict[str, Any] = {}
    path = os.environ.get("HUMANGAP_CONFIG")
    if path:
        try:
            values.update(json.loads(Path(path).read_text()))
        except FileNotFoundError as error:
            raise ConfigError(
                f"HUMANGAP_CONFIG names {path}, which does not exist"
            ) from error
        except json.JSONDecodeError as error:
            raise ConfigError(f"invalid JSON in HUMANGAP_CONFIG file {path}: {error}") from error
    environment = {
        "HUMANGAP_BUCKET": "bucket",
        "HUMANGAP_PREFIX": "prefix",
        "HUMANGAP_OUTPUT_PREFIX": "output_prefix",
        "HUMANGAP_LOOKBACK_DAYS": "lookback_days",
        "HUMANGAP_BASELINE": "baseline",
        "HUMANGAP_EXCLUDE_OUTLIERS": "exclude_outliers",
        "HUMANGAP_CASE_FOLD_LABELS": "case_fold_labels",
        "HUMANGAP_EMPTY_LABEL": "empty_label",
        "HUMANGAP_UNKNOWN_PREDICTED_LABEL": "unknown_predicted_label",
        "HUMANGAP_EMPTY_FILES": "empty_files",
        "HUMANGAP_MAX_BAD_LINES": "max_bad_lines",
        "HUMANGAP_REPORT_LINK_BASE_URL": "report_link_base_url",
        "HUMANGAP_PRESIGNED_URL_SECONDS": "presigned_url_seconds",
    }
    for variable, key in environment.items():
        if os.environ.get(variable):
            values[key] = os.environ[variable]
    if os.environ.get("HUMANGAP_CLASSES"):
        values["classes"] = [
            name.strip() for name in os.environ["HUMANGAP_CLASSES"].split(",") if name.strip()
        ]
    for key, value in (overrides or {}).items():
        if value is not None:
            values[key] = value
    if "bucket" not in values:
        raise ConfigError(
            "no bucket configured: set HUMANGAP_BUCKET or a 'bucket' key in the "
            "HUMANGAP_CONFIG file"
        )
    return HumangapConfig.from_dict(values)
