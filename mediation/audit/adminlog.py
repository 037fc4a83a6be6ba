"""The admin site's edits on the audit trail, with the old and new value of every field changed.

Django's own ``LogEntry`` names the fields an administrator changed, not their values;
this mixin records both, in the admin's transaction, for every add, change and delete
(inline rows included).
"""
from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import Model, QuerySet
from django.http import HttpRequest

from mediation.audit.log import changes, field_values, record, snapshot


def _stored(obj: Model) -> dict[str, Any]:
    current = type(obj)._default_manager.filter(pk=obj.pk).first() if obj.pk is not None else None
    return field_values(current) if current is not None else {}


def _mark(request: HttpRequest, obj: Model) -> None:
    marks = request.__dict__.setdefault("_audited_objects", set())
    marks.add((obj._meta.label_lower, obj.pk))


def record_save(request: HttpRequest, obj: Model, before: dict[str, Any] | None) -> None:
    """One row for an added (``before`` None) or changed object; nothing when no field changed."""
    if before is None:
        record(actor=request.user, action="admin.add", obj=obj, new=snapshot(obj), request=request)
    else:
        old, new = changes(before, field_values(obj))
        if old or new:
            record(actor=request.user, action="admin.change", obj=obj, old=old, new=new, request=request)
    _mark(request, obj)


def record_delete(request: HttpRequest, obj: Model) -> None:
    """Written before the delete, in its transaction: the row still has its pk."""
    record(actor=request.user, action="admin.delete", obj=obj, old=snapshot(obj), request=request)


class AuditedAdmin(admin.ModelAdmin):
    """Add to a ``ModelAdmin``'s bases: its adds, changes and deletes are audited with values."""

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        before = _stored(obj) if change else None
        super().save_model(request, obj, form, change)
        record_save(request, obj, before)

    def delete_model(self, request: HttpRequest, obj: Any) -> None:
        record_delete(request, obj)
        super().delete_model(request, obj)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet) -> None:
        for obj in queryset:
            record_delete(request, obj)
        super().delete_queryset(request, queryset)

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        deleted = {f.instance.pk for f in formset.deleted_forms if f.instance.pk is not None}
        before = {f.instance.pk: _stored(f.instance) for f in formset.forms
                  if f.instance.pk is not None and f.instance.pk not in deleted}
        for f in formset.deleted_forms:
            if f.instance.pk is not None:
                record_delete(request, f.instance)
        super().save_formset(request, form, formset, change)
        for obj in formset.new_objects:
            record_save(request, obj, None)
        for obj, _fields in formset.changed_objects:
            record_save(request, obj, before.get(obj.pk, {}))

    def log_change(self, request: HttpRequest, obj: Any, message: Any) -> Any:
        # Changes made outside ``save_model`` (the password form of the user admin): what changed,
        # by name; the values of a password are never logged.
        if (obj._meta.label_lower, obj.pk) not in request.__dict__.get("_audited_objects", set()):
            record(actor=request.user, action="admin.change", obj=obj, new={"change": message}, request=request)
        return super().log_change(request, obj, message)
