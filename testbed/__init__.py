"""Real peers on 127.0.0.1 for the tests and benches: the SIP lab (kamailio + baresip),
prosody, the Telegram Bot API emulator, the Waves node emulator and isolated databases.

Nothing here is product code; tests (`tests/`) and benches (`bench/`) import it.
"""
