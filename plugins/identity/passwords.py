"""Password policy and hashing for local (username/email + password) accounts.

Framework-independent. Two parts:

:class:`PasswordPolicy`
    What a new password must look like. Defaults follow Power Pages: at least
    8 characters, characters from at least 3 of 4 classes (lowercase,
    uppercase, digit, non-alphanumeric). On top of that Portalis refuses the
    10,000 most common passwords (``common_passwords.txt``, shipped with this
    package) and passwords containing the account email's local part, and
    accepts passwords up to 256 characters (at least 64 are always accepted,
    per NIST SP 800-63B). :meth:`PasswordPolicy.from_settings` reads the
    policy from site settings; see its docstring for the names.

:class:`PasswordHasher`
    Argon2id hashing (argon2-cffi) with a ``verify`` that answers ``True`` or
    ``False`` and never raises for a wrong password or a malformed hash, plus
    :meth:`PasswordHasher.dummy_verify` for unknown-user paths.

Passwords are normalised to Unicode NFKC before they are measured, checked or
hashed, so the same password typed through different input methods (composed
vs. decomposed accents, full-width digits) is the same password. That
normalisation is part of the stored-hash contract: changing it would lock out
users whose passwords it affects.
"""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources

import argon2
from argon2 import exceptions as argon2_exceptions

__all__ = [
    "MIN_MAX_LENGTH",
    "POWER_PAGES_SETTING_PREFIX",
    "SETTING_PREFIX",
    "PasswordHasher",
    "PasswordPolicy",
    "common_passwords",
    "is_common_password",
    "normalize_password",
]

#: Prefix of the Portalis site settings read by :meth:`PasswordPolicy.from_settings`.
SETTING_PREFIX = "Authentication/PasswordPolicy/"
#: Prefix of the equivalent Power Pages settings, accepted as fallbacks so that
#: settings migrated from Power Pages keep working.
POWER_PAGES_SETTING_PREFIX = "Authentication/UserManager/PasswordValidator/"

#: Shortest ``max_length`` a policy may have (NIST SP 800-63B: at least 64).
MIN_MAX_LENGTH = 64

_TRUE = frozenset({"true", "1", "yes", "on"})
_FALSE = frozenset({"false", "0", "no", "off"})


def normalize_password(password: str) -> str:
    """The form of *password* that is measured, checked and hashed (NFKC)."""
    if not isinstance(password, str):
        raise TypeError("password must be a str")
    return unicodedata.normalize("NFKC", password)


@cache
def common_passwords() -> frozenset[str]:
    """The shipped common-password list, case-folded (loaded once, then cached)."""
    text = (
        resources.files("portalis.plugins.identity")
        .joinpath("common_passwords.txt")
        .read_text(encoding="utf-8")
    )
    return frozenset(
        normalize_password(line).casefold()
        for line in text.splitlines()
        if line and not line.startswith("#")
    )


def is_common_password(password: str) -> bool:
    """Whether *password* is on the common-password list, ignoring case."""
    return normalize_password(password).casefold() in common_passwords()


def _character_classes(password: str) -> set[str]:
    classes: set[str] = set()
    for ch in password:
        if ch.islower():
            classes.add("lower")
        elif ch.isupper():
            classes.add("upper")
        elif ch.isdigit():
            classes.add("digit")
        elif ch.isalpha() or ch.isnumeric():
            # Letters without case (CJK, Arabic, Hebrew, ...), like the fifth
            # category of Windows' complexity rules, and non-decimal numerals.
            classes.add("caseless")
        else:
            classes.add("symbol")
    return classes


def _email_local_part(email: str) -> str:
    local = email.rpartition("@")[0] if "@" in email else email
    return normalize_password(local.strip()).casefold()


