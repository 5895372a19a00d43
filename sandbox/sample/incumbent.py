"""What the Exchange Integration Manager left in the sample company's mailboxes, for the cutover.

The incumbent wrote one event per exported record through EWS: the subject formats of OpenAir's admin guide
("Examples of OpenAir Transactions Exported as Calendar Events"), an HTML body of labelled lines with US dates
("Duration: 11/24/2023 to 11/24/2023"), all-day events from date to date, timed bookings at their times, no
marker of its own. Real mailboxes also hold what years of that produced, so this set has, deterministically:
- an exact event for every record the incumbent exported (bookings not of a "Do not export" type, task
  assignments with planned hours, schedule requests);
- stale events of bookings since deleted in OpenAir (the incumbent never removed events);
- a record written twice (an EWS retry that succeeded twice): two identical events for one record;
- events edited by hand: one moved a day, one whose body the person rewrote, one with a line the person added;
- a person's own meeting with an "OA" subject (attendees, busy): theirs, never touched.
"""

from __future__ import annotations

import datetime as dt
import html
import random
from collections import defaultdict
from typing import Any

STATUS = {"A": "Approved", "P": "Pending approval", "O": "Open", "R": "Rejected"}


def _us(day: str) -> str:
    d = dt.date.fromisoformat(day)
    return f"{d.month}/{d.day}/{d.year}"


def _html(lines: list[str]) -> dict[str, str]:
    body = "<br>".join(html.escape(line) for line in lines)
    return {"contentType": "html", "content": f"<html><body><div>{body}</div></body></html>"}


def _all_day(first: str, last: str, zone: str) -> dict[str, Any]:
    end = dt.date.fromisoformat(last) + dt.timedelta(days=1)
    return {"isAllDay": True, "start": {"dateTime": f"{first}T00:00:00", "timeZone": zone},
            "end": {"dateTime": f"{end.isoformat()}T00:00:00", "timeZone": zone}}  # fmt: skip


def events_for(
    records: dict[str, list[dict[str, Any]]], mailbox_of: dict[str, tuple[str, str]], seed: int = 17
) -> dict[str, list[dict[str, Any]]]:
    """Graph event bodies per mailbox id; `mailbox_of` maps OpenAir user id → (mailbox id, IANA zone)."""
    rng = random.Random(seed)
    by_id = {kind: {r["id"]: r for r in rows} for kind, rows in records.items()}
    customers, projects, tasks = by_id["Customer"], by_id["Project"], by_id["Projecttask"]
    types = by_id["BookingType"]
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in records["Schedulerequest_item"]:
        items[item["schedule_requestid"]].append(item)
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)

    def put(user_id: str, event: dict[str, Any]) -> None:
        mailbox, _ = mailbox_of[user_id]
        out[mailbox].append({"showAs": "free", "sensitivity": "normal", "isReminderOn": False, **event})

    for booking in records["Booking"]:
        user = booking["userid"]
        if user not in mailbox_of or types[booking["booking_typeid"]]["calendar_export_type"] == "Do not export":
            continue
        zone = mailbox_of[user][1]
        project = projects.get(booking["projectid"], {})
        customer = customers.get(booking["customerid"] or project.get("customerid", ""), {})
        names = " : ".join(n for n in (customer.get("name"), project.get("name")) if n)
        first, last = booking["startdate"], booking["enddate"]
        start = dt.date.fromisoformat(first)
        # Five years at most (the guide's "Known Limitations"): the event ends where five calendar years do.
        capped = (
            start.replace(year=start.year + 5)
            if (start.month, start.day) != (2, 29)
            else start.replace(year=start.year + 5, day=28)
        )
        last = min(dt.date.fromisoformat(last), capped - dt.timedelta(days=1))
        when: dict[str, Any] = _all_day(first, last.isoformat(), zone)
        if booking["starttime"] and booking["endtime"]:
            when = {"isAllDay": False, "start": {"dateTime": booking["starttime"].replace(" ", "T"), "timeZone": zone},
                    "end": {"dateTime": booking["endtime"].replace(" ", "T"), "timeZone": zone}}  # fmt: skip
        put(user, {"subject": f"OA Booking: {float(booking['hours']):.2f} hrs for {names}", **when,
                   "body": _html([f"Customer: {customer.get('name', '')}", f"Project: {project.get('name', '')}",
                                  "Task:", f"Duration: {_us(first)} to {_us(last.isoformat())}",
                                  f"Notes: {booking['notes']}"])})  # fmt: skip

    for assignment in records["Projecttaskassign"]:
        user, task = assignment["userid"], tasks.get(assignment["projecttaskid"])
        if user not in mailbox_of or task is None or not float(assignment["planned_hours"] or 0):
            continue
        project = projects.get(task["projectid"], {})
        label = f"{task['id_number']} {task['name']}"
        put(user, {"subject": f"OA Task Assignment: {float(assignment['planned_hours']):.2f} hrs for "
                              f"{project.get('name', '')} - {label}",
                   **_all_day(task["starts"], task["fnlt_date"], mailbox_of[user][1]),
                   "body": _html([f"Task: {label}", f"Start: {_us(task['starts'])}",
                                  f"Finish: {_us(task['fnlt_date'])}",
                                  f"Customer: {customers.get(project.get('customerid', ''), {}).get('name', '')}",
                                  f"Project: {project.get('name', '')}"])})  # fmt: skip

    for request in records["Schedulerequest"]:
        user = request["userid"]
        if user not in mailbox_of:
            continue
        hours = sum(float(i["hours"]) for i in items[request["id"]])
        status = STATUS.get(request["approval_status"], "")
        put(user, {"subject": f"OA Schedule request: {hours:.2f} hrs for {request['name']} [{status}]",
                   **_all_day(request["startdate"], request["enddate"], mailbox_of[user][1]),
                   "showAs": "oof" if request["approval_status"] == "A" else "tentative",
                   "body": _html([f"Duration: {_us(request['startdate'])} to {_us(request['enddate'])}",
                                  f"Description: {request['description']}",
                                  f"Notes: {request['notes']}"])})  # fmt: skip

    _roughen(out, mailbox_of, records, rng)
    return dict(out)


