"""Permanent redirects: a source moves only after three polls in a row say so (issue 3).

A 301/308 may be a misconfiguration fixed tomorrow; three consecutive polls that land on the same
permanent target are a move. 302/307 are temporary by definition and never move a source.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

PERMANENT = frozenset({301, 308})
MOVE_AFTER = 3


@dataclass(frozen=True)
class RedirectState:
    candidate_url: str | None = None
    streak: int = 0


@dataclass(frozen=True)
class MoveDecision:
    state: RedirectState
    move_to: str | None = None  # set when the stored URL should change now


def permanent_target(redirects: Sequence[tuple[int, str]]) -> str | None:
    """Where the leading run of permanent hops ends: 301 -> 302 -> X moves only to the 301's
    target, and a first hop that is temporary means no permanent move at all."""
    target = None
    for status, url in redirects:
        if status not in PERMANENT:
            break
        target = url
    return target


def track_redirects(
    state: RedirectState, redirects: Sequence[tuple[int, str]], needed: int = MOVE_AFTER
) -> MoveDecision:
    """Update the streak with one successful poll's redirect hops."""
    target = permanent_target(redirects)
    if target is None:
        return MoveDecision(RedirectState())
    streak = state.streak + 1 if target == state.candidate_url else 1
    if streak >= needed:
        return MoveDecision(RedirectState(), move_to=target)
    return MoveDecision(RedirectState(target, streak))
