"""All models, imported so ``Base.metadata`` is complete (Alembic, tests).

Every module of this package is imported; the most used classes are re-exported here.
"""

import importlib
import pkgutil

from app.models.base import Base
from app.models.clients import Client, ClientAccess, Household, HouseholdMember
from app.models.organizations import Coc, Organization, Project
from app.models.platform import AuditEvent, EmailMessage, IdempotencyRecord
from app.models.users import AuthSession, Membership, OneTimeToken, RefreshToken, User

__all__ = [
    "AuditEvent",
    "AuthSession",
    "Base",
    "Client",
    "ClientAccess",
    "Coc",
    "EmailMessage",
    "Household",
    "HouseholdMember",
    "IdempotencyRecord",
    "Membership",
    "OneTimeToken",
    "Organization",
    "Project",
    "RefreshToken",
    "User",
]

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")
