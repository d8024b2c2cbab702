"""``finsent api``: history, ad-hoc classification and alerts over HTTP (FastAPI)."""
