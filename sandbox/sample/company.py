"""Deterministic generator of the sample company (OpenAir records + Microsoft 365 tenant)."""

from __future__ import annotations

import datetime as dt
import random
import uuid
from typing import Any
from zoneinfo import ZoneInfo

# Documented in the README; the simulators accept exactly these.
CREDENTIALS: dict[str, Any] = {
    "company": "demo",
    "user": "admin",
    "password": "demo-password",
    "api_key": "demo-key",
    "access_tokens": ["demo-access-token"],
}

DOMAIN = "contoso.com"
TENANT_ID = "6f1c5e2a-3b4d-4e8f-9a0b-1c2d3e4f5a6b"

# (IANA zone for OpenAir, Windows zone for the mailbox, office)
OFFICES = [
    ("America/New_York", "Eastern Standard Time", "New York"),
    ("America/Chicago", "Central Standard Time", "Chicago"),
    ("America/Los_Angeles", "Pacific Standard Time", "San Francisco"),
    ("Europe/London", "GMT Standard Time", "London"),
    ("Europe/Berlin", "W. Europe Standard Time", "Berlin"),
    ("Asia/Kolkata", "India Standard Time", "Bangalore"),
    ("Australia/Sydney", "AUS Eastern Standard Time", "Sydney"),
]

FIRST = ["Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hiro", "Isla", "Jonas", "Kavya", "Liam",
         "Maya", "Noah", "Olivia", "Priya", "Quinn", "Rafael", "Sofia", "Tomas", "Uma", "Victor", "Wen",
         "Xavier", "Yara", "Zane", "Amelie", "Bruno", "Carmen", "Dmitri", "Esme", "Felix", "Gita", "Hugo",
         "Ines", "Jack"]  # fmt: skip
LAST = ["Anders", "Brooks", "Chen", "Dubois", "Evans", "Fischer", "Garcia", "Hughes", "Iyer", "Jensen",
        "Kim", "Lopez", "Muller", "Nakamura", "Okafor", "Patel", "Quinn", "Rossi", "Schmidt", "Tanaka",
        "Usman", "Vargas", "Weber", "Xu", "Young", "Zimmer", "Andersen", "Bauer", "Costa", "Dietrich",
        "Eriksen", "Ferrari", "Gupta", "Hoffmann", "Ito", "Johansson"]  # fmt: skip

CALENDAR_EXPORT_TYPES = {
    "Confirmed": "Set event time as busy",
    "Tentative": "Set event time as tentative",
    "Internal": "Set event time as free",
    "Holiday cover": "Set event time as out of office",
    "Proposal": "Do not export",
    "Training": "",  # custom field left empty: the product's default (free) applies
    "Outlook appointment": "Set event time as busy",  # the import default type
}

CUSTOMERS = ["Northwind Traders", "Fabrikam", "Adventure Works", "Tailspin Toys", "Wide World Importers",
             "Litware", "Proseware", "Woodgrove Bank"]  # fmt: skip
PROJECT_KINDS = ["ERP rollout", "Data migration", "Security review", "Cloud landing zone", "Training program"]
TASKS = ["Discovery", "Design", "Build", "Test", "Cutover", "Hypercare"]
TIME_TYPES = ["Vacation", "Sick leave", "Public holiday", "Parental leave"]


def _date(d: dt.date) -> str:
    return d.isoformat()


def _stamp(t: dt.datetime) -> str:
    return t.strftime("%Y-%m-%d %H:%M:%S")


def openair_offset(zone: str, on: dt.date) -> str:
    """A user's zone as OpenAir's XML API reports it: a bare offset like `-0600` (Oracle's own sample response
    for Whoami carries `<timezone>-0600</timezone>`), here the zone's standard (winter) offset."""
    tz = ZoneInfo(zone)
    offsets = [dt.datetime(on.year, month, 15, 12, tzinfo=tz).utcoffset() or dt.timedelta() for month in (1, 7)]
    minutes = int(min(offsets).total_seconds()) // 60
    return f"{'-' if minutes < 0 else '+'}{abs(minutes) // 60:02d}{abs(minutes) % 60:02d}"


def _next_dst_change(zone: str, start: dt.date, days: int = 400) -> dt.date | None:
    tz = ZoneInfo(zone)
    prev = dt.datetime.combine(start, dt.time(12), tz).utcoffset()
    for i in range(1, days):
        day = start + dt.timedelta(days=i)
        off = dt.datetime.combine(day, dt.time(12), tz).utcoffset()
        if off != prev:
            return day
        prev = off
    return None


