"""Reads of the annotation app: the vote table, progress, queues and the quality figures.

The vote table is read with ``values_list`` on one join (label -> assignment) and labelled
through small lookup tables (items, categories, raters), so a million ratings never become
ORM objects.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import io
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Sum

from accounts.models import User
from annotation import agreement, quality
from annotation.access import projects_researched_by
from annotation.models import (
    Adjudication,
    Annotation,
    AnnotationLabel,
    Assignment,
    AssignmentStatus,
    Category,
    DisagreementRule,
    Exclusion,
    Item,
    LabelMode,
    LabelRole,
    Project,
    ProjectMember,
)

VOTE_COLUMNS = ["item", "voter", "label", "weight", "role", "group", "created", "seconds"]


def voter_key(user_id: int) -> str:
    """Pseudonymous, stable rater key: an HMAC of the user id under SECRET_KEY."""
    digest = hmac.new(
        settings.SECRET_KEY.encode(), f"annotation-rater:{user_id}".encode(), hashlib.sha256
    )
    return digest.hexdigest()[:16]


def projects_for_user(*, user: User) -> QuerySet[Project]:
    """Projects the user researches (through the study)."""
    return projects_researched_by(user=user).select_related("study").order_by("-created_at")


def memberships_for_user(*, user: User) -> list[dict[str, Any]]:
    """The user's project memberships with how much they have done and what is open."""
    members = list(
        ProjectMember.objects.filter(user=user).select_related("project").order_by("project_id")
    )
    done = dict(
        Assignment.objects.filter(rater=user, status=AssignmentStatus.DONE)
        .values_list("item__project_id")
        .annotate(n=Count("id"))
        .values_list("item__project_id", "n")
    )
    out = []
    for member in members:
        project = member.project
        open_items = Item.objects.filter(project=project, is_gold=False)
        if member.role == "expert":
            remaining = open_items.filter(expert_slots_taken__lt=F("expert_slots_total"))
        else:
            remaining = open_items.filter(slots_taken__lt=F("slots_total"))
        remaining = remaining.filter(
            ~Exists(Assignment.objects.filter(item=OuterRef("pk"), rater=user))
        ).count()
        out.append(
            {
                "project": project,
                "role": member.role,
                "done": done.get(project.pk, 0),
                "remaining": remaining,
            }
        )
    return out


def _group_of(project: Project) -> dict[int, str]:
    return {
        user_id: (group or role)
        for user_id, group, role in ProjectMember.objects.filter(project=project).values_list(
            "user_id", "group", "role"
        )
    }


def _lookup(pairs) -> pd.Series:
    rows = list(pairs)
    return pd.Series([v for _, v in rows], index=pd.Index([k for k, _ in rows], dtype="int64"))


def _csv_frame(sql: str, params: Any, names: list[str], dtype: dict[str, str]) -> pd.DataFrame:
    """Run a query and read its rows as one CSV text built by the database.

    ``string_agg`` turns a million rows into one value, so the client parses it in one go
    with pandas instead of building a Python object per row (several times faster than
    fetching tuples or iterating COPY rows).
    """
    columns = ", ".join(f"c{i}" for i in range(len(names)))
    fields = ", ".join(f"c{i}" for i in range(len(names)))
    pattern = ",".join(["%%s"] * len(names))
    wrapped = (
        f"SELECT string_agg(format('{pattern}', {fields}), E'\\n') FROM ({sql}) AS q({columns})"
    )
    with transaction.atomic(), connection.cursor() as cursor:
        # Hash joins over the answer tables stay in memory.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        cursor.execute(wrapped, params)
        text = cursor.fetchone()[0]
    if not text:
        return pd.DataFrame({name: pd.Series(dtype=dtype.get(name, "object")) for name in names})
    return pd.read_csv(
        io.StringIO(text), header=None, names=names, dtype=dtype, keep_default_na=False,
        na_values={n: [""] for n in names if dtype.get(n) is not str},
    )  # fmt: skip


