"""Model endpoints and the runs that ask them every item of a version.

A run is a job: it asks the endpoint about each item that has no answer yet (so a killed or
failed run, started again, continues where it stopped), with at most the endpoint's
``max_concurrency`` requests at once, retrying timeouts, 429s, 5xx and unreadable answers
with exponential back-off, and stores the answers in batches. Items that still fail are
stored with the reason. Then the run is scored like uploaded predictions.
"""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from typing import Any

import pandas as pd
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from accounts.models import Study, User
from benchmarks.models import Dataset, Version
from benchmarks.selectors import version_contents, version_item_keys
from evaluation import client, crypto
from evaluation.models import (
    ENDPOINT_JOB_KIND,
    ApiStyle,
    ModelEndpoint,
    Prediction,
    Run,
    RunKind,
    RunStatus,
)
from jobs.messages import JobMessage
from jobs.services import ProgressFn, job_start

BATCH = 50
BACKOFF_SECONDS = 0.2
BACKOFF_MAX = 5.0


@transaction.atomic
def endpoint_create(
    *,
    study: Study,
    user: User | None,
    name: str,
    url: str,
    model: str,
    api_style: str = ApiStyle.CHAT,
    api_key: str = "",
    api_key_env: str = "",
    max_concurrency: int = 4,
    timeout_seconds: float = 30.0,
    max_retries: int = 3,
    price_input: float = 0.0,
    price_output: float = 0.0,
) -> ModelEndpoint:
    """Register an endpoint; a key given here is stored encrypted, ``api_key_env`` names an
    environment variable to read it from at run time instead."""
    if api_key and api_key_env:
        raise ValidationError({"api_key": [_("Give a key or an environment variable, not both.")]})
    endpoint = ModelEndpoint(
        study=study,
        name=name,
        url=url,
        model=model,
        api_style=api_style,
        api_key_env=api_key_env,
        api_key_encrypted=crypto.encrypt(api_key),
        max_concurrency=max_concurrency,
        timeout_seconds=timeout_seconds,
        max_retries=max_retries,
        price_input=price_input,
        price_output=price_output,
        created_by=user,
    )
    endpoint.full_clean(exclude=["study", "created_by", "api_key_encrypted"])
    if ModelEndpoint.objects.filter(study=study, name=name).exists():
        raise ValidationError({"name": [_("This study already has an endpoint with this name.")]})
    endpoint.save()
    return endpoint


def endpoint_key(endpoint: ModelEndpoint) -> str:
    if endpoint.api_key_env:
        return os.environ.get(endpoint.api_key_env, "")
    return crypto.decrypt(bytes(endpoint.api_key_encrypted))


@transaction.atomic
def endpoint_run_create(
    *,
    dataset: Dataset,
    version: Version,
    endpoint: ModelEndpoint,
    user: User | None,
    name: str = "",
    language: str = "en",
    prompt_template: str = "",
) -> Run:
    """The run's row, pending and without a job: :func:`endpoint_run_execute` asks the
    endpoint (the demo calls it in process; :func:`endpoint_run_start` through a job)."""
    if endpoint.study_id != dataset.study_id:
        raise ValidationError({"endpoint": [_("This endpoint belongs to another study.")]})
    try:
        client.check_template(prompt_template)
    except client.TemplateError as exc:
        if exc.placeholder is None:
            problem = exc.reason  # Python's own words on a format it cannot parse
        else:
            problem = _("unknown placeholder %(name)s; use %(names)s") % {
                "name": f"{{{exc.placeholder}}}",
                "names": client.placeholder_list(),
            }
        raise ValidationError({"prompt_template": [problem]}) from exc
    if language not in ("en", "ko"):
        raise ValidationError({"language": [_("Choose en or ko.")]})
    name = (name or f"{endpoint.name} ({endpoint.model})")[:200]
    if Run.objects.filter(version=version, name=name).exists():
        raise ValidationError(
            {
                "name": [
                    _("Version %(number)s already has a run %(name)r.")
                    % {"number": version.number, "name": name}
                ]
            }
        )
    return Run.objects.create(
        dataset=dataset,
        version=version,
        name=name,
        kind=RunKind.ENDPOINT,
        status=RunStatus.PENDING,
        endpoint=endpoint,
        language=language,
        prompt_template=prompt_template,
        created_by=user,
    )


