"""REST API of the annotation app: the same permissions as the pages (see ``access.py``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.decorators import api_view, parser_classes
from rest_framework.pagination import LimitOffsetPagination
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from accounts.access import access_study
from accounts.models import User
from accounts.selectors import user_named
from annotation import selectors, services
from annotation.access import (
    access_adjudication,
    access_annotation,
    access_exclusion,
    access_item_for_adjudication,
    access_project,
    access_project_for_work,
    access_project_invitation,
    access_project_membership,
    access_project_viewer,
    projects_researched_by,
)
from annotation.models import (
    Annotation,
    Assignment,
    Category,
    DisagreementRule,
    Exclusion,
    Item,
    LabelMode,
    MemberRole,
    Project,
    ProjectInvitation,
    ProjectMember,
)
from config.api import BoundedJSONParser, StrictSerializer
from config.inputs import BIGINT_MAX, INT_MAX, SEED_MAX
from idempotency.api import KEY_PARAMETER, IdempotencyKeyConflict, api_key, api_response
from idempotency.keys import data_fingerprint
from idempotency.services import IdempotencyKeyReused, Outcome, idempotent_run

# --- output ----------


class CategoryOutput(serializers.ModelSerializer):
    class Meta:
        model = Category
        fields = ["key", "name", "description", "examples", "keyboard_key", "order",
                  "is_secondary_allowed", "is_none"]  # fmt: skip


class ProjectOutput(serializers.ModelSerializer):
    categories = CategoryOutput(many=True, read_only=True)
    mode = serializers.CharField(read_only=True)
    disagreement_rule = serializers.CharField(read_only=True)

    class Meta:
        model = Project
        fields = ["id", "study", "name", "description", "mode", "raters_per_item",
                  "expert_raters_per_item", "expert_sample_rate", "gold_rate", "guidelines",
                  "scales", "allow_comment", "allow_evidence", "lease_minutes",
                  "disagreement_rule", "media_max_bytes", "media_max_seconds", "categories",
                  "created_at"]  # fmt: skip


class ItemOutput(serializers.ModelSerializer):
    media_url = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True)
    gold_label: serializers.SlugRelatedField[Category] = serializers.SlugRelatedField(
        slug_field="key", read_only=True
    )

    class Meta:
        model = Item
        fields = ["id", "external_id", "kind", "text", "media_url", "media_type", "duration",
                  "metadata", "is_gold", "gold_label", "slots_total", "slots_taken"]  # fmt: skip

    def get_media_url(self, item: Item) -> str | None:
        return reverse("annotation:media", args=[item.pk]) if item.media else None


class WorkItemOutput(serializers.ModelSerializer):
    """What a rater sees of an item: never its gold label, counts or anyone's answers."""

    media_url = serializers.SerializerMethodField()
    kind = serializers.CharField(read_only=True)

    class Meta:
        model = Item
        fields = ["id", "external_id", "kind", "text", "media_url", "duration"]

    def get_media_url(self, item: Item) -> str | None:
        return reverse("annotation:media", args=[item.pk]) if item.media else None


class AssignmentOutput(serializers.ModelSerializer):
    item = WorkItemOutput(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = Assignment
        fields = ["id", "item", "status", "leased_at", "expires_at"]


class LabelOutput(serializers.Serializer):
    category = serializers.CharField(source="category.key")
    role = serializers.CharField()


class AnnotationOutput(serializers.ModelSerializer):
    id = serializers.IntegerField(source="pk")
    item = serializers.CharField(source="assignment.item.external_id")
    labels = LabelOutput(many=True, read_only=True)

    class Meta:
        model = Annotation
        fields = ["id", "item", "labels", "ratings", "comment", "evidence", "time_ms",
                  "created_at"]  # fmt: skip


class ResearcherAnnotationOutput(AnnotationOutput):
    rater = serializers.CharField(source="assignment.rater.username")

    class Meta(AnnotationOutput.Meta):
        fields = [*AnnotationOutput.Meta.fields, "rater"]


class MemberOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    role = serializers.CharField(read_only=True)

    class Meta:
        model = ProjectMember
        fields = ["id", "username", "role", "group", "added_at"]


class InvitationOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    project_name = serializers.CharField(source="project.name")
    study_name = serializers.CharField(source="project.study.name")
    invited_by = serializers.CharField(source="invited_by.username", default=None)
    role = serializers.CharField(read_only=True)
    status = serializers.CharField(read_only=True)

    class Meta:
        model = ProjectInvitation
        fields = ["id", "project", "project_name", "study_name", "username", "role", "group",
                  "invited_by", "status", "created_at", "answered_at"]  # fmt: skip


class ExclusionOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="rater.username")

    class Meta:
        model = Exclusion
        fields = ["id", "username", "reason", "active", "created_at", "lifted_at"]


