"""Bulk import of existing ratings: checked as integer arrays, stored with one COPY."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from datetime import UTC, datetime
from typing import IO, Any

import numpy as np
import pandas as pd
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import User
from annotation import bulk
from annotation.models import (
    Assignment,
    ImportedRating,
    Item,
    LabelMode,
    LabelRole,
    MemberRole,
    Project,
    ProjectMember,
)

logger = logging.getLogger(__name__)


def _timed(cursor, sql: str, params: Any = None) -> None:
    started = time.perf_counter()
    cursor.execute(sql, params)
    logger.debug("ratings_import %.2f s: %s", time.perf_counter() - started, sql[:80])


@contextmanager
def _indexes_rebuilt(cursor, tables: Iterable[str]):
    """Drop the indexes, primary keys and unique constraints of ``tables``; rebuild them after.

    Building an index once from sorted rows is much cheaper than a million random index
    insertions; worth it when the import is large next to what the tables hold. Definitions
    are read from the catalogue and restored verbatim, names included; a rebuilt unique index
    re-checks uniqueness over every row. Foreign keys pointing at these tables would need the
    keys, so the tables must have none (checked).
    """
    names = list(tables)
    _timed(
        cursor,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
        "AND confrelid::regclass::text = ANY(%(tables)s)",
        {"tables": names},
    )
    if cursor.fetchone()[0]:
        raise RuntimeError(f"Foreign keys point at {names}; their keys cannot be rebuilt.")
    _timed(
        cursor,
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid::regclass::text = ANY(%(tables)s) AND NOT EXISTS ("
        "  SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        {"tables": names},
    )
    indexes = cursor.fetchall()
    _timed(
        cursor,
        "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE contype IN ('p', 'u') AND conrelid::regclass::text = ANY(%(tables)s) "
        "ORDER BY 1, contype, 2",
        {"tables": names},
    )
    keys = cursor.fetchall()
    for name, _definition in indexes:
        _timed(cursor, f"DROP INDEX {name}")
    for table, name, _definition in keys:
        _timed(cursor, f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    yield
    for table, name, definition in keys:
        _timed(cursor, f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {definition}')
    for _name, definition in indexes:
        _timed(cursor, definition)


def _after_every_key(cursor, lowest_item_id: int) -> bool:
    """Whether ratings of items from ``lowest_item_id`` on sort after every key the imported
    ratings table holds (new items: a new project, or items added since the last import).
    Sent in key order, such rows are appended at the right edge of the key's index, which
    costs less than dropping and rebuilding it."""
    _timed(cursor, f"SELECT max(item_id) FROM {IMPORTED_TABLE}")
    highest = cursor.fetchone()[0]
    return highest is None or highest < lowest_item_id


def _table_rows(cursor, table: str) -> int:
    _timed(cursor, "SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
           [table])  # fmt: skip
    return int(cursor.fetchone()[0])


IMPORTED_TABLE = ImportedRating._meta.db_table


RATING_COLUMN_ORDER = ("item_id", "rater_id", "category_id", "role", "created_us", "time_ms")


# Key of the transaction-level advisory lock that lets one ratings import run at a time.
IMPORT_LOCK = 7_340_001


# The stored roles, in the order of the codes used while importing.
STORED_ROLES = [LabelRole.PRIMARY.value, LabelRole.SECONDARY.value, LabelRole.LABEL.value]


CSV_ROLES = {"": 0, LabelRole.PRIMARY.value: 0, LabelRole.SECONDARY.value: 1}


def _named(values: list[str], codes: np.ndarray, limit: int = 5) -> str:
    """The distinct values behind ``codes`` (first ``limit``), comma-separated."""
    picked = list(dict.fromkeys(codes.tolist()))[:limit]
    return ", ".join(values[c] for c in picked)


def _pg_array(values: np.ndarray) -> str:
    """An integer array as PostgreSQL array text: far quicker to send than a list parameter."""
    return "{" + ",".join(map(str, values.tolist())) + "}"


def _existing_pairs(cursor, *, project: Project, rater_ids: np.ndarray) -> np.ndarray:
    """(item, rater) pairs of the project's items and these raters that have an answer."""
    if connection.vendor == "postgresql":
        _timed(
            cursor,
            "SELECT item_id, rater_id FROM annotation_assignment "
            "WHERE rater_id = ANY(%(raters)s::bigint[]) "
            "AND item_id IN (SELECT id FROM annotation_item WHERE project_id = %(project)s) "
            f"UNION SELECT item_id, rater_id FROM {IMPORTED_TABLE} "
            "WHERE rater_id = ANY(%(raters)s::bigint[]) "
            "AND item_id IN (SELECT id FROM annotation_item WHERE project_id = %(project)s)",
            {"raters": _pg_array(rater_ids), "project": project.pk},
        )
        pairs = cursor.fetchall()
    else:
        pairs = []
        for start in range(0, len(rater_ids), 500):
            chunk = rater_ids[start : start + 500].tolist()
            for model in (Assignment, ImportedRating):
                pairs += model.objects.filter(
                    item__project=project, rater_id__in=chunk
                ).values_list("item_id", "rater_id")
    return np.array(pairs, dtype=np.int64).reshape(-1, 2)


