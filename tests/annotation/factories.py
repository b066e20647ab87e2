"""Builders for annotation tests: projects with a schema, members, items, answers."""

from __future__ import annotations

from annotation.models import LabelMode, MemberRole, Project
from annotation.services import member_add, project_create
from tests.accounts.factories import UserFactory

EMOTIONS = ["anger", "joy", "sadness", "fear"]
SCALES = [
    {"key": "arousal", "name": "Arousal", "min": 1, "max": 7},
    {"key": "valence", "name": "Valence", "min": 1, "max": 7},
]


def emotion_project(*, study, user, k: int = 3, **extra) -> Project:
    extra.setdefault("scales", SCALES)
    return project_create(
        study=study,
        user=user,
        name=extra.pop("name", "Speech emotions"),
        mode=extra.pop("mode", LabelMode.PRIMARY_SECONDARY),
        categories=[{"key": key, "name": key.title()} for key in EMOTIONS],
        raters_per_item=k,
        **extra,
    )


def policy_project(*, study, user, k: int = 2) -> Project:
    return project_create(
        study=study,
        user=user,
        name="Policy targets",
        mode=LabelMode.MULTI_LABEL,
        categories=[
            {"key": "net-zero", "name": "Net Zero"},
            {"key": "reduction", "name": "Reduction"},
            {"key": "other", "name": "Other"},
        ],
        raters_per_item=k,
    )


def raters(project: Project, n: int, *, prefix: str = "rater", role=MemberRole.ANNOTATOR):
    users = [UserFactory(username=f"{prefix}{i}") for i in range(n)]
    for user in users:
        member_add(project=project, user=user, role=role)
    return users


def text_items(project: Project, n: int, *, gold: dict[int, str] | None = None) -> None:
    from annotation.services import items_import

    gold = gold or {}
    lines = ["external_id,text,speaker,gold_label"]
    for i in range(n):
        lines.append(f"t{i:02d},Passage {i},spk{i % 3},{gold.get(i, '')}")
    report = items_import(project=project, data="\n".join(lines).encode(), filename="items.csv")
    assert report.ok, report.rows


def tones(n: int = 6, seconds: float = 0.2) -> dict[str, bytes]:
    """``a0.wav``... WAV tones of distinct pitches."""
    from annotation.media import write_tone_wav

    return {f"a{i}.wav": write_tone_wav(frequency=300 + 50 * i, seconds=seconds) for i in range(n)}


def audio_items(project: Project, clips: dict[str, bytes], *, raters: int = 3) -> None:
    """Import ``clips`` as items ``a0``... with their media, rated by ``raters`` imported raters
    (``rater0``...; labels cycle through the first three emotions)."""
    import io
    import zipfile

    from annotation.services import items_import, ratings_import

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for name, data in clips.items():
            zf.writestr(name, data)
    rows = "".join(f"{name.removesuffix('.wav')},{name}\n" for name in clips)
    report = items_import(
        project=project,
        data=f"external_id,media\n{rows}".encode(),
        filename="clips.csv",
        media_zip=archive.getvalue(),
    )
    assert report.ok, report.rows
    ratings = "item,rater,label\n" + "".join(
        f"{name.removesuffix('.wav')},rater{j},{EMOTIONS[(i + j) % 3]}\n"
        for i, name in enumerate(clips)
        for j in range(raters)
    )
    ratings_import(project=project, source=io.BytesIO(ratings.encode()))
