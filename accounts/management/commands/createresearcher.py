"""``manage.py createresearcher USERNAME [--email ADDRESS]``: let a person create studies."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import researcher_grant


class Command(BaseCommand):
    help = (
        "Grant USERNAME the right to create studies (can_create_studies), creating the account "
        "when there is none (without a password: set one with `manage.py changepassword`)."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--email", default="", help="Email address of a new account.")

    @transaction.atomic
    def handle(self, *args, username: str, email: str, **options):
        existing = User.objects.filter(username=username).first()
        created = existing is None
        if existing is None:
            user = User(username=username, email=email)
            try:
                user.full_clean(exclude=["password"])
            except ValidationError as exc:
                raise CommandError("; ".join(exc.messages)) from None
            user.set_unusable_password()
            user.save()
        elif not existing.is_active:
            raise CommandError(f"{username} is an inactive account (an imported rater?).")
        else:
            user = existing
        researcher_grant(user=user)
        self.stdout.write(
            f"Created {username}; they may create studies. Set a password with "
            f"`manage.py changepassword {username}`."
            if created
            else f"{username} may create studies."
        )
