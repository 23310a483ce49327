"""Table permissions: the policy of a website, its SQL compiler and a reference evaluator."""

from __future__ import annotations

from portalis.core.permissions.compiler import Predicate, PredicateCompiler
from portalis.core.permissions.policy import PRIVILEGES, SCOPES, Grant, Policy
from portalis.core.permissions.reference import ReferenceEvaluator

__all__ = [
    "PRIVILEGES",
    "SCOPES",
    "Grant",
    "Policy",
    "Predicate",
    "PredicateCompiler",
    "ReferenceEvaluator",
]
