"""The state diagram and the permissions matrix in docs/ are generated from the code and current."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from mediation.management.commands.draw_states import BEGIN_MARKER, END_MARKER
from mediation.models import Role
from mediation.permissions import ACTION_PERMISSIONS, ROLE_PERMISSIONS
from workflows.machine import TRANSITION_NAMES, custom, graph
from workflows.states import CaseState

DOCS = Path(settings.BASE_DIR) / "docs"


def _edges_of_graph() -> set[tuple[str, str]]:
    return {(source, target) for _name, source, targets in graph() for target in targets}


def test_the_committed_docs_are_current():
    call_command("draw_states", "--check")


def test_check_fails_when_a_generated_file_is_stale(tmp_path):
    call_command("draw_states", "--docs-dir", str(tmp_path))
    call_command("draw_states", "--check", "--docs-dir", str(tmp_path))
    states = tmp_path / "states.md"
    states.write_text(states.read_text(encoding="utf-8").replace("受理", "收案"), encoding="utf-8")

    with pytest.raises(CommandError, match="states.md"):
        call_command("draw_states", "--check", "--docs-dir", str(tmp_path))


def test_check_fails_when_the_permissions_matrix_is_stale(tmp_path):
    call_command("draw_states", "--docs-dir", str(tmp_path))
    doc = tmp_path / "permissions.md"
    doc.write_text(doc.read_text(encoding="utf-8").replace("| `close` | 结案 | `close_case` | — | ✓ |",
                                                           "| `close` | 结案 | `close_case` | ✓ | ✓ |"),
                   encoding="utf-8")

    with pytest.raises(CommandError, match="permissions.md"):
        call_command("draw_states", "--check", "--docs-dir", str(tmp_path))


def test_the_hand_written_permissions_prose_is_kept(tmp_path):
    (tmp_path / "permissions.md").write_text(
        f"# 权限\n\n手写的说明。\n\n{BEGIN_MARKER}\n旧表格\n{END_MARKER}\n\n结尾说明。\n", encoding="utf-8")

    call_command("draw_states", "--docs-dir", str(tmp_path))

    text = (tmp_path / "permissions.md").read_text(encoding="utf-8")
    assert text.startswith("# 权限\n\n手写的说明。\n\n")
    assert text.endswith(f"{END_MARKER}\n\n结尾说明。\n")
    assert "旧表格" not in text
    assert "| `approve_escalation` | 批准提级 | `decide_escalation` | — | ✓ | — | — |" in text


def test_the_dot_file_draws_every_edge_of_the_graph_and_nothing_else():
    text = (DOCS / "states.dot").read_text(encoding="utf-8")
    drawn = set(re.findall(r"^\s+(\w+) -> (\w+) \[", text, flags=re.M))

    assert drawn == _edges_of_graph()


def test_the_mermaid_diagram_draws_every_edge_and_labels_every_state_in_chinese():
    text = (DOCS / "states.md").read_text(encoding="utf-8")
    block = text.split("```mermaid\n", 1)[1].split("```", 1)[0]
    drawn = {(a, b) for a, b in re.findall(r"^\s+(\w+) --> (\w+) :", block, flags=re.M)}

    assert block.startswith("stateDiagram-v2\n")
    assert drawn == _edges_of_graph()
    for state in CaseState:
        assert f'state "{state.label}" as {state.value}' in block


def test_computed_targets_are_drawn_to_every_allowed_state_and_say_how():
    block = (DOCS / "states.md").read_text(encoding="utf-8")
    for target, label in [("self_resolution", "企业自主化解"), ("joint_mediation", "联合调解"),
                          ("linked_mediation", "调裁诉联动")]:
        assert f"registered --> {target} : 受理（按承办组织所属防线" in block
        assert f"escalation_pending --> {target} : 批准提级（按提级目标组织所属防线" in block
        assert f"escalation_pending --> {target} : 不予提级（返回申请提级前的状态：{label}）" in block
    assert "closed --> performed : 重新开启（返回结案前的状态：已履行）" in block


def test_every_transition_is_in_the_table_once():
    text = (DOCS / "states.md").read_text(encoding="utf-8")
    for name in TRANSITION_NAMES:
        assert len(re.findall(rf"^\| `{name}` \|", text, flags=re.M)) == 1


@pytest.mark.parametrize("name", TRANSITION_NAMES)
def test_supervisor_only_metadata_agrees_with_the_default_role_permissions(name):
    codename = ACTION_PERMISSIONS[name]

    mediator_may = codename in ROLE_PERMISSIONS[Role.MEDIATOR]
    supervisor_may = codename in ROLE_PERMISSIONS[Role.SUPERVISOR]

    assert supervisor_may
    assert custom(name)["supervisor_only"] is (not mediator_may)
