from __future__ import annotations

import json

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from accounts.models import User
from annotation.services import rater_erase


class Command(BaseCommand):
    help = (
        "Delete a rater's account with all their answers and imported ratings, in every project, "
        "giving their slots back so that other raters get the items."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username: str, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No user {username!r}.")
        try:
            erased = rater_erase(user=user)
        except ValidationError as exc:
            raise CommandError(json.dumps(exc.message_dict)) from None
        self.stdout.write(json.dumps({"user": username, **erased}))