def build(anchor: dt.date | None = None, *, users: int = 36, seed: int = 7, incumbent: bool = False) -> dict[str, Any]:
    """Both data files for an anchor date (default today): {"openair": {...}, "graph": {...}}.

    `incumbent`: the mailboxes also hold what the Exchange Integration Manager left there (incumbent.py).
    """
    anchor = anchor or dt.date.today()
    monday = anchor - dt.timedelta(days=anchor.weekday())
    rng = random.Random(seed)
    created = _stamp(dt.datetime.combine(monday - dt.timedelta(days=30), dt.time(8)))
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in (
        "User", "Customer", "Project", "Projecttask", "Projecttaskassign", "BookingType", "Booking",
        "Timetype", "Schedulerequest", "Schedulerequest_item")}  # fmt: skip
    ids = iter(range(1000, 10**9))

    def add(kind: str, **fields: Any) -> dict[str, Any]:
        rec = {"id": str(next(ids)), "created": created, "updated": created, **fields}
        records[kind].append(rec)
        return rec

    types = {name: add("BookingType", name=name, active="1", priority="1", notes="",
                       calendar_export_type=export) for name, export in CALENDAR_EXPORT_TYPES.items()}  # fmt: skip
    time_types = [add("Timetype", name=name, active="1") for name in TIME_TYPES]
    customers = [add("Customer", name=name, company=name, active="1") for name in CUSTOMERS]
    projects = []
    for i, customer in enumerate(customers):
        for kind in rng.sample(PROJECT_KINDS, 2):
            projects.append(add("Project", name=f"{customer['name']} {kind}", customerid=customer["id"],
                                active="1" if i != 7 else "0"))  # fmt: skip
    internal = add("Project", name="Contoso Internal", customerid="", active="1")
    projects_with_tasks: list[tuple[dict[str, Any], list[dict[str, Any]]]] = []
    for project in projects[:10]:
        tasks = []
        start = monday + dt.timedelta(days=rng.randint(-14, 21))
        for n, name in enumerate(TASKS[: rng.randint(3, 6)], start=1):
            finish = start + dt.timedelta(days=rng.randint(4, 20))
            tasks.append(add("Projecttask", projectid=project["id"], name=name, id_number=f"{n}.0",
                             starts=_date(start), fnlt_date=_date(finish), planned_hours=str(rng.choice([16, 40, 80])),
                             is_a_phase="0", closed="0", parentid=""))  # fmt: skip
            start = finish + dt.timedelta(days=1)
        projects_with_tasks.append((project, tasks))

    graph_users: list[dict[str, Any]] = []
    mailbox_of: dict[str, tuple[str, str]] = {}  # OpenAir user id -> (mailbox id, zone)
    for i in range(users):
        zone, windows_zone, office = OFFICES[i % len(OFFICES)]
        first, last = FIRST[i % len(FIRST)], LAST[(i * 7) % len(LAST)]
        local = f"{first}.{last}".lower()
        primary = f"{local}@{DOMAIN}"
        alias = f"{first[0]}{last}".lower() + f"@{office.lower().replace(' ', '')}.{DOMAIN}"
        # Every fifth user is known to OpenAir by a mailbox alias only.
        openair_email = alias if i % 5 == 3 else primary
        if i == 11:
            openair_email = f"{local}@contractor.example"  # no mailbox in the tenant: stays unmatched
        # Most users' zones come as OpenAir serves them, a bare offset; every fourth as a zone name.
        openair_zone = zone if i % 4 == 0 else openair_offset(zone, monday)
        user = add("User", name=f"{last}, {first}", nickname=local, active="0" if i == 17 else "1",
                   timezone=openair_zone, addr={"email": openair_email},
                   exchDefault_booking_type=types["Outlook appointment"]["id"] if i % 3 else "",
                   exchDefault_project=internal["id"] if i % 4 else "")  # fmt: skip
        if i != 11:
            graph_users.append({
                "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                "displayName": f"{first} {last}",
                "mail": primary,
                "userPrincipalName": primary,
                "proxyAddresses": [f"SMTP:{primary}", f"smtp:{alias}"],
                "mailboxSettings": {"timeZone": windows_zone},
                "officeLocation": office,
            })  # fmt: skip
            mailbox_of[user["id"]] = (graph_users[-1]["id"], zone)
        _work_for(user, zone, monday, rng, add, types, projects, customers, projects_with_tasks, time_types)

    for extra in ("boardroom", "it-admin"):
        graph_users.append({
            "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
            "displayName": extra.replace("-", " ").title(),
            "mail": f"{extra}@{DOMAIN}", "userPrincipalName": f"{extra}@{DOMAIN}",
            "proxyAddresses": [f"SMTP:{extra}@{DOMAIN}"],
            "mailboxSettings": {"timeZone": "Eastern Standard Time"},
            "officeLocation": "New York",
        })  # fmt: skip

    openair = {
        "company": {"id": CREDENTIALS["company"], "timezone": "America/New_York"},
        "accounts": [CREDENTIALS],
        "records": records,
    }
    events: dict[str, Any] = {}
    if incumbent:
        from sandbox.sample.incumbent import events_for

        events = events_for(records, mailbox_of)
    graph = {"tenantId": TENANT_ID, "users": graph_users, "events": events}
    return {"openair": openair, "graph": graph}


