"""Imports every model so that Alembic and `db.metadata` see the whole schema."""

from .accounts.models import ApiToken, Organization, User  # noqa: F401
from .alerts.models import AlertCheck, EmailOutbox, Notification, SavedSearch  # noqa: F401
from .challenges.models import ApplicationScore, Challenge, ChallengeApplication, ChallengeReviewer  # noqa: F401
from .core.audit import AuditLog  # noqa: F401
from .deals.models import (  # noqa: F401
    ContractAmendment,
    Deal,
    DealBroker,
    DealEvent,
    Installment,
    Invoice,
    InvoiceLine,
    NumberSequence,
    Payment,
    TechContract,
)
from .evaluation.models import *  # noqa: F403 - evaluation requests, panels, scores
from .finance.models import *  # noqa: F403 - products, applications, roadshows
from .inquiries.models import Inquiry, InquiryMessage  # noqa: F401
from .listings.models import Achievement, AchievementPatent, Attachment, Demand  # noqa: F401
from .matching.models import Introduction, MatchResult, MatchState  # noqa: F401
from .outbox_models import SearchOutbox, SearchWord  # noqa: F401
from .providers.models import *  # noqa: F403 - service offerings and requests
from .resources.models import *  # noqa: F403 - experts, instruments, bookings
from .stats.models import STATS_INDEX  # noqa: F401
from .trading.models import Auction, Bid, Bidder, IdempotentRequest, ListingInterest, TradeListing  # noqa: F401
from .valuation.models import *  # noqa: F403 - valuation worksheets
