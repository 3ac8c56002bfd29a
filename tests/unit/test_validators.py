import csv
from pathlib import Path

import pytest

from marketplace.core.validators import (
    patent_check_char,
    split_list,
    uscc_check_char,
    validate_patent_number,
    validate_phone,
    validate_uscc,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"


# Real codes of well-known companies (Huawei, Alibaba China, Xiaomi), from public registers.
@pytest.mark.parametrize("code", ["914403001922038216", "91330100716105852F", "91110108551385082Q"])
def test_real_credit_codes_are_valid(code):
    assert validate_uscc(code) == code


def test_credit_code_is_normalised_from_lower_case_and_full_width():
    assert validate_uscc(" ９１３３０１００７１６１０５８５２ｆ ") == "91330100716105852F"


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("914403001922038217", "校验位错误：第18位应为 6"),
        ("91440300192203821", "应为18位"),
        ("9144030019220382I6", "不允许的字符：I"),
        ("", "应为18位，当前为0位"),
    ],
)
def test_bad_credit_codes_are_refused_in_chinese(code, message):
    with pytest.raises(ValueError, match=message):
        validate_uscc(code)


def test_credit_code_check_character_round_trips():
    assert uscc_check_char("91110108551385082") == "Q"


# The check digit example given in CNIPA's documentation of the 2003 numbering.
@pytest.mark.parametrize(
    ("raw", "normalised"),
    [
        ("ZL201720001285.X", "ZL201720001285.X"),
        ("201720001285X", "ZL201720001285.X"),
        ("200310102344.5", "ZL200310102344.5"),
        ("CN 200310102344.5", "ZL200310102344.5"),
        ("ＺＬ２０１７２０００１２８５．Ｘ", "ZL201720001285.X"),
        ("zl201720001285.x", "ZL201720001285.X"),
        ("98123456.9", "ZL98123456.9"),
        ("CN114081026A", "CN114081026A"),
        ("CN215792497U", "CN215792497U"),
    ],
)
def test_patent_numbers_are_normalised(raw, normalised):
    assert validate_patent_number(raw) == normalised


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("ZL201720001285.1", "校验位错误：应为 X"),
        ("200310102344.6", "校验位错误：应为 5"),
        ("201750001285.X", "类型位“5”无效"),
        ("ZL2017200012", "格式不正确"),
        ("专利号", "格式不正确"),
        ("", "不能为空"),
    ],
)
def test_bad_patent_numbers_are_refused_in_chinese(raw, message):
    with pytest.raises(ValueError, match=message):
        validate_patent_number(raw)


def test_check_digit_ten_is_written_x():
    assert patent_check_char("201720001285") == "X"


@pytest.mark.skipif(not (SHARED / "patents").exists(), reason="shared/data not beside the repository")
def test_every_real_publication_number_in_the_shared_data_is_accepted():
    with (SHARED / "patents" / "cn_patent_titles_ipc.tsv").open(encoding="utf-8") as handle:
        numbers = [row["publication_number"] for row in csv.DictReader(handle, delimiter="\t")]
    assert len(numbers) > 9000
    refused = []
    for number in numbers:
        try:
            validate_patent_number(number)
        except ValueError:
            refused.append(number)
    assert refused == []


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("机器视觉；尺寸测量", ["机器视觉", "尺寸测量"]),
        ("a, b，c、d;e  f", ["a", "b", "c", "d", "e", "f"]),
        (["氢冶金", " 氢冶金 ", "", "高强钢"], ["氢冶金", "高强钢"]),
        (None, []),
    ],
)
def test_split_list(raw, expected):
    assert split_list(raw) == expected


@pytest.mark.parametrize("phone", ["13800138000", "0633-8888888", "+86 13800138000", "400-800-8888"])
def test_valid_phones(phone):
    assert validate_phone(phone)


def test_bad_phone_message():
    with pytest.raises(ValueError, match="电话号码格式不正确"):
        validate_phone("12345")
