"""Realistic fake data for demos and benchmarks. Pure Python: no database access.

Every generator takes a ``random.Random`` so a seed reproduces the data. Identity
numbers are valid by construction and checked with python-stdnum, which also checks
that the region code of a resident ID was in force in the year of birth.
"""
from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

from stdnum.cn import ric, uscc

# --------------------------------------------------------------------------- names

# Common surnames, roughly by frequency (the first ones repeat to weigh them).
SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
    "任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武"
    "戴莫孔向汤应竺邬鲍舒柴"  # 应、竺、邬 are common in Fenghua
)
_SURNAME_WEIGHTS = [max(1.0, 12 - i * 0.15) for i in range(len(SURNAMES))]
MALE_GIVEN = "伟强磊军勇杰涛斌波辉刚明超亮健峰建华国平海东志鹏飞俊浩宇晨阳林彬锋旭龙成新文斌德全永"
FEMALE_GIVEN = "芳娜敏静丽艳娟霞燕玲萍红梅琳洁婷雪慧颖倩琴英秀兰凤云佳怡欣悦晓月丹露莉"


def person_name(rng: random.Random, sex: str) -> str:
    surname = rng.choices(SURNAMES, weights=_SURNAME_WEIGHTS)[0]
    pool = MALE_GIVEN if sex == "M" else FEMALE_GIVEN
    given = rng.choice(pool) if rng.random() < 0.3 else rng.choice(pool) + rng.choice(pool)
    return surname + given


_MOBILE_PREFIXES = ("133", "135", "136", "137", "138", "139", "150", "151", "152", "153", "157", "158",
                    "159", "177", "180", "181", "186", "187", "188", "189", "198", "199")


def mobile(rng: random.Random) -> str:
    return rng.choice(_MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}"


def landline(rng: random.Random) -> str:
    return f"0574-88{rng.randrange(10**6):06d}"


# ------------------------------------------------------------- resident ID numbers

#: Birth-place counties: Fenghua itself, the rest of Ningbo, and the provinces most
#: migrant workers in Ningbo come from. (code, weight)
_BIRTH_COUNTIES = (
    ("330283", 20), ("330224", 4), ("330213", 2), ("330226", 5), ("330225", 4), ("330203", 3),
    ("330281", 3), ("330282", 3), ("411525", 5), ("412726", 4), ("411526", 3), ("341221", 4),
    ("342222", 3), ("510823", 4), ("511381", 3), ("522127", 3), ("520221", 3), ("362131", 3),
    ("431021", 2), ("421127", 2), ("450881", 2), ("532128", 3), ("622421", 2),
)
WORKER_BIRTH_YEARS = (1966, 2006)  # aged about 20 to 60


@lru_cache(maxsize=None)
def _county_years(code: str) -> tuple[tuple[int, int], ...]:
    """The birth years for which stdnum accepts this region code (its data says when it was in force)."""
    from stdnum import numdb

    info = {k: v for _part, props in numdb.get("cn/loc").info(code) for k, v in props.items()}
    spans = []
    for county in info.get("county", "").split(","):
        if not county:
            continue
        if not county.startswith("["):
            spans.append((1900, 2100))
            continue
        start, end = county[1:].split("]")[0].split("-")
        spans.append((int(start) if start else 1900, int(end) if end else 2100))
    return tuple(spans)


@lru_cache(maxsize=None)
def _birth_windows() -> tuple[tuple[str, int, int, int], ...]:
    """(code, first year, last year, weight) for each county usable for a worker's birth year."""
    lo, hi = WORKER_BIRTH_YEARS
    windows = []
    for code, weight in _BIRTH_COUNTIES:
        for start, end in _county_years(code):
            a, b = max(start, lo), min(end, hi)
            if a <= b:
                windows.append((code, a, b, weight))
    return tuple(windows)


def resident_id(rng: random.Random, sex: str, *, region: str | None = None,
                birth: datetime.date | None = None) -> str:
    """An 18-digit resident ID with a valid check digit; the 17th digit's parity is the sex."""
    if region is None or birth is None:
        windows = _birth_windows()
        code, first, last, _w = rng.choices(windows, weights=[w[3] for w in windows])[0]
        region = region or code
        if birth is None:
            start = datetime.date(first, 1, 1)
            birth = start + datetime.timedelta(days=rng.randrange((datetime.date(last, 12, 31) - start).days + 1))
    seq = rng.randrange(0, 500) * 2 + (1 if sex == "M" else 0)  # odd: male, even: female
    body = f"{region}{birth:%Y%m%d}{seq:03d}"
    return body + ric.calc_check_digit(body + "0")  # stdnum ignores the last character given


