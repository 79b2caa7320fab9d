"""The computations compared by the benchmark, each from data frames to per-class figures.

Every method returns rows ``(model_version, class, support, model_correct,
human_labels, human_correct, model_accuracy, human_accuracy)``. The
scikit-learn method only yields the two accuracies and leaves the counts None.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

Row = dict[str, Any]


def humangap_compute(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> list[Row]:
    """Run humangap's counting: ``count_labels``, then each class's counts and accuracies.

    These are the figures the hand-written methods compute, derived from the
    count tables as the report derives them.
    """
    from humangap.counts import count_labels

    counts = count_labels(gold, predictions, annotations)
    rows = []
    for version in counts.model_versions():
        model = counts.per_class(version, "model")
        human = counts.per_class(version, "human")
        for name, support in model["total"].items():
            labels = int(human["total"].get(name, 0))
            human_correct = int(human["correct"].get(name, 0))
            model_correct = int(model["correct"][name])
            rows.append(
                {
                    "model_version": version,
                    "class": name,
                    "support": int(support),
                    "model_correct": model_correct,
                    "human_labels": labels,
                    "human_correct": human_correct,
                    "model_accuracy": model_correct / int(support),
                    "human_accuracy": human_correct / labels if labels else None,
                }
            )
    return rows


def humangap_statistics(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> list[Row]:
    """Run humangap's whole compute stage: counting, then ``metrics.class_rows`` per version.

    Beyond the accuracies, ``class_rows`` adds the bootstrap and Wilson
    intervals, the gap, the statuses and the ranking, a cost that depends on
    the number of classes and item patterns, not on the number of rows.
    """
    from humangap import metrics
    from humangap.counts import count_labels

    counts = count_labels(gold, predictions, annotations)
    classes = sorted(set(gold["label"].dropna().unique().tolist()))
    rows = []
    for version in counts.model_versions():
        for row in metrics.class_rows(counts, version, classes):
            if row["support"]:
                rows.append({"model_version": version, **_figures(row)})
    return rows


def _figures(row: Row) -> Row:
    return {
        "class": row["class"],
        "support": row["support"],
        "model_correct": row["model_correct"],
        "human_labels": row["human_labels"],
        "human_correct": row["human_correct"],
        "model_accuracy": row["model_accuracy"],
        "human_accuracy": row["human_accuracy"],
    }


def _scored(gold: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    truth = gold[["item_id", "label"]].rename(columns={"label": "gold"})
    return predictions[["item_id", "predicted_label", "model_version"]].merge(truth, on="item_id")


def sklearn_recall(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> list[Row]:
    """Join with pandas, then ``recall_score(average=None)`` per model version on string labels."""
    from sklearn.metrics import recall_score

    scored = _scored(gold, predictions)
    human = scored[["model_version", "item_id", "gold"]].merge(
        annotations[["item_id", "label"]], on="item_id"
    )
    classes = sorted(gold["label"].dropna().unique().tolist())
    rows = []
    for version, part in scored.groupby("model_version"):
        model = recall_score(
            part["gold"].to_numpy(dtype=object),
            part["predicted_label"].to_numpy(dtype=object),
            labels=classes,
            average=None,
            zero_division=np.nan,
        )
        labelled = human[human["model_version"] == version]
        people = recall_score(
            labelled["gold"].to_numpy(dtype=object),
            labelled["label"].to_numpy(dtype=object),
            labels=classes,
            average=None,
            zero_division=np.nan,
        )
        for name, model_rate, human_rate in zip(classes, model, people):
            if np.isnan(model_rate):
                continue
            rows.append(
                {
                    "model_version": version,
                    "class": name,
                    "support": None,
                    "model_correct": None,
                    "human_labels": None,
                    "human_correct": None,
                    "model_accuracy": float(model_rate),
                    "human_accuracy": None if np.isnan(human_rate) else float(human_rate),
                }
            )
    return rows


def pandas_groupby(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> list[Row]:
    """Compute the figures with a plain pandas merge and groupby, as written by hand."""
    scored = _scored(gold, predictions)
    scored["correct"] = scored["gold"] == scored["predicted_label"]
    model = scored.groupby(["model_version", "gold"]).agg(
        support=("correct", "size"), model_correct=("correct", "sum")
    )
    human = scored[["model_version", "item_id", "gold"]].merge(
        annotations[["item_id", "label"]], on="item_id"
    )
    human["correct"] = human["gold"] == human["label"]
    people = human.groupby(["model_version", "gold"]).agg(
        human_labels=("correct", "size"), human_correct=("correct", "sum")
    )
    table = model.join(people, how="left").fillna({"human_labels": 0, "human_correct": 0})
    return _rows_from_table(table.reset_index())


DUCKDB_QUERY = """
WITH scored AS (
    SELECT p.model_version, p.item_id, g.label AS gold, p.predicted_label AS label
    FROM predictions AS p JOIN gold AS g USING (item_id)
),
model AS (
    SELECT model_version, gold, count(*) AS support,
           count(*) FILTER (WHERE label = gold) AS model_correct
    FROM scored GROUP BY ALL
),
human AS (
    SELECT s.model_version, s.gold, count(*) AS human_labels,
           count(*) FILTER (WHERE a.label = s.gold) AS human_correct
    FROM scored AS s JOIN annotations AS a USING (item_id) GROUP BY ALL
)
SELECT m.model_version, m.gold, m.support, m.model_correct,
       coalesce(h.human_labels, 0) AS human_labels, coalesce(h.human_correct, 0) AS human_correct
