"""Demo data: an emotion-rating project of generated clips and an expert policy project.

* "Demo: speech emotions": 18 one-second tones of different pitch (WAV written with numpy and
  the stdlib ``wave`` module). Twelve are already rated by five simulated raters (a primary
  and sometimes a secondary emotion, arousal and valence), spread over four weeks. The four
  fresh clips carry two ratings each from an earlier pilot, imported from CSV, and leave three
  places each for the demo annotators. Two clips are gold.
* "Demo: climate policy targets": twenty short invented passages labelled Net Zero /
  Reduction / Other (multi-label, with an explicit "none") by two simulated experts on
  a stratified sample of fourteen passages, which the demo expert rates too.

When the benchmarks app is installed, each project also becomes a benchmark dataset
("Demo: speech emotions", "Demo: climate policy targets"), built once.

Idempotent: a project or dataset that already exists in the demo study is left alone.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime, timedelta

import numpy as np
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import User
from annotation.media import write_tone_wav
from annotation.models import Assignment, LabelMode, MemberRole, Project
from annotation.services import (
    agreement_refresh,
    annotation_submit,
    assignment_next,
    expert_sample_draw,
    items_import,
    member_add,
    project_create,
    ratings_import,
)

EMOTION_PROJECT = "Demo: speech emotions"
POLICY_PROJECT = "Demo: climate policy targets"
# The benchmark datasets made of the two projects' votes.
EMOTION_DATASET = "Demo: speech emotions"
POLICY_DATASET = "Demo: climate policy targets"

EMOTIONS = [
    ("anger", "Anger", "Loud, tense, clipped."),
    ("joy", "Joy", "Bright, lively, rising."),
    ("sadness", "Sadness", "Low, slow, falling."),
    ("fear", "Fear", "Trembling, breathy, fast."),
    ("surprise", "Surprise", "Sudden jump in pitch."),
    ("disgust", "Disgust", "Drawn out, nasal."),
    ("calm", "Calm", "Even, relaxed."),
    ("neutral", "Neutral", "No particular emotion."),
]

PASSAGES = [
    ("We will reach net zero greenhouse gas emissions across the economy by 2050.", ["net-zero"]),
    ("Emissions will fall 55% below 1990 levels by 2030.", ["reduction"]),
    ("The city aims to be climate neutral by 2040 and to halve emissions by 2030.",
     ["net-zero", "reduction"]),
    ("A new cycling network will connect every district by 2028.", ["other"]),
    ("Power generation will be carbon-free by 2035.", ["other"]),
    ("We commit to cutting methane from agriculture by 30% within ten years.", ["reduction"]),
    ("The region will plant two million trees along its rivers.", ["other"]),
    ("All public buildings will be net zero in operation by 2030.", ["net-zero"]),
    ("The ministry will publish an annual report on adaptation spending.", ["none"]),
    ("Transport emissions are to drop by 40% compared with 2005.", ["reduction"]),
    ("Our goal is net-zero emissions no later than 2045, with an interim cut of 65% by 2030.",
     ["net-zero", "reduction"]),
    ("Coal-fired plants will close by 2029.", ["other"]),
    ("The plan sets up a climate council of independent scientists.", ["none"]),
    ("Industry will reduce its energy intensity by 2% a year.", ["reduction", "other"]),
    ("The island will run on renewable electricity alone by 2032.", ["other"]),
    ("Carbon neutrality for the whole country is targeted for 2060.", ["net-zero"]),
    ("Household heating emissions should fall by a quarter by 2027.", ["reduction"]),
    ("A fund will help farmers cope with droughts.", ["none"]),
    ("Greenhouse gas emissions will reach net zero by mid-century.", ["net-zero"]),
    ("The port will electrify all cranes and cut its emissions in half by 2030.",
     ["reduction", "other"]),
]  # fmt: skip

REGIONS = ["north", "south", "east", "west"]


def _simulated(username: str, display: str) -> User:
    user, created = User.objects.get_or_create(
        username=username, defaults={"display_name": display}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return user


def _lease(*, project: Project, user: User, now: datetime) -> Assignment:
    """The next assignment of a simulated rater; the demo projects hold enough items for all."""
    lease = assignment_next(project=project, user=user, now=now)
    if lease is None:
        raise RuntimeError(f"The demo project {project.name!r} has no item left for {user}.")
    return lease


def _simulate_emotions(project, people, truth, rng) -> None:
    sims = [_simulated(f"sim-rater-{n}", f"Simulated rater {n}") for n in range(1, 6)]
    for n, user in enumerate(sims):
        member_add(project=project, user=user, group="native" if n < 3 else "non-native")
    for user in people.annotators:
        member_add(project=project, user=user, group="demo")
    keys = [k for k, _, _ in EMOTIONS]
    start = timezone.now() - timedelta(days=28)
    # The simulated raters rate twelve clips (and a gold one); the rest stay open for the
    # demo annotators.
    for n, user in enumerate(sims):
        skill = 0.75 - 0.1 * n
        # Thirteen answers each: the twelve clips and, at the 0.1 gold rate, one gold clip.
        for j in range(13):
            when = start + timedelta(days=2 * j + n * 0.3, minutes=n)
            lease = _lease(project=project, user=user, now=when)
            ext = lease.item.external_id
            primary = truth[ext] if rng.random() < skill else str(rng.choice(keys))
            labels = [{"category": primary, "role": "primary"}]
            if rng.random() < 0.4:
                secondary = str(rng.choice([k for k in keys if k != primary]))
                labels.append({"category": secondary, "role": "secondary"})
            annotation_submit(
                project=project,
                user=user,
                item_id=lease.item_id,
                labels=labels,
                ratings={
                    "arousal": int(rng.integers(1, 8)),
                    "valence": int(rng.integers(1, 8)),
                },
                time_ms=int(rng.lognormal(8.3, 0.4)),
                now=when,
            )


def _pilot_ratings(project, truth, rng) -> int:
    """Two raters of an earlier pilot study rated the fresh clips; their CSV is imported."""
    keys = [k for k, _, _ in EMOTIONS]
    when = timezone.now() - timedelta(days=60)
    lines = ["item,rater,label,role,created,time_ms"]
    for i in (12, 13, 14, 15):
        ext = f"clip-{i:02d}"
        for n in (1, 2):
            primary = truth[ext] if rng.random() < 0.7 else str(rng.choice(keys))
            stamp = (when + timedelta(hours=i + n)).isoformat()
            ms = int(rng.lognormal(8.3, 0.4))
            lines.append(f"{ext},pilot-rater-{n},{primary},primary,{stamp},{ms}")
            if rng.random() < 0.5:
                secondary = str(rng.choice([k for k in keys if k != primary]))
                lines.append(f"{ext},pilot-rater-{n},{secondary},secondary,{stamp},{ms}")
    source = io.BytesIO(("\n".join(lines) + "\n").encode())
    return ratings_import(project=project, source=source)["answers"]


def _emotion_project(people, stdout) -> None:
    study = people.study
    if Project.objects.filter(study=study, name=EMOTION_PROJECT).exists():
        stdout.write(f"  {EMOTION_PROJECT}: already there")
        return
    project = project_create(
        study=study,
        user=people.researcher,
        name=EMOTION_PROJECT,
        description="One-second generated tones standing in for speech clips.",
        mode=LabelMode.PRIMARY_SECONDARY,
        categories=[{"key": k, "name": n, "description": d} for k, n, d in EMOTIONS],
        raters_per_item=5,
        gold_rate=0.1,
        guidelines=(
            "# Rating speech emotions\n\n"
            "Listen to the whole clip (**Space** plays and pauses). Choose the **primary** "
            "emotion with its number key, and any **secondary** emotions with Shift + number. "
            "Rate arousal and valence from 1 (low) to 7 (high) if you can.\n\n"
            "Disagreement is expected: give your own judgement, not a guess of the majority."
        ),
        scales=[
            {"key": "arousal", "name": "Arousal", "min": 1, "max": 7},
            {"key": "valence", "name": "Valence", "min": 1, "max": 7},
            {"key": "dominance", "name": "Dominance", "min": 1, "max": 7},
        ],
    )
    rng = np.random.default_rng(2026)
    archive = io.BytesIO()
    lines = ["external_id,media,speaker,region,year,gold_label"]
    truth = {}
    with zipfile.ZipFile(archive, "w") as z:
        for i in range(18):
            frequency = 180 + 40 * i
            z.writestr(f"clip-{i:02d}.wav", write_tone_wav(frequency=frequency, seconds=1.0))
            truth[f"clip-{i:02d}"] = EMOTIONS[i % len(EMOTIONS)][0]
            gold = truth[f"clip-{i:02d}"] if i in (16, 17) else ""
            lines.append(
                f"clip-{i:02d},clip-{i:02d}.wav,spk{i % 4},{REGIONS[i % 4]},{2020 + i % 5},{gold}"
            )
    # Twelve clips (and the gold ones) first, so the simulated raters fill exactly those; the
    # fresh clips come in afterwards for the demo annotators.
    first = [
        line for line in lines if not line.startswith(tuple(f"clip-{i}," for i in (12, 13, 14, 15)))
    ]
    for rows in (first, lines):
        report = items_import(
            project=project,
            data="\n".join(rows).encode(),
            filename="clips.csv",
            media_zip=archive.getvalue(),
        )
        assert report.ok, report.errors
        if rows is first:
            _simulate_emotions(project, people, truth, rng)
    pilot = _pilot_ratings(project, truth, rng)
    # The dashboard shows the last agreement report: the demo has one from the start.
    agreement_refresh(project=project, user=people.researcher)
    stdout.write(
        f"  {EMOTION_PROJECT}: 18 clips, 65 simulated ratings, {pilot} imported from a pilot"
    )


def _policy_project(people, stdout) -> None:
    study = people.study
    if Project.objects.filter(study=study, name=POLICY_PROJECT).exists():
        stdout.write(f"  {POLICY_PROJECT}: already there")
        return
    project = project_create(
        study=study,
        user=people.researcher,
        name=POLICY_PROJECT,
        description="Invented passages about climate targets, labelled by experts.",
        mode=LabelMode.MULTI_LABEL,
        categories=[
            {
                "key": "net-zero",
                "name": "Net Zero",
                "description": "A target of net zero, carbon or climate neutrality.",
                "examples": "'net zero by 2050'; boundary: 'carbon-free power' is Other.",
            },
            {
                "key": "reduction",
                "name": "Reduction",
                "description": "A quantified cut of emissions against a base year or level.",
                "examples": "'55% below 1990 by 2030'; boundary: 'halve' counts.",
            },
            {
                "key": "other",
                "name": "Other",
                "description": "Another kind of target (renewables share, phase-outs...).",
                "examples": "'coal plants close by 2029'",
            },
            {
                "key": "none",
                "name": "No target",
                "description": "The passage sets no target.",
                "is_none": True,
            },
        ],
        raters_per_item=1,
        expert_raters_per_item=3,
        expert_sample_rate=0.7,
        allow_evidence=True,
        guidelines=(
            "# Codebook: climate policy targets\n\n"
            "Label every target type the passage sets; a passage may have several, or none. "
            "Read the boundary examples of each category before you start."
        ),
    )
    lines = ["external_id,text,region,year,source,translated"]
    for i, (text, _) in enumerate(PASSAGES):
        quoted = text.replace('"', '""')
        lines.append(
            f'p{i:02d},"{quoted}",{REGIONS[i % 4]},{2015 + i % 9},plan-{i % 5},{i % 3 == 0}'
        )
    report = items_import(project=project, data="\n".join(lines).encode(), filename="p.csv")
    assert report.ok, report.errors
    expert_sample_draw(project=project, stratify_by="region", seed=1)
    experts = [_simulated(f"sim-expert-{n}", f"Simulated expert {n}") for n in (1, 2)]
    for user in experts:
        member_add(project=project, user=user, role=MemberRole.EXPERT, group="experts")
    member_add(project=project, user=people.expert, role=MemberRole.EXPERT, group="experts")
    rng = np.random.default_rng(7)
    gold = {f"p{i:02d}": labels for i, (_, labels) in enumerate(PASSAGES)}
    start = timezone.now() - timedelta(days=10)
    for n, user in enumerate(experts):
        for j in range(14):
            when = start + timedelta(hours=6 * j + n)
            lease = _lease(project=project, user=user, now=when)
            labels = list(gold[lease.item.external_id])
            if rng.random() < 0.2:
                labels = ["other"] if labels != ["other"] else ["none"]
            annotation_submit(
                project=project,
                user=user,
                item_id=lease.item_id,
                labels=[{"category": key} for key in labels],
                time_ms=int(rng.lognormal(9.5, 0.3)),
                now=when,
            )
    agreement_refresh(project=project, user=people.researcher)
    stdout.write(f"  {POLICY_PROJECT}: 20 passages, 28 simulated expert answers")


def load(*, people, stdout) -> None:
    _emotion_project(people, stdout)
    _policy_project(people, stdout)
    _dataset(people, stdout, name=EMOTION_DATASET, project_name=EMOTION_PROJECT, roles=[])
    _dataset(people, stdout, name=POLICY_DATASET, project_name=POLICY_PROJECT, roles=[])


def _dataset(people, stdout, *, name: str, project_name: str, roles: list[str]) -> None:
    """The benchmark dataset of one demo project's votes, created and built once."""
    from django.apps import apps

    if not apps.is_installed("benchmarks"):
        stdout.write(f"  {project_name}: no benchmarks app; no demo dataset")
        return
    from benchmarks.demo import build_and_report
    from benchmarks.models import Dataset
    from benchmarks.services import (
        dataset_create,
        source_annotation_create,
    )

    if Dataset.objects.filter(study=people.study, name=name).exists():
        return
    project = Project.objects.filter(study=people.study, name=project_name).first()
    if project is None:
        stdout.write(f"  {project_name}: the demo project is not there; no demo dataset")
        return
    categories = list(project.categories.order_by("order", "id").values_list("key", flat=True))
    with transaction.atomic():
        try:
            dataset = dataset_create(
                study=people.study,
                user=people.researcher,
                name=name,
                description=f"Votes of the annotation project {project_name!r}.",
                categories=categories,
                parameters={"tie_policy": "drop", "seed": 0, "secondary_weight": 0.5},
                split_stratify="all_inclusive",
            )
            source_annotation_create(
                dataset=dataset, project_id=project.pk, roles=roles, name=project_name
            )
        except ValidationError as exc:
            stdout.write(f"  {name}: not created ({exc.messages})")
            return
    build_and_report(dataset, people, stdout)
