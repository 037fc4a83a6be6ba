from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from notifications.sms import LocmemSmsBackend
from tests.factories import valid_credit_code, valid_id_number

#: The smallest PNG: eight signature bytes and an IHDR chunk are what the type sniffer reads.
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4"
       b"\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")


@pytest.fixture(autouse=True)
def _portal(settings, tmp_path):
    """Fresh throttle counters, an SMS outbox and a file store of its own for every test (what a
    test finds stored is what it stored, whatever ran before it)."""
    settings.SMS_BACKEND = "notifications.sms.LocmemSmsBackend"
    settings.MEDIA_ROOT = tmp_path / "media"
    cache.clear()
    LocmemSmsBackend.outbox.clear()
    yield
    cache.clear()
    LocmemSmsBackend.outbox.clear()


def application(**overrides: Any) -> dict[str, Any]:
    """What a worker fills in on the application page."""
    data: dict[str, Any] = {
        "name": "李小红", "id_number": valid_id_number(), "phone": "13805741234", "sex": "F",
        "employer_name": "宁波市奉化区某服装有限公司", "credit_code": valid_credit_code(),
        "employer_address": "宁波市奉化区锦屏街道南山路1号", "township": "",
        "dispute_summary": "公司拖欠2026年9月至10月工资", "categories": ["wages"],
        "claim_0_description": "支付拖欠工资", "claim_0_amount": "9600",
        "claim_1_description": "", "claim_1_amount": "", "claim_2_description": "", "claim_2_amount": "",
    }
    data.update(overrides)
    return data


def png(name: str = "工资条.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, content_type="image/png")


def text_file(name: str = "说明.png") -> SimpleUploadedFile:
    """Plain text under an image's name: the content decides the type."""
    return SimpleUploadedFile(name, "这不是图片".encode(), content_type="image/png")


def apply(client: Client, **overrides: Any):
    return client.post(reverse("portal:apply"), application(**overrides))


def submitted(client: Client, **overrides: Any) -> tuple[Any, str]:
    """Apply, and read the case and the access code from the page shown once."""
    from mediation.models import Case

    response = apply(client, **overrides)
    assert response.status_code == 302, response.content.decode()[:2000]
    page = client.get(reverse("portal:apply_done")).content.decode()
    code = page.split('id="access-code" class="code">')[1].split("<")[0]
    number = page.split('id="case-number">')[1].split("<")[0]
    return Case.objects.get(number=number), code
