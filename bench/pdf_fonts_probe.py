"""Probe the PDF font set-up: speed of Chinese vs Latin documents, and text fidelity.

Renders a realistic two-page A4 labour-dispute mediation agreement with the
project's built fonts (``mediation.documents.fonts``), once filled with
Chinese text (party names include the rare characters 𠮷 U+20BB7 and 㛃
U+36C3, plus 堃 喆 珺) and once with Latin text, from the same template.  Each
is rendered three times in one process (after one warm-up render); the script
prints seconds per document and the Chinese/Latin ratio (target: at most
1.5), then renders the Chinese one again as PDF/A-3b.  Then it checks all
three PDFs with pypdf and fontTools:

* two pages each;
* text extraction returns every party name, rare characters included (so the
  ToUnicode maps are right and text stays copyable);
* every font is embedded (FontFile2/FontFile3) and subset (``ABCDEF+`` prefix);
* only the project's fonts are used (no silent fallback to host fonts);
* no glyph is missing: every glyph the pages show has an outline in the
  embedded font program.  Extraction alone cannot see this: a missing glyph
  still carries its character in the ToUnicode map.

Run from the project root::

    python bench/pdf_fonts_probe.py                        # build fonts if needed, bench, verify
    python bench/pdf_fonts_probe.py --subsetter fonttools  # as on hosts without libharfbuzz-subset0
    python bench/pdf_fonts_probe.py --fresh-font-config    # new FontConfiguration per document
    python bench/pdf_fonts_probe.py --out /tmp/probe       # keep the PDFs to look at

Exit status is 0 when every check passed; the speed ratio is reported, not
gated, because timings on shared machines are noisy.
"""

from __future__ import annotations

import argparse
import io
import logging
import re
import statistics
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from html import escape
from pathlib import Path
from string import Template
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from mediation.documents.fonts import (  # noqa: E402
    build_fonts,
    font_stylesheet_path,
    weasyprint_fonts,
)

# Characters that a GB2312-only font lacks and that real party names use.
RARE_CHARACTERS = "𠮷㛃堃喆珺"

# ---------------------------------------------------------------------------
# The template.  Both languages fill the same slots; only the text differs, so
# the Chinese/Latin ratio isolates the cost of CJK fonts.
# ---------------------------------------------------------------------------

PAGE = Template("""<!DOCTYPE html>
<html lang="$lang">
<head>
<meta charset="utf-8">
<title>$title</title>
<style>
@page {
  size: A4;
  margin: 25mm 25mm 25mm 28mm;
  @bottom-center { content: $footer; font-size: 10.5pt; }
}
/* On html, not body: @page margin boxes (the footer) inherit from the root. */
html { font-family: $family; }
body { font-size: 12pt; line-height: 1.5; text-align: justify; }
h1 { font-family: $heading_family; font-weight: bold; font-size: 20pt;
     text-align: center; margin: 0 0 4mm; }
h2 { font-family: $heading_family; font-weight: bold; font-size: 13pt; margin: 5mm 0 2mm; }
.docno { text-align: right; margin: 0 0 5mm; }
.parties p { margin: 0; }
.body p, ol.terms li { margin: 0; text-indent: 2em; }
ol.terms { margin: 0; padding: 0; list-style: none; }
.amount { font-weight: bold; }
table.sign { width: 100%; margin-top: 6mm; border-collapse: collapse; }
table.sign td { width: 50%; padding: 2mm 0; vertical-align: top; text-align: left; }
.seal { text-align: right; margin-top: 4mm; }
.seal p { margin: 0; }
</style>
</head>
<body>
<h1>$title</h1>
<p class="docno">$docno</p>
<div class="parties">$parties</div>
<h2>$facts_heading</h2>
<div class="body">$facts</div>
<h2>$terms_heading</h2>
<ol class="terms">$terms</ol>
<div class="body">$closing</div>
<table class="sign">$signatures</table>
<div class="seal">$seal</div>
</body>
</html>
""")


@dataclass(frozen=True)
class Agreement:
    """The text that fills the template in one language."""

    lang: str
    title: str
    docno: str
    footer: str  # a CSS content value
    parties: tuple[str, ...]
    facts_heading: str
    facts: tuple[str, ...]
    terms_heading: str
    terms: tuple[str, ...]
    closing: tuple[str, ...]
    signatures: tuple[tuple[str, str], ...]
    seal: tuple[str, ...]
    names: tuple[str, ...]  # what extraction must give back


