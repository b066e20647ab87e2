"""Benchmark of the annotation app on PostgreSQL: ratings import, next item + submit, agreement.

Run from the repository root:  python perf/bench_annotation.py [--items N] [--keep]

Creates a database of its own (``chorus_perf_annotation`` on the server of ``DATABASE_URL``,
default ``postgres://postgres@127.0.0.1:5432``), migrates it, loads 100,000 items with COPY
and then 1,000,000 existing ratings from a CSV through ``annotation.services.ratings_import``
(the CSV read into integer arrays and checked there, one binary COPY into the flat imported
ratings table). Seeded.

Targets:
* importing the 1,000,000 ratings from CSV at >= 100,000 rows/s;
* "next item" plus "submit" (the two services an annotator calls per item), p95 < 50 ms over
  300 answers by 20 annotators, with the 1,000,000 ratings in place;
* the agreement report over the 1,000,000 ratings (vote table read from the database, nominal
  alpha with a 200-replicate bootstrap, Fleiss' kappa, per-category agreement, alpha per group
  and per week) in < 5 s;
* what an annotator's home page reads of their work (``selectors.memberships_for_user``: done,
  leased and still open in a project of 100,000 items), p95 < 200 ms over 20 loads by the 20
  annotators who answered here; also printed, without a target, for 20 of the imported
  raters' accounts (which cannot log in, but whose work is counted the same way).
Prints the figures and exits with status 1 if a target is missed. ``--keep`` leaves the
database in place; otherwise it is dropped at the end.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB_NAME = "chorus_perf_annotation"
IMPORT_TARGET = 100_000  # rows per second
P95_TARGET_MS = 50.0
AGREEMENT_TARGET_S = 5.0
HOME_P95_TARGET_MS = 200.0
N_RATERS = 2000
RATERS_PER_ITEM = 8
SECONDARY_SHARE = 0.25
EMOTIONS = ["anger", "joy", "sadness", "fear", "surprise", "disgust", "calm", "neutral"]


def server_url() -> str:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    return url.rsplit("/", 1)[0]


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DB_NAME}")


def drop_database() -> None:
    import psycopg

    with psycopg.connect(f"{server_url()}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DB_NAME} WITH (FORCE)")


def setup_django() -> None:
    os.environ["DATABASE_URL"] = f"{server_url()}/{DB_NAME}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("MEDIA_ROOT", "/tmp/chorus_perf_annotation_media")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def load_items(project, n_items: int) -> None:
    from django.db import connection

    rng = np.random.default_rng(1)
    regions = np.array(["north", "south", "east", "west"])
    speakers = rng.integers(0, 400, n_items)
    region = regions[rng.integers(0, 4, n_items)]
    year = rng.integers(2015, 2026, n_items)
    with connection.cursor() as cursor:
        copy_sql = (
            "COPY annotation_item (project_id, external_id, kind, text, media, media_type, "
            "metadata, is_gold, slots_total, slots_taken, expert_slots_total, "
            "expert_slots_taken, created_at) FROM STDIN"
        )
        with cursor.cursor.copy(copy_sql) as copy:
            for i in range(n_items):
                meta = json.dumps(
                    {"speaker": f"s{speakers[i]}", "region": region[i], "year": int(year[i])}
                )
                copy.write_row(
                    (project.pk, f"clip-{i:06d}", "text", f"Clip {i}", "", "", meta, False,
                     project.raters_per_item, 0, 0, 0, "2026-01-01T00:00:00Z")
                )  # fmt: skip
        cursor.execute("ANALYZE annotation_item")


def ratings_csv(n_items: int) -> tuple[bytes, int]:
    rng = np.random.default_rng(20260501)
    truth = rng.integers(0, len(EMOTIONS), n_items)
    accuracy = rng.uniform(0.45, 0.95, N_RATERS)
    first = rng.integers(0, N_RATERS, n_items)
    step = rng.integers(1, N_RATERS // RATERS_PER_ITEM, n_items)
    raters = (first[:, None] + step[:, None] * np.arange(RATERS_PER_ITEM)) % N_RATERS
    item = np.repeat(np.arange(n_items), RATERS_PER_ITEM)
    rater = raters.ravel()
    correct = rng.random(item.size) < accuracy[rater]
    label = np.where(correct, truth[item], rng.integers(0, len(EMOTIONS), item.size))
    created = np.datetime64("2026-01-05T00:00:00") + rng.integers(0, 84 * 86400, item.size).astype(
        "timedelta64[s]"
    )
    time_ms = rng.lognormal(8.5, 0.5, item.size).astype(np.int64)
    primary = pd.DataFrame(
        {"item": item, "rater": rater, "label": label, "role": "primary", "created": created,
         "time_ms": time_ms}
    )  # fmt: skip
    n_secondary = 1_000_000 - len(primary) if n_items == 100_000 else int(len(primary) / 4)
    pick = rng.choice(len(primary), size=n_secondary, replace=False)
    secondary = primary.iloc[pick].copy()
    secondary["label"] = (secondary["label"] + rng.integers(1, len(EMOTIONS), n_secondary)) % len(
        EMOTIONS
    )
    secondary["role"] = "secondary"
    table = pd.concat([primary, secondary], ignore_index=True)
    table["item"] = "clip-" + table["item"].astype(str).str.zfill(6)
    table["rater"] = "rater-" + table["rater"].astype(str)
    table["label"] = np.array(EMOTIONS)[table["label"].to_numpy()]
    table["created"] = table["created"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    out = io.StringIO()
    table.to_csv(out, index=False)
    return out.getvalue().encode(), len(table)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--answers", type=int, default=300)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    recreate_database()
    try:
        return run(args)
    finally:
        if not args.keep:
            from django.db import connections

            connections.close_all()
            drop_database()


def run(args) -> int:
    started = time.perf_counter()
    setup_django()
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from accounts.models import User
    from accounts.services import study_create
    from annotation.models import ImportedRating, LabelMode, Project
    from annotation.selectors import memberships_for_user, project_agreement, project_vote_table
    from annotation.services import (
        annotation_submit,
        assignment_next,
        member_add,
        project_create,
        ratings_import,
    )

    researcher = User.objects.create(username="perf-researcher", password=make_password(None))
    study = study_create(user=researcher, name="Perf study")
    project: Project = project_create(
        study=study,
        user=researcher,
        name="Perf emotions",
        mode=LabelMode.PRIMARY_SECONDARY,
        categories=[{"key": k, "name": k.title()} for k in EMOTIONS],
        raters_per_item=RATERS_PER_ITEM + 4,
    )
    load_items(project, args.items)
    print(f"setup: {args.items:,} items loaded with COPY in {time.perf_counter() - started:.1f} s")

    data, n_rows = ratings_csv(args.items)
    t0 = time.perf_counter()
    report = ratings_import(project=project, source=io.BytesIO(data))
    t_import = time.perf_counter() - t0
    rate = n_rows / t_import
    print(f"import: {report['rows']:,} rows -> {report['answers']:,} answers, "
          f"{report['labels']:,} labels, {report['new_raters']:,} new raters")  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    # The report reads the vote table as project_agreement does (without the item metadata
    # columns, which no agreement statistic uses); the full table is timed separately below.
    t0 = time.perf_counter()
    votes = project_vote_table(project=project, metadata=False)
    t_votes = time.perf_counter() - t0
    t1 = time.perf_counter()
    agreement = project_agreement(project=project, n_boot=200, votes=votes)
    t_agreement = time.perf_counter() - t0
    t_report = time.perf_counter() - t1
    t0 = time.perf_counter()
    full_votes = project_vote_table(project=project)
    t_full_votes = time.perf_counter() - t0
    del full_votes
    print(f"agreement: {len(votes):,} vote rows; alpha {agreement['alpha']:.4f} "
          f"[{agreement['alpha_ci'][0]:.4f}, {agreement['alpha_ci'][1]:.4f}], "
          f"Fleiss' kappa {agreement['fleiss_kappa']:.4f}")  # fmt: skip

    annotators = []
    for n in range(20):
        user = User.objects.create(username=f"live-{n}", password=make_password(None))
        member_add(project=project, user=user)
        annotators.append(user)
    rng = np.random.default_rng(3)
    durations = []
    for i in range(args.answers):
        user = annotators[i % len(annotators)]
        primary = EMOTIONS[int(rng.integers(0, len(EMOTIONS)))]
        t0 = time.perf_counter()
        lease = assignment_next(project=project, user=user)
        annotation_submit(
            project=project,
            user=user,
            item_id=lease.item_id,
            labels=[{"category": primary}],
            time_ms=2000,
        )
        durations.append((time.perf_counter() - t0) * 1000)
    ms = np.array(durations)
    p50, p95, p99 = np.percentile(ms, [50, 95, 99])

    imported_raters = list(
        User.objects.filter(
            pk__in=ImportedRating.objects.values("rater_id").distinct()[: len(annotators)]
        )
    )
    for rater in imported_raters:
        member_add(project=project, user=rater)

    def home_ms(users) -> np.ndarray:
        times = []
        for user in users:
            t0 = time.perf_counter()
            memberships_for_user(user=user)
            times.append((time.perf_counter() - t0) * 1000)
        return np.array(times)

    home_p50, home_p95 = np.percentile(home_ms(annotators), [50, 95])
    imported_p95 = np.percentile(home_ms(imported_raters), 95)

    print()
    print(f"{'figure':<52}{'value':>14}{'target':>14}")
    print(f"{'ratings import (rows/s)':<52}{rate:>14,.0f}{'>= 100,000':>14}")
    print(f"{'  import time (s)':<52}{t_import:>14.2f}")
    print(f"{'next item + submit p95 (ms)':<52}{p95:>14.1f}{'< 50':>14}")
    print(f"{'  p50 / p99 (ms)':<52}{f'{p50:.1f} / {p99:.1f}':>14}")
    print(f"{'agreement report incl. vote table read (s)':<52}{t_agreement:>14.2f}{'< 5':>14}")
    print(f"{'  vote table read (s)':<52}{t_votes:>14.2f}")
    print(f"{'  agreement kernels (s)':<52}{t_report:>14.2f}")
    print(f"{'vote table with item metadata columns (s)':<52}{t_full_votes:>14.2f}")
    print(f"{'annotator home: their work p95 (ms)':<52}{home_p95:>14.1f}{'< 200':>14}")
    print(f"{'  p50 (ms)':<52}{home_p50:>14.1f}")
    print(f"{"  imported raters' accounts p95 (ms)":<52}{imported_p95:>14.1f}")
    ok = (
        rate >= IMPORT_TARGET
        and p95 < P95_TARGET_MS
        and t_agreement < AGREEMENT_TARGET_S
        and home_p95 < HOME_P95_TARGET_MS
    )
    print("targets met" if ok else "TARGET MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
