"""Reads of the annotation app: the vote table, progress, queues and the quality figures.

On PostgreSQL the vote table is read as packed binary columns (two queries, see
:func:`_pg_vote_rows`), elsewhere with ``values_list``; the integer ids are labelled through
small lookup tables (items, categories, raters), so a million ratings never become ORM
objects.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
from django.db import connection, transaction
from django.db.models import Count, F, Q, QuerySet, Subquery, Sum

from accounts.models import InvitationStatus, User
from annotation import agreement, bulk, quality
from annotation.models import (
    Adjudication,
    Annotation,
    AnnotationLabel,
    Assignment,
    AssignmentStatus,
    Category,
    DisagreementRule,
    Exclusion,
    ImportedRating,
    Item,
    LabelMode,
    LabelRole,
    MemberRole,
    Pool,
    Project,
    ProjectInvitation,
    ProjectMember,
)
from sources import pseudonyms

VOTE_COLUMNS = ["item", "voter", "label", "weight", "role", "group", "created", "seconds"]


def voter_key(user_id: int) -> str:
    """Pseudonymous, stable rater key (:func:`sources.pseudonyms.voter_key` of the user id)."""
    return pseudonyms.voter_key("annotation-rater", user_id)


def project_invitations_for(*, user: User) -> QuerySet[ProjectInvitation]:
    """The project invitations waiting for ``user``'s answer."""
    if not user.is_authenticated:
        return ProjectInvitation.objects.none()
    return ProjectInvitation.objects.filter(
        user=user, status=InvitationStatus.PENDING
    ).select_related("project__study", "invited_by")


def project_member_of(*, project: Project, user: User) -> ProjectMember | None:
    return ProjectMember.objects.filter(project=project, user=user).first()


def project_pending_invitations(*, project: Project) -> QuerySet[ProjectInvitation]:
    return project.invitations.filter(status=InvitationStatus.PENDING).select_related("user")


