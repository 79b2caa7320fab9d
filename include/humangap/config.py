"""Configuration of a humangap report, checked when it is built."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

from humangap.stats import BASELINES, StatsSettings

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
    """

    bucket: str
    prefix: str = ""
    output_prefix: str = "reports"
    classes: tuple[str, ...] | None = None
    lookback_days: int = 30
    columns: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    min_gold_items: int = 30
    min_human_labels: int = 30
    baseline: str = "pooled"
    exclude_outliers: bool = False
    bootstrap_resamples: int = 2000
    seed: int = 0

    def __post_init__(self) -> None:
        self._check_statistics()
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
        return StatsSettings(
            min_gold_items=self.min_gold_items,
            min_human_labels=self.min_human_labels,
            baseline=self.baseline,
            exclude_outliers=self.exclude_outliers,
            bootstrap_resamples=self.bootstrap_resamples,
            seed=self.seed,
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
        if isinstance(values.get("exclude_outliers"), str):
            text = values["exclude_outliers"].strip().lower()
            if text not in ("true", "false", "1", "0", "yes", "no"):
                raise ConfigError(
                    f"invalid exclude_outliers {values['exclude_outliers']!r}: give true or false"
                )
            values["exclude_outliers"] = text in ("true", "1", "yes")
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
    ``HUMANGAP_BASELINE`` and ``HUMANGAP_EXCLUDE_OUTLIERS``, then
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
