"""REST API for surveys: thin views, strict input serializers, model serializers for output.

Every object is fetched through ``surveys.access`` (404 for people outside its study).
Long work (emails, weights, exports) returns a job (``202``) to poll at ``/api/jobs/<id>/``.
"""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response as ApiResponse

from accounts.access import access_study
from config.api import BoundedJSONParser, StrictSerializer
from config.inputs import BIGINT_MAX, NUMBER_LIMIT_MAX, SEED_MAX
from surveys import selectors, services
from surveys.access import (
    access_design,
    access_panel,
    access_panel_contacts,
    access_population,
    access_question,
    access_survey,
    surveys_visible_to,
)
from surveys.models import (
    Allocation,
    Block,
    Cell,
    Option,
    Panel,
    Population,
    Question,
    QuestionKind,
    QuotaCell,
    ReviewDecision,
    SampleDesign,
    Survey,
    WeightingMethod,
)
from surveys.models import Response as SurveyResponse

PARSERS = [BoundedJSONParser, MultiPartParser, FormParser]


# --- output ---------------------------------------------------------------------------------


class CellOutput(serializers.ModelSerializer):
    class Meta:
        model = Cell
        fields = ["id", "key", "values", "count"]


class PopulationOutput(serializers.ModelSerializer):
    cells = CellOutput(many=True, read_only=True)

    class Meta:
        model = Population
        fields = ["id", "study", "name", "variables", "labels", "cells", "created_at"]


class PanelOutput(serializers.ModelSerializer):
    class Meta:
        model = Panel
        fields = ["id", "study", "population", "name", "created_at"]


class QuotaOutput(serializers.ModelSerializer):
    cell = serializers.CharField(source="cell.key")

    class Meta:
        model = QuotaCell
        fields = ["cell", "target", "filled", "reserved"]


class DesignOutput(serializers.ModelSerializer):
    quotas = QuotaOutput(many=True, read_only=True)

    class Meta:
        model = SampleDesign
        fields = [
            "id",
            "study",
            "population",
            "panel",
            "name",
            "target_n",
            "size_parameters",
            "allocation",
            "parameters",
            "quotas",
            "created_at",
        ]


class OptionOutput(serializers.ModelSerializer):
    class Meta:
        model = Option
        fields = ["code", "text_en", "text_ko", "order"]


class QuestionOutput(serializers.ModelSerializer):
    options = OptionOutput(many=True, read_only=True)

    class Meta:
        model = Question
        fields = [
            "id",
            "block",
            "code",
            "order",
            "kind",
            "text_en",
            "text_ko",
            "required",
            "min_value",
            "max_value",
            "review_state",
            "required_approvals",
            "review_cycle",
            "answer_key",
            "subject",
            "is_attention_check",
            "expected_option",
            "options",
        ]


class BlockOutput(serializers.ModelSerializer):
    class Meta:
        model = Block
        fields = ["id", "order", "title_en", "title_ko"]


class SurveyOutput(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = [
            "id",
            "study",
            "title_en",
            "title_ko",
            "intro_en",
            "intro_ko",
            "languages",
            "design",
            "status",
            "open_link_enabled",
            "randomize_questions",
            "randomize_options",
            "reservation_minutes",
            "created_at",
            "opened_at",
        ]


class SurveyDetailOutput(SurveyOutput):
    blocks = BlockOutput(many=True, read_only=True)
    questions = QuestionOutput(many=True, read_only=True)
    open_link = serializers.SerializerMethodField()

    class Meta(SurveyOutput.Meta):
        fields = [*SurveyOutput.Meta.fields, "open_link", "blocks", "questions"]

    def get_open_link(self, survey: Survey) -> str | None:
        from surveys.services.invitations import participant_link

        return participant_link(survey.open_token) if survey.open_link_enabled else None


class ResponseOutput(serializers.ModelSerializer):
    respondent = serializers.SerializerMethodField()
    cell = serializers.CharField(source="cell.key", default=None)
    weight = serializers.FloatField(source="weight.value", default=None)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "respondent",
            "status",
            "language",
            "cell",
            "flagged_attention",
            "started_at",
            "completed_at",
            "weight",
        ]

    def get_respondent(self, response) -> str:
        return selectors.voter_key(response.token)


def _job(job) -> ApiResponse:
    return ApiResponse(
        {"job": str(job.id), "status": job.status, "url": f"/api/jobs/{job.id}/"},
        status=status.HTTP_202_ACCEPTED,
    )


def _csv(request) -> str | bytes:
    upload = request.FILES.get("file")
    if upload is not None:
        return upload.read()
    return request.data.get("csv", "")