CHINESE = Agreement(
    lang="zh-CN",
    title="劳动争议调解协议书",
    docno="穗天劳人调字〔2025〕第0417号",
    footer='"第 " counter(page) " 页 共 " counter(pages) " 页"',
    parties=(
        "申请人：𠮷㛃，女，1988年3月12日出生，汉族，公民身份号码440106198803121234，"
        "住广州市天河区五山路371号12栋803房，联系电话13800138000。",
        "委托代理人：王堃，广东粤秀律师事务所律师。",
        "被申请人：广州市喆珺精密机械制造有限公司，统一社会信用代码91440101MA5CX2QW7K，"
        "住所地广州市黄埔区科学大道88号。",
        "法定代表人：陈喆，该公司总经理。",
        "委托代理人：林珺，该公司人力资源部经理。",
    ),
    facts_heading="一、争议事项及基本事实",
    facts=(
        "申请人于2019年7月1日入职被申请人处，担任数控车床操作员，双方签订了期限至2025年6月30日"
        "的书面劳动合同，约定月工资为人民币陆仟伍佰元（¥6,500.00）。劳动合同期满后，被申请人未与"
        "申请人续订劳动合同，亦未支付经济补偿；申请人另主张被申请人拖欠其2025年4月至6月的延时加班"
        "工资及休息日加班工资。申请人于2025年9月15日向本委员会申请调解，请求被申请人支付经济补偿"
        "及加班工资合计人民币伍万捌仟元。",
        "本委员会受理后，依照《中华人民共和国劳动争议调解仲裁法》《企业劳动争议协商调解规定》等有关"
        "规定，在查明事实、分清是非的基础上，于2025年10月9日、10月20日两次组织双方当事人进行调解。"
        "调解中，被申请人提交了考勤记录、工资支付凭证及劳动合同文本，申请人提交了加班审批单、工作群"
        "聊天记录截图和银行流水，双方对上述证据的真实性均无异议。经调解员释法明理、耐心疏导，双方"
        "当事人本着平等协商、互谅互让的原则，自愿达成如下协议。",
    ),
    terms_heading="二、调解协议内容",
    terms=(
        "（一）双方确认劳动关系于2025年6月30日因劳动合同期满终止，申请人的工作年限自2019年7月1日"
        "起计算，共计六年。",
        "（二）被申请人一次性支付申请人劳动合同期满终止的经济补偿人民币叁万玖仟元整（¥39,000.00），"
        "该款项按申请人劳动合同终止前十二个月的平均工资计算，已包含申请人主张的全部经济补偿。",
        "（三）被申请人支付申请人2025年4月至6月延时加班工资及休息日加班工资共计人民币壹万贰仟元整"
        "（¥12,000.00）。",
        "（四）上述第（二）、（三）项款项合计人民币伍万壹仟元整（¥51,000.00），由被申请人于2025年"
        "11月30日前一次性转账至申请人指定的银行账户（开户行：中国工商银行广州五山支行；户名：𠮷㛃；"
        "账号：6222 0236 0201 8888 123）。被申请人逾期支付的，每逾期一日按未付金额的万分之五"
        "向申请人"
        "另行支付违约金。",
        "（五）被申请人应于本协议生效之日起十五日内为申请人出具终止劳动合同证明书，并在十五日内为"
        "申请人办理档案和社会保险关系转移手续；因被申请人迟延办理造成申请人损失的，由被申请人承担。",
        "（六）申请人确认，被申请人履行本协议第（二）至（五）项义务后，双方就劳动关系存续期间及终止"
        "所产生的工资、加班费、经济补偿、带薪年休假工资、社会保险待遇等事项再无其他争议，申请人不再"
        "就上述事项申请劳动仲裁或者提起诉讼。",
        "（七）双方均应对本协议内容及调解过程中知悉的对方个人信息、商业秘密予以保密，不得向无关第三方"
        "披露，但法律、法规另有规定或者经对方书面同意的除外。",
        "（八）本协议自双方当事人签名或者盖章，并经调解员签名、加盖调解委员会印章后生效，对双方当事人"
        "具有约束力，当事人应当履行。因支付拖欠劳动报酬、经济补偿事项达成调解协议，被申请人在协议约定"
        "期限内不履行的，申请人可以持本协议书依法向人民法院申请支付令。",
        "（九）双方当事人可以自本协议生效之日起十五日内，共同向有管辖权的劳动人事争议仲裁委员会提出"
        "仲裁审查申请；仲裁委员会经审查认为本协议合法有效的，可以制作调解书。",
        "（十）本协议一式四份，申请人、被申请人各执一份，调解委员会存档一份，报送仲裁委员会备案一份，"
        "各份具有同等效力。",
    ),
    closing=(
        "双方当事人确认：已完整阅读并理解本协议全部条款，本协议系双方真实意思表示，不存在欺诈、胁迫"
        "或者乘人之危的情形。调解员已告知双方当事人享有的权利和应当承担的义务。",
    ),
    signatures=(
        ("申请人（签名）：𠮷㛃", "委托代理人（签名）：王堃"),
        ("被申请人（盖章）：广州市喆珺精密机械制造有限公司", "法定代表人（签名）：陈喆"),
        ("调解员（签名）：张珺", "记录人（签名）：刘堃"),
    ),
    seal=("广州市天河区劳动人事争议调解委员会（印章）", "二〇二五年十月二十日"),
    names=("𠮷㛃", "王堃", "广州市喆珺精密机械制造有限公司", "陈喆", "林珺", "张珺", "刘堃"),
)


