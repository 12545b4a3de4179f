"""The exchange: our service as the brain of kamailio (SIP edge) and rtpengine (media).

kamailio registers the phones and relays SIP; rtpengine carries every call's media
(SRTP toward the phones). Both run beside us, as children of `serve` by default, with
configurations written from our settings (`config`, `certs`, `engines`). kamailio asks
our control API (`control`, HTTP on loopback) whose password a phone must know and
where a call may go; the decisions themselves are in `service` and `softphones`.
"""
