from __future__ import annotations

from django.db.models import Count, QuerySet

from accounts.access import studies_visible_to
from accounts.models import Study, User


def study_list(*, user: User) -> QuerySet[Study]:
    return (
        studies_visible_to(user=user)
        .annotate(member_count=Count("members", distinct=True))
        .order_by("-created_at", "-id")
    )