LATIN = Agreement(
    lang="en",
    title="Labour Dispute Mediation Agreement",
    docno="Tianhe Labour Mediation No. (2025) 0417",
    footer='"Page " counter(page) " of " counter(pages)',
    parties=(
        "Applicant: Ji Jie, female, born 12 March 1988, identity number 440106198803121234, "
        "residing at Room 803, Building 12, 371 Wushan Road, Tianhe District, Guangzhou; "
        "telephone 13800138000.",
        "Authorised agent: Wang Kun, lawyer at Yuexiu Law Firm, Guangdong.",
        "Respondent: Guangzhou Zhejun Precision Machinery Co., Ltd., unified social credit code "
        "91440101MA5CX2QW7K, registered at 88 Science Avenue, Huangpu District, Guangzhou.",
        "Legal representative: Chen Zhe, general manager of the company.",
        "Authorised agent: Lin Jun, human resources manager of the company.",
    ),
    facts_heading="1. Matters in dispute and facts",
    facts=(
        "The applicant joined the respondent on 1 July 2019 as a CNC lathe operator. The parties "
        "signed a written labour contract for a term ending on 30 June 2025 with a monthly wage of "
        "RMB 6,500.00. When the contract expired the respondent neither renewed it nor paid "
        "economic compensation; the applicant further claims unpaid overtime pay for April to June "
        "2025. On 15 September 2025 the applicant applied to this committee for mediation, asking "
        "for compensation and overtime pay totalling RMB 58,000.00.",
        "Having accepted the case under the Labour Dispute Mediation and Arbitration Law, this "
        "committee established the facts and held mediation sessions on 9 and 20 October 2025. "
        "After the mediator explained the law and the parties negotiated on an equal "
        "footing, they voluntarily reached the following agreement.",
    ),
    terms_heading="2. Terms of the agreement",
    terms=(
        "(1) The parties confirm that the employment ended on 30 June 2025 upon expiry of the "
        "labour contract.",
        "(2) The respondent shall pay the applicant economic compensation for the expiry of the "
        "contract of RMB 39,000.00 (thirty-nine thousand yuan), covering all compensation claimed.",
        "(3) The respondent shall pay the applicant overtime pay for working days and rest days "
        "from April to June 2025 of RMB 12,000.00 (twelve thousand yuan).",
        "(4) The sums in items (2) and (3), RMB 51,000.00 in total, shall be paid by 30 November "
        "2025 to the applicant's account (ICBC Guangzhou Wushan Branch; holder Ji Jie; account "
        "6222 0236 0201 8888 123). For each day of delay the respondent shall pay a further "
        "0.05% of the "
        "unpaid amount as liquidated damages.",
        "(5) Within fifteen days of this agreement taking effect the respondent shall issue a "
        "certificate of termination and transfer the applicant's personnel file and social "
        "insurance.",
        "(6) Once the respondent has performed items (2) to (5), the parties have no further "
        "dispute arising from the employment, and the applicant will not bring arbitration or "
        "litigation on these matters.",
        "(7) Both parties shall keep the content of this agreement and any personal information "
        "or trade secrets learned during mediation confidential, unless the law requires "
        "otherwise.",
        "(8) This agreement takes effect when signed or sealed by both parties, signed by the "
        "mediator and sealed by the mediation committee, and binds both parties. If the respondent "
        "fails to pay in time, the applicant may apply to the court for a payment order.",
        "(9) Within fifteen days of this agreement taking effect the parties may jointly apply to "
        "the arbitration commission, which may issue a mediation statement.",
        "(10) This agreement is made in four counterparts of equal effect: one for each party, one "
        "for the committee's records and one filed with the arbitration commission.",
    ),
    closing=(
        "The parties confirm that they have read and understood every term and that the "
        "agreement expresses their true intention.",
    ),
    signatures=(
        ("Applicant (signature): Ji Jie", "Authorised agent (signature): Wang Kun"),
        ("Respondent (seal): Guangzhou Zhejun Precision Machinery Co., Ltd.",
         "Legal representative (signature): Chen Zhe"),
        ("Mediator (signature): Zhang Jun", "Recorder (signature): Liu Kun"),
    ),
    seal=("Tianhe Labour Dispute Mediation Committee (seal)",
          "20 October 2025"),
    names=("Ji Jie", "Wang Kun", "Chen Zhe", "Lin Jun", "Zhang Jun", "Liu Kun"),
)


