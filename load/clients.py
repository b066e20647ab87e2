"""The simulated people of the load run: asyncio tasks sharing one aiohttp session.

Each client loops until the run's deadline, one request at a time (a closed loop), and every
request is timed and checked against the statuses it may answer. Anything else (another
status, a timeout, a refused connection) is an error. Submits that the server acknowledged
are kept for the audit, which checks each was stored exactly once.

- Participants: open link -> consent -> screener -> three pages of answers -> completion, as
  a browser does it (cookies, CSRF token and the form's idempotency key read from each page).
- Annotators: next item -> submit a rating (API, token auth, ``Idempotency-Key``).
- Monitors: ``/healthz``.
- The researcher: builds a dataset version, waits for the job, exports it, downloads it.

A few submits are sent twice with the same key (a double click, a retry after a timeout);
the second must answer like the first and store nothing.
"""

from __future__ import annotations

import asyncio
import json
import random
import re
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any

import aiohttp

# Share of submits sent a second time with the same idempotency key.
REPLAY_SHARE = 0.05
# Seconds between a researcher's export and their next build.
RESEARCHER_PAUSE = 3.0
HIDDEN = re.compile(r'name="(csrfmiddlewaretoken|idempotency_key)" value="([^"]*)"')


class Stop(Exception):
    """The deadline passed: the client leaves its loop."""


class Unexpected(Exception):
    """An answer the step cannot go on from (already counted as an error)."""


@dataclass
class Record:
    """What one run saw: timings and statuses per endpoint, errors, acknowledged submits."""

    measure_from: float
    measure_until: float
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[str, Counter] = field(default_factory=lambda: defaultdict(Counter))
    errors: Counter = field(default_factory=Counter)
    error_samples: list[str] = field(default_factory=list)
    # Participants: (response token, page number, {code: values}) per acknowledged page.
    answer_acks: list[tuple[str, int, dict[str, list[str]]]] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)
    screened_out: int = 0
    # Annotators: (annotator index, item id, annotation id) per acknowledged submit.
    rating_acks: list[tuple[int, int, int]] = field(default_factory=list)
    replays: Counter = field(default_factory=Counter)
    nothing_left: int = 0
    builds: list[str] = field(default_factory=list)
    exports: list[tuple[str, int]] = field(default_factory=list)

    def error(self, name: str, message: str) -> None:
        self.errors[name] += 1
        if len(self.error_samples) < 20:
            self.error_samples.append(f"{name}: {message}")


class Runner:
    def __init__(
        self, *, base: str, world: dict, record: Record, deadline: float, seed: int, think: float
    ):
        self.base = base
        self.think = think
        self.pauses = random.Random(f"{seed}:pauses")
        self.world = world
        self.record = record
        self.deadline = deadline
        self.seed = seed
        self.session: aiohttp.ClientSession | None = None

    async def request(
        self,
        name: str,
        method: str,
        path: str,
        *,
        expect: set[int],
        cookies: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Any, bytes]:
        if self.think:
            # A person reads the page before the next click: exponential pauses, mean `think`.
            await asyncio.sleep(self.pauses.expovariate(1 / self.think))
        if time.monotonic() >= self.deadline:
            raise Stop
        assert self.session is not None
        # Names the request in the server's access log (its time inside the server).
        headers = {**(headers or {}), "X-Load-Endpoint": name}
        if cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
        started = time.monotonic()
        try:
            async with self.session.request(
                method, self.base + path, headers=headers, allow_redirects=False, **kwargs
            ) as response:
                body = await response.read()
                status = response.status
                if cookies is not None:
                    for morsel in SimpleCookie(
                        "\n".join(response.headers.getall("Set-Cookie", []))
                    ).values():
                        cookies[morsel.key] = morsel.value
                response_headers = response.headers
        except (aiohttp.ClientError, TimeoutError) as exc:
            self.record.statuses[name]["no answer"] += 1
            self.record.error(name, f"{method} {path}: {type(exc).__name__}: {exc}")
            raise Unexpected(0) from exc
        elapsed = time.monotonic() - started
        if self.record.measure_from <= started < self.record.measure_until:
            self.record.latencies[name].append(elapsed)
        self.record.statuses[name][status] += 1
        if status not in expect:
            self.record.error(name, f"{method} {path} -> {status}: {body[:300]!r}")
            raise Unexpected(status)
        return status, response_headers, body