# --- populations and panels -----------------------------------------------------------------


class PopulationInput(StrictSerializer):
    study = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    name = serializers.CharField(max_length=200)
    csv = serializers.CharField(required=False, allow_blank=True)
    file = serializers.FileField(required=False)


@extend_schema(request=PopulationInput, responses=PopulationOutput)
@api_view(["POST"])
@parser_classes(PARSERS)
def population_create_api(request):
    data = PopulationInput(data=request.data)
    data.is_valid(raise_exception=True)
    study = access_study(user=request.user, study_id=data.validated_data["study"])
    population = services.population_import(
        study=study, name=data.validated_data["name"], csv_text=_csv(request)
    )
    return ApiResponse(PopulationOutput(population).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=PopulationOutput)
@api_view(["GET"])
def population_detail_api(request, population_id: int):
    population = access_population(user=request.user, population_id=population_id)
    return ApiResponse(PopulationOutput(population).data)


class PanelInput(StrictSerializer):
    population = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    name = serializers.CharField(max_length=200)


@extend_schema(request=PanelInput, responses=PanelOutput)
@api_view(["POST"])
def panel_create_api(request):
    data = PanelInput(data=request.data)
    data.is_valid(raise_exception=True)
    population = access_population(
        user=request.user, population_id=data.validated_data["population"]
    )
    panel = services.panel_create(population=population, name=data.validated_data["name"])
    return ApiResponse(PanelOutput(panel).data, status=status.HTTP_201_CREATED)


class CsvInput(StrictSerializer):
    csv = serializers.CharField(required=False, allow_blank=True)
    file = serializers.FileField(required=False)


@extend_schema(request=CsvInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
@parser_classes(PARSERS)
def panel_import_api(request, panel_id: int):
    panel = access_panel(user=request.user, panel_id=panel_id)
    CsvInput(data=request.data).is_valid(raise_exception=True)
    report = services.panel_import(panel=panel, csv_text=_csv(request))
    return ApiResponse(report.as_dict())


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def panel_contacts_api(request, panel_id: int):
    contacts = access_panel_contacts(user=request.user, panel_id=panel_id)
    return ApiResponse(
        [
            {"external_id": c.panelist.external_id, "email": c.email, "phone": c.phone}
            for c in contacts.order_by("panelist__external_id")
        ]
    )


# --- designs and draws ----------------------------------------------------------------------


_SIZE = services.SIZE_DEFAULTS


def _size_field(name: str, **kwargs) -> serializers.FloatField:
    low, high = services.SIZE_BOUNDS[name]
    return serializers.FloatField(min_value=low, max_value=high, **kwargs)


class SizeInput(StrictSerializer):
    margin = _size_field("margin")
    confidence = _size_field("confidence", required=False, default=_SIZE["confidence"])
    p = _size_field("p", required=False, default=_SIZE["p"])
    deff = _size_field("deff", required=False, default=_SIZE["deff"])
    response_rate = _size_field("response_rate", required=False, default=_SIZE["response_rate"])
    fpc = serializers.BooleanField(required=False, default=True)


class DesignInput(StrictSerializer):
    population = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    panel = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX
    )
    name = serializers.CharField(max_length=200, required=False, default="Sample design")
    n = serializers.IntegerField(required=False, min_value=1, max_value=services.N_MAX)
    size = SizeInput(required=False)
    allocation = serializers.ChoiceField(choices=Allocation.choices, default="proportional")
    parameters = serializers.DictField(required=False, default=dict)

    def validate(self, attrs):
        if "n" not in attrs and "size" not in attrs:
            raise serializers.ValidationError({"n": [_("Give n, or size (margin of error...).")]})
        return attrs


def _design_inputs(request):
    data = DesignInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    population = access_population(user=request.user, population_id=v["population"])
    panel = access_panel(user=request.user, panel_id=v["panel"]) if v.get("panel") else None
    n = v.get("n")
    if n is None:
        n = services.design_sample_size(population=population, **v["size"])
    return v, population, panel, n


