"""Demo: a national values survey over 17 regions x 5 age groups x 2 genders.

A synthetic adult population (region sizes close to the 2024 resident registration, age and
gender shares typical of Korean adults), a 20,000-person panel that over-represents the
young, a proportional sample of 1,000 with response rates that differ by age and gender,
answers to approved Korean/English questions, weights and weighted distributions, and a
benchmark dataset of three of its questions (built when the benchmarks app is installed).
Seeded, so every run builds the same data; loading twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import numpy as np
from django.db import transaction
from django.utils import timezone

from surveys import services
from surveys.models import (
    Answer,
    Invitation,
    InvitationStatus,
    Panel,
    QuotaCell,
    Response,
    ResponseStatus,
    Survey,
)

TITLE = "Korean values survey 2026 (demo)"
SEED = 2026
# The benchmark dataset made of three agreement questions of the demo survey.
SURVEY_DATASET = "Demo: values survey (agreement scale)"
SURVEY_QUESTIONS = ["family_first", "work_first", "democracy"]

# Thousands of residents per region (approximate, 2024).
REGIONS = {
    "Seoul": 9386,
    "Busan": 3293,
    "Daegu": 2375,
    "Incheon": 3000,
    "Gwangju": 1419,
    "Daejeon": 1442,
    "Ulsan": 1103,
    "Sejong": 387,
    "Gyeonggi": 13630,
    "Gangwon": 1527,
    "Chungbuk": 1591,
    "Chungnam": 2133,
    "Jeonbuk": 1754,
    "Jeonnam": 1804,
    "Gyeongbuk": 2554,
    "Gyeongnam": 3251,
    "Jeju": 675,
}
REGIONS_KO = {
    "Seoul": "서울",
    "Busan": "부산",
    "Daegu": "대구",
    "Incheon": "인천",
    "Gwangju": "광주",
    "Daejeon": "대전",
    "Ulsan": "울산",
    "Sejong": "세종",
    "Gyeonggi": "경기",
    "Gangwon": "강원",
    "Chungbuk": "충북",
    "Chungnam": "충남",
    "Jeonbuk": "전북",
    "Jeonnam": "전남",
    "Gyeongbuk": "경북",
    "Gyeongnam": "경남",
    "Jeju": "제주",
}
AGES = {"18-29": 0.17, "30-39": 0.16, "40-49": 0.18, "50-59": 0.19, "60+": 0.30}
# Share of women rises with age.
FEMALE = {"18-29": 0.48, "30-39": 0.48, "40-49": 0.49, "50-59": 0.50, "60+": 0.55}
ADULT_SHARE = 0.84
PANEL_SIZE = 20_000
SAMPLE = 1_000

AGREE5 = [
    ("1", "Strongly disagree", "전혀 동의하지 않음"),
    ("2", "Disagree", "동의하지 않음"),
    ("3", "Neither", "보통"),
    ("4", "Agree", "동의함"),
    ("5", "Strongly agree", "매우 동의함"),
]


def _cells() -> list[tuple[str, str, str, int]]:
    rows = []
    for region, thousands in REGIONS.items():
        for age, share in AGES.items():
            adults = thousands * 1000 * ADULT_SHARE * share
            women = round(adults * FEMALE[age])
            rows.append((region, age, "F", women))
            rows.append((region, age, "M", round(adults) - women))
    return rows


QUESTIONS: list[tuple[int, str, str, str, str, list[tuple[str, str, str]], dict[str, Any]]] = [
    # block, code, kind, en, ko, options, extra
    (
        0,
        "family_first",
        "scale",
        "Family should come before one's own wishes.",
        "가족이 자신의 바람보다 우선해야 한다.",
        AGREE5,
        {},
    ),
    (
        0,
        "trust",
        "single",
        "Generally speaking, can most people be trusted?",
        "일반적으로 대부분의 사람을 믿을 수 있다고 생각하십니까?",
        [
            ("trust", "Most people can be trusted", "대부분의 사람은 믿을 수 있다"),
            ("careful", "You need to be very careful", "매우 조심해야 한다"),
        ],
        {},
    ),
    (
        0,
        "work_first",
        "scale",
        "Work should always come first, even if it means less free time.",
        "여가가 줄더라도 일이 항상 우선이어야 한다.",
        AGREE5,
        {},
    ),
    (
        0,
        "attention",
        "single",
        "To show you are reading, please choose 'Agree'.",
        "주의 깊게 읽고 계신지 확인하기 위해 '동의함'을 골라 주세요.",
        AGREE5,
        {"is_attention_check": True, "expected_option": "4"},
    ),
    (
        1,
        "democracy",
        "scale",
        "Living in a democracy is important to me.",
        "민주주의 국가에서 사는 것은 나에게 중요하다.",
        AGREE5,
        {},
    ),
    (
        1,
        "news",
        "multiple",
        "Where do you get news? (choose all that apply)",
        "뉴스를 어디에서 접하십니까? (해당하는 것을 모두 고르세요)",
        [
            ("tv", "Television", "텔레비전"),
            ("portal", "Web portals", "포털 사이트"),
            ("video", "Video platforms", "동영상 플랫폼"),
            ("paper", "Newspapers", "신문"),
        ],
        {},
    ),
    (
        1,
        "hangul",
        "single",
        "Which king created Hangul?",
        "한글을 만든 왕은 누구입니까?",
        [
            ("sejong", "King Sejong", "세종대왕"),
            ("taejo", "King Taejo", "태조"),
            ("jeongjo", "King Jeongjo", "정조"),
        ],
        {"answer_key": "sejong", "subject": "history"},
    ),
    (
        1,
        "provinces",
        "single",
        "How many first-level administrative divisions does South Korea have?",
        "대한민국의 광역자치단체는 모두 몇 개입니까?",
        [("9", "9", "9개"), ("15", "15", "15개"), ("17", "17", "17개")],
        {"answer_key": "17", "subject": "social studies"},
    ),
    (
        1,
        "children",
        "numeric",
        "What is the ideal number of children for a family?",
        "한 가정의 이상적인 자녀 수는 몇 명입니까?",
        [],
        {"min_value": 0, "max_value": 10},
    ),
]


def _answers(rng: np.random.Generator, age_index: int, male: bool) -> dict:
    """One respondent's answers; opinions drift with age, knowledge is mostly right."""
    a = age_index / 4  # 0 for the youngest, 1 for the oldest

    def scale(centre: float) -> str:
        return str(int(np.clip(np.rint(rng.normal(centre, 1.0)), 1, 5)))

    news = [
        code
        for code, p in (
            ("tv", 0.3 + 0.6 * a),
            ("portal", 0.8 - 0.3 * a),
            ("video", 0.7 - 0.4 * a),
            ("paper", 0.05 + 0.3 * a),
        )
        if rng.random() < p
    ] or ["portal"]
    return {
        "family_first": [scale(2.4 + 1.8 * a)],
        "trust": ["trust" if rng.random() < 0.30 + 0.1 * a else "careful"],
        "work_first": [scale(2.3 + 1.2 * a + (0.3 if male else 0))],
        "attention": ["4" if rng.random() < 0.97 else "2"],
        "democracy": [scale(4.1 - 0.2 * a)],
        "news": news,
        "hangul": [rng.choice(["sejong", "taejo", "jeongjo"], p=[0.96, 0.02, 0.02])],
        "provinces": [rng.choice(["9", "15", "17"], p=[0.2, 0.3, 0.5])],
        "children": float(np.clip(np.rint(rng.normal(1.6 + 0.6 * a, 0.8)), 0, 10)),
    }


