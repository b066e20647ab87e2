"""The audit after a load run: what the clients were told against what the database holds.

Call after ``django.setup()``. Returns the problems found (an empty list is a clean audit)
and the figures it counted.
"""

from __future__ import annotations

from collections import Counter

from load.clients import Record


def audit(world: dict, record: Record) -> tuple[list[str], dict[str, int]]:
    problems: list[str] = []
    figures: dict[str, int] = {}
    problems += _survey(world, record, figures)
    problems += _annotation(world, record, figures)
    problems += _benchmarks(world, record, figures)
    return problems, figures


def _survey(world: dict, record: Record, figures: dict[str, int]) -> list[str]:
    from surveys.models import (
        Answer,
        QuotaCell,
        QuotaReservation,
        Response,
        ResponseStatus,
        Survey,
    )

    problems = []
    survey = Survey.objects.get(pk=world["survey_id"])
    stored: dict[tuple[str, str], list[list[str]]] = {}
    for token, code, choices in Answer.objects.filter(response__survey=survey).values_list(
        "response__token", "question__code", "choices"
    ):
        stored.setdefault((token, code), []).append(sorted(choices))
    figures["answers stored"] = sum(len(v) for v in stored.values())
    twice = [key for key, rows in stored.items() if len(rows) != 1]
    if twice:
        problems.append(f"{len(twice)} questions answered more than once, e.g. {twice[:3]}")
    acked_answers = 0
    for token, page, answers in record.answer_acks:
        for code, values in answers.items():
            acked_answers += 1
            rows = stored.get((token, code))
            if rows is None:
                problems.append(f"acknowledged answer missing: {token[:8]}… page {page} {code}")
            elif sorted(values) not in rows:
                problems.append(f"answer {token[:8]}… {code} stored as {rows}, sent {values}")
    figures["answers acknowledged"] = acked_answers

    statuses = dict(
        Response.objects.filter(survey=survey).values_list("token", "status").iterator()
    )
    not_completed = [t for t in record.completed if statuses.get(t) != ResponseStatus.COMPLETED]
    if not_completed:
        problems.append(f"{len(not_completed)} acknowledged completions are not completed")
    completed_in_db = sum(1 for s in statuses.values() if s == ResponseStatus.COMPLETED)
    figures["completions acknowledged"] = len(set(record.completed))
    figures["responses completed (db)"] = completed_in_db
    figures["responses screened out (db)"] = sum(
        1 for s in statuses.values() if s == ResponseStatus.SCREENED_OUT
    )
    if not record.errors and completed_in_db != len(set(record.completed)):
        problems.append(
            f"{completed_in_db} responses completed in the database, "
            f"{len(set(record.completed))} acknowledged"
        )

    filled_total = 0
    for quota in QuotaCell.objects.filter(design_id=survey.design_id):
        completed = Response.objects.filter(
            survey=survey, cell_id=quota.cell_id, status=ResponseStatus.COMPLETED
        ).count()
        held = QuotaReservation.objects.filter(quota=quota).count()
        filled_total += quota.filled
        name = str(quota.cell)
        if quota.filled + quota.reserved > quota.target:
            problems.append(f"quota {name}: {quota.filled} + {quota.reserved} > {quota.target}")
        if quota.filled != completed:
            problems.append(f"quota {name}: filled {quota.filled}, completed {completed}")
        if quota.reserved != held:
            problems.append(f"quota {name}: reserved {quota.reserved}, holds {held}")
    figures["quota places filled"] = filled_total
    full = QuotaCell.objects.filter(design_id=survey.design_id).values_list(
        "filled", "reserved", "target"
    )
    figures["quota cells full"] = sum(1 for f, r, t in full if f + r >= t)
    return problems


def _annotation(world: dict, record: Record, figures: dict[str, int]) -> list[str]:
    from django.db.models import Count, Q
    from rest_framework.authtoken.models import Token

    from annotation.models import Annotation, Assignment, AssignmentStatus, Item, Pool

    problems = []
    project_id = world["project_id"]
    users = dict(
        Token.objects.filter(key__in=world["annotator_tokens"]).values_list("key", "user_id")
    )
    user_of = [users[token] for token in world["annotator_tokens"]]
    every = Annotation.objects.filter(assignment__item__project_id=project_id).values_list(
        "pk", "assignment__item_id", "assignment__rater_id"
    )
    pairs = Counter((item, rater) for _pk, item, rater in every)
    # The early raters' answers came before the run; the audit is about the run's.
    stored = {pk: (item, rater) for pk, item, rater in every if rater in set(user_of)}
    figures["ratings stored"] = len(stored)
    figures["ratings acknowledged"] = len(record.rating_acks)
    ids = Counter(annotation for _i, _item, annotation in record.rating_acks)
    again = [pk for pk, n in ids.items() if n > 1]
    if again:
        problems.append(f"{len(again)} annotation ids acknowledged twice, e.g. {again[:3]}")
    for index, item, annotation in record.rating_acks:
        if stored.get(annotation) != (item, user_of[index]):
            problems.append(
                f"acknowledged rating {annotation} (item {item}) is stored as "
                f"{stored.get(annotation)}"
            )
    if not record.errors and len(stored) != len(ids):
        problems.append(f"{len(stored)} ratings stored, {len(ids)} acknowledged")
    doubled = [pair for pair, n in pairs.items() if n > 1]
    if doubled:
        problems.append(f"{len(doubled)} (item, rater) pairs rated twice")

    k = world["raters_per_item"]
    taken = Count(
        "assignments",
        filter=Q(assignments__pool=Pool.ANNOTATOR)
        & Q(assignments__status__in=[AssignmentStatus.LEASED, AssignmentStatus.DONE]),
    )
    done = Count(
        "assignments",
        filter=Q(assignments__pool=Pool.ANNOTATOR) & Q(assignments__status=AssignmentStatus.DONE),
    )
    over = wrong = 0
    for _pk, slots_taken, slots_total, leased_or_done, answered in (
        Item.objects.filter(project_id=project_id)
        .annotate(taken=taken, done=done)
        .values_list("pk", "slots_taken", "slots_total", "taken", "done")
    ):
        if answered > k or slots_taken > slots_total or slots_total != k:
            over += 1
        if slots_taken != leased_or_done:
            wrong += 1
    if over:
        problems.append(f"{over} items past k={k} ratings")
    if wrong:
        problems.append(f"{wrong} items whose slot counter differs from their assignments")
    figures["items fully rated"] = (
        Item.objects.filter(project_id=project_id).annotate(done=done).filter(done=k).count()
    )
    figures["leases open"] = Assignment.objects.filter(
        item__project_id=project_id, status=AssignmentStatus.LEASED
    ).count()
    return problems


def _benchmarks(world: dict, record: Record, figures: dict[str, int]) -> list[str]:
    from benchmarks.models import Version
    from jobs.models import Job, JobStatus

    problems = []
    numbers = list(
        Version.objects.filter(dataset_id=world["dataset_id"])
        .order_by("number")
        .values_list("number", flat=True)
    )
    if numbers != list(range(1, len(numbers) + 1)):
        problems.append(f"version numbers are not 1..n: {numbers}")
    failed = Job.objects.filter(study_id=world["study_id"], status=JobStatus.FAILED)
    for job in failed[:5]:
        problems.append(f"job {job.kind} failed: {job.message}")
    if record.exports and min(size for _id, size in record.exports) == 0:
        problems.append("an export downloaded empty")
    figures["versions built"] = len(numbers)
    figures["exports downloaded"] = len(record.exports)
    return problems