def _roughen(
    out: dict[str, list[dict[str, Any]]],
    mailbox_of: dict[str, tuple[str, str]],
    records: dict[str, list[dict[str, Any]]],
    rng: random.Random,
) -> None:
    """Years of real use: stale events, a double write, hand edits, people's own 'OA' events."""
    mailboxes = sorted({m for m, _ in mailbox_of.values()})
    zone_of = {m: z for m, z in mailbox_of.values()}
    anchor = min(dt.date.fromisoformat(b["startdate"]) for b in records["Booking"])
    for n, mailbox in enumerate(mailboxes):
        events = out.get(mailbox, [])
        bookings = [e for e in events if e["subject"].startswith("OA Booking") and e["isAllDay"]]
        if n % 4 == 0:  # a booking deleted in OpenAir last month; the incumbent never removed its event
            day = (anchor - dt.timedelta(days=rng.randint(3, 12))).isoformat()
            events.append({"subject": "OA Booking: 16.00 hrs for Litware : Litware Data migration",
                           **_all_day(day, day, zone_of[mailbox]), "showAs": "free",
                           "body": _html(["Customer: Litware", "Project: Litware Data migration", "Task:",
                                          f"Duration: {_us(day)} to {_us(day)}", "Notes:"])})  # fmt: skip
        if n == 1 and bookings:  # written twice
            events.append(dict(bookings[0]))
        if n == 2 and bookings:  # moved a day later by hand
            moved = bookings[0]
            for side in ("start", "end"):
                later = dt.date.fromisoformat(moved[side]["dateTime"][:10]) + dt.timedelta(days=1)
                moved[side] = {**moved[side], "dateTime": f"{later.isoformat()}T00:00:00"}
        if n == 3 and bookings:  # body rewritten by the person
            bookings[0]["body"] = {"contentType": "text", "content": "Client asked to keep this slot; call Ana first."}
        if n == 4 and bookings:  # a line added by the person: still the incumbent's body
            bookings[0]["body"]["content"] = bookings[0]["body"]["content"].replace(
                "</div>", "<br>Bring the signed SOW.</div>"
            )
        if n % 5 == 0:  # a person's own meeting with an "OA" subject
            day = (anchor + dt.timedelta(days=2)).isoformat()
            events.append({"subject": "OA Booking review with the resource managers", "isAllDay": False,
                           "start": {"dateTime": f"{day}T15:00:00", "timeZone": zone_of[mailbox]},
                           "end": {"dateTime": f"{day}T16:00:00", "timeZone": zone_of[mailbox]}, "showAs": "busy",
                           "body": {"contentType": "text", "content": "Agenda: next month's bookings."},
                           "attendees": [{"emailAddress": {"address": "rm@contoso.com"},
                                          "type": "required"}]})  # fmt: skip
        out[mailbox] = events