def _hidden(body: bytes) -> dict[str, str]:
    return dict(HIDDEN.findall(body.decode("utf-8", "replace")))


async def _forever(runner: Runner, step, *args) -> None:
    """Run ``step`` until the deadline; an unexpected answer starts the next round."""
    while time.monotonic() < runner.deadline:
        try:
            await step(runner, *args)
        except Stop:
            return
        except Unexpected:
            await asyncio.sleep(0.05)


# --- participants -------------------------------------------------------------------------


def _answers(rng: random.Random, page: list) -> dict[str, list[str]]:
    out = {}
    for code, kind, options in page:
        if kind == "multiple":
            out[code] = sorted(rng.sample(options, rng.randint(1, 2)))
        else:
            out[code] = [rng.choice(options)]
    return out


async def participant_round(runner: Runner, rng: random.Random) -> None:
    world, record = runner.world, runner.record
    cookies: dict[str, str] = {}
    link = f"/surveys/r/{world['open_token']}/"
    _s, _h, body = await runner.request(
        "survey: consent page", "GET", link + "?lang=en", expect={200}, cookies=cookies
    )
    form = _hidden(body)
    _s, headers, _b = await runner.request(
        "survey: consent submit",
        "POST",
        link,
        expect={302},
        cookies=cookies,
        data={**form, "consent": "yes", "lang": "en"},
    )
    mine = headers["Location"]
    token = mine.rstrip("/").rsplit("/", 1)[-1].split("?")[0]
    _s, _h, body = await runner.request(
        "survey: screener page", "GET", mine, expect={200}, cookies=cookies
    )
    choice = {name: rng.choice(values) for name, values in world["screener"].items()}
    await runner.request(
        "survey: screener submit",
        "POST",
        mine,
        expect={302},
        cookies=cookies,
        data={**_hidden(body), **choice},
    )
    _s, _h, body = await runner.request(
        "survey: question page", "GET", mine, expect={200}, cookies=cookies
    )
    if b'name="page"' not in body:
        record.screened_out += 1
        return
    pages = world["pages"]
    for number, page in enumerate(pages, start=1):
        answers = _answers(rng, page)
        data = [(k, v) for k, v in _hidden(body).items()] + [("page", str(number))]
        data += [(code, value) for code, values in answers.items() for value in values]
        _s, headers, _b = await runner.request(
            "survey: answer submit", "POST", mine, expect={302}, cookies=cookies, data=data
        )
        record.answer_acks.append((token, number, answers))
        if number == len(pages):
            record.completed.append(token)
        if rng.random() < REPLAY_SHARE:
            _s, again, _b = await runner.request(
                "survey: answer submit (replay)",
                "POST",
                mine,
                expect={302},
                cookies=cookies,
                data=data,
            )
            same = again.get("Idempotent-Replayed") == "true"
            same = same and again["Location"] == headers["Location"]
            record.replays["answers ok" if same else "answers DIFFERENT"] += 1
        location = headers["Location"]
        if number == len(pages):
            _s, _h, body = await runner.request(
                "survey: complete page", "GET", location, expect={200}, cookies=cookies
            )
        else:
            _s, _h, body = await runner.request(
                "survey: question page", "GET", location, expect={200}, cookies=cookies
            )


# --- annotators ---------------------------------------------------------------------------