def sex_of_id(number: str) -> str:
    return "M" if int(number[16]) % 2 else "F"


class UniqueIds:
    """Resident IDs and credit codes never handed out twice (``taken`` seeds it from the database)."""

    def __init__(self, rng: random.Random, taken_ids=(), taken_codes=()) -> None:
        self.rng = rng
        self.ids: set[str] = set(i for i in taken_ids if i)
        self.codes: set[str] = set(c for c in taken_codes if c)

    def resident_id(self, sex: str) -> str:
        while True:
            number = resident_id(self.rng, sex)
            if number not in self.ids:
                self.ids.add(number)
                return number

    def credit_code(self, region: str = "330283", kind: str = "91") -> str:
        while True:
            code = credit_code(self.rng, region, kind)
            if code not in self.codes:
                self.codes.add(code)
                return code


# ------------------------------------------------------- unified social credit codes

_ORG_CODE_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"  # what the USCC allows (no I O S V Z)
_ORG_WEIGHTS = (3, 7, 9, 10, 5, 8, 4, 2)


def _org_code_check(body8: str) -> str:
    """GB 11714 check character of the embedded organisation code."""
    total = sum((int(c) if c.isdigit() else ord(c) - 55) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    check = 11 - total % 11
    return "X" if check == 10 else "0" if check == 11 else str(check)


def credit_code(rng: random.Random, region: str = "330283", kind: str = "91") -> str:
    """A GB 32100 code: registering authority and entity type (``91`` a company, ``92`` an individual
    business), region, organisation code with its GB 11714 check character, then the check character."""
    tail = "".join(rng.choice(_ORG_CODE_ALPHABET) for _ in range(5))
    org8 = "MA2" + tail if rng.random() < 0.7 else f"{rng.randrange(10**8):08d}"
    body = f"{kind}{region}{org8}{_org_code_check(org8)}"
    code = body + uscc.calc_check_digit(body)
    uscc.validate(code)
    return code


# ------------------------------------------------------------------ places, firms

TOWNSHIPS = ("锦屏街道", "岳林街道", "江口街道", "西坞街道", "萧王庙街道", "溪口镇", "莼湖街道", "尚田街道",
             "大堰镇", "松岙镇", "裘村镇")
ROADS = ("中山路", "南山路", "大成路", "长汀路", "东环路", "西环路", "金海路", "汇盛路", "广平路", "阳光路",
         "惠政路", "岳林东路", "茗山路", "聚潮路", "开元路", "四明路", "武岭路", "滨海大道")
VILLAGES = ("萧王庙村", "南岙村", "大埠村", "东岙村", "西坞村", "畸山村", "马头村", "董家村", "中塔村", "桐照村")


def address(rng: random.Random) -> str:
    if rng.random() < 0.35:
        return f"浙江省宁波市奉化区{rng.choice(TOWNSHIPS)}{rng.choice(VILLAGES)}{rng.randint(1, 300)}号"
    return f"浙江省宁波市奉化区{rng.choice(TOWNSHIPS)}{rng.choice(ROADS)}{rng.randint(1, 999)}号"


BRANDS = ("甬达", "吉盛", "亚德", "恒泰", "华翔", "金海", "博洋", "天工", "东方", "锦程", "佳乐", "瑞丰", "新力",
          "宏达", "永盛", "明辉", "银球", "友邦", "海诚", "万盛", "鑫源", "凯越", "远景", "汇丰源", "嘉和",
          "长城", "联盛", "大成", "中元", "宁兴", "弘毅", "三星", "欧亚", "立信", "恒远", "雪窦", "弥勒",
          "锦溪", "岳林", "剡江", "四明", "南山", "滨海", "溪口", "亭下", "桃源", "水蜜桃", "千层饼", "芋艿头")
#: (name part, industry, typical monthly wage range in yuan, typical jobs)
INDUSTRIES = (
    ("机械", "通用设备制造业", (5000, 9000), ("数控车工", "装配工", "焊工", "质检员")),
    ("气动元件", "通用设备制造业", (5000, 8500), ("装配工", "数控操作工", "仓管员")),
    ("汽车部件", "汽车制造业", (5500, 9500), ("冲压工", "喷涂工", "装配工")),
    ("服饰", "纺织服装、服饰业", (4500, 7500), ("缝纫工", "裁剪工", "整烫工", "质检员")),
    ("纺织", "纺织业", (4500, 7000), ("挡车工", "整经工", "仓管员")),
    ("电器", "电气机械和器材制造业", (5000, 8500), ("装配工", "调试员", "包装工")),
    ("塑料制品", "橡胶和塑料制品业", (4800, 7500), ("注塑工", "包装工")),
    ("五金制品", "金属制品业", (4800, 8000), ("冲床工", "抛光工", "焊工")),
    ("模具", "专用设备制造业", (6000, 11000), ("模具钳工", "CNC操作工")),
    ("建设工程", "房屋建筑业", (6000, 12000), ("木工", "钢筋工", "泥水工", "杂工")),
    ("物业管理", "房地产业", (3500, 5500), ("保安", "保洁员", "维修工")),
    ("餐饮管理", "餐饮业", (4000, 6500), ("厨师", "服务员", "洗碗工")),
    ("酒店管理", "住宿业", (4000, 6500), ("前台", "客房服务员", "厨师")),
    ("物流", "道路运输业", (5500, 9000), ("货车司机", "分拣员", "装卸工")),
    ("电子科技", "计算机、通信和其他电子设备制造业", (5000, 9000), ("贴片操作员", "测试员")),
    ("食品", "食品制造业", (4500, 7000), ("包装工", "操作工", "仓管员")),
    ("旅游开发", "公共设施管理业", (4000, 7000), ("导游", "检票员", "保洁员")),
    ("园林绿化工程", "土木工程建筑业", (4500, 7000), ("绿化工", "养护工")),
    ("文具", "文教、工美、体育和娱乐用品制造业", (4500, 7500), ("注塑工", "装配工", "包装工")),
)
LEGAL_FORMS = ("有限公司", "有限公司", "有限公司", "股份有限公司", "有限责任公司")


@dataclass(frozen=True)
class FakeEmployer:
    name: str
    credit_code: str
    legal_representative: str
    address: str
    phone: str
    industry: str
    wage_range: tuple[int, int]
    jobs: tuple[str, ...]
    has_union: bool
    has_mediation_committee: bool
    is_platform: bool = False


def employer(rng: random.Random, ids: UniqueIds, used_names: set[str] | None = None) -> FakeEmployer:
    used = used_names if used_names is not None else set()
    while True:
        part, industry, wages, jobs = rng.choice(INDUSTRIES)
        brand = rng.choice(BRANDS)
        prefix = rng.choice(("宁波", "宁波", "宁波奉化", "宁波市奉化区"))
        name = f"{prefix}{brand}{part}{rng.choice(LEGAL_FORMS)}"
        if name not in used:
            used.add(name)
            break
    big = rng.random() < 0.35
    return FakeEmployer(
        name=name, credit_code=ids.credit_code(rng.choice(("330283", "330283", "330213"))),
        legal_representative=person_name(rng, rng.choice("MMMF")), address=address(rng), phone=landline(rng),
        industry=industry, wage_range=wages, jobs=jobs, has_union=big or rng.random() < 0.3,
        has_mediation_committee=big and rng.random() < 0.7)


#: Platforms and labour contractors of new-employment-form workers (fictional names).
PLATFORMS = (
    ("宁波鲸跑网络科技有限公司", "delivery", "互联网平台", ("外卖骑手",)),
    ("宁波甬送即时配送服务有限公司", "delivery", "即时配送", ("外卖骑手", "跑腿骑手")),
    ("宁波快达通速递有限公司", "courier", "快递服务", ("快递员",)),
    ("宁波途易出行科技有限公司", "ride_hailing", "网约车平台", ("网约车司机",)),
    ("宁波星河文化传媒有限公司", "live_streaming", "互联网直播", ("带货主播",)),
)
#: Delivery stations: the contractor the rider actually works with (the respondent).
STATION_NAMES = ("宁波奉化区锦屏速达配送站", "宁波奉化区岳林众包配送服务部", "宁波奉化区溪口闪送配送站",
                 "宁波奉化区江口骑士配送服务部")


# ---------------------------------------------------------------------- claims

@dataclass(frozen=True)
class FakeClaim:
    category: str
    description: str
    amount: Decimal


def _yuan(value: float, step: int = 10) -> Decimal:
    return Decimal(int(round(value / step)) * step).quantize(Decimal("0.01"))


def _unpaid_period(months: int, received: datetime.date) -> str:
    """The ``months`` calendar months before the one ``received`` falls in, as a claim states them."""
    end_month = (received.replace(day=1) - datetime.timedelta(days=1))
    start_month = end_month
    for _ in range(months - 1):
        start_month = (start_month.replace(day=1) - datetime.timedelta(days=1))
    return (f"{end_month.year}年{end_month.month}月" if months == 1 else
            f"{start_month.year}年{start_month.month}月至{end_month.year}年{end_month.month}月")


def claims_for(rng: random.Random, wage: int, *, received: datetime.date, kind: str) -> list[FakeClaim]:
    """One to three claims, in the categories of the dispute ``kind``."""
    months = rng.randint(1, 6)
    period = _unpaid_period(months, received)
    years = rng.randint(1, 12)
    out: list[FakeClaim] = []
    if kind == "wages":
        out.append(FakeClaim("wages", f"支付拖欠的{period}工资", _yuan(wage * months * rng.uniform(0.6, 1.0))))
        if rng.random() < 0.35:
            out.append(FakeClaim("wages", "支付延时加班工资", _yuan(rng.uniform(800, 12000))))
    elif kind == "termination":
        if rng.random() < 0.5:
            out.append(FakeClaim("compensation", f"支付违法解除劳动合同赔偿金（{years}年×2个月）",
                                 _yuan(wage * years * 2)))
        else:
            out.append(FakeClaim("termination", f"支付解除劳动合同经济补偿金（{years}年）", _yuan(wage * years)))
        if rng.random() < 0.4:
            out.append(FakeClaim("wages", "支付代通知金（一个月工资）", _yuan(wage)))
    elif kind == "social_insurance":
        if rng.random() < 0.5:
            out.append(FakeClaim("social_insurance", "支付工伤医疗费、停工留薪期工资", _yuan(rng.uniform(6000, 60000))))
            if rng.random() < 0.5:
                out.append(FakeClaim("social_insurance", "支付一次性伤残就业补助金", _yuan(rng.uniform(10000, 50000))))
        else:
            out.append(FakeClaim("social_insurance", f"补缴{years}年社会保险费或赔偿损失",
                                 _yuan(rng.uniform(3000, 40000))))
    elif kind == "employment_relationship":
        out.append(FakeClaim("employment_relationship", "确认与被申请人之间存在劳动关系", Decimal("0.00")))
        out.append(FakeClaim("compensation", "支付未签订书面劳动合同的二倍工资差额",
                             _yuan(wage * rng.randint(2, 11))))
    elif kind == "hours_leave":
        out.append(FakeClaim("hours_leave", "支付未休年休假工资", _yuan(wage / 21.75 * rng.randint(5, 15) * 2)))
        if rng.random() < 0.5:
            out.append(FakeClaim("wages", "支付休息日加班工资", _yuan(rng.uniform(1000, 9000))))
    else:
        out.append(FakeClaim("other",
                             rng.choice(("退还工作服押金", "退还被扣押的培训费", "出具解除劳动合同证明并办理社保转移")),
                             _yuan(rng.uniform(300, 5000))))
    return out


DISPUTE_KINDS = (("wages", 48), ("termination", 18), ("social_insurance", 12), ("employment_relationship", 8),
                 ("hours_leave", 8), ("other", 6))


def dispute_kind(rng: random.Random) -> str:
    return rng.choices([k for k, _ in DISPUTE_KINDS], weights=[w for _, w in DISPUTE_KINDS])[0]


_KIND_TEXT = {
    "wages": "拖欠工资",
    "termination": "解除劳动合同",
    "social_insurance": "社会保险及工伤待遇",
    "employment_relationship": "确认劳动关系",
    "hours_leave": "加班及年休假",
    "other": "其他劳动权益",
}


def dispute_summary(rng: random.Random, *, names: list[str], employer_name: str, job: str, kind: str,
                    claims: list[FakeClaim], hired: datetime.date) -> str:
    who = names[0] if len(names) == 1 else f"{names[0]}等{len(names)}人"
    total = sum((c.amount for c in claims), Decimal("0"))
    items = "；".join(f"{c.description}{'' if not c.amount else f'{c.amount:,.2f}元'}" for c in claims)
    return (f"申请人{who}于{hired.year}年{hired.month}月入职{employer_name}，从事{job}工作。"
            f"双方因{_KIND_TEXT[kind]}发生争议，经协商未果，申请调解。请求：{items}。"
            + (f"合计{total:,.2f}元。" if total else ""))


REASONS = (
    "被申请人以经营困难为由一再拖延支付。",
    "被申请人未提前通知即口头辞退申请人。",
    "被申请人未为申请人足额缴纳社会保险费。",
    "双方未签订书面劳动合同，被申请人否认存在劳动关系。",
    "申请人多次加班，被申请人未按规定支付加班工资。",
    "申请人工作中受伤，已认定为工伤，被申请人未支付相关待遇。",
)