def memberships_for_user(*, user: User, project: Project | None = None) -> list[dict[str, Any]]:
    """The user's project memberships with how much they have done and what is open; with
    ``project``, that membership only (the annotate page, loaded once per rating)."""
    memberships = ProjectMember.objects.filter(user=user)
    if project is not None:
        memberships = memberships.filter(project=project)
    members = list(memberships.select_related("project").order_by("project_id"))
    # In one pass over the projects' items: what the rater answered, what they hold on a
    # lease (theirs to do as well; one assignment per rater and item), and what is still open
    # to them in the pool of their role in each project (experts have slots of their own).
    # Their assignments and imported ratings are uncorrelated subqueries that the database
    # reads once into a hash, not a lookup per item (0.8 s for a project of 100,000 items).
    mine = Assignment.objects.filter(rater=user)
    expert_projects = [m.project_id for m in members if m.role == MemberRole.EXPERT]
    has_slot = Q(project_id__in=expert_projects, expert_slots_taken__lt=F("expert_slots_total"))
    has_slot |= ~Q(project_id__in=expert_projects) & Q(slots_taken__lt=F("slots_total"))
    is_open = has_slot & Q(is_gold=False) & ~Q(pk__in=mine.values("item_id"))
    if user.imported_for_id is not None:
        # Only the accounts a ratings import made have imported ratings (an import refuses
        # any other account); reading them costs a pass over that table, so people skip it.
        is_open &= ~Q(pk__in=ImportedRating.objects.filter(rater=user).values("item_id"))

    def answered(status: str) -> Q:
        return Q(pk__in=mine.filter(status=status).values("item_id"))

    rows = (
        Item.objects.filter(project_id__in=[m.project_id for m in members])
        .values("project_id")
        .annotate(
            done=Count("id", filter=answered(AssignmentStatus.DONE)),
            leased=Count("id", filter=answered(AssignmentStatus.LEASED)),
            open=Count("id", filter=is_open),
        )
        .order_by()
    )
    counts = {row["project_id"]: (row["done"], row["leased"], row["open"]) for row in rows}
    out = []
    for member in members:
        done, leased, still_open = counts.get(member.project_id, (0, 0, 0))
        out.append(
            {
                "project": member.project,
                "role": member.role,
                "done": done,
                "remaining": still_open + leased,
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


def _pg_metadata_wide(*, project: Project) -> pd.DataFrame | None:
    """Item metadata, one row per item (index: item id) and one text column per key.

    The keys are read first, then one column per key (``->>``); a JSON null reads as "".
    """
    objects = "FROM annotation_item WHERE project_id = %s AND jsonb_typeof(metadata) = 'object'"
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(DISTINCT k) FROM (SELECT jsonb_object_keys(metadata) AS k "
            + objects
            + ") keys",
            [project.pk],
        )
        keys = sorted(k for k in (cursor.fetchone()[0] or []) if k not in VOTE_COLUMNS)
        if not keys:
            return None
        values = ", ".join(
            ["CASE WHEN metadata ? %s THEN coalesce(metadata ->> %s, '') END"] * len(keys)
        )
        cursor.execute(
            f"SELECT id, {values} {objects}",
            [v for k in keys for v in (k, k)] + [project.pk],
        )
        rows = cursor.fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [()] * (len(keys) + 1)
    return pd.DataFrame(
        {key: pd.Series(columns[n + 1], dtype="str") for n, key in enumerate(keys)}
    ).set_axis(pd.Index(columns[0], dtype="int64", name="item_id"))


def _metadata_frame(*, project: Project, item_ids: np.ndarray) -> pd.DataFrame | None:
    """Item metadata as columns, one row per entry of ``item_ids``."""
    if connection.vendor == "postgresql":
        wide = _pg_metadata_wide(project=project)
        if wide is None:
            return None
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
        # Numeric when every non-empty value reads as a number: checked on the distinct values.
        distinct = pd.Series([v for v in wide[column].dropna().unique() if v != ""], dtype=object)
        if pd.to_numeric(distinct, errors="coerce").notna().all():
            wide[column] = pd.to_numeric(wide[column], errors="coerce")
    wide.columns.name = None
    return wide.reindex(item_ids).reset_index(drop=True)


_PG_INFINITY = np.iinfo(np.int64).max
_NO_TIME = np.iinfo(np.int64).min


def _pg_bytes(cursor, sql: str, params: list[Any]) -> bytes:
    """Run a query returning one ``bytea`` aggregate and return its bytes (b"" for none).

    The value comes in binary (no hex text to decode) through a server-binding psycopg cursor
    on the same connection, so inside the caller's transaction.
    """
    import psycopg

    with psycopg.Cursor(cursor.connection) as binary:
        binary.execute(sql, params, binary=True)
        row = binary.fetchone()
    # An aggregate returns one row, NULL when nothing matched.
    value = row[0] if row is not None else None
    return bytes(value) if value else b""


def _pg_vote_rows(*, project: Project, include_excluded: bool, timing: bool) -> pd.DataFrame:
    """The label rows of the vote table as integer columns, read in three packed queries.

    Each query returns one ``bytea`` made of fixed-width big-endian binary values per row
    (``int8send``, ``timestamptz_send``), which numpy reads as an array without parsing: the
    answers of the project (assignment id, item, rater, finish time, time on item), the
    labels in the answers' id range and the imported ratings (already flat). The label ->
    answer join is done here with a sorted search, which also drops labels outside the
    project or of excluded raters.
    """
    time_param: list[Any] = [_NO_TIME] if timing else []
    # Both the answers and the imported ratings: the project's items, raters not excluded.
    scope = "WHERE {0}.item_id IN (SELECT id FROM annotation_item WHERE project_id = %s)"
    if not include_excluded:
        scope += (
            " AND {0}.rater_id NOT IN (SELECT rater_id FROM annotation_exclusion "
            "WHERE project_id = %s AND active)"
        )
    scope_params = [project.pk] * (1 if include_excluded else 2)
    answers_sql = (
        "SELECT string_agg(int8send(a.id) || int8send(a.item_id) || int8send(a.rater_id) || "
        "timestamptz_send(coalesce(a.finished_at, 'infinity'))"
        + (" || int8send(coalesce(an.time_ms::int8, %s))" if timing else "")
        + ", ''::bytea) FROM annotation_assignment a "
        + ("LEFT JOIN annotation_annotation an ON an.assignment_id = a.id " if timing else "")
        + scope.format("a")
    )
    params = time_param + scope_params
    labels_sql = (
        "SELECT string_agg(int8send(l.annotation_id) || int8send(l.category_id) || "
        "int2send(CASE WHEN l.role = 'secondary' THEN 1 ELSE 0 END::int2), ''::bytea) "
        "FROM annotation_annotationlabel l WHERE l.annotation_id BETWEEN %s AND %s"
    )
    imported_sql = (
        "SELECT string_agg(int8send(r.item_id) || int8send(r.rater_id) || "
        "timestamptz_send(r.created_at)"
        + (" || int8send(coalesce(r.time_ms::int8, %s))" if timing else "")
        + " || int8send(r.category_id) || "
        "int8send(CASE WHEN r.role = 'secondary' THEN 1 ELSE 0 END), ''::bytea) "
        f"FROM {ImportedRating._meta.db_table} r " + scope.format("r")
    )
    imported_params = time_param + scope_params
    width = 5 if timing else 4
    with transaction.atomic(), connection.cursor() as cursor:
        # The semi-join with the project's items stays in memory.
        cursor.execute("SET LOCAL work_mem = '128MB'")
        raw = cursor.cursor
        answers = (
            np.frombuffer(_pg_bytes(raw, answers_sql, params), dtype=">i8")
            .reshape(-1, width)
            .astype(np.int64)
        )
        if len(answers):
            span = [int(answers[:, 0].min()), int(answers[:, 0].max())]
            packed = _pg_bytes(raw, labels_sql, span)
        else:
            packed = b""
        imported_bytes = _pg_bytes(raw, imported_sql, imported_params)
    imported = np.frombuffer(imported_bytes, dtype=">i8").reshape(-1, width + 1).astype(np.int64)
    labels = np.frombuffer(packed, dtype=[("answer", ">i8"), ("category", ">i8"), ("role", ">i2")])
    ids = answers[:, 0]
    # A sequential scan usually returns the answers in id order already.
    if len(ids) > 1 and not (ids[1:] > ids[:-1]).all():
        order = np.argsort(ids, kind="stable")
    else:
        order = np.arange(len(ids))
    sorted_ids = answers[order, 0]
    at = np.searchsorted(sorted_ids, labels["answer"])
    at = np.minimum(at, max(len(sorted_ids) - 1, 0))
    found = sorted_ids[at] == labels["answer"] if len(sorted_ids) else np.zeros(0, dtype=bool)
    rows = answers[order[at[found]]] if len(sorted_ids) else answers[:0]
    labels = labels[found]
    # Imported ratings: item, rater, time, [time on item,] category, role -> the same layout.
    rows = np.concatenate([rows[:, 1:], imported[:, :-2]])
    category_ids = np.concatenate([labels["category"].astype(np.int64), imported[:, -2]])
    role_codes = np.concatenate([labels["role"].astype(np.intp), imported[:, -1].astype(np.intp)])
    stamps = rows[:, 2]
    created = pd.Series(
        pd.to_datetime(np.where(stamps == _PG_INFINITY, 0, stamps + bulk.PG_EPOCH_US), unit="us",
                       utc=True).astype("datetime64[ns, UTC]")
    )  # fmt: skip
    created[stamps == _PG_INFINITY] = pd.NaT
    if timing:
        time_ms = rows[:, 3].astype(np.float64)
        time_ms[rows[:, 3] == _NO_TIME] = np.nan
    else:
        time_ms = np.full(len(rows), np.nan)
    role = pd.Series([LabelRole.PRIMARY.value, LabelRole.SECONDARY.value], dtype="str")
    return pd.DataFrame(
        {
            "item_id": rows[:, 0],
            "rater_id": rows[:, 1],
            "category_id": category_ids,
            "role": role.take(role_codes).reset_index(drop=True),
            "time_ms": time_ms,
            "created": created,
        }
    )


def _take(lookup: pd.Series, ids: pd.Series) -> pd.Series:
    """``ids.map(lookup)`` as a positional take (much faster over a million rows)."""
    pos = lookup.index.get_indexer(pd.Index(ids.to_numpy(), copy=False))
    if not len(ids) or (pos < 0).any():
        return ids.map(lookup)
    return lookup.iloc[pos].set_axis(ids.index)


def _vote_rows(*, project: Project, include_excluded: bool, timing: bool) -> pd.DataFrame:
    """The vote table's rows as ids: item_id, rater_id, category_id, role, time_ms, created."""
    names = ["item_id", "rater_id", "category_id", "role", "epoch", "time_ms"]
    if connection.vendor == "postgresql":
        return _pg_vote_rows(project=project, include_excluded=include_excluded, timing=timing)
    labels = AnnotationLabel.objects.filter(annotation__assignment__item__project=project)
    excluded = Exclusion.objects.filter(project=project, active=True).values("rater_id")
    if not include_excluded:
        labels = labels.exclude(annotation__assignment__rater_id__in=excluded)
    rows = labels.values_list(
        "annotation__assignment__item_id",
        "annotation__assignment__rater_id",
        "category_id",
        "role",
        "annotation__assignment__finished_at",
        "annotation__time_ms",
    ).order_by()
    imported = ImportedRating.objects.filter(item__project=project)
    if not include_excluded:
        imported = imported.exclude(rater_id__in=excluded)
    imported_rows = imported.values_list(
        "item_id", "rater_id", "category_id", "role", "created_at", "time_ms"
    ).order_by()
    base = pd.DataFrame.from_records(list(rows) + list(imported_rows), columns=names)
    base["created"] = pd.to_datetime(base["epoch"], utc=True)
    return base


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
    base = _vote_rows(project=project, include_excluded=include_excluded, timing=timing)
    categories = _lookup(Category.objects.filter(project=project).values_list("id", "key"))
    with connection.cursor() as cursor:
        # A hundred thousand pairs: plain rows are several times cheaper than the ORM's.
        cursor.execute(
            "SELECT id, external_id FROM annotation_item WHERE project_id = %s", [project.pk]
        )
        items = _lookup(cursor.fetchall())
    groups = _group_of(project)
    raters = base["rater_id"].unique() if len(base) else np.array([], dtype=np.int64)
    keys = _lookup((int(r), voter_key(int(r))) for r in raters)
    role = base["role"].replace({LabelRole.LABEL: LabelRole.PRIMARY})
    table = pd.DataFrame(
        {
            "item": _take(items, base["item_id"]),
            "voter": _take(keys, base["rater_id"]),
            "label": _take(categories, base["category_id"]),
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


def assignment_counts(*, project: Project) -> Counter[tuple[int, str, str]]:
    """How many assignments of the project each rater has, by status and pool:
    ``{(rater_id, status, pool): n}`` (one query for the progress and the annotator table)."""
    return Counter(
        {
            (rater_id, status, pool): n
            for rater_id, status, pool, n in Assignment.objects.filter(item__project=project)
            .values_list("rater_id", "status", "pool")
            .annotate(n=Count("id"))
            .values_list("rater_id", "status", "pool", "n")
            .order_by()
        }
    )


def project_progress(
    *,
    project: Project,
    assignments: Counter[tuple[int, str, str]] | None = None,
    imported_answers: Counter[tuple[int, bool]] | None = None,
) -> dict[str, Any]:
    """Counts for the progress bar: items, ratings wanted, done, leased, skipped.
    ``assignments`` and ``imported_answers`` (:func:`assignment_counts`,
    :func:`imported_answer_counts`) when the caller has them already."""
    # Complete: every one of the k slots taken (slots count leases, answers given here and
    # imported answers) and none of them an open lease.
    leased = Assignment.objects.filter(
        item__project=project, pool=Pool.ANNOTATOR, status=AssignmentStatus.LEASED
    ).values("item_id")
    complete = Q(is_gold=False, slots_total__gt=0, slots_taken__gte=F("slots_total")) & ~Q(
        pk__in=leased
    )
    item_stats = Item.objects.filter(project=project).aggregate(
        n_items=Count("id"),
        n_gold=Count("id", filter=Q(is_gold=True)),
        a=Sum("slots_total"),
        b=Sum("expert_slots_total"),
        n_complete=Count("id", filter=complete),
    )
    expert_wanted = item_stats.pop("b") or 0
    wanted = (item_stats.pop("a") or 0) + expert_wanted
    if assignments is None:
        assignments = assignment_counts(project=project)
    status: Counter[str] = Counter()
    done_pool: Counter[str] = Counter()
    for (_rater, state, pool), n in assignments.items():
        status[state] += n
        if state == AssignmentStatus.DONE:
            done_pool[pool] += n
    if imported_answers is None:
        imported_answers = imported_answer_counts(project=project)
    imported = {"counted": 0, "gold": 0}
    for (_rater, is_gold), n in imported_answers.items():
        imported["gold" if is_gold else "counted"] += n
    done_counted = done_pool.get("annotator", 0) + done_pool.get("expert", 0) + imported["counted"]
    n_complete = item_stats.pop("n_complete")
    return {
        **item_stats,
        "ratings_wanted": wanted,
        "ratings_done": done_counted,
        "ratings_imported": imported["counted"] + imported["gold"],
        "gold_done": done_pool.get("gold", 0) + imported["gold"],
        "expert_done": done_pool.get("expert", 0),
        "expert_wanted": expert_wanted,
        "leased": status.get(AssignmentStatus.LEASED, 0),
        "skipped": status.get(AssignmentStatus.SKIPPED, 0),
        "expired": status.get(AssignmentStatus.EXPIRED, 0),
        "items_complete": n_complete,
        "percent": round(100 * done_counted / wanted) if wanted else 0,
    }


def _imported_answer_rows(project: Project) -> str:
    """SQL for one row per imported answer of the project (``r``: item_id, rater_id).

    Outside multi-label schemas every answer has exactly one primary label (the import
    checks it), so its primary row stands for it and no DISTINCT is needed.
    """
    table = ImportedRating._meta.db_table
    if project.mode == LabelMode.MULTI_LABEL:
        return f"(SELECT DISTINCT item_id, rater_id FROM {table}) r"
    return f"(SELECT item_id, rater_id FROM {table} WHERE role = 'primary') r"


def imported_answer_counts(*, project: Project) -> Counter[tuple[int, bool]]:
    """How many imported answers (item and rater) the project holds, per rater and by gold
    or not: ``{(rater_id, is_gold): n}`` (one query for the progress and the annotator
    table)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT r.rater_id, i.is_gold, count(*) FROM {_imported_answer_rows(project)} "
            "JOIN annotation_item i ON i.id = r.item_id WHERE i.project_id = %s "
            "GROUP BY r.rater_id, i.is_gold",
            [project.pk],
        )
        return Counter({(rater_id, bool(gold)): n for rater_id, gold, n in cursor.fetchall()})


def project_categories(*, project: Project) -> list[Category]:
    """The project's categories in their order."""
    return list(project.categories.all())


def label_tallies(*, project: Project) -> Counter[tuple[int, str]]:
    """How many labels of the project (given here and imported) each category has, by role:
    ``{(category_id, role): n}``. Their sum is :func:`label_count`."""
    counts: Counter[tuple[int, str]] = Counter()
    live = (
        AnnotationLabel.objects.filter(annotation__assignment__item__project=project)
        .values_list("category_id", "role")
        .annotate(n=Count("id"))
        .values_list("category_id", "role", "n")
        .order_by()
    )
    imported = (
        ImportedRating.objects.filter(item__project=project)
        .values_list("category_id", "role")
        .annotate(n=Count("item_id"))
        .values_list("category_id", "role", "n")
        .order_by()
    )
    for cat, role, n in [*live, *imported]:
        counts[(cat, role)] += n
    return counts


def label_distribution(
    *,
    project: Project,
    tallies: Counter[tuple[int, str]] | None = None,
    categories: list[Category] | None = None,
) -> list[dict[str, Any]]:
    """Per category: how often it was chosen as primary (or as a label) and as secondary.
    ``tallies`` (:func:`label_tallies`) and ``categories`` when the caller has them."""
    counts = label_tallies(project=project) if tallies is None else tallies
    cats = project_categories(project=project) if categories is None else categories
    rows: list[dict[str, Any]] = []
    for c in cats:
        primary = counts.get((c.pk, LabelRole.PRIMARY), 0) + counts.get((c.pk, LabelRole.LABEL), 0)
        secondary = counts.get((c.pk, LabelRole.SECONDARY), 0)
        rows.append({"category": c, "primary": primary, "secondary": secondary})
    top = max([r["primary"] + r["secondary"] for r in rows] or [0]) or 1
    for r in rows:
        r["primary_pct"] = round(100 * r["primary"] / top)
        r["secondary_pct"] = round(100 * r["secondary"] / top)
    return rows


def adjudication_queue(
    *, project: Project, limit: int = 200, categories: list[Category] | None = None
) -> list[dict[str, Any]]:
    """Items whose raters disagree under the project's rule and that nobody has decided yet.

    Only items with at least two answers count. For a multi-label schema a rater's "label" is
    their whole set of labels (keys joined by "+"). Excluded raters' labels are left out. The
    rules, over the answers' labels of one item: ``not_unanimous`` (more than one distinct
    label), ``no_plurality`` (two or more labels share the top count), ``no_majority`` (the
    top label has at most half of the answers). Read as id columns and counted with pandas,
    so a million ratings take a second or two. Each entry lists the labels with their counts,
    most frequent first (ties by key). ``categories``: the project's, in their order, when
    the caller has read them.
    """
    base = _vote_rows(project=project, include_excluded=False, timing=False)
    base = base[base["role"] != LabelRole.SECONDARY]
    decided = Adjudication.objects.filter(item__project=project).values_list("item_id", flat=True)
    base = base[~base["item_id"].isin(list(decided))]
    if base.empty:
        return []
    if categories is None:
        categories = project_categories(project=project)
    rows = [(c.pk, c.key) for c in categories]
    if len(rows) <= 62:
        # Each answer's set of labels as a bit mask (one bit per category), so answers group
        # and compare as integers; the masks are spelled out as keys only at the end.
        bit = pd.Series(
            np.left_shift(1, np.arange(len(rows), dtype=np.int64)), index=[pk for pk, _ in rows]
        )
        masks = (
            base.assign(bit=_take(bit, base["category_id"]).to_numpy())
            .groupby(["item_id", "rater_id"], sort=False)["bit"]
            .sum()
        )
        counts = masks.groupby(level="item_id").value_counts().rename("n").reset_index()
        spelled = {
            int(mask): "+".join(sorted(k for b, (_, k) in enumerate(rows) if int(mask) >> b & 1))
            for mask in counts["bit"].unique()
        }
        counts["key"] = counts["bit"].map(spelled)
    else:
        keys = _lookup(rows)
        answers = (
            base.assign(key=_take(keys, base["category_id"]).to_numpy())
            .groupby(["item_id", "rater_id"], sort=False)["key"]
            .agg(lambda k: "+".join(sorted(k)))
        )
        counts = answers.groupby(level="item_id").value_counts().rename("n").reset_index()
    stats = counts.groupby("item_id")["n"].agg(total="sum", top="max", distinct="size")
    top_ties = counts[counts["n"] == counts["item_id"].map(stats["top"])].groupby("item_id").size()
    stats["n_top"] = top_ties.reindex(stats.index).to_numpy()
    stats = stats[stats["total"] >= 2]
    rule = project.disagreement_rule
    if rule == DisagreementRule.NOT_UNANIMOUS:
        chosen = stats.index[stats["distinct"] > 1]
    elif rule == DisagreementRule.NO_PLURALITY:
        chosen = stats.index[stats["n_top"] > 1]
    else:
        chosen = stats.index[stats["top"] * 2 <= stats["total"]]
    picked = sorted(int(pk) for pk in chosen)[:limit]
    items = {i.pk: i for i in Item.objects.filter(pk__in=picked)}
    shown = counts[counts["item_id"].isin(picked)].sort_values(
        ["item_id", "n", "key"], ascending=[True, False, True]
    )
    labels: dict[int, list[tuple[str, int]]] = {}
    for item_id, key, n in shown[["item_id", "key", "n"]].itertuples(index=False, name=None):
        labels.setdefault(int(item_id), []).append((str(key), int(n)))
    return [{"item": items[pk], "labels": labels[pk]} for pk in picked if pk in items]


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
                "imported": False,
                "created": a.created_at,
                "primary": [lab.category for lab in labels if lab.role != LabelRole.SECONDARY],
                "secondary": [lab.category for lab in labels if lab.role == LabelRole.SECONDARY],
                "ratings": a.ratings,
                "comment": a.comment,
            }
        )
    imported: dict[int, list[ImportedRating]] = {}
    for rating in (
        ImportedRating.objects.filter(item=item)
        .select_related("rater", "category")
        .order_by("created_at", "rater_id", "category__order", "category_id")
    ):
        imported.setdefault(rating.rater_id, []).append(rating)
    for rater_id, ratings in imported.items():
        out.append(
            {
                "annotation": None,
                "rater": ratings[0].rater,
                "excluded": rater_id in excluded,
                "imported": True,
                "created": ratings[0].created_at,
                "primary": [r.category for r in ratings if r.role != LabelRole.SECONDARY],
                "secondary": [r.category for r in ratings if r.role == LabelRole.SECONDARY],
                "ratings": {},
                "comment": "",
            }
        )
    return out


def annotator_quality(*, project: Project) -> dict[str, dict[str, Any]]:
    """Per voter key: median seconds, gold accuracy, agreement with the others' plurality and
    speed flag (:func:`annotation.quality.annotator_quality`), as plain data. Reads the whole
    vote table: the agreement job computes it, the dashboard shows the job's copy."""
    if project.mode == LabelMode.MULTI_LABEL:
        return {}
    votes = project_vote_table(project=project, include_excluded=True, metadata=False, timing=True)
    if not len(votes):
        return {}
    gold = item_gold_table(project=project)
    try:
        table = quality.annotator_quality(
            votes,
            gold=gold if len(gold) else None,
            duration_column="seconds" if votes["seconds"].notna().any() else None,
            roles=("primary",),
        )
    except ValueError:
        return {}
    return {
        str(row["voter"]): {
            "median_seconds": _num(row.get("median_seconds")),
            "gold_accuracy": _num(row.get("gold_accuracy")),
            "agreement": _num(row.get("consensus_agreement")),
            "speed_flag": row.get("speed_flag") or "",
        }
        for row in table.to_dict("records")
    }


def annotator_table(
    *,
    project: Project,
    quality_by_voter: dict[str, dict[str, Any]] | None = None,
    assignments: Counter[tuple[int, str, str]] | None = None,
    imported_answers: Counter[tuple[int, bool]] | None = None,
    exclusions: list[Exclusion] | None = None,
) -> list[dict[str, Any]]:
    """One row per member: done, median seconds, gold accuracy, agreement, speed flag.

    The quality figures (all but "done") are ``quality_by_voter``'s, as
    :func:`annotator_quality` gives them; computed here when not given. ``assignments``,
    ``imported_answers`` and ``exclusions`` (:func:`assignment_counts`,
    :func:`imported_answer_counts`, :func:`active_exclusions`) when the caller has them.
    """
    members = list(
        ProjectMember.objects.filter(project=project).select_related("user").order_by("id")
    )
    if assignments is None:
        assignments = assignment_counts(project=project)
    if imported_answers is None:
        imported_answers = imported_answer_counts(project=project)
    done: Counter[int] = Counter()
    for (rater_id, state, _pool), n in assignments.items():
        if state == AssignmentStatus.DONE:
            done[rater_id] += n
    for (rater_id, _gold), n in imported_answers.items():
        done[rater_id] += n
    if quality_by_voter is None:
        quality_by_voter = annotator_quality(project=project)
    if exclusions is None:
        exclusions = active_exclusions(project=project)
    active = {e.rater_id: e for e in exclusions}
    rows = []
    for m in members:
        s = quality_by_voter.get(voter_key(m.user_id), {})
        rows.append(
            {
                "member": m,
                "voter": voter_key(m.user_id),
                "done": done.get(m.user_id, 0),
                "median_seconds": s.get("median_seconds"),
                "gold_accuracy": s.get("gold_accuracy"),
                "agreement": s.get("agreement"),
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


def _compact_votes(votes: pd.DataFrame) -> pd.DataFrame:
    """The columns the agreement report reads, the keys as categoricals.

    The report factorises the item, voter and label keys once per statistic (alpha, its
    bootstrap, Fleiss' kappa, per category, per group, per week); on categoricals that reuses
    the codes instead of hashing a million strings each time. The values are unchanged.
    """
    columns = [c for c in ("item", "voter", "label", "role", "group", "created") if c in votes]
    keys = [c for c in ("item", "voter", "label", "role", "group") if c in votes]
    return votes[columns].astype(dict.fromkeys(keys, "category"))


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
            report = agreement.agreement_report(
                _compact_votes(votes), level="nominal", rng=rng, n_boot=n_boot
            )
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
        clean: dict[str, Any] = {}
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


def imported_ratings(*, project: Project) -> QuerySet[ImportedRating]:
    """The project's imported ratings, one row per label, by item, rater and category."""
    return (
        ImportedRating.objects.filter(item__project=project)
        .select_related("item", "rater", "category")
        .order_by("item_id", "rater_id", "category_id")
    )


def project_annotations(*, project: Project) -> QuerySet[Annotation]:
    return (
        Annotation.objects.filter(assignment__item__project=project)
        .select_related("assignment__item", "assignment__rater")
        .prefetch_related("labels__category")
        .order_by("-created_at")
    )


# Up to this many labels the dashboard counts the adjudication queue while the page loads;
# beyond it the queue has only its own page.
LIVE_AGREEMENT_LIMIT = 50_000


def agreement_report(
    *, project: Project, job: Any, basis: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The agreement report of ``job``, the last agreement job that succeeded (or None; see
    :func:`project_jobs`): the dashboard computes nothing itself. With ``stale`` when labels
    were added or removed since, and the time it was computed; ``available`` False when there
    is none. ``basis`` is the project's :func:`agreement_basis` when the caller has it."""
    if job is None or not isinstance(job.result, dict):
        return {"available": False, "computed": False}
    report = dict(job.result)
    report["computed"] = True
    report["computed_at"] = job.finished_at
    report["stale"] = report.get("basis") != (basis or agreement_basis(project=project))
    return report


def active_exclusions(*, project: Project) -> list[Exclusion]:
    """The project's exclusions in force, newest first."""
    return list(Exclusion.objects.filter(project=project, active=True))


def agreement_basis(
    *,
    project: Project,
    tallies: Counter[tuple[int, str]] | None = None,
    exclusions: list[Exclusion] | None = None,
) -> dict[str, Any]:
    """What an agreement report depends on, in brief: the number of labels and the raters
    excluded. A report whose basis differs from the project's now is out of date.
    ``tallies`` (:func:`label_tallies`) and ``exclusions`` (:func:`active_exclusions`) when
    the caller has them already."""
    if exclusions is None:
        exclusions = active_exclusions(project=project)
    excluded = [e.rater_id for e in exclusions]
    n_labels = label_count(project=project) if tallies is None else sum(tallies.values())
    return {"n_labels": n_labels, "excluded": sorted(excluded)}


def _jobs(project: Project, kind: str):
    from jobs.models import Job

    return Job.objects.filter(kind=kind, params__project=project.pk).order_by("-created_at")


def _succeeded_agreement_jobs(project: Project):
    return (
        _jobs(project, "annotation_agreement")
        .filter(status="succeeded")
        .order_by("-finished_at", "-created_at")
    )


def project_jobs(*, project: Project) -> dict[str, Any]:
    """The jobs the dashboard shows, in one query: the last agreement job (``agreement``),
    the last one that succeeded (``agreement_succeeded``, whose report the page shows) and
    the last votes export (``votes_export``); None where there is none."""
    from jobs.models import Job

    latest = {
        "agreement": _jobs(project, "annotation_agreement"),
        "agreement_succeeded": _succeeded_agreement_jobs(project),
        "votes_export": _jobs(project, "annotation_votes_export"),
    }
    wanted = Q()
    for jobs in latest.values():
        wanted |= Q(pk=Subquery(jobs.values("pk")[:1]))
    found = list(Job.objects.filter(wanted))
    # At most three rows, among them each one wanted: picked out by the same orderings.
    agreement = [j for j in found if j.kind == "annotation_agreement"]
    succeeded = [j for j in agreement if j.status == "succeeded"]
    exports = [j for j in found if j.kind == "annotation_votes_export"]
    return {
        "agreement": max(agreement, key=lambda j: j.created_at, default=None),
        "agreement_succeeded": max(
            succeeded, key=lambda j: (j.finished_at or j.created_at, j.created_at), default=None
        ),
        "votes_export": exports[0] if exports else None,
    }


def label_count(*, project: Project) -> int:
    return (
        AnnotationLabel.objects.filter(annotation__assignment__item__project=project).count()
        + ImportedRating.objects.filter(item__project=project).count()
    )


def item_metadata_keys(*, project: Project) -> list[str]:
    """The metadata keys the project's items use, sorted (for choosing a stratum key)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT DISTINCT jsonb_object_keys(metadata) FROM annotation_item "
                "WHERE project_id = %s AND jsonb_typeof(metadata) = 'object'",
                [project.pk],
            )
            return sorted(row[0] for row in cursor.fetchall())
    keys: set[str] = set()
    for metadata in Item.objects.filter(project=project).values_list("metadata", flat=True):
        if isinstance(metadata, dict):
            keys.update(metadata)
    return sorted(keys)


def project_items(*, project: Project, search: str = "") -> QuerySet[Item]:
    """The project's items in import order, each with its finished ratings (``done``);
    ``search`` matches the external id or the text (case-insensitive)."""
    items = (
        Item.objects.filter(project=project)
        .select_related("gold_label")
        .annotate(done=Count("assignments", filter=Q(assignments__status=AssignmentStatus.DONE)))
        .order_by("id")
    )
    if search:
        items = items.filter(Q(external_id__icontains=search) | Q(text__icontains=search))
    return items
