from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.services import rater_anonymise, rater_erase


class Command(BaseCommand):
    help = (
        "Delete a rater's account with all their answers and imported ratings, in every project, "
        "giving their slots back so that other raters get the items; or, with --keep-ratings, "
        "keep the ratings and make the account anonymous."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument(
            "--keep-ratings",
            action="store_true",
            help="keep the ratings under the rater's pseudonymous key; remove name, email, "
            "password and memberships",
        )

    def handle(self, *args, username: str, keep_ratings: bool, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        if keep_ratings:
            anonymous = rater_anonymise(user=user)
            self.stdout.write(json.dumps({"user": username, "now": anonymous}))
            return
        try:
            erased = rater_erase(user=user)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps({"user": username, **erased}))
