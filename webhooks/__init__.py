"""Signed webhooks: the events of an account sent to its URLs (issue 15).

`events` builds the payloads and queues one delivery per matching endpoint (an outbox
in the database, never an HTTP call inline); `dispatcher` sends them, signed by
`signing`, retried with exponential backoff; `addresses` refuses private targets.
"""
