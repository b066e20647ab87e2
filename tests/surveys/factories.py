"""Survey fixtures built through the services, so tests start from states users can reach."""

from __future__ import annotations

from surveys import services
from surveys.models import Panel, Survey

REGIONS = ("Seoul", "Busan")
GENDERS = ("F", "M")


def population_csv(counts: dict[tuple[str, str], int] | None = None) -> str:
    counts = counts or {
        ("Seoul", "F"): 600,
        ("Seoul", "M"): 400,
        ("Busan", "F"): 300,
        ("Busan", "M"): 200,
    }
    lines = ["region,gender,count"] + [f"{r},{g},{n}" for (r, g), n in counts.items()]
    return "\n".join(lines) + "\n"


def make_population(study, counts=None, name="Korea"):
    return services.population_import(study=study, name=name, csv_text=population_csv(counts))


def make_panel(study, population, per_cell: int = 10) -> Panel:
    panel = Panel.objects.create(study=study, population=population, name="Panel")
    lines = ["external_id,region,gender,email"]
    i = 0
    for cell in population.cells.all():
        for _ in range(per_cell):
            i += 1
            lines.append(
                f"P{i:04d},{cell.values['region']},{cell.values['gender']},p{i}@example.org"
            )
    services.panel_import(panel=panel, csv_text="\n".join(lines))
    return panel


AGREE = [
    ("1", "Strongly disagree", "전혀 동의하지 않음"),
    ("2", "Disagree", "동의하지 않음"),
    ("3", "Neutral", "보통"),
    ("4", "Agree", "동의함"),
    ("5", "Strongly agree", "매우 동의함"),
]


def make_survey(study, design=None, *, open_link=False, approve=True, reviewer=None, **kw):
    """A two-block survey: a scale and a single choice, then a multiple choice, a number,
    an optional text and an attention check."""
    survey = services.survey_create(
        study=study,
        title_en="Values",
        title_ko="가치관 조사",
        intro_en="We ask about your values.",
        intro_ko="가치관에 대해 묻습니다.",
        design=design,
        open_link_enabled=open_link,
        **kw,
    )
    b1 = services.block_create(survey=survey, title_en="Family", title_ko="가족")
    services.question_create(
        block=b1,
        code="family",
        kind="scale",
        text_en="Family comes first.",
        text_ko="가족이 우선이다.",
        options=AGREE,
    )
    services.question_create(
        block=b1,
        code="capital",
        kind="single",
        text_en="Capital of Korea?",
        text_ko="한국의 수도는?",
        options=[("seoul", "Seoul", "서울"), ("busan", "Busan", "부산")],
        answer_key="seoul",
        subject="geography",
    )
    b2 = services.block_create(survey=survey, title_en="Life", title_ko="생활")
    services.question_create(
        block=b2,
        code="media",
        kind="multiple",
        text_en="Which media do you use?",
        text_ko="어떤 매체를 쓰십니까?",
        options=[("tv", "TV", "TV"), ("web", "Web", "웹"), ("paper", "Newspaper", "신문")],
    )
    services.question_create(
        block=b2,
        code="hours",
        kind="numeric",
        text_en="Hours of sleep?",
        text_ko="수면 시간은?",
        min_value=0,
        max_value=24,
    )
    services.question_create(
        block=b2,
        code="comment",
        kind="text",
        text_en="Anything else?",
        text_ko="덧붙일 말씀?",
        required=False,
    )
    services.question_create(
        block=b2,
        code="attention",
        kind="single",
        text_en="Choose 'Agree'.",
        text_ko="'동의함'을 고르세요.",
        options=AGREE,
        is_attention_check=True,
        expected_option="4",
    )
    if approve:
        approve_all(survey, reviewer)
        services.survey_open(survey=survey)
    return Survey.objects.get(pk=survey.pk)


def approve_all(survey, reviewer):
    for q in survey.questions.all():
        services.question_submit(question=q, user=reviewer)
        services.question_review(question=q, reviewer=reviewer, decision="approve")


GOOD_ANSWERS = {
    "family": "4",
    "capital": "seoul",
    "media": ["tv", "web"],
    "hours": "7",
    "comment": "",
    "attention": "4",
}


def complete(response, answers=None):
    answers = answers or GOOD_ANSWERS
    services.answers_record(response=response, answers=answers)
    return services.response_complete(response=response)
