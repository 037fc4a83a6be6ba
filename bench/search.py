"""How long a search takes to find the user's own matches (``selectors.search_matches``, which the
case list and the API's list call), per user and search term, on whatever DATABASE_URL points at.

Usage (after `manage.py seed_demo` and `manage.py generate_cases --count 100000`):

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/mediation_bench DEBUG=1 \\
        .venv/bin/python bench/search.py --runs 9

To compare two versions side by side, ``--before`` names another checkout's ``mediation/selectors.py``
(e.g. ``git show <commit>:mediation/selectors.py > /tmp/before.py``): each run times both, in
alternating order, and checks that they answer the same (as many of the user's own cases, the
same "more were found"). Prints a Markdown table (medians, ms). Never gated on time.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediation.settings")
os.environ.setdefault("DEBUG", "1")

import django

django.setup()

from django.contrib.auth import get_user_model

from mediation import selectors

USERS = "jinping_mediator,jinping_supervisor,xikou_mediator,district_mediator,enterprise_mediator"
#: The district's own name, which almost every generated firm bears (the broadest search there is),
#: a common surname (a one-character search: by prefix), and a given name's start.
TERMS = "宁波市奉化区,张,王建"


def load(path: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location("selectors_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["selectors_before"] = module
    spec.loader.exec_module(module)
    return module


def timed(module: Any, text: str, user: Any) -> tuple[float, tuple[list[int], bool]]:
    start = time.perf_counter()
    found = module.search_matches(text, user=user)
    return (time.perf_counter() - start) * 1000, found


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--users", default=USERS)
    parser.add_argument("--terms", default=TERMS)
    parser.add_argument("--before", default="", help="another version's mediation/selectors.py to compare")
    args = parser.parse_args()
    versions: list[tuple[str, Any]] = [("now", selectors)]
    if args.before:
        versions.insert(0, ("before", load(args.before)))
    users = get_user_model().objects.filter(username__in=args.users.split(","))
    print("| user | search | found | " + " | ".join(f"{label} ms" for label, _ in versions) + " |")
    print("|---|---|---:|" + "---:|" * len(versions))
    for user in sorted(users, key=lambda u: args.users.split(",").index(u.username)):
        for text in args.terms.split(","):
            times: dict[str, list[float]] = {label: [] for label, _ in versions}
            answers: dict[str, tuple[int, bool]] = {}
            for run in range(args.runs):
                for label, module in (versions if run % 2 else versions[::-1]):
                    ms, (ids, more) = timed(module, text, user)
                    times[label].append(ms)
                    answers[label] = (len(ids), more)
            if len(set(answers.values())) != 1:
                print(f"different answers for {user.username} / {text}: {answers}", file=sys.stderr)
                return 1
            count, more = answers["now"]
            print(f"| {user.username} | {text} | {count}{'+' if more else ''} | "
                  + " | ".join(f"{statistics.median(times[label]):.0f}" for label, _ in versions) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
