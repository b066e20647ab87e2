"""The fixture world of the load run, made through the services (call after ``django.setup()``).

- A researcher owning a study, with an API token.
- An open-link survey with a sample design over six cells (region x gender), so that every
  participant passes the screener and holds a quota place. The cells' quotas differ a lot:
  the small ones fill during the run (later entrants there are screened out), the large ones
  do not. Three pages of two questions each.
- An annotation project (primary + secondary emotions, k raters per item) with enough items
  for the whole run, and annotators with API tokens.
- A dataset reading that project (its votes grow while the researcher builds versions).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

# Census counts per cell: the proportional allocation of n gives each cell its quota.
# With n = 1,000 the quotas are 300, 260, 190, 150, 90 and 10: participants pick a cell at
# random, so Jeju/M fills within seconds (its later entrants are screened out, while places
# are still held by those answering) and the others stay open.
CELLS = {
    ("Seoul", "F"): 3000,
    ("Seoul", "M"): 2600,
    ("Busan", "F"): 1900,
    ("Busan", "M"): 1500,
    ("Jeju", "F"): 900,
    ("Jeju", "M"): 100,
}
SAMPLE_SIZE = 1000
# Ratings given before the run by three early raters (the first build needs votes).
EARLY_RATINGS = 30
EMOTIONS = ["anger", "joy", "sadness", "fear", "neutral"]
AGREE = [
    ("1", "Strongly disagree", "전혀 동의하지 않음"),
    ("2", "Disagree", "동의하지 않음"),
    ("3", "Neutral", "보통"),
    ("4", "Agree", "동의함"),
    ("5", "Strongly agree", "매우 동의함"),
]


@dataclass
class World:
    study_id: int
    researcher_token: str
    survey_id: int
    open_token: str
    screener: dict[str, list[str]]
    # One entry per page: [(question code, kind, option codes)].
    pages: list[list[tuple[str, str, list[str]]]]
    project_id: int
    raters_per_item: int
    items: int
    annotator_tokens: list[str]
    categories: list[str]
    dataset_id: int

    def as_dict(self) -> dict:
        return asdict(self)


def build(*, annotators: int, items: int, raters_per_item: int = 3) -> World:
    from rest_framework.authtoken.models import Token

    from accounts.models import User
    from accounts.services import researcher_grant, study_create
    from annotation.models import LabelMode, MemberRole
    from annotation.services import (
        annotation_submit,
        assignment_next,
        items_import,
        member_add,
        project_create,
    )
    from benchmarks.services import dataset_create, source_annotation_create
    from surveys import services as surveys

    def user(name: str) -> User:
        person = User(username=name, email=f"{name}@example.org")
        person.set_unusable_password()
        person.save()
        return person

    researcher = user("load-researcher")
    researcher_grant(user=researcher)
    study = study_create(user=researcher, name="Load run")

    lines = ["region,gender,count"] + [f"{r},{g},{n}" for (r, g), n in CELLS.items()]
    population = surveys.population_import(
        study=study, name="Korea", csv_text="\n".join(lines) + "\n"
    )
    design = surveys.design_create(study=study, population=population, name="Main", n=SAMPLE_SIZE)
    survey = surveys.survey_create(
        study=study,
        title_en="Values (load run)",
        title_ko="가치관 조사",
        intro_en="We ask about your values.",
        intro_ko="가치관에 대해 묻습니다.",
        design=design,
        open_link_enabled=True,
    )
    pages: list[list[tuple[str, str, list[str]]]] = []
    for number in range(1, 4):
        block = surveys.block_create(survey=survey, title_en=f"Part {number}")
        single = [(f"o{i}", f"Option {i}", f"선택 {i}") for i in range(1, 5)]
        specs = [
            (f"scale{number}", "scale", AGREE),
            (f"choice{number}", "single" if number != 2 else "multiple", single),
        ]
        page = []
        for code, kind, options in specs:
            surveys.question_create(
                block=block,
                code=code,
                kind=kind,
                text_en=f"Question {code}",
                text_ko=f"질문 {code}",
                options=options,
            )
            page.append((code, kind, [c for c, _en, _ko in options]))
        pages.append(page)
    reviewer = user("load-reviewer")
    for question in survey.questions.all():
        surveys.question_submit(question=question, user=researcher)
        surveys.question_review(question=question, reviewer=reviewer, decision="approve")
    survey = surveys.survey_open(survey=survey)

    project = project_create(
        study=study,
        user=researcher,
        name="Speech emotions (load run)",
        mode=LabelMode.PRIMARY_SECONDARY,
        categories=[{"key": key, "name": key.title()} for key in EMOTIONS],
        raters_per_item=raters_per_item,
    )
    rows = ["external_id,text,speaker"] + [
        f"u{i:05d},Utterance number {i} of the load run.,spk{i % 40}" for i in range(items)
    ]
    report = items_import(project=project, data="\n".join(rows).encode(), filename="items.csv")
    if not report.ok:
        raise RuntimeError(f"items import failed: {report.rows[:3]}")
    # A project under way: a few raters have answered already, so the first build has votes.
    for i in range(3):
        early = user(f"load-early{i}")
        member_add(project=project, user=early, role=MemberRole.ANNOTATOR)
        for n in range(EARLY_RATINGS):
            lease = assignment_next(project=project, user=early)
            annotation_submit(
                project=project,
                user=early,
                item_id=lease.item_id,
                labels=[{"category": EMOTIONS[(n + i) % len(EMOTIONS)]}],
            )
    tokens = []
    for i in range(annotators):
        person = user(f"load-annotator{i:02d}")
        member_add(project=project, user=person, role=MemberRole.ANNOTATOR)
        tokens.append(Token.objects.create(user=person).key)

    dataset = dataset_create(
        study=study,
        user=researcher,
        name="Emotions (load run)",
        categories=EMOTIONS,
        parameters={"tie_policy": "drop", "seed": 1, "agreement_boot": 20},
    )
    source_annotation_create(dataset=dataset, project_id=project.pk)

    return World(
        study_id=study.pk,
        researcher_token=Token.objects.create(user=researcher).key,
        survey_id=survey.pk,
        open_token=survey.open_token,
        screener={
            "region": sorted({r for r, _g in CELLS}),
            "gender": sorted({g for _r, g in CELLS}),
        },
        pages=pages,
        project_id=project.pk,
        raters_per_item=raters_per_item,
        items=items,
        annotator_tokens=tokens,
        categories=EMOTIONS,
        dataset_id=dataset.pk,
    )