# --- input ----------


class CategoryInput(StrictSerializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    examples = serializers.CharField(required=False, allow_blank=True, default="")
    keyboard_key = serializers.CharField(required=False, allow_blank=True, max_length=1)
    is_secondary_allowed = serializers.BooleanField(required=False, default=True)
    is_none = serializers.BooleanField(required=False, default=False)


class ScaleInput(StrictSerializer):
    key = serializers.SlugField(max_length=64)
    name = serializers.CharField(max_length=100, required=False)
    # The service also bounds the number of points (services.SCALE_POINTS_MAX).
    min = serializers.IntegerField(
        default=1, min_value=-services.SCALE_VALUE_BOUND, max_value=services.SCALE_VALUE_BOUND
    )
    max = serializers.IntegerField(
        default=7, min_value=-services.SCALE_VALUE_BOUND, max_value=services.SCALE_VALUE_BOUND
    )
    # A field named "required" shadows DRF's Field.required attribute in the stubs only (the
    # serializer's metaclass takes declared fields off the class).
    required = serializers.BooleanField(default=False)  # type: ignore[assignment]


class MediaLimitsInput(StrictSerializer):
    """The project's limits on each imported media file (defaults: the site's settings)."""

    media_max_bytes = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=BIGINT_MAX,
        help_text="Largest media file of an import, unpacked (bytes).",
    )
    media_max_seconds = serializers.IntegerField(
        required=False,
        min_value=1,
        max_value=INT_MAX,
        help_text="Longest media file of an import (seconds).",
    )


class ProjectInput(MediaLimitsInput):
    study = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    mode = serializers.ChoiceField(choices=LabelMode.choices, default=LabelMode.SINGLE)
    categories = CategoryInput(many=True)
    raters_per_item = serializers.IntegerField(
        min_value=1, max_value=services.RATERS_PER_ITEM_MAX, default=3
    )
    expert_raters_per_item = serializers.IntegerField(
        min_value=0, max_value=services.EXPERTS_PER_ITEM_MAX, default=0
    )
    expert_sample_rate = serializers.FloatField(min_value=0, max_value=1, default=0)
    gold_rate = serializers.FloatField(min_value=0, max_value=1, default=0)
    guidelines = serializers.CharField(required=False, allow_blank=True, default="")
    scales = ScaleInput(many=True, required=False, default=list)
    allow_comment = serializers.BooleanField(default=True)
    allow_evidence = serializers.BooleanField(default=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, default=15)
    disagreement_rule = serializers.ChoiceField(
        choices=DisagreementRule.choices, default=DisagreementRule.NO_MAJORITY
    )

    def validate_scales(self, scales: list) -> list:
        if len(scales) > services.SCALES_MAX:
            raise serializers.ValidationError(
                _("At most %(n)s rating scales.") % {"n": services.SCALES_MAX}
            )
        return scales


class MemberInput(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.ANNOTATOR)
    group = serializers.CharField(required=False, allow_blank=True, default="", max_length=100)


class LabelInput(StrictSerializer):
    category = serializers.CharField(max_length=64)
    # "primary" or "secondary"; the service names the problem when it is neither.
    role = serializers.CharField(max_length=20, default="primary")


class SubmitInput(StrictSerializer):
    item = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    labels = LabelInput(many=True)
    ratings = serializers.DictField(required=False, default=dict)
    comment = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    evidence = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)
    time_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=0, max_value=INT_MAX
    )


class SkipInput(StrictSerializer):
    item = serializers.IntegerField(min_value=1, max_value=BIGINT_MAX)
    reason = serializers.CharField(max_length=200)


class ImportInput(StrictSerializer):
    file = serializers.FileField()
    media_zip = serializers.FileField(required=False)


class RatingsImportInput(StrictSerializer):
    file = serializers.FileField(help_text="CSV: item,rater,label[,role,created,time_ms]")


