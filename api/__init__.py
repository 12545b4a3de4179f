"""The HTTP API for CRMs and other systems (FastAPI): every service of the exchange that the
chat offers, for the account of an API key, with signed webhooks and voice 2FA codes.

`api.app.create_app(services)` builds the application (routes per resource in `api/routes/`);
`api.server` serves it inside `python main.py serve` or alone (`python main.py api`).
"""
