"""The cheap choice lists of the case list's filter form write what Django's own widgets write (the
same elements, attributes and text; only the line breaks between tags differ), and read their
choices in one statement (mediation/widgets.py)."""
from __future__ import annotations

import re

import pytest
from django import forms
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mediation.forms import CaseFilterForm
from mediation.models import Organisation
from mediation.widgets import ListedModelChoiceField, PlainSelect


def tags(html: object) -> str:
    """The markup without the white space between tags (which a browser does not show in a <select>)."""
    return re.sub(r">\s+<", "><", str(html)).strip()


CHOICES = [("", "全部"), ("a", "甲 & <乙>"), ("地区", [("b", "宁波\"奉化\""), ("c", "锦屏")]), (3, "三")]


@pytest.mark.parametrize("value", [None, "", "a", "c", 3, "missing"])
@pytest.mark.parametrize("attrs", [None, {"id": "id_x", "required": True, "disabled": False,
                                         "aria-describedby": "x_helptext", "data-n": 0}])
def test_a_plain_select_writes_what_djangos_select_writes(value, attrs):
    ours = PlainSelect(choices=CHOICES, attrs={"class": "wide"}).render("x", value, attrs)
    django_s = forms.Select(choices=CHOICES, attrs={"class": "wide"}).render("x", value, attrs)
    assert str(ours) == tags(django_s)


def test_a_label_is_escaped():
    html = str(PlainSelect(choices=[("<v>", "<b>x</b>")]).render("x", None))
    assert "<b>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html and 'value="&lt;v&gt;"' in html


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

    reference = Reference({"organisation": str(world.town_b.pk)})
    assert reference.is_valid()
    assert html == tags(reference["organisation"])
    assert f'<option value="{world.town_b.pk}" selected>' in html
    # Validation still reads the queryset: an organisation outside it is refused.
    outside = CaseFilterForm({"organisation": str(world.district.pk)}, organisations=organisations)
    assert not outside.is_valid() and "organisation" in outside.errors


def test_the_listed_field_is_a_model_choice_field():
    assert issubclass(ListedModelChoiceField, forms.ModelChoiceField)