class ImportedRatingOutput(serializers.Serializer):
    item = serializers.CharField(source="item.external_id")
    rater = serializers.CharField(source="rater.username")
    # Shadows DRF's Field.label attribute in the stubs only (see ScaleInput.required).
    label = serializers.CharField(source="category.key")  # type: ignore[assignment]
    role = serializers.CharField()
    created_at = serializers.DateTimeField()
    time_ms = serializers.IntegerField(allow_null=True)


class RatingsImportOutput(serializers.Serializer):
    rows = serializers.IntegerField()
    answers = serializers.IntegerField()
    labels = serializers.IntegerField()
    skipped_rows = serializers.IntegerField()
    new_raters = serializers.IntegerField()


class ExclusionInput(StrictSerializer):
    username = serializers.CharField()
    reason = serializers.CharField(max_length=2000)


class AdjudicationInput(StrictSerializer):
    labels = LabelInput(many=True)
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


def _user_named(username: str, field: str = "username") -> User:
    user = user_named(username=username)
    if user is None:
        raise serializers.ValidationError({field: [_("No such user.")]})
    return user


# --- projects ----------


@extend_schema(request=ProjectInput, responses=ProjectOutput(many=True))
@api_view(["GET", "POST"])
def project_list_api(request):
    """Projects you research (GET), or a new project in one of your studies (POST)."""
    if request.method == "POST":
        data = ProjectInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        study = access_study(user=request.user, study_id=values.pop("study"))
        project = services.project_create(study=study, user=request.user, **values)
        return Response(ProjectOutput(project).data, status=status.HTTP_201_CREATED)
    projects = projects_researched_by(user=request.user).prefetch_related("categories")
    return Response(ProjectOutput(projects.order_by("-created_at"), many=True).data)


class ProjectSettingsInput(MediaLimitsInput):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    guidelines = serializers.CharField(required=False, allow_blank=True)
    raters_per_item = serializers.IntegerField(min_value=1, max_value=1000, required=False)
    gold_rate = serializers.FloatField(min_value=0, max_value=1, required=False)
    lease_minutes = serializers.IntegerField(min_value=1, max_value=24 * 60, required=False)
    allow_comment = serializers.BooleanField(required=False)
    allow_evidence = serializers.BooleanField(required=False)
    disagreement_rule = serializers.ChoiceField(choices=DisagreementRule.choices, required=False)


@extend_schema(methods=["GET"], responses=ProjectOutput)
@extend_schema(methods=["PATCH"], request=ProjectSettingsInput, responses=ProjectOutput)
@api_view(["GET", "PATCH"])
def project_detail_api(request, project_id: int):
    """The project and its schema; members see it too (they need the categories). Researchers
    change its settings with PATCH (not the mode or the categories)."""
    if request.method == "PATCH":
        project = access_project(user=request.user, project_id=project_id)
        data = ProjectSettingsInput(data=request.data)
        data.is_valid(raise_exception=True)
        project = services.project_update(project=project, **data.validated_data)
        return Response(ProjectOutput(project).data)
    project = access_project_for_work(user=request.user, project_id=project_id)
    return Response(ProjectOutput(project).data)


class CategoriesInput(StrictSerializer):
    categories = CategoryInput(many=True)


@extend_schema(request=CategoriesInput, responses=CategoryOutput(many=True))
@api_view(["PUT"])
def categories_api(request, project_id: int):
    """Researchers: revise the codebook. The list is the whole schema in display order: names,
    descriptions, examples and keyboard keys change, new keys are added, none is removed."""
    project = access_project(user=request.user, project_id=project_id)
    data = CategoriesInput(data=request.data)
    data.is_valid(raise_exception=True)
    specs = [
        {k: v for k, v in spec.items() if k not in ("is_none", "is_secondary_allowed")}
        for spec in data.validated_data["categories"]
    ]
    categories = services.categories_update(project=project, categories=specs)
    return Response(CategoryOutput(categories, many=True).data)


class ExpertSampleInput(StrictSerializer):
    experts_per_item = serializers.IntegerField(min_value=0, max_value=20)
    sample_rate = serializers.FloatField(min_value=0, max_value=1)
    stratify_by = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=200
    )
    seed = serializers.IntegerField(required=False, default=0, min_value=0, max_value=SEED_MAX)


