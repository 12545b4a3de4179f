"""Which of our languages a person at a phone number most likely understands.

Used for what the other party of a call hears from us ("this call is recorded"): they
are not our user, so their language is guessed from their number's country
(libphonenumber), among the languages we speak.
"""

from __future__ import annotations

import phonenumbers

# Countries where French or Russian is the usual language of a stranger's phone call
# (official and most spoken; bilingual Canada and Belgium stay with the default).
FRENCH = frozenset(
    "FR MC LU BF BJ CD CF CG CI GA GN ML NE SN TD TG PF NC RE GP MQ GF YT PM WF BL MF".split()
)
RUSSIAN = frozenset("RU BY KZ KG".split())


def language_of_number(number: str, default: str = "en") -> str:
    """The language code ("fr", "ru", else `default`) of an E.164 number's country;
    `default` for anything unparsable."""
    try:
        region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
    except phonenumbers.NumberParseException:
        return default
    if region in FRENCH:
        return "fr"
    if region in RUSSIAN:
        return "ru"
    return default