FROM model AS m LEFT JOIN human AS h USING (model_version, gold)
"""


def duckdb_sql(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> list[Row]:
    """Compute the figures with one hand-written DuckDB query over the data frames."""
    import duckdb

    connection = duckdb.connect()
    connection.register("gold", gold)
    connection.register("predictions", predictions)
    connection.register("annotations", annotations)
    table = connection.execute(DUCKDB_QUERY).df()
    connection.close()
    return _rows_from_table(table)


def _rows_from_table(table: pd.DataFrame) -> list[Row]:
    rows = []
    for record in table.to_dict(orient="records"):
        support, model_correct = int(record["support"]), int(record["model_correct"])
        labels, human_correct = int(record["human_labels"]), int(record["human_correct"])
        rows.append(
            {
                "model_version": str(record["model_version"]),
                "class": str(record["gold"]),
                "support": support,
                "model_correct": model_correct,
                "human_labels": labels,
                "human_correct": human_correct,
                "model_accuracy": model_correct / support,
                "human_accuracy": human_correct / labels if labels else None,
            }
        )
    return rows


COMPUTE_METHODS = {
    "humangap": humangap_compute,
    "humangap+stats": humangap_statistics,
    "sklearn": sklearn_recall,
    "pandas": pandas_groupby,
    "duckdb": duckdb_sql,
}


def disagreements(reference: list[Row], other: list[Row]) -> list[str]:
    """Return how ``other`` differs from ``reference``: counts exactly, rates to 1e-12."""
    expected = {(row["model_version"], row["class"]): row for row in reference}
    found = {(row["model_version"], row["class"]): row for row in other}
    problems = []
    if expected.keys() != found.keys():
        problems.append(f"row keys differ: {sorted(set(expected) ^ set(found))[:5]}")
    for key in sorted(set(expected) & set(found)):
        for field, value in found[key].items():
            want = expected[key][field]
            if value is None and field not in ("human_accuracy",):
                continue
            if isinstance(value, float) or isinstance(want, float):
                same = (value is None and want is None) or (
                    value is not None and want is not None and abs(value - want) <= 1e-12
                )
            else:
                same = value == want
            if not same:
                problems.append(f"{key} {field}: {value} != {want}")
    return problems


def plain_checks(gold: pd.DataFrame, predictions: pd.DataFrame, annotations: pd.DataFrame) -> dict[str, int]:
    """Run the row checks of humangap's validation with plain pandas, returning bad-row counts.

    These are the checks that ``validation.validate_inputs`` runs through Great
    Expectations: not null, unique ids and pairs, labels in the class set
    and scores in [0, 1]. Timing them shows what the checks cost without GX.
    """
    classes = gold["label"].dropna().unique()
    bad = {
        "gold.item_id null": int(gold["item_id"].isna().sum()),
        "gold.label null": int(gold["label"].isna().sum()),
        "gold.item_id duplicated": int(gold["item_id"].duplicated().sum()),
        "predictions.item_id null": int(predictions["item_id"].isna().sum()),
        "predictions.predicted_label null": int(predictions["predicted_label"].isna().sum()),
        "predictions.model_version null": int(predictions["model_version"].isna().sum()),
        "predictions pair duplicated": int(predictions.duplicated(["item_id", "model_version"]).sum()),
        "predictions.predicted_label not in classes": int(
            (~predictions["predicted_label"].isin(classes)).sum()
        ),
        "predictions.score outside [0, 1]": int((~predictions["score"].between(0, 1)).sum()),
        "annotations.item_id null": int(annotations["item_id"].isna().sum()),
        "annotations.annotator_id null": int(annotations["annotator_id"].isna().sum()),
        "annotations.label null": int(annotations["label"].isna().sum()),
        "annotations pair duplicated": int(annotations.duplicated(["item_id", "annotator_id"]).sum()),
        "annotations.label not in classes": int((~annotations["label"].isin(classes)).sum()),
    }
    return bad