@extend_schema(
    request=ExpertSampleInput,
    responses={200: OpenApiResponse(description='{"items": number of items in the sample}')},
)
@api_view(["POST"])
def expert_sample_api(request, project_id: int):
    """Researchers: set the experts' overlap and share of items and draw the stratified sample
    (seeded; drawing again keeps what experts already rated)."""
    project = access_project(user=request.user, project_id=project_id)
    data = ExpertSampleInput(data=request.data)
    data.is_valid(raise_exception=True)
    n = services.expert_sample_set(project=project, **data.validated_data)
    return Response({"items": n})


@extend_schema(
    request=MemberInput,
    responses={200: MemberOutput(many=True), 201: InvitationOutput},
)
@api_view(["GET", "POST"])
def member_list_api(request, project_id: int):
    """Researchers: the project's members (GET), or invite a person (POST): 201 with a
    pending invitation, which changes nothing until they accept it
    (``/api/annotation/invitations/``). POSTing a current member changes their role and group
    at once (200 with the member)."""
    project = access_project(user=request.user, project_id=project_id)
    if request.method == "POST":
        data = MemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = _user_named(data.validated_data["username"])
        if not user.is_active:
            raise serializers.ValidationError({"username": [_("No such user.")]})
        outcome = services.member_invite(
            project=project,
            user=user,
            role=data.validated_data["role"],
            group=data.validated_data["group"],
            by=request.user,
        )
        if isinstance(outcome, ProjectInvitation):
            return Response(InvitationOutput(outcome).data, status=status.HTTP_201_CREATED)
        return Response(MemberOutput(outcome).data)
    members = project.members.select_related("user").order_by("id")
    return Response(MemberOutput(members, many=True).data)


@extend_schema(responses=InvitationOutput(many=True))
@api_view(["GET"])
def project_invitation_list_api(request, project_id: int):
    """Researchers: the project's invitations waiting for an answer."""
    project = access_project(user=request.user, project_id=project_id)
    pending = selectors.project_pending_invitations(project=project).select_related(
        "project__study", "invited_by"
    )
    return Response(InvitationOutput(pending, many=True).data)


@extend_schema(responses=InvitationOutput(many=True))
@api_view(["GET"])
def invitation_list_api(request):
    """The project invitations waiting for your answer."""
    pending = selectors.project_invitations_for(user=request.user)
    return Response(InvitationOutput(pending, many=True).data)


@extend_schema(request=None, responses=MemberOutput)
@api_view(["POST"])
def invitation_accept_api(request, invitation_id: int):
    """Accept an invitation addressed to you: you become a member of the project."""
    invitation = access_project_invitation(user=request.user, invitation_id=invitation_id)
    member = services.project_invitation_accept(invitation=invitation)
    return Response(MemberOutput(member).data)


@extend_schema(request=None, responses={204: None})
@api_view(["POST"])
def invitation_decline_api(request, invitation_id: int):
    invitation = access_project_invitation(user=request.user, invitation_id=invitation_id)
    services.project_invitation_decline(invitation=invitation)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(request=None, responses={200: OpenApiResponse(description='{"leases_ended": n}')})
@api_view(["DELETE"])
def member_detail_api(request, project_id: int, username: str):
    """Researchers: take a person off the project (their open leases end; answers stay)."""
    project = access_project(user=request.user, project_id=project_id)
    user = _user_named(username)
    ended = services.member_remove(project=project, user=user)
    return Response({"leases_ended": ended})


