"""Tests for portalis.plugins.identity.passwords: policy rules, settings, hashing."""

from __future__ import annotations

import unicodedata
from importlib import resources

import argon2
import pytest

from portalis.plugins.identity.passwords import (
    PasswordHasher,
    PasswordPolicy,
    common_passwords,
    is_common_password,
    normalize_password,
)

GOOD = "Velvet-Otter-42"
DEFAULT = PasswordPolicy()


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher.cheap()


# --- the shipped list ------------------------------------------------------------------


def test_common_password_list_is_packaged_and_complete() -> None:
    res = resources.files("portalis.plugins.identity").joinpath("common_passwords.txt")
    entries = [
        line for line in res.read_text(encoding="utf-8").splitlines() if not line.startswith("#")
    ]
    assert len(entries) == 10_000
    assert entries[:5] == ["password", "123456", "12345678", "1234", "qwerty"]
    assert entries[-1] == "eyphed"
    assert len(common_passwords()) == 10_000
    assert all(e == e.strip() and e for e in entries)


@pytest.mark.parametrize(
    "pw", ["password", "PASSWORD", "PassWord", "qwerty", "letmein", "trustno1", "iloveyou!"]
)
def test_is_common_password_ignores_case(pw: str) -> None:
    assert is_common_password(pw)


@pytest.mark.parametrize("pw", [GOOD, "password-but-longer", "correct horse battery staple"])
def test_uncommon_passwords(pw: str) -> None:
    assert not is_common_password(pw)


# --- defaults -------------------------------------------------------------------------


def test_defaults_match_power_pages() -> None:
    assert DEFAULT.required_length == 8
    assert DEFAULT.required_classes == 3
    assert DEFAULT.max_length == 256
    assert DEFAULT.refuse_common is True


def test_good_password_passes() -> None:
    assert DEFAULT.check(GOOD) == []
    assert DEFAULT.check(GOOD, email="someone@example.com") == []


# --- length -------------------------------------------------------------------------------


def test_too_short() -> None:
    problems = DEFAULT.check("Ab1!xyz")  # 7 chars, 4 classes
    assert problems == ["Password must be at least 8 characters long."]
    assert DEFAULT.check("Ab1!xyzw") == []


def test_64_character_password_is_accepted() -> None:
    pw = ("Tr0ub4dor&3-" * 6)[:64]
    assert len(pw) == 64
    assert DEFAULT.check(pw) == []


def test_200_character_password_is_accepted() -> None:
    pw = ("Long.passphrase 9 " * 12)[:200]
    assert len(pw) == 200
    assert DEFAULT.check(pw) == []


def test_max_length_boundary() -> None:
    assert DEFAULT.check("aA1!" * 64) == []  # 256
    assert DEFAULT.check("aA1!" * 64 + "x") == ["Password must be at most 256 characters long."]


def test_length_counts_code_points_after_nfkc() -> None:
    policy = PasswordPolicy(required_length=8, required_classes=0, refuse_common=False)
    decomposed = "e\u0301" * 4  # four é as e + combining accent: 8 code points, 4 after NFC(K)
    assert len(decomposed) == 8
    assert policy.check(decomposed) == ["Password must be at least 8 characters long."]


# --- character classes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pw", "ok"),
    [
        ("abcdefgh", False),  # 1 class
        ("abcdEFGH", False),  # 2 classes
        ("abcd1234", False),  # 2 classes
        ("abcdEF12", True),  # lower upper digit
        ("abcdEF!?", True),  # lower upper symbol
        ("abcd12!?", True),  # lower digit symbol
        ("ABCD12!?", True),  # upper digit symbol
        ("abcd 12 x", True),  # a space is non-alphanumeric
    ],
)
def test_three_of_four_classes(pw: str, ok: bool) -> None:
    problems = PasswordPolicy(refuse_common=False).check(pw)
    assert (problems == []) is ok, problems
    if not ok:
        assert problems == [
            "Password must contain characters of at least 3 of these kinds: lowercase letters, "
            "uppercase letters, digits, other characters (such as punctuation, symbols or "
            "spaces)."
        ]