def _response_rate(age_index: int, male: bool) -> float:
    return 0.40 + 0.09 * age_index - (0.08 if male else 0.0)


@transaction.atomic
def load(*, people, stdout) -> None:
    _survey(people, stdout)
    _dataset(people, stdout)


def _survey(people, stdout) -> None:
    study = people.study
    if Survey.objects.filter(study=study, title_en=TITLE).exists():
        stdout.write("  surveys: demo survey already loaded")
        return
    rng = np.random.default_rng(SEED)
    cells = _cells()
    csv_text = "region,age,gender,count\n" + "\n".join(f"{r},{a},{g},{n}" for r, a, g, n in cells)
    population = services.population_import(
        study=study, name="Korean adults 2024 (demo)", csv_text=csv_text
    )
    population.labels = {
        "region": {r: {"en": r, "ko": ko} for r, ko in REGIONS_KO.items()},
        "age": {
            a: {"en": a, "ko": a.replace("+", "세 이상") if "+" in a else f"{a}세"} for a in AGES
        },
        "gender": {"F": {"en": "Female", "ko": "여성"}, "M": {"en": "Male", "ko": "남성"}},
    }
    population.save(update_fields=["labels"])
    # Panel: online panels over-represent the young; every cell keeps at least 10 people.
    counts = np.array([n for *_, n in cells], dtype=float)
    tilt = np.array([1.6 - 0.25 * list(AGES).index(a) for _, a, _, _ in cells])
    share = counts * tilt / (counts * tilt).sum()
    per_cell = np.maximum(10, np.floor(share * (PANEL_SIZE - 10 * len(cells)) + 10)).astype(int)
    per_cell[np.argmax(per_cell)] += PANEL_SIZE - per_cell.sum()
    # No contact details: the demo sends no email.
    lines = ["external_id,region,age,gender"]
    i = 0
    for (region, age, gender, _), k in zip(cells, per_cell, strict=True):
        for _ in range(int(k)):
            i += 1
            lines.append(f"KP{i:05d},{region},{age},{gender}")
    panel = Panel.objects.create(study=study, population=population, name="Online panel (demo)")
    services.panel_import(panel=panel, csv_text="\n".join(lines))
    design = services.design_create(
        study=study,
        population=population,
        panel=panel,
        name="National sample of 1,000",
        n=SAMPLE,
        size_parameters={},
    )
    survey = services.survey_create(
        study=study,
        title_en=TITLE,
        title_ko="2026 한국인 가치관 조사 (데모)",
        intro_en="This survey asks about family, work, trust and news. It takes about 5 minutes.",
        intro_ko="가족, 일, 신뢰, 뉴스에 대해 묻는 조사입니다. 약 5분이 걸립니다.",
        design=design,
        open_link_enabled=True,
        randomize_options=False,
    )
    blocks = [
        services.block_create(survey=survey, title_en="Values", title_ko="가치관"),
        services.block_create(survey=survey, title_en="Society", title_ko="사회"),
    ]
    for b, code, kind, en, ko, options, extra in QUESTIONS:
        question = services.question_create(
            block=blocks[b],
            code=code,
            kind=kind,
            text_en=en,
            text_ko=ko,
            options=options,
            user=people.researcher,
            **extra,
        )
        services.question_submit(question=question, user=people.researcher)
        services.question_review(
            question=question,
            reviewer=people.reviewer,
            decision="approve",
            comment="Clear in both languages.",
        )
    services.survey_open(survey=survey)
    draw = services.sample_draw(survey=survey, seed=SEED)

    # Fieldwork, simulated: who answers depends on age and gender.
    invitations = list(
        Invitation.objects.filter(draw=draw).select_related("panelist__cell").order_by("id")
    )
    questions = {q.code: q for q in survey.questions.all()}
    now = timezone.now()
    ages = list(AGES)
    responses, answers_by_token = [], {}
    for invitation in invitations:
        cell = invitation.panelist.cell
        assert cell is not None  # a draw takes only panelists in a cell
        age_index = ages.index(cell.values["age"])
        male = cell.values["gender"] == "M"
        if rng.random() >= _response_rate(age_index, male):
            continue
        started = now - timedelta(days=int(rng.integers(1, 11)), minutes=int(rng.integers(0, 600)))
        responses.append(
            Response(
                survey=survey,
                invitation=invitation,
                token=invitation.token,
                cell=cell,
                status=ResponseStatus.COMPLETED,
                language="ko" if rng.random() < 0.93 else "en",
                seed=int(rng.integers(2**31)),
                started_at=started,
                completed_at=started + timedelta(minutes=int(rng.integers(3, 15))),
            )
        )
        answers_by_token[invitation.token] = _answers(rng, age_index, male)
    Response.objects.bulk_create(responses, batch_size=1000)
    # started_at is auto_now_add: set the simulated times afterwards.
    for r in responses:
        Response.objects.filter(pk=r.pk).update(started_at=r.started_at)
    answers = []
    for response in responses:
        given = answers_by_token[response.token]
        flagged = given["attention"] != ["4"]
        if flagged:
            Response.objects.filter(pk=response.pk).update(flagged_attention=True)
        for code, value in given.items():
            if isinstance(value, float):
                answers.append(Answer(response=response, question=questions[code], number=value))
            else:
                answers.append(
                    Answer(
                        response=response, question=questions[code], choices=[str(v) for v in value]
                    )
                )
    Answer.objects.bulk_create(answers, batch_size=2000)
    Invitation.objects.filter(draw=draw).update(status=InvitationStatus.SENT, sent_at=now)
    Invitation.objects.filter(response__isnull=False).update(status=InvitationStatus.COMPLETED)
    filled = Counter(r.cell_id for r in responses)
    quotas = list(QuotaCell.objects.filter(design=design))
    for q in quotas:
        q.filled = min(q.target, filled.get(q.cell_id, 0))
    QuotaCell.objects.bulk_update(quotas, ["filled"])
    result = services.weights_compute(survey=survey)
    _draft_follow_up(people=people)
    stdout.write(
        f"  surveys: {len(cells)} cells, {PANEL_SIZE:,} panelists, {len(invitations)} invited, "
        f"{len(responses)} completed, weights by {result['method']} "
        f"(Kish deff {result['kish_deff']:.2f})"
    )


