"""Privacy: recordings sealed to their owner's key, the least metadata for the least time,
and leaving ("my data", "forget me").

- `keys`: Curve25519 keys of recordings (a Waves account's key, or one made on request);
- `sealing`: the sealed file format (libsodium sealed box + secret stream, via PyNaCl);
- `recorder`: a call's two directions written to a sealed file as they arrive;
- `logs`: what a log line may show of a number, a message or an address;
- `retention`: recordings deleted and call records' numbers cut when their time is up;
- `export`, `forget`: "my data" and "forget me".
"""
