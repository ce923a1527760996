"""Every model, imported so ``Base.metadata`` knows the whole schema."""
from .base import Base  # noqa: F401
from .library import ClosedDay, Library  # noqa: F401
from .patron import (  # noqa: F401
    AttributeType,
    AuthorisedValue,
    CategoryType,
    LoginThrottle,
    Patron,
    PatronAttribute,
    PatronCategory,
    PatronList,
    PatronListEntry,
    PatronRestriction,
    Permission,
    Privacy,
    RestrictionType,
    StaffPermission,
)
from .catalogue import Item, ItemType, Title  # noqa: F401
from .circulation import (  # noqa: F401
    AccountLine,
    AccountOffset,
    CreditType,
    DebitType,
    ItemTransfer,
    Loan,
    LoanHistory,
    TransferReason,
)
from .hold import Hold, HoldHistory, HoldStatus, InvalidHoldTransition  # noqa: F401
from .rules import ALL, CirculationRule, TransportCost  # noqa: F401
from .settings import PolicyGeneration, SystemPreference  # noqa: F401
from .sip import SipAccount, SipInstitution, SipItemProperties, SipTransaction  # noqa: F401
from .offline import OfflineAction, OfflineStatus, PendingOfflineOperation  # noqa: F401
from .api_client import ApiClient, ApiToken  # noqa: F401
from .audit import AuditEntry  # noqa: F401
from .privacy import PurgeRun, PurgeStatus  # noqa: F401
from .patron_import import ImportJobStatus, PatronImportJob  # noqa: F401
from .notices import (  # noqa: F401
    MessagingPreference,
    Notice,
    NoticeChannel,
    NoticeLoan,
    NoticeStatus,
    NoticeTemplate,
)
from .hold_queue import HoldQueueStaging  # noqa: F401