def _paragraphs(texts: Iterable[str], tag: str = "p") -> str:
    return "".join(f"<{tag}>{escape(text)}</{tag}>" for text in texts)


def agreement_html(agreement: Agreement, family: str, heading_family: str) -> str:
    """Fill the template; amounts are wrapped so bold runs exercise the bold face."""
    terms = _paragraphs(agreement.terms, "li")
    terms = re.sub(r"(¥[\d,.]+|RMB [\d,.]+)", r'<span class="amount">\1</span>', terms)
    signatures = "".join(
        f"<tr><td>{escape(left)}</td><td>{escape(right)}</td></tr>"
        for left, right in agreement.signatures
    )
    return PAGE.substitute(
        lang=agreement.lang,
        title=escape(agreement.title),
        docno=escape(agreement.docno),
        footer=agreement.footer,
        family=family,
        heading_family=heading_family,
        parties=_paragraphs(agreement.parties),
        facts_heading=escape(agreement.facts_heading),
        facts=_paragraphs(agreement.facts),
        terms_heading=escape(agreement.terms_heading),
        terms=terms,
        closing=_paragraphs(agreement.closing),
        signatures=signatures,
        seal=_paragraphs(agreement.seal),
    )


# ---------------------------------------------------------------------------
# Rendering and timing
# ---------------------------------------------------------------------------

SONG = "var(--mediation-song)"  # stacks defined by the generated stylesheet
HEI = "var(--mediation-hei)"


class Renderer:
    """Renders HTML with the project's fonts.

    By default through ``weasyprint_fonts()``, the per-thread FontConfiguration
    that product code uses; with ``fresh_font_config`` every document gets its
    own FontConfiguration and font stylesheet instead (to measure that cost).
    """

    def __init__(self, stylesheet: Path, *, fresh_font_config: bool) -> None:
        self.stylesheet = stylesheet
        self.fresh = fresh_font_config

    def render(self, html: str, pdf_variant: str | None = None) -> bytes:
        from weasyprint import CSS, HTML
        from weasyprint.text.fonts import FontConfiguration

        if self.fresh:
            font_config = FontConfiguration()
            css = CSS(filename=str(self.stylesheet), font_config=font_config)
        else:
            font_config, css = weasyprint_fonts()
        return HTML(string=html).write_pdf(
            stylesheets=[css], font_config=font_config, pdf_variant=pdf_variant
        )