@dataclass(frozen=True, slots=True)
class PasswordPolicy:
    """Rules a new password must satisfy; :meth:`check` applies them.

    ``required_classes`` counts the classes lowercase, uppercase, digit and
    non-alphanumeric (anything that is neither a letter nor a digit, spaces
    included). Letters that have no case (e.g. Chinese, Arabic) count as one
    further class, as in Windows' complexity rules, so passwords in such
    scripts can meet the rule. The ``require_*`` flags additionally make a
    single class mandatory. Lengths count Unicode code points after NFKC
    normalisation. Instances are immutable and validated on construction
    (``ValueError`` for contradictory values).
    """

    required_length: int = 8
    required_classes: int = 3
    max_length: int = 256
    refuse_common: bool = True
    refuse_email_local_part: bool = True
    require_lowercase: bool = False
    require_uppercase: bool = False
    require_digit: bool = False
    require_non_alphanumeric: bool = False

    def __post_init__(self) -> None:
        if self.required_length < 1:
            raise ValueError("required_length must be at least 1")
        if self.max_length < max(MIN_MAX_LENGTH, self.required_length):
            raise ValueError(
                f"max_length must be at least {MIN_MAX_LENGTH} and at least required_length"
            )
        if not 0 <= self.required_classes <= 4:
            raise ValueError("required_classes must be between 0 and 4")

    @classmethod
    def from_settings(cls, settings: Mapping[str, str]) -> PasswordPolicy:
        """Build a policy from site settings (name → string value).

        Names are matched case-insensitively; missing settings keep the
        defaults. Each is read under :data:`SETTING_PREFIX`
        (``Authentication/PasswordPolicy/``) and, if absent there, under the
        Power Pages prefix :data:`POWER_PAGES_SETTING_PREFIX`
        (``Authentication/UserManager/PasswordValidator/``):

        ============================  =======  =====================================
        name                          default  meaning
        ============================  =======  =====================================
        ``RequiredLength``            8        minimum length
        ``MaxLength``                 256      maximum length (at least 64)
        ``RequiredCharacterClasses``  3        how many of the 4 classes (0-4)
        ``EnforcePasswordPolicy``     true     Power Pages' switch for "3 of 4":
                                               true = 3, false = 0; used only when
                                               ``RequiredCharacterClasses`` is unset
        ``RequireLowercase``          false    a lowercase letter is mandatory
        ``RequireUppercase``          false    an uppercase letter is mandatory
        ``RequireDigit``              false    a digit is mandatory
        ``RequireNonLetterOrDigit``   false    a non-alphanumeric char is mandatory
        ``RefuseCommonPasswords``     true     refuse the 10,000 most common
        ``RefuseEmailLocalPart``      true     refuse passwords containing the part
                                               of the email before the ``@``
        ============================  =======  =====================================

        Booleans accept true/false, 1/0, yes/no, on/off; integers are decimal.
        A malformed value raises ``ValueError`` naming the setting.
        """
        lowered = {name.lower(): value for name, value in settings.items()}

        def raw(name: str) -> tuple[str, str] | None:
            for prefix in (SETTING_PREFIX, POWER_PAGES_SETTING_PREFIX):
                key = prefix + name
                if key.lower() in lowered:
                    return key, lowered[key.lower()]
            return None

        def integer(name: str, default: int) -> int:
            found = raw(name)
            if found is None:
                return default
            key, value = found
            try:
                return int(value.strip(), 10)
            except ValueError:
                raise ValueError(f"site setting {key}: {value!r} is not an integer") from None

        def boolean(name: str, default: bool) -> bool:
            found = raw(name)
            if found is None:
                return default
            key, value = found
            word = value.strip().lower()
            if word in _TRUE:
                return True
            if word in _FALSE:
                return False
            raise ValueError(f"site setting {key}: {value!r} is not true or false")

        if raw("RequiredCharacterClasses") is not None:
            required_classes = integer("RequiredCharacterClasses", 3)
        else:
            required_classes = 3 if boolean("EnforcePasswordPolicy", True) else 0
        return cls(
            required_length=integer("RequiredLength", 8),
            required_classes=required_classes,
            max_length=integer("MaxLength", 256),
            refuse_common=boolean("RefuseCommonPasswords", True),
            refuse_email_local_part=boolean("RefuseEmailLocalPart", True),
            require_lowercase=boolean("RequireLowercase", False),
            require_uppercase=boolean("RequireUppercase", False),
            require_digit=boolean("RequireDigit", False),
            require_non_alphanumeric=boolean("RequireNonLetterOrDigit", False),
        )

    def check(self, password: str, *, email: str | None = None) -> list[str]:
        """Problems with *password* as human-readable sentences; ``[]`` means OK.

        Every failed rule contributes one message, in a fixed order (length,
        mandatory classes, class count, common password, email). When *email*
        is given and ``refuse_email_local_part`` is on, a password that
        contains the email's local part (ignoring case; for local parts
        shorter than 3 characters: that equals it) or equals the whole email
        is refused.
        """
        pw = normalize_password(password)
        problems: list[str] = []
        if len(pw) < self.required_length:
            problems.append(f"Password must be at least {self.required_length} characters long.")
        if len(pw) > self.max_length:
            problems.append(f"Password must be at most {self.max_length} characters long.")

        classes = _character_classes(pw)
        for needed, flag, what in (
            ("lower", self.require_lowercase, "a lowercase letter"),
            ("upper", self.require_uppercase, "an uppercase letter"),
            ("digit", self.require_digit, "a digit"),
            ("symbol", self.require_non_alphanumeric, "a character that is not a letter or digit"),
        ):
            if flag and needed not in classes:
                problems.append(f"Password must contain {what}.")
        if len(classes) < self.required_classes:
            problems.append(
                f"Password must contain characters of at least {self.required_classes} of these "
                "kinds: lowercase letters, uppercase letters, digits, other characters "
                "(such as punctuation, symbols or spaces)."
            )

        folded = pw.casefold()
        if self.refuse_common and folded in common_passwords():
            problems.append("This password is too common. Choose one that is harder to guess.")
        if self.refuse_email_local_part and email:
            local = _email_local_part(email)
            whole = normalize_password(email.strip()).casefold()
            if (
                local and (local in folded if len(local) >= 3 else local == folded)
            ) or folded == whole:
                problems.append("Password must not contain your email address or its name part.")
        return problems