@extend_schema(request=DesignInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def design_preview_api(request):
    v, population, panel, n = _design_inputs(request)
    quotas = services.design_preview(
        population=population,
        n=n,
        allocation=v["allocation"],
        parameters=v["parameters"],
        panel=panel,
    )
    return ApiResponse({"n": n, "quotas": quotas})


@extend_schema(request=DesignInput, responses=DesignOutput)
@api_view(["POST"])
def design_create_api(request):
    v, population, panel, n = _design_inputs(request)
    design = services.design_create(
        study=population.study,
        population=population,
        name=v["name"],
        n=n,
        size_parameters=dict(v.get("size") or {}),
        allocation=v["allocation"],
        parameters=v["parameters"],
        panel=panel,
    )
    return ApiResponse(DesignOutput(design).data, status=status.HTTP_201_CREATED)


@extend_schema(responses=DesignOutput)
@api_view(["GET"])
def design_detail_api(request, design_id: int):
    design = access_design(user=request.user, design_id=design_id)
    return ApiResponse(DesignOutput(design).data)


class DrawInput(StrictSerializer):
    seed = serializers.IntegerField(min_value=0, max_value=SEED_MAX)
    replacement = serializers.BooleanField(required=False, default=False)
    cells = serializers.ListField(child=serializers.CharField(max_length=300), required=False)


@extend_schema(request=DrawInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def draw_create_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = DrawInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data
    if v["replacement"]:
        draw = services.sample_replace(survey=survey, seed=v["seed"], cells=v.get("cells"))
    else:
        draw = services.sample_draw(survey=survey, seed=v["seed"])
    return ApiResponse(
        {"id": draw.pk, "seed": draw.seed, "kind": draw.kind, "size": draw.size},
        status=status.HTTP_201_CREATED,
    )


# --- surveys and questions ------------------------------------------------------------------


class SurveyInput(StrictSerializer):
    study = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    title_en = serializers.CharField(max_length=200)
    title_ko = serializers.CharField(max_length=200, required=False, default="")
    intro_en = serializers.CharField(required=False, default="", allow_blank=True)
    intro_ko = serializers.CharField(required=False, default="", allow_blank=True)
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=["ko", "en"]), required=False
    )
    design = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=BIGINT_MAX
    )
    open_link_enabled = serializers.BooleanField(required=False, default=False)
    randomize_questions = serializers.BooleanField(required=False, default=False)
    randomize_options = serializers.BooleanField(required=False, default=False)
    reservation_minutes = serializers.IntegerField(
        required=False, default=60, min_value=1, max_value=services.RESERVATION_MINUTES_MAX
    )


@extend_schema(request=SurveyInput, responses=SurveyOutput(many=True))
@api_view(["GET", "POST"])
def survey_list_api(request):
    if request.method == "GET":
        surveys = surveys_visible_to(user=request.user).order_by("-created_at", "id")
        return ApiResponse(SurveyOutput(surveys, many=True).data)
    data = SurveyInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = dict(data.validated_data)
    study = access_study(user=request.user, study_id=v.pop("study"))
    design_id = v.pop("design", None)
    design = access_design(user=request.user, design_id=design_id) if design_id else None
    survey = services.survey_create(study=study, design=design, **v)
    return ApiResponse(SurveyOutput(survey).data, status=status.HTTP_201_CREATED)


class SurveyUpdateInput(StrictSerializer):
    title_en = serializers.CharField(max_length=200, required=False)
    title_ko = serializers.CharField(max_length=200, required=False, allow_blank=True)
    intro_en = serializers.CharField(required=False, allow_blank=True)
    intro_ko = serializers.CharField(required=False, allow_blank=True)
    languages = serializers.ListField(
        child=serializers.ChoiceField(choices=["ko", "en"]), required=False
    )
    open_link_enabled = serializers.BooleanField(required=False)
    randomize_questions = serializers.BooleanField(required=False)
    randomize_options = serializers.BooleanField(required=False)
    reservation_minutes = serializers.IntegerField(
        required=False, min_value=1, max_value=services.RESERVATION_MINUTES_MAX
    )