def _metadata_frame(*, project: Project, item_ids: np.ndarray) -> pd.DataFrame | None:
    """Item metadata as columns, one row per entry of ``item_ids``."""
    if connection.vendor == "postgresql":
        sql = (
            "SELECT i.id, m.key, m.value FROM annotation_item i, jsonb_each_text(i.metadata) m "
            "WHERE i.project_id = %s AND jsonb_typeof(i.metadata) = 'object'"
        )
        long = _csv_frame(sql, [project.pk], ["item_id", "key", "value"],
                          {"item_id": "int64", "key": str, "value": str})  # fmt: skip
    else:
        long = pd.DataFrame.from_records(
            [
                (pk, str(k), "" if v is None else str(v))
                for pk, meta in Item.objects.filter(project=project).values_list("id", "metadata")
                for k, v in (meta or {}).items()
            ],
            columns=["item_id", "key", "value"],
        )
    long = long[~long["key"].isin(VOTE_COLUMNS)]
    if long.empty:
        return None
    wide = long.pivot(index="item_id", columns="key", values="value")
    for column in wide.columns:
        numbers = pd.to_numeric(wide[column], errors="coerce")
        if numbers.notna().sum() == wide[column].replace("", np.nan).notna().sum():
            wide[column] = numbers
    wide.columns.name = None
    return wide.reindex(item_ids).reset_index(drop=True)


def project_vote_table(
    *,
    project: Project,
    include_excluded: bool = False,
    metadata: bool = True,
    timing: bool = False,
) -> pd.DataFrame:
    """One row per (item, rater, label) of the project's answers.

    Columns: ``item`` (external id), ``voter`` (pseudonymous key), ``label`` (category key),
    ``weight`` (1.0), ``role`` (``primary``/``secondary``; multi-label choices are
    ``primary``), ``group`` (the rater's group, or their role when they have none),
    ``created`` (UTC time of the answer), with ``timing`` also ``seconds`` (time on item),
    plus one column per item metadata key. Raters with an active exclusion are left out
    unless ``include_excluded``.
    """
    names = ["item_id", "rater_id", "category_id", "role", "epoch", "time_ms"]
    if connection.vendor == "postgresql":
        # A label's annotation id is its assignment id, so the assignment joins directly; the
        # annotation row is only read for the time on item.
        sql = (
            "SELECT a.item_id, a.rater_id, l.category_id, l.role, "
            "extract(epoch FROM a.finished_at)::float8, "
            + ("an.time_ms " if timing else "NULL::integer ")
            + "FROM annotation_annotationlabel l "
            "JOIN annotation_assignment a ON a.id = l.annotation_id "
            + (
                "JOIN annotation_annotation an ON an.assignment_id = l.annotation_id "
                if timing
                else ""
            )
            + "WHERE a.item_id IN (SELECT id FROM annotation_item WHERE project_id = %s)"
        )
        params: list[Any] = [project.pk]
        if not include_excluded:
            sql += (
                " AND a.rater_id NOT IN (SELECT rater_id FROM annotation_exclusion "
                "WHERE project_id = %s AND active)"
            )
            params.append(project.pk)
        base = _csv_frame(
            sql,
            params,
            names,
            {"item_id": "int64", "rater_id": "int64", "category_id": "int64", "role": str,
             "epoch": "float64", "time_ms": "float64"},
        )  # fmt: skip
        base["created"] = pd.to_datetime(base["epoch"], unit="s", utc=True)
    else:
        labels = AnnotationLabel.objects.filter(annotation__assignment__item__project=project)
        if not include_excluded:
            excluded = Exclusion.objects.filter(project=project, active=True).values("rater_id")
            labels = labels.exclude(annotation__assignment__rater_id__in=excluded)
        rows = labels.values_list(
            "annotation__assignment__item_id",
            "annotation__assignment__rater_id",
            "category_id",
            "role",
            "annotation__assignment__finished_at",
            "annotation__time_ms",
        ).order_by()
        base = pd.DataFrame.from_records(list(rows), columns=names)
        base["created"] = pd.to_datetime(base["epoch"], utc=True)
    categories = _lookup(Category.objects.filter(project=project).values_list("id", "key"))
    items = _lookup(Item.objects.filter(project=project).values_list("id", "external_id"))
    groups = _group_of(project)
    raters = base["rater_id"].unique() if len(base) else np.array([], dtype=np.int64)
    keys = {int(r): voter_key(int(r)) for r in raters}
    role = base["role"].replace({LabelRole.LABEL: LabelRole.PRIMARY})
    table = pd.DataFrame(
        {
            "item": base["item_id"].map(items),
            "voter": base["rater_id"].map(keys),
            "label": base["category_id"].map(categories),
            "weight": 1.0,
            "role": role,
            "group": base["rater_id"].map(groups).fillna(""),
            "created": base["created"],
            "seconds": base["time_ms"] / 1000.0,
        },
        columns=VOTE_COLUMNS if timing else VOTE_COLUMNS[:-1],
    )
    if metadata and len(table):
        meta = _metadata_frame(project=project, item_ids=base["item_id"].to_numpy())
        if meta is not None:
            table = pd.concat([table, meta], axis=1)
    return table


