"""Imports are seen by the members of their study; anyone else gets a 404."""

from __future__ import annotations

from accounts.access import get_or_404, studies_visible_to
from accounts.models import User
from interop.models import LabelImport


def access_import(*, user: User, import_id) -> LabelImport:
    return get_or_404(
        LabelImport.objects.filter(study__in=studies_visible_to(user=user)).select_related(
            "study", "job", "project"
        ),
        "import",
        pk=import_id,
    )
