"""The chat assistant: `assistant/` (the core), `features/` (what it can do, one folder
each), `adapters/` (Telegram, XMPP, console) and `app.py` (the composition root).

Dependencies point one way: adapters → assistant ← features; `app.py` wires them.
"""
