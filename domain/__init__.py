"""The shared words of the exchange, in one place that imports nothing of ours.

- `numbers`: what a dialled number is (E.164, an internal extension) and how it is
  normalised;
- `calls`: call kinds, call states, leg events and hang-up causes;
- `books`: the chart of accounts (ledger book names, transfer kinds, idempotency keys);
- `money`: assets, their smallest units, and `Amount` (units never without their asset);
- `clock`: the UTC clock and the "sleep unless stopped" wait of every background loop.

Every other package may import these; these import only the standard library.
"""
