"""Forms are written cheaply and the same (mediation/widgets.py): the renderer writes, to the byte,
what Django's own widget templates write from the same context, without those templates; the case
list's choice lists read their choices in one statement."""
from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any, cast
from unittest import mock

import pytest
from django import forms
from django.conf import settings
from django.db import connection
from django.forms.models import ModelChoiceIteratorValue
from django.forms.renderers import DjangoTemplates
from django.forms.utils import ErrorList
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from mediation.forms import CaseFilterForm
from mediation.models import Organisation
from mediation.widgets import WRITERS, ListedModelChoiceField, PlainFormRenderer

CHOICES = [("", "全部"), ("a", "甲 & <乙>"), ("地区", [("b", '宁波"奉化"'), ("c", "锦屏")]), (3, "三")]


class Every(forms.Form):
    """A field of each kind the project's forms use, and a few more."""
    text = forms.CharField(max_length=5, help_text="<帮助>",
                           widget=forms.TextInput(attrs={"placeholder": "案号 & 姓名"}))
    search = forms.CharField(required=False, widget=forms.TextInput(attrs={"type": "search"}))
    number = forms.IntegerField(required=False, min_value=1)
    amount = forms.DecimalField(required=False, max_digits=12, decimal_places=2)
    day = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    email = forms.EmailField(required=False)
    secret = forms.CharField(required=False, widget=forms.PasswordInput(render_value=True))
    hidden = forms.CharField(required=False, widget=forms.HiddenInput)
    flag = forms.BooleanField(required=False)
    note = forms.CharField(widget=forms.Textarea(attrs={"rows": 2, "disabled": False, "data-x": True}))
    one = forms.ChoiceField(choices=CHOICES)
    typed = forms.TypedChoiceField(choices=[("", "全部"), (1, "一"), (2, "二")], coerce=int, required=False)
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    boxes = forms.MultipleChoiceField(choices=CHOICES, widget=forms.CheckboxSelectMultiple, required=False)
    radio = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect)
    yes_no = forms.NullBooleanField(required=False)
    upload = forms.FileField(required=False)


SUBMISSIONS = [
    None,
    {},
    {"text": '<x>&"', "search": "锦屏", "number": "3", "amount": "1234.50", "day": "2026-01-02", "email": "a@b.cn",
     "secret": "<s>", "hidden": "h&", "flag": "on", "note": "第一行\n<b>第二行</b>", "one": "b", "typed": "2",
     "many": ["a", "3"], "boxes": ["a", "3"], "radio": "3", "yes_no": "true"},
    {"text": "too long a value", "number": "zero", "amount": "x", "day": "2026-02-30", "email": "no",
     "one": "missing", "typed": "9", "many": ["missing"], "boxes": ["missing"], "radio": "missing"},
]


@pytest.mark.parametrize("data", SUBMISSIONS)
@pytest.mark.parametrize("auto_id", ["id_%s", "approve7_%s", False])
def test_every_widget_is_written_as_djangos_templates_write_it(data, auto_id):
    initial = {"day": datetime.date(2026, 12, 5), "one": "c", "boxes": ["b"], "note": mark_safe("<i>已审</i>")}
    ours = Every(data, initial=initial, auto_id=auto_id, renderer=PlainFormRenderer())
    theirs = Every(data, initial=initial, auto_id=auto_id, renderer=DjangoTemplates())
    if data is not None:
        assert ours.is_valid() == theirs.is_valid()
    for name in Every.base_fields:
        assert str(ours[name]) == str(theirs[name]), name
        assert str(ours[name].errors) == str(theirs[name].errors), name
        # Each choice of a list, as the project's field template writes it (choice.tag) and whole.
        for mine, django_s in zip(ours[name].subwidgets, theirs[name].subwidgets, strict=True):
            assert mine.tag() == django_s.tag() and mine.tag(wrap_label=True) == django_s.tag(wrap_label=True)
            assert str(mine) == str(django_s)
    assert str(ours) == str(theirs)  # the whole form (Django's form template, our widgets inside it)
    assert str(ours.non_field_errors()) == str(theirs.non_field_errors())


