"""Reference data seeded into a new store (editable data): the service model's lists, and Kent's
lots, localities and partners for the "kent" template."""

from __future__ import annotations

from typing import Any

LOTS = [
    ("Lot 1", "Dartford, Gravesham, Swanley & Swale", ["Dartford", "Gravesham", "Swanley", "Swale"]),
    ("Lot 2", "West Kent", ["Maidstone", "Tonbridge & Malling", "Tunbridge Wells", "Sevenoaks"]),
    ("Lot 3", "Ashford, Canterbury & Coastal", ["Ashford", "Canterbury", "Coastal"]),
    ("Lot 4", "Thanet & South Kent Coast", ["Thanet", "Dover", "Folkestone & Hythe"]),
]

REFERRAL_SOURCES = [
    ("gp", "GP / primary care"),
    ("self", "Self-referral"),
    ("cmht", "Community mental health team"),
    ("talking_therapies", "Talking therapies"),
    ("housing", "Housing"),
    ("jobcentre", "Jobcentre"),
    ("voluntary_sector", "Voluntary sector"),
    ("social_care", "Social care"),
    ("support_line", "24/7 support line"),
    ("other", "Other"),
]

SUPPORT_AREAS = [
    ("money", "Money, debt and benefits"),
    ("employment", "Employment"),
    ("housing", "Housing"),
    ("relationships", "Relationships and social inclusion"),
    ("learning", "Learning and volunteering"),
    ("lifestyle", "Healthy lifestyle"),
    ("wellbeing", "Wellbeing activities"),
]

PERSONAL_OUTCOMES = [
    ("connect", "Connect to community and feel less lonely"),
    ("choice", "Choice, control, feel empowered"),
    ("wellbeing", "Physical and emotional wellbeing"),
    ("safety", "Live safely and independently"),
    ("accommodation", "Stable accommodation"),
    ("economic", "Economic wellbeing (income, debts, benefits)"),
    ("employment", "Stay in or enter employment"),
    ("conditions", "Manage long term conditions"),
    ("social_skills", "Social skills"),
    ("recovery", "Manage own recovery"),
]

# Example partners so a new service has something to pick; admins edit or retire them.
PARTNERS = [
    ("Kent Active Wellbeing", "Resilience and Physical Wellbeing Programme", 10),
    ("Kent Money Advice", "Debt advice", 5),
    ("Kent Works", "Employment support", 10),
    ("Homes First Kent", "Housing-related support", 5),
    ("Peer Connect", "Peer support groups", 10),
    ("Creative Minds Kent", "Arts for wellbeing", 10),
    ("Calm Kent", "Yoga", 10),
    ("Green Paths", "Outdoor activities", 10),
]

#: What `navigator init --template NAME` seeds. Every template has the service model's generic lists
#: (referral sources, support areas, personal outcomes; admins edit or retire them); "kent" adds
#: Kent's lots, localities and example partners, "blank" has no lot, locality or partner at all.
TEMPLATES: dict[str, dict[str, list[Any]]] = {
    "blank": {"lots": [], "partners": []},
    "kent": {"lots": LOTS, "partners": PARTNERS},
}
