"""Chinese full-text search (jieba + Whoosh). Knows documents (dicts), never Flask or models.

The search issue fills this package; until then the site filters lists with plain SQL."""
