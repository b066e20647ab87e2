"""A refused form kept for its page (``config.forms``): post, redirect (303), get it back with
the values and the errors. The pages that use it are tested in their apps."""

from __future__ import annotations

import pytest
from django import forms
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.forms import formset_factory
from django.test import RequestFactory
from django.utils import translation

from config import forms as refused_forms
from config.forms import form_for_page, form_kept, form_refused


class NoteForm(forms.Form):
    title = forms.CharField(max_length=5)
    body = forms.CharField(required=False, widget=forms.Textarea)
    secret = forms.CharField(required=False, widget=forms.PasswordInput)
    tags = forms.MultipleChoiceField(choices=[("a", "A"), ("b", "B")], required=False)


RowFormSet = formset_factory(NoteForm, extra=0)


@pytest.fixture
def session():
    return SessionStore()


def _request(session, method="get", path="/notes/", data=None):
    request = getattr(RequestFactory(), method)(path, data or {})
    request.session = session
    return request


def _refuse(session, data, *, key="note", to="/notes/#note-form", prefix=None):
    request = _request(session, "post", "/notes/new/", data)
    form = NoteForm(request.POST, prefix=prefix)
    assert not form.is_valid()
    return form_refused(request, form, key=key, to=to)


def test_a_refused_form_redirects_to_its_page_with_a_token(session):
    response = _refuse(session, {"title": "too long", "body": "Kept"})
    assert response.status_code == 303
    path, _, rest = response["Location"].partition("?form=")
    token, _, fragment = rest.partition("#")
    assert (path, fragment) == ("/notes/", "note-form")
    entry = session[refused_forms.SESSION_KEY][token]
    assert entry == {
        "key": "note",
        "path": "/notes/",
        "data": {"title": ["too long"], "body": ["Kept"]},
        "errors": {"title": ["Ensure this value has at most 5 characters (it has 8)."]},
    }


def test_a_query_of_the_page_is_kept(session):
    response = _refuse(session, {"title": ""}, to="/notes/?page=2#x")
    assert response["Location"].startswith("/notes/?page=2&form=")
    assert response["Location"].endswith("#x")


def test_the_page_gets_the_form_back_with_values_and_errors(session):
    location = _refuse(session, {"title": "too long", "body": "Kept", "tags": ["a", "b"]})[
        "Location"
    ]
    request = _request(session, path=location.split("#")[0])
    form = form_kept(request, "note", NoteForm)
    assert form is not None and form.is_bound and not form.is_valid()
    assert form.errors == {"title": ["Ensure this value has at most 5 characters (it has 8)."]}
    assert form["title"].value() == "too long"
    assert form["body"].value() == "Kept"
    assert form["tags"].value() == ["a", "b"]
    # Read, not taken: a reload (or the language switch) shows it again.
    assert form_kept(request, "note", NoteForm) is not None


@pytest.mark.parametrize(
    ("path", "key"),
    [("/notes/", "other"), ("/elsewhere/", "note"), ("/notes/?form=unknown", "note")],
)
def test_another_form_page_or_token_gets_nothing(session, path, key):
    token = _refuse(session, {"title": ""})["Location"].split("form=")[1].split("#")[0]
    if "?" not in path:
        path = f"{path}?form={token}"
    request = _request(session, path=path)
    assert form_kept(request, key, NoteForm) is None
    new = form_for_page(request, key, NoteForm, initial={"title": "New"})
    assert not new.is_bound and new["title"].value() == "New"


def test_no_token_no_form(session):
    _refuse(session, {"title": ""})
    assert form_kept(_request(session), "note", NoteForm) is None


def test_passwords_tokens_and_oversized_values_are_not_kept(session, settings):
    big = "x" * (refused_forms.VALUE_MAX_CHARS + 1)
    location = _refuse(
        session,
        {
            "title": "",
            "secret": "hunter2",
            "csrfmiddlewaretoken": "abc",
            "idempotency_key": "k",
            "body": big,
        },
    )["Location"]
    (entry,) = session[refused_forms.SESSION_KEY].values()
    assert entry["data"] == {"title": [""]}
    form = form_kept(_request(session, path=location.split("#")[0]), "note", NoteForm)
    assert form["secret"].value() is None and form["body"].value() is None


