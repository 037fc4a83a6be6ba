"""Labels of choices read by value (mediation/labels.py): what Django's own lookup shows, in the
active language, translating only the label shown."""
from __future__ import annotations

from unittest import mock

import pytest
from django.apps import apps
from django.db import models
from django.test.utils import isolate_apps
from django.utils import translation

from mediation import labels
from mediation.models import Case, CaseParty
from workflows.models import TransitionLog

#: Where ``django.utils.translation.gettext`` looks the message up (patched to count the lookups).
TRANS = translation._trans  # type: ignore[attr-defined]
#: The project's own applications (settings.INSTALLED_APPS), by label.
PROJECT_APPS = {"accounts", "mediation", "workflows", "documents", "reports", "audit", "demo", "jobs",
                "notifications", "portal", "api"}


def _project_fields():
    for model in apps.get_models():
        if model._meta.app_label not in PROJECT_APPS:
            continue
        for field in model._meta.fields:
            if field.choices:
                yield model, field


def test_labels_by_hand_in_both_languages():
    log = TransitionLog(from_state="joint_mediation", to_state="closed")
    party = CaseParty(role="respondent")
    with translation.override("zh-hans"):
        assert log.get_to_state_display() == "已结案"
        assert log.get_from_state_display() == "联合调解"
        assert party.get_role_display() == "被申请人"
        assert Case(state="registered").get_state_display() == "已登记"
    with translation.override("en"):
        assert log.get_to_state_display() == "Closed"
        assert log.get_from_state_display() == "Joint mediation"
        assert party.get_role_display() == "Respondent"
    with translation.override("zh-hans"):  # the language active now, not the one of the first call
        assert log.get_to_state_display() == "已结案"


def test_a_value_outside_the_choices_is_shown_as_stored_and_none_as_none():
    log = TransitionLog(to_state="archived_by_hand")  # a row written outside the lifecycle
    assert log.get_to_state_display() == "archived_by_hand"
    case = Case()
    case.__dict__["state"] = "archived_by_hand"
    assert case.get_state_display() == "archived_by_hand"
    log.__dict__["to_state"] = None
    assert log.get_to_state_display() is None


def test_every_choice_of_every_project_model_shows_what_djangos_own_lookup_shows():
    seen = 0
    for model, field in _project_fields():
        name = f"get_{field.name}_display"
        for value in [choice for choice, _label in field.flatchoices] + ["not-a-choice"]:
            instance = model()
            instance.__dict__[field.attname] = value
            for language in ("zh-hans", "en"):
                with translation.override(language):
                    django_says = labels._DJANGOS_LOOKUP(instance, field)
                    assert getattr(instance, name)() == django_says, (model, field.name, value, language)
                    seen += 1
    assert seen > 300  # every project model with choices was walked (33 fields today)


def test_every_project_field_with_choices_uses_the_lookup_by_value():
    """Wired in at start-up (MediationConfig.ready) for every project model."""
    missing = [f"{model.__name__}.{field.name}" for model, field in _project_fields()
               if labels._generated(model.__dict__.get(f"get_{field.name}_display"))]
    assert missing == []
    assert {"Case.state", "TransitionLog.to_state", "CaseParty.role", "Notification.status"} <= {
        f"{model.__name__}.{field.name}" for model, field in _project_fields()}


def test_only_the_label_shown_is_translated():
    log = TransitionLog(to_state="closed")
    log.get_to_state_display()  # the field's dict made
    real = TRANS.gettext
    calls: list[str] = []

    def counting(message: str) -> str:
        calls.append(message)
        return real(message)

    with translation.override("zh-hans"), mock.patch.object(TRANS, "gettext", counting):
        assert log.get_to_state_display() == "已结案"
    assert calls == ["已结案"]
    calls.clear()
    with translation.override("zh-hans"), mock.patch.object(TRANS, "gettext", counting):
        # Django's own lookup translates each of the twelve states' labels to hash it.
        assert labels._DJANGOS_LOOKUP(log, TransitionLog._meta.get_field("to_state")) == "已结案"
    assert len(set(calls)) == 12


@isolate_apps("mediation")
def test_a_display_written_in_the_model_is_kept():
    class Sample(models.Model):
        colour = models.CharField(max_length=5, choices=[("r", "红"), ("g", "绿")])
        size = models.CharField(max_length=5, choices=[("s", "小"), ("l", "大")])

        class Meta:
            app_label = "mediation"

        def __str__(self) -> str:
            return self.colour

        def get_size_display(self) -> str:
            return "hand-written"

    assert labels.install_on(Sample) == ["Sample.get_colour_display"]
    assert Sample(colour="g", size="l").get_colour_display() == "绿"  # type: ignore[attr-defined]
    assert Sample(size="l").get_size_display() == "hand-written"
    assert labels.install_on(Sample) == []  # once only


@isolate_apps("mediation")
def test_choices_worked_out_on_each_use_keep_djangos_lookup():
    options = [("a", "甲")]

    class Dynamic(models.Model):
        pick = models.CharField(max_length=5, choices=lambda: list(options))

        class Meta:
            app_label = "mediation"

        def __str__(self) -> str:
            return self.pick

    assert labels.install_on(Dynamic) == []
    options.append(("b", "乙"))
    assert Dynamic(pick="b").get_pick_display() == "乙"  # type: ignore[attr-defined]


def test_a_field_given_other_choices_shows_their_labels():
    """A test (or anything) that gives a field other choices sees their labels, as with Django's."""
    field = TransitionLog._meta.get_field("to_state")
    log = TransitionLog(to_state="closed")
    with translation.override("zh-hans"):
        assert log.get_to_state_display() == "已结案"
        kept = field.choices
        try:
            field.choices = [("closed", "归档完毕")]
            assert log.get_to_state_display() == "归档完毕"
        finally:
            field.choices = kept
        assert log.get_to_state_display() == "已结案"


def test_the_project_packages_are_those_the_project_installs():
    import tomllib
    from pathlib import Path

    pyproject = tomllib.loads((Path(__file__).resolve().parents[2] / "pyproject.toml").read_text())
    installed = {name.rstrip("*") for name in pyproject["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert labels.PROJECT_PACKAGES == installed


@pytest.mark.django_db
@pytest.mark.parametrize("language,expected", [
    ("zh-hans", ["已登记 → 联合调解", "<td>申请人", "<td>被申请人"]),
    ("en", ["Registered → Joint mediation", "<td>Applicant", "<td>Respondent"]),
])
def test_the_case_page_shows_its_history_and_parties_labels_in_the_readers_language(world, client, language,
                                                                                    expected):
    """The case page's history (states) and parties (roles), by hand, in the language the reader chose
    with the language switch (its cookie), after pages in the other languages in the same process
    (the labels' dicts are shared, their translation is not)."""
    from django.conf import settings

    from tests.lifecycle import accepted

    case = accepted(world, world.town_a)  # a township's case: accepted into joint mediation (line 2)
    client.force_login(world.mediator_a)
    for chosen in ("en", "zh-hans", language):
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = chosen
        html = client.get(f"/cases/{case.pk}/").content.decode()
    for text in expected:
        assert text in html, text
