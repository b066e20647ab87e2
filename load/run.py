"""The load harness (``make load``): Chorus under 64 concurrent clients on this machine.

Run from the repository root:  .venv/bin/python load/run.py   (``--help`` for the knobs)

1. Creates its own PostgreSQL database (``LOAD_DATABASE_URL``, default ``chorus_load`` on
   127.0.0.1; dropped and created fresh), migrates it, collects static files into a temporary
   folder and builds the fixture world (``load/world.py``).
2. Starts gunicorn (``--workers`` x ``--threads``, production settings: ``DEBUG=0``) on a
   free port of 127.0.0.1 and a Celery worker on Redis database 14 (also the cache the rate
   limits count in; the limits are raised far above the run's rates).
3. Drives the clients of ``load/clients.py`` for ``--seconds`` (after ``--warmup``):
   participants answering the survey, annotators rating, monitors calling ``/healthz`` and a
   researcher building and exporting a dataset version meanwhile. Each client pauses
   ``--think`` seconds on average before each request (exponential pauses), as a brisk
   person would: 64 of them ask about 60 requests a second, which a quiet 2-core machine
   serves with CPU to spare. ``--think 0`` drives flat out.
4. Reports throughput and p50/p95/p99 per endpoint, where the CPU went, what the database's
   active backends waited for (``load/probe.py``), audits the database (``load/audit.py``),
   counts the queries of each request in one more round, stops every process it started and
   drops its database (``--keep-db`` keeps it, with the server's logs).

Exit status 1 when a target is missed:
- rating submit and answer submit each reach at least 25% of the ``/healthz`` requests per
  second of the same run, with p99 under 500 ms;
- no errors (every answer had an expected status: no 5xx, no time-out);
- a clean audit (every acknowledged submit stored exactly once, no quota or k exceeded).

Traffic goes only to 127.0.0.1, and the whole run stops itself after ``--budget`` seconds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlparse, urlunparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The Celery broker and the cache; another run at the same time needs another database number.
BROKER = os.environ.get("LOAD_BROKER_URL", "redis://127.0.0.1:6379/14")
SUBMITS = ("annotation: rating submit", "survey: answer submit")
MIN_SHARE_OF_HEALTHZ = 0.25
MAX_P99 = 0.5
# The clients name each request in a header; the server logs its own time for it (µs).
ACCESS_FORMAT = "%({x-load-endpoint}i)s|%(s)s|%(D)s"


def _arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=75, help="measured time (75)")
    parser.add_argument("--warmup", type=float, default=5, help="unmeasured start (5)")
    parser.add_argument("--participants", type=int, default=24)
    parser.add_argument("--annotators", type=int, default=24)
    parser.add_argument("--monitors", type=int, default=15, help="/healthz clients (15)")
    parser.add_argument("--researchers", type=int, default=1)
    parser.add_argument("--workers", type=int, default=8, help="gunicorn workers (8)")
    parser.add_argument("--threads", type=int, default=1, help="threads per worker (1: sync)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="mean pause before each request, s (1)"
    )
    parser.add_argument("--items", type=int, default=6000, help="annotation items (6000)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--budget", type=float, default=290, help="hard stop, seconds (290)")
    parser.add_argument("--keep-db", action="store_true", help="leave the database for study")
    return parser.parse_args(argv)


class OutOfTime(BaseException):
    """The run passed its budget (raised by the alarm, wherever the run is)."""


def _out_of_time(signum, frame) -> None:
    raise OutOfTime


def _say(message: str) -> None:
    print(f"[load {time.strftime('%H:%M:%S')}] {message}", flush=True)


def _database_url() -> str:
    url = os.environ.get("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chorus_load")
    _check_local(url, "LOAD_DATABASE_URL")
    _check_local(BROKER, "LOAD_BROKER_URL")
    return url


def _check_local(url: str, name: str) -> None:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit(f"{name} must point at this machine, not {host}")


def _recreate(url: str, *, drop_only: bool = False) -> None:
    import psycopg

    parts = urlparse(url)
    name = parts.path.lstrip("/")
    reserved = name in ("chorus", "postgres", "root") or name.startswith("test")
    if not name.replace("_", "").isalnum() or reserved:
        raise SystemExit(f"refusing to drop the database {name!r}: name a database of its own")
    admin = urlunparse(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if not drop_only:
            conn.execute(f'CREATE DATABASE "{name}"')


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _environment(url: str, folder: Path) -> dict[str, str]:
    """Production-like settings (DEBUG off) for the server, the worker and this process."""
    high = "1000000/min"
    return {
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": url,
        "DATABASE_CONN_MAX_AGE": "300",
        "DEBUG": "0",
        "SECRET_KEY": secrets.token_urlsafe(40),
        "PSEUDONYM_KEY": secrets.token_urlsafe(40),
        # testserver: the queries-per-request probe (load/probe.py) runs in this process.
        "ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        "SECURE_SSL_REDIRECT": "0",
        "SECURE_HSTS_SECONDS": "0",
        "CELERY_BROKER_URL": BROKER,
        "CACHE_URL": BROKER,
        "MEDIA_ROOT": str(folder / "media"),
        "STATIC_ROOT": str(folder / "static"),
        "LOG_LEVEL": "WARNING",
        # Every client comes from 127.0.0.1: the per-address limits would refuse the run.
        "RATE_LIMIT_API_WRITES": high,
        "RATE_LIMIT_OPEN_LINK_STARTS": high,
        "RATE_LIMIT_TOKEN_MISSES": high,
        "QUOTA_HOLDS_PER_ADDRESS": "0",
    }


def _check_services() -> None:
    import psycopg
    import redis

    try:
        redis.Redis.from_url(BROKER, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        raise SystemExit(f"Redis is not answering on 127.0.0.1:6379 ({exc}): start it") from None
    admin = urlunparse(urlparse(_database_url())._replace(path="/postgres"))
    try:
        psycopg.connect(admin, connect_timeout=3).close()
    except psycopg.Error as exc:
        raise SystemExit(f"PostgreSQL is not answering ({exc}): start it") from None


class Processes:
    """The processes this run started; each is stopped by its own process group id."""

    def __init__(self) -> None:
        self.started: list[tuple[str, subprocess.Popen]] = []

    def start(self, name: str, argv: list[str], env: dict[str, str], log: Path):
        handle = log.open("w")
        process = subprocess.Popen(
            argv, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.started.append((name, process))
        return process

    def stop(self) -> None:
        for _name, process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 15
        for name, process in reversed(self.started):
            try:
                process.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                _say(f"{name} did not stop in time: killed")
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self.started.clear()


def _wait_http(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the server exited while starting (code {process.returncode})")
        try:
            with urllib.request.urlopen(url, timeout=2) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{url} did not answer within {seconds:.0f} s")


def _wait_worker(process: subprocess.Popen, seconds: float) -> None:
    from config.celery import app

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the Celery worker exited while starting (code {process.returncode})")
        if app.control.ping(timeout=0.5):
            return
    raise SystemExit(f"the Celery worker did not answer within {seconds:.0f} s")


def _busy_ticks(pids: list[int]) -> int:
    """CPU time (clock ticks, user + system) used so far by these processes."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
    return total


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(entry.name))
    return found


