"""API keys scoped to tenants: which users a key may act for, and what steering it may ask for.

A scoped key file (YAML or JSON, `api_key_file` / `FPPS_API_KEY_FILE`) maps a key id to its
scope; the id is what logs and the audit trail name, never the key:

    keys:
      tenant-a:
        key: "secret-a"                # or sha256: "<hex digest of the key>"
        users: ["alice", "team-a-*"]   # exact ids, "prefix*", or "*" for every user
        limits: {modes: [off, soft, mixed], max_strength: 0.5}
      ops:
        sha256: "9f86d0..."
        admin: true                    # every user, every endpoint, no limits

A key may read and write only its users' sessions and personalize chat only with them (the
chat `user` field); inline `fpps.history` is the caller's own data and needs no user. An
explicit mode or strength beyond the key's limits is a 403 naming the field; a value left
unset resolves to the server default, clamped to the key's `max_strength`.

The older options keep their meaning: `api_keys`, `FPPS_API_KEYS` and a key file of one key
per line give unscoped keys (any user, no limits) that may also use the memory endpoints unless
some admin key exists (`admin_api_keys`, or `admin: true` in a scoped file). With no key
configured at all the server is open and every request acts as the `anonymous` admin.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Literal

__all__ = ["KeyScope", "KeyLimits", "Keyring", "AccessDenied", "InvalidApiKey", "ANONYMOUS", "load_keyring"]

Mode = Literal["off", "hard", "soft", "mixed"]
_MODES: tuple[Mode, ...] = ("off", "hard", "soft", "mixed")


class AccessDenied(PermissionError):
    """The key is valid but its scope does not cover this request (HTTP 403 naming `param`;
    `user` is the user it acted for, for the audit line of the refusal)."""

    def __init__(self, message: str, param: str | None = None, user: str | None = None) -> None:
        super().__init__(message)
        self.param, self.user = param, user


class InvalidApiKey(PermissionError):
    """No key, or a key this server does not know (HTTP 401)."""


@dataclass(frozen=True)
class KeyLimits:
    """What steering a key may ask for; None is unlimited."""

    modes: tuple[Mode, ...] | None = None
    """Steering modes the key may request (and `compare` needs "off" among them)."""
    max_strength: float | None = None
    """Largest `fpps.strength` (alpha) the key may request, in [0, 1]."""

    def __post_init__(self) -> None:
        if self.modes is not None and not set(self.modes) <= set(_MODES):
            raise ValueError(f"limits.modes must be among {list(_MODES)}, got {list(self.modes)}")
        if self.max_strength is not None and not 0.0 <= float(self.max_strength) <= 1.0:
            raise ValueError(f"limits.max_strength must be in [0, 1], got {self.max_strength}")


@dataclass(frozen=True)
class KeyScope:
    """One API key's identity and scope (the key itself is not kept, only its SHA-256)."""

    key_id: str
    sha256: str
    users: tuple[str, ...] = ("*",)
    """User ids the key may act for: exact ids, `prefix*` patterns, or `*`."""
    admin: bool = False
    memory: bool = True
    """Whether the key may use the memory endpoints (for its users)."""
    limits: KeyLimits = KeyLimits()

    def covers(self, user_id: str) -> bool:
        """Whether this key may act for `user_id`."""
        if self.admin:
            return True
        for pattern in self.users:
            if pattern == "*" or pattern == user_id or (
                    pattern.endswith("*") and user_id.startswith(pattern[:-1])):
                return True
        return False

    def check_user(self, user_id: str, param: str) -> None:
        """Raise `AccessDenied` unless the key may personalize with `user_id`."""
        if not self.covers(user_id):
            raise AccessDenied(f"'{param}': API key '{self.key_id}' may not act for user '{user_id}'", param,
                               user_id)

    def check_memory(self, user_id: str) -> None:
        """Raise `AccessDenied` unless the key may read and write `user_id`'s sessions."""
        if not (self.admin or self.memory):
            raise AccessDenied("the memory endpoints need an admin API key (user_id)", "user_id", user_id)
        self.check_user(user_id, "user_id")

    def check_steering(self, mode: str, strength: float, *, mode_given: bool, strength_given: bool,
                       compare: bool, user: str | None = None) -> float:
        """Check a chat request's resolved steering against the limits; return the strength
        to use (an unset strength is clamped to `max_strength`).

        Raises:
            AccessDenied: a mode outside `limits.modes` (param `fpps.mode`), `compare` without
                "off" allowed (`fpps.compare`), or an explicit strength above `max_strength`
                (`fpps.strength`). `user` only travels on the error.
        """
        lim = self.limits
        if self.admin:
            return strength
        if lim.modes is not None and mode not in lim.modes:
            how = "requested" if mode_given else "the server default"
            raise AccessDenied(f"mode '{mode}' ({how}) is not allowed for API key '{self.key_id}'; "
                               f"allowed: {list(lim.modes)}", "fpps.mode", user)
        if compare and lim.modes is not None and "off" not in lim.modes:
            raise AccessDenied(f"'compare' returns an unsteered answer, and API key '{self.key_id}' "
                               "may not use mode 'off'", "fpps.compare", user)
        if lim.max_strength is not None and strength > lim.max_strength:
            if strength_given:
                raise AccessDenied(f"strength {strength} exceeds the limit {lim.max_strength} of API "
                                   f"key '{self.key_id}'", "fpps.strength", user)
            return float(lim.max_strength)
        return strength


