"""Realistic, deterministic demo data: a Kent service's last three years.

``generate(ctx, clients, seed)`` fills an EMPTY store (it refuses one that
already holds people) with navigators and team leads in every lot, people with
one or more referrals, and journeys in every state: contact histories, plans
with goals and notes, SWEMWBS at start and end (mostly improving), onward
referrals with partner updates (some withdrew and need following up), and
follow-ups due and overdue relative to today. The acting user (the store's
admin) gets a caseload of their own, so Today has work on it.

Any day works: every date is made relative to the last working day on or before
today (on a Sunday, Friday; on a bank holiday, the working day before it), with
the domain's working days, and nothing is ever dated after today.

The shape follows the seed figures: about 23% of referrals do not progress,
most of those for no response; waits of a few working days; a few under-17s
and people in crisis rejected; some people referred more than once.

Everything goes through the bulk writer (services/casework/bulk.py), i.e. through the
same domain rules as the services, in one transaction. Same seed and same
today => same data.

This module is ~1,300 lines: the demo's story (people, referral patterns, journeys week by week),
its plan of row ids and its worker-process plumbing. It is one pipeline but not one concern: it is
left whole this round and is the next candidate to split (story, id plan, workers).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import random
import time
import unicodedata
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from itertools import accumulate

from sqlalchemy import func
from sqlmodel import Session, col, select

from navigator.domain import lifecycle as L
from navigator.domain.dates import age_on
from navigator.domain.errors import AccessDenied, DomainError
from navigator.domain.followups import Protocol
from navigator.domain.identifiers import nhs_check_digit
from navigator.domain.workdays import WorkingCalendar
from navigator.services import audit
from navigator.services.casework.bulk import (
    BulkWriter,
    Chase,
    ClientSpec,
    Close,
    Contact,
    Decide,
    FollowUp,
    Goal,
    GoalUpdate,
    JourneySpec,
    Onward,
    PartnerReport,
    Review,
    RowBuilder,
    Start,
    Step,
    gc_paused,
)
from navigator.services.context import Ctx
from navigator.services.setup.users import add_user_in
from navigator.store.models import (
    Client,
    ContactAttempt,
    Journey,
    Locality,
    Lot,
    OnwardReferral,
    PartnerUpdateRow,
    PersonalOutcome,
    Programme,
    ReferralSource,
    SupportArea,
    Task,
    User,
)

Progress = Callable[[int, int], None]

# ---------------------------------------------------------------- fixed lists (no Faker)

FEMALE = [
    "Olivia",
    "Amelia",
    "Isla",
    "Ava",
    "Mia",
    "Ivy",
    "Lily",
    "Isabella",
    "Rosie",
    "Sophia",
    "Grace",
    "Freya",
    "Willow",
    "Emily",
    "Ella",
    "Poppy",
    "Evie",
    "Charlotte",
    "Sienna",
    "Daisy",
    "Phoebe",
    "Harper",
    "Sofia",
    "Alice",
    "Florence",
    "Matilda",
    "Ruby",
    "Esme",
    "Emma",
    "Jessica",
    "Sarah",
    "Rebecca",
    "Laura",
    "Hannah",
    "Lauren",
    "Chloe",
    "Megan",
    "Amy",
    "Katie",
    "Claire",
    "Emma",
    "Nicola",
    "Joanne",
    "Michelle",
    "Lisa",
    "Karen",
    "Julie",
    "Susan",
    "Helen",
    "Tracey",
    "Donna",
    "Deborah",
    "Alison",
    "Angela",
    "Jacqueline",
    "Gillian",
    "Margaret",
    "Patricia",
    "Linda",
    "Barbara",
    "Carol",
    "Christine",
    "Janet",
    "Maureen",
    "Pauline",
    "Sandra",
    "Jean",
    "Sheila",
    "Brenda",
    "Valerie",
    "Asha",
    "Priya",
    "Anjali",
    "Sunita",
    "Fatima",
    "Aisha",
    "Amira",
    "Zainab",
    "Maryam",
    "Noor",
    "Agnieszka",
    "Katarzyna",
    "Oksana",
    "Ioana",
    "Chiamaka",
    "Ngozi",
    "Adaeze",
    "Abena",
    "Grace",
    "Siobhan",
    "Niamh",
    "Aoife",
    "Bronwen",
    "Rhiannon",
    "Kirsty",
    "Shannon",
    "Jade",
    "Leanne",
    "Kelly",
    "Gemma",
    "Stacey",
    "Natalie",
    "Danielle",
    "Zoe",
]
MALE = [
    "Oliver",
    "George",
    "Noah",
    "Arthur",
    "Muhammad",
    "Leo",
    "Harry",
    "Oscar",
    "Archie",
    "Henry",
    "Theodore",
    "Freddie",
    "Jack",
    "Charlie",
    "Thomas",
    "Jacob",
    "Alfie",
    "William",
    "James",
    "Joshua",
    "Daniel",
    "Ryan",
    "Liam",
    "Connor",
    "Callum",
    "Jordan",
    "Luke",
    "Adam",
    "Samuel",
    "Benjamin",
    "Matthew",
    "Joseph",
    "David",
    "Michael",
    "Paul",
    "Mark",
    "Andrew",
    "Richard",
    "Stephen",
    "Robert",
    "Peter",
    "John",
    "Ian",
    "Gary",
    "Steven",
    "Darren",
    "Lee",
    "Wayne",
    "Craig",
    "Simon",
    "Neil",
    "Colin",
    "Keith",
    "Graham",
    "Trevor",
    "Derek",
    "Brian",
    "Kevin",
    "Terry",
    "Raymond",
    "Dennis",
    "Ravi",
    "Sanjay",
    "Arjun",
    "Rahul",
    "Imran",
    "Tariq",
    "Bilal",
    "Yusuf",
    "Omar",
    "Hamza",
    "Piotr",
    "Tomasz",
    "Marek",
    "Andrei",
    "Florin",
    "Chinedu",
    "Emeka",
    "Kwame",
    "Kofi",
    "Tunde",
    "Sean",
    "Ciaran",
    "Declan",
    "Rhys",
    "Gareth",
    "Owen",
    "Dylan",
    "Kieran",
    "Jamie",
    "Dean",
    "Ashley",
    "Shane",
    "Ricky",
    "Aaron",
]
SURNAMES = [
    "Smith",
    "Jones",
    "Taylor",
    "Brown",
    "Williams",
    "Wilson",
    "Johnson",
    "Davies",
    "Robinson",
    "Wright",
    "Thompson",
    "Evans",
    "Walker",
    "White",
    "Roberts",
    "Green",
    "Hall",
    "Wood",
    "Jackson",
    "Clarke",
    "Patel",
    "Khan",
    "Lewis",
    "James",
    "Phillips",
    "Mason",
    "Mitchell",
    "Rose",
    "Davis",
    "Rodriguez",
    "Cox",
    "Alexander",
    "Morgan",
    "Moore",
    "Mills",
    "King",
    "Harris",
    "Cooper",
    "Baker",
    "Ward",
    "Turner",
    "Hill",
    "Edwards",
    "Hughes",
    "Carter",
    "Collins",
    "Shaw",
    "Bennett",
    "Bailey",
    "Price",
    "Chapman",
    "Palmer",
    "Webb",
    "Ellis",
    "Lloyd",
    "Murray",
    "Kelly",
    "Marshall",
    "Simpson",
    "Harvey",
    "Stevens",
    "Fox",
    "Hunt",
    "Barnes",
    "Knight",
    "Pearce",
    "Begum",
    "Ahmed",
    "Hussain",
    "Ali",
    "Akhtar",
    "Rahman",
    "Singh",
    "Kaur",
    "Sharma",
    "Gill",
    "Chaudhry",
    "Shah",
    "Mistry",
    "Okafor",
    "Adeyemi",
    "Mensah",
    "Owusu",
    "Boateng",
    "Nwosu",
    "Okonkwo",
    "Kowalski",
    "Nowak",
    "Wisniewski",
    "Popescu",
    "Ionescu",
    "Murphy",
    "Byrne",
    "O'Brien",
    "O'Connor",
    "McCarthy",
    "Doyle",
    "Kennedy",
    "Quinn",
    "Fletcher",
    "Dixon",
    "Holmes",
    "Gibson",
    "Watts",
    "Hayes",
    "Barker",
    "Lawrence",
    "Russell",
    "Burton",
    "Hart",
    "Atkinson",
    "Stone",
    "Pope",
    "Newman",
    "Fisher",
    "Fuller",
    "Saunders",
    "Hobbs",
    "Godden",
    "Larkin",
    "Buss",
    "Ashdown",
    "Goodwin",
    "Rolfe",
    "Hammond",
    "Wenham",
    "Beal",
    "Pattenden",
    "Catt",
    "Ovenden",
    "Wraight",
    "Tapp",
    "Hogben",
]

# (locality, relative size, outward postcodes, town for addresses)
LOCALITY_DATA = {
    "Dartford": (117, ("DA1", "DA2", "DA4", "DA9", "DA10"), "Dartford"),
    "Gravesham": (107, ("DA11", "DA12", "DA13"), "Gravesend"),
    "Swanley": (40, ("BR8",), "Swanley"),
    "Swale": (151, ("ME9", "ME10", "ME11", "ME12", "ME13"), "Sittingbourne"),
    "Maidstone": (177, ("ME14", "ME15", "ME16", "ME17", "ME18"), "Maidstone"),
    "Tonbridge & Malling": (133, ("TN9", "TN10", "TN11", "ME19", "ME20"), "Tonbridge"),
    "Tunbridge Wells": (116, ("TN1", "TN2", "TN3", "TN4", "TN12", "TN17"), "Tunbridge Wells"),
    "Sevenoaks": (80, ("TN13", "TN14", "TN15", "TN8"), "Sevenoaks"),
    "Ashford": (133, ("TN23", "TN24", "TN25", "TN26", "TN27"), "Ashford"),
    "Canterbury": (110, ("CT1", "CT2", "CT3", "CT4"), "Canterbury"),
    "Coastal": (70, ("CT5", "CT6"), "Herne Bay"),
    "Thanet": (141, ("CT7", "CT8", "CT9", "CT10", "CT11", "CT12"), "Margate"),
    "Dover": (117, ("CT13", "CT14", "CT15", "CT16", "CT17"), "Dover"),
    "Folkestone & Hythe": (110, ("CT18", "CT19", "CT20", "CT21", "TN28", "TN29"), "Folkestone"),
}
STREETS = (
    "High Street",
    "Station Road",
    "Church Lane",
    "London Road",
    "Victoria Road",
    "Mill Lane",
    "Park Avenue",
    "The Street",
    "Queens Road",
    "Kings Road",
    "School Lane",
    "Orchard Close",
    "Hop Garden Way",
    "Oast Court",
    "Marine Parade",
    "Cherry Tree Road",
    "Beech Grove",
    "Chestnut Avenue",
    "St Johns Road",
    "Albion Place",
)
SURGERIES = (
    "Riverside",
    "Medway",
    "Castle",
    "Harbour",
    "Orchard",
    "Priory",
    "Market Square",
    "Weald",
    "Downs",
    "Seaview",
    "Parkwood",
    "Abbey",
)
INWARD_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"

REASONS = {
    "money": "Struggling with debts and rent arrears since losing hours at work; anxious about opening post.",
    "employment": "Out of work for a year; low confidence; would like help towards volunteering or a job.",
    "housing": "Sofa-surfing after a relationship breakdown; worried about where to live.",
    "relationships": "Feels isolated since moving to the area; rarely leaves the house; low mood.",
    "learning": "Wants to build confidence through a course or volunteering after a long illness.",
    "lifestyle": "Low mood linked to weight and inactivity; wants to get more active.",
    "wellbeing": "Recently bereaved; finding it hard to cope; would like to try a group activity.",
}
GOALS = {
    "connect": ("I want to join a local group and meet new people", "I'd like to feel less lonely at weekends"),
    "choice": ("I want to feel more in control of my week", "I want to make my own appointments"),
    "wellbeing": ("I want to sleep better and feel calmer", "I'd like to walk three times a week"),
    "safety": ("I want to feel safe in my own home", "I want to manage my medication on my own"),
    "accommodation": ("I want to find somewhere settled to live", "I want to keep up with my rent"),
    "economic": ("I want to get my debts under control", "I want to check I'm getting the right benefits"),
    "employment": ("I want to start volunteering one day a week", "I want to update my CV and apply for jobs"),
    "conditions": ("I want to understand my diabetes better", "I want to manage my pain day to day"),
    "social_skills": ("I want to feel confident talking in a group", "I'd like to make a phone call without panic"),
    "recovery": ("I want to spot the signs when my mood dips", "I want a plan for bad days"),
}
NOTES = (
    "Went to the first session; found it hard but stayed.",
    "Has been twice now and is enjoying it.",
    "Missed this week; we talked about what got in the way.",
    "Made the call herself; really pleased.",
    "Benefits check done; now receiving the correct award.",
    "Walking most days with a neighbour.",
    "Feeling more settled; sleeping better.",
    "Set up a budget together; first payment made to the creditor.",
)
EVIDENCE = (
    "Goals achieved: attending the peer group weekly; SWEMWBS improved; person says they feel more connected.",
    "Debt plan in place and benefits corrected; person feels in control; SWEMWBS improved.",
    "Now volunteering one day a week; confidence much improved, in their own words.",
    "Settled tenancy; linked with local activities; wellbeing improved by their own account.",
)
CONTACT_NOTES = {
    "voicemail": "Left a voicemail with the service number.",
    "sent": "Opt-in letter sent: please get in touch within 10 working days.",
    "wrong_number": "Number not recognised; asked the referrer to check it.",
}
REFERRER_BY_SOURCE = {
    "gp": lambda r, s: f"Dr {s} ({r.choice(SURGERIES)} Surgery)",
    "cmht": lambda r, s: f"{r.choice(FEMALE + MALE)} {s}, community mental health team",
    "talking_therapies": lambda r, s: "Talking therapies team",
    "housing": lambda r, s: f"{r.choice(FEMALE + MALE)} {s}, housing officer",
    "jobcentre": lambda r, s: f"{r.choice(FEMALE + MALE)} {s}, work coach",
    "voluntary_sector": lambda r, s: "Local community hub",
    "social_care": lambda r, s: f"{r.choice(FEMALE + MALE)} {s}, adult social care",
    "support_line": lambda r, s: "24/7 support line",
    "other": lambda r, s: "Pharmacy",
}
SOURCE_WEIGHTS = {
    "gp": 34,
    "self": 20,
    "cmht": 8,
    "talking_therapies": 7,
    "housing": 6,
    "jobcentre": 5,
    "voluntary_sector": 8,
    "social_care": 5,
    "support_line": 5,
    "other": 2,
}

# Journey paths: (name, weight). About 23% do not progress, most for no response.
PATHS = (
    ("start", 765),
    ("no_response", 140),
    ("declined", 30),
    ("insufficient", 15),
    ("not_aware", 10),
    ("moved_before", 5),
    ("other_before", 3),
    ("crisis", 12),
    ("reject_other", 10),
)
AFTER_START = (
    ("completed", 77),
    ("no_response", 7),
    ("withdrew", 7),
    ("moved_away", 3),
    ("escalated", 3),
    ("other", 3),
)


@dataclass(frozen=True)
class DemoSummary:
    path: str | None
    seed: int
    clients: int
    journeys: int
    by_state: tuple[tuple[str, int], ...]
    contacts: int
    onward_referrals: int
    partner_updates: int
    tasks_open: int
    tasks_due_today: int
    tasks_overdue: int
    my_items: int  # the acting user's Today list (due or overdue)
    users_created: tuple[str, ...]
    seconds: float

    @property
    def journeys_per_second(self) -> float:
        return self.journeys / self.seconds if self.seconds else 0.0


def _id(value: int | None) -> int:
    """A stored row's id (never None once flushed)."""
    assert value is not None
    return value


