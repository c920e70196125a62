"""A small random alliance with subscribers, sends, provider suppressions and evaluations, and
the board report's figures counted again here, plainly, to check the report against.

Everything is kept as plain Python data beside the database, so the expected counts never go
through the code under test.
"""
from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

from mailer.importer import Importer
from mailer.store import Store
from tests.treebuilder import course, session, write_tree

ROLES = ["teaching-assistant", "teacher", "ect", "middle-leader", "senior-leader", "senco"]
PHASES = ["nursery", "infant", "junior", "primary", "secondary", "special", "post-16"]
INTERESTS = ["cpd", "itt", "leadership", "research", "send", "maths", "early-reading"]
STRANDS = ["itt", "cpd", "leadership", "school-support", "sle", "research"]
END = dt.date(2026, 11, 1)          # the report's --to; upcoming = the 13 weeks after it
START = dt.date(2025, 11, 1)
AHEAD = 13


@dataclass
class World:
    root: Path
    db: Path
    people: list[dict] = field(default_factory=list)          # on the list (consent, subscribed)
    courses: dict[str, dict] = field(default_factory=dict)
    sles: dict[str, dict] = field(default_factory=dict)
    schools: dict[str, dict] = field(default_factory=dict)
    sends: dict[str, dict[str, list[int]]] = field(default_factory=dict)   # edition -> audience -> counts
    evaluations: list[tuple[str, int, str, bool]] = field(default_factory=list)


def make_world(tmp_path: Path, *, seed: int = 7, n: int = 420) -> World:
    rng = random.Random(seed)
    schools = {f"school-{i}": {"name": f"Ærøskøbing & Co School {i} <{i}>", "phase": [PHASES[i % len(PHASES)]],
                               "role": "member", "town": "Testwick"} for i in range(1, 13)}
    schools["testwick-primary"] = {"name": "Testwick Primary School", "phase": ["primary"],
                                   "role": "teaching-school", "town": "Testwick"}
    sles = {f"sle-{i}": {"name": f"Sle Person {i}", "school": "testwick-primary",
                         "specialisms": rng.sample(["send", "maths", "early-reading", "science"], 1),
                         "phase": ["primary"], "body": "Bio."} for i in range(6)}
    courses = {}
    for i in range(40):
        day = END + dt.timedelta(days=rng.randint(-60, 150))
        fields = course(title=f"Course {i} & <friends>", strand=rng.choice(STRANDS),
                        audience=rng.sample(ROLES, rng.randint(1, 3)),
                        sessions=[session(day.isoformat(), "15:45", "17:15", venue="online")],
                        facilitators=rng.sample(list(sles), rng.randint(0, 2)))
        if rng.random() < 0.6:
            fields["phase"] = rng.sample(PHASES, rng.randint(1, 2))
        if rng.random() < 0.1:
            fields["status"], fields["booking"] = "cancelled", None
        courses[f"course-{i}"] = fields
    editions = {
        "2026-03-01-spring": {"subject": "Spring news", "date": "2026-03-01", "body": "Hello."},
        "2026-09-01-autumn": {"subject": "Autumn: news & more > less", "date": "2026-09-01", "body": "Hello."},
        "2024-01-01-old": {"subject": "Old", "date": "2024-01-01", "body": "Before the period."},
    }
    root = write_tree(tmp_path / "alliance", schools=schools, sles=sles, courses=courses,
                      newsletters=editions, audiences={"leaders": {"label": "Leaders", "roles": [
                          "middle-leader", "senior-leader", "senco"]}})
    world = World(root, tmp_path / "data" / "mailer.sqlite3", courses=courses, sles=sles,
                  schools={**_default_schools(), **schools})
    _subscribers(world, rng, n)
    _sends(world, rng, ["2026-03-01-spring", "2026-09-01-autumn", "2024-01-01-old"])
    _evaluations(world, rng)
    return world


def _default_schools() -> dict:
    from tests.treebuilder import SCHOOLS
    return {k: dict(v) for k, v in SCHOOLS.items()}


