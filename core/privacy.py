"""Personal data at the ground level: the keyed hash of customer ids and the suppression list.

Customer ids are pseudonymised with HMAC-SHA256 under a key from the environment
(`privacy.pseudonym_key_env`); without it, a random key is created once in the home folder
(readable by its owner only). The same key gives the same pseudonym, so artifacts stay joinable
for whoever holds the key and for nobody else.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from core.config import Settings
from core.io import write_text

KEY_FILE = ".pseudonym_key"


def pseudonym_key(settings: Settings) -> bytes:
    """The key of the keyed hash: the environment's, or the home folder's own."""
    if env := os.environ.get(settings.privacy.pseudonym_key_env):
        return env.encode()
    path = settings.home / KEY_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_hex(32))
    return path.read_text().strip().encode()


def pseudonym(customer_id: str, key: bytes) -> str:
    """`p_` and the first 20 hex digits of HMAC-SHA256(key, id): stable, not reversible."""
    return "p_" + hmac.new(key, str(customer_id).encode(), hashlib.sha256).hexdigest()[:20]


def pseudonymise(ids: pd.Series, settings: Settings) -> pd.Series:
    key = pseudonym_key(settings)
    return ids.astype(str).map(lambda c: pseudonym(c, key))


def without_sensitive(frame: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """`frame` without the configured sensitive columns (name, email, phone, ...)."""
    sensitive = {c.lower() for c in settings.privacy.sensitive_columns}
    return frame.drop(columns=[c for c in frame.columns if str(c).lower() in sensitive])


def suppression_path(settings: Settings) -> Path:
    return settings.resolve(settings.privacy.suppression_file)


def suppressed(settings: Settings) -> set[str]:
    """Pseudonyms of erased customers (the list never holds a raw id)."""
    path = suppression_path(settings)
    return set(path.read_text().split()) if path.exists() else set()


def suppress(customer_ids: Iterable[str], settings: Settings) -> None:
    key = pseudonym_key(settings)
    known = suppressed(settings) | {pseudonym(c, key) for c in customer_ids}
    write_text(suppression_path(settings), "".join(f"{p}\n" for p in sorted(known)))


def suppressed_among(ids: Iterable[str], settings: Settings) -> set[str]:
    """The raw ids among `ids` that are on the suppression list."""
    gone = suppressed(settings)
    if not gone:
        return set()
    key = pseudonym_key(settings)
    return {c for c in set(map(str, ids)) if pseudonym(c, key) in gone}


def drop_suppressed(frame: pd.DataFrame, settings: Settings, column: str = "customer_id") -> pd.DataFrame:
    """`frame` without the rows of erased customers."""
    if column not in frame:
        return frame
    gone = suppressed_among(frame[column].unique(), settings)
    return frame[~frame[column].astype(str).isin(gone)].reset_index(drop=True) if gone else frame