FOLLOW_UP = "Values follow-up 2027 (demo draft)"


def _draft_follow_up(*, people) -> None:
    """A survey still being written, for the questionnaire editor: one question approved, one
    in review and one sent back with a request for changes."""
    survey = services.survey_create(
        study=people.study,
        title_en=FOLLOW_UP,
        title_ko="2027 가치관 후속 조사 (데모 초안)",
        intro_en="A short follow-up on work and trust.",
        intro_ko="일과 신뢰에 대한 짧은 후속 조사입니다.",
        open_link_enabled=True,
    )
    block = services.block_create(survey=survey, title_en="Work", title_ko="일")
    agree = [
        ("1", "Strongly disagree", "전혀 동의하지 않음"),
        ("2", "Disagree", "동의하지 않음"),
        ("3", "Agree", "동의함"),
        ("4", "Strongly agree", "매우 동의함"),
    ]
    approved = services.question_create(
        block=block, code="work_meaning", kind="scale", options=agree, user=people.researcher,
        text_en="Work gives my life meaning.", text_ko="일은 내 삶에 의미를 준다.",
    )  # fmt: skip
    in_review = services.question_create(
        block=block, code="remote", kind="single", user=people.researcher,
        text_en="How many days a week do you work from home?",
        text_ko="일주일에 며칠 재택근무를 하십니까?",
        options=[
            ("0", "None", "없음"), ("1-2", "One or two", "1~2일"),
            ("3+", "Three or more", "3일 이상"),
        ],
    )  # fmt: skip
    sent_back = services.question_create(
        block=block, code="trust_boss", kind="single", user=people.researcher,
        text_en="Do you trust your manager?", text_ko="상사를 신뢰하십니까?",
        options=[("yes", "Yes", "예"), ("no", "No", "아니요")],
    )  # fmt: skip
    for question in (approved, in_review, sent_back):
        services.question_submit(question=question, user=people.researcher)
    services.question_review(question=approved, reviewer=people.reviewer, decision="approve")
    services.question_review(
        question=sent_back,
        reviewer=people.reviewer,
        decision="reject",
        comment="Yes/no is too coarse: use the four-point agreement scale.",
    )


