"""Benchmark of the case documents: Chinese vs Latin agreement, and the case-file export on 1 vs 2 cores.

1. The mediation agreement template (templates/documents/agreement.html, as
   issued) rendered side by side in one process: filled with Chinese text (party
   names with the rare characters 𠮷 㛃 堃 喆 珺) and filled with Latin text, the
   template's own labels then in English from the documents app's English
   catalogue. Both fills are two A4 pages. After one warm-up render each, runs
   alternate between the two so background load hits both alike; the script
   prints seconds per document, medians and the Chinese/Latin ratio (target
   <= 1.5). Both PDFs are checked: page count, extraction of names and amounts,
   fonts embedded as subsets of the project's fonts, no missing glyphs.
2. The export of 200 case files (PDF/A-3b, issued and registered, zipped with a
   manifest) from a throw-away database holding the demo district plus 200
   generated cases, first rendering in-process (1 worker), then with 2 worker
   processes.

Run from the project root (fonts built: `make fonts`)::

    .venv/bin/python bench/documents.py                 # both parts, 3 runs
    .venv/bin/python bench/documents.py --runs 5 --skip-export
    .venv/bin/python bench/documents.py --cases 50 --workers 1 2

The database is a test database created and destroyed by the script (SQLite in
memory unless DATABASE_URL points at PostgreSQL, where ``test_<name>`` is used).
Timings are reported, never gated: shared machines are noisy. tests/documents/
test_bench.py runs the same code with one run and a handful of cases in CI.
"""
from __future__ import annotations

import sys
from pathlib import Path

# Run as a script, this file's directory comes first on sys.path, where a bench script named
# like a standard module would shadow it, here and in the export's
# spawned workers (which re-run this file). The project root is what is needed instead.
ROOT = Path(__file__).resolve().parent.parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import argparse
import io
import logging
import os
import platform
import re
import statistics
import tempfile
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

RARE = "𠮷㛃堃喆珺"
AGREEMENT_TEMPLATE = "documents/agreement.html"


# --- the two fills of the agreement ---------------------------------------------------------------

@dataclass(frozen=True)
class Fill:
    language: str  # the template's labels: zh-hans (as issued) or en
    case_number: str
    organisation: str
    parties: tuple[dict[str, Any], ...]
    dispute: str
    claims: tuple[tuple[str, str], ...]
    terms: tuple[str, ...]
    waived: str
    instalments: tuple[tuple[str, str, str], ...]  # amount, due date, method
    mediator: str
    capitals: dict[str, str]  # amount -> words, for the Latin fill (Chinese uses amounts.py)
    names: tuple[str, ...]  # what extraction must give back


def _person(role: str, name: str, sex: str, id_number: str, address: str, agents: Sequence[str] = (),
            id_label: str = "公民身份号码") -> dict[str, Any]:
    return {"role": role, "role_code": "applicant", "name": name, "is_person": True, "sex": sex, "ethnicity": "",
            "id_label": id_label, "id_number": id_number, "address": address, "phone": "",
            "legal_representative": "", "agents": [{"name": a, "id_label": id_label, "id_number": ""} for a in agents]}


def _company(role: str, name: str, code: str, address: str, representative: str, agents: Sequence[str] = (),
             id_label: str = "统一社会信用代码") -> dict[str, Any]:
    return {"role": role, "role_code": "respondent", "name": name, "is_person": False, "sex": "", "ethnicity": "",
            "id_label": id_label, "id_number": code, "address": address, "phone": "",
            "legal_representative": representative,
            "agents": [{"name": a, "id_label": "", "id_number": ""} for a in agents]}


