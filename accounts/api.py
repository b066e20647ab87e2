from __future__ import annotations

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.decorators import api_view
from rest_framework.response import Response

from accounts.access import access_study, access_study_creation, access_study_invitation
from accounts.models import Study, StudyInvitation, StudyMember, StudyRole
from accounts.selectors import (
    active_user_named,
    invitations_for,
    study_list,
    study_members,
    study_pending_invitations,
)
from accounts.services import (
    study_create,
    study_invitation_accept,
    study_invitation_decline,
    study_member_invite,
    study_member_remove,
    study_update,
)
from config.api import StrictSerializer


class StudyOutput(serializers.ModelSerializer):
    class Meta:
        model = Study
        fields = ["id", "name", "description", "created_at", "archived_at"]


class StudyInput(StrictSerializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")


class StudyUpdateInput(StrictSerializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    archived = serializers.BooleanField(
        required=False,
        help_text="true archives the study (no new survey or annotation project in it; "
        "the rest goes on working), false unarchives it.",
    )


class StudyListQuery(StrictSerializer):
    archived = serializers.BooleanField(
        required=False,
        allow_null=True,
        default=None,
        help_text="true: only the archived studies; false: only the others; left out: all.",
    )


@extend_schema(methods=["GET"], parameters=[StudyListQuery], responses=StudyOutput(many=True))
@extend_schema(methods=["POST"], request=StudyInput, responses=StudyOutput)
@api_view(["GET", "POST"])
def study_list_api(request):
    if request.method == "POST":
        try:
            access_study_creation(user=request.user)
        except DjangoPermissionDenied as exc:
            # The reason says how to get the right, so it is kept (not DRF's generic text).
            raise exceptions.PermissionDenied(str(exc)) from None
        data = StudyInput(data=request.data)
        data.is_valid(raise_exception=True)
        with transaction.atomic():
            study = study_create(user=request.user, **data.validated_data)
        return Response(StudyOutput(study).data, status=status.HTTP_201_CREATED)
    query = StudyListQuery(data=request.query_params.dict())
    query.is_valid(raise_exception=True)
    studies = study_list(user=request.user, archived=query.validated_data["archived"])
    return Response(StudyOutput(studies, many=True).data)


@extend_schema(methods=["GET"], responses=StudyOutput)
@extend_schema(methods=["PATCH"], request=StudyUpdateInput, responses=StudyOutput)
@api_view(["GET", "PATCH"])
def study_detail_api(request, study_id: int):
    """The study; its owners rename it, change its description, or archive it
    (``"archived": true``) and unarchive it with PATCH."""
    if request.method == "PATCH":
        study = access_study(user=request.user, study_id=study_id, manage=True)
        data = StudyUpdateInput(data=request.data)
        data.is_valid(raise_exception=True)
        study = study_update(study=study, **data.validated_data)
        return Response(StudyOutput(study).data)
    study = access_study(user=request.user, study_id=study_id)
    return Response(StudyOutput(study).data)


# --- members and invitations ---------------------------------------------------------------


class StudyMemberOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")

    class Meta:
        model = StudyMember
        fields = ["username", "role", "added_at"]


class StudyInvitationOutput(serializers.ModelSerializer):
    username = serializers.CharField(source="user.username")
    study = serializers.IntegerField(source="study_id")
    study_name = serializers.CharField(source="study.name")
    invited_by = serializers.CharField(source="invited_by.username", default=None)

    class Meta:
        model = StudyInvitation
        fields = [
            "id", "study", "study_name", "username", "role", "invited_by", "status",
            "created_at", "answered_at",
        ]  # fmt: skip


class StudyMembersOutput(serializers.Serializer):
    members = StudyMemberOutput(many=True)
    invitations = StudyInvitationOutput(many=True)


class StudyMemberInput(StrictSerializer):
    username = serializers.CharField(max_length=150)
    role = serializers.ChoiceField(choices=StudyRole.choices, default=StudyRole.RESEARCHER)


def _invitee(username: str):
    user = active_user_named(username=username)
    if user is None:
        raise serializers.ValidationError({"username": [_("No such user.")]})
    return user


@extend_schema(
    request=StudyMemberInput,
    responses={200: StudyMembersOutput, 201: StudyInvitationOutput},
)
@api_view(["GET", "POST"])
def study_members_api(request, study_id: int):
    """The study's members and pending invitations (members); owners invite with POST.

    An invitation changes nothing until the invitee accepts it (``/api/invitations/``)."""
    if request.method == "POST":
        study = access_study(user=request.user, study_id=study_id, manage=True)
        data = StudyMemberInput(data=request.data)
        data.is_valid(raise_exception=True)
        invitation = study_member_invite(
            study=study,
            user=_invitee(data.validated_data["username"]),
            role=data.validated_data["role"],
            by=request.user,
        )
        return Response(StudyInvitationOutput(invitation).data, status=status.HTTP_201_CREATED)
    study = access_study(user=request.user, study_id=study_id)
    return Response(
        StudyMembersOutput(
            {
                "members": study_members(study=study),
                "invitations": study_pending_invitations(study=study),
            }
        ).data
    )


@extend_schema(request=None, responses={204: None})
@api_view(["DELETE"])
def study_member_detail_api(request, study_id: int, username: str):
    """Owners: take a member out of the study (not its last owner). Effective at once."""
    study = access_study(user=request.user, study_id=study_id, manage=True)
    member = study_members(study=study).filter(user__username=username).first()
    if member is None:
        raise serializers.ValidationError(
            {"username": [_("%(user)s is not a member.") % {"user": username}]}
        )
    study_member_remove(study=study, user=member.user)
    return Response(status=status.HTTP_204_NO_CONTENT)


@extend_schema(responses=StudyInvitationOutput(many=True))
@api_view(["GET"])
def invitation_list_api(request):
    """The study invitations waiting for your answer."""
    return Response(StudyInvitationOutput(invitations_for(user=request.user), many=True).data)


@extend_schema(request=None, responses=StudyMemberOutput)
@api_view(["POST"])
def invitation_accept_api(request, invitation_id: int):
    """Accept an invitation addressed to you: you become a member of the study."""
    invitation = access_study_invitation(user=request.user, invitation_id=invitation_id)
    member = study_invitation_accept(invitation=invitation)
    return Response(StudyMemberOutput(member).data)


@extend_schema(request=None, responses={204: None})
@api_view(["POST"])
def invitation_decline_api(request, invitation_id: int):
    invitation = access_study_invitation(user=request.user, invitation_id=invitation_id)
    study_invitation_decline(invitation=invitation)
    return Response(status=status.HTTP_204_NO_CONTENT)
