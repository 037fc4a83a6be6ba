"""The signature block of the session record (调解笔录): a line for every party, the mediators and the recorder.

A record of what was said binds only those who read and signed it, so each party signs its
own line — a worker in person (or the agent who attended for them), a firm by its seal with
its legal representative or agent signing beside it (被申请人（盖章）, 法定代表人或委托代理人（签名）);
then each mediator and the recorder. A collective case has many parties: the workers' lines are
laid out two to a row so that the block stays short.

Works on the plain party values of ``context.parties_of`` (rendering stays pure).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _

#: More party lines than this are laid out two to a row (as is every collective case).
COMPACT_AFTER = 6


@dataclass(frozen=True)
class Line:
    label: str  # 申请人（签名）, 被申请人（盖章）, 法定代表人或委托代理人（签名）
    name: str = ""  # printed on the line: whose line it is
    note: str = ""  # 或委托代理人李四


@dataclass(frozen=True)
class Block:
    #: Persons' lines two to a row (a compact block only; None pads an odd row).
    pairs: list[tuple[Line, Line | None]]
    #: Lines of their own row, each with a date: every party's when not compact, else the firms'.
    lines: list[Line]

    @property
    def compact(self) -> bool:
        return bool(self.pairs)


def _party_lines(party: dict[str, Any]) -> list[Line]:
    agents = "、".join(a["name"] for a in party.get("agents", ()))
    note = _("或委托代理人%(names)s") % {"names": agents} if agents else ""
    if party["is_person"]:
        return [Line(_("%(role)s（签名）") % {"role": party["role"]}, party["name"], note)]
    return [Line(_("%(role)s（盖章）") % {"role": party["role"]}, party["name"]),
            Line(_("法定代表人或委托代理人（签名）"), "", note)]


def session_signature_block(parties: list[dict[str, Any]], *, collective: bool = False) -> Block:
    """Every principal party's lines, in the parties' (statutory) order; agents sign on their party's line."""
    principals = [p for p in parties if p.get("role_code") != "agent"]
    per_party = [_party_lines(p) for p in principals]
    count = sum(len(lines) for lines in per_party)
    if not (collective or count > COMPACT_AFTER):
        return Block([], [line for lines in per_party for line in lines])
    people = [lines[0] for lines in per_party if len(lines) == 1]
    pairs = [(people[i], people[i + 1] if i + 1 < len(people) else None) for i in range(0, len(people), 2)]
    # A firm's seal and its signatory keep full rows: their labels are long and the name of a firm is too.
    return Block(pairs, [line for lines in per_party if len(lines) > 1 for line in lines])


def agreement_signature_lines(signers: list[dict[str, Any]]) -> list[Line]:
    """The blank lines of an agreement's signing version (劳动争议调解仲裁法 art. 14), one party after another.

    ``signers`` are the parties whose signature or seal the agreement needs (``services.agreement_signers``,
    as ``context._agreement`` lists them): the lines are those of the session record — a worker signs, a
    firm seals with its legal representative or agent signing beside it — except that an elected
    representative signs for all applicants (art. 7).
    """
    lines: list[Line] = []
    for signer in signers:
        party_lines = _party_lines(signer)
        if signer.get("for_all"):
            first = party_lines[0]
            party_lines[0] = Line(_("申请人代表（代表全体申请人）（签名）"), first.name, first.note)
        lines += party_lines
    return lines
