"""An exit without a take-profit tag (a lost order Freqtrade adopted at a restart,
or a manual partial exit) already closed part of the position: what is still to do
must follow from that confirmed amount, not from the tags.

Found by the chaos suite (drop-order-after-fill, seed 1): a tp1 market order's
answer was dropped, the bot was killed right after, and at the restart Freqtrade
adopted the filled order as "previously unknown" with no tag; profitguard then sent
tp1 again and closed the whole trade at the first level (the engine counted a
level as paid only from its tag). Now which levels are done follows from the amount
closed against the ladder's cumulative targets, whatever the tags.
"""

from profitguard.engine import R_LADDER, ExitRecord, open_position, rebuild, step


def test_step_when_untagged_exit_closed_tp1_share_then_tp1_closes_nothing_more():
    plan = open_position(R_LADDER, side="long", entry=150, initial_stop=147, amount=100).plan
    position = rebuild(
        plan,
        exits=[ExitRecord(50, 156, ())],  # the adopted order: 50 closed, no tag
        best_price=156,
        worst_price=150,
    )
    decision = step(position, 156.5, None)
    assert decision.exit_amount == 0  # tp1's 50% is already closed
    assert decision.position.remaining == 50  # tp2 and tp3 still to come


def test_rebuild_when_untagged_exit_covers_tp1_and_tp2_then_both_paid_and_tp3_is_next():
    plan = open_position(R_LADDER, side="long", entry=150, initial_stop=147, amount=100).plan
    position = rebuild(plan, exits=[ExitRecord(75, 159, ())], best_price=159, worst_price=150)
    assert (position.levels_filled, position.remaining) == (2, 25)
    assert step(position, 159.5, None).exit_amount == 0
    decision = step(position, 162.1, None)
    assert (decision.exit_amount, decision.exit_tags) == (25, ("tp3",))
