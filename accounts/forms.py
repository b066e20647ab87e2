from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import StudyRole


class StudyInviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(
        label=_("Role"), choices=StudyRole.choices, initial=StudyRole.RESEARCHER
    )
