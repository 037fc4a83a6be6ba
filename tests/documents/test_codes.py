from __future__ import annotations

from mediation.documents.codes import ALPHABET, PRINTED_CODE, format_code, new_code, normalize_code


def test_codes_are_sixteen_crockford_characters_and_do_not_repeat():
    codes = {new_code() for _ in range(2000)}
    assert len(codes) == 2000
    assert all(len(c) == 16 and set(c) <= set(ALPHABET) for c in codes)


def test_a_typed_code_is_read_back_whatever_its_case_separators_and_look_alikes():
    code = "7KQ2M9XD4HRT0BWC"
    assert normalize_code(format_code(code)) == code
    assert normalize_code(" 7kq2-m9xd 4hrt-obwc ") == code  # o for 0, spaces, lower case
    assert normalize_code("1111-2222-3333-4444") == normalize_code("IIII-2222-3333-LLLL".replace("LLLL", "4444"))


def test_something_that_cannot_be_a_code_is_refused():
    assert normalize_code("") is None
    assert normalize_code("7KQ2-M9XD") is None
    assert normalize_code("7KQ2-M9XD-4HRT-0BWU") is None  # U is not in the alphabet
    assert normalize_code("<script>alert(1)</script>") is None


def test_the_printed_form_is_found_in_text():
    found = PRINTED_CODE.search("验证码 7KQ2-M9XD-4HRT-0BWC 扫描")
    assert found is not None and found.group(0) == "7KQ2-M9XD-4HRT-0BWC"