def _answered(
    cursor,
    *,
    project: Project,
    pair_keys: np.ndarray,
    item_ids: np.ndarray,
    rater_ids: np.ndarray,
) -> np.ndarray:
    """Which of the file's (item, rater) pairs already have an answer, as a mask.

    A pair's key is its item's position times the number of raters plus its rater's position
    (positions in ``item_ids`` and ``rater_ids``); answers on items not in the file are left
    out.
    """
    pairs = _existing_pairs(cursor, project=project, rater_ids=rater_ids)
    item_pos = pd.Index(item_ids).get_indexer(pairs[:, 0])
    rater_pos = pd.Index(rater_ids).get_indexer(pairs[:, 1])
    known = (item_pos >= 0) & (rater_pos >= 0)
    keys = item_pos[known].astype(np.int64) * len(rater_ids) + rater_pos[known]
    return np.isin(pair_keys, keys)


def _rating_columns(
    *,
    rows: bulk.RatingRows,
    keep: np.ndarray,
    item_ids: np.ndarray,
    rater_ids: np.ndarray,
    category_id: np.ndarray,
    role: np.ndarray,
    key_order: bool,
) -> dict[str, np.ndarray]:
    """The kept rows as id columns (in key order if asked); missing times become now."""
    created = rows.created_us[keep]
    created[created == bulk.MISSING] = int(timezone.now().timestamp() * 1_000_000)
    columns = {
        "item_id": item_ids[rows.item.codes[keep]],
        "rater_id": rater_ids[rows.rater.codes[keep]],
        "category_id": category_id[keep],
        "role": role[keep],
        "created_us": created,
        "time_ms": rows.time_ms[keep],
    }
    if key_order:
        # Appended in key order, the rows reach the key's index pages in sequence.
        order = np.lexsort((columns["category_id"], columns["rater_id"], columns["item_id"]))
        columns = {name: values[order] for name, values in columns.items()}
    return columns


def _rating_copy_pieces(**kwargs: Any) -> list[bytes]:
    """The binary COPY data of :func:`_rating_columns`."""
    return bulk.rating_copy_data(**_rating_columns(**kwargs), roles=STORED_ROLES)


# A rater name becomes a username: letters of any script, digits and . _ @ + -, starting with
# a letter, digit or underscore (a leading = + - @ makes a spreadsheet formula of it), with no
# spaces, control characters or markup.
RATER_NAME = re.compile(r"\w[\w.@+-]{0,149}")


def _rater_rows(rows: bulk.RatingRows, names: Iterable[str]) -> list[tuple[int, str]]:
    """The first row (as in a spreadsheet, header = row 1) of each of ``names``, in order."""
    codes, first_index = np.unique(rows.rater.codes, return_index=True)
    row_of = dict(zip(codes.tolist(), (first_index + 2).tolist(), strict=True))
    wanted = set(names)
    return sorted(
        (row_of[code], name) for code, name in enumerate(rows.rater.values) if name in wanted
    )


def _check_rater_names(rows: bulk.RatingRows) -> None:
    if any(not r or len(r) > 150 for r in rows.rater.values):
        raise ValidationError({"rater": [_("A rater is missing or longer than 150 characters.")]})
    bad = [name for name in rows.rater.values if not RATER_NAME.fullmatch(name)]
    if bad:
        raise ValidationError(
            {"rater": [_("Row %(row)s: %(name)r is not a valid rater name. Use letters, "
                         "digits and . _ @ + - (not as the first character), without spaces.")
                       % {"row": row, "name": name}
                       for row, name in _rater_rows(rows, bad)[:5]]}
        )  # fmt: skip


