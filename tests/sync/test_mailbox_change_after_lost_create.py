"""A create whose answer was lost, then the user's mailbox changes: the copy the lost create made in the previous
mailbox is found and removed, and the record ends up exactly once, in the new mailbox (found by the convergence
state machine: add an assignment, a run with a lost write, change the mailbox, settle)."""

from __future__ import annotations

from tests.sync.world import World


async def test_a_lost_create_in_the_previous_mailbox_leaves_no_orphan() -> None:
    world = World.build(("u1",))
    world.assignment("a1", "u1")
    world.calendar.fault = lambda mailbox, write: -1  # applied, then every answer of the batch is lost
    await world.run()
    assert len(world.calendar.events("mbx-u1")) == 1  # made, but the link never learnt its id
    world.calendar.fault = None
    world.map_user("u1", Mailbox="u1.new@contoso.com", MailboxId="mbx-u1-new")
    for _ in range(3):
        await world.run()
    assert world.calendar.events("mbx-u1") == []
    (event,) = world.calendar.events("mbx-u1-new")
    assert event.openair_key == "openair:task_assignment:a1"


async def test_a_create_that_never_happened_is_made_in_the_new_mailbox_only() -> None:
    world = World.build(("u1",))
    world.assignment("a1", "u1")
    world.calendar.fault = lambda mailbox, write: 503  # refused: nothing made, the link stays `creating`
    await world.run()
    assert world.calendar.events("mbx-u1") == []
    world.calendar.fault = None
    world.map_user("u1", Mailbox="u1.new@contoso.com", MailboxId="mbx-u1-new")
    for _ in range(3):
        await world.run()
    assert world.calendar.events("mbx-u1") == []
    assert [e.openair_key for e in world.calendar.events("mbx-u1-new")] == ["openair:task_assignment:a1"]