def time_renders(render: Callable[[str], bytes], documents: dict[str, str],
                 runs: int) -> tuple[dict[str, list[float]], dict[str, bytes]]:
    """Seconds per render for each document; runs alternate between documents
    so that background load on the machine hits both alike."""
    for html in documents.values():  # warm-up: imports, fontconfig caches, Pango
        render(html)
    seconds: dict[str, list[float]] = {name: [] for name in documents}
    pdfs: dict[str, bytes] = {}
    for _ in range(runs):
        for name, html in documents.items():
            started = time.perf_counter()
            pdfs[name] = render(html)
            seconds[name].append(time.perf_counter() - started)
    return seconds, pdfs


# ---------------------------------------------------------------------------
# Verification
# ---------------------------------------------------------------------------

_BFCHAR = re.compile(rb"<([0-9a-fA-F]+)>\s*<([0-9a-fA-F]*)>")
_SUBSET_TAG = re.compile(r"^/?[A-Z]{6}\+")


@dataclass
class FontReport:
    name: str
    embedded: bool
    subset: bool
    characters: str  # what its ToUnicode map gives, in glyph order
    blank: str  # characters whose glyph has no outline in the embedded program


def _to_unicode(font: Any) -> dict[int, str]:
    data = font["/ToUnicode"].get_object().get_data()
    mapping: dict[int, str] = {}
    # Only bfchar sections: the codespace range <0000> <ffff> looks the same.
    for section in re.findall(rb"beginbfchar(.*?)endbfchar", data, re.DOTALL):
        for glyph, text in _BFCHAR.findall(section):
            mapping[int(glyph, 16)] = bytes.fromhex(text.decode()).decode("utf-16-be")
    return mapping


def _blank_glyphs(program: bytes, mapping: dict[int, str]) -> str:
    """Characters whose glyph is missing or empty in an embedded font program."""
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(program))
    order = font.getGlyphOrder()
    blank: list[str] = []
    for glyph_id, text in sorted(mapping.items()):
        if not text.strip():
            continue  # spaces have no outline by design
        if glyph_id == 0 or glyph_id >= len(order):
            blank.append(text)
            continue
        name = order[glyph_id]
        if "glyf" in font:
            empty = font["glyf"][name].numberOfContours == 0
        else:
            charstrings = font["CFF "].cff.topDictIndex[0].CharStrings
            empty = charstrings[name].calcBounds(charstrings) is None
        if empty:
            blank.append(text)
    return "".join(blank)


def inspect_fonts(pdf: bytes) -> list[FontReport]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    reports: dict[str, FontReport] = {}
    for page in reader.pages:
        fonts = page["/Resources"].get("/Font", {})
        for reference in fonts.values():
            font = reference.get_object()
            name = str(font["/BaseFont"])
            if name in reports:
                continue
            descendant = (
                font["/DescendantFonts"][0].get_object() if "/DescendantFonts" in font else font
            )
            descriptor = descendant["/FontDescriptor"].get_object()
            program_key = next((key for key in ("/FontFile2", "/FontFile3", "/FontFile")
                                if key in descriptor), None)
            mapping = _to_unicode(font)
            blank = ""
            if program_key is not None:
                blank = _blank_glyphs(descriptor[program_key].get_object().get_data(), mapping)
            reports[name] = FontReport(
                name=name.lstrip("/"),
                embedded=program_key is not None,
                subset=bool(_SUBSET_TAG.match(name)),
                characters="".join(mapping[key] for key in sorted(mapping)),
                blank=blank,
            )
    return list(reports.values())


def extracted_text(pdf: bytes) -> tuple[str, int]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(pdf))
    return "\n".join(page.extract_text() or "" for page in reader.pages), len(reader.pages)


