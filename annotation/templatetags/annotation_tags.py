"""Template tags for the home page partials (the home view belongs to ``accounts``)."""

from __future__ import annotations

from django import template

from annotation import selectors

register = template.Library()


@register.simple_tag
def annotation_work(user):
    """The user's project memberships with their counts."""
    if not user.is_authenticated:
        return []
    return selectors.memberships_for_user(user=user)


@register.simple_tag
def annotation_invitations(user):
    """The project invitations waiting for the user's answer."""
    return list(selectors.project_invitations_for(user=user))