ANONYMOUS = KeyScope(key_id="anonymous", sha256="", admin=True)
"""The scope of every request on a server without API keys."""


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


class Keyring:
    """All keys of a server; `authenticate` turns a bearer token into its `KeyScope`."""

    def __init__(self, scopes: Iterable[KeyScope]) -> None:
        self.scopes = tuple(scopes)
        ids = [s.key_id for s in self.scopes]
        if len(ids) != len(set(ids)):
            raise ValueError(f"duplicate API key ids: {sorted({i for i in ids if ids.count(i) > 1})}")

    @property
    def is_open(self) -> bool:
        """No key configured: every request is `ANONYMOUS`."""
        return not self.scopes

    def authenticate(self, token: str | None) -> KeyScope:
        """The scope of `token` (the bearer key). Raises `InvalidApiKey`."""
        if self.is_open:
            return ANONYMOUS
        if not token:
            raise InvalidApiKey("missing API key (Authorization: Bearer <key>)")
        digest = _digest(token)
        found = None
        for s in self.scopes:  # compare all, in constant time each, so timing says nothing
            if hmac.compare_digest(digest, s.sha256):
                found = s
        if found is None:
            raise InvalidApiKey("invalid API key")
        return found


def _scoped(key_id: str, spec: dict[str, Any]) -> KeyScope:
    """One entry of a scoped key file."""
    if not isinstance(spec, dict):
        raise ValueError(f"API key '{key_id}': expected a mapping, got {type(spec).__name__}")
    unknown = set(spec) - {"key", "sha256", "users", "admin", "limits"}
    if unknown:
        raise ValueError(f"API key '{key_id}': unknown fields {sorted(unknown)}")
    if ("key" in spec) == ("sha256" in spec):
        raise ValueError(f"API key '{key_id}': give exactly one of 'key' and 'sha256'")
    digest = _digest(str(spec["key"])) if "key" in spec else str(spec["sha256"]).lower()
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValueError(f"API key '{key_id}': 'sha256' must be 64 hex digits")
    users = spec.get("users", [])
    if isinstance(users, str) or not all(isinstance(u, str) and u for u in users):
        raise ValueError(f"API key '{key_id}': 'users' must be a list of user ids or patterns")
    limits = spec.get("limits") or {}
    if not isinstance(limits, dict) or set(limits) - {"modes", "max_strength"}:
        raise ValueError(f"API key '{key_id}': 'limits' takes 'modes' and 'max_strength'")
    modes = limits.get("modes")
    if modes is not None:  # YAML 1.1 reads a bare `off` as false
        modes = ["off" if m is False else m for m in modes]
    return KeyScope(key_id=str(key_id), sha256=digest, users=tuple(users), admin=bool(spec.get("admin", False)),
                    limits=KeyLimits(modes=tuple(modes) if modes is not None else None,
                                     max_strength=limits.get("max_strength")))


def _read_key_file(path: str) -> tuple[list[KeyScope], list[str]]:
    """`(scoped keys, plain keys)` of a key file: a YAML/JSON mapping with `keys`, or the older
    format of one plain key per line (`#` comments)."""
    import yaml

    text = Path(path).read_text()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as e:
        # A scoped file with a typo must not fall back to "one key per line": its lines would
        # become unscoped keys that act for every user.
        if re.search(r"^\s*[\"']?keys[\"']?\s*:", text, re.M):
            raise ValueError(f"{path}: not valid YAML: {str(e).splitlines()[0]}") from None
        data = None
    if isinstance(data, dict) and "keys" not in data:
        raise ValueError(f"{path}: a YAML/JSON key file needs a top-level 'keys' mapping")
    if isinstance(data, dict):
        entries = data["keys"] or {}
        if not isinstance(entries, dict):
            raise ValueError(f"{path}: 'keys' must map key ids to their scopes")
        return [_scoped(k, v) for k, v in entries.items()], []
    return [], [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]


def load_keyring(api_keys: Iterable[str], admin_api_keys: Iterable[str], api_key_file: str | None) -> Keyring:
    """All keys from the server options, `FPPS_API_KEYS` and the key file (see the module doc).

    Raises:
        ValueError: a malformed scoped key file (it names the key id and field).
    """
    key_file = api_key_file or os.environ.get("FPPS_API_KEY_FILE")
    scoped, plain_from_file = _read_key_file(key_file) if key_file else ([], [])
    plain = [k for k in api_keys if k]
    plain += [k.strip() for k in os.environ.get("FPPS_API_KEYS", "").split(",") if k.strip()]
    plain += plain_from_file
    admins = [k for k in admin_api_keys if k]
    has_admin = bool(admins) or any(s.admin for s in scoped)
    # Legacy keys are named by a short digest prefix: enough to tell them apart in a log,
    # far too little to recover the key.
    scopes = list(scoped)
    seen = {s.sha256 for s in scopes}
    for k in admins:
        d = _digest(k)
        if d not in seen:
            scopes.append(KeyScope(key_id=f"admin-{d[:8]}", sha256=d, admin=True))
            seen.add(d)
    for k in plain:
        d = _digest(k)
        if d not in seen:
            scopes.append(KeyScope(key_id=f"key-{d[:8]}", sha256=d, memory=not has_admin))
            seen.add(d)
    return Keyring(scopes)
