"""Every form of the navigator's desk, as Textual modal screens.

Each is constructed with ``(ctx, ...ids)`` and pushed with ``app.push_screen(form, callback)``.
It dismisses with a non-None result after a successful save (the services' JourneyRef, or the
new id) and with None when cancelled (escape).
"""

from navigator.tui.forms.base import FormScreen
from navigator.tui.forms.onward import (
    FeedbackFollowUpForm,
    OnwardForm,
    PartnerUpdateForm,
)
from navigator.tui.forms.person import ClientEditForm, FindReasonForm
from navigator.tui.forms.plan import GoalForm, GoalProgressForm, MeasureForm, ReviewForm
from navigator.tui.forms.referral import ReferralForm
from navigator.tui.forms.steps import (
    CloseForm,
    ContactForm,
    DecisionForm,
    ReassignForm,
    StartForm,
)

__all__ = [
    "ClientEditForm",
    "CloseForm",
    "ContactForm",
    "DecisionForm",
    "FeedbackFollowUpForm",
    "FindReasonForm",
    "FormScreen",
    "GoalForm",
    "GoalProgressForm",
    "MeasureForm",
    "OnwardForm",
    "PartnerUpdateForm",
    "ReassignForm",
    "ReferralForm",
    "ReviewForm",
    "StartForm",
]
