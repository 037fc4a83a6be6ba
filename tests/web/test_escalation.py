"""Escalation without dead ends, through the web (issue 10 §4): cancelling one's own request,
who may decide, the losing decision, and the applicant's withdrawal kept apart from them."""
from __future__ import annotations

from django.urls import reverse

from tests.factories import member, register
from tests.lifecycle import case_in_state, snapshot
from workflows.states import CaseState as S

CANCEL = "撤回提级申请"


def transition(case, name):
    return reverse("case_transition", args=[case.pk, name])


class TestCancelOwnRequest:
    def test_the_requester_sees_the_cancel_action_and_takes_the_request_back(self, world, client):
        case = case_in_state(world, S.ESCALATION_PENDING)  # asked by the enterprise mediator
        client.force_login(world.enterprise_mediator)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        assert CANCEL in page and transition(case, "cancel_escalation") in page
        response = client.post(transition(case, "cancel_escalation"),
                               {"reason": "企业同意继续协商", "expected_state": S.ESCALATION_PENDING})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == S.SELF_RESOLUTION
        request = case.escalations.get()
        assert (request.decision, request.decided_by) == ("cancelled", world.enterprise_mediator)

    def test_another_mediator_of_the_same_committee_neither_sees_nor_may_cancel_it(self, world, client):
        """Only the requester takes a request back (a colleague would undo someone else's decision): 403."""
        case = case_in_state(world, S.ESCALATION_PENDING)
        colleague = member(world.enterprise_a, "mediator")
        client.force_login(colleague)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        assert transition(case, "cancel_escalation") not in page and CANCEL not in page
        before = snapshot(case)
        response = client.post(transition(case, "cancel_escalation"),
                               {"reason": "撤回", "expected_state": S.ESCALATION_PENDING})
        assert response.status_code == 403
        assert snapshot(case) == before

    def test_a_blank_reason_is_refused_and_changes_nothing(self, world, client):
        case = case_in_state(world, S.ESCALATION_PENDING)
        client.force_login(world.enterprise_mediator)
        before = snapshot(case)
        response = client.post(transition(case, "cancel_escalation"),
                               {"reason": " ", "expected_state": S.ESCALATION_PENDING})
        assert response.status_code == 400
        assert snapshot(case) == before


class TestNoDeadEnd:
    def test_a_target_only_the_requester_could_decide_is_marked_and_refused(self, world, client):
        """Issue 10 §4: the district supervisor, the district centre's only supervisor, is told on the
        form and refused on submitting (400, the reason, nothing changed)."""
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.district_supervisor)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        assert f"{world.district.name}（除您之外无人可以审批）" in page
        before = snapshot(case)
        response = client.post(transition(case, "request_escalation"),
                               {"to_organisation": world.district.pk, "reason": "需区级联动",
                                "expected_state": S.JOINT_MEDIATION})
        assert response.status_code == 400
        assert "除您之外没有可以审批的负责人" in response.content.decode()
        assert snapshot(case) == before

    def test_for_the_townships_mediator_the_same_target_is_open(self, world, client):
        case = case_in_state(world, S.JOINT_MEDIATION)
        client.force_login(world.mediator_a)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        assert world.district.name in page and "除您之外无人可以审批" not in page


def name(user):
    return user.get_full_name() or user.username


class TestWhoCanDecide:
    def test_the_pending_case_names_those_who_may_decide_it(self, world, client):
        """Issue 10 §4: a request into 锦屏 is decided by 锦屏's supervisor or the district's (DOMAIN.md §5),
        never by its requester; the case page says who they are, to everyone who reads it."""
        case = case_in_state(world, S.ESCALATION_PENDING)
        client.force_login(world.enterprise_mediator)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        notice = page[page.index("等待审批"):]
        notice = notice[:notice.index("</p>")]
        assert "可以审批" in notice
        assert name(world.supervisor_a) in notice and name(world.district_supervisor) in notice
        assert name(world.enterprise_supervisor) not in notice  # below the target: cannot decide

    def test_the_requester_is_not_among_the_deciders_shown(self, world, client):
        case = case_in_state(world, S.JOINT_MEDIATION)
        from workflows import services as ws

        ws.escalation_request(case_id=case.pk, actor=world.supervisor_a, to_organisation_id=world.district.pk,
                              reason="涉及多家企业")
        client.force_login(world.supervisor_a)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        notice = page[page.index("等待审批"):]
        notice = notice[:notice.index("</p>")]
        assert name(world.district_supervisor) in notice and name(world.supervisor_a) not in notice

    def test_the_escalation_queue_names_the_deciders_of_each_request(self, world, client):
        case_in_state(world, S.ESCALATION_PENDING)
        colleague = member(world.town_a, "supervisor")
        client.force_login(colleague)
        page = client.get(reverse("escalation_queue")).content.decode()
        deciders = page[page.index("可以审批"):]
        deciders = deciders[:deciders.index("</dd>")]
        for user in (world.supervisor_a, colleague, world.district_supervisor):
            assert name(user) in deciders
        assert name(world.enterprise_mediator) not in deciders and name(world.mediator_a) not in deciders


