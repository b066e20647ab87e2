"""Uploaded predictions: parsed, checked against the frozen version, stored with their run.

A predictions file (CSV or JSONL) has an ``item`` column and the model's answer in one of
these forms:

- ``label``: one category (or, for a survey question, the chosen option code; ``option`` is
  accepted as its other name);
- ``labels``: a set of categories (JSON list, or categories joined by ``|``);
- ``probs``: a probability per category (JSON list in the dataset's category order, or a
  JSON object by category; for a question, by option), or one column ``p.<category>`` each.

Unknown items and columns, categories or options that do not exist, probability rows that are
negative or do not sum to 1 (within 0.001) and repeated items are refused with the row at
fault, and nothing is stored; items the file leaves out are counted and reported.
"""

from __future__ import annotations

import math
from pathlib import PurePosixPath
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.models import User
from benchmarks.models import Dataset, Version
from benchmarks.selectors import version_contents, version_item_keys
from config.inputs import JSONTooDeep, csv_dict_rows, json_loads
from evaluation.models import Prediction, Run, RunKind, RunStatus

PREDICTION_FORMATS = {".csv": "csv", ".jsonl": "jsonl"}
ANSWER_COLUMNS = ("label", "option", "labels", "probs")
PROB_PREFIX = "p."
PROB_TOLERANCE = 1e-3
MAX_LIST = 200


class PredictionError(ValidationError):
    pass


def _fail(message: str) -> PredictionError:
    return PredictionError({"file": [message]})


def _read(raw: bytes, fmt: str) -> list[dict[str, Any]]:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _fail(_("The file is not UTF-8 text (%(reason)s).") % {"reason": exc.reason}) from exc
    if fmt == "csv":
        # The shared reader bounds every cell (IMPORT_CSV_FIELD_MAX_CHARS) and names the line.
        _header, pairs = csv_dict_rows(text, field="file")
        for line, row in pairs:
            if None in row:
                raise _fail(_("Line %(line)s: more cells than columns.") % {"line": line})
        return [row for _line, row in pairs]
    rows = []
    for number, json_line in enumerate(text.splitlines(), start=1):
        if not json_line.strip():
            continue
        try:
            row = json_loads(json_line)
        except JSONTooDeep as exc:
            raise _fail(_("Line %(line)s: %(exc)s.") % {"line": number, "exc": exc}) from exc
        except ValueError as exc:
            raise _fail(
                _("Line %(line)s: not JSON (%(exc)s).") % {"line": number, "exc": exc}
            ) from exc
        if not isinstance(row, dict):
            raise _fail(_("Line %(line)s: each line must be a JSON object.") % {"line": number})
        rows.append(row)
    return rows


def _as_list(value: Any, row: int, column: str) -> list[Any]:
    if isinstance(value, list):
        return value
    if isinstance(value, str):
        value = value.strip()
        if value.startswith("["):
            try:
                parsed = json_loads(value)
            except ValueError:
                raise _fail(
                    _("Row %(row)s: %(column)s is not a JSON list.")
                    % {"row": row, "column": column}
                ) from None
            if isinstance(parsed, list):
                return parsed
        return [v for v in value.split("|") if v]
    raise _fail(_("Row %(row)s: %(column)s must be a list.") % {"row": row, "column": column})


def _probabilities(value: Any, names: list[str], row: int) -> list[float]:
    """A probability per name, from a list in their order or an object keyed by name."""
    if isinstance(value, str):
        try:
            value = json_loads(value)
        except ValueError:
            raise _fail(
                _("Row %(row)s: probs is not JSON (a list or an object).") % {"row": row}
            ) from None
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise _fail(
                _("Row %(row)s: probs names %(name)r, which is not one of %(names)s.")
                % {"row": row, "name": unknown[0], "names": names}
            )
        value = [value.get(n, 0.0) for n in names]
    if not isinstance(value, list) or len(value) != len(names):
        raise _fail(
            _("Row %(row)s: probs must give %(n)s numbers (%(names)s).")
            % {"row": row, "n": len(names), "names": ", ".join(names)}
        )
    try:
        probs = [float(v) for v in value]
    except (TypeError, ValueError):
        raise _fail(_("Row %(row)s: probs must be numbers.") % {"row": row}) from None
    if any(not math.isfinite(p) or p < 0 for p in probs):
        raise _fail(_("Row %(row)s: probabilities must be finite and non-negative.") % {"row": row})
    total = sum(probs)
    if abs(total - 1.0) > PROB_TOLERANCE:
        raise _fail(
            _("Row %(row)s: the probabilities sum to %(total)s, not 1.")
            % {"row": row, "total": f"{total:.6g}"}
        )
    return probs