@extend_schema(methods=["GET"], responses=SurveyDetailOutput)
@extend_schema(methods=["PATCH"], request=SurveyUpdateInput, responses=SurveyDetailOutput)
@api_view(["GET", "PATCH"])
def survey_detail_api(request, survey_id: int):
    """The survey with its blocks and questions; PATCH changes its titles, consent text,
    languages and shuffling (draft surveys), open link and hold length (any time)."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    if request.method == "PATCH":
        data = SurveyUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.survey_update(survey=survey, **data.validated_data)
    survey = Survey.objects.prefetch_related("blocks", "questions__options").get(pk=survey.pk)
    return ApiResponse(SurveyDetailOutput(survey).data)


class BlockInput(StrictSerializer):
    title_en = serializers.CharField(max_length=200, required=False, default="")
    title_ko = serializers.CharField(max_length=200, required=False, default="")


@extend_schema(request=BlockInput, responses=BlockOutput)
@api_view(["POST"])
def block_create_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = BlockInput(data=request.data)
    data.is_valid(raise_exception=True)
    block = services.block_create(survey=survey, **data.validated_data)
    return ApiResponse(BlockOutput(block).data, status=status.HTTP_201_CREATED)


# Reviewers needed to approve a question (the editor's form offers 1 to 10).
APPROVALS_MAX = 10


class OptionInput(StrictSerializer):
    code = serializers.CharField(max_length=60)
    text_en = serializers.CharField(max_length=300)
    text_ko = serializers.CharField(max_length=300, required=False, default="")


class QuestionInput(StrictSerializer):
    block = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    code = serializers.SlugField(max_length=60)
    kind = serializers.ChoiceField(choices=QuestionKind.choices)
    text_en = serializers.CharField()
    text_ko = serializers.CharField(required=False, default="")
    # A field named "required" shadows DRF's Field.required attribute in the stubs only (the
    # serializer's metaclass takes declared fields off the class).
    required = serializers.BooleanField(required=False, default=True)  # type: ignore[assignment]
    min_value = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=-NUMBER_LIMIT_MAX,
        max_value=NUMBER_LIMIT_MAX,
    )
    max_value = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=-NUMBER_LIMIT_MAX,
        max_value=NUMBER_LIMIT_MAX,
    )
    required_approvals = serializers.IntegerField(
        required=False, default=1, min_value=1, max_value=APPROVALS_MAX
    )
    answer_key = serializers.CharField(required=False, default="", allow_blank=True, max_length=60)
    subject = serializers.CharField(required=False, default="", allow_blank=True, max_length=100)
    is_attention_check = serializers.BooleanField(required=False, default=False)
    expected_option = serializers.CharField(
        required=False, default="", allow_blank=True, max_length=60
    )
    options = OptionInput(many=True, required=False, default=list)


@extend_schema(request=QuestionInput, responses=QuestionOutput)
@api_view(["POST"])
def question_create_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = QuestionInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = dict(data.validated_data)
    block = survey.blocks.filter(pk=v.pop("block")).first()
    if block is None:
        raise serializers.ValidationError({"block": [_("No such block in this survey.")]})
    options = [(o["code"], o["text_en"], o["text_ko"]) for o in v.pop("options")]
    question = services.question_create(block=block, options=options, user=request.user, **v)
    return ApiResponse(QuestionOutput(question).data, status=status.HTTP_201_CREATED)


class QuestionUpdateInput(StrictSerializer):
    text_en = serializers.CharField(required=False)
    text_ko = serializers.CharField(required=False, allow_blank=True)
    # Shadows Field.required in the stubs only, as in QuestionInput.
    required = serializers.BooleanField(required=False)  # type: ignore[assignment]
    min_value = serializers.FloatField(
        required=False, allow_null=True, min_value=-NUMBER_LIMIT_MAX, max_value=NUMBER_LIMIT_MAX
    )
    max_value = serializers.FloatField(
        required=False, allow_null=True, min_value=-NUMBER_LIMIT_MAX, max_value=NUMBER_LIMIT_MAX
    )
    required_approvals = serializers.IntegerField(
        required=False, min_value=1, max_value=APPROVALS_MAX
    )
    answer_key = serializers.CharField(required=False, allow_blank=True, max_length=60)
    subject = serializers.CharField(required=False, allow_blank=True, max_length=100)
    is_attention_check = serializers.BooleanField(required=False)
    expected_option = serializers.CharField(required=False, allow_blank=True, max_length=60)
    options = OptionInput(many=True, required=False)


@extend_schema(methods=["GET"], responses=QuestionOutput)
@extend_schema(methods=["PATCH"], request=QuestionUpdateInput, responses=QuestionOutput)
@extend_schema(methods=["DELETE"], responses={204: None})
@api_view(["GET", "PATCH", "DELETE"])
def question_detail_api(request, question_id: int):
    """Read a question, change it (it goes back to draft for a new review), or delete it
    (draft surveys only)."""
    question = access_question(user=request.user, question_id=question_id)
    if request.method == "DELETE":
        services.question_delete(question=question)
        return ApiResponse(status=status.HTTP_204_NO_CONTENT)
    if request.method == "PATCH":
        data = QuestionUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        fields = dict(data.validated_data)
        if "options" in fields:
            fields["options"] = [(o["code"], o["text_en"], o["text_ko"]) for o in fields["options"]]
        question = services.question_update(question=question, **fields)
    question = Question.objects.prefetch_related("options").get(pk=question.pk)
    return ApiResponse(QuestionOutput(question).data)


class MoveInput(StrictSerializer):
    step = serializers.ChoiceField(choices=[-1, 1], help_text="-1 moves up, 1 moves down")


@extend_schema(request=MoveInput, responses=QuestionOutput)
@api_view(["POST"])
def question_move_api(request, question_id: int):
    """Move a question up or down within its block (draft surveys only)."""
    question = access_question(user=request.user, question_id=question_id)
    data = MoveInput(data=request.data)
    data.is_valid(raise_exception=True)
    question = services.question_move(question=question, step=data.validated_data["step"])
    question = Question.objects.prefetch_related("options").get(pk=question.pk)
    return ApiResponse(QuestionOutput(question).data)


@extend_schema(request=None, responses=QuestionOutput)
@api_view(["POST"])
def question_submit_api(request, question_id: int):
    question = access_question(user=request.user, question_id=question_id)
    question = services.question_submit(question=question, user=request.user)
    return ApiResponse(QuestionOutput(question).data)


class ReviewInput(StrictSerializer):
    decision = serializers.ChoiceField(choices=ReviewDecision.choices)
    comment = serializers.CharField(required=False, default="", allow_blank=True)


@extend_schema(request=ReviewInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def question_review_api(request, question_id: int):
    question = access_question(user=request.user, question_id=question_id, review=True)
    data = ReviewInput(data=request.data)
    data.is_valid(raise_exception=True)
    review = services.question_review(
        question=question, reviewer=request.user, **data.validated_data
    )
    question.refresh_from_db()
    return ApiResponse(
        {
            "round": review.round,
            "decision": review.decision,
            "question": QuestionOutput(question).data,
        },
        status=status.HTTP_201_CREATED,
    )


@extend_schema(request=None, responses=SurveyOutput)
@api_view(["POST"])
def survey_open_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    return ApiResponse(SurveyOutput(services.survey_open(survey=survey)).data)


@extend_schema(request=None, responses=SurveyOutput)
@api_view(["POST"])
def survey_close_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    return ApiResponse(SurveyOutput(services.survey_close(survey=survey)).data)


# --- fieldwork and results ------------------------------------------------------------------


class SendInput(StrictSerializer):
    reminder = serializers.BooleanField(required=False, default=False)


@extend_schema(request=SendInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def invitations_send_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = SendInput(data=request.data)
    data.is_valid(raise_exception=True)
    job = services.invitations_send(survey=survey, user=request.user, **data.validated_data)
    return _job(job)


class WeightsInput(StrictSerializer):
    method = serializers.ChoiceField(
        choices=WeightingMethod.choices,
        required=False,
        help_text="Stored for later runs too; leave out to keep the survey's method.",
    )
    trim = serializers.FloatField(
        required=False,
        allow_null=True,
        min_value=services.TRIM_MIN,
        max_value=services.TRIM_MAX,
        help_text="Largest weight as a multiple of the mean weight; null for no cap.",
    )


@extend_schema(request=WeightsInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def weights_api(request, survey_id: int):
    """Compute the weights as a job, after storing ``method`` and ``trim`` when given."""
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = WeightsInput(data=request.data)
    data.is_valid(raise_exception=True)
    given = data.validated_data
    if given:
        survey = services.weighting_update(
            survey=survey,
            method=given.get("method", survey.weighting_method),
            trim=given.get("trim", survey.weight_trim),
        )
    return _job(services.weights_start(survey=survey, user=request.user))


class ExportInput(StrictSerializer):
    format = serializers.ChoiceField(choices=list(services.EXPORT_FORMATS))
    raw = serializers.BooleanField(
        default=False,
        help_text="CSV: leave cells starting with = + - @ tab or CR as they are (for programs); "
        "by default they get a leading ' so a spreadsheet does not run them as formulas.",
    )


@extend_schema(request=ExportInput, responses=OpenApiTypes.OBJECT)
@api_view(["POST"])
def export_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    data = ExportInput(data=request.data)
    data.is_valid(raise_exception=True)
    return _job(
        services.responses_export_start(
            survey=survey,
            user=request.user,
            fmt=data.validated_data["format"],
            raw=data.validated_data["raw"],
        )
    )


@extend_schema(responses=OpenApiTypes.OBJECT)
@api_view(["GET"])
def ground_truth_api(request, survey_id: int):
    survey = access_survey(user=request.user, survey_id=survey_id)
    return ApiResponse(selectors.survey_ground_truth(survey=survey))


@extend_schema(responses=ResponseOutput(many=True))
@api_view(["GET"])
def response_list_api(request, survey_id: int):
    from rest_framework.pagination import LimitOffsetPagination

    survey = access_survey(user=request.user, survey_id=survey_id)
    qs = (
        SurveyResponse.objects.filter(survey=survey).select_related("cell", "weight").order_by("id")
    )
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(qs, request)
    return paginator.get_paginated_response(ResponseOutput(page, many=True).data)