def _refuse_accounts(rows: bulk.RatingRows, names: list[str]) -> None:
    """Refuse a file naming accounts a ratings import into this study did not make: a
    person's ratings are theirs to give (they join a project by accepting an invitation)."""
    if names:
        found = _rater_rows(rows, names)
        raise ValidationError(
            {"rater": [_("Row %(row)s: %(name)r is the username of an existing account. "
                         "Imported ratings go to new pseudonymous raters only; give this rater "
                         "another name in the file (to have the person rate, invite them to the "
                         "project).") % {"row": row, "name": name}
                       for row, name in found[:5]]}
        )  # fmt: skip


def _pg_raters(cursor, names: list[str], *, study_id: int) -> tuple[dict[str, int], int, list[str]]:
    """User ids by username, creating the missing users (inactive, no usable password,
    marked as imported raters of the study); and the names of existing accounts that are not
    this study's imported raters (the caller refuses the file if there are any)."""
    _timed(
        cursor,
        "SELECT username, id, imported_for_id FROM accounts_user WHERE username = ANY(%s)",
        [names],
    )
    found = cursor.fetchall()
    users = {name: pk for name, pk, _study in found}
    foreign = [name for name, _pk, study in found if study != study_id]
    new_names = [name for name in names if name not in users]
    n_new_raters = 0
    if new_names and not foreign:
        _timed(
            cursor,
            "INSERT INTO accounts_user (password, is_superuser, username, first_name, "
            "last_name, email, is_staff, is_active, date_joined, display_name, imported_for_id) "
            "SELECT '!', false, name, '', '', '', false, false, now(), '', %s "
            "FROM unnest(%s::text[]) AS name ON CONFLICT (username) DO NOTHING "
            "RETURNING username, id",
            [study_id, new_names],
        )
        created_users = dict(cursor.fetchall())
        n_new_raters = len(created_users)
        users.update(created_users)
        if len(created_users) < len(new_names):
            # Created meanwhile (the insert waited for that commit): by a parallel import
            # into this study, or as someone's account.
            _timed(
                cursor,
                "SELECT username, id, imported_for_id FROM accounts_user WHERE username = ANY(%s)",
                [[name for name in new_names if name not in created_users]],
            )
            for name, pk, study in cursor.fetchall():
                users[name] = pk
                if study != study_id:
                    foreign.append(name)
    return users, n_new_raters, foreign


def _raters(names: list[str], *, study_id: int) -> tuple[dict[str, int], int, list[str]]:
    """:func:`_pg_raters` for other databases, through the ORM in chunks."""
    chunks = [names[i : i + 500] for i in range(0, len(names), 500)]
    users: dict[str, int] = {}
    foreign: list[str] = []
    for chunk in chunks:
        for name, pk, study in User.objects.filter(username__in=chunk).values_list(
            "username", "id", "imported_for_id"
        ):
            users[name] = pk
            if study != study_id:
                foreign.append(name)
    missing = [name for name in names if name not in users]
    if foreign:
        return users, 0, foreign
    User.objects.bulk_create(
        [
            User(username=name, password="!", is_active=False, imported_for_id=study_id)
            for name in missing
        ],
        ignore_conflicts=True,
    )
    for chunk in [missing[i : i + 500] for i in range(0, len(missing), 500)]:
        users.update(User.objects.filter(username__in=chunk).values_list("username", "id"))
    return users, len(missing), foreign