def parse_predictions(
    *, version: Version, raw: bytes, file_name: str
) -> tuple[list[Prediction], dict[str, Any]]:
    """Check a predictions file against a version; returns unsaved rows and a report."""
    fmt = PREDICTION_FORMATS.get(PurePosixPath(file_name.lower()).suffix)
    if fmt is None:
        raise _fail(_("Upload a .csv or .jsonl predictions file."))
    rows = _read(raw, fmt)
    if not rows:
        raise _fail(_("The file has no predictions."))
    categories = list(version.categories)
    columns = set().union(*(r.keys() for r in rows))
    prob_cols = sorted(c for c in columns if str(c).startswith(PROB_PREFIX))
    unknown = sorted(
        str(c) for c in columns if c not in ("item", *ANSWER_COLUMNS) and c not in prob_cols
    )
    if unknown:
        raise _fail(
            _(
                "Unknown column %(column)r: use item, label (or option), labels, probs or "
                "%(prefix)s<category>."
            )
            % {"column": unknown[0], "prefix": PROB_PREFIX}
        )
    if "item" not in columns:
        raise _fail(_("The file needs an 'item' column."))
    if not (columns & set(ANSWER_COLUMNS)) and not prob_cols:
        raise _fail(_("Give each item's answer: label, option, labels, probs or p.<category>."))
    bad_prob = [c for c in prob_cols if c[len(PROB_PREFIX) :] not in categories]
    if bad_prob:
        raise _fail(
            _("%(column)s: %(category)r is not a category.")
            % {"column": bad_prob[0], "category": bad_prob[0][len(PROB_PREFIX) :]}
        )

    keys = version_item_keys(version=version)
    known = set(keys)
    contents = version_contents(version=version)
    options: dict[str, list[str]] = {}
    if contents is not None and "options" in contents.columns:
        for key, opts in zip(contents["item"], contents["options"], strict=True):
            if opts is not None and len(opts):
                options[str(key)] = [str(o) for o in opts]

    predictions: list[Prediction] = []
    seen: set[str] = set()
    unknown_items: list[str] = []
    for number, row in enumerate(rows, start=1):
        item = str(row.get("item") or "").strip()
        if not item:
            raise _fail(_("Row %(row)s: item is empty.") % {"row": number})
        if item not in known:
            unknown_items.append(item)
            continue
        if item in seen:
            raise _fail(
                _("Row %(row)s: item %(item)r is given twice.") % {"row": number, "item": item}
            )
        seen.add(item)
        names = options.get(item, categories)
        label = str(row.get("label") or row.get("option") or "").strip()
        if label and label not in names:
            if item in options:
                message = _("Row %(row)s: %(label)r is not an option of item %(item)r (%(names)s).")
            else:
                message = _(
                    "Row %(row)s: %(label)r is not a category of item %(item)r (%(names)s)."
                )
            raise _fail(message % {"row": number, "label": label, "item": item, "names": names})
        labels = None
        if row.get("labels") not in (None, ""):
            labels = [str(v) for v in _as_list(row["labels"], number, "labels")][:MAX_LIST]
            wrong = [v for v in labels if v not in names]
            if wrong:
                raise _fail(
                    _("Row %(row)s: %(label)r is not a category of item %(item)r.")
                    % {"row": number, "label": wrong[0], "item": item}
                )
        probs = None
        if row.get("probs") not in (None, ""):
            probs = _probabilities(row["probs"], names, number)
        elif prob_cols and any(row.get(c) not in (None, "") for c in prob_cols):
            given = {c[len(PROB_PREFIX) :]: row.get(c) or 0.0 for c in prob_cols}
            probs = _probabilities(given, names, number)
        if not label and probs is not None and labels is None:
            label = names[max(range(len(probs)), key=probs.__getitem__)]
        if not label and labels is None:
            raise _fail(
                _("Row %(row)s: item %(item)r has no answer.") % {"row": number, "item": item}
            )
        predictions.append(Prediction(item=item, label=label, labels=labels, probs=probs))
    if unknown_items:
        shown = ", ".join(repr(k) for k in unknown_items[:5])
        more = ", ..." if len(unknown_items) > 5 else ""
        raise _fail(
            _("%(n)s item(s) are not in version %(version)s: %(items)s.")
            % {"n": len(unknown_items), "version": version.number, "items": shown + more}
        )
    missing = [k for k in keys if k not in seen]
    report = {
        "n_items": len(keys),
        "n_predicted": len(predictions),
        "n_missing": len(missing),
        "missing": missing[:20],
    }
    return predictions, report


def run_upload(
    *,
    dataset: Dataset,
    version: Version,
    user: User | None,
    name: str,
    raw: bytes,
    file_name: str,
) -> Run:
    """Store uploaded predictions as a run and score it, in one transaction.

    Raises ``ValidationError`` (``name`` or ``file``) and stores nothing on bad input.
    """
    from evaluation.services.scoring import score_predictions

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": [_("Name the model.")]})
    if Run.objects.filter(version=version, name=name).exists():
        raise ValidationError(
            {
                "name": [
                    _("Version %(number)s already has a run %(name)r.")
                    % {"number": version.number, "name": name}
                ]
            }
        )
    predictions, report = parse_predictions(version=version, raw=raw, file_name=file_name)
    with transaction.atomic():
        run = Run.objects.create(
            dataset=dataset,
            version=version,
            name=name[:200],
            kind=RunKind.UPLOAD,
            status=RunStatus.DONE,
            n_items=report["n_items"],
            n_predicted=report["n_predicted"],
            created_by=user,
        )
        for p in predictions:
            p.run = run
        Prediction.objects.bulk_create(predictions, batch_size=2000)
        run.scores = score_predictions(version=version, predictions=_frame(predictions))
        run.scores["report"] = report
        run.save(update_fields=["scores"])
    return run


def _frame(predictions: list[Prediction]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item": [p.item for p in predictions],
            "label": [p.label or None for p in predictions],
            "labels": [p.labels for p in predictions],
            "probs": [p.probs for p in predictions],
        }
    )
