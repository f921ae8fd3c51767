"""Request parameters read as Binance reads them: strictly, with Binance's error codes.

Binance checks each parameter's text against a pattern before it looks at the value,
so ``1e308``, ``1_0``, full-width digits or a leading space never reach a filter: they
are ``-1100`` naming the parameter and the pattern. A decimal with more places than
the asset's precision is ``-1111``. Python's ``int``/``float`` accept all of those
(``int("1_0") == 10``), which is why nothing here calls them on raw text.
"""

from __future__ import annotations

import re

DECIMAL_PATTERN = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_PATTERN = r"^[0-9]{1,20}$"
CLIENT_ID_PATTERN = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"
PRECISION = 8  # baseAssetPrecision and quotePrecision of every market served

_DECIMAL = re.compile(DECIMAL_PATTERN, re.ASCII)
_INTEGER = re.compile(INTEGER_PATTERN, re.ASCII)
_CLIENT_ID = re.compile(CLIENT_ID_PATTERN, re.ASCII)


class ApiError(Exception):
    """A refused request: the HTTP status and Binance's error code and message."""

    def __init__(self, status: int, code: int, msg: str) -> None:
        super().__init__(msg)
        self.status, self.code, self.msg = status, code, msg


def missing_param(name: str) -> ApiError:
    return ApiError(
        400, -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def illegal_chars(name: str, pattern: str) -> ApiError:
    return ApiError(
        400, -1100, f"Illegal characters found in parameter '{name}'; legal range is '{pattern}'."
    )


def decimal_param(params: dict[str, str], name: str, *, required: bool) -> float | None:
    """A positive decimal (price, quantity, ...): -1102 when required and not sent (or
    zero, as Binance answers ``quantity=0``), -1100 off the pattern, -1111 with more
    than ``PRECISION`` places."""
    raw = params.get(name)
    if raw is None or raw == "":
        if required:
            raise missing_param(name)
        return None
    match = _DECIMAL.fullmatch(raw)
    if match is None:
        raise illegal_chars(name, DECIMAL_PATTERN)
    if len((match.group(2) or ".")[1:].rstrip("0")) > PRECISION:
        raise ApiError(400, -1111, f"Parameter '{name}' has too much precision.")
    value = float(raw)
    if not value > 0:
        raise missing_param(name)
    return value


def integer_param(params: dict[str, str], name: str) -> int | None:
    """A non-negative integer (ids, times in ms, limits), None when not sent; -1100
    off the pattern (a sign, a space, an underscore, a non-ASCII digit)."""
    raw = params.get(name)
    if raw is None or raw == "":
        return None
    if _INTEGER.fullmatch(raw) is None:
        raise illegal_chars(name, INTEGER_PATTERN)
    return int(raw)


def client_id_param(params: dict[str, str], name: str) -> str:
    """A client order id ('' when not sent): at most 36 characters of Binance's
    alphabet, else -1100."""
    raw = params.get(name)
    if raw is None or raw == "":
        return ""
    if _CLIENT_ID.fullmatch(raw) is None:
        raise illegal_chars(name, CLIENT_ID_PATTERN)
    return raw


def limit_param(params: dict[str, str], default: int, most: int, *, clamp: bool = False) -> int:
    """``limit`` (``default`` when not sent): -1100 off the pattern; 0, or above
    ``most`` unless ``clamp`` (Binance serves at most ``most`` then), is -1130."""
    limit = integer_param(params, "limit")
    if limit is None:
        return default
    if clamp:
        limit = min(limit, most)
    if not 1 <= limit <= most:
        raise ApiError(400, -1130, "Data sent for parameter 'limit' is not valid.")
    return limit