def _ascii(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if c.isascii() and c.isalnum())


def is_empty(session: Session) -> bool:
    return session.exec(select(func.count()).select_from(Client)).one() == 0


# ---------------------------------------------------------------- the generator


@dataclass(frozen=True)
class _Reference:
    """The reference data the generator draws on (a plain snapshot: a worker process gets a copy)."""

    localities: tuple[tuple[int, str, str], ...]  # (id, name, lot code)
    sources: dict[str, int]
    areas: dict[str, int]
    outcomes: dict[str, int]
    programmes: tuple[int, ...]
    protocol: Protocol
    calendar: WorkingCalendar

    @classmethod
    def load(cls, s: Session, ctx: Ctx) -> _Reference:
        from navigator.services.context import protocol as load_protocol

        # stored rows always have ids: ``_id`` says so to the type checker
        lots = {lot.id: lot.code for lot in s.exec(select(Lot)).all()}
        return cls(
            localities=tuple(
                (_id(loc.id), loc.name, lots[loc.lot_id])
                for loc in s.exec(select(Locality).where(Locality.active).order_by(col(Locality.id))).all()
            ),
            sources={
                code: _id(sid)
                for sid, code in s.exec(
                    select(ReferralSource.id, ReferralSource.code).where(ReferralSource.active)
                ).all()
            },
            areas={
                code: _id(aid)
                for aid, code in s.exec(select(SupportArea.id, SupportArea.code).where(SupportArea.active)).all()
            },
            outcomes={
                code: _id(oid)
                for oid, code in s.exec(
                    select(PersonalOutcome.id, PersonalOutcome.code).where(PersonalOutcome.active)
                ).all()
            },
            programmes=tuple(
                _id(pid)
                for pid in s.exec(select(Programme.id).where(Programme.active).order_by(col(Programme.id))).all()
            ),
            protocol=load_protocol(s),
            calendar=ctx.calendar(s),
        )


