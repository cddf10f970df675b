"""Resolve image URLs against their page, as a browser does, and reject what cannot be fetched."""

from __future__ import annotations

from urllib.parse import quote, urljoin, urlsplit, urlunsplit

from curation.extraction.drops import DATA_URL, INVALID_URL, MISSING_SRC, NON_HTTP_URL

FETCHABLE_SCHEMES = ("http", "https")
# Characters left as they are when percent-encoding: the reserved set of RFC 3986 and "%".
URL_SAFE_CHARACTERS = "%:/?#[]@!$&'()*+,;=~"
# Tab and newline are removed from URLs by the URL standard before parsing.
URL_REMOVED_CHARACTERS = str.maketrans("", "", "\t\n\r")


def page_base_url(page_url: str, base_href: str | None) -> str:
    """Return the base URL of a page: its ``<base href>`` resolved against the page URL."""
    if not base_href:
        return page_url
    base_href = base_href.strip().translate(URL_REMOVED_CHARACTERS)
    if not base_href:
        return page_url
    try:
        return urljoin(page_url, base_href)
    except ValueError:
        return page_url


def resolve_image_url(src: str | None, base_url: str) -> tuple[str | None, str | None]:
    """Return ``(absolute_url, None)`` or ``(None, drop_reason)`` for an image ``src``.

    Protocol-relative (``//host/path``) and root-relative (``/path``) forms resolve against
    ``base_url``. The result has a lower-case scheme and host, no fragment, and spaces and
    non-ASCII characters percent-encoded as UTF-8.
    """
    if src is None:
        return None, MISSING_SRC
    src = src.strip().translate(URL_REMOVED_CHARACTERS)
    if not src:
        return None, MISSING_SRC
    if src[:5].lower() == "data:":
        return None, DATA_URL

    try:
        parts = urlsplit(urljoin(base_url, src))
        hostname = parts.hostname
        port = parts.port
    except ValueError:
        return None, INVALID_URL

    scheme = parts.scheme.lower()
    if scheme not in FETCHABLE_SCHEMES:
        return None, NON_HTTP_URL
    if not hostname:
        return None, INVALID_URL

    # NOTE: internationalized host names are kept in Unicode, not converted to punycode.
    netloc = hostname
    if ":" in hostname:
        netloc = f"[{hostname}]"
    if port is not None:
        netloc = f"{netloc}:{port}"
    userinfo, separator, _ = parts.netloc.rpartition("@")
    if separator:
        netloc = f"{userinfo}@{netloc}"

    path = quote(parts.path, safe=URL_SAFE_CHARACTERS)
    query = quote(parts.query, safe=URL_SAFE_CHARACTERS)
    return urlunsplit((scheme, netloc, path, query, "")), None
