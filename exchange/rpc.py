"""Our service's calls to kamailio: JSON-RPC 2.0 over HTTP on its loopback listener
(kamailio's jsonrpcs module behind xhttp; deploy/exchange/kamailio.cfg)."""

from __future__ import annotations

import itertools
import logging
from typing import Any

import requests

log = logging.getLogger(__name__)
TIMEOUT = 2.0  # seconds; kamailio answers these from memory


class RpcError(RuntimeError):
    """kamailio could not be reached (`code` 0), or answered the call with an error
    (`code`: its JSON-RPC error code, an HTTP-like status such as 404)."""

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


class KamailioRpc:
    """JSON-RPC client of one kamailio (`url`: http://127.0.0.1:PBX_RPC_PORT/RPC)."""

    def __init__(self, url: str, token: str, timeout: float = TIMEOUT) -> None:
        self.url = url
        self.token = token  # exchange.config.control_token: kamailio refuses calls without
        self.timeout = timeout
        self._ids = itertools.count(1)

    def call(self, method: str, *params: object) -> Any:
        """The `result` of `method(params)`; RpcError when unreachable or refused."""
        body: dict[str, Any] = {
            "jsonrpc": "2.0",
            "method": method,
            "params": list(params),
            "id": next(self._ids),
        }
        try:
            headers = {"X-Exchange-Token": self.token}
            reply = requests.post(self.url, json=body, headers=headers, timeout=self.timeout).json()
        except (requests.RequestException, ValueError) as error:
            raise RpcError(f"kamailio RPC {method}: {type(error).__name__}") from None
        if not isinstance(reply, dict):
            raise RpcError(f"kamailio RPC {method}: not a JSON-RPC answer")
        if "error" in reply:  # jsonrpcs answers errors with an HTTP status as well
            problem = reply["error"]
            message = f"kamailio RPC {method}: {problem.get('message', '?')}"
            raise RpcError(message, int(problem.get("code") or 0))
        return reply.get("result")

    def forget_credentials(self, username: str) -> bool:
        """After a new password: drop kamailio's cached HA1 of `username` (the old password
        stops working at once) and the registrations made with the old one (a phone
        holding stolen credentials stops getting calls). False when kamailio could not be
        told (not running: it then holds neither)."""
        done = True
        for method, params in (
            ("htable.delete", ("auth", username)),
            ("ul.rm", ("location", username)),
        ):
            try:
                self.call(method, *params)
            except RpcError as error:
                if error.code == 404:  # nothing cached, or no registration
                    continue
                log.warning("kamailio not told of %s's new password: %s", username, error)
                done = False
        return done