def _dataset(people, stdout) -> None:
    """The benchmark dataset of the demo survey's agreement questions, created and built once."""
    from django.apps import apps

    if not apps.is_installed("benchmarks"):
        stdout.write("  surveys: no benchmarks app; no demo dataset")
        return
    from benchmarks.demo import build_and_report
    from benchmarks.models import Dataset
    from benchmarks.services import (
        dataset_create,
        source_survey_create,
    )

    study = people.study
    if Dataset.objects.filter(study=study, name=SURVEY_DATASET).exists():
        return
    survey = Survey.objects.filter(study=study, title_en=TITLE).first()
    if survey is None:
        stdout.write("  surveys: the demo survey is not there; no demo dataset")
        return
    with transaction.atomic():
        dataset = dataset_create(
            study=study,
            user=people.researcher,
            name=SURVEY_DATASET,
            description="Weighted answers to three agreement questions of the demo survey.",
            categories=["1", "2", "3", "4", "5"],
            rules=["majority", "plurality", "all_inclusive", "soft"],
            parameters={"tie_policy": "drop", "seed": 0},
            split_fractions={"train": 1.0},
            split_stratify="",
        )
        source_survey_create(
            dataset=dataset,
            survey_id=survey.pk,
            question_ids=SURVEY_QUESTIONS,
            name=survey.title_en,
        )
    build_and_report(dataset, people, stdout)
