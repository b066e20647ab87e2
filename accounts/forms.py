from __future__ import annotations

from django import forms
from django.contrib.auth.forms import UserCreationForm
from django.utils.translation import gettext_lazy as _

from accounts.models import StudyRole, User


class StudyInviteForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    role = forms.ChoiceField(
        label=_("Role"), choices=StudyRole.choices, initial=StudyRole.RESEARCHER
    )


class StudyForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(
        label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class StudyInviteLinkForm(forms.Form):
    role = forms.ChoiceField(
        label=_("Role"), choices=StudyRole.choices, initial=StudyRole.RESEARCHER
    )
    email = forms.EmailField(
        label=_("For (email, optional)"),
        required=False,
        help_text=_("A note of whom the link is for; whoever opens it first can use it."),
    )


class InvitationSignUpForm(UserCreationForm):
    """A new account, made through an invitation link (the password validators apply)."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username", "email")