def verify(label: str, pdf: bytes, agreement: Agreement) -> list[str]:
    """Return the failed checks (empty when all passed), printing what was seen."""
    failures: list[str] = []
    text, pages = extracted_text(pdf)
    squeezed = re.sub(r"\s+", "", text)  # names may wrap across lines
    if pages != 2:
        failures.append(f"{label}: {pages} pages, the probe document should have 2")
    missing_names = [name for name in agreement.names if re.sub(r"\s+", "", name) not in squeezed]
    if missing_names:
        failures.append(f"{label}: extraction lacks names {missing_names}")
    if agreement is CHINESE:
        missing_rare = [char for char in RARE_CHARACTERS if char not in squeezed]
        if missing_rare:
            failures.append(f"{label}: extraction lacks rare characters {missing_rare}")
    fonts = inspect_fonts(pdf)
    for font in fonts:
        family = _SUBSET_TAG.sub("", font.name)
        if not font.embedded:
            failures.append(f"{label}: font {font.name} is not embedded")
        if not font.subset:
            failures.append(f"{label}: font {font.name} is not a subset")
        if not family.startswith("Mediation"):
            failures.append(f"{label}: host font {font.name} used for {font.characters!r}")
        if font.blank:
            failures.append(f"{label}: {font.name} shows blank/missing glyphs for {font.blank!r}")
    shown = "".join(font.characters for font in fonts)
    for char in RARE_CHARACTERS if agreement is CHINESE else "":
        if char not in shown:
            failures.append(f"{label}: no embedded font maps a glyph to {char}")
    print(f"  {label}: {pages} pages, {len(pdf) / 1024:.0f} KiB, fonts:")
    for font in fonts:
        rare = "".join(char for char in RARE_CHARACTERS if char in font.characters)
        print(f"    {font.name:34} {len(font.characters):4} glyphs"
              f"{'  rare: ' + rare if rare else ''}")
    return failures


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="timed renders per document")
    parser.add_argument("--subsetter", choices=("auto", "fonttools"), default="auto",
                        help="'fonttools' forces WeasyPrint's fallback used when "
                             "libharfbuzz-subset0 is missing")
    parser.add_argument("--fresh-font-config", action="store_true",
                        help="a new FontConfiguration per document instead of the shared one")
    parser.add_argument("--out", type=Path, help="directory to write the PDFs to")
    args = parser.parse_args(argv)

    # WeasyPrint warns about each font it cannot find and about fontTools
    # fallbacks; the verification below reports what matters.
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    stylesheet = build_fonts.build()  # no-op (a few ms) when already built
    font_stylesheet_path()  # fails loudly if the build did not finish

    import weasyprint
    import weasyprint.pdf.fonts

    if args.subsetter == "fonttools":
        weasyprint.pdf.fonts.harfbuzz_subset = None
    using_harfbuzz = bool(weasyprint.pdf.fonts.harfbuzz_subset)
    subsetter = "HarfBuzz" if using_harfbuzz else "fontTools (no libharfbuzz-subset0, or disabled)"
    print(f"WeasyPrint {weasyprint.__version__}, subsetting with {subsetter}, "
          f"{'per-document' if args.fresh_font_config else 'shared'} FontConfiguration")

    renderer = Renderer(stylesheet, fresh_font_config=args.fresh_font_config)
    documents = {
        "Chinese": agreement_html(CHINESE, SONG, HEI),
        "Latin": agreement_html(LATIN, SONG, HEI),
    }
    seconds, pdfs = time_renders(renderer.render, documents, args.runs)
    medians = {name: statistics.median(values) for name, values in seconds.items()}
    for name, values in seconds.items():
        runs = " ".join(f"{value:.3f}" for value in values)
        print(f"{name:8} seconds per document: {runs}  (median {medians[name]:.3f})")
    ratio = medians["Chinese"] / medians["Latin"]
    print(f"Chinese/Latin ratio: {ratio:.2f} (target <= 1.5): "
          f"{'OK' if ratio <= 1.5 else 'OVER TARGET'}")

    started = time.perf_counter()
    pdfa = renderer.render(documents["Chinese"], pdf_variant="pdf/a-3b")
    print(f"PDF/A-3b Chinese render: {time.perf_counter() - started:.3f} s")

    print("Verification (pypdf extraction, embedded font programs):")
    failures = verify("Chinese", pdfs["Chinese"], CHINESE)
    failures += verify("Latin", pdfs["Latin"], LATIN)
    failures += verify("Chinese PDF/A-3b", pdfa, CHINESE)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, pdf in {**pdfs, "Chinese-pdfa3b": pdfa}.items():
            (args.out / f"agreement-{name}.pdf").write_bytes(pdf)
        print(f"PDFs written to {args.out}")
    for failure in failures:
        print(f"FAIL {failure}")
    print("All checks passed." if not failures else f"{len(failures)} checks failed.")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
