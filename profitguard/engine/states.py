"""Position states and the table of legal moves between them.

The state is derived from facts (stop vs entry, levels taken, what remains),
then checked against `TRANSITIONS`, so a bug that would move a position
backwards (say, from PARTIAL_PROFIT_TAKEN back to INITIAL_RISK) raises
`IllegalTransition` instead of silently rewriting history.
"""

from __future__ import annotations

from enum import StrEnum


class ProtectionState(StrEnum):
    INITIAL_RISK = "INITIAL_RISK"
    BREAKEVEN_PROTECTED = "BREAKEVEN_PROTECTED"  # stop at or beyond entry
    PARTIAL_PROFIT_TAKEN = "PARTIAL_PROFIT_TAKEN"  # TP1 taken
    ADVANCED_PROFIT_TAKEN = "ADVANCED_PROFIT_TAKEN"  # TP2 (or a later non-final level) taken
    FINAL_PROFIT_TAKEN = "FINAL_PROFIT_TAKEN"  # take-profits closed everything
    STOPPED_OUT = "STOPPED_OUT"

    @property
    def is_closed(self) -> bool:
        return self in _CLOSED


_CLOSED = frozenset({ProtectionState.FINAL_PROFIT_TAKEN, ProtectionState.STOPPED_OUT})

_S = ProtectionState
# state -> states it may move to (staying put is always legal). A gap through
# several levels may skip intermediate states; nothing ever moves backwards.
TRANSITIONS: dict[ProtectionState, frozenset[ProtectionState]] = {
    _S.INITIAL_RISK: frozenset(
        {
            _S.BREAKEVEN_PROTECTED,
            _S.PARTIAL_PROFIT_TAKEN,
            _S.ADVANCED_PROFIT_TAKEN,
            _S.FINAL_PROFIT_TAKEN,
            _S.STOPPED_OUT,
        }
    ),
    _S.BREAKEVEN_PROTECTED: frozenset(
        {_S.PARTIAL_PROFIT_TAKEN, _S.ADVANCED_PROFIT_TAKEN, _S.FINAL_PROFIT_TAKEN, _S.STOPPED_OUT}
    ),
    _S.PARTIAL_PROFIT_TAKEN: frozenset(
        {_S.ADVANCED_PROFIT_TAKEN, _S.FINAL_PROFIT_TAKEN, _S.STOPPED_OUT}
    ),
    _S.ADVANCED_PROFIT_TAKEN: frozenset({_S.FINAL_PROFIT_TAKEN, _S.STOPPED_OUT}),
    _S.FINAL_PROFIT_TAKEN: frozenset(),
    _S.STOPPED_OUT: frozenset(),
}


class IllegalTransition(RuntimeError):
    """A position tried to move between states the table does not allow."""


def check_transition(old: ProtectionState, new: ProtectionState) -> ProtectionState:
    """Return `new` if the move from `old` is legal, else raise `IllegalTransition`."""
    if new is old or new in TRANSITIONS[old]:
        return new
    raise IllegalTransition(f"illegal position state change {old} -> {new}")


def derive_state(
    *,
    stopped: bool,
    remaining_is_zero: bool,
    levels_taken: int,
    stop_at_or_beyond_entry: bool,
) -> ProtectionState:
    """The state the facts describe."""
    if stopped:
        return _S.STOPPED_OUT
    if remaining_is_zero:
        return _S.FINAL_PROFIT_TAKEN
    if levels_taken >= 2:
        return _S.ADVANCED_PROFIT_TAKEN
    if levels_taken == 1:
        return _S.PARTIAL_PROFIT_TAKEN
    if stop_at_or_beyond_entry:
        return _S.BREAKEVEN_PROTECTED
    return _S.INITIAL_RISK