@pytest.mark.parametrize("errors", [ErrorList(), ErrorList(["<b>不对</b>", mark_safe("<i>已转义</i>")]),
                                    ErrorList(["一"], error_class="nonfield", field_id="id_x")])
def test_an_error_list_is_written_as_djangos(errors):
    assert PlainFormRenderer().render(errors.template_name, errors.get_context()) == \
        DjangoTemplates().render(errors.template_name, errors.get_context())


class Called:
    """A value the template language calls before writing it (``{{ value }}`` of a callable)."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __call__(self) -> str:
        return f"{self.text}()"

    def __str__(self) -> str:
        return self.text


class NotCalled(Called):
    do_not_call_in_templates = True


class Altering(Called):
    alters_data = True


class EqualToNone:
    def __eq__(self, other: object) -> bool:
        return other is None

    __hash__ = object.__hash__

    def __str__(self) -> str:
        return "eq-none"


@pytest.mark.parametrize("odd", [Called("<c>"), NotCalled("n"), Altering("a"), EqualToNone(), (lambda needs: 1),
                                 datetime.datetime(2026, 12, 5, 23, 30, tzinfo=datetime.UTC), 1234567, False, 0])
def test_values_the_template_language_treats_specially_are_written_alike(odd):
    """Callables are called (unless they say not to be or alter data), ``!= None`` is the template's,
    dates are shown in the current time zone: wherever a value, an attribute, a label or a group
    name stands, as Django's templates do."""
    widgets = [
        forms.TextInput(attrs={"title": odd, "data-odd": odd}),
        forms.Select(choices=[(odd, odd), (odd, [("x", odd)])]),
        forms.CheckboxSelectMultiple(choices=[(odd, odd), (odd, [("y", odd)])], attrs={"class": odd, "id": odd}),
        forms.RadioSelect(choices=[(odd, odd)], attrs={"id": "r"}),
        forms.Textarea(attrs={"rows": odd}),
    ]
    for widget in widgets:
        for value in (odd, None, [odd]):
            assert widget.render("f", value, renderer=PlainFormRenderer()) == \
                widget.render("f", value, renderer=DjangoTemplates()), (widget, value)
    errors = ErrorList([odd], error_class="e", field_id=odd)
    assert PlainFormRenderer().render(errors.template_name, errors.get_context()) == \
        DjangoTemplates().render(errors.template_name, errors.get_context())


class Stored:
    """A file held already, as a model's file field gives it (its name; its address)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.url = f"/media/{name}?a=1&b=<2>"

    def __str__(self) -> str:
        return self.name


class Held(forms.Form):
    optional = forms.FileField(required=False)
    needed = forms.FileField()
    off = forms.FileField(required=False, disabled=True)
    ticked = forms.FileField(required=False, widget=forms.ClearableFileInput(attrs={"checked": True, "class": "f"}))


HELD = {name: Stored(f"证据<{name}>&.pdf") for name in Held.base_fields}


@pytest.mark.parametrize(("initial", "data", "files"), [
    ({}, None, None),
    (HELD, None, None),
    ({"optional": Stored(""), "needed": "", "off": Stored("x.pdf")}, None, None),
    # A file sent and its "clear" box ticked at once: the form refuses it, and shows the box ticked.
    (HELD, {"ticked-clear": "on", "optional-clear": "on"}, "both"),
    (HELD, {"needed-clear": "on"}, None),
])
@pytest.mark.parametrize("auto_id", ["id_%s", "attachment_%s", False])
def test_a_file_input_with_the_file_held_now_is_written_as_djangos(initial, data, files, auto_id):
    """A file input alone, or after the file a record holds (its name linked, a "clear" box unless the
    field is required, that box disabled or ticked as the widget says), as Django writes it."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    def sent():
        return {name: SimpleUploadedFile(f"{name}.txt", b"x") for name in ("ticked", "optional")} if files else None

    ours = Held(data, sent(), initial=initial, auto_id=auto_id, renderer=PlainFormRenderer())
    theirs = Held(data, sent(), initial=initial, auto_id=auto_id, renderer=DjangoTemplates())
    if data is not None:
        assert ours.is_valid() == theirs.is_valid()
    for name in Held.base_fields:
        assert str(ours[name]) == str(theirs[name]), name
    assert str(ours) == str(theirs)
    if files:
        assert 'id="ticked-clear_id" checked>' in str(ours["ticked"])


