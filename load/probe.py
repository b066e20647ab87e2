"""Where the time of the submit paths goes: database waits during the run, queries per request.

- :class:`WaitSampler` samples ``pg_stat_activity`` of the load database every 0.2 s while
  the clients run: how many server backends were active, and what the active ones waited for
  (``Lock`` is a row or transaction lock held by another request, ``LWLock``/``IO`` are the
  server's own, none is running on a CPU).
- :func:`queries_per_request` replays one annotator round and one participant round in this
  process (Django's test client, after ``django.setup()``) and counts each request's queries.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter

HIDDEN = re.compile(r'name="(csrfmiddlewaretoken|idempotency_key)" value="([^"]*)"')


class WaitSampler(threading.Thread):
    def __init__(self, url: str, database: str, interval: float = 0.2) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.database = database
        self.interval = interval
        self.samples = 0
        self.active = 0
        self.waits: Counter[str] = Counter()
        self.locked_queries: Counter[str] = Counter()
        self._stop = threading.Event()

    def run(self) -> None:
        import psycopg

        with psycopg.connect(self.url, autocommit=True) as conn:
            while not self._stop.is_set():
                rows = conn.execute(
                    "SELECT wait_event_type, wait_event, left(query, 90) FROM pg_stat_activity "
                    "WHERE datname = %s AND state = 'active' AND pid <> pg_backend_pid()",
                    [self.database],
                ).fetchall()
                self.samples += 1
                self.active += len(rows)
                for kind, event, query in rows:
                    self.waits[f"{kind}:{event}" if kind else "running"] += 1
                    if kind == "Lock":
                        self.locked_queries[" ".join(query.split())] += 1
                self._stop.wait(self.interval)

    def stop(self) -> str:
        self._stop.set()
        self.join(timeout=5)
        if not self.active:
            return "database: no active backend seen"
        shares = ", ".join(f"{k} {n / self.active:.0%}" for k, n in self.waits.most_common(6))
        text = (
            f"database: {self.active / max(self.samples, 1):.1f} backends active on average "
            f"({shares})"
        )
        for query, n in self.locked_queries.most_common(3):
            text += f"\n  waiting on a lock ({n / self.active:.0%}): {query}"
        return text


def queries_per_request(world: dict) -> list[tuple[str, int, int, float]]:
    """(endpoint, status, queries, ms) for one annotator round and one participant round."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rows: list[tuple[str, int, int, float]] = []

    def timed(name, call):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            response = call()
            elapsed = (time.perf_counter() - started) * 1000
        rows.append((name, response.status_code, len(queries.captured_queries), elapsed))
        return response

    auth = {"HTTP_AUTHORIZATION": f"Token {world['annotator_tokens'][0]}"}
    project = world["project_id"]
    api = Client()
    for _ in range(2):  # the second round is warm
        answer = timed(
            "annotation: next item",
            lambda: api.post(f"/api/annotation/projects/{project}/next/", **auth),
        )
        item = answer.json()["item"]["id"]
        body = json.dumps({"item": item, "labels": [{"category": world["categories"][0]}]})
        timed(
            "annotation: rating submit",
            lambda body=body: api.post(
                f"/api/annotation/projects/{project}/submit/",
                data=body,
                content_type="application/json",
                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
                **auth,
            ),
        )
    timed("healthz", lambda: api.get("/healthz"))

    page = Client()
    for _ in range(2):  # the second round is warm
        page.cookies.clear()
        _participant_round(world, page, timed)
    return rows


def _participant_round(world: dict, page, timed) -> None:
    link = f"/surveys/r/{world['open_token']}/"
    answer = timed("survey: consent page", lambda: page.get(link + "?lang=en"))
    form = dict(HIDDEN.findall(answer.content.decode()))
    answer = timed(
        "survey: consent submit",
        lambda: page.post(link, {**form, "consent": "yes", "lang": "en"}),
    )
    mine = answer["Location"]
    timed("survey: screener page", lambda: page.get(mine))
    # The largest cell: the round must not be screened out.
    choice = {name: values[-1] for name, values in world["screener"].items()}
    timed("survey: screener submit", lambda: page.post(mine, choice))
    answer = timed("survey: question page", lambda: page.get(mine))
    for number, questions in enumerate(world["pages"], start=1):
        form = dict(HIDDEN.findall(answer.content.decode()))
        data = {**form, "page": str(number)}
        data.update({code: options[0] for code, _kind, options in questions})
        answer = timed("survey: answer submit", lambda data=data: page.post(mine, data))
        name = "survey: complete page" if number == len(world["pages"]) else "survey: question page"
        answer = timed(name, lambda answer=answer: page.get(answer["Location"]))