def ratings_import(*, project: Project, source: IO[bytes]) -> dict[str, int]:
    """Import existing ratings from CSV: one binary COPY on PostgreSQL, ORM batches elsewhere.

    Columns (header required): ``item`` (external id), ``rater`` (username), ``label``
    (category key), optional ``role`` (``primary``/``secondary``; default primary),
    ``created`` (ISO 8601 time; without an offset it is UTC; default now) and ``time_ms``. One
    row per label; the rows of one (item, rater) form one answer. Each rater becomes a new
    pseudonymous account (inactive, without a usable password, marked as an imported rater of
    the project's study) that joins the project as an annotator; a later import into the same
    study reuses it. A rater named like any other account (a person's, or another study's
    imported rater) is refused, naming the row: nobody's account gets ratings, or a
    membership, without their say. Rater names are letters, digits and ``. _ @ + -``, not
    starting with a formula character, without spaces or markup (:data:`RATER_NAME`).

    The file is read into integer arrays (:func:`annotation.bulk.read_ratings_csv`) and
    checked whole before anything is written: unknown items, categories or roles, secondary
    labels where the mode has none, a label repeated by one rater on one item, not exactly one
    primary label per answer where the mode needs one, more than k raters on an item. Any
    problem raises ValidationError naming the column and nothing is written. Answers for
    (item, rater) pairs that exist already (given here or imported before) are skipped, so a
    repeated import changes nothing.

    The ratings are stored as :class:`ImportedRating` rows, sent with one binary COPY in key
    order; when the import is large next to the table and its keys fall among the table's
    (not all after them), the key is rebuilt afterwards instead (:func:`_indexes_rebuilt`),
    which locks the table, and so new leases, until commit. The
    items' slot counters are raised in the same transaction (the check constraint refuses more
    than k), which also locks the items against leases until commit; the raters and
    categories the rows point at are locked against deletion (the table's foreign keys are
    kept by this function, see the model). Imports run one at a time. On other databases
    (SQLite, the embedded mode) the same checks run and the rows are written with
    ``bulk_create``; SQLite serialises writing transactions, so no locks are taken.
    """
    started = time.perf_counter()
    rows = bulk.read_ratings_csv(source.read())
    logger.debug("ratings_import %.2f s: read CSV", time.perf_counter() - started)
    return ratings_store(project=project, rows=rows)