@transaction.atomic
def endpoint_run_start(
    *,
    dataset: Dataset,
    version: Version,
    endpoint: ModelEndpoint,
    user: User | None,
    name: str = "",
    language: str = "en",
    prompt_template: str = "",
) -> Run:
    """Create the run and its job; the job is enqueued once the transaction commits."""
    from evaluation.tasks import endpoint_run_task

    run = endpoint_run_create(
        dataset=dataset,
        version=version,
        endpoint=endpoint,
        user=user,
        name=name,
        language=language,
        prompt_template=prompt_template,
    )
    # Checks the broker first (BackgroundUnavailable, nothing kept) and queues on commit.
    job = job_start(
        kind=ENDPOINT_JOB_KIND,
        task=endpoint_run_task,
        user=user,
        study=dataset.study,
        params={"dataset_id": dataset.pk, "run_id": run.pk},
    )
    Run.objects.filter(pk=run.pk).update(job=job)
    run.job = job
    return run


def _value(row: dict[str, Any], key: str) -> Any:
    """A cell of a content row, None where it is missing (None, NaN or NA)."""
    value = row.get(key)
    if value is None or (not hasattr(value, "__len__") and pd.isna(value)):
        return None
    return value


def _tasks(run: Run) -> list[dict[str, Any]]:
    """One prompt's worth of facts per item that has no answer yet."""
    version = run.version
    keys = version_item_keys(version=version)
    contents = version_contents(version=version)
    rows: dict[str, dict[str, Any]] = (
        {str(r["item"]): {str(k): v for k, v in r.items()} for r in contents.to_dict("records")}
        if contents is not None
        else {}
    )
    answered = set(Prediction.objects.filter(run=run, error="").values_list("item", flat=True))
    categories = list(version.categories)
    lang = run.language
    tasks = []
    for key in keys:
        if key in answered:
            continue
        row = rows.get(key, {})
        kind = str(_value(row, "kind") or "text")
        if kind == "question":
            options_cell = _value(row, "options")
            codes = [str(c) for c in (options_cell if options_cell is not None else [])]
            texts = _value(row, f"option_texts_{lang}")
            if texts is None or not len(texts):
                texts = _value(row, "option_texts_en")
            texts = [str(t or "") for t in (texts if texts is not None else [""] * len(codes))]
            question = _value(row, f"question_{lang}") or _value(row, "question") or ""
            options = list(zip(codes, texts, strict=False))
            tasks.append(
                {
                    "item": key,
                    "kind": kind,
                    "question": str(question),
                    "options": options,
                    "names": codes,
                    "labels": dict(options),
                }
            )
        else:
            tasks.append(
                {
                    "item": key,
                    "kind": kind,
                    "text": str(_value(row, "text") or ""),
                    "names": categories,
                    "labels": {},
                }
            )
    return tasks