@pytest.mark.parametrize("required", [0, 1, 2, 3, 4])
def test_required_classes_is_a_threshold(required: int) -> None:
    policy = PasswordPolicy(required_classes=required, refuse_common=False)
    samples = {1: "kkkkkkkk", 2: "kkkkKKKK", 3: "kkkKKK55", 4: "kkKK55.."}
    for count, pw in samples.items():
        assert (policy.check(pw) == []) is (count >= required), (required, pw)


@pytest.mark.parametrize(
    ("flag", "missing", "message"),
    [
        ("require_lowercase", "ABCD12!?", "Password must contain a lowercase letter."),
        ("require_uppercase", "abcd12!?", "Password must contain an uppercase letter."),
        ("require_digit", "abcdEF!?", "Password must contain a digit."),
        (
            "require_non_alphanumeric",
            "abcdEF12",
            "Password must contain a character that is not a letter or digit.",
        ),
    ],
)
def test_individually_required_classes(flag: str, missing: str, message: str) -> None:
    policy = PasswordPolicy(required_classes=0, refuse_common=False, **{flag: True})
    assert policy.check(missing) == [message]
    assert policy.check("aB3$aB3$") == []


# --- Unicode ------------------------------------------------------------------------------------


def test_unicode_cased_letters_count_as_lower_and_upper() -> None:
    assert DEFAULT.check("Ärger-über-Öl") == []  # upper, lower, symbol
    assert DEFAULT.check("Пароль-Надёжный") == []  # Cyrillic upper/lower + symbol
    assert DEFAULT.check("ärgerüberöl") != []  # lowercase only


def test_unicode_caseless_letters_count_as_a_class() -> None:
    assert DEFAULT.check("密码很安全的2024!") == []  # caseless letters, digits, symbol
    assert DEFAULT.check("密码很安全的密码") != []  # one class only


def test_emoji_are_non_alphanumeric() -> None:
    assert DEFAULT.check("sunny🌞day42") == []  # lower, symbol, digit


