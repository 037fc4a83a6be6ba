"""Forms written cheaply on pages shown all day: every widget of every form, and the case list's
choice lists.

Django writes a form's widgets through templates: a template for the widget, another for its
attributes, and for a list of choices a template per choice (an ``<option>``, a checkbox), each
with the template language's cost. The escalation queue's twenty approval forms spent some 13 ms
a page in them, the case page 3–4 ms (docs/performance.md, "Sixth pass").

:class:`PlainFormRenderer` (``settings.FORM_RENDERER``) writes the templates of Django's widgets
that the project's forms use — inputs of every type, text areas, selects and their options,
checkbox and radio lists and their choices, file inputs (with the file held now and its "clear"
box), and error lists — in Python, to the byte what Django's templates write from the same context
(``tests/mediation/test_widgets.py`` compares them), and hands every other template (a whole form)
to Django's. What a widget's context holds
(the selected option, ``required``, ``aria-describedby``, the ids) is still Django's own.

:func:`field_row` writes a field with its label, help text and errors (``{% field_row %}``), which a
template included once per field used to write.

A model choice field reads its choices with ``QuerySet.iterator()``, which on PostgreSQL opens a
server-side cursor (three round trips) for a list of a few dozen rows:
:class:`ListedModelChoiceField` / :class:`ListedUserChoiceField` read them with one plain query.
"""
from __future__ import annotations

import html
import inspect
from collections.abc import Callable
from typing import Any

from django import forms
from django.forms.models import ModelChoiceIterator, ModelChoiceIteratorValue
from django.forms.renderers import DjangoTemplates
from django.template import Context
from django.template.base import render_value_in_context
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import SafeData, mark_safe

_CONTEXT = Context()  # the template's defaults: escaped, localised, in the current time zone


def _read(value: Any) -> Any:
    """What a template reads for a variable holding ``value``: a callable is called, unless it says
    not to be; one that alters data, or asks for arguments, reads as nothing (Django's
    ``Variable._resolve_lookup``)."""
    if not callable(value) or getattr(value, "do_not_call_in_templates", False):
        return value
    if getattr(value, "alters_data", False):
        return ""
    try:
        return value()
    except TypeError:
        try:
            inspect.signature(value).bind()
        except (TypeError, ValueError):  # it asks for arguments (or cannot say): nothing
            return ""
        raise


def _shown(value: Any) -> str:
    """``{{ value }}``, written by the template language's own function."""
    return render_value_in_context(_read(value), _CONTEXT)


def _as_string(value: Any) -> str:
    """``{{ value|stringformat:'s' }}``: ``%s`` of the value, which stays safe if it was."""
    value = _read(value)
    text = str(value)  # what "%s" makes of any value, a tuple too (the filter makes it a string first)
    return conditional_escape(mark_safe(text) if isinstance(value, SafeData) else text)