class PasswordHasher:
    """Argon2id password hashing with a non-raising ``verify``.

    Wraps :class:`argon2.PasswordHasher`; the default costs are argon2-cffi's
    (RFC 9106 low-memory profile: t=3, m=64 MiB, p=4). Hashes are the standard
    ``$argon2id$...`` strings and can be verified by any Argon2 library given
    the same NFKC-normalised password. Thread-safe.
    """

    def __init__(self, hasher: argon2.PasswordHasher | None = None) -> None:
        """Use *hasher*'s parameters, or argon2-cffi's defaults.

        Construction computes one hash (for :meth:`dummy_verify`), so it costs
        about as much as one :meth:`hash` call: create one instance and reuse it.
        """
        self._hasher = hasher if hasher is not None else argon2.PasswordHasher()
        self._dummy_hash = self._hasher.hash(secrets.token_urlsafe(32))

    @classmethod
    def cheap(cls) -> PasswordHasher:
        """A hasher with minimal costs (t=1, m=8 KiB, p=1), for tests only."""
        return cls(argon2.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))

    @property
    def parameters(self) -> argon2.Parameters:
        """The Argon2 parameters new hashes are made with."""
        return argon2.extract_parameters(self._dummy_hash)

    def hash(self, password: str) -> str:
        """Hash *password* (NFKC-normalised) with a fresh random salt."""
        return self._hasher.hash(normalize_password(password))

    def verify(self, password_hash: str, password: str) -> bool:
        """Whether *password* matches *password_hash*.

        Returns ``False``, never raises, for a wrong password and for a hash
        that is malformed, not Argon2, not a string, or whose parameters
        cannot be used. Raises ``TypeError`` only if *password* is not a str.
        """
        pw = normalize_password(password)
        if not isinstance(password_hash, str):
            return False
        try:
            return self._hasher.verify(password_hash, pw)
        except (argon2_exceptions.Argon2Error, ValueError):
            # VerifyMismatchError, VerificationError (undecodable hash, memory
            # errors), InvalidHashError (a ValueError), UnsupportedParametersError.
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """Whether *password_hash* should be replaced by a fresh :meth:`hash`.

        True if it was made with other parameters than this hasher's, and also
        for a malformed hash. Call it after a successful :meth:`verify` and
        store ``hash(password)`` when it says so.
        """
        if not isinstance(password_hash, str):
            return True
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (argon2_exceptions.Argon2Error, ValueError):
            return True

    def dummy_verify(self, password: str = "") -> bool:
        """Spend the time of a real :meth:`verify`, then return ``False``.

        For sign-in attempts with an unknown username/email, so that response
        time does not reveal which accounts exist: it runs the same code path
        against a hash made with this hasher's parameters. (Users whose stored
        hash has other parameters take the time of *those* parameters until
        :meth:`needs_rehash` has upgraded them.)
        """
        self.verify(self._dummy_hash, password)
        return False