@extend_schema(request={"multipart/form-data": ImportInput}, responses=ItemOutput(many=True))
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser, FormParser, BoundedJSONParser])
def item_list_api(request, project_id: int):
    """Items of the project (researchers), or an import of CSV/JSONL plus a media zip."""
    project = access_project(user=request.user, project_id=project_id)
    if request.method == "POST":
        data = ImportInput(data=request.data)
        data.is_valid(raise_exception=True)
        upload = data.validated_data["file"]
        media = data.validated_data.get("media_zip")
        report = services.items_import(
            project=project,
            data=upload.read(),
            filename=upload.name,
            # The upload itself (a file), read one media file at a time: never whole.
            media_zip=media,
        )
        if not report.ok:
            errors = {f"rows.{r['row']}": r["errors"] for r in report.rows if r["errors"]}
            return Response(
                {"errors": errors, "report": report.as_dict()}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(report.as_dict(), status=status.HTTP_201_CREATED)
    items = Item.objects.filter(project=project).select_related("gold_label").order_by("id")
    paginator = LimitOffsetPagination()
    page = paginator.paginate_queryset(items, request)
    return paginator.get_paginated_response(ItemOutput(page, many=True).data)


@extend_schema(
    methods=["POST"],
    request={"multipart/form-data": RatingsImportInput},
    responses={201: RatingsImportOutput},
)
@extend_schema(methods=["GET"], responses=ImportedRatingOutput(many=True))
@api_view(["GET", "POST"])
@parser_classes([MultiPartParser, FormParser])
def ratings_import_api(request, project_id: int):
    """Researchers: the imported ratings, one row per label (GET, paginated), or an import of
    ratings given elsewhere (POST a CSV; all or nothing, idempotent)."""
    project = access_project(user=request.user, project_id=project_id)
    if request.method == "GET":
        paginator = LimitOffsetPagination()
        page = paginator.paginate_queryset(selectors.imported_ratings(project=project), request)
        return paginator.get_paginated_response(ImportedRatingOutput(page, many=True).data)
    data = RatingsImportInput(data=request.data)
    data.is_valid(raise_exception=True)
    report = services.ratings_import(project=project, source=data.validated_data["file"])
    return Response(RatingsImportOutput(report).data, status=status.HTTP_201_CREATED)


# --- work ----------


@extend_schema(
    request=None,
    responses={200: AssignmentOutput, 204: OpenApiResponse(description="Nothing left to do.")},
)
@api_view(["POST"])
def next_item_api(request, project_id: int):
    """Your open item, or a new lease on the most needed item you have not seen."""
    project, _ = access_project_membership(
        user=request.user, project_id=project_id, roles=(MemberRole.ANNOTATOR, MemberRole.EXPERT)
    )
    assignment = services.assignment_next(project=project, user=request.user)
    if assignment is None:
        return Response(status=status.HTTP_204_NO_CONTENT)
    return Response(AssignmentOutput(assignment).data)


@extend_schema(request=SubmitInput, responses={201: AnnotationOutput}, parameters=[KEY_PARAMETER])
@api_view(["POST"])
def submit_api(request, project_id: int):
    """Your answer on an item leased to you. With an ``Idempotency-Key``, a retry (after a
    timeout, say) gets the first answer's 201 back instead of "already answered"."""
    project, _ = access_project_membership(
        user=request.user, project_id=project_id, roles=(MemberRole.ANNOTATOR, MemberRole.EXPERT)
    )
    key = api_key(request)
    data = SubmitInput(data=request.data)
    data.is_valid(raise_exception=True)
    v = data.validated_data

    def submit() -> Outcome:
        annotation = services.annotation_submit(
            project=project,
            user=request.user,
            item_id=v["item"],
            labels=v["labels"],
            ratings=v["ratings"],
            comment=v["comment"],
            evidence=v["evidence"],
            time_ms=v.get("time_ms"),
        )
        body = AnnotationOutput(annotation).data
        return Outcome(status=status.HTTP_201_CREATED, body=body)

    return _idempotent_api(
        scope=f"annotation.api.submit:{request.user.pk}:{project.pk}",
        key=key,
        fingerprint=data_fingerprint(request.data),
        action=submit,
    )


@extend_schema(request=SkipInput, responses={200: AssignmentOutput}, parameters=[KEY_PARAMETER])
@api_view(["POST"])
def skip_api(request, project_id: int):
    """Skip an item leased to you, with a reason. With an ``Idempotency-Key``, a retry gets the
    first answer back instead of "not leased to you"."""
    project, _ = access_project_membership(user=request.user, project_id=project_id)
    key = api_key(request)
    data = SkipInput(data=request.data)
    data.is_valid(raise_exception=True)

    def skip() -> Outcome:
        assignment = services.assignment_skip(
            project=project,
            user=request.user,
            item_id=data.validated_data["item"],
            reason=data.validated_data["reason"],
        )
        return Outcome(status=status.HTTP_200_OK, body=AssignmentOutput(assignment).data)

    return _idempotent_api(
        scope=f"annotation.api.skip:{request.user.pk}:{project.pk}",
        key=key,
        fingerprint=data_fingerprint(request.data),
        action=skip,
    )


@extend_schema(request=None, responses={200: AssignmentOutput}, parameters=[KEY_PARAMETER])
@api_view(["POST"])
def undo_api(request, project_id: int):
    """Take back your last answer in the project; its item is yours to answer again. With an
    ``Idempotency-Key``, a retry gets the first answer back instead of taking back a second
    answer."""
    project, _ = access_project_membership(user=request.user, project_id=project_id)

    def undo() -> Outcome:
        assignment = services.annotation_undo(project=project, user=request.user)
        return Outcome(status=status.HTTP_200_OK, body=AssignmentOutput(assignment).data)

    return _idempotent_api(
        scope=f"annotation.api.undo:{request.user.pk}:{project.pk}",
        key=api_key(request),
        fingerprint=data_fingerprint({}),
        action=undo,
    )


def _idempotent_api(
    *, scope: str, key: str | None, fingerprint: str, action: Callable[[], Outcome]
) -> Response:
    try:
        outcome = idempotent_run(scope=scope, key=key, fingerprint=fingerprint, action=action)
    except IdempotencyKeyReused:
        raise IdempotencyKeyConflict from None
    return api_response(outcome)


@extend_schema(responses=ResearcherAnnotationOutput(many=True))
@api_view(["GET"])
def annotation_list_api(request, project_id: int):
    """Researchers: every answer. Members: their own answers only."""
    project, researcher = access_project_viewer(user=request.user, project_id=project_id)
    paginator = LimitOffsetPagination()
    if researcher:
        page = paginator.paginate_queryset(selectors.project_annotations(project=project), request)
        return paginator.get_paginated_response(ResearcherAnnotationOutput(page, many=True).data)
    own = selectors.own_annotations(project=project, user=request.user)
    page = paginator.paginate_queryset(own, request)
    return paginator.get_paginated_response(AnnotationOutput(page, many=True).data)


@extend_schema(responses=AnnotationOutput)
@api_view(["GET"])
def annotation_detail_api(request, annotation_id: int):
    """One answer: for its own rater and the project's researchers (404 for anyone else)."""
    annotation = access_annotation(user=request.user, annotation_id=annotation_id)
    return Response(AnnotationOutput(annotation).data)


# --- quality and agreement ----------


class VotePagination(LimitOffsetPagination):
    default_limit = 1000
    max_limit = 10_000


class _TableRows:
    """A DataFrame seen as a sequence of JSON rows, converting only the slice asked for."""

    def __init__(self, table):
        self.table = table

    def __len__(self) -> int:
        return len(self.table)

    def __getitem__(self, window: slice) -> list[dict]:
        part = self.table.iloc[window]
        return part.astype(object).where(part.notna(), None).to_dict("records")


@extend_schema(
    responses={
        200: OpenApiResponse(
            description="Rows of the vote table, a page at a time (limit up to 10,000, "
            "1,000 by default); the export below writes the whole table as a file."
        )
    }
)
@api_view(["GET"])
def vote_table_api(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    table = selectors.project_vote_table(project=project)
    table = table.assign(created=table["created"].map(lambda t: t.isoformat()))
    paginator = VotePagination()
    # The paginator needs only len() and slicing; the stubs ask for a QuerySet or a Sequence.
    page: list[dict[str, Any]] | None = paginator.paginate_queryset(
        _TableRows(table),  # type: ignore[arg-type]
        request,
    )
    return paginator.get_paginated_response(page)


class VotesExportInput(StrictSerializer):
    format = serializers.ChoiceField(choices=["csv", "parquet"], default="csv")
    raw = serializers.BooleanField(
        default=False,
        help_text="CSV: leave cells starting with = + - @ tab or CR as they are (for programs); "
        "by default they get a leading ' so a spreadsheet does not run them as formulas.",
    )


@extend_schema(
    request=VotesExportInput,
    responses={202: OpenApiResponse(description="A job writing the file (see its download).")},
)
@api_view(["POST"])
def votes_export_api(request, project_id: int):
    """Researchers: export the vote table as CSV or Parquet, as a job with a result file."""
    project = access_project(user=request.user, project_id=project_id)
    data = VotesExportInput(data=request.data)
    data.is_valid(raise_exception=True)
    job = services.votes_export_start(
        project=project,
        user=request.user,
        fmt=data.validated_data["format"],
        raw=data.validated_data["raw"],
    )
    return Response(
        {"job": str(job.id), "url": reverse("api-job-detail", args=[job.id])},
        status=status.HTTP_202_ACCEPTED,
    )


@extend_schema(
    request=None,
    responses={
        200: OpenApiResponse(description="The agreement report."),
        202: OpenApiResponse(description="A job computing the report (POST)."),
    },
)
@api_view(["GET", "POST"])
def agreement_api(request, project_id: int):
    """The agreement report now (GET), or as a job for large projects (POST)."""
    project = access_project(user=request.user, project_id=project_id)
    if request.method == "POST":
        job = services.agreement_job_start(project=project, user=request.user)
        return Response(
            {"job": str(job.id), "url": reverse("api-job-detail", args=[job.id])},
            status=status.HTTP_202_ACCEPTED,
        )
    return Response(selectors.project_agreement(project=project))


@extend_schema(responses={200: OpenApiResponse(description="One row per annotator.")})
@api_view(["GET"])
def annotator_table_api(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    rows = selectors.annotator_table(project=project)
    return Response(
        [
            {
                "username": r["member"].user.username,
                "role": r["member"].role,
                "group": r["member"].group,
                "voter": r["voter"],
                "done": r["done"],
                "median_seconds": r["median_seconds"],
                "gold_accuracy": r["gold_accuracy"],
                "agreement": r["agreement"],
                "speed_flag": r["speed_flag"],
                "excluded": r["exclusion"] is not None,
            }
            for r in rows
        ]
    )


@extend_schema(request=ExclusionInput, responses=ExclusionOutput(many=True))
@api_view(["GET", "POST"])
def exclusion_list_api(request, project_id: int):
    project = access_project(user=request.user, project_id=project_id)
    if request.method == "POST":
        data = ExclusionInput(data=request.data)
        data.is_valid(raise_exception=True)
        rater = _user_named(data.validated_data["username"])
        exclusion = services.exclusion_create(
            project=project, rater=rater, reason=data.validated_data["reason"], by=request.user
        )
        return Response(ExclusionOutput(exclusion).data, status=status.HTTP_201_CREATED)
    rows = project.exclusions.select_related("rater")
    return Response(ExclusionOutput(rows, many=True).data)


@extend_schema(request=None, responses=ExclusionOutput)
@api_view(["POST"])
def exclusion_lift_api(request, exclusion_id: int):
    exclusion = access_exclusion(user=request.user, exclusion_id=exclusion_id)
    exclusion = services.exclusion_lift(exclusion=exclusion, by=request.user)
    return Response(ExclusionOutput(exclusion).data)


# --- adjudication ----------


@extend_schema(responses={200: OpenApiResponse(description="Items awaiting a decision.")})
@api_view(["GET"])
def adjudication_queue_api(request, project_id: int):
    project = access_adjudication(user=request.user, project_id=project_id)
    return Response(
        [
            {"item": e["item"].pk, "external_id": e["item"].external_id, "labels": e["labels"]}
            for e in selectors.adjudication_queue(project=project)
        ]
    )


@extend_schema(request=AdjudicationInput, responses={200: OpenApiResponse()})
@api_view(["GET", "POST"])
def item_adjudication_api(request, item_id: int):
    """Every answer on the item (GET), or the final decision with a note (POST)."""
    item = access_item_for_adjudication(user=request.user, item_id=item_id)
    if request.method == "POST":
        data = AdjudicationInput(data=request.data)
        data.is_valid(raise_exception=True)
        decision = services.adjudication_record(
            item=item,
            user=request.user,
            labels=data.validated_data["labels"],
            note=data.validated_data["note"],
        )
        return Response(
            {"id": decision.pk, "labels": decision.labels, "note": decision.note},
            status=status.HTTP_201_CREATED,
        )
    answers = selectors.item_labels_for_adjudication(item=item)
    return Response(
        {
            "item": WorkItemOutput(item).data,
            "answers": [
                {
                    "rater": a["rater"].username,
                    "excluded": a["excluded"],
                    "primary": [c.key for c in a["primary"]],
                    "secondary": [c.key for c in a["secondary"]],
                    "imported": a["imported"],
                    "ratings": a["ratings"],
                    "comment": a["comment"],
                }
                for a in answers
            ],
        }
    )
