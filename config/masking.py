"""Masking the credentials that URLs carry, for everything finsent prints or logs."""

from __future__ import annotations

import re

MASK = "**********"

# scheme://USERINFO@host: the user-info runs to the last "@" before the path, query or fragment.
_USERINFO = re.compile(r"(?P<scheme>\b[A-Za-z][A-Za-z0-9+.\-]*://)(?P<userinfo>[^/?#\s]*)@")
# ?name=value, &name=value, ;name=value or #name=value (a value runs to the next separator or space).
_PARAMETER = re.compile(r"(?P<lead>[?&;#])(?P<name>[^=&;#\s]+)=(?P<value>[^&;#\s]*)")
_SECRET_WORDS = ("pass", "pwd", "secret", "token", "key", "auth", "credential", "signature")
_SECRET_TOKENS = frozenset({"sig", "sas"})


def mask_url(text: str) -> str:
    """``text`` with the credentials of every URL in it masked: user-info and secret-looking parameters.

    ``https://admin:pw@host/x?token=t&page=2`` → ``https://**********@host/x?token=**********&page=2``.
    A parameter is secret when ``is_secret_name`` says so (``password``, ``access_token``,
    ``api_key``, ``X-Amz-Signature``, ``sig``…): better a harmless value hidden (``author``)
    than a credential shown. Text without such parts comes back unchanged.
    """
    masked = _USERINFO.sub(lambda match: f"{match['scheme']}{MASK}@", text)
    return _PARAMETER.sub(_mask_parameter, masked)


def is_secret_name(name: str) -> bool:
    """Whether a URL parameter named ``name`` carries a credential: its name contains a word of
    ``_SECRET_WORDS`` (case and separators ignored), or is ``sig`` or ``sas`` between separators."""
    lowered = name.lower()
    folded = re.sub(r"[^a-z]", "", lowered)
    return any(word in folded for word in _SECRET_WORDS) or not _SECRET_TOKENS.isdisjoint(re.split(r"[^a-z]+", lowered))


def _mask_parameter(match: re.Match[str]) -> str:
    if not match["value"] or not is_secret_name(match["name"]):
        return match[0]
    return f"{match['lead']}{match['name']}={MASK}"