def _work_for(
    user: dict[str, Any],
    zone: str,
    monday: dt.date,
    rng: random.Random,
    add: Any,
    types: dict[str, dict[str, Any]],
    projects: list[dict[str, Any]],
    customers: list[dict[str, Any]],
    projects_with_tasks: list[tuple[dict[str, Any], list[dict[str, Any]]]],
    time_types: list[dict[str, Any]],
) -> None:
    uid = user["id"]
    type_names = list(types)

    def booking(start: dt.date, end: dt.date, type_name: str, *, times: tuple[str, str] | None = None,
                hours: float | None = None, notes: str = "") -> None:  # fmt: skip
        project = rng.choice(projects)
        days = (end - start).days + 1
        hrs = hours if hours is not None else 8.0 * days
        add("Booking", userid=uid, projectid=project["id"], customerid=project["customerid"], project_taskid="",
            booking_typeid=types[type_name]["id"], startdate=_date(start), enddate=_date(end),
            starttime=times[0] if times else "", endtime=times[1] if times else "",
            hours=f"{hrs:.2f}", percentage="100", as_percentage="0", notes=notes,
            approval_status=rng.choice(["A", "A", "S", "O"]), externalid="", ownerid=uid, repeatid="")  # fmt: skip

    # A few all-day and timed bookings over the next eight weeks, of every type.
    for _ in range(rng.randint(3, 5)):
        start = monday + dt.timedelta(days=rng.randint(0, 55))
        booking(start, start + dt.timedelta(days=rng.randint(0, 4)), rng.choice(type_names),
                notes=rng.choice(["", "Kick-off with the client team.", "Remote; VPN access needed."]))  # fmt: skip
    for _ in range(rng.randint(1, 3)):
        day = monday + dt.timedelta(days=rng.randint(0, 40))
        h = rng.choice([8, 9, 13])
        length = rng.choice([2, 3, 4])
        booking(day, day, rng.choice(["Confirmed", "Tentative", "Internal"]),
                times=(f"{day} {h:02d}:00:00", f"{day} {h + length:02d}:00:00"), hours=float(length))  # fmt: skip
    # One booking that crosses this user's next DST change, when their zone has one.
    change = _next_dst_change(zone, monday)
    if change is not None:
        booking(change - dt.timedelta(days=2), change + dt.timedelta(days=2), "Confirmed",
                notes="Spans the daylight saving change.")  # fmt: skip
    if int(uid) % 9 == 0:
        booking(monday, monday + dt.timedelta(days=6 * 365), "Internal", notes="Standing internal allocation.")

    for _project, tasks in rng.sample(projects_with_tasks, 2):
        task = rng.choice(tasks)
        add("Projecttaskassign", projecttaskid=task["id"], userid=uid,
            planned_hours=rng.choice(["0", "8", "16", "24.5"]), allocation="", booking_id="")  # fmt: skip

    if rng.random() < 0.6:
        start = monday + dt.timedelta(days=rng.randint(7, 60))
        days = rng.randint(1, 5)
        tt = rng.choice(time_types)
        status = rng.choice(["A", "A", "P", "O", "R"])
        req = add("Schedulerequest", userid=uid, startdate=_date(start),
                  enddate=_date(start + dt.timedelta(days=days - 1)), date=_date(start),
                  name=tt["name"], description=f"{tt['name']} request", notes="",
                  number=str(rng.randint(100, 999)), prefix="SR", approval_status=status,
                  timetypeid=tt["id"], projectid="", customerid="")  # fmt: skip
        for d in range(days):
            add("Schedulerequest_item", schedule_requestid=req["id"], userid=uid, timetypeid=tt["id"],
                date=_date(start + dt.timedelta(days=d)), hours="8.00")  # fmt: skip
