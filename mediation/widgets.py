"""Choice lists that cost little on pages shown all day (the case list's filter form).

Django renders a ``<select>`` through a template, and every ``<option>`` through a template of its
own; a model choice field reads its choices with ``QuerySet.iterator()``, which on PostgreSQL
opens a server-side cursor (three round trips) for a list of a few dozen rows. On the case list
the two cost about as much as the rows of the page (docs/performance.md, "Third pass").

:class:`PlainSelect` writes the same markup as Django's ``select.html`` / ``option.html`` /
``attrs.html`` from the same context (``get_context``: the selected option, ``required``,
``aria-describedby`` and the rest are Django's), without a template per option.
:class:`ListedModelChoiceField` / :class:`ListedUserChoiceField` read their choices with one plain
query.
"""
from __future__ import annotations

from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe


def _attrs(attrs: dict[str, Any]) -> SafeString:
    """What ``django/forms/widgets/attrs.html`` writes: `` name="value"``, a bare name for True,
    nothing for False."""
    return format_html_join("", "{}", (
        (format_html(" {}", name) if value is True else format_html(' {}="{}"', name, str(value)),)
        for name, value in attrs.items() if value is not False))


class PlainSelect(forms.Select):
    """``forms.Select``, rendered without a template per option (same markup)."""

    def render(self, name: str, value: Any, attrs: dict[str, Any] | None = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group_name, options, _index in widget["optgroups"]:
            rendered = format_html_join("", '<option value="{}"{}>{}</option>', (
                (str(option["value"]), _attrs(option["attrs"]), option["label"]) for option in options))
            parts.append(format_html('<optgroup label="{}">{}</optgroup>', group_name, rendered)
                         if group_name else rendered)
        return format_html('<select name="{}"{}>{}</select>', widget["name"], _attrs(widget["attrs"]),
                           mark_safe("".join(parts)))  # each part escaped by format_html above


class ListedChoiceIterator(ModelChoiceIterator):
    """The choices read with one plain query (the queryset's own result cache), never ``iterator()``."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


class ListedModelChoiceField(forms.ModelChoiceField):
    iterator = ListedChoiceIterator
    widget = PlainSelect


class ListedUserChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        from mediation.forms import user_label

        return user_label(obj)