def _subscribers(world: World, rng: random.Random, n: int) -> None:
    school_ids = list(world.schools)
    # a few schools get nobody, so "not reached" has something to say
    reachable = school_ids[:-3]
    path = world.root.parent / "subscribers.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(["email", "first_name", "roles", "phases", "interests", "school", "consent"])
        for i in range(n):
            person = {
                "email": f"p{i}@school.example",
                "roles": rng.sample(ROLES, 1 if rng.random() < 0.85 else 2),
                "phases": rng.sample(PHASES, rng.choice([0, 1, 1, 1, 2])),
                "interests": rng.sample(INTERESTS, rng.randint(0, 3)),
                "school": rng.choice(reachable) if rng.random() < 0.8 else rng.choice(["", "Elsewhere Academy"]),
                "consent": "no" if i % 40 == 0 else "yes",
            }
            out.writerow([person["email"], f"Zoë {i}", ";".join(person["roles"]), ";".join(person["phases"]),
                          ";".join(person["interests"]), person["school"], person["consent"]])
            if person["consent"] == "yes":
                world.people.append(person)
    world.db.parent.mkdir(parents=True, exist_ok=True)
    with Store(world.db) as store:
        result = Importer(store, today=END).import_file(path)
        assert result.skipped == 0, result.messages
        # the last 6 unsubscribe later: off the list
        for person in world.people[-6:]:
            store.unsubscribe(person["email"])
    world.people = world.people[:-6]


def _sends(world: World, rng: random.Random, editions: list[str]) -> None:
    """Plan each edition to everyone on the list (audience: leaders or friends), send most,
    fail a few; then some bounce, complain or unsubscribe (provider suppressions)."""
    leaders = {"middle-leader", "senior-leader", "senco"}
    everyone = list(world.people)
    with Store(world.db) as store:
        ids = {r["email"]: r["id"] for r in store.subscribers()}
        for edition in editions:
            counts: dict[str, list[int]] = {}
            rows = []
            for p in everyone:
                audience = "leaders" if leaders & set(p["roles"]) else "friends"
                rows.append((ids[p["email"]], store.key_for(p["email"]), audience, ""))
            store.plan(edition, rows)
            for audience in ("leaders", "friends"):
                sent = failed = 0
                while True:
                    claim = store.claim(edition, audience, "", 50, "outbox")
                    if claim is None:
                        break
                    if rng.random() < 0.15:
                        failed += store.finish(claim.batch_id, "failed", "refused")
                    else:
                        store.finish_sent(claim.batch_id, {r.ledger_id: f"<m{r.ledger_id}>" for r in claim.readers})
                        sent += len(claim.readers)
                counts[audience] = [sent, failed, 0, 0, 0]      # sent, failed, bounce, complaint, unsub
            world.sends[edition] = counts
        # after the last send: suppressions, each against the last edition sent to that reader
        sent_to = {}
        for edition in editions:
            if edition == "2024-01-01-old":
                continue
            for row in store.conn.execute("SELECT address_hash, audience FROM ledger WHERE edition = ? "
                                          "AND state = 'sent'", (edition,)):
                sent_to[row[0]] = (edition, row[1])
        entries = []
        for p in everyone:
            h = store.key_for(p["email"])        # as the store keeps it (keyed)
            r = rng.random()
            reason = "bounce" if r < 0.06 else "complaint" if r < 0.08 else "unsubscribed" if r < 0.14 else None
            if reason:
                entries.append((h, reason))
                if h in sent_to:
                    edition, audience = sent_to[h]
                    world.sends[edition][audience][{"bounce": 2, "complaint": 3, "unsubscribed": 4}[reason]] += 1
        # each edition was sent on its own date (the test sent them all within a second)
        for edition in editions:
            store.conn.execute("UPDATE ledger SET updated_at = ? WHERE edition = ?",
                               (f"{edition[:10]}T10:00:00Z", edition))
        store.apply_suppressions(entries, "provider")
    # a provider's unsubscribe takes the reader off the list; a bounce or complaint does not
    gone = {h for h, reason in entries if reason == "unsubscribed"}
    with Store(world.db) as store:
        world.people = [p for p in world.people if store.key_for(p["email"]) not in gone]