class TestLateDecision:
    def test_the_second_supervisor_is_told_who_approved_and_when(self, world, client):
        """Issue 10 §4: the page answers a late decision with who decided and when, nothing changed."""
        from django.utils import timezone

        from workflows import services as ws

        case = case_in_state(world, S.ESCALATION_PENDING)
        ws.escalation_approve(case_id=case.pk, actor=world.supervisor_a, reason="同意")
        when = timezone.localtime(case.escalations.get().decided_at).strftime("%Y-%m-%d %H:%M")
        before = snapshot(case)
        client.force_login(world.district_supervisor)
        response = client.post(transition(case, "approve_escalation"), {"reason": "同意"}, follow=True)
        assert response.status_code == 200
        body = response.content.decode()
        assert f"该提级申请已由 {name(world.supervisor_a)} 于 {when} 批准，无需再审批。" in body
        assert snapshot(case) == before


WITHDRAW = "申请人撤回调解申请"


class TestApplicantsWithdrawal:
    def test_while_a_request_waits_withdrawal_is_neither_first_nor_opened(self, world, client):
        """Issue 10 §4: the requester's page offers 撤回提级申请 first; the applicant's withdrawal, which
        ends the case, comes after it, closed, clearly labelled, with its confirmation box."""
        case = case_in_state(world, S.ESCALATION_PENDING)
        client.force_login(world.enterprise_mediator)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        panel = page[page.index('id="h-actions"'):]
        panel = panel[:panel.index("</section>")]
        assert panel.index(CANCEL) < panel.index(WITHDRAW)
        withdraw = panel[panel.rindex("<details", 0, panel.index(WITHDRAW)):panel.index(WITHDRAW)]
        assert " open" not in withdraw
        assert "申请人已书面或口头明确撤回调解申请" in panel

    def test_a_lone_withdrawal_is_not_opened_by_default_either(self, world, client):
        """A registered case seen by someone who may only withdraw: still closed until asked for."""
        from tests.factories import register

        case = register(world.mediator_a, world.town_a)
        client.force_login(world.mediator_a)
        page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
        panel = page[page.index('id="h-actions"'):]
        panel = panel[:panel.index("</section>")]
        assert WITHDRAW in panel
        for start in [i for i in range(len(panel)) if panel.startswith("<details", i)]:
            details = panel[start:panel.index("</summary>", start)]
            if WITHDRAW in details:
                assert " open" not in details

    def test_withdrawal_without_the_confirmation_changes_nothing(self, world, client):
        case = case_in_state(world, S.ESCALATION_PENDING)
        client.force_login(world.enterprise_mediator)
        before = snapshot(case)
        response = client.post(transition(case, "withdraw"),
                               {"reason": "申请人电话表示撤回", "expected_state": S.ESCALATION_PENDING})
        assert response.status_code == 400
        assert "请确认申请人已明确撤回调解申请" in response.content.decode()
        assert snapshot(case) == before
        assert case.escalations.get().decision == "pending"

    def test_confirmed_withdrawal_ends_the_case_and_cancels_the_request(self, world, client):
        case = case_in_state(world, S.ESCALATION_PENDING)
        client.force_login(world.enterprise_mediator)
        response = client.post(transition(case, "withdraw"),
                               {"reason": "申请人12月3日书面申请撤回", "applicant_withdrew": "on",
                                "expected_state": S.ESCALATION_PENDING})
        assert response.status_code == 302
        case.refresh_from_db()
        assert case.state == S.WITHDRAWN
        assert case.escalations.get().decision == "cancelled"


def test_the_top_of_the_tree_offers_no_escalation_and_says_what_comes_next(world, client):
    """Escalation moves a case to an organisation higher in the tree (DOMAIN.md §2): the district
    centre has none above it. Its case page shows 申请提级 disabled with the reason, the move
    itself is refused, and nothing changes."""
    from workflows import services as ws
    from workflows.errors import ActionNotAllowed

    case = ws.case_accept(case_id=register(world.district_mediator, world.district).pk,
                          actor=world.district_mediator)
    assert case.state == S.LINKED_MEDIATION
    client.force_login(world.district_supervisor)
    page = client.get(reverse("case_detail", args=[case.pk])).content.decode()
    assert "本组织已是最高一级调解组织，不能再提级" in page
    try:
        ws.escalation_request(case_id=case.pk, actor=world.district_supervisor, to_organisation_id=world.district.pk,
                              reason="涉及金额较大")
    except ActionNotAllowed as refused:
        assert "最高一级" in str(refused)
    else:
        raise AssertionError("escalation from the top of the tree was accepted")
    case.refresh_from_db()
    assert case.state == S.LINKED_MEDIATION and not case.escalations.exists()
