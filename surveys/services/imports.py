"""CSV imports of populations (census counts per cell) and panels (people and their strata).

Both are all-or-nothing: every row is checked first, and a file with any bad row imports
nothing and reports each bad row by its line number in the file.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts.models import Study
from config import inputs
from surveys.models import Cell, Panel, Panelist, PanelistContact, Population, cell_key

COUNT_COLUMN = "count"
ID_COLUMN = "external_id"
CONTACT_COLUMNS = ("email", "phone")
MAX_ERRORS = 200


# Column lengths (surveys.models): a value that does not fit is a bad row, not a 500.
def _max_length(model: type[models.Model], name: str) -> int:
    return int(getattr(model._meta.get_field(name), "max_length", 0) or 0)


CELL_KEY_MAX = _max_length(Cell, "key")
PANELIST_ID_MAX = _max_length(Panelist, "external_id")
CONTACT_MAX = {
    "email": _max_length(PanelistContact, "email"),
    "phone": _max_length(PanelistContact, "phone"),
}


def _read(text: str | bytes) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ValidationError({"file": [_("The file is not UTF-8 text.")]}) from None
    text = text.lstrip("\ufeff")
    # Cells longer than IMPORT_CSV_FIELD_MAX_CHARS are refused with their line and column.
    raw_header, cells = inputs.csv_rows(text)
    header = [h.strip() for h in raw_header]
    if not header:
        raise ValidationError({"file": [_("The file is empty.")]})
    rows = []
    for line, values in cells:
        if not values:
            continue
        if len(values) > len(header):  # more cells than header columns
            rows.append((line, {"__extra__": "1"}))
            continue
        padded = values + [""] * (len(header) - len(values))
        rows.append((line, {k: v.strip() for k, v in zip(header, padded, strict=True)}))
    return header, rows


def _fail(errors: list[str]) -> None:
    if len(errors) > MAX_ERRORS:
        more = _("... and %(n)s more bad rows.") % {"n": len(errors) - MAX_ERRORS}
        errors = [*errors[:MAX_ERRORS], more]
    raise ValidationError({"rows": errors})


@transaction.atomic
def population_import(*, study: Study, name: str, csv_text: str | bytes) -> Population:
    """Create a population from a CSV with one column per stratification variable and a
    ``count`` column (the census count of that cell), one row per cell.

    Raises ``ValidationError`` (``file`` or ``rows``) and creates nothing when the header is
    wrong or any row is bad (missing value, count not a whole number >= 0, cell repeated).
    """
    header, rows = _read(csv_text)
    if COUNT_COLUMN not in header:
        raise ValidationError(
            {"file": [_("The header must have a '%(column)s' column.") % {"column": COUNT_COLUMN}]}
        )
    variables = [h for h in header if h != COUNT_COLUMN]
    if not variables:
        raise ValidationError({"file": [_("The header names no stratification variable.")]})
    if len(set(header)) != len(header):
        raise ValidationError({"file": [_("The header repeats a column name.")]})
    if not rows:
        raise ValidationError({"file": [_("The file has no rows.")]})
    errors: list[str] = []
    seen: dict[str, int] = {}
    cells: list[Cell] = []
    for line, row in rows:
        if "__extra__" in row:
            errors.append(_("Row %(line)s: more values than columns.") % {"line": line})
            continue
        problems = []
        values = {v: row.get(v, "") for v in variables}
        empty = [v for v, value in values.items() if not value]
        if empty:
            problems.append(_("missing %(columns)s") % {"columns": ", ".join(empty)})
        raw = row.get(COUNT_COLUMN, "")
        try:
            count = int(raw)
        except ValueError:
            problems.append(_("count %(value)r is not a whole number") % {"value": raw[:40]})
            count = 0
        else:
            if count < 0:
                problems.append(_("count %(count)s is negative") % {"count": count})
            elif count > inputs.BIGINT_MAX:
                problems.append(
                    _("count %(count)s is larger than %(max)s")
                    % {"count": count, "max": inputs.BIGINT_MAX}
                )
        key = cell_key([values[v] for v in variables])
        if len(key) > CELL_KEY_MAX:
            problems.append(
                _(
                    "the values of %(variables)s take %(n)s characters together "
                    "(with separators); at most %(max)s"
                )
                % {"variables": ", ".join(variables), "n": f"{len(key):,}", "max": CELL_KEY_MAX}
            )
        elif not empty and key in seen:
            problems.append(_("cell %(key)s repeats row %(row)s") % {"key": key, "row": seen[key]})
        seen.setdefault(key, line)
        if problems:
            errors.append(
                _("Row %(line)s: %(problems)s.") % {"line": line, "problems": "; ".join(problems)}
            )
        else:
            cells.append(Cell(key=key, values=values, count=count))
    if errors:
        _fail(errors)
    population = Population.objects.create(study=study, name=name, variables=variables)
    for cell in cells:
        cell.population = population
    Cell.objects.bulk_create(cells, batch_size=2000)
    return population


@dataclass
class PanelReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return asdict(self)


@transaction.atomic
def panel_import(*, panel: Panel, csv_text: str | bytes) -> PanelReport:
    """Add or update panelists from a CSV: ``external_id``, one column per stratification
    variable of the panel's population, and optionally ``email`` and ``phone``.

    Idempotent by external id: a known id updates its attributes and contact, an unchanged row
    changes nothing. Raises ``ValidationError`` and imports nothing when any row is bad
    (missing or repeated id, a stratum that is not a cell of the population, a bad email).
    """
    population = panel.population
    variables = list(population.variables)
    header, rows = _read(csv_text)
    missing = [c for c in [ID_COLUMN, *variables] if c not in header]
    if missing:
        raise ValidationError(
            {
                "file": [
                    _("The header lacks the columns %(columns)s.") % {"columns": ", ".join(missing)}
                ]
            }
        )
    parsed = _panel_rows(population, header, rows)
    return _panel_store(panel, parsed)


# A checked row: external id, stratum attributes, cell, contact details.
_PanelRow = tuple[str, dict, Cell, dict]


def _panel_rows(population, header: list[str], rows) -> list[_PanelRow]:
    """Every row checked; a ``ValidationError`` naming each bad row if any is bad."""
    variables = list(population.variables)
    cells = {c.key: c for c in population.cells.all()}
    errors: list[str] = []
    seen: dict[str, int] = {}
    parsed: list[_PanelRow] = []
    for line, row in rows:
        if "__extra__" in row:
            errors.append(_("Row %(line)s: more values than columns.") % {"line": line})
            continue
        external_id = row.get(ID_COLUMN, "")
        problems = _external_id_problems(external_id, seen)
        if not problems:
            seen[external_id] = line
        attributes = {v: row.get(v, "") for v in variables}
        key = cell_key([attributes[v] for v in variables])
        cell = cells.get(key)
        if cell is None:
            problems.append(
                _("no cell %(key)s in population %(name)s") % {"key": key, "name": population.name}
            )
        contact = {c: row.get(c, "") for c in CONTACT_COLUMNS if c in header}
        problems += _contact_problems(contact)
        if problems:
            errors.append(
                _("Row %(line)s: %(problems)s.") % {"line": line, "problems": "; ".join(problems)}
            )
        else:
            assert cell is not None  # a row without a cell has a problem
            parsed.append((external_id, attributes, cell, contact))
    if errors:
        _fail(errors)
    return parsed


def _external_id_problems(external_id: str, seen: dict[str, int]) -> list[str]:
    if not external_id:
        return [_("missing external_id")]
    if len(external_id) > PANELIST_ID_MAX:
        return [
            _("external_id of %(n)s characters; at most %(max)s")
            % {"n": f"{len(external_id):,}", "max": PANELIST_ID_MAX}
        ]
    if external_id in seen:
        return [
            _("external_id %(id)s repeats row %(row)s")
            % {"id": external_id, "row": seen[external_id]}
        ]
    return []


def _contact_problems(contact: dict[str, str]) -> list[str]:
    problems = []
    for name, value in contact.items():
        if len(value) > CONTACT_MAX[name]:
            problems.append(
                _("%(name)s of %(n)s characters; at most %(max)s")
                % {"name": name, "n": f"{len(value):,}", "max": CONTACT_MAX[name]}
            )
    if contact.get("email") and len(contact["email"]) <= CONTACT_MAX["email"]:
        try:
            validate_email(contact["email"])
        except ValidationError:
            problems.append(_("email %(email)r is not valid") % {"email": contact["email"]})
    return problems


def _panel_store(panel: Panel, parsed: list[_PanelRow]) -> PanelReport:
    """Create the new panelists and update the changed ones (and their contacts) in batches."""
    report = PanelReport()
    existing = {p.external_id: p for p in panel.panelists.select_related("contact")}
    new: list[Panelist] = []
    changed: list[Panelist] = []
    contacts_new: list[PanelistContact] = []
    contacts_changed: list[PanelistContact] = []
    for external_id, attributes, cell, contact in parsed:
        panelist = existing.get(external_id)
        if panelist is None:
            new.append(
                Panelist(panel=panel, external_id=external_id, attributes=attributes, cell=cell)
            )
            report.created += 1
            continue
        dirty = False
        if panelist.attributes != attributes or panelist.cell_id != cell.pk:
            panelist.attributes, panelist.cell = attributes, cell
            panelist.updated_at = timezone.now()
            changed.append(panelist)
            dirty = True
        if contact:
            current = getattr(panelist, "contact", None)
            if current is None:
                contacts_new.append(PanelistContact(panelist=panelist, **_contact(contact)))
                dirty = True
            elif any(getattr(current, k) != v for k, v in contact.items()):
                for k, v in contact.items():
                    setattr(current, k, v)
                contacts_changed.append(current)
                dirty = True
        if dirty:
            report.updated += 1
        else:
            report.unchanged += 1
    created = Panelist.objects.bulk_create(new, batch_size=2000)
    by_id = {p.external_id: p for p in created}
    for external_id, _attributes, _cell, contact in parsed:
        if external_id in by_id and contact and any(contact.values()):
            contacts_new.append(PanelistContact(panelist=by_id[external_id], **_contact(contact)))
    Panelist.objects.bulk_update(changed, ["attributes", "cell", "updated_at"], batch_size=2000)
    PanelistContact.objects.bulk_create(contacts_new, batch_size=2000)
    PanelistContact.objects.bulk_update(contacts_changed, ["email", "phone"], batch_size=2000)
    return report


def _contact(contact: dict) -> dict:
    return {"email": contact.get("email", ""), "phone": contact.get("phone", "")}


def panel_create(*, population: Population, name: str) -> Panel:
    """A new, empty panel of the population (of the population's study)."""
    if not name.strip() or len(name) > 200:
        raise ValidationError({"name": [_("A panel name of 1 to 200 characters.")]})
    return Panel.objects.create(study_id=population.study_id, population=population, name=name)


@transaction.atomic
def panel_import_named(
    *, population: Population, name: str, csv_text: str | bytes
) -> tuple[Panel, PanelReport, bool]:
    """Import a CSV into the population's panel called ``name``, creating the panel first if
    there is none (returned flag ``True``). All-or-nothing like :func:`panel_import`: a file
    with any bad row imports nothing and a panel created for it is not kept."""
    panel = Panel.objects.filter(population=population, name=name).order_by("id").first()
    created = panel is None
    if panel is None:
        panel = panel_create(population=population, name=name)
    return panel, panel_import(panel=panel, csv_text=csv_text), created