def _ask(task: dict[str, Any], run: Run, endpoint: ModelEndpoint, key: str) -> Prediction:
    prompt = client.build_prompt(
        template=run.prompt_template,
        kind=task["kind"],
        item=task["item"],
        text=task.get("text", ""),
        question=task.get("question", ""),
        options=task.get("options", ()),
        categories=task["names"],
        language=run.language,
    )
    error = ""
    attempts = 0
    tokens_in = tokens_out = 0
    for attempt in range(endpoint.max_retries + 1):
        attempts = attempt + 1
        try:
            answer = client.call(
                url=endpoint.url,
                api_style=endpoint.api_style,
                model=endpoint.model,
                prompt=prompt,
                key=key,
                timeout=endpoint.timeout_seconds,
            )
        except client.EndpointError as exc:
            error = str(exc)
            if not exc.retry:
                break
        else:
            tokens_in += answer.tokens_in
            tokens_out += answer.tokens_out
            choice = client.parse_choice(answer.text, task["names"], task["labels"])
            probs = client.option_probabilities(answer.top_logprobs, task["names"])
            if not choice and probs is not None:
                choice = task["names"][max(range(len(probs)), key=probs.__getitem__)]
            if choice:
                return Prediction(
                    item=task["item"],
                    label=choice,
                    probs=probs,
                    raw=answer.text[:2000],
                    attempts=attempts,
                    tokens_in=tokens_in,
                    tokens_out=tokens_out,
                )
            error = f"the answer names no option: {answer.text[:80]!r}"
        if attempt < endpoint.max_retries:
            time.sleep(min(BACKOFF_MAX, BACKOFF_SECONDS * 2**attempt))
    return Prediction(
        item=task["item"],
        error=error[:500],
        attempts=attempts,
        tokens_in=tokens_in,
        tokens_out=tokens_out,
    )


def _store(run: Run, batch: list[Prediction]) -> None:
    """Upsert a batch of answers (a re-run replaces an item's failed answer)."""
    for p in batch:
        p.run = run
    with transaction.atomic():
        Prediction.objects.bulk_create(
            batch,
            update_conflicts=True,
            unique_fields=["run", "item"],
            update_fields=["label", "labels", "probs", "raw", "error", "attempts", "tokens_in",
                           "tokens_out"],
        )  # fmt: skip


def _no_progress(percent: int, message: str | JobMessage = "") -> None:
    return None


def endpoint_run_execute(*, run: Run, progress: ProgressFn | None = None) -> Run:
    """Ask the endpoint about every unanswered item, store the answers, score the run."""
    from evaluation.services.scoring import run_rescore

    progress = progress or _no_progress
    endpoint = run.endpoint
    if endpoint is None:
        raise ValidationError({"endpoint": [_("The run's endpoint was deleted.")]})
    Run.objects.filter(pk=run.pk).update(status=RunStatus.RUNNING)
    key = endpoint_key(endpoint)
    tasks = _tasks(run)
    total = len(tasks)
    done = 0
    batch: list[Prediction] = []
    with ThreadPoolExecutor(max_workers=endpoint.max_concurrency) as pool:
        futures = [pool.submit(_ask, task, run, endpoint, key) for task in tasks]
        for future in as_completed(futures):
            batch.append(future.result())
            done += 1
            if len(batch) >= BATCH or done == total:
                _store(run, batch)
                batch = []
                progress(
                    int(95 * done / max(total, 1)),
                    JobMessage(
                        gettext_noop("%(done)s of %(total)s items asked"),
                        {"done": done, "total": total},
                    ),
                )
    rows = Prediction.objects.filter(run=run)
    n_items = len(version_item_keys(version=run.version))
    failed = rows.exclude(error="").count()
    sums = {"tokens_in": 0, "tokens_out": 0}
    for t_in, t_out in rows.values_list("tokens_in", "tokens_out"):
        sums["tokens_in"] += t_in
        sums["tokens_out"] += t_out
    cost = (
        sums["tokens_in"] * endpoint.price_input + sums["tokens_out"] * endpoint.price_output
    ) / 1000.0
    Run.objects.filter(pk=run.pk).update(
        n_items=n_items,
        n_predicted=rows.filter(error="").count(),
        n_failed=failed,
        tokens_in=sums["tokens_in"],
        tokens_out=sums["tokens_out"],
        cost=cost,
        status=RunStatus.DONE,
        message=f"{failed} item(s) failed; see their reasons" if failed else "",
    )
    run.refresh_from_db()
    progress(98, gettext_noop("Scoring"))
    return run_rescore(run=run)