def _evaluations(world: World, rng: random.Random) -> None:
    evaluated = [c for c in world.courses if world.courses[c].get("status") != "cancelled"][:12]
    with Store(world.db) as store, store.transaction() as conn:
        for k, course_id in enumerate(evaluated):
            for j in range(rng.choice([2, 3, 6, 9, 14])):
                rating = rng.randint(2, 5)
                quote = rng.random() < 0.3
                when = (START + dt.timedelta(days=rng.randint(0, 360))).isoformat()
                change = f"I will change <b>{course_id}</b> & more ({j})"
                conn.execute("INSERT INTO evaluations (course, response_key, submitted_at, rating, change, "
                             "quote_consent, source, imported_at) VALUES (?, ?, ?, ?, ?, ?, 'test', 'now')",
                             (course_id, f"{course_id}-{j}", when, rating, change, int(quote)))
                world.evaluations.append((course_id, rating, change, quote))
            # one outside the period: never counted
            conn.execute("INSERT INTO evaluations (course, response_key, submitted_at, rating, change, "
                         "quote_consent, source, imported_at) VALUES (?, ?, '2020-01-01', 1, '', 0, 'x', 'now')",
                         (course_id, f"{course_id}-old"))


# --- the figures, counted plainly ------------------------------------------------------------------

def upcoming(world: World) -> dict[str, dict]:
    end = END + dt.timedelta(weeks=AHEAD)
    out = {}
    for cid, c in world.courses.items():
        day = dt.date.fromisoformat(c["sessions"][0]["date"])
        if c.get("status") != "cancelled" and END <= day <= end:
            out[cid] = c
    return out


def topics(world: World, c: dict) -> set[str]:
    found = {c["strand"]}
    for f in c.get("facilitators", []):
        found.update(world.sles[f]["specialisms"])
    return found


def expected_interests(world: World) -> dict[str, tuple[int, int]]:
    """interest -> (people, upcoming courses)"""
    offer = upcoming(world)
    out = {}
    for interest in set(i for p in world.people for i in p["interests"]):
        people = sum(1 for p in world.people if interest in p["interests"])
        courses = sum(1 for c in offer.values() if interest in topics(world, c))
        out[interest] = (people, courses)
    return out


def expected_roles(world: World) -> dict[str, tuple[int, int]]:
    offer = upcoming(world)
    return {r: (sum(1 for p in world.people if r in p["roles"]),
                sum(1 for c in offer.values() if r in c["audience"]))
            for r in set(r for p in world.people for r in p["roles"])}


def expected_gaps(world: World) -> list[tuple[str, str, str, int, int]]:
    offer = upcoming(world)
    groups: dict[tuple, int] = {}
    for p in world.people:
        for r in p["roles"]:
            for ph in p["phases"] or [""]:
                for i in p["interests"]:
                    groups[(r, ph, i)] = groups.get((r, ph, i), 0) + 1
    out = []
    for (r, ph, i), n in groups.items():
        if n < 5:
            continue
        courses = sum(1 for c in offer.values() if r in c["audience"] and i in topics(world, c)
                      and (not ph or not c.get("phase") or ph in c["phase"]))
        if courses < 2:
            out.append((r, ph, i, n, courses))
    out.sort(key=lambda g: (g[4], -g[3], g[0], g[1], g[2]))
    return out[:10]


def expected_reach(world: World) -> dict[str, tuple[int, int]]:
    """phase -> (schools with subscribers, schools without)"""
    with_people = {p["school"] for p in world.people}
    out = {}
    for ph in ["nursery", "infant", "junior", "primary", "secondary", "all-through", "special", "post-16"]:
        members = [s for s, d in world.schools.items() if ph in d["phase"]]
        if members:
            out[ph] = (sum(1 for s in members if s in with_people), sum(1 for s in members if s not in with_people))
    return out


def expected_strands(world: World) -> dict[str, tuple[int, int, float, dict[str, int]]]:
    """strand -> (courses, evaluations, mean, evaluations per course)"""
    out: dict[str, list] = {}
    for course_id, rating, _, _ in world.evaluations:
        strand = world.courses[course_id]["strand"]
        row = out.setdefault(strand, [{}, 0, 0])
        row[0][course_id] = row[0].get(course_id, 0) + 1
        row[1] += 1
        row[2] += rating
    return {s: (len(v[0]), v[1], v[2] / v[1], v[0]) for s, v in out.items()}


def shown_total(parts: list[int]) -> str:
    """How a total of counts of people shown elsewhere must read: exact only when no part is
    hidden (else subtraction would reveal a hidden one)."""
    total = sum(parts)
    if total < 5:
        return "fewer than 5"
    if len(parts) == 1 or min(parts) >= 5:
        return f"{total:,}"
    shown = sum(p for p in parts if p >= 5)
    return f"at least {shown:,}" if shown else "fewer than 5 in each group"