def test_only_the_form_s_own_fields_are_kept_and_a_form_keeps_at_most_its_share(session):
    """Whatever else was posted stays out of the session, and a form whose values add up to
    more than FORM_MAX_CHARS loses its largest ones first."""
    location = _refuse(session, {"title": "", "junk": "y" * 1000, "tags": ["a", "b"]})["Location"]
    (entry,) = session[refused_forms.SESSION_KEY].values()
    assert entry["data"] == {"title": [""], "tags": ["a", "b"]}
    assert form_kept(_request(session, path=location.split("#")[0]), "note", NoteForm)[
        "tags"
    ].value() == ["a", "b"]
    session.clear()
    title = "t" * refused_forms.VALUE_MAX_CHARS
    body = "b" * refused_forms.VALUE_MAX_CHARS  # each fits; the two and the tag do not
    _refuse(session, {"title": title, "body": body, "tags": ["a"]})
    (entry,) = session[refused_forms.SESSION_KEY].values()
    assert entry["data"] == {"title": [title], "tags": ["a"]}
    assert sum(len(v) for values in entry["data"].values() for v in values) <= (
        refused_forms.FORM_MAX_CHARS
    )


def test_a_service_error_and_one_about_a_value_not_kept_come_back_as_they_were(session):
    request = _request(session, "post", "/notes/new/", {"title": "ok", "secret": "x"})
    form = NoteForm(request.POST)
    assert form.is_valid()
    form.add_error("secret", "That key was refused.")
    form.add_error(None, "The service said no.")
    location = form_refused(request, form, key="note", to="/notes/")["Location"]
    kept = form_kept(_request(session, path=location), "note", NoteForm)
    assert kept.errors == {
        "secret": ["That key was refused."],
        "__all__": ["The service said no."],
    }


def test_the_form_s_own_errors_come_in_the_language_of_the_page(session):
    location = _refuse(session, {"title": ""})["Location"]
    with translation.override("ko"):
        form = form_kept(_request(session, path=location), "note", NoteForm)
        assert form.errors == {"title": ["이 필드는 필수 항목입니다."]}


def test_prefixed_forms(session):
    location = _refuse(session, {"n-title": "too long"}, prefix="n")["Location"]
    form = form_kept(_request(session, path=location), "note", NoteForm, prefix="n")
    assert form["title"].value() == "too long"
    assert list(form.errors) == ["title"]


def test_the_session_keeps_the_last_few(session):
    tokens = [
        _refuse(session, {"title": ""})["Location"].split("form=")[1].split("#")[0]
        for _ in range(refused_forms.KEPT + 3)
    ]
    assert list(session[refused_forms.SESSION_KEY]) == tokens[-refused_forms.KEPT :]


def test_a_formset_comes_back_row_by_row(session):
    data = {
        "rows-TOTAL_FORMS": "2",
        "rows-INITIAL_FORMS": "0",
        "rows-0-title": "fine",
        "rows-1-title": "too long",
    }
    request = _request(session, "post", "/notes/new/", data)
    formset = RowFormSet(request.POST, prefix="rows")
    assert not formset.is_valid()
    formset.non_form_errors().append("Two rows repeat each other.")
    location = form_refused(request, formset, key="rows", to="/notes/")["Location"]
    kept = form_kept(_request(session, path=location), "rows", RowFormSet, prefix="rows")
    assert [f["title"].value() for f in kept.forms] == ["fine", "too long"]
    assert [dict(f.errors) for f in kept.forms] == [
        {},
        {"title": ["Ensure this value has at most 5 characters (it has 8)."]},
    ]
    assert list(kept.non_form_errors()) == ["Two rows repeat each other."]