CHINESE = Fill(
    language="zh-hans",
    case_number="奉工调〔2026〕0417号",
    organisation="奉化区锦屏街道劳动争议调解中心",
    parties=(
        _person("申请人", "𠮷㛃", "女", "330283198803121236", "宁波市奉化区锦屏街道南山路371号12幢803室",
                agents=("王堃",)),
        _company("被申请人", "宁波喆珺精密机械制造有限公司", "91330283MA2AGQ0N3M",
                 "宁波市奉化区滨海新区科学大道88号", "陈喆", agents=("林珺",)),
    ),
    dispute=("申请人于2019年7月1日入职被申请人处，劳动合同期满后被申请人未续订合同、"
             "未支付经济补偿，并拖欠其2026年4月至6月加班工资。"),
    claims=(("经济补偿", "39000.00"), ("加班工资", "19000.00")),
    terms=(
        "双方确认劳动关系于2026年6月30日因劳动合同期满终止，工作年限自2019年7月1日起计算。",
        "被申请人一次性支付申请人劳动合同期满终止的经济补偿，已包含申请人主张的全部经济补偿。",
        "被申请人支付申请人2026年4月至6月加班工资，与前项款项按期支付至申请人的银行账户（户名：𠮷㛃）。",
    ),
    waived="被申请人履行本协议后，双方就劳动关系所生工资、加班费、经济补偿等事项再无争议。",
    instalments=(("26000.00", "2026-11-30", "银行转账"), ("25000.00", "2026-12-31", "银行转账")),
    mediator="张珺",
    capitals={},
    names=("𠮷㛃", "王堃", "宁波喆珺精密机械制造有限公司", "陈喆", "林珺", "张珺"),
)

LATIN = Fill(
    # The same slots as CHINESE, in English. English runs about a third longer than Chinese on the
    # page, so the sentences are shorter here: both fills are two pages, and the layout work compares.
    language="en",
    case_number="Fenghua Mediation (2026) No. 0417",
    organisation="Jinping Labour Mediation Centre",
    parties=(
        _person("Applicant", "Ji Jie", "female", "330283198803121236", "371 Nanshan Road, Fenghua",
                agents=("Wang Kun",), id_label="ID number"),
        _company("Respondent", "Zhejun Machinery Co., Ltd.", "91330283MA2AGQ0N3M", "88 Science Avenue, Fenghua",
                 "Chen Zhe", agents=("Lin Jun",), id_label="Credit code"),
    ),
    dispute="The contract expired on 30 June 2026; no compensation was paid.",
    claims=(("Compensation", "39000.00"), ("Overtime pay", "19000.00")),
    terms=(
        "The employment ended on 30 June 2026; service counts from 1 July 2019.",
        "The respondent pays the applicant economic compensation.",
        "The respondent pays the overtime pay for April to June 2026, in the instalments below.",
    ),
    waived="Once this agreement is performed, the parties have no further dispute over the employment.",
    instalments=(("26000.00", "2026-11-30", "transfer"), ("25000.00", "2026-12-31", "transfer")),
    mediator="Zhang Jun",
    capitals={"39000.00": "RMB 39,000", "19000.00": "RMB 19,000", "58000.00": "RMB 58,000",
              "26000.00": "RMB 26,000", "25000.00": "RMB 25,000", "51000.00": "RMB 51,000"},
    names=("Ji Jie", "Wang Kun", "Chen Zhe", "Lin Jun", "Zhang Jun"),
)


def _money(fill: Fill, amount: str) -> dict[str, str]:
    from mediation.documents.amounts import amount_in_capitals, amount_in_figures

    if fill.capitals:
        return {"figures": f"RMB {Decimal(amount):,.2f}", "capitals": fill.capitals[amount]}
    return {"figures": amount_in_figures(Decimal(amount)), "capitals": amount_in_capitals(Decimal(amount))}


