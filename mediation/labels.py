"""Choice labels read by value: ``get_<field>_display()`` for every model of the project.

Django's generated ``get_<field>_display()`` (``Model._get_FIELD_display``) makes a dict of all the
field's choices on every call, hashing each label; a label marked for translation is hashed by
translating it. So a transition log row's "to state" paid twelve translations for the one label
shown, and a case page shows a few dozen such labels (its history, its parties' roles and
capacities, its documents' kinds, its sessions' methods).

Here each field's choices are put in a dict once, the first time one of them is shown, with the
labels left untranslated; only the label asked for is translated, in the language active at that
moment. What is shown is what Django shows: the value's label, or the value itself when it is not
among the choices (a row written by hand), ``None`` for ``None``. Fields whose choices are worked
out on each use (a callable) keep Django's own lookup.

:func:`install` runs once, from ``MediationConfig.ready()``, over the models of the project's own
applications; a model that writes its own ``get_<field>_display()`` keeps it.
"""
from __future__ import annotations

from functools import partialmethod
from typing import Any

from django.apps import apps
from django.db import models
from django.utils.encoding import force_str
from django.utils.hashable import make_hashable

#: Django's generic lookup, which ``get_<field>_display`` is bound to unless the model writes its own.
_DJANGOS_LOOKUP = models.Model._get_FIELD_display  # type: ignore[attr-defined]
#: A field's choices by value, labels untranslated, with the choices they were made from: made on
#: first use, and again if the field is given other choices (a test may; the project does not).
#: A list of choices changed in place is not noticed.
_BY_VALUE = "_labels_by_value"
#: The project's own packages: those ``pyproject.toml`` installs (``[tool.setuptools.packages.find]``).
PROJECT_PACKAGES = frozenset({"mediation", "workflows", "accounts", "jobs", "notifications", "api", "portal"})


def choice_label(field: models.Field, value: Any) -> Any:
    """``value``'s label among ``field``'s choices in the active language (``value`` itself when it
    is not one of them)."""
    made = field.__dict__.get(_BY_VALUE)
    if made is None or made[0] is not field.choices:
        made = (field.choices, {make_hashable(choice): label for choice, label in field.flatchoices})
        field.__dict__[_BY_VALUE] = made
    return force_str(made[1].get(make_hashable(value), value), strings_only=True)


def _display(instance: models.Model, *, field: models.Field) -> Any:
    return choice_label(field, getattr(instance, field.attname))


def _generated(attribute: object) -> bool:
    """Whether a class attribute is the ``get_<field>_display`` Django generated (not one written
    by hand in the model)."""
    return isinstance(attribute, partialmethod) and attribute.func is _DJANGOS_LOOKUP


def _fixed_choices(field: models.Field) -> bool:
    return bool(field.choices) and isinstance(field.choices, list | tuple)


def install() -> list[str]:
    """Gives every model of the project's applications (those of :data:`PROJECT_PACKAGES`) the
    lookup above for each field with fixed choices; returns the ``Model.get_<field>_display``
    names it set."""
    done = []
    for app_config in apps.get_app_configs():
        if app_config.name.split(".")[0] in PROJECT_PACKAGES:
            for model in app_config.get_models():
                done += install_on(model)
    return done


def install_on(model: type[models.Model]) -> list[str]:
    """:func:`install` for one model: the names it set."""
    done = []
    for field in model._meta.get_fields():
        if not isinstance(field, models.Field) or not _fixed_choices(field):
            continue
        name = f"get_{field.name}_display"
        # The class that declares the field holds Django's method (a subclass inherits it).
        if _generated(model.__dict__.get(name)):
            setattr(model, name, partialmethod(_display, field=field))
            done.append(f"{model.__name__}.{name}")
    return done