class _Gen:
    def __init__(self, ref: _Reference, rng: random.Random, today: date) -> None:
        self.rng, self.today, self.cal, self.p = rng, today, ref.calendar, ref.protocol
        # Every date is made relative to the last working day on or before today (a Sunday's demo
        # is Friday's), and nothing is ever dated after today.
        self.anchor = ref.calendar.on_or_before(today)
        self.wd = ref.calendar.add  # n working days after (before) a date: the domain's working days
        self.nhs_used: set[str] = set()
        self.ref_n = 0
        self.localities = list(ref.localities)
        self.loc_weights = [LOCALITY_DATA.get(name, (80,))[0] for _, name, _ in self.localities]
        self.sources = dict(ref.sources)
        self.areas = dict(ref.areas)
        self.outcomes = dict(ref.outcomes)
        self.programmes = list(ref.programmes)
        self.source_codes = [c for c in SOURCE_WEIGHTS if c in self.sources] or list(self.sources)
        self.source_w = [SOURCE_WEIGHTS.get(c, 1) for c in self.source_codes]
        self._cum: dict[tuple, list[int]] = {}

    # ------------------------------------------------------------ small helpers
    def pick(self, weighted):
        key = weighted if isinstance(weighted, tuple) else tuple(weighted)
        cum = self._cum.get(key)
        if cum is None:
            cum = self._cum[key] = list(accumulate(w for _, w in key))
        return weighted[bisect_right(cum, self.rng.random() * cum[-1])][0]

    def nhs_number(self) -> str:
        r = self.rng
        while True:
            nine = str(r.choice((4, 6, 7))) + "".join(str(r.randrange(10)) for _ in range(8))
            check = nhs_check_digit(nine)
            if check is None:
                continue
            n = nine + str(check)
            if n not in self.nhs_used and len(set(n)) > 1:
                self.nhs_used.add(n)
                return n

    def postcode(self, name: str) -> str:
        outs = LOCALITY_DATA.get(name, (0, ("ME14",), ""))[1]
        r = self.rng
        return f"{r.choice(outs)} {r.randrange(1, 10)}{r.choice(INWARD_LETTERS)}{r.choice(INWARD_LETTERS)}"

    def person(self, locality: tuple[int, str, str], received: date, under_17: bool = False) -> ClientSpec:
        r = self.rng
        first = r.choice(FEMALE if r.random() < 0.6 else MALE)  # more women than men are referred
        last = r.choice(SURNAMES)
        if under_17:
            age_days = r.randrange(16 * 365 + 10, 17 * 365 - 10)
        else:
            age = min(max(int(r.gauss(42, 15)), 17), 88)
            age_days = age * 365 + r.randrange(0, 360)
        dob = received - timedelta(days=age_days)
        if not under_17 and age_on(dob, received) < 17:
            dob -= timedelta(days=30)
        self.ref_n += 1
        loc_id, loc_name, _ = locality
        town = LOCALITY_DATA.get(loc_name, (0, (), loc_name))[2]
        email = (
            f"{_ascii(first).lower()}.{_ascii(last).lower()}{r.randrange(1, 99)}@example.com"
            if r.random() < 0.45
            else None
        )
        phone = f"07700 900{r.randrange(1000):03d}" if r.random() < 0.88 else None
        methods = (
            [("phone", 60)] + ([("text", 20)] if phone else []) + ([("email", 10)] if email else []) + [("letter", 10)]
        )
        return ClientSpec(
            client_ref=f"NAV{self.ref_n:06d}",
            first_name=first,
            last_name=last,
            date_of_birth=dob,
            locality_id=loc_id,
            postcode=self.postcode(loc_name),
            nhs_number=self.nhs_number() if r.random() < 0.85 else None,
            phone=phone,
            email=email,
            address=f"{r.randrange(1, 180)} {r.choice(STREETS)}, {town}" if r.random() < 0.9 else None,
            preferred_method=self.pick(methods),
            imd_decile=r.choices(range(1, 11), (14, 13, 12, 11, 10, 9, 9, 8, 7, 7))[0],
            consent_to_share=r.random() < 0.87,
        )

    def received_date(self) -> date:
        """Three years back, denser in recent months (half uniform, half rising towards today)."""
        r = self.rng
        span = 3 * 365
        u = r.random()
        # uniform, or with a density falling linearly with age (so recent months are busiest)
        age = int(span * u) if r.random() < 0.5 else int(span * (1 - u**0.5))
        return self.cal.on_or_before(self.anchor - timedelta(days=age))

    def referral(
        self, client: ClientSpec, navigator_id: int, received: date, steps: list[Step], locality_id: int
    ) -> JourneySpec:
        r = self.rng
        code = r.choices(self.source_codes, self.source_w)[0]
        areas = r.sample(sorted(self.areas), k=r.choice((1, 1, 2, 2, 3)))
        referrer = REFERRER_BY_SOURCE[code](r, r.choice(SURNAMES)) if code in REFERRER_BY_SOURCE else None
        return JourneySpec(
            client=client,
            navigator_id=navigator_id,
            source_id=self.sources[code],
            received_date=received,
            locality_id=locality_id,
            referrer=referrer,
            reason=REASONS.get(areas[0]),
            support_area_ids=[self.areas[a] for a in areas],
            steps=steps,
            recorded_by=navigator_id,
        )

    def swemwbs_items(self, raw: int) -> tuple[int, ...]:
        raw = min(max(raw, 7), 35)
        items = [1] * 7
        left = raw - 7
        order = list(range(7))
        while left > 0:
            self.rng.shuffle(order)
            for i in order:
                if left and items[i] < 5:
                    items[i] += 1
                    left -= 1
        return tuple(items)

    # ------------------------------------------------------------ one journey's story
    def story(self, received: date, under_17: bool, consent: bool) -> tuple[list[Step], date | None]:
        """The steps of one journey (up to today) and the date it ended (None if still open)."""
        r, wd, p = self.rng, self.wd, self.p
        ev: list[tuple[date, int, Step]] = []  # (date, order on the day, step)

        def add(d: date, order: int, step: Step) -> None:
            ev.append((d, order, step))

        path = "under_17" if under_17 else self.pick(PATHS)
        end: date | None = None
        d = wd(received, r.choices((0, 1, 2, 3, 4, 6), (22, 33, 25, 11, 6, 3))[0])

        def gap(i: int) -> int:
            return p.gaps[i] if i < len(p.gaps) else 2

        def attempts(start: date, n: int, methods: tuple[str, ...]) -> date:
            """n unanswered attempts following the protocol (with a little slack); the last one's date."""
            on = start
            for i in range(n):
                if i:
                    on = wd(on, gap(i - 1) + r.choices((0, 0, 0, 1, 2), k=1)[0])
                method = methods[min(i, len(methods) - 1)]
                outcome = (
                    "sent"
                    if method in ("letter", "text", "email")
                    else r.choice(("no_answer", "no_answer", "voicemail"))
                )
                add(on, 0, Contact(on, method, outcome, CONTACT_NOTES.get(outcome)))
            return on

        def reach(start: date) -> date:
            """0-2 unanswered attempts, then a conversation; the date they spoke."""
            fails = min(r.choices((0, 1, 2), (55, 30, 15))[0], p.attempts - 1)
            on = start
            if fails:
                on = attempts(start, fails, p.methods)
                on = wd(on, gap(fails - 1) + r.choice((0, 0, 1)))
            add(on, 0, Contact(on, "phone", "spoke"))
            return on

        if path == "no_response":
            last = attempts(d, p.attempts, p.methods)
            end = wd(last, p.opt_in_days + r.choices((0, 0, 1, 2, 4), k=1)[0])
            add(end, 9, Close(end, "no_response"))
        elif path in ("declined", "not_aware", "moved_before", "other_before"):
            spoke = reach(d)
            reason = {
                "declined": "declined",
                "not_aware": "not_aware_of_referral",
                "moved_before": "moved_away",
                "other_before": "other",
            }[path]
            on = spoke
            if path == "declined" and r.random() < 0.4:
                on = wd(spoke, r.choice((0, 1, 2)))
                add(on, 1, Decide(on, "accepted"))
            end = wd(on, r.choice((0, 1, 2, 3)))
            add(end, 9, Close(end, reason))
        elif path == "insufficient":
            if r.random() < 0.6:
                add(d, 0, Contact(d, "phone", "wrong_number", CONTACT_NOTES["wrong_number"]))
            end = wd(d, r.choice((3, 5, 8)))
            add(end, 9, Close(end, "insufficient_information"))
        elif path == "under_17":
            # the age is spotted when the referral arrives: rejected that day, the referrer told
            if r.random() < 0.5:
                add(received, 0, Contact(received, "phone", "spoke", "Explained the service is for 17 and over."))
            add(received, 1, Decide(received, "rejected", "under_17"))
            end = received
        elif path in ("crisis", "reject_other"):
            if path == "crisis":
                on = d = received if r.random() < 0.5 else d
                add(on, 0, Contact(on, "phone", "spoke", "Signposted to crisis support (24/7 support line)."))
                add(on, 1, Decide(on, "rejected", "in_crisis"))
                end = on
            else:
                reason = self.pick(
                    (("out_of_area", 40), ("needs_secondary_care", 30), ("duplicate", 15), ("other", 15))
                )
                on = reach(d) if reason != "out_of_area" or r.random() < 0.5 else d
                dec = wd(on, r.choice((0, 0, 1, 2)))
                add(dec, 1, Decide(dec, "rejected", reason))
                end = dec
        else:  # accepted and started
            spoke = reach(d)
            dec = wd(spoke, r.choices((0, 1, 2, 3, 5), (35, 30, 20, 10, 5))[0])
            add(dec, 1, Decide(dec, "accepted"))
            started = wd(dec, r.choices((1, 2, 3, 4, 5, 7, 10, 15, 20), (8, 14, 16, 16, 14, 12, 10, 6, 4))[0])
            end = self._started(add, started, consent)
        ev.sort(key=lambda e: (e[0], e[1]))
        steps = [step for day, _, step in ev if day <= self.today]
        return steps, (end if end is not None and end <= self.today else None)

    def _started(self, add, started: date, consent: bool) -> date:
        r, wd, p = self.rng, self.wd, self.p
        raw0 = min(max(int(r.gauss(19.5, 3.5)), 7), 33)
        add(started, 2, Start(started, self.swemwbs_items(raw0)))
        outcome = self.pick(AFTER_START)
        length = r.randint(35, 90) if outcome == "completed" else r.randint(6, 50)
        end = wd(started, length)
        # the plan: 1-3 goals agreed at sign-up, then notes and reviews
        goal_codes = r.sample(sorted(self.outcomes), k=r.choice((1, 2, 2, 3)))
        for i, code in enumerate(goal_codes):
            add(
                started,
                3,
                Goal(
                    self.outcomes[code],
                    r.choice(GOALS.get(code, ("I want to feel better",))),
                    wd(started, r.choice((40, 50, 60))),
                ),
            )
            first_note = wd(started, r.randint(5, 20))
            if first_note < end:
                add(first_note, 4, GoalUpdate(i, first_note, "in_progress", r.choice(NOTES)))
        review = wd(started, p.review_every + r.choice((-3, -1, 0, 0, 1, 2, 5)))
        while review < end:
            add(
                review,
                5,
                Review(
                    review,
                    "Plan reviewed together; goals still right.",
                    self.swemwbs_items(raw0 + r.randint(-1, 3)) if r.random() < 0.4 else None,
                ),
            )
            review = wd(review, p.review_every + r.choice((-3, 0, 0, 2, 5)))
        # onward referrals (only with consent to share)
        n_onward = r.choices((0, 1, 2), (30, 45, 25))[0] if consent and self.programmes else 0
        made_dates = sorted(d for d in (wd(started, r.randint(1, 15)) for _ in range(n_onward)) if d < end)
        # onward referrals are numbered in the order they are replayed: by date, then as added
        for k, made in enumerate(made_dates):
            add(made, 6, Onward(r.choice(self.programmes), made))
            first = wd(made, r.choices((2, 4, 6, 8, 12, 16), (15, 25, 25, 15, 12, 8))[0])
            what = self.pick((("started", 70), ("did_not_start", 12), ("declined", 8), ("silent", 10)))
            if what == "silent":
                # issue 15: the navigator chases a partner who has not replied (no randomness drawn: the
                # rest of the demo is as before)
                for gap, how in ((10, "phone"), (20, "email")):
                    chased = wd(made, gap)
                    if chased < end:
                        add(chased, 7, Chase(k, chased, how, "Asked whether they have been in touch."))
                continue
            add(first, 7, PartnerReport(k, what, first))
            stopped = first if what != "started" else None
            if what == "started":
                if r.random() < 0.5:
                    att = wd(first, r.randint(8, 20))
                    add(att, 7, PartnerReport(k, "attendance", att, "Attending well."))
                fin = wd(first, r.randint(20, 50))
                fate = self.pick((("completed", 65), ("withdrew", 25), ("ongoing", 10)))
                if fate != "ongoing":
                    note = "Told us they no longer wish to attend." if fate == "withdrew" else None
                    add(fin, 7, PartnerReport(k, fate, fin, note))
                    if fate == "withdrew":
                        stopped = fin
            if stopped is not None and stopped < end:
                fu = wd(stopped, r.choice((1, 2, 3, 5)))
                if fu < end:
                    add(fu, 8, FollowUp(k, fu, "Called to talk it through; agreed a different option."))
        # the end
        if outcome == "completed":
            for i in range(len(goal_codes)):
                status = r.choices(("achieved", "not_achieved"), (82, 18))[0]
                add(end, 8, GoalUpdate(i, end, status))
            raw1 = min(max(raw0 + round(r.gauss(3.5, 3.5)), 7), 35)
            add(end, 9, Close(end, "completed", r.choice(EVIDENCE), self.swemwbs_items(raw1)))
        else:
            if outcome == "no_response":
                last = end
                for i in range(p.attempts):
                    if i:
                        last = wd(last, p.gaps[i - 1])
                    m = p.methods[i]
                    add(last, 0, Contact(last, m, "sent" if m in ("letter", "text", "email") else "no_answer"))
                end = wd(last, p.opt_in_days)
            reason = {
                "no_response": "no_response",
                "withdrew": "withdrew",
                "moved_away": "moved_away",
                "escalated": "escalated_secondary_care",
                "other": "other",
            }[outcome]
            raw1 = min(max(raw0 + round(r.gauss(1, 3)), 7), 35)
            add(end, 9, Close(end, reason, None, self.swemwbs_items(raw1) if r.random() < 0.3 else None))
        return end

    # ------------------------------------------------------------ showcase for the acting user's Today
    def showcase(self) -> list[tuple[date, list[Step]]]:
        """Journeys for the acting user with something due today or overdue: one per kind of follow-up."""
        t, wd, p = self.anchor, self.wd, self.p  # "due today" is due on the last working day
        prog = self.programmes
        first = self.outcomes.get("connect") or next(iter(self.outcomes.values()))

        def unanswered(on: date, i: int) -> Contact:
            m = p.methods[i]
            return Contact(on, m, "sent" if m in ("letter", "text", "email") else "no_answer")

        out: list[tuple[date, list[Step]]] = []
        # awaiting first contact, due today
        out.append((wd(t, -p.first_within), []))
        # next contact attempt, overdue
        r = wd(t, -(p.first_within + 5))
        out.append((r, [unanswered(wd(r, p.first_within), 0)]))
        # due for no-response closure: every attempt unanswered, the opt-in period over
        r = wd(t, -(p.first_within + sum(p.gaps) + p.opt_in_days + 3))
        steps: list[Step] = []
        on = wd(r, p.first_within)
        for i in range(p.attempts):
            if i:
                on = wd(on, p.gaps[i - 1])
            steps.append(unanswered(on, i))
        out.append((r, steps))
        # a decision to record, due today
        r = wd(t, -(p.decide_within + 2))
        out.append((r, [Contact(wd(t, -p.decide_within), "phone", "spoke")]))
        # accepted, waiting to start
        r = wd(t, -8)
        out.append((r, [Contact(wd(r, 1), "phone", "spoke"), Decide(wd(r, 2), "accepted")]))
        # plan review due today
        st = wd(t, -p.review_every)
        r = wd(st, -6)
        out.append(
            (
                r,
                [
                    Contact(wd(r, 1), "phone", "spoke"),
                    Decide(wd(r, 2), "accepted"),
                    Start(st, self.swemwbs_items(18)),
                    Goal(first, "I want to join a local group and meet new people"),
                ],
            )
        )
        if prog:
            # the partner says the person no longer wishes to attend: follow up
            st = wd(t, -25)
            r = wd(st, -5)
            made = wd(st, 2)
            out.append(
                (
                    r,
                    [
                        Contact(wd(r, 1), "phone", "spoke"),
                        Decide(wd(r, 2), "accepted"),
                        Start(st, self.swemwbs_items(20)),
                        Onward(prog[0], made),
                        PartnerReport(0, "started", wd(made, 4)),
                        PartnerReport(0, "withdrew", wd(t, -1), "No longer wishes to attend."),
                    ],
                )
            )
            # no word from the partner: chase them
            st = wd(t, -20)
            r = wd(st, -4)
            out.append(
                (
                    r,
                    [
                        Contact(wd(r, 1), "phone", "spoke"),
                        Decide(wd(r, 1), "accepted"),
                        Start(st, self.swemwbs_items(17)),
                        Onward(prog[-1], wd(st, 1)),
                    ],
                )
            )
        return out


