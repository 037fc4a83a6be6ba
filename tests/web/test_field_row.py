"""Every form field on every page is written by ``mediation.widgets.field_row`` (``{% field_row %}``):
the label (around a single checkbox; a legend over a list of checkboxes or radio buttons), the widget,
the help text the widget's ``aria-describedby`` names, the errors, and the wrapper marked when there
are errors.

``REFERENCE`` is the markup as the field template wrote it before the writer replaced it: the
writer must write it to the byte for every kind of field, bound or not, valid or not, with any id
scheme, in both languages."""
from __future__ import annotations

import datetime

import pytest
from django import forms
from django.template import Context, Template
from django.utils import translation
from django.utils.safestring import SafeString, mark_safe

from mediation.widgets import field_row
from tests.mediation.test_widgets import SUBMISSIONS, Every

REFERENCE = Template("""<div class="field{% if field.errors %} has-error{% endif %}">
  {% if field.widget_type == 'checkbox' %}
    <label>{{ field }} {{ field.label }}</label>
  {% elif field.widget_type == 'checkboxselectmultiple' or field.widget_type == 'radioselect' %}
    <fieldset><legend {% if field.field.required %}class="required"{% endif %}>{{ field.label }}</legend>
      <div class="checks">{% for choice in field %}<label>{{ choice.tag }} {{ choice.choice_label }}</label>{% endfor %}</div>
    </fieldset>
  {% else %}
    <label for="{{ field.id_for_label }}" {% if field.field.required %}class="required"{% endif %}>{{ field.label }}</label>
    {{ field }}
  {% endif %}
  {% if field.help_text %}<span class="help" id="{{ field.auto_id }}_helptext">{{ field.help_text }}</span>{% endif %}
  {{ field.errors }}
</div>
""")  # noqa: E501 (the markup as it was, to the byte)


class Labelled(Every):
    """Labels and help texts that must be escaped, lazily translated, or marked safe."""
    odd = forms.CharField(label="<b>姓名 & 证件</b>", help_text=mark_safe("<i>已核</i>"), required=False)
    flag_required = forms.BooleanField(label="同意 & 确认", help_text="必选")
    boxes_required = forms.MultipleChoiceField(choices=[("a", "<甲>"), ("b", "乙")], help_text="可多选",
                                               widget=forms.CheckboxSelectMultiple)


@pytest.mark.parametrize("language", ["zh-hans", "en"])
@pytest.mark.parametrize("data", [*SUBMISSIONS, {"flag_required": "on", "boxes_required": ["a", "b"], "odd": "<x>"}])
@pytest.mark.parametrize("auto_id", ["id_%s", "approve7_%s", False])
def test_each_field_is_written_as_the_field_template_wrote_it(data, auto_id, language):
    initial = {"day": datetime.date(2026, 12, 5), "one": "c", "boxes": ["b"], "note": mark_safe("<i>已审</i>")}
    with translation.override(language):
        form = Labelled(data, initial=initial, auto_id=auto_id)
        if data is not None:
            form.is_valid()
        for name in Labelled.base_fields:
            written = field_row(form[name])
            assert isinstance(written, SafeString)
            assert written == REFERENCE.render(Context({"field": form[name]})), name


def test_what_a_field_looks_like_by_hand():
    class One(forms.Form):
        name = forms.CharField(label="姓名", help_text="<请填写>", max_length=4)
        agree = forms.BooleanField(label="同意", required=False)
        kind = forms.ChoiceField(label="类型", choices=[("a", "甲")], widget=forms.RadioSelect)

    form = One({"name": "过长的一个名字", "kind": "a"})
    assert not form.is_valid()
    assert field_row(form["name"]) == (
        '<div class="field has-error">\n  \n'
        '    <label for="id_name" class="required">姓名</label>\n'
        '    <input type="text" name="name" value="过长的一个名字" maxlength="4" required aria-invalid="true" '
        'aria-describedby="id_name_helptext id_name_error" id="id_name">\n  \n'
        '  <span class="help" id="id_name_helptext">&lt;请填写&gt;</span>\n'
        f'  <ul class="errorlist" id="id_name_error"><li>{form.errors["name"][0]}</li></ul>\n</div>\n')
    assert field_row(form["agree"]) == (
        '<div class="field">\n  \n'
        '    <label><input type="checkbox" name="agree" id="id_agree"> 同意</label>\n  \n  \n  \n</div>\n')
    assert field_row(form["kind"]) == (
        '<div class="field">\n  \n    <fieldset><legend class="required">类型</legend>\n'
        '      <div class="checks"><label><input type="radio" name="kind" value="a" id="id_kind_0" required checked>'
        ' 甲</label></div>\n    </fieldset>\n  \n  \n  \n</div>\n')


def test_no_page_includes_a_field_template():
    from pathlib import Path

    from django.conf import settings

    for root in (Path(settings.BASE_DIR) / "templates",):
        for path in root.rglob("*.html"):
            assert "_field.html" not in path.read_text(encoding="utf-8"), path