async def annotator_round(runner: Runner, index: int, rng: random.Random) -> None:
    world, record = runner.world, runner.record
    auth = {"Authorization": f"Token {world['annotator_tokens'][index]}"}
    project = world["project_id"]
    status, _h, body = await runner.request(
        "annotation: next item",
        "POST",
        f"/api/annotation/projects/{project}/next/",
        expect={200, 204},
        headers=auth,
    )
    if status == 204:
        record.nothing_left += 1
        await asyncio.sleep(0.5)
        return
    item = json.loads(body)["item"]["id"]
    primary, secondary = rng.sample(world["categories"], 2)
    labels = [{"category": primary}]
    if rng.random() < 0.3:
        labels.append({"category": secondary, "role": "secondary"})
    payload = {"item": item, "labels": labels, "time_ms": rng.randint(800, 9000)}
    headers = {**auth, "Idempotency-Key": str(uuid.uuid4())}
    path = f"/api/annotation/projects/{project}/submit/"
    _s, _h, body = await runner.request(
        "annotation: rating submit", "POST", path, expect={201}, headers=headers, json=payload
    )
    annotation = json.loads(body)["id"]
    record.rating_acks.append((index, item, annotation))
    if rng.random() < REPLAY_SHARE:
        _s, again, body = await runner.request(
            "annotation: rating submit (replay)",
            "POST",
            path,
            expect={201},
            headers=headers,
            json=payload,
        )
        same = again.get("Idempotent-Replayed") == "true" and json.loads(body)["id"] == annotation
        record.replays["ratings ok" if same else "ratings DIFFERENT"] += 1


# --- monitors and the researcher ----------------------------------------------------------


async def healthz_round(runner: Runner) -> None:
    await runner.request("healthz", "GET", "/healthz", expect={200})


async def _job(runner: Runner, auth: dict, job: dict) -> dict:
    while job["status"] in ("pending", "running"):
        await asyncio.sleep(0.5)
        _s, _h, body = await runner.request(
            "researcher: job status", "GET", f"/api/jobs/{job['id']}/", expect={200}, headers=auth
        )
        job = json.loads(body)
    if job["status"] != "succeeded":
        runner.record.error("researcher: job", f"{job['kind']} {job['status']}: {job['message']}")
    return job


async def researcher_round(runner: Runner) -> None:
    world, record = runner.world, runner.record
    auth = {"Authorization": f"Token {world['researcher_token']}"}
    dataset = world["dataset_id"]
    _s, _h, body = await runner.request(
        "researcher: build",
        "POST",
        f"/api/benchmarks/datasets/{dataset}/build/",
        expect={202},
        headers=auth,
    )
    job = await _job(runner, auth, json.loads(body))
    if job["status"] != "succeeded":
        return
    record.builds.append(job["id"])
    _s, _h, body = await runner.request(
        "researcher: versions",
        "GET",
        f"/api/benchmarks/datasets/{dataset}/versions/",
        expect={200},
        headers=auth,
    )
    listed = json.loads(body)
    versions = listed["results"] if isinstance(listed, dict) else listed
    number = max(v["number"] for v in versions)
    base = f"/api/benchmarks/datasets/{dataset}/versions/{number}/exports/"
    _s, _h, body = await runner.request(
        "researcher: export", "POST", base, expect={202}, headers=auth, json={}
    )
    job = await _job(runner, auth, json.loads(body))
    if job["status"] != "succeeded":
        return
    _s, _h, body = await runner.request(
        "researcher: download", "GET", f"{base}{job['id']}/download/", expect={200}, headers=auth
    )
    record.exports.append((job["id"], len(body)))
    # The researcher looks at the new version before building the next one.
    await asyncio.sleep(RESEARCHER_PAUSE)


async def drive(
    *,
    base: str,
    world: dict,
    participants: int,
    annotators: int,
    monitors: int,
    researchers: int,
    seconds: float,
    warmup: float,
    seed: int,
    think: float = 0.0,
) -> Record:
    now = time.monotonic()
    record = Record(measure_from=now + warmup, measure_until=now + warmup + seconds)
    runner = Runner(
        base=base,
        world=world,
        record=record,
        deadline=record.measure_until,
        seed=seed,
        think=think,
    )
    clients = participants + annotators + monitors + researchers
    connector = aiohttp.TCPConnector(limit=clients, force_close=False)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(
        connector=connector, timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()
    ) as session:
        runner.session = session
        tasks = [
            _forever(runner, participant_round, random.Random(f"{seed}:p{i}"))
            for i in range(participants)
        ]
        tasks += [
            _forever(runner, annotator_round, i % len(world["annotator_tokens"]),
                     random.Random(f"{seed}:a{i}"))
            for i in range(annotators)
        ]  # fmt: skip
        tasks += [_forever(runner, healthz_round) for _ in range(monitors)]
        tasks += [_forever(runner, researcher_round) for _ in range(researchers)]
        await asyncio.gather(*tasks)
    return record