def item_gold_table(*, project: Project) -> pd.DataFrame:
    rows = Item.objects.filter(project=project, is_gold=True, gold_label__isnull=False)
    return pd.DataFrame.from_records(
        list(rows.values_list("external_id", "gold_label__key")), columns=["item", "label"]
    )


def project_progress(*, project: Project) -> dict[str, Any]:
    """Counts for the progress bar: items, ratings wanted, done, leased, skipped."""
    items = Item.objects.filter(project=project)
    item_stats = items.aggregate(
        n_items=Count("id"),
        n_gold=Count("id", filter=Q(is_gold=True)),
    )
    sums = items.aggregate(a=Sum("slots_total"), b=Sum("expert_slots_total"))
    wanted = (sums["a"] or 0) + (sums["b"] or 0)
    status = dict(
        Assignment.objects.filter(item__project=project)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    done_pool = dict(
        Assignment.objects.filter(item__project=project, status=AssignmentStatus.DONE)
        .values_list("pool")
        .annotate(n=Count("id"))
        .values_list("pool", "n")
    )
    done_counted = done_pool.get("annotator", 0) + done_pool.get("expert", 0)
    n_complete = (
        items.filter(is_gold=False, slots_total__gt=0)
        .annotate(n_done=Count("assignments", filter=Q(assignments__status=AssignmentStatus.DONE)))
        .filter(n_done__gte=F("slots_total"))
        .count()
    )
    return {
        **item_stats,
        "ratings_wanted": wanted,
        "ratings_done": done_counted,
        "gold_done": done_pool.get("gold", 0),
        "leased": status.get(AssignmentStatus.LEASED, 0),
        "skipped": status.get(AssignmentStatus.SKIPPED, 0),
        "expired": status.get(AssignmentStatus.EXPIRED, 0),
        "items_complete": n_complete,
        "percent": round(100 * done_counted / wanted) if wanted else 0,
    }


def label_distribution(*, project: Project) -> list[dict[str, Any]]:
    """Per category: how often it was chosen as primary (or as a label) and as secondary."""
    counts = dict(
        (
            (cat, role),
            n,
        )
        for cat, role, n in AnnotationLabel.objects.filter(
            annotation__assignment__item__project=project
        )
        .values_list("category_id", "role")
        .annotate(n=Count("id"))
        .values_list("category_id", "role", "n")
        .order_by()
    )
    cats = list(project.categories.all())
    rows = []
    for c in cats:
        primary = counts.get((c.pk, LabelRole.PRIMARY), 0) + counts.get((c.pk, LabelRole.LABEL), 0)
        secondary = counts.get((c.pk, LabelRole.SECONDARY), 0)
        rows.append({"category": c, "primary": primary, "secondary": secondary})
    top = max([r["primary"] + r["secondary"] for r in rows] or [0]) or 1
    for r in rows:
        r["primary_pct"] = round(100 * r["primary"] / top)
        r["secondary_pct"] = round(100 * r["secondary"] / top)
    return rows


def _disagrees(labels: list[str], rule: str) -> bool:
    counts = Counter(labels)
    n = len(labels)
    top = max(counts.values())
    if rule == DisagreementRule.NOT_UNANIMOUS:
        return len(counts) > 1
    if rule == DisagreementRule.NO_PLURALITY:
        return sum(1 for v in counts.values() if v == top) > 1
    return top * 2 <= n  # no strict majority


def adjudication_queue(*, project: Project, limit: int = 200) -> list[dict[str, Any]]:
    """Items whose raters disagree under the project's rule and that nobody has decided yet.

    Only items with at least two answers count. For a multi-label schema a rater's "label" is
    their whole set of labels. Excluded raters' labels are left out.
    """
    excluded = set(
        Exclusion.objects.filter(project=project, active=True).values_list("rater_id", flat=True)
    )
    decided = Adjudication.objects.filter(item=OuterRef("pk"))
    item_ids = set(
        Item.objects.filter(project=project).filter(~Exists(decided)).values_list("id", flat=True)
    )
    per_rating: dict[tuple[int, int], list[str]] = {}
    rows = (
        AnnotationLabel.objects.filter(annotation__assignment__item__project=project)
        .exclude(role=LabelRole.SECONDARY)
        .values_list(
            "annotation__assignment__item_id", "annotation__assignment__rater_id", "category__key"
        )
        .order_by()
    )
    for item_id, rater_id, key in rows:
        if item_id in item_ids and rater_id not in excluded:
            per_rating.setdefault((item_id, rater_id), []).append(key)
    per_item: dict[int, list[str]] = {}
    for (item_id, _), keys in per_rating.items():
        per_item.setdefault(item_id, []).append("+".join(sorted(keys)))
    chosen = [
        item_id
        for item_id, labels in per_item.items()
        if len(labels) >= 2 and _disagrees(labels, project.disagreement_rule)
    ]
    items = {i.pk: i for i in Item.objects.filter(pk__in=sorted(chosen)[:limit])}
    return [
        {"item": items[pk], "labels": Counter(per_item[pk]).most_common()} for pk in sorted(items)
    ]


def item_labels_for_adjudication(*, item: Item) -> list[dict[str, Any]]:
    """Every answer on the item: rater, labels by role, ratings and comment."""
    annotations = (
        Annotation.objects.filter(assignment__item=item)
        .select_related("assignment__rater")
        .prefetch_related("labels__category")
        .order_by("created_at")
    )
    excluded = set(
        Exclusion.objects.filter(project_id=item.project_id, active=True).values_list(
            "rater_id", flat=True
        )
    )
    out = []
    for a in annotations:
        labels = sorted(a.labels.all(), key=lambda lab: (lab.role != LabelRole.PRIMARY, lab.id))
        out.append(
            {
                "annotation": a,
                "rater": a.assignment.rater,
                "excluded": a.assignment.rater_id in excluded,
                "primary": [lab.category for lab in labels if lab.role != LabelRole.SECONDARY],
                "secondary": [lab.category for lab in labels if lab.role == LabelRole.SECONDARY],
            }
        )
    return out


def annotator_table(*, project: Project, with_quality: bool = True) -> list[dict[str, Any]]:
    """One row per member: done, median seconds, gold accuracy, agreement, speed flag.

    ``with_quality=False`` leaves out the figures that read the whole vote table (for large
    projects, whose dashboard must stay quick).
    """
    members = list(
        ProjectMember.objects.filter(project=project).select_related("user").order_by("id")
    )
    done = dict(
        Assignment.objects.filter(item__project=project, status=AssignmentStatus.DONE)
        .values_list("rater_id")
        .annotate(n=Count("id"))
        .values_list("rater_id", "n")
    )
    stats: dict[str, dict[str, Any]] = {}
    votes = pd.DataFrame()
    if with_quality and project.mode != LabelMode.MULTI_LABEL:
        votes = project_vote_table(
            project=project, include_excluded=True, metadata=False, timing=True
        )
    roles = ("primary",)
    if len(votes):
        gold = item_gold_table(project=project)
        try:
            table = quality.annotator_quality(
                votes,
                gold=gold if len(gold) else None,
                duration_column="seconds" if votes["seconds"].notna().any() else None,
                roles=roles,
            )
            stats = {row["voter"]: row for row in table.to_dict("records")}
        except ValueError:
            stats = {}
    active = {e.rater_id: e for e in Exclusion.objects.filter(project=project, active=True)}
    rows = []
    for m in members:
        s = stats.get(voter_key(m.user_id), {})
        rows.append(
            {
                "member": m,
                "voter": voter_key(m.user_id),
                "done": done.get(m.user_id, 0),
                "median_seconds": _num(s.get("median_seconds")),
                "gold_accuracy": _num(s.get("gold_accuracy")),
                "agreement": _num(s.get("consensus_agreement")),
                "speed_flag": s.get("speed_flag") or "",
                "exclusion": active.get(m.user_id),
            }
        )
    return rows


def _num(value: Any) -> float | None:
    if value is None:
        return None
    try:
        f = float(value)
    except (TypeError, ValueError):
        return None
    return None if np.isnan(f) else f


def project_agreement(
    *, project: Project, n_boot: int = 200, seed: int = 0, votes: pd.DataFrame | None = None
) -> dict[str, Any]:
    """The agreement report of the project's vote table, as plain data for pages and the API.

    Nominal alpha (with a seeded bootstrap interval), Fleiss' kappa and per-category agreement
    on the primary labels; per-label alpha for multi-label schemas; interval alpha of each
    rating scale; alpha per annotator group and per week.
    """
    if votes is None:
        votes = project_vote_table(project=project, metadata=False)
    out: dict[str, Any] = {"n_votes": len(votes), "available": False}
    if votes.empty:
        out["note"] = "No answers yet."
        return out
    rng = np.random.default_rng(seed)
    try:
        if project.mode == LabelMode.MULTI_LABEL:
            per_label = agreement.per_label_alpha(votes, roles=None)
            out["per_label"] = _records(per_label)
            rows = votes.drop_duplicates(["item", "voter"])
            out["alpha"] = None
            out["n_items"] = int(rows["item"].nunique())
        else:
            report = agreement.agreement_report(votes, level="nominal", rng=rng, n_boot=n_boot)
            out["alpha"] = _num(report.alpha.alpha)
            out["alpha_ci"] = [_num(report.alpha.ci_low), _num(report.alpha.ci_high)]
            out["n_items"] = report.alpha.n_items
            out["fleiss_kappa"] = _num(report.fleiss_kappa)
            out["fleiss_kappa_note"] = report.fleiss_kappa_note
            out["per_category"] = _records(report.per_category)
            out["by_group"] = _records(report.by_group)
            out["over_time"] = _records(report.over_time)
    except ValueError as exc:
        out["note"] = str(exc)
        return out
    out["scales"] = _scale_alphas(project=project)
    out["available"] = True
    return out


def _scale_alphas(*, project: Project) -> list[dict[str, Any]]:
    if not project.scales:
        return []
    excluded = Exclusion.objects.filter(project=project, active=True).values("rater_id")
    rows = list(
        Annotation.objects.filter(assignment__item__project=project)
        .exclude(assignment__rater_id__in=excluded)
        .values_list("assignment__item_id", "assignment__rater_id", "ratings")
    )
    out = []
    for scale in project.scales:
        key = scale["key"]
        records = [(i, r, v[key]) for i, r, v in rows if isinstance(v, dict) and key in v]
        entry: dict[str, Any] = {
            "key": key,
            "name": scale["name"],
            "alpha": None,
            "n": len(records),
        }
        if records:
            frame = pd.DataFrame.from_records(records, columns=["item", "voter", "label"])
            with contextlib.suppress(ValueError):
                entry["alpha"] = _num(agreement.krippendorff_alpha(frame, level="interval"))
        out.append(entry)
    return out


def _records(frame: pd.DataFrame | None) -> list[dict[str, Any]] | None:
    if frame is None:
        return None
    out = []
    for row in frame.to_dict("records"):
        clean = {}
        for k, v in row.items():
            if isinstance(v, pd.Timestamp):
                clean[str(k)] = v.isoformat()
            elif isinstance(v, (float, np.floating)):
                clean[str(k)] = _num(v)
            elif isinstance(v, np.integer):
                clean[str(k)] = int(v)
            else:
                clean[str(k)] = v
        out.append(clean)
    return out


def own_annotations(*, project: Project, user: User) -> QuerySet[Annotation]:
    """The rater's own answers (annotators never see anyone else's)."""
    return (
        Annotation.objects.filter(assignment__rater=user, assignment__item__project=project)
        .select_related("assignment__item")
        .prefetch_related("labels__category")
        .order_by("-created_at")
    )


def project_annotations(*, project: Project) -> QuerySet[Annotation]:
    return (
        Annotation.objects.filter(assignment__item__project=project)
        .select_related("assignment__item", "assignment__rater")
        .prefetch_related("labels__category")
        .order_by("-created_at")
    )


# Up to this many labels the dashboard computes agreement while the page loads; beyond it the
# report comes from the latest agreement job.
LIVE_AGREEMENT_LIMIT = 50_000


def latest_agreement_job(*, project: Project):
    from jobs.models import Job

    return (
        Job.objects.filter(kind="annotation_agreement", params__project=project.pk)
        .order_by("-created_at")
        .first()
    )


def label_count(*, project: Project) -> int:
    return AnnotationLabel.objects.filter(annotation__assignment__item__project=project).count()
