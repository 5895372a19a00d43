"""The sample company both simulators serve by default: a consultancy with people in seven time zones.

`build(anchor)` is deterministic for a given anchor date; simulators started without `--data` use today's
date, so the demo always shows work in the coming weeks. `python -m sandbox.sample --out DIR` writes the two
data files (`openair.json`, `graph.json`) for inspection or editing.

Deliberate rough edges, because real tenants have them:
- some OpenAir emails match only a mailbox alias (proxyAddresses), not the primary address;
- one OpenAir user has no mailbox, one is inactive, and two mailboxes (a room, an admin) have no OpenAir user;
- bookings of every booking type, timed and all-day, one crossing each user's next DST change, one over 5 years;
- task assignments with zero planned hours (not exported) and schedule requests in several approval states.
"""

from sandbox.sample.company import CREDENTIALS, build

__all__ = ["CREDENTIALS", "build"]