def agreement_context(fill: Fill) -> dict[str, Any]:
    """The context ``mediation.documents.context.prepare`` builds for an effective agreement, filled by hand."""
    import datetime

    from mediation.documents.codes import format_code
    from mediation.documents.render import qr_data_uri

    code = "7KQ2M9XD4HRT0BWC"
    url = f"https://tiaojie.example.cn/documents/verify/{format_code(code)}/"
    claimed = sum(Decimal(a) for _, a in fill.claims)
    total = sum(Decimal(a) for a, _, _ in fill.instalments)
    signed_on = datetime.date(2026, 11, 20)
    return {
        "title": "调解协议书" if fill.language == "zh-hans" else "Mediation agreement",
        "case": {
            "number": fill.case_number, "applicants": fill.parties[0]["name"], "respondents": fill.parties[1]["name"],
            "claims": [{"description": d, "category": "", "amount": _money(fill, a)} for d, a in fill.claims],
            "amount_claimed": _money(fill, f"{claimed:.2f}"),
            "organisation": {"name": fill.organisation, "is_peoples_committee": False},
        },
        "parties": list(fill.parties),
        "doc": {
            "version": 1, "is_draft": False, "is_superseded": False, "supersedes_version": None,
            # Signed lines filled in (an agreement rendered from its recorded signatures): the longest layout.
            "signed_rendering": True,
            "dispute_summary": fill.dispute, "claims_summary": "", "waived": fill.waived, "copies": 3,
            "terms": [{"number": i + 1, "text": t} for i, t in enumerate(fill.terms)],
            "instalments": [{"number": i + 1, "amount": _money(fill, a), "due_on": datetime.date.fromisoformat(d),
                             "method": m} for i, (a, d, m) in enumerate(fill.instalments)],
            "total": _money(fill, f"{total:.2f}"), "has_payment": True,
            "signature_rows": [{"role": p["role"], "name": p["name"], "is_person": p["is_person"],
                                "signed": {"name": p["name"], "on": signed_on}} for p in fill.parties],
            "mediator_signature": {"name": fill.mediator, "on": signed_on},
            "seal": {"name": fill.organisation, "on": signed_on},
        },
        "issue": {"code": format_code(code), "raw_code": code, "verify_url": url, "qr": qr_data_uri(url),
                  "issued_at": datetime.datetime(2026, 11, 20, 15, 30,
                                                 tzinfo=datetime.timezone(datetime.timedelta(hours=8))),
                  "issuer": fill.organisation},
    }


CATALOGUE = ROOT / "mediation" / "documents" / "locale" / "en" / "LC_MESSAGES" / "django.po"


def ensure_english_catalogue() -> None:
    """Compile the documents app's English catalogue if set-up has not (the Latin fill's labels).

    ``make setup`` compiles it with the other catalogues; this keeps the benchmark honest on a
    checkout where it did not run. Written to a temporary name and renamed: two test workers may
    get here at once.
    """
    import shutil
    import subprocess

    compiled = CATALOGUE.with_suffix(".mo")
    if compiled.exists() and compiled.stat().st_mtime >= CATALOGUE.stat().st_mtime:
        return
    if shutil.which("msgfmt") is None:
        raise RuntimeError("msgfmt not found: install the Debian package gettext (make setup does)")
    partial = compiled.with_name(f".{os.getpid()}.django.mo")
    subprocess.run(["msgfmt", "--check-format", "-o", str(partial), str(CATALOGUE)], check=True)
    partial.replace(compiled)
    from django.utils.translation import trans_real

    # Catalogues loaded before the file existed are stale. The cache is private to Django
    # (absent from django-stubs), and there is no public way to empty it.
    trans_real._translations = {}  # type: ignore[attr-defined]


def render_agreement(fill: Fill) -> bytes:
    from mediation.documents.render import render_pdf

    return render_pdf(AGREEMENT_TEMPLATE, agreement_context(fill), language=fill.language)


def check_agreement(label: str, pdf: bytes, fill: Fill) -> list[str]:
    """Failed checks (empty when all passed): pages, extraction, embedded subset fonts, no missing glyphs."""
    from pypdf import PdfReader

    from tests.documents import pdfcheck

    failures = []
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    if pages != 2 and fill.language == "zh-hans":
        failures.append(f"{label}: {pages} pages, the benchmark document should have 2")
    elif pages != 2:
        # The English labels come from the merged catalogues (the project's wins over this app's),
        # so their length is not fully ours: a longer wording is reported, not failed.
        print(f"NOTE {label}: {pages} pages instead of 2; the comparison is then not like for like")
    text = pdfcheck.squeezed(pdf)
    for name in fill.names:
        if re.sub(r"\s+", "", name) not in text:
            failures.append(f"{label}: extraction lacks {name!r}")
    if fill.language == "zh-hans":
        for needle in ("¥51,000.00", "人民币伍万壹仟元整", "第1页共2页", *RARE):
            if needle not in text:
                failures.append(f"{label}: extraction lacks {needle!r}")
    elif re.search(r"[\u4e00-\u9fff]", text):
        failures.append(f"{label}: Chinese characters in the Latin fill (English catalogue not compiled?): "
                        f"{''.join(sorted(set(re.findall(r'[一-鿿]', text))))[:40]}")
    try:
        pdfcheck.assert_fonts_sound(pdf)
    except AssertionError as exc:
        failures.append(f"{label}: {exc}")
    return failures