def ratings_store(*, project: Project, rows: bulk.RatingRows) -> dict[str, int]:
    """Check and store ratings read into arrays (see :func:`ratings_import`, which reads them
    from a CSV; an import from another tool's file hands them over directly)."""
    pg = connection.vendor == "postgresql"
    started = time.perf_counter()
    n = rows.n

    _check_rater_names(rows)
    unknown_roles = [r for r in rows.role.values if r not in CSV_ROLES]
    if unknown_roles:
        raise ValidationError(
            {"role": [_("Unknown role(s): %(names)s.") % {"names": ", ".join(unknown_roles[:5])}]}
        )
    role = np.array([CSV_ROLES[r] for r in rows.role.values], dtype=np.int64)[rows.role.codes]
    secondary = role == 1
    if project.mode != LabelMode.PRIMARY_SECONDARY and secondary.any():
        items = _named(rows.item.values, rows.item.codes[secondary])
        raise ValidationError(
            {
                "role": [
                    _("This project takes no secondary labels (item(s) %(items)s).")
                    % {"items": items}
                ]
            }
        )
    if project.mode == LabelMode.MULTI_LABEL:
        role[:] = 2

    categories = dict(project.categories.values_list("key", "id"))
    label_ids = np.array([categories.get(k, bulk.MISSING) for k in rows.label.values])
    unknown = [k for k in rows.label.values if k not in categories]
    if unknown:
        raise ValidationError(
            {"label": [_("Unknown category(ies): %(names)s.") % {"names": ", ".join(unknown[:5])}]}
        )
    category_id = label_ids[rows.label.codes]

    # One answer per (item, rater): each row's pair number, from the dictionary codes.
    n_raters = len(rows.rater.values)
    pair_keys, pair_of_row = np.unique(
        rows.item.codes * n_raters + rows.rater.codes, return_inverse=True
    )
    label_keys = np.sort(pair_of_row * len(rows.label.values) + rows.label.codes)
    if (label_keys[1:] == label_keys[:-1]).any():
        repeated = np.unique(label_keys[1:][label_keys[1:] == label_keys[:-1]])
        items = _named(
            rows.item.values, (pair_keys[repeated // len(rows.label.values)] // n_raters)
        )
        raise ValidationError(
            {
                "label": [
                    _("A label is repeated by one rater on one item (item(s) %(items)s).")
                    % {"items": items}
                ]
            }
        )
    if project.mode != LabelMode.MULTI_LABEL:
        n_primary = np.bincount(pair_of_row, weights=role == 0, minlength=len(pair_keys))
        wrong = n_primary != 1
        if wrong.any():
            items = _named(rows.item.values, pair_keys[wrong] // n_raters)
            raise ValidationError(
                {"role": [_("Each rater needs exactly one primary label per item "
                            "(item(s) %(items)s).") % {"items": items}]}
            )  # fmt: skip

    with transaction.atomic(), connection.cursor() as cursor:
        if pg:
            _timed(cursor, "SET LOCAL synchronous_commit = off")
            _timed(cursor, "SET LOCAL work_mem = '256MB'")
            _timed(cursor, "SET LOCAL maintenance_work_mem = '256MB'")
            _timed(cursor, "SELECT pg_advisory_xact_lock(%s)", [IMPORT_LOCK])
        # Many items: reading all of the project's is quicker than sending their names.
        many = len(rows.item.values) > 10_000 or not pg
        _timed(
            cursor,
            "SELECT external_id, id, is_gold, slots_total - slots_taken FROM annotation_item "
            "WHERE project_id = %s" + ("" if many else " AND external_id = ANY(%s)"),
            [project.pk] if many else [project.pk, rows.item.values],
        )
        found = {ext: (pk, gold, free) for ext, pk, gold, free in cursor.fetchall()}
        unknown = [ext for ext in rows.item.values if ext not in found]
        if unknown:
            raise ValidationError(
                {"item": [_("Unknown item(s): %(names)s.") % {"names": ", ".join(unknown[:5])}]}
            )
        item_ids = np.array([found[ext][0] for ext in rows.item.values], dtype=np.int64)
        item_gold = np.array([found[ext][1] for ext in rows.item.values], dtype=bool)
        item_free = np.array([found[ext][2] for ext in rows.item.values], dtype=np.int64)

        if pg:
            users, n_new_raters, foreign = _pg_raters(
                cursor, rows.rater.values, study_id=project.study_id
            )
        else:
            users, n_new_raters, foreign = _raters(rows.rater.values, study_id=project.study_id)
        _refuse_accounts(rows, foreign)
        rater_ids = np.array([users[name] for name in rows.rater.values], dtype=np.int64)
        if pg:
            # The rows to be stored point at these: no deletion until commit. (SQLite runs one
            # writing transaction at a time.)
            _timed(
                cursor,
                "SELECT count(*) FROM (SELECT 1 FROM accounts_user WHERE id = ANY(%s::bigint[]) "
                "ORDER BY id FOR KEY SHARE) AS locked",
                [_pg_array(rater_ids)],
            )
            if cursor.fetchone()[0] < len(rater_ids):
                # An account was erased between reading the names and locking them.
                raise ValidationError(
                    {"rater": [_("A rater's account was deleted during the import; run it again.")]}
                )
            _timed(
                cursor,
                "SELECT 1 FROM annotation_category WHERE project_id = %s ORDER BY id FOR KEY SHARE",
                [project.pk],
            )

        # Idempotency: answers that exist already are left alone.
        existing = _answered(
            cursor, project=project, pair_keys=pair_keys, item_ids=item_ids, rater_ids=rater_ids
        )
        new_pair = ~existing
        pair_item = pair_keys // n_raters
        counted = new_pair & ~item_gold[pair_item]
        taken = np.bincount(pair_item[counted], minlength=len(item_ids))
        over = taken > item_free
        if over.any():
            names = [rows.item.values[i] for i in np.flatnonzero(over)[:5]]
            k = project.raters_per_item
            raise ValidationError(
                {
                    "item": [
                        _("More than k = %(k)s raters on: %(names)s.")
                        % {"k": k, "names": ", ".join(names)}
                    ]
                }
            )
        keep = new_pair[pair_of_row]
        n_labels = int(keep.sum())
        rebuild = (
            pg
            and n_labels > 0.25 * _table_rows(cursor, IMPORTED_TABLE)
            and not _after_every_key(cursor, int(item_ids[pair_item[new_pair]].min()))
        )
        # The COPY data is built in a thread while the database raises the slot counters.
        chosen = {
            "rows": rows,
            "keep": keep,
            "item_ids": item_ids,
            "rater_ids": rater_ids,
            "category_id": category_id,
            "role": role,
            "key_order": not rebuild,
        }
        with ThreadPoolExecutor(max_workers=1) as builder:
            pending = builder.submit(_rating_copy_pieces if pg else _rating_columns, **chosen)
            # Claim the slots; the check constraint (slots_taken <= slots_total) still refuses an
            # item that leases filled meanwhile. The row locks keep new leases off these items
            # (and off the gold ones, locked below) until commit.
            raised = np.flatnonzero(taken)
            try:
                with transaction.atomic():
                    if pg:
                        _timed(
                            cursor,
                            "UPDATE annotation_item i SET slots_taken = i.slots_taken + n.n "
                            "FROM unnest(%s::bigint[], %s::integer[]) AS n(id, n) "
                            "WHERE i.id = n.id",
                            [_pg_array(item_ids[raised]), _pg_array(taken[raised])],
                        )
                    else:
                        for pk, n_taken in zip(
                            item_ids[raised].tolist(), taken[raised].tolist(), strict=True
                        ):
                            Item.objects.filter(pk=pk).update(
                                slots_taken=F("slots_taken") + n_taken
                            )
            except IntegrityError:
                k = project.raters_per_item
                raise ValidationError(
                    {"item": [_("More than k = %(k)s raters on some items; they filled up "
                                "while importing. Import the file again.") % {"k": k}]}
                ) from None  # fmt: skip
            gold_items = np.unique(pair_item[new_pair & item_gold[pair_item]])
            if len(gold_items) and pg:
                _timed(
                    cursor,
                    "SELECT id FROM annotation_item WHERE id = ANY(%s::bigint[]) "
                    "ORDER BY id FOR UPDATE",
                    [_pg_array(item_ids[gold_items])],
                )
            # An answer given between the first look and the locks: start again rather than
            # store a second answer of one rater on one item.
            again = _answered(
                cursor,
                project=project,
                pair_keys=pair_keys,
                item_ids=item_ids,
                rater_ids=rater_ids,
            )
            if (again & new_pair).any():
                raise ValidationError(
                    {"file": [_("Some of these answers were given while importing. "
                                "Import the file again; they will be skipped.")]}
                )  # fmt: skip
            built = pending.result()
        if n_labels and not pg:
            ImportedRating.objects.bulk_create(
                [
                    ImportedRating(
                        item_id=item,
                        rater_id=rater,
                        category_id=category,
                        role=STORED_ROLES[code],
                        created_at=datetime.fromtimestamp(us / 1_000_000, tz=UTC),
                        time_ms=None if ms == bulk.MISSING else ms,
                    )
                    for item, rater, category, code, us, ms in zip(
                        *(built[c].tolist() for c in RATING_COLUMN_ORDER), strict=True
                    )
                ],
                batch_size=2000,
            )
            ProjectMember.objects.bulk_create(
                [
                    ProjectMember(project=project, user_id=user_id, role=MemberRole.ANNOTATOR)
                    for user_id in np.unique(built["rater_id"]).tolist()
                ],
                ignore_conflicts=True,
            )
        if n_labels and pg:
            pieces = built
            sql = (
                f"COPY {IMPORTED_TABLE} (item_id, rater_id, category_id, role, created_at, "
                "time_ms) FROM STDIN WITH (FORMAT binary)"
            )
            try:
                with _indexes_rebuilt(cursor, [IMPORTED_TABLE]) if rebuild else nullcontext():
                    copy_started = time.perf_counter()
                    with cursor.cursor.copy(sql) as copy:
                        for piece in pieces:
                            copy.write(piece)
                    logger.debug("ratings_import %.2f s: COPY", time.perf_counter() - copy_started)
            except IntegrityError:
                # The checks above leave nothing for the key to refuse; kept as a safety net.
                raise ValidationError(
                    {"label": [_("A label is repeated by one rater on one item.")]}
                ) from None
            new_raters_ids = rater_ids[np.unique(rows.rater.codes[keep])]
            _timed(
                cursor,
                'INSERT INTO annotation_projectmember (project_id, user_id, role, "group", '
                "added_at) SELECT %s, user_id, 'annotator', '', now() "
                "FROM unnest(%s::bigint[]) AS user_id ON CONFLICT (project_id, user_id) DO NOTHING",
                [project.pk, _pg_array(new_raters_ids)],
            )
    logger.debug("ratings_import %.2f s: total", time.perf_counter() - started)
    return {
        "rows": n,
        "answers": int(new_pair.sum()),
        "labels": n_labels,
        "skipped_rows": n - n_labels,
        "new_raters": n_new_raters,
    }
