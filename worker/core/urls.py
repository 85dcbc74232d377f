"""URL hygiene: tracking parameters out, so one article has one canonical link."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# Query parameters that identify a campaign or a click, never the resource. Sources: Miniflux's
# internal/reader/urlcleaner, ClearURLs' generic rules. Prefixes end with "_".
TRACKING_PARAMS = frozenset({
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "igshid",
    "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok", "spm", "scm", "from", "share_token",
    "share_source", "share_medium", "vd_source", "wfr", "ref_src", "ref_url", "__twitter_impression",
    "si", "oly_enc_id", "oly_anon_id", "rb_clickid", "s_cid", "vero_conv", "vero_id", "_openstat",
    "cmpid", "ncid", "sr_share", "ito", "wt_mc", "wt.mc_id",
})
TRACKING_PREFIXES = ("utm_", "pk_", "mtm_", "hmsr", "hmpl", "hmcu", "hmkw", "hmci", "matomo_")


def web_url(url: str | None) -> str | None:
    """`url` if it is an absolute http(s) URL, else None: a `javascript:` or `data:` item link
    would otherwise be republished as a link that readers open."""
    if not url:
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url if scheme in ("http", "https") else None


def is_tracking_param(name: str) -> bool:
    lowered = name.lower()
    return lowered in TRACKING_PARAMS or lowered.startswith(TRACKING_PREFIXES)


def strip_tracking(url: str) -> str:
    """`url` without tracking query parameters; anything unparseable is returned as it was."""
    if "?" not in url:
        return url
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    query = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in query if not is_tracking_param(k)]
    if len(kept) == len(query):
        return url
    return urlunsplit(parts._replace(query=urlencode(kept)))
