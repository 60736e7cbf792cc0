"""Who may do what with documents (DOMAIN 3 and 6) -- the named rules, no database.

* Document Check (homelessness and disability verification, often medical) is for users acting
  for the shared CAS organization and for admins; everyone else is answered 404 (the
  collection is not theirs to know about).
* Client Files are for whoever may see the client (``clients.access``).
* A document is deleted by the organization that uploaded it, or an admin.
"""

from __future__ import annotations

import uuid

from app.context import Actor


def can_use_document_check(actor: Actor) -> bool:
    return actor.is_admin or actor.organization.is_cas


def can_delete_document(actor: Actor, uploaded_by_organization_id: uuid.UUID) -> bool:
    return actor.is_admin or actor.organization_id == uploaded_by_organization_id
