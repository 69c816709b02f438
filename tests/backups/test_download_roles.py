"""The backup download route obeys roles: a backup holds every record and the password hashes."""

from __future__ import annotations

from kms import auth
from kms.backups.routes import download_url
from kms.backups.service import create_backup
from kms.db import session_scope
from kms.modules.users import service as users
from kms.permissions import Role
from tests.backups.helpers import PASSWORD, make_data
from tests.backups.test_interfaces import call
from tests.web_support import session_cookie as cookie_for


def test_only_the_owner_downloads_backups_and_a_deactivated_login_not_at_all(db_url: str) -> None:
    """Inhaber: the file; Mitarbeiter and Steuerberater: 403 with a German reason; a
    deactivated Inhaber's still unexpired cookie: 401."""
    make_data()
    with session_scope() as s:
        auth.create_user(s, username="max", password=PASSWORD, role=Role.STAFF)
        auth.create_user(s, username="stefan", password=PASSWORD, role=Role.ADVISER)
        auth.create_user(s, username="olga", password=PASSWORD, role=Role.OWNER)
    backup = create_backup()
    url = download_url(backup.name)
    status, _headers, body = call(url, cookie_for("olga"))
    assert status == 200 and body == backup.path.read_bytes()
    for name in ("max", "stefan"):
        status, _headers, body = call(url, cookie_for(name))
        assert status == 403
        assert body.decode().startswith("Keine Berechtigung")
    cookie = cookie_for("olga")
    with session_scope() as s:
        users.deactivate(s, "olga")
    assert call(url, cookie)[0] == 401
