"""E-mail delivery for admins: send a test e-mail through the configured driver.

The configuration itself is the shop setting `mail_delivery` (PUT /api/admin/settings/
mail_delivery): each change is an event with its actor, and the password is stored sealed
and only ever shown as `password_set`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from api.deps import AdminDep, ContainerDep
from api.schemas.errors import STAFF, errors
from api.schemas.mail_delivery import MailTestAnswer

router = APIRouter(prefix="/api/admin", tags=["settings"], responses=errors(*STAFF))


# JWT only (seed). A refused login or an unreachable server is sent: false with the reason,
# not an error status: the answer is what the admin asked for.
@router.post("/test-email", response_model=MailTestAnswer)
def send_test_email(caller: AdminDep, container: ContainerDep) -> dict[str, Any]:
    """Send a test e-mail to the calling admin's address; the mail server's answer."""
    return vars(container.mail_delivery.test(caller.user.email))