def _make_users(s: Session, ctx: Ctx, rng: random.Random, clients: int) -> tuple[dict[str, list[int]], list[str]]:
    """Navigators (by lot) and team leads. Returns ({lot code: [navigator ids]}, usernames created)."""
    lots = s.exec(select(Lot).where(Lot.active).order_by(col(Lot.id))).all()
    n_nav = min(max(clients // 300, 2 * len(lots)), 400)
    leads_per_lot = 1 if clients < 5000 else 2
    taken = set(s.exec(select(User.username)).all())
    by_lot: dict[str, list[int]] = {lot.code: [] for lot in lots}
    created: list[str] = []
    w = audit.writer(s, ctx)

    def new_user(role: str, lot: Lot) -> int:
        while True:
            first = rng.choice(FEMALE if rng.random() < 0.7 else MALE)
            last = rng.choice(SURNAMES)
            username = f"{_ascii(first).lower()}.{_ascii(last).lower()}"
            if username in taken:
                username = f"{username}{rng.randrange(2, 99)}"
            if username not in taken:
                break
        taken.add(username)
        u = add_user_in(s, ctx, w, username, f"{first} {last}", role, [lot.code])  # the admin service's one way
        created.append(username)
        return _id(u.id)

    for lot in lots:
        for _ in range(leads_per_lot):
            new_user("team_lead", lot)
    for i in range(n_nav):
        lot = lots[i % len(lots)]
        by_lot[lot.code].append(new_user("navigator", lot))
    return by_lot, created


@dataclass(frozen=True)
class _Plan:
    """Everything the journey generator needs, picklable (for a worker process)."""

    clients: int
    today: date
    me: int
    by_lot: dict[str, list[int]]
    ref: _Reference
    rng_state: tuple
    now: datetime
    actor_id: int
    next_ids: dict[str, int]
    expected_days: dict[int, int]


def _produce(plan: _Plan, builder: RowBuilder, emit: Callable[[int], None], every: int) -> None:
    """Generate every person and their journeys into ``builder``; ``emit(done)`` every ``every`` people."""
    rng = random.Random()
    rng.setstate(plan.rng_state)
    today, me, by_lot, clients = plan.today, plan.me, plan.by_lot, plan.clients
    gen = _Gen(plan.ref, rng, today)
    # the acting user works in the West Kent lot (or the first lot) with a navigator's share of people
    my_lot = "Lot 2" if "Lot 2" in by_lot else next(iter(by_lot))
    locs_by_lot: dict[str, list] = {}
    for loc in gen.localities:
        locs_by_lot.setdefault(loc[2], []).append(loc)
    # a navigator's share of the lot's people, at most about 120 people in all
    lot_weight = sum(w for loc, w in zip(gen.localities, gen.loc_weights) if loc[2] == my_lot)
    lot_fraction = lot_weight / sum(gen.loc_weights)
    p_mine = min(1 / (len(by_lot.get(my_lot, [])) + 1), 120 / max(clients * lot_fraction, 1))

    showcase = gen.showcase()
    n_showcase = min(len(showcase), clients)
    for i in range(clients):
        if i and i % every == 0:
            emit(i)
        if i < n_showcase:
            received, steps = showcase[i]
            loc = rng.choice(locs_by_lot.get(my_lot) or gen.localities)
            client = gen.person(loc, received)
            client.consent_to_share = True
            builder.add_journey(gen.referral(client, me, received, steps, loc[0]))
            continue
        loc = rng.choices(gen.localities, gen.loc_weights)[0]
        mine = loc[2] == my_lot and rng.random() < p_mine
        lot_navs = by_lot.get(loc[2]) or [me]
        nav = me if mine else rng.choice(lot_navs)
        received = gen.received_date()
        under_17 = rng.random() < 0.012
        client = gen.person(loc, received, under_17=under_17)
        # one to three referrals over the years, never overlapping
        for n in range(3):
            if under_17 and n > 0:
                break
            steps, ended = gen.story(received, under_17, client.consent_to_share)
            builder.add_journey(gen.referral(client, nav, received, steps, loc[0]))
            if ended is None or rng.random() > (0.13 if n == 0 else 0.2):
                break
            received = gen.wd(ended + timedelta(days=rng.randint(30, 400)), 0)
            if received > today or age_on(client.date_of_birth, received) < 17:
                break
            if rng.random() < 0.3 and lot_navs:
                nav = rng.choice(lot_navs)  # a later referral may go to someone else
    emit(clients)


def _worker(conn, plan: _Plan, batch: int) -> None:
    """A worker process: builds journeys (rules, rows, events) and sends them to the writer in batches."""
    gc.disable()  # as in the writer (bulk.gc_paused); this process ends when the batches are sent
    try:
        builder = RowBuilder(
            today=plan.today,
            now=plan.now,
            actor_id=plan.actor_id,
            protocol=plan.ref.protocol,
            calendar=plan.ref.calendar,
            next_ids=plan.next_ids,
            expected_days=plan.expected_days,
        )

        def emit(done: int) -> None:
            if builder.pending >= batch or done == plan.clients:
                rows, events = builder.take()
                conn.send(("batch", done, rows, events))

        _produce(plan, builder, emit, every=50)
        conn.send(("done", builder.next_ids))
    except (KeyboardInterrupt, BrokenPipeError):
        pass  # interrupted, or the writer stopped listening: it reports, not us
    except Exception as exc:
        message = exc.message if isinstance(exc, DomainError) else f"the demo generator failed ({type(exc).__name__})"
        try:
            conn.send(("error", message))
        except OSError:
            pass
    finally:
        conn.close()


def _can_fork() -> bool:
    return "fork" in multiprocessing.get_all_start_methods() and (os.cpu_count() or 1) > 1


def generate(
    ctx: Ctx, clients: int = 600, seed: int = 1, progress: Progress | None = None, *, workers: int | None = None
) -> DemoSummary:
    """Fill an empty store with demo data (one transaction) and summarise what was created.

    ``workers=2`` builds the journeys in a second process while this one writes (the same data as
    ``workers=1``); by default that happens for 5,000 people or more where the machine allows it.
    """
    if clients < 1:
        raise DomainError("Ask for at least one client.", field="clients")
    if clients > 2_000_000:
        raise DomainError("At most 2,000,000 demo clients.", field="clients")
    started_at = time.perf_counter()
    rng = random.Random(seed)
    today = ctx.today()
    with gc_paused(), ctx.write(bulk=True) as s:
        actor = ctx.actor(s)
        if not actor.is_admin:
            raise AccessDenied("Only an admin can fill a store with demo data.")
        if not is_empty(s):
            n = s.exec(select(func.count()).select_from(Client)).one()
            raise DomainError(
                f"This store already holds {n:,} people, so no demo data was added (it would mix with them). "
                "Demo data goes only into an empty store: use `navigator demo --fresh` to rebuild the demo "
                "store, or `--db NEW_FILE`.",
                field="store",
            )
        by_lot, created = _make_users(s, ctx, rng, clients)
        writer = BulkWriter(s, ctx)
        plan = _Plan(
            clients=clients,
            today=today,
            me=actor.id,
            by_lot=by_lot,
            ref=_Reference.load(s, ctx),
            rng_state=rng.getstate(),
            now=writer.now,
            actor_id=writer.actor_id,
            next_ids=writer.next_ids,
            expected_days=writer.expected_days,
        )
        if workers is None:
            workers = 2 if clients >= 5000 else 1
        parallel = workers > 1 and ctx.store.is_sqlite and _can_fork()
        if parallel:
            _write_from_worker(writer, plan, progress)
        else:

            def emit(done: int) -> None:
                if progress is not None:
                    progress(done, clients)

            _produce(plan, writer, emit, every=max(clients // 200, 1))
            writer.flush()
        summary = _summary(s, ctx, today, actor.id, created, seed, clients)
    seconds = time.perf_counter() - started_at
    return DemoSummary(**(summary | {"seconds": seconds}))


def _write_from_worker(writer: BulkWriter, plan: _Plan, progress: Progress | None) -> None:
    mp = multiprocessing.get_context("fork")
    receive, send = mp.Pipe(duplex=False)
    proc = mp.Process(target=_worker, args=(send, plan, 1000), daemon=True)
    proc.start()
    send.close()
    try:
        while True:
            try:
                message = receive.recv()
            except EOFError:
                raise DomainError("The demo generator stopped unexpectedly; nothing was saved.") from None
            if message[0] == "batch":
                _, done, rows, events = message
                writer.write_rows(rows, events, built_elsewhere=True)
                if progress is not None:
                    progress(done, plan.clients)
            elif message[0] == "done":
                writer.skip_ids(message[1])
                break
            else:
                reason = str(message[1]).rstrip(".")
                raise DomainError(f"Demo data could not be made: {reason}. Nothing was saved.")
    finally:
        receive.close()
        proc.join(timeout=30)
        if proc.is_alive():  # pragma: no cover - only if the writer failed half-way
            proc.terminate()
            proc.join()


def _summary(s: Session, ctx: Ctx, today: date, me: int, created: list[str], seed: int, clients: int) -> dict:
    def count(model, *where) -> int:
        q = select(func.count()).select_from(model)
        for w in where:
            q = q.where(w)
        return s.exec(q).one()

    states = dict(s.exec(select(Journey.state, func.count()).group_by(Journey.state)).all())
    order = [st.value for st in L.State]
    my_items = s.exec(
        select(func.count())
        .select_from(Task)
        .join(Journey, col(Journey.id) == col(Task.journey_id))
        .where(Task.status == "open", Task.due_date <= today, Journey.navigator_id == me)
    ).one()
    return dict(
        path=str(ctx.store.path) if ctx.store.path else None,
        seed=seed,
        clients=count(Client),
        journeys=count(Journey),
        by_state=tuple((st, states.get(st, 0)) for st in order),
        contacts=count(ContactAttempt),
        onward_referrals=count(OnwardReferral),
        partner_updates=count(PartnerUpdateRow),
        tasks_open=count(Task, Task.status == "open"),
        tasks_due_today=count(Task, Task.status == "open", Task.due_date == today),
        tasks_overdue=count(Task, Task.status == "open", Task.due_date < today),
        my_items=my_items,
        users_created=tuple(created),
    )
