"""Configuration of a humangap report, checked when it is built."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

SOURCES = ("predictions", "gold", "annotations")

# Canonical column names of each source. Files may use other names, mapped by
# ``HumangapConfig.columns``.
REQUIRED_COLUMNS = {
    "predictions": ("item_id", "predicted_label"),
    "gold": ("item_id", "label"),
    "annotations": ("item_id", "annotator_id", "label"),
}
OPTIONAL_COLUMNS = {
    "predictions": ("model_version", "score"),
    "gold": (),
    "annotations": (),
}


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
    report_link_base_url: str | None = None
    presigned_url_seconds: int | None = None

    def __post_init__(self) -> None:
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
        if self.classes is not None:
            if len(self.classes) == 0:
                raise ConfigError("classes is empty: list the classes or leave it unset")
            if len(set(self.classes)) != len(self.classes):
                raise ConfigError(f"classes has duplicates: {list(self.classes)}")
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
        if "lookback_days" in values:
            values["lookback_days"] = int(values["lookback_days"])
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


def join_key(*parts: str) -> str:
    """Join S3 key parts with single slashes, skipping empty parts."""
    return "/".join(part.strip("/") for part in parts if part and part.strip("/"))


def load_config(overrides: dict[str, Any] | None = None) -> HumangapConfig:
    """Build the configuration from a file, the environment and overrides.

    Later sources win: the JSON file named by ``HUMANGAP_CONFIG``, then the
    variables ``HUMANGAP_BUCKET``, ``HUMANGAP_PREFIX``, ``HUMANGAP_OUTPUT_PREFIX``,
    ``HUMANGAP_CLASSES`` (comma-separated), ``HUMANGAP_LOOKBACK_DAYS``,
    ``HUMANGAP_REPORT_LINK_BASE_URL`` and ``HUMANGAP_PRESIGNED_URL_SECONDS``, then
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
            "no bucket configured: set HUMANGAP_BUCKET, a 'bucket' key in the "
            "HUMANGAP_CONFIG file, or the run's 'bucket' param"
        )
    return HumangapConfig.from_dict(values)
