"""Benchmark of quota-controlled survey starts and the participant question page.

Run from the repository root:  python perf/bench_survey_quota.py

Uses a database of its own: with a PostgreSQL ``DATABASE_URL`` it creates (once) and migrates
``<name>_perf_surveys`` on the same server; otherwise a temporary SQLite file. Nothing else
is touched.

Workload: an open-link survey whose quota cell has 200 places; 32 threads (each with its own
database connection) start 1,000 open-link responses and screen them into that cell as fast
as they can. Then 300 renders of a question page.

Targets (exit status 1 if missed):
* exactly 200 places held, 800 screened out, nothing over-filled (the invariant);
* at least 30 start + screen operations per second overall (one busy cell: every start
  waits for the quota row, so this measures the serialised path, not the machine's best);
* question page p95 under 100 ms and its HTML under 100 KB.
"""

from __future__ import annotations

import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ATTEMPTS = int(os.environ.get("PERF_ATTEMPTS", "1000"))
PLACES = int(os.environ.get("PERF_PLACES", "200"))
THREADS = int(os.environ.get("PERF_THREADS", "32"))
PAGE_RENDERS = 300
MIN_RATE = 30.0
MAX_P95_MS = 100.0


def _database() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if url.startswith("postgres"):
        import psycopg

        parts = urlparse(url)
        name = (parts.path.lstrip("/") or "chorus") + "_perf_surveys"
        admin = urlunparse(parts._replace(path="/postgres"))
        with psycopg.connect(admin, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = urlunparse(parts._replace(path=f"/{name}"))
    else:
        path = Path(tempfile.mkdtemp()) / "perf_surveys.sqlite3"
        os.environ["DATABASE_URL"] = f"sqlite:///{path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost")


def main() -> int:
    _database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import setup_test_environment

    setup_test_environment()
    call_command("migrate", verbosity=0)

    from accounts.models import User
    from accounts.services import study_create
    from surveys import services
    from surveys.models import Panel, QuotaCell, Response, ResponseStatus

    user, _ = User.objects.get_or_create(username="perf-surveys")
    study = study_create(user=user, name=f"perf {time.time()}")
    population = services.population_import(
        study=study, name="P", csv_text="region,gender,count\nSeoul,F,100000\nBusan,M,100000\n"
    )
    panel = Panel.objects.create(study=study, population=population, name="P")
    design = services.design_create(study=study, population=population, name="D", n=2 * PLACES)
    assert panel.pk
    survey = services.survey_create(
        study=study, title_en="Perf", design=design, open_link_enabled=True
    )
    block = services.block_create(survey=survey, title_en="B")
    for i in range(8):
        q = services.question_create(
            block=block,
            code=f"q{i}",
            kind="scale",
            text_en=f"Statement {i}.",
            text_ko=f"문장 {i}.",
            options=[(str(k), f"Option {k}", f"선택 {k}") for k in range(1, 6)],
        )
        services.question_submit(question=q, user=None)
        services.question_review(question=q, reviewer=user, decision="approve")
    survey = services.survey_open(survey=survey)
    quota = QuotaCell.objects.get(design=design, cell__key="Seoul|F")
    assert quota.target == PLACES
    connection.close()

    counter = iter(range(ATTEMPTS))
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with lock:
                    i = next(counter, None)
                if i is None:
                    return
                response = services.response_start(survey=survey)
                services.response_screen(
                    response=response, values={"region": "Seoul", "gender": "F"}
                )
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    rate = ATTEMPTS / elapsed
    quota.refresh_from_db()
    held = Response.objects.filter(survey=survey, status=ResponseStatus.STARTED).count()
    out = Response.objects.filter(survey=survey, status=ResponseStatus.SCREENED_OUT).count()
    print(
        f"{ATTEMPTS} starts by {THREADS} threads in {elapsed:.2f} s: {rate:.0f}/s "
        f"({connection.vendor})"
    )
    print(f"places held {quota.reserved}/{quota.target}, started {held}, screened out {out}")

    if errors:
        print(f"MISSED: {len(errors)} errors, first: {errors[0]!r}")
        return 1
    token = Response.objects.filter(survey=survey, status=ResponseStatus.STARTED).first().token
    client = Client()
    timings = []
    size = 0
    for _ in range(PAGE_RENDERS):
        t0 = time.perf_counter()
        page = client.get(f"/surveys/r/{token}/?lang=ko")
        timings.append((time.perf_counter() - t0) * 1000)
        size = len(page.content)
    timings.sort()
    p50, p95 = timings[len(timings) // 2], timings[int(len(timings) * 0.95)]
    print(f"question page: p50 {p50:.1f} ms, p95 {p95:.1f} ms, {size / 1024:.1f} KB")

    ok = True
    if errors:
        print(f"MISSED: {len(errors)} errors, first: {errors[0]!r}")
        ok = False
    if (quota.reserved, held, out) != (PLACES, PLACES, ATTEMPTS - PLACES):
        print("MISSED: the quota invariant (exactly the places available are held)")
        ok = False
    if rate < MIN_RATE:
        print(f"MISSED: {rate:.0f} starts/s < {MIN_RATE:.0f}")
        ok = False
    if p95 > MAX_P95_MS or size >= 100_000:
        print("MISSED: question page p95 or size")
        ok = False
    print("targets met" if ok else "targets missed")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