def _attrs(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/attrs.html``."""
    parts = []
    for name, given in widget["attrs"].items():
        value = _read(given)  # each reading of a variable reads it afresh, as the template does
        if value is not False:
            parts.append(f" {_shown(name)}" if value is True else f' {_shown(name)}="{_as_string(given)}"')
    return "".join(parts)


# Each writer returns what its template writes, to the line break: a template's text ends with the
# file's last line break, which the template including it keeps (only the outermost is stripped).
Writer = Callable[[dict[str, Any], "PlainFormRenderer"], str]


def _input(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``django/forms/widgets/input.html``."""
    widget = context["widget"]
    given = widget["value"]
    value = "" if _read(given) == None else f' value="{_as_string(given)}"'  # noqa: E711 (the template's "!= None")
    return f'<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{value}{_attrs(widget)}>\n'


def _input_option(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``django/forms/widgets/input_option.html``: one checkbox or radio button of a list, in its label
    when the list is written whole."""
    widget = context["widget"]
    if not _read(widget["wrap_label"]):
        return _input(context, renderer) + "\n"
    target = widget["attrs"].get("id")
    label_for = f' for="{_shown(target)}"' if _read(target) else ""
    return f'<label{label_for}>{_input(context, renderer)} {_shown(widget["label"])}</label>\n'


def _textarea(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    widget = context["widget"]
    text = _shown(widget["value"]) if _read(widget["value"]) else ""
    return f'<textarea name="{_shown(widget["name"])}"{_attrs(widget)}>\n{text}</textarea>\n'


def _option(context: dict[str, Any], option: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``{% include option.template_name with widget=option %}`` (unstripped, as an include is)."""
    if option["template_name"] == _SELECT_OPTION:  # what its writer reads of the context: the option
        return _an_option(option)
    return renderer.write(option["template_name"], {**context, "widget": option})


def _select_option(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    return _an_option(context["widget"])


_SELECT_OPTION = "django/forms/widgets/select_option.html"
#: Values written as ``str()`` writes them, with nothing for the template language to call or localise.
_PLAIN_VALUES = (str, int)


def _an_option(widget: dict[str, Any]) -> str:
    """``django/forms/widgets/select_option.html``. A list's options are most of what a form writes (a
    select of a hundred places, the filter form's lists on every list page): one of plain text and
    value (or a lazy translation's text), selected or not, is written straight (``html.escape`` is the
    escaping Django's filters do)."""
    value, label, attrs = widget["value"], widget["label"], widget["attrs"]
    if isinstance(label, Promise):  # a lazy translation: the template language writes its text
        label = str(label)
    # A model's key, written as the key is (Django's stubs do not name its ``value``).
    key = value.value if type(value) is ModelChoiceIteratorValue else value  # type: ignore[attr-defined]
    plain = type(key) in _PLAIN_VALUES
    if type(label) is str and plain and (not attrs or (len(attrs) == 1 and attrs.get("selected") is True)):
        selected = " selected" if attrs else ""
        return f'<option value="{html.escape(str(value))}"{selected}>{html.escape(label)}</option>\n'
    return f'<option value="{_as_string(value)}"{_attrs(widget)}>{_shown(label)}</option>\n'


def _groups(context: dict[str, Any], renderer: PlainFormRenderer, group_open: str, each: str, group_close: str) -> str:
    """The choices of a list, group by group: each option through ``each`` (``{}`` its template's
    text), a named group between ``group_open`` (``{}`` its name) and ``group_close``."""
    parts: list[str] = []
    for group, options, _index in context["widget"]["optgroups"]:
        if _read(group):
            parts.append(group_open.format(_shown(group)))
        parts += [each.format(_option(context, option, renderer)) for option in options]
        if _read(group):
            parts.append(group_close)
    return "".join(parts)


def _select(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    widget = context["widget"]
    options = _groups(context, renderer, '\n  <optgroup label="{}">', "\n  {}", "\n  </optgroup>")
    return f'<select name="{_shown(widget["name"])}"{_attrs(widget)}>{options}\n</select>\n'


def _multiple_input(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``django/forms/widgets/multiple_input.html``: a list of checkboxes or radio buttons."""
    widget = context["widget"]
    target, css = _read(widget["attrs"].get("id")), widget["attrs"].get("class")  # {% with id=… %}: read once
    at = (f' id="{_shown(target)}"' if target else "") + (f' class="{_shown(css)}"' if _read(css) else "")
    choices = _groups(context, renderer, "\n  <div><label>{}</label>", "<div>\n    {}</div>", "\n  </div>")
    return f"<div{at}>{choices}\n</div>\n"


def _clearable_file_input(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``django/forms/widgets/clearable_file_input.html``: a file input, after the file held now (with
    its "clear" box when the field may be left empty) if there is one."""
    widget = context["widget"]
    held = ""
    if _read(widget["is_initial"]):
        value = _read(widget["value"])
        held = f'{_shown(widget["initial_text"])}: <a href="{_shown(getattr(value, "url", ""))}">{_shown(value)}</a>'
        if not _read(widget["required"]):
            attrs, box = widget["attrs"], _shown(widget["checkbox_id"])
            flags = "".join(f" {flag}" for flag in ("disabled", "checked") if _read(attrs.get(flag)))
            held += (f'\n<input type="checkbox" name="{_shown(widget["checkbox_name"])}" id="{box}"{flags}>'
                     f'\n<label for="{box}">{_shown(widget["clear_checkbox_label"])}</label>')
        held += f'<br>\n{_shown(widget["input_text"])}:'
    return f'{held}\n<input type="{_shown(widget["type"])}" name="{_shown(widget["name"])}"{_attrs(widget)}>\n'


def _error_list(context: dict[str, Any], renderer: PlainFormRenderer) -> str:
    """``django/forms/errors/list/ul.html`` (what ``{{ field.errors }}`` writes; nothing when none)."""
    errors = context["errors"]
    if not errors:
        return ""
    field_id = getattr(errors, "field_id", None)
    at = f' id="{_shown(field_id)}_error"' if _read(field_id) else ""
    items = "".join(f"<li>{_shown(error)}</li>" for error in errors)
    return f'<ul class="{_shown(context["error_class"])}"{at}>{items}</ul>'


def _including(writer: Writer) -> Writer:
    """A template that only includes another, and ends with a line break of its own."""
    return lambda context, renderer: writer(context, renderer) + "\n"


#: The templates written here, by name; every other goes to Django's template.
WRITERS: dict[str, Writer] = {
    "django/forms/widgets/input.html": _input,
    **{f"django/forms/widgets/{name}.html": _including(_input) for name in (
        "text", "number", "email", "url", "password", "hidden", "date", "datetime", "time", "search", "tel",
        "color", "checkbox", "file")},
    "django/forms/widgets/input_option.html": _input_option,
    "django/forms/widgets/checkbox_option.html": _including(_input_option),
    "django/forms/widgets/radio_option.html": _including(_input_option),
    "django/forms/widgets/multiple_input.html": _multiple_input,
    "django/forms/widgets/checkbox_select.html": _including(_multiple_input),
    "django/forms/widgets/radio.html": _including(_multiple_input),
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/widgets/clearable_file_input.html": _clearable_file_input,
    "django/forms/widgets/select.html": _select,
    "django/forms/widgets/select_option.html": _select_option,
    "django/forms/errors/list/default.html": _error_list,
    "django/forms/errors/list/ul.html": _error_list,
}


class PlainFormRenderer(DjangoTemplates):
    """Django's form renderer, with the widgets' templates of :data:`WRITERS` written in Python."""

    def render(self, template_name: str, context: dict[str, Any], request: Any = None) -> str:
        if template_name not in WRITERS:
            return super().render(template_name, context, request=request)
        return self.write(template_name, context).strip()  # Django strips what a template writes

    def write(self, template_name: str, context: dict[str, Any]) -> str:
        """What the template writes, unstripped (as where another template includes it)."""
        writer = WRITERS.get(template_name)
        if writer is None:
            return self.get_template(template_name).render(context)
        return writer(context, self)


class ListedChoiceIterator(ModelChoiceIterator):
    """The choices read with one plain query (the queryset's own result cache), never ``iterator()``; from
    the field's queryset as it is when they are read (Django's iterator keeps the one the field had when
    the form was made: for :class:`ListedModelChoiceField`, still unbuilt)."""

    def __init__(self, field: Any) -> None:
        self.field = field

    @property
    def queryset(self) -> Any:  # type: ignore[override]  # read from the field each time, never kept
        return self.field.queryset

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.queryset:
            yield self.choice(obj)


#: Django's ``ModelChoiceField.queryset`` (a property: setting it gives the widget its choices).
_MODEL_CHOICES_QUERYSET: Any = vars(forms.ModelChoiceField)["queryset"]


class ListedModelChoiceField(forms.ModelChoiceField):
    """A list whose choices the page gives (``views.cases._listed_choices``), its queryset built only
    when something asks for it (:meth:`build_queryset_when_asked`)."""

    iterator = ListedChoiceIterator
    _build_queryset: Callable[[], Any] | None = None

    def build_queryset_when_asked(self, build: Callable[[], Any]) -> None:
        """The field's queryset is what ``build()`` gives, built the first time it is asked for: when a
        value given must be checked against it, or its statement written. A list page whose filter
        names none of its places or people, with its choices' statements written already, never builds
        it (building a reach's querysets cost about 0.7 ms of the server's CPU a list page,
        docs/performance.md, "Twenty-second pass")."""
        self._build_queryset = build

    def _get_queryset(self) -> Any:
        build = self._build_queryset
        if build is not None:
            self._build_queryset = None
            _MODEL_CHOICES_QUERYSET.fset(self, build())
        return _MODEL_CHOICES_QUERYSET.fget(self)

    def _set_queryset(self, queryset: Any) -> None:
        self._build_queryset = None
        _MODEL_CHOICES_QUERYSET.fset(self, queryset)

    queryset = property(_get_queryset, _set_queryset)


class ListedUserChoiceField(ListedModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        from mediation.forms import user_label

        return user_label(obj)


# --- a field with its label, help and errors (the project's one markup for a form's field) ---------

def field_row(field: forms.BoundField) -> str:
    """A form's field as every page shows it: its label (for a single checkbox around it, for a list
    of checkboxes or radio buttons a legend over them), the widget, the help text (``aria-describedby``
    names it: ``<id>_helptext``) and the errors; the wrapper marked ``has-error`` when there are some,
    the label ``required`` when the field is. Written in Python: through a template of its own it was
    a template rendered per field, a quarter of a millisecond each (the escalation queue wrote sixty a
    page)."""
    errors = field.errors
    required = 'class="required"' if field.field.required else ""
    kind = field.widget_type
    label = _shown(field.label)
    if kind == "checkbox":
        body = f"\n    <label>{_shown(field)} {label}</label>\n  "
    elif kind in ("checkboxselectmultiple", "radioselect"):
        choices = "".join(f"<label>{_shown(choice.tag())} {_shown(choice.choice_label)}</label>" for choice in field)
        body = (f"\n    <fieldset><legend {required}>{label}</legend>\n"
                f'      <div class="checks">{choices}</div>\n    </fieldset>\n  ')
    else:
        body = (f'\n    <label for="{_shown(field.id_for_label)}" {required}>{label}</label>\n'
                f"    {_shown(field)}\n  ")
    help_text = (f'<span class="help" id="{_shown(field.auto_id)}_helptext">{_shown(field.help_text)}</span>'
                 if field.help_text else "")
    return mark_safe(f'<div class="field{" has-error" if errors else ""}">\n  {body}\n  {help_text}\n'
                     f"  {_shown(errors)}\n</div>\n")