@dataclass
class AgreementTiming:
    seconds: dict[str, list[float]]
    pdfs: dict[str, bytes]
    failures: list[str]

    @property
    def medians(self) -> dict[str, float]:
        return {k: statistics.median(v) for k, v in self.seconds.items()}

    @property
    def ratio(self) -> float:
        return self.medians["Chinese"] / self.medians["Latin"]


def time_agreement(runs: int = 3) -> AgreementTiming:
    ensure_english_catalogue()
    fills = {"Chinese": CHINESE, "Latin": LATIN}
    for fill in fills.values():  # warm-up: imports, fonts, Pango caches, template loading
        render_agreement(fill)
    seconds: dict[str, list[float]] = {name: [] for name in fills}
    pdfs: dict[str, bytes] = {}
    for _ in range(runs):
        for name, fill in fills.items():
            started = time.perf_counter()
            pdfs[name] = render_agreement(fill)
            seconds[name].append(time.perf_counter() - started)
    failures = [f for name, fill in fills.items() for f in check_agreement(name, pdfs[name], fill)]
    return AgreementTiming(seconds, pdfs, failures)


# --- the export ----------------------------------------------------------------------------------------------

@dataclass
class ExportTiming:
    workers: int
    cases: int
    exported: int
    seconds: float
    failures: list[str]
    cpu_seconds: float = 0.0  # this process and its (finished) worker processes
    machine_busy: float | None = None  # cores busy machine-wide (Linux /proc/stat), others' work included

    @property
    def cores_busy(self) -> float:
        """CPU seconds per wall second: about 2 when two workers render flat out on two cores."""
        return self.cpu_seconds / self.seconds if self.seconds else 0.0


def _machine_jiffies() -> tuple[int, int] | None:
    """(busy, total) CPU jiffies of the whole machine, to tell our load from other jobs'."""
    try:
        fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return None
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    return sum(fields) - idle, sum(fields)


def _cpu_seconds() -> float:
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def check_export(data: bytes, cases: int) -> list[str]:
    """The zip holds one PDF/A per case and a manifest whose SHA-256s match the files."""
    import csv
    import hashlib

    from tests.documents import pdfcheck

    failures = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        manifest = list(csv.DictReader(io.StringIO(archive.read("manifest.csv").decode("utf-8-sig"))))
        if len(manifest) != cases:
            failures.append(f"manifest has {len(manifest)} rows for {cases} cases")
        for row in manifest:
            if row["status"] != "ok":
                failures.append(f"{row['case']}: {row['status']}")
                continue
            pdf = archive.read(row["file"])
            if hashlib.sha256(pdf).hexdigest() != row["sha256"]:
                failures.append(f"{row['file']}: SHA-256 differs from the manifest")
            if 'pdfaid:part="3"' not in pdfcheck.xmp(pdf):
                failures.append(f"{row['file']}: no PDF/A-3 identification in the XMP metadata")
    return failures


def time_export(user: Any, case_ids: Sequence[int], workers: int) -> ExportTiming:
    from mediation.documents.export import export_to_file
    from mediation.models import Case

    target = io.BytesIO()
    cases = Case.objects.filter(pk__in=list(case_ids)).select_related(
        "organisation__level", "registered_organisation", "employer", "platform", "created_by").order_by("number")
    cpu, jiffies = _cpu_seconds(), _machine_jiffies()
    summary = export_to_file(target, user=user, cases=cases.iterator(), workers=workers,
                             verify_base_url="https://tiaojie.example.cn")
    cpu = _cpu_seconds() - cpu  # the pool has shut down: its workers' time is counted
    after = _machine_jiffies()
    busy = None
    if jiffies and after and after[1] > jiffies[1]:
        busy = (after[0] - jiffies[0]) / (after[1] - jiffies[1]) * (os.cpu_count() or 1)
    return ExportTiming(workers, len(case_ids), summary.exported, summary.seconds,
                        check_export(target.getvalue(), len(case_ids)), cpu, busy)


