"""Per-user API tokens: create (the secret shown once), list, revoke, and the user a token names.

A token is ``sop_`` followed by 43 URL-safe characters from ``secrets`` (256 random bits). Only its
SHA-256 is stored, as the lookup key. A slow password hash (scrypt, PBKDF2) protects *low-entropy*
secrets people choose against guessing from a stolen table; a 256-bit random secret cannot be
guessed whatever the hash, while a deterministic hash lets each request find its token by one
indexed equality instead of running a deliberately slow function per API call. A copied table
still gives no usable token.

A token works while it is not revoked, not past its expiry and its account is active; disabling the
account therefore stops its tokens too. Signing out of the browser does not (a token is not a
session). ``last_used_at`` is written at most once a minute per token, so reads stay cheap.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from ..errors import InvalidInput, NotFound
from ..forms import has_control_chars
from ..logs import event
from ..store import ApiToken, User
from .accounts import normalise_username

log = logging.getLogger(__name__)

PREFIX = "sop_"
_SECRET_CHARS = 43  # secrets.token_urlsafe(32): 256 bits
_SHOWN = 12  # characters of the token kept in clear (``sop_`` and 8 random ones) to tell tokens apart
MAX_NAME = 100
TOUCH_EVERY = dt.timedelta(minutes=1)
_TOKEN_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def well_formed(secret: str) -> bool:
    """The shape every token has; anything else is refused without asking the database."""
    body = secret[len(PREFIX):]
    return secret.startswith(PREFIX) and len(body) == _SECRET_CHARS and set(body) <= _TOKEN_CHARS


@dataclass(frozen=True)
class TokenInfo:
    """What a list shows of a token: never its secret (which is not stored)."""

    id: int
    name: str
    prefix: str
    created_at: dt.datetime
    expires_at: dt.datetime | None
    last_used_at: dt.datetime | None
    revoked_at: dt.datetime | None
    username: str

    def status(self, now: dt.datetime | None = None) -> str:
        """"active", "expired" or "revoked"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= (now or utcnow()):
            return "expired"
        return "active"


@dataclass(frozen=True)
class NewToken:
    info: TokenInfo
    secret: str  # shown once, to whoever created it; only its hash is kept


def _info(row: ApiToken, username: str) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.prefix, row.created_at, row.expires_at, row.last_used_at,
                     row.revoked_at, username)


def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == normalise_username(username)))
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def clean_name(name: str | None) -> str:
    """A token's name: what it is for ("laporan-bot"), 1-100 characters, no control characters."""
    text = (name or "").strip()
    if not text:
        raise InvalidInput("a token needs a name saying what it is for (e.g. the script that uses it)")
    if len(text) > MAX_NAME:
        raise InvalidInput(f"a token's name has at most {MAX_NAME} characters")
    if has_control_chars(text):
        raise InvalidInput("a token's name cannot hold control characters")
    return text


def parse_expiry(text: str | None, now: dt.datetime | None = None) -> dt.datetime | None:
    """``YYYY-MM-DD`` (the token works through that day, UTC) or an ISO 8601 time; empty: never.
    A moment already past is refused: such a token could never be used."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text) + dt.timedelta(days=1), dt.time(),
                                         tzinfo=dt.timezone.utc)
        else:
            moment = dt.datetime.fromisoformat(text)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=dt.timezone.utc)
    except ValueError:
        raise InvalidInput(f"'{text[:40]}' is not a date (YYYY-MM-DD) or an ISO 8601 time") from None
    if moment <= (now or utcnow()):
        raise InvalidInput("the expiry date has already passed")
    return moment.astimezone(dt.timezone.utc)


def create_token(session: Session, username: str, name: str | None, *, expires_at: dt.datetime | None = None,
                 now: dt.datetime | None = None) -> NewToken:
    """A new token for the active account ``username``; its secret is in the result and nowhere else."""
    now = now or utcnow()
    user = _user(session, username)
    if not user.active:
        raise InvalidInput(f"user '{user.username}' is disabled; enable the account before giving it a token")
    label = clean_name(name)
    if expires_at is not None and expires_at <= now:
        raise InvalidInput("the expiry date has already passed")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(user_id=user.id, name=label, token_hash=hash_token(secret), prefix=secret[:_SHOWN],
                   created_at=now, expires_at=expires_at, last_used_at=None, revoked_at=None)
    session.add(row)
    session.flush()
    event(log, "token.created", token=row.id, user=user.id)
    return NewToken(_info(row, user.username), secret)


def list_tokens(session: Session, username: str) -> list[TokenInfo]:
    """Every token of ``username``, newest first, revoked and expired ones included (marked)."""
    user = _user(session, username)
    rows = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id)
                           .order_by(ApiToken.created_at.desc(), ApiToken.id.desc()))
    return [_info(r, user.username) for r in rows]


def revoke_token(session: Session, token_id: int, *, user_id: int | None = None,
                 now: dt.datetime | None = None) -> TokenInfo:
    """Revoke token ``token_id`` now. With ``user_id`` (a person on their own page) only their own
    tokens can be named: anyone else's is NotFound, like one that does not exist. Revoking twice is
    harmless (the first time is kept)."""
    row = session.get(ApiToken, token_id) if 0 < token_id < 2**31 else None
    if row is None or (user_id is not None and row.user_id != user_id):
        raise NotFound(f"no token {token_id}")
    if row.revoked_at is None:
        row.revoked_at = now or utcnow()
        session.flush()
        event(log, "token.revoked", token=row.id, user=row.user_id)
    user = session.get(User, row.user_id)
    return _info(row, user.username if user else "?")


@dataclass(frozen=True)
class Bearer:
    """Who a request's token names: the account and the token's id (for logs)."""

    user: User
    token_id: int
    touch: bool  # last_used_at is due to be written


def user_for_token(session: Session, secret: str, now: dt.datetime | None = None) -> Bearer | None:
    """The active account a valid token belongs to, or None (malformed, unknown, revoked, expired,
    account disabled). Logged without the secret."""
    now = now or utcnow()
    if not well_formed(secret or ""):
        event(log, "token.refused", logging.WARNING, token="-", reason="malformed")
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    reason = None
    if row is None:
        reason = "unknown"
    elif row.revoked_at is not None:
        reason = "revoked"
    elif row.expires_at is not None and row.expires_at <= now:
        reason = "expired"
    user = session.get(User, row.user_id) if row is not None and reason is None else None
    if row is not None and reason is None and (user is None or not user.active):
        reason = "inactive account"
    if reason is not None or row is None or user is None:
        event(log, "token.refused", logging.WARNING, token=row.id if row is not None else "-", reason=reason)
        return None
    due = row.last_used_at is None or now - row.last_used_at >= TOUCH_EVERY
    return Bearer(user, row.id, due)


def touch(session: Session, token_id: int, now: dt.datetime | None = None) -> None:
    """Record that the token was used (the caller commits; a read-only database skips it)."""
    row = session.get(ApiToken, token_id)
    if row is not None:
        row.last_used_at = now or utcnow()
        session.flush()