def test_the_templates_written_here_are_djangos_own():
    """Were an installed app to override one of these templates, Django would write the override and
    the renderer would not: each must still come from Django's own forms templates."""
    import django

    forms_templates = Path(django.__file__).parent / "forms" / "templates"
    engine = cast(Any, DjangoTemplates().engine).engine  # the renderer's own template engine
    for name in WRITERS:
        assert Path(engine.get_template(name).origin.name).is_relative_to(forms_templates), name


def test_the_widgets_written_here_never_reach_a_template():
    """The equality above would hold of a renderer that only asked Django's templates: these must not."""
    form = Every(SUBMISSIONS[2], renderer=PlainFormRenderer())
    form.is_valid()
    with mock.patch.object(PlainFormRenderer, "get_template", side_effect=AssertionError("a template was read")):
        for name in Every.base_fields:
            assert str(form[name]) and str(form[name].errors) is not None
        for choice in form["boxes"]:
            assert choice.tag()
        held = Held(initial={"optional": Stored("a.pdf"), "needed": Stored("b.pdf")}, renderer=PlainFormRenderer())
        assert all("a.pdf" in str(held[name]) or "<input" in str(held[name]) for name in Held.base_fields)


def test_the_project_uses_the_renderer():
    assert settings.FORM_RENDERER == "mediation.widgets.PlainFormRenderer"
    assert isinstance(CaseFilterForm().renderer, PlainFormRenderer)


def test_a_label_is_escaped():
    html = str(forms.Select(choices=[("<v>", "<b>x</b>")]).render("x", None, renderer=PlainFormRenderer()))
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and 'value="&lt;v&gt;"' in html


@pytest.mark.parametrize("value", ["", "a'b\"c&<d>", 0, -7, 12345, True, None, mark_safe("<s>&amp;"),
                                   ModelChoiceIteratorValue(9, Organisation(pk=9)),
                                   ModelChoiceIteratorValue("x&'", Organisation()),
                                   ModelChoiceIteratorValue(mark_safe("<i>"), Organisation())])
@pytest.mark.parametrize("label", ["", "全部", "甲'乙\"丙 & <丁>", mark_safe("<i>已转义 &amp;</i>"),
                                   gettext_lazy("全部"), gettext_lazy("甲 & <乙>"),
                                   gettext_lazy(mark_safe("<b>丙</b>")), 12345, 1.5, None])
def test_an_option_of_any_value_and_label_is_written_as_djangos(value, label):
    """Plain text and values are written straight; anything else (safe text, a lazy translation, a
    number the template language localises) as the template language writes it: either way as Django's
    template does, selected or not, alone or in a group."""
    widget = forms.Select(choices=[(value, label), ("地区", [(value, label)])])
    for chosen in (value, None, "nothing"):
        with translation.override("en"):
            assert widget.render("f", chosen, renderer=PlainFormRenderer()) == \
                widget.render("f", chosen, renderer=DjangoTemplates()), (value, label, chosen)


@pytest.mark.parametrize("attrs", [{}, {"selected": True}, {"selected": 1}, {"selected": 1.0}, {"selected": "selected"},
                                   {"selected": True, "disabled": True}, {"data-x": "<y>"}, {"selected": False}])