def fullwidth(text: str) -> str:
    """The full-width compatibility form of printable ASCII *text* (U+FF01..U+FF5E)."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def test_nfkc_fullwidth_digits_are_digits() -> None:
    digits = fullwidth("123")
    assert digits != "123"
    assert normalize_password(digits) == "123"
    policy = PasswordPolicy(require_digit=True, refuse_common=False)
    assert policy.check("abcDEF" + digits) == []


def test_common_check_sees_through_compatibility_forms() -> None:
    assert is_common_password(fullwidth("password"))
    assert "This password is too common" in " ".join(DEFAULT.check(fullwidth("PASSword1")))


# --- common passwords ----------------------------------------------------------------------------


def test_common_password_refused_even_when_complex_enough() -> None:
    # "Password1" meets length and 3 classes, but "password1" is on the list.
    problems = DEFAULT.check("Password1")
    assert problems == ["This password is too common. Choose one that is harder to guess."]


def test_common_password_refusal_can_be_switched_off() -> None:
    assert PasswordPolicy(refuse_common=False).check("Password1") == []


# --- email local part -----------------------------------------------------------------------------


EMAIL_MESSAGE = "Password must not contain your email address or its name part."


def test_password_containing_email_local_part_is_refused() -> None:
    assert DEFAULT.check("Jonathan.Smith-99", email="jonathan.smith@example.com") == [EMAIL_MESSAGE]
    assert DEFAULT.check("xx-JONATHAN.SMITH-1", email="Jonathan.Smith@example.com") == [
        EMAIL_MESSAGE
    ]


def test_password_equal_to_whole_email_is_refused() -> None:
    assert DEFAULT.check("Ab@Example.com1", email="ab@example.com1") == [EMAIL_MESSAGE]


def test_short_local_part_only_refused_when_equal() -> None:
    policy = PasswordPolicy(required_length=2, required_classes=0, refuse_common=False)
    assert policy.check("Zebra-Crossing-7", email="ze@example.com") == []
    assert policy.check("ZE", email="ze@example.com") == [EMAIL_MESSAGE]


def test_email_rule_without_email_and_switched_off() -> None:
    assert DEFAULT.check("Jonathan.Smith-99") == []
    policy = PasswordPolicy(refuse_email_local_part=False)
    assert policy.check("Jonathan.Smith-99", email="jonathan.smith@example.com") == []


def test_all_problems_reported_in_order() -> None:
    problems = PasswordPolicy(require_digit=True).check("bob", email="bob@example.com")
    assert problems == [
        "Password must be at least 8 characters long.",
        "Password must contain a digit.",
        "Password must contain characters of at least 3 of these kinds: lowercase letters, "
        "uppercase letters, digits, other characters (such as punctuation, symbols or spaces).",
        EMAIL_MESSAGE,
    ]


def test_check_rejects_non_string() -> None:
    with pytest.raises(TypeError):
        DEFAULT.check(None)  # type: ignore[arg-type]


# --- construction and settings -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"required_length": 0},
        {"max_length": 63},
        {"required_length": 300, "max_length": 256},
        {"required_classes": 5},
        {"required_classes": -1},
    ],
)
def test_invalid_policies_are_rejected(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        PasswordPolicy(**kwargs)


def test_policy_is_immutable() -> None:
    with pytest.raises(AttributeError):
        DEFAULT.required_length = 4  # type: ignore[misc]


def test_from_settings_empty_gives_defaults() -> None:
    assert PasswordPolicy.from_settings({}) == PasswordPolicy()


def test_from_settings_portalis_names() -> None:
    p = "Authentication/PasswordPolicy/"
    policy = PasswordPolicy.from_settings(
        {
            p + "RequiredLength": "12",
            p + "MaxLength": "128",
            p + "RequiredCharacterClasses": "2",
            p + "RequireLowercase": "true",
            p + "RequireUppercase": "True",
            p + "RequireDigit": "1",
            p + "RequireNonLetterOrDigit": "yes",
            p + "RefuseCommonPasswords": "false",
            p + "RefuseEmailLocalPart": "off",
            "Unrelated/Setting": "whatever",
        }
    )
    assert policy == PasswordPolicy(
        required_length=12,
        max_length=128,
        required_classes=2,
        require_lowercase=True,
        require_uppercase=True,
        require_digit=True,
        require_non_alphanumeric=True,
        refuse_common=False,
        refuse_email_local_part=False,
    )


def test_from_settings_power_pages_names_and_case_insensitivity() -> None:
    pp = "authentication/usermanager/passwordvalidator/"
    policy = PasswordPolicy.from_settings(
        {
            pp + "requiredlength": " 10 ",
            pp + "RequireDigit": "TRUE",
            pp + "EnforcePasswordPolicy": "false",
        }
    )
    assert policy.required_length == 10
    assert policy.require_digit is True
    assert policy.required_classes == 0
    assert policy.check("zqxwvut9") == ["Password must be at least 10 characters long."]


def test_from_settings_portalis_name_wins_over_power_pages() -> None:
    policy = PasswordPolicy.from_settings(
        {
            "Authentication/UserManager/PasswordValidator/RequiredLength": "20",
            "Authentication/PasswordPolicy/RequiredLength": "9",
            "Authentication/UserManager/PasswordValidator/EnforcePasswordPolicy": "false",
            "Authentication/PasswordPolicy/RequiredCharacterClasses": "4",
        }
    )
    assert policy.required_length == 9
    assert policy.required_classes == 4


@pytest.mark.parametrize(
    ("name", "value"),
    [("RequiredLength", "eight"), ("RequireDigit", "maybe"), ("RequiredLength", "")],
)
def test_from_settings_malformed_values(name: str, value: str) -> None:
    with pytest.raises(ValueError, match=name):
        PasswordPolicy.from_settings({"Authentication/PasswordPolicy/" + name: value})


def test_from_settings_out_of_range_value() -> None:
    with pytest.raises(ValueError):
        PasswordPolicy.from_settings({"Authentication/PasswordPolicy/MaxLength": "32"})


# --- hashing --------------------------------------------------------------------------------------


def test_hash_round_trip(hasher: PasswordHasher) -> None:
    h = hasher.hash(GOOD)
    assert h.startswith("$argon2id$")
    assert GOOD not in h
    assert hasher.verify(h, GOOD) is True
    assert hasher.verify(h, GOOD + "x") is False
    assert hasher.verify(h, GOOD.lower()) is False


def test_hashes_are_salted(hasher: PasswordHasher) -> None:
    assert hasher.hash(GOOD) != hasher.hash(GOOD)


@pytest.mark.parametrize(
    "pw",
    [
        "x",
        ("Tr0ub4dor&3-" * 6)[:64],
        ("Long.passphrase 9 " * 12)[:200],
        "Пароль-Надёжный",
        "密码很安全的2024!",
        "sunny🌞day42",
        "with\x00nul",
        "",
    ],
)
def test_round_trip_various_passwords(hasher: PasswordHasher, pw: str) -> None:
    h = hasher.hash(pw)
    assert hasher.verify(h, pw) is True
    assert hasher.verify(h, pw + " ") is False


def test_verify_uses_nfkc(hasher: PasswordHasher) -> None:
    composed = unicodedata.normalize("NFC", "Crème-brûlée-7")
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    h = hasher.hash(composed)
    assert hasher.verify(h, decomposed) is True
    assert normalize_password(decomposed) == composed


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "garbage",
        "$argon2id$",
        "$argon2id$v=19$m=65536,t=3,p=4$abc",
        "$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$!!!notbase64!!!",
        "$2b$12$abcdefghijklmnopqrstuuvwxyz0123456789ABCDEFGHIJKLMNOPQ",
        "pbkdf2_sha256$600000$salt$hash",
        None,
        b"$argon2id$",
        12345,
    ],
)
def test_malformed_hash_verifies_false(hasher: PasswordHasher, bad: object) -> None:
    assert hasher.verify(bad, GOOD) is False  # type: ignore[arg-type]
    assert hasher.needs_rehash(bad) is True  # type: ignore[arg-type]


def test_truncated_and_tampered_hashes_verify_false(hasher: PasswordHasher) -> None:
    h = hasher.hash(GOOD)
    assert hasher.verify(h[:-4], GOOD) is False
    assert hasher.verify(h.replace("argon2id", "argon2i", 1), GOOD) is False
    last = h[-1]
    assert hasher.verify(h[:-1] + ("A" if last != "A" else "B"), GOOD) is False


def test_verify_rejects_non_string_password(hasher: PasswordHasher) -> None:
    with pytest.raises(TypeError):
        hasher.verify(hasher.hash(GOOD), None)  # type: ignore[arg-type]


def test_needs_rehash(hasher: PasswordHasher) -> None:
    own = hasher.hash(GOOD)
    assert hasher.needs_rehash(own) is False
    stronger = PasswordHasher(argon2.PasswordHasher(time_cost=2, memory_cost=16, parallelism=1))
    assert stronger.needs_rehash(own) is True
    # a stronger hasher still verifies hashes made with older parameters
    assert stronger.verify(own, GOOD) is True


def test_cheap_parameters_and_default_parameters() -> None:
    cheap = PasswordHasher.cheap().parameters
    assert (cheap.time_cost, cheap.memory_cost, cheap.parallelism) == (1, 8, 1)
    default = argon2.PasswordHasher()
    assert (default.time_cost, default.memory_cost) == (3, 65536)


def test_hash_made_elsewhere_verifies(hasher: PasswordHasher) -> None:
    other = argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    assert hasher.verify(other.hash("plain-argon2"), "plain-argon2") is True


def test_dummy_verify_returns_false(hasher: PasswordHasher) -> None:
    assert hasher.dummy_verify() is False
    assert hasher.dummy_verify(GOOD) is False


def test_dummy_verify_does_the_work_of_a_real_verify(monkeypatch: pytest.MonkeyPatch) -> None:
    # No timing here (timings are for benchmarks): prove structurally that an unknown-user
    # check runs a full argon2 verification with this hasher's own parameters.
    hasher = PasswordHasher(argon2.PasswordHasher(time_cost=2, memory_cost=16384, parallelism=1))
    seen: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def spy(self: argon2.PasswordHasher, hash: str, password: str) -> bool:
        seen.append(hash)
        return real_verify(self, hash, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", spy)
    assert hasher.dummy_verify("wrong password") is False
    assert len(seen) == 1
    params = argon2.extract_parameters(seen[0])
    assert (params.time_cost, params.memory_cost, params.parallelism) == (2, 16384, 1)
    assert params == hasher.parameters
