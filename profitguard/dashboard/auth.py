"""Who may use the dashboard: HTTP basic auth, a token for /metrics, and the CSRF check.

Credentials come from the config's `profitguard.dashboard` section, or from Freqtrade's
`api_server` username and password when that section is absent. The dashboard binds
127.0.0.1 by default; any other address needs a password of at least
`MIN_REMOTE_PASSWORD` characters. Passwords are compared in constant time and never
logged or shown (their repr hides them).
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from profitguard.freqtrade.operate_settings import MIN_REMOTE_PASSWORD, DashboardSettings


class AuthSetupError(ValueError):
    """The dashboard cannot start with these credentials on this address."""


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str = field(repr=False)
    metrics_token: str | None = field(default=None, repr=False)
    source: str = "profitguard.dashboard"

    def check_basic(self, header: str | None) -> bool:
        """Whether an `Authorization: Basic …` header carries these credentials."""
        if not header or not header.startswith("Basic "):
            return False
        try:
            decoded = base64.b64decode(header[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        user, sep, password = decoded.partition(":")
        # both compared, always: the time does not tell which one was wrong
        ok_user = secrets.compare_digest(user.encode(), self.username.encode())
        ok_password = secrets.compare_digest(password.encode(), self.password.encode())
        return bool(sep) and ok_user and ok_password

    def check_metrics(self, header: str | None) -> bool:
        if self.metrics_token is None:
            return True
        given = header[7:].strip() if header and header.startswith("Bearer ") else ""
        return secrets.compare_digest(given.encode(), self.metrics_token.encode())


def credentials(settings: DashboardSettings, config: Mapping[str, Any]) -> Credentials:
    """The dashboard's credentials: its own section, else Freqtrade's api_server's."""
    section = config.get("profitguard", {})
    if isinstance(section, Mapping) and "dashboard" in section:
        where = "profitguard.dashboard"
        user, password = settings.username, settings.password
    else:
        where = "api_server"
        api = config.get("api_server") or {}
        user, password = api.get("username"), api.get("password")
    if not user or not password:
        raise AuthSetupError(
            f"no credentials for the dashboard: set 'profitguard.dashboard.username' and "
            f"'.password' (or Freqtrade's 'api_server' ones); {where} has "
            f"{'no username' if not user else 'no password'}"
        )
    if not isinstance(user, str) or not isinstance(password, str):
        raise AuthSetupError(f"'{where}' username and password must be text")
    return Credentials(user, password, settings.metrics_token, where)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_bind(host: str, creds: Credentials) -> None:
    """Refuse to serve beyond this machine with a short password."""
    if not is_loopback(host) and len(creds.password) < MIN_REMOTE_PASSWORD:
        raise AuthSetupError(
            f"--host {host} serves the dashboard beyond this machine: that needs a password of "
            f"at least {MIN_REMOTE_PASSWORD} characters in '{creds.source}' (it has "
            f"{len(creds.password)})"
        )


def same_origin(headers: Mapping[str, str], scheme: str) -> bool:
    """A state-changing request's Origin (else Referer) names this server, or is absent
    (a script, not a browser). A page of another site posting here is refused."""
    origin = headers.get("origin") or headers.get("referer")
    if not origin:
        return True
    if origin == "null":
        return False
    parts = urlsplit(origin)
    host = headers.get("host", "")
    return parts.scheme == scheme and parts.netloc.lower() == host.lower()