def test_an_option_with_attributes_of_its_own_is_written_as_djangos(attrs):
    """Only an option's own ``selected`` (True, as Django's widgets set it) and nothing else is written
    straight; other attributes, or ``selected`` of another value, as the template language writes them."""
    option = {"name": "f", "value": "v", "label": "甲", "selected": bool(attrs.get("selected")), "index": "0",
              "attrs": attrs, "type": "select", "template_name": "django/forms/widgets/select_option.html",
              "wrap_label": True}
    name = "django/forms/widgets/select_option.html"
    assert PlainFormRenderer().render(name, {"widget": option}) == DjangoTemplates().render(name, {"widget": option})


@pytest.mark.django_db
def test_the_filter_forms_choices_are_read_with_one_statement_each_and_render_as_djangos(world):
    organisations = Organisation.objects.filter(pk__in=[world.town_a.pk, world.town_b.pk]).order_by("pk")
    form = CaseFilterForm({"organisation": str(world.town_b.pk)}, organisations=organisations)
    assert form.is_valid()  # validation reads the chosen organisation: a statement of its own
    with CaptureQueriesContext(connection) as ctx:
        html = str(form["organisation"])
    assert len(ctx.captured_queries) == 1
    assert "DECLARE" not in ctx.captured_queries[0]["sql"]  # no server-side cursor

    class Reference(forms.Form):
        organisation = forms.ModelChoiceField(queryset=organisations, required=False, empty_label="全部")

    reference = Reference({"organisation": str(world.town_b.pk)}, renderer=DjangoTemplates())
    assert reference.is_valid()
    assert html == str(reference["organisation"])
    assert f'<option value="{world.town_b.pk}" selected>' in html
    # Validation still reads the queryset: an organisation outside it is refused.
    outside = CaseFilterForm({"organisation": str(world.district.pk)}, organisations=organisations)
    assert not outside.is_valid() and "organisation" in outside.errors


@pytest.mark.django_db
def test_a_listed_fields_queryset_given_as_what_builds_it_is_built_when_first_asked_for(world):
    built: list[int] = []

    def towns():
        built.append(1)
        return Organisation.objects.filter(pk__in=[world.town_a.pk, world.town_b.pk]).order_by("pk")

    # No value for the list: the form is valid, and nothing was built.
    form = CaseFilterForm({"state": ""}, organisations=towns)
    assert form.is_valid() and form.cleaned_data["organisation"] is None
    assert built == []
    field = cast(ListedModelChoiceField, form.fields["organisation"])
    assert list(field.queryset) == [world.town_a, world.town_b]
    assert list(field.queryset) == [world.town_a, world.town_b]
    assert built == [1]  # once
    # A value given is checked against what it builds: one outside is refused, one inside taken.
    outside = CaseFilterForm({"organisation": str(world.district.pk)}, organisations=towns)
    assert not outside.is_valid() and "organisation" in outside.errors
    inside = CaseFilterForm({"organisation": str(world.town_b.pk)}, organisations=towns)
    assert inside.is_valid() and inside.cleaned_data["organisation"] == world.town_b
    assert built == [1, 1, 1]
    # A queryset set afterwards is the field's: what would have built one is never asked.
    later = CaseFilterForm({"organisation": str(world.district.pk)}, organisations=towns)
    cast(ListedModelChoiceField, later.fields["organisation"]).queryset = Organisation.objects.filter(
        pk=world.district.pk)
    assert later.is_valid() and later.cleaned_data["organisation"] == world.district
    assert built == [1, 1, 1]
    # The class's own field is untouched: another form without a builder offers nothing.
    assert list(cast(ListedModelChoiceField, CaseFilterForm().fields["organisation"]).queryset) == []


def test_the_listed_field_is_a_model_choice_field():
    assert issubclass(ListedModelChoiceField, forms.ModelChoiceField)