def demo_database(cases: int) -> tuple[Any, list[int]]:
    """The demo district plus ``cases`` generated cases; returns the district supervisor and case ids."""
    from django.db.models import Q

    from mediation.demo.bulk import Generator
    from mediation.demo.seed import seed
    from mediation.models import Case, Membership, Role

    seed()
    Generator(count=cases, seed=1).run()
    supervisor = (Membership.objects.filter(role=Role.SUPERVISOR, organisation__parent__isnull=True)
                  .select_related("user").get().user)
    from mediation.documents.export import export_scope

    ids = list(export_scope(supervisor).filter(~Q(pk__in=[])).values_list("pk", flat=True)[:cases])
    assert Case.objects.count() >= cases
    return supervisor, ids


# --- report -------------------------------------------------------------------------------------------

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import weasyprint

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, WeasyPrint {weasyprint.__version__}, "
            f"{platform.system()} {platform.release()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed renders of each agreement")
    parser.add_argument("--cases", type=int, default=200, help="case files in the export")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to export with")
    parser.add_argument("--skip-export", action="store_true")
    args = parser.parse_args(argv)

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")
    os.environ.setdefault("SECRET_KEY", "benchmark-only")
    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger().setLevel(logging.WARNING)
    from mediation.documents.fonts import harfbuzz_subset_available

    print(f"Machine: {machine()}; HarfBuzz subsetter: {'yes' if harfbuzz_subset_available() else 'NO'}; "
          f"load average {' '.join(f'{x:.1f}' for x in os.getloadavg())} before starting")
    failures: list[str] = []

    timing = time_agreement(args.runs)
    for name, values in timing.seconds.items():
        print(f"Agreement, {name:7} fill: " + " ".join(f"{v:.3f}" for v in values)
              + f" s  (median {timing.medians[name]:.3f} s, {len(timing.pdfs[name]) // 1024} KiB)")
    print(f"Chinese/Latin ratio: {timing.ratio:.2f} (target <= 1.5): {'OK' if timing.ratio <= 1.5 else 'OVER'}")
    failures += timing.failures

    if not args.skip_export:
        from django.db import connection
        from django.test.utils import override_settings

        started = time.perf_counter()
        old_name = connection.creation.create_test_db(verbosity=0, autoclobber=True)
        try:
            with tempfile.TemporaryDirectory(prefix="bench-media-") as media, override_settings(MEDIA_ROOT=media):
                supervisor, ids = demo_database(args.cases)
                print(f"Export: {len(ids)} case files (database ready in {time.perf_counter() - started:.1f} s)")
                results = [time_export(supervisor, ids, workers) for workers in args.workers]
                base = results[0].seconds
                for r in results:
                    print(f"  {r.workers} worker{'s' if r.workers > 1 else ' '}: {r.seconds:6.1f} s, "
                          f"{r.seconds / max(r.exported, 1):.3f} s per case file, "
                          f"speed-up x{base / r.seconds:.2f}, {r.exported}/{r.cases} exported; "
                          f"CPU {r.cpu_seconds:.0f} s = {r.cores_busy:.2f} cores busy with this export"
                          + (f", {r.machine_busy:.2f} of {os.cpu_count()} busy machine-wide"
                             if r.machine_busy is not None else ""))
                    failures += [f"export ({r.workers} workers): {f}" for f in r.failures]
        finally:
            connection.creation.destroy_test_db(old_name, verbosity=0)

    for failure in failures:
        print(f"FAIL {failure}")
    print("All checks passed." if not failures else f"{len(failures)} checks failed.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
