"""Keys of the HTTP API in the chat: "api key" (made, its token shown once), "my api
keys" (listed, never their tokens), "revoke api key 3f2a…" / "revoke all api keys"
(revoked at once: the API looks each key up on every request).

- `keys`: what each request does with the account's keys (storage.api_keys);
- `handlers`: the feature's routes.
"""

from bot.features.api_keys.handlers import router

__all__ = ["router"]
