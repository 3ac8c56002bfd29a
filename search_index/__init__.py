"""Chinese full-text search (jieba + Whoosh) for the marketplace.

This package knows documents (plain dicts), never Flask or the application's models. The
application talks only to the names exported here; Whoosh is an implementation detail.

A document is a dict with these keys (values are plain Python; absent keys mean empty):

    key            str   unique, "<kind>:<id>", e.g. "achievement:12"
    kind           str   "achievement" | "demand" | "organization"
    id             int   the row id
    title          str
    body           str   public text (summary / description / organisation description)
    keywords       list[str]
    org_name       str
    field          str   technology-field code (second level when known), e.g. "0105"
    field_top      str   its top-level code, e.g. "01"
    district       str   district code
    maturity       str   Maturity code ("" for demands / organisations)
    transfer_modes list[str]  TransferMode codes
    ip_type        str   IPType code
    demand_type    str   DemandType code
    org_type       str   OrgType code
    price_band     str   one of PRICE_BANDS (achievement price / demand budget)
    price          float | None  lower bound in yuan, for sorting only
    published_at   datetime | None (naive UTC)
    version        str   changes whenever the row changes (e.g. updated_at ISO); used by drift checks
"""

from .api import PRICE_BANDS, Hit, SearchIndex, SearchQuery, SearchResult

__all__ = ["PRICE_BANDS", "Hit", "SearchIndex", "SearchQuery", "SearchResult"]
