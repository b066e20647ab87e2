"""``manage.py aggregate VOTES.csv --categories a,b,c --rules majority,... --out OUT.parquet``.

For researchers who already have labels from elsewhere: aggregate a vote table file (CSV, JSONL
or Parquet, with columns item, voter, label and optionally weight and role) by any rules and
write the wide table (one row per item, one column group per rule) as CSV, JSONL or Parquet,
chosen by the extension of ``--out``.
"""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from benchmarks import aggregation
from benchmarks.services import UPLOAD_FORMATS, read_vote_file
from sources.csv_escape import escape_frame


class Command(BaseCommand):
    help = "Aggregate a vote table file by one or more rules into a wide table."

    def add_arguments(self, parser):
        parser.add_argument("votes", help="vote table: .csv, .jsonl or .parquet")
        parser.add_argument("--categories", required=True, help="ordered, comma-separated")
        parser.add_argument(
            "--rules",
            default=",".join(aggregation.RULES),
            help=f"comma-separated, from {', '.join(aggregation.RULES)} (default: all)",
        )
        parser.add_argument("--out", required=True, help="output: .csv, .jsonl or .parquet")
        parser.add_argument("--tie-policy", default="drop", choices=aggregation.TIE_POLICIES)
        parser.add_argument("--seed", type=int, default=None, help="for --tie-policy random")
        parser.add_argument("--epsilon", type=float, default=0.0, help="soft label smoothing")
        parser.add_argument("--secondary-weight", type=float, default=0.0)
        parser.add_argument(
            "--raw",
            action="store_true",
            help="CSV output: leave cells starting with = + - @ as they are (by default a ' is "
            "put in front, so spreadsheets do not run them as formulas)",
        )

    def handle(self, *args, **options):
        path = Path(options["votes"])
        out = Path(options["out"])
        in_fmt = UPLOAD_FORMATS.get(path.suffix.lower())
        out_fmt = UPLOAD_FORMATS.get(out.suffix.lower())
        if in_fmt is None:
            raise CommandError(f"{path}: the vote table must be a .csv, .jsonl or .parquet file")
        if out_fmt is None:
            raise CommandError(f"--out {out}: write to a .csv, .jsonl or .parquet file")
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        categories = [c.strip() for c in options["categories"].split(",") if c.strip()]
        rules = [r.strip() for r in options["rules"].split(",") if r.strip()]
        try:
            votes = read_vote_file(path.read_bytes(), in_fmt)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        try:
            result = aggregation.aggregate(
                votes,
                categories,
                rules=rules,
                tie_policy=options["tie_policy"],
                seed=options["seed"],
                epsilon=options["epsilon"],
                secondary_weight=options["secondary_weight"],
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        table = result.table.reset_index()
        if out_fmt == "csv":
            (table if options["raw"] else escape_frame(table)).to_csv(out, index=False)
        elif out_fmt == "jsonl":
            table.to_json(out, orient="records", lines=True, force_ascii=False)
        else:
            table.to_parquet(out, index=False)
        self.stdout.write(f"Wrote {len(table)} items x {len(result.rules)} rules to {out}")
        for rule, row in result.summary.iterrows():
            self.stdout.write(
                f"  {rule}: kept {int(row['kept'])}, data loss {row['data_loss']:.1%}"
            )
