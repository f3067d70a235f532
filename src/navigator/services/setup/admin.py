"""The admin services in one namespace (the CLI, the admin screen and older callers use ``admin.X``).

The work lives in one module per concern; this module only re-exports their public names:

- ``users``: accounts, roles, lots (``add_user_in`` is the one way a user is created)
- ``reference_data``: lots, localities, sources, support areas, outcomes
- ``partners``: delivery partners and programmes (``add_partner_in``, ``add_programme_in``)
- ``settings``: the no-response protocol, the service's details, calendar corrections
- ``measures``: SWEMWBS wording, threshold, ONS4
- ``common``: the admin check and text cleaning every one of them uses
"""

from __future__ import annotations

from navigator.services.setup.admin_text import PROTOCOL_LABELS, WORDING_FORMAT  # noqa: F401 - re-exported
from navigator.services.setup.common import (  # noqa: F401 - re-exported
    admin_actor,
    checked_text,
    optional_text,
)
from navigator.services.setup.measures import (  # noqa: F401 - re-exported
    SWEMWBS_ITEMS,
    WORDING_HINT,
    MeasureSettings,
    SwemwbsWording,
    check_threshold,
    check_wording,
    load_wording,
    measure_settings,
    parse_wording,
    set_ons4,
    set_ons4_in,
    set_threshold,
    set_threshold_in,
    set_wording,
    set_wording_in,
    swemwbs_wording,
    threshold_in,
    threshold_text,
    wording_in,
)
from navigator.services.setup.partners import (  # noqa: F401 - re-exported
    PartnerRow,
    ProgrammeRow,
    add_partner,
    add_partner_in,
    add_programme,
    add_programme_in,
    check_days,
    edit_partner,
    edit_partner_in,
    edit_programme,
    edit_programme_in,
    find_partner,
    find_programme,
    get_partner,
    list_partners,
    locality_ids,
    partner_row,
    partner_state,
    programme_localities,
    programme_row,
    programme_state,
    retire_partner,
    retire_programme,
    set_programme_localities,
)
from navigator.services.setup.reference_data import (  # noqa: F401 - re-exported
    CODE_RE,
    KIND_LABELS,
    KIND_MODELS,
    RefRow,
    add_ref_in,
    add_reference,
    check_code,
    check_name_free,
    find_lot,
    find_ref,
    kind_of,
    list_reference,
    ref_row,
    ref_state,
    rename_ref_in,
    rename_reference,
    retire_reference,
    set_ref_active_in,
    unretire_reference,
)
from navigator.services.setup.settings import (  # noqa: F401 - re-exported
    DEFAULT_SERVICE_NAME,
    SERVICE_FIELDS,
    CalendarRow,
    ServiceDetails,
    get_protocol,
    list_calendar,
    protocol_from,
    remove_calendar_day,
    remove_day_in,
    service_details,
    service_in,
    set_calendar_day,
    set_day_in,
    set_protocol,
    set_protocol_in,
    set_service_details,
    set_service_in,
)
from navigator.services.setup.users import (  # noqa: F401 - re-exported
    ROLES,
    USERNAME_RE,
    OpenJourneyRow,
    UserRow,
    active_admins,
    add_user,
    add_user_in,
    check_role,
    check_username,
    deactivate_user,
    edit_user,
    edit_user_in,
    find_user,
    list_users,
    lots_of,
    open_journeys_of,
    reactivate_user,
    resolve_lots,
    set_lots,
    user_row,
    user_state,
)
