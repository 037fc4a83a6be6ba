"""Types that signatures across the project share."""
from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import User as _User
from django.http import HttpRequest

#: A user as services, selectors and permission checks receive it: always signed in
#: (views are behind ``login_required``). The project keeps Django's own user model.
User: TypeAlias = _User


class AuthenticatedHttpRequest(HttpRequest):
    """The request a view behind ``login_required`` receives (the pattern django-stubs documents)."""

    user: User
