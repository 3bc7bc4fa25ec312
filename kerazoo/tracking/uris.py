"""Credentials in a URI are never shown: one masking function for every message, param, tag
and log line that names a tracking URI or a study storage.

`http://user:secret@host/` and `postgresql://user:secret@host/db` both carry a password in
their user information; kerazoo prints them as `user:***@`. The function works on any text,
so an error message from a library that quotes the URI is masked the same way.
"""

from __future__ import annotations

import re

# scheme://USER:PASSWORD@ : the password runs to the last @ before the host's path.
_USER_INFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^\s/@:]*:)[^\s/]*@")


def masked(text: str) -> str:
    """`text` with the password of every URI in it replaced by `***`."""
    return _USER_INFO.sub(lambda match: f"{match['head']}***@", str(text))
