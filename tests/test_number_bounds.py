"""Every number a form or an API body takes is bounded: 10^26 (beyond every column, and
beyond what numpy takes as a seed) is a validation error naming the field, never a 500.

The forms and input serializers are found by walking the apps' ``forms`` and ``api``
modules, so a number field added later without bounds fails here.
"""

from __future__ import annotations

import importlib
import inspect

import pytest
from django import forms
from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework import views as _drf_views  # noqa: F401 (loads DRF's settings first)

from config.api import StrictSerializer  # isort: skip

APPS = ("accounts", "surveys", "annotation", "benchmarks", "evaluation")
HUGE = 10**26


def _classes(module_name: str, base: type) -> list[type]:
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return []
    return [
        cls
        for _name, cls in inspect.getmembers(module, inspect.isclass)
        if issubclass(cls, base) and cls.__module__ == module.__name__
    ]


FORM_FIELDS = [
    (f"{cls.__module__}.{cls.__name__}.{name}", field)
    for app in APPS
    for cls in _classes(f"{app}.forms", forms.BaseForm)
    for name, field in cls.base_fields.items()
    if isinstance(field, forms.IntegerField | forms.FloatField | forms.DecimalField)
]


def _serializer_fields():
    for app in APPS:
        for cls in _classes(f"{app}.api", StrictSerializer):
            for name, field in cls().fields.items():
                if field.read_only:
                    continue
                if isinstance(field, serializers.ListField | serializers.DictField):
                    field = field.child
                if isinstance(
                    field,
                    serializers.IntegerField | serializers.FloatField | serializers.DecimalField,
                ):
                    yield f"{cls.__module__}.{cls.__name__}.{name}", field


SERIALIZER_FIELDS = list(_serializer_fields())


def test_the_walk_finds_the_fields():
    names = [name for name, _field in FORM_FIELDS + SERIALIZER_FIELDS]
    assert "surveys.forms.DrawForm.seed" in names
    assert "benchmarks.forms.DatasetForm.split_seed" in names or any(
        n.endswith(".split_seed") for n in names
    )
    assert "surveys.forms.QuestionFields.max_value" in names
    assert len(FORM_FIELDS) >= 25 and len(SERIALIZER_FIELDS) >= 30


@pytest.mark.parametrize(("name", "field"), FORM_FIELDS, ids=[n for n, _f in FORM_FIELDS])
@pytest.mark.parametrize("value", [HUGE, -HUGE, "1e24", "-1e24"])
def test_form_number_fields_refuse_huge_values(name, field, value):
    with pytest.raises(ValidationError):
        field.clean(str(value))


@pytest.mark.parametrize(
    ("name", "field"), SERIALIZER_FIELDS, ids=[n for n, _f in SERIALIZER_FIELDS]
)
@pytest.mark.parametrize("value", [HUGE, -HUGE, 1e24, -1e24])
def test_api_number_fields_refuse_huge_values(name, field, value):
    with pytest.raises(serializers.ValidationError):
        field.run_validation(value)