def _machine_ticks() -> tuple[int, int]:
    """(busy, all) clock ticks of every core since boot."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, sum(values)


def _stalled(resource: str) -> float:
    """Microseconds some task waited for ``resource`` since boot (pressure stall information;
    0 where the kernel has none)."""
    try:
        first = Path(f"/proc/pressure/{resource}").read_text().split("\n", 1)[0]
    except OSError:
        return 0.0
    return float(first.rsplit("total=", 1)[1])


class CpuMeter:
    """Where the machine's CPU went during the clients' run (Linux /proc)."""

    def __init__(self, groups: dict[str, list[int]]) -> None:
        self.groups = groups
        self.before = {name: _busy_ticks(pids) for name, pids in groups.items()}
        self.machine = _machine_ticks()
        self.stalls = {name: _stalled(name) for name in ("cpu", "io")}
        self.started = time.monotonic()

    def report(self) -> str:
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = time.monotonic() - self.started
        cores = os.cpu_count() or 1
        busy, total = _machine_ticks()
        busy_share = (busy - self.machine[0]) / max(total - self.machine[1], 1)
        parts = [f"machine {busy_share:.0%} busy of {cores} cores"]
        for name, pids in self.groups.items():
            used = (_busy_ticks(pids) - self.before[name]) / ticks
            parts.append(f"{name} {used / seconds:.2f} cores")
        stalls = [
            f"{name} {(_stalled(name) - before) / 1e6 / seconds:.0%} of the time"
            for name, before in self.stalls.items()
        ]
        return (
            "CPU during the run: " + ", ".join(parts) + "\n"
            "some runnable task waited for " + ", for ".join(stalls) + " (/proc/pressure)"
        )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(0, min(len(ordered) - 1, round(q * (len(ordered) - 1))))
    return ordered[rank]


def _report(record, seconds: float) -> dict[str, dict[str, float]]:
    names = sorted(set(record.statuses) | set(record.latencies))
    table: dict[str, dict[str, float]] = {}
    print()
    print(f"{'endpoint':38} {'requests':>8} {'rps':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'p99 ms':>7} {'max ms':>7} {'errors':>6}")  # fmt: skip
    for name in names:
        values = record.latencies.get(name, [])
        row = {
            "requests": len(values),
            "rps": len(values) / seconds,
            "p50": _percentile(values, 0.50),
            "p95": _percentile(values, 0.95),
            "p99": _percentile(values, 0.99),
            "max": max(values, default=float("nan")),
            "errors": record.errors.get(name, 0),
        }
        table[name] = row
        print(
            f"{name:38} {row['requests']:8d} {row['rps']:7.1f} {row['p50'] * 1000:7.0f} "
            f"{row['p95'] * 1000:7.0f} {row['p99'] * 1000:7.0f} {row['max'] * 1000:7.0f} "
            f"{row['errors']:6d}"
        )
    total = sum(len(v) for v in record.latencies.values())
    print(f"{'all':38} {total:8d} {total / seconds:7.1f}")
    return table


def _server_times(log: Path) -> str:
    """p50/p99 of the time each kind of request spent inside the server (from the moment
    gunicorn read it): a client time much longer than this was spent queuing for a worker."""
    times: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        name, _sep, rest = line.partition("|")
        _status, _sep, micros = rest.partition("|")
        if name != "-" and micros.isdigit():
            times.setdefault(name, []).append(int(micros) / 1e6)
    lines = ["time inside the server (gunicorn's access log), whole run:"]
    for name in (*SUBMITS, "annotation: next item", "survey: question page", "healthz"):
        values = times.get(name)
        if values:
            lines.append(
                f"  {name:30} p50 {_percentile(values, 0.5) * 1000:5.0f} ms  "
                f"p99 {_percentile(values, 0.99) * 1000:5.0f} ms"
            )
    return "\n".join(lines)


def _targets(table, record, problems) -> list[str]:
    missed = []
    healthz = table.get("healthz", {}).get("rps", 0.0)
    for name in SUBMITS:
        row = table.get(name)
        if not row or not row["requests"]:
            missed.append(f"{name}: no requests measured")
            continue
        share = row["rps"] / healthz if healthz else 0.0
        verdict = "met" if share >= MIN_SHARE_OF_HEALTHZ else "MISSED"
        print(f"  {verdict:6} {name}: {row['rps']:.1f} rps = {share:.0%} of /healthz "
              f"({healthz:.1f} rps); target >= {MIN_SHARE_OF_HEALTHZ:.0%}")  # fmt: skip
        if share < MIN_SHARE_OF_HEALTHZ:
            missed.append(f"{name}: {share:.0%} of /healthz rps")
        verdict = "met" if row["p99"] < MAX_P99 else "MISSED"
        print(f"  {verdict:6} {name}: p99 {row['p99'] * 1000:.0f} ms; target < "
              f"{MAX_P99 * 1000:.0f} ms")  # fmt: skip
        if row["p99"] >= MAX_P99:
            missed.append(f"{name}: p99 {row['p99'] * 1000:.0f} ms")
    errors = sum(record.errors.values())
    server_errors = sum(
        n for counts in record.statuses.values() for status, n in counts.items()
        if isinstance(status, int) and status >= 500
    )  # fmt: skip
    print(f"  {'met' if not errors else 'MISSED':6} errors: {errors} ({server_errors} of them "
          f"5xx); target 0")  # fmt: skip
    if errors:
        missed.append(f"{errors} errors")
    print(f"  {'met' if not problems else 'MISSED':6} audit: {len(problems)} problems")
    if problems:
        missed.append(f"audit: {len(problems)} problems")
    return missed


def main(argv: list[str]) -> int:
    args = _arguments(argv)
    signal.signal(signal.SIGALRM, _out_of_time)
    signal.alarm(int(args.budget))
    started = time.monotonic()
    url = _database_url()
    folder = Path(tempfile.mkdtemp(prefix="chorus-load-"))
    env = _environment(url, folder)
    os.environ.update(env)
    processes = Processes()
    code = 1
    try:
        _check_services()
        load_average = float(Path("/proc/loadavg").read_text().split()[0])
        if load_average > (os.cpu_count() or 1):
            _say(
                f"the machine is busy already (load average {load_average:.1f} on "
                f"{os.cpu_count()} cores): the figures will be lower than on a quiet machine"
            )
        import redis

        redis.Redis.from_url(BROKER).flushdb()
        _say(f"fresh database {urlparse(url).path.lstrip('/')}; migrating")
        _recreate(url)
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("collectstatic", verbosity=0, interactive=False)
        from django.db import connection

        from load import world as world_module

        _say("building the world")
        world = world_module.build(annotators=args.annotators, items=args.items).as_dict()
        # A database that has lived has planner statistics (autovacuum keeps them); a freshly
        # loaded one has none, and the planner then sorts every item to hand out the next one.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
        connection.close()

        port = _free_port()
        base = f"http://127.0.0.1:{port}"
        bin_dir = Path(sys.executable).parent
        server_env = {**os.environ, **env}
        server = processes.start(
            "gunicorn",
            [str(bin_dir / "gunicorn"), "config.wsgi:application", "--bind", f"127.0.0.1:{port}",
             "--workers", str(args.workers), "--threads", str(args.threads),
             "--worker-class", "sync" if args.threads == 1 else "gthread",
             "--timeout", "60", "--graceful-timeout", "10",
             "--keep-alive", "30", "--backlog", "256", "--no-control-socket",
             "--access-logfile", str(folder / "access.log"),
             "--access-logformat", ACCESS_FORMAT],
            server_env,
            folder / "gunicorn.log",
        )  # fmt: skip
        worker = processes.start(
            "celery",
            [str(bin_dir / "celery"), "-A", "config", "worker", "--pool", "solo",
             "--concurrency", "1", "--loglevel", "WARNING", "--without-gossip",
             "--without-mingle", "--without-heartbeat"],
            server_env,
            folder / "celery.log",
        )  # fmt: skip
        _wait_http(f"{base}/healthz", server, 60)
        _wait_worker(worker, 60)
        clients = args.participants + args.annotators + args.monitors + args.researchers
        _say(
            f"{clients} clients for {args.warmup:.0f} + {args.seconds:.0f} s against {base} "
            f"({args.workers} workers x {args.threads} threads): {args.participants} "
            f"participants, {args.annotators} annotators, {args.monitors} /healthz, "
            f"{args.researchers} researcher"
        )
        from load.clients import drive
        from load.probe import WaitSampler, queries_per_request

        sampler = WaitSampler(url, urlparse(url).path.lstrip("/"))
        sampler.start()
        meter = CpuMeter(
            {
                "web workers": _children(server.pid),
                "celery": [worker.pid],
                "load clients": [os.getpid()],
            }
        )

        record = asyncio.run(
            drive(
                base=base,
                world=world,
                participants=args.participants,
                annotators=args.annotators,
                monitors=args.monitors,
                researchers=args.researchers,
                seconds=args.seconds,
                warmup=args.warmup,
                seed=args.seed,
                think=args.think,
            )
        )
        cpu = meter.report()
        waits = sampler.stop()
        processes.stop()
        table = _report(record, args.seconds)
        print(cpu)
        print(waits)
        print(_server_times(folder / "access.log"))
        print(
            f"\nparticipants: {len(set(record.completed))} completed, {record.screened_out} "
            f"screened out; annotators: {len(record.rating_acks)} ratings, "
            f"{record.nothing_left} times nothing left; researcher: {len(record.builds)} "
            f"builds, {len(record.exports)} exports; replays: {dict(record.replays)}"
        )
        for sample in record.error_samples:
            print(f"  error: {sample}")
        from load.audit import audit

        problems, figures = audit(world, record)
        print("\naudit: " + ", ".join(f"{k} {v}" for k, v in figures.items()))
        for problem in problems[:20]:
            print(f"  PROBLEM {problem}")
        if any("DIFFERENT" in kind for kind in record.replays):
            problems.append("a replayed submit answered differently")
        print("\nqueries per request (one more round, in process, after the audit):")
        seen: dict[str, list[tuple[int, int, float]]] = {}
        for name, status, count, ms in queries_per_request(world):
            seen.setdefault(name, []).append((status, count, ms))
        for name, rows in seen.items():
            statuses = "/".join(sorted({str(status) for status, _c, _ms in rows}))
            counts = sorted({count for _s, count, _ms in rows})
            spread = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
            fastest = min(ms for _s, _c, ms in rows)
            print(f"  {name:30} {statuses:7} {spread:>5} queries  {fastest:6.1f} ms")
        print("\ntargets:")
        missed = _targets(table, record, problems)
        connection.close()
        print(f"\n{'all targets met' if not missed else 'MISSED: ' + '; '.join(missed)} "
              f"({time.monotonic() - started:.0f} s in all)")  # fmt: skip
        code = 0 if not missed else 1
    except OutOfTime:
        _say(f"the run passed its budget of {args.budget:.0f} s: stopped")
    finally:
        signal.alarm(0)
        processes.stop()
        if "django" in sys.modules:
            from django.db import connections

            connections.close_all()
        if args.keep_db:
            _say(f"kept the database and the logs in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
            try:
                _recreate(url, drop_only=True)
            except Exception as exc:  # the server may be what failed
                _say(f"could not drop the database: {exc}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
