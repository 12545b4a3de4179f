"""The privacy intents in the parser, in en, fr and ru: the recording default
(`record_calls` with `on`), the recordings (`recordings` with `delete`), their key
(`recording_key` with `new`), a wallet to link (`link_wallet` with `address`,
`signature`, `public_key`), the user's data (`my_data`) and leaving (`forget_me`); and
their neighbours (calls with `record`, reminders, money, history, numbers, the softphone,
forwarding) left as they were."""

from __future__ import annotations

import random
from datetime import datetime

import base58
import pytest

from nlu import command_of, parse
from nlu.commands import (
    ForgetMe,
    LinkWallet,
    MyData,
    RecordCalls,
    RecordingKey,
    Recordings,
    Unknown,
)

NOW = datetime.fromisoformat("2026-11-28T10:00:00")
ADDRESS = "3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn"
TESTNET = "3MuVqVJGmFsHeuFni5RbjRmALuGCkEwzZtC"


def ask(text: str, region: str | None = "FR") -> dict:
    return parse(text, NOW, "Europe/Paris", region)


def b58(size: int, seed: int) -> str:
    """base58 of `size` random bytes (64: a signature, 32: a public key)."""
    return base58.b58encode(random.Random(seed).randbytes(size)).decode()


# --- record_calls ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("record all my calls", "en"),
        ("record my calls from now on", "en"),
        ("always record", "en"),
        ("Always record my calls please", "en"),
        ("please record all my calls", "en"),
        ("I want all my calls recorded", "en"),
        ("turn on call recording", "en"),
        ("enable recording", "en"),
        ("record everything", "en"),
        ("recrod all my calls", "en"),
        ("reccord all my calls", "en"),
        ("enregistre tous mes appels", "fr"),
        ("enregistrez tous mes appels", "fr"),
        ("enregistre toujours mes appels", "fr"),
        ("active l'enregistrement des appels", "fr"),
        ("je veux que tous mes appels soient enregistrés", "fr"),
        ("pourrais-tu enregistrer tous mes appels ?", "fr"),
        ("записывай все мои звонки", "ru"),
        ("всегда записывай звонки", "ru"),
        ("записывай разговоры", "ru"),
        ("включи запись звонков", "ru"),
        ("записвай все мои звонки", "ru"),
        ("record calls", "en"),
        ("turn on recording of my calls", "en"),
        ("enregistre mes appels", "fr"),
        ("enregistre mes appels à partir de maintenant", "fr"),
        ("enregistre automatiquement mes appels", "fr"),
        ("record all incoming calls", "en"),
        ("включи автоматическую запись звонков", "ru"),
        ("записывай звонки", "ru"),
    ],
)
def test_every_call_is_to_be_recorded(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["on"]) == ("record_calls", lang, True), got
    assert command_of(got) == RecordCalls(lang=lang, on=True)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("stop recording my calls", "en"),
        ("don't record my calls", "en"),
        ("do not record my calls", "en"),
        ("never record my calls", "en"),
        ("don't record calls anymore", "en"),
        ("I don't want my calls recorded", "en"),
        ("can you stop recording my calls please", "en"),
        ("stop recording", "en"),
        ("call recording off", "en"),
        ("disable call recording", "en"),
        ("turn off recordings", "en"),
        ("arrête d'enregistrer mes appels", "fr"),
        ("n'enregistre plus mes appels", "fr"),
        ("n'enregistre pas mes appels", "fr"),
        ("ne plus enregistrer mes appels", "fr"),
        ("désactive l'enregistrement des appels", "fr"),
        ("je ne veux plus que mes appels soient enregistrés", "fr"),
        ("не записывай мои звонки", "ru"),
        ("перестань записывать звонки", "ru"),
        ("больше не записывай звонки", "ru"),
        ("хватит записывать мои звонки", "ru"),
        ("не надо записывать мои звонки", "ru"),
        ("выключи запись звонков", "ru"),
        ("отключи запись разговоров", "ru"),
        ("выключи режим записи", "ru"),
    ],
)
def test_calls_are_no_longer_to_be_recorded(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["on"]) == ("record_calls", lang, False), got
    assert "negated" not in got
    assert command_of(got) == RecordCalls(lang=lang, on=False)


@pytest.mark.parametrize(
    "text",
    [
        "call +33 6 12 34 56 78 and record it",
        "appelle +33 6 12 34 56 78 et enregistre l'appel",
        "позвони на +7 903 111 22 33 и запиши разговор",
        "record my calls to +33 6 12 34 56 78",
    ],
)
def test_record_in_a_call_request_is_the_calls_record(text):
    got = ask(text)
    assert (got["intent"], got["record"]) == ("call", True), got
    assert got["to"] is not None


@pytest.mark.parametrize(
    "text",
    [
        "call mom and record it",
        "appelle maman et enregistre",
        "позвони маме и запиши разговор",
        "call me and record the call",
        "record this call",
    ],
)
def test_record_with_a_call_and_no_number_stays_a_call(text):
    got = ask(text)
    assert (got["intent"], got["record"]) == ("call", True), got


# --- recordings -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my recordings", "en"),
        ("My Recordings?", "en"),
        ("list my recordings", "en"),
        ("show recordings", "en"),
        ("recordings", "en"),
        ("my call recordings", "en"),
        ("show my recorded calls", "en"),
        ("play my recordings", "en"),
        ("play the recording", "en"),
        ("my recodings", "en"),
        ("lsit my recordings", "en"),
        ("mes enregistrements", "fr"),
        ("affiche mes enregistrements", "fr"),
        ("mes enregistrments", "fr"),
        ("enregistrement des appels", "fr"),
        ("мои записи", "ru"),
        ("покажи записи звонков", "ru"),
        ("записи разговоров", "ru"),
        # the recording of calls named alone: listed, never switched on
        ("call recording", "en"),
        ("recording of my calls", "en"),
        ("l'enregistrement des appels", "fr"),
        ("запись разговоров", "ru"),
        ("запись звонков", "ru"),
    ],
)
def test_the_recordings_are_listed(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["delete"]) == ("recordings", lang, False), got
    assert command_of(got) == Recordings(lang=lang, delete=False)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("delete my recordings", "en"),
        ("erase all recordings", "en"),
        ("wipe all my recordings", "en"),
        ("remove my recordings", "en"),
        ("delet my recordings", "en"),
        ("supprime mes enregistrements", "fr"),
        ("efface tous mes enregistrements", "fr"),
        ("удали мои записи", "ru"),
        ("удали все записи", "ru"),
        ("сотри записи звонков", "ru"),
        ("удали запись звонков", "ru"),
    ],
)
def test_the_recordings_are_deleted(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["delete"]) == ("recordings", lang, True), got
    assert command_of(got) == Recordings(lang=lang, delete=True)


@pytest.mark.parametrize(
    "text",
    ["don't delete my recordings", "ne supprime pas mes enregistrements", "не удаляй мои записи"],
)
def test_a_deletion_asked_not_to_be_done_only_lists(text):
    got = ask(text)
    assert (got["intent"], got["delete"]) == ("recordings", False), got


@pytest.mark.parametrize(
    "text",
    [
        "delete the last recording",
        "delete this recording",
        "supprime cet enregistrement",
        "удали эту запись",
        "удали запись звонка",
    ],
)
def test_one_recording_named_to_be_deleted_never_deletes_them_all(text):
    # `delete` deletes every recording: one named alone is not read as that.
    got = ask(text)
    assert got.get("delete") is not True, got


# --- recording_key --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my recording key", "en"),
        ("recording key", "en"),
        ("show my recording key", "en"),
        ("my encryption key", "en"),
        ("my key", "en"),
        ("ma clé d'enregistrement", "fr"),
        ("ma clé de chiffrement", "fr"),
        ("ma clé", "fr"),
        ("мой ключ записей", "ru"),
        ("ключ для записей", "ru"),
        ("мой ключ", "ru"),
        ("what is my key?", "en"),
        ("what's my recording key", "en"),
        ("quelle est ma clé ?", "fr"),
        ("какой у меня ключ", "ru"),
        ("покажи мой ключ", "ru"),
    ],
)
def test_the_recording_key_is_shown(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["new"]) == ("recording_key", lang, False), got
    assert command_of(got) == RecordingKey(lang=lang, new=False)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("make me a recording key", "en"),
        ("new recording key", "en"),
        ("create a key for my recordings", "en"),
        ("generate a new recording key", "en"),
        ("reset my recording key", "en"),
        ("new key", "en"),
        ("make me a key", "en"),
        ("crée-moi une clé d'enregistrement", "fr"),
        ("crée-moi une clé", "fr"),
        ("nouvelle clé d'enregistrement", "fr"),
        ("создай ключ для записей", "ru"),
        ("создай ключ", "ru"),
        ("новый ключ записи", "ru"),
        ("новый ключ шифрования", "ru"),
        ("génère une nouvelle clé", "fr"),
        ("сгенерируй новый ключ", "ru"),
    ],
)
def test_a_new_recording_key_is_asked_for(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"], got["new"]) == ("recording_key", lang, True), got
    assert command_of(got) == RecordingKey(lang=lang, new=True)


@pytest.mark.parametrize(
    "text", ["don't make a new key", "ne crée pas de nouvelle clé", "не создавай новый ключ"]
)
def test_a_new_key_asked_not_to_be_made_only_shows_the_key(text):
    got = ask(text)
    assert (got["intent"], got["new"]) == ("recording_key", False), got


# --- link_wallet ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "address"),
    [
        (f"link my wallet {ADDRESS}", "en", ADDRESS),
        (f"link wallet {TESTNET}", "en", TESTNET),
        (f"Link my Waves wallet: {ADDRESS}", "en", ADDRESS),
        (f"link {ADDRESS}", "en", ADDRESS),
        (f"connect my wallet {ADDRESS}", "en", ADDRESS),
        (f"my wallet is {ADDRESS}", "en", ADDRESS),
        (f"link my walet {ADDRESS}", "en", ADDRESS),
        (f"lier mon portefeuille {ADDRESS}", "fr", ADDRESS),
        (f"associe mon portefeuille {ADDRESS}", "fr", ADDRESS),
        (f"привяжи кошелёк {ADDRESS}", "ru", ADDRESS),
        (f"привяжи мой кошелек {ADDRESS}", "ru", ADDRESS),
        (f"вот мой кошелёк {ADDRESS}", "ru", ADDRESS),
        ("link my wallet", "en", None),
        ("connect my wallet", "en", None),
        ("lier mon portefeuille", "fr", None),
        ("привязать кошелек", "ru", None),
        ("wallet link", "en", None),
        ("connecter mon portefeuille", "fr", None),
        (f"lie mon portefeuille {ADDRESS}", "fr", ADDRESS),
        ("подключи кошелёк", "ru", None),
        ("привязка кошелька", "ru", None),
    ],
)
def test_a_wallet_is_to_be_linked(text, lang, address):
    got = ask(text)
    assert (got["intent"], got["lang"]) == ("link_wallet", lang), got
    assert (got["address"], got["signature"], got["public_key"]) == (address, None, None)
    assert command_of(got) == LinkWallet(lang=lang, address=address)


@pytest.mark.parametrize("address", ["3Pnotanaddress", "3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbO"])
def test_an_address_that_is_none_is_still_taken_as_written(address):
    # The wallet refuses it, echoing what the user typed.
    got = ask(f"link my wallet {address}")
    assert (got["intent"], got["address"]) == ("link_wallet", address), got


SIGNATURE = b58(64, 1)
PUBLIC_KEY = b58(32, 2)


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        (f"{SIGNATURE} {PUBLIC_KEY}", None),
        (f"{PUBLIC_KEY} {SIGNATURE}", None),
        (f"{PUBLIC_KEY}\n{SIGNATURE}", None),
        (f"signature: {SIGNATURE} public key: {PUBLIC_KEY}", "en"),
        (f"key {PUBLIC_KEY}, signature {SIGNATURE}", "en"),
        (f"signature {SIGNATURE} clé publique {PUBLIC_KEY}", "fr"),
        (f"voici la signature {SIGNATURE} et ma clé {PUBLIC_KEY}", "fr"),
        (f"подпись {SIGNATURE} ключ {PUBLIC_KEY}", "ru"),
        (f"ключ: {PUBLIC_KEY} подпись: {SIGNATURE}", "ru"),
    ],
)
def test_a_signature_and_a_public_key_are_told_apart_by_their_length(text, lang):
    got = ask(text)
    assert got["intent"] == "link_wallet", got
    assert (got["signature"], got["public_key"]) == (SIGNATURE, PUBLIC_KEY)
    assert got["address"] is None
    if lang is not None:
        assert got["lang"] == lang
    assert command_of(got) == LinkWallet(
        lang=got["lang"], signature=SIGNATURE, public_key=PUBLIC_KEY
    )


@pytest.mark.parametrize("seed", range(20))
def test_any_signature_and_key_are_read_whole(seed):
    signature, public_key = b58(64, 100 + seed), b58(32, 200 + seed)
    got = ask(f"{public_key} {signature}")
    assert (got["intent"], got["signature"], got["public_key"]) == (
        "link_wallet",
        signature,
        public_key,
    )


def test_half_an_answer_is_still_a_wallet_link():
    got = ask(f"here is my signature {SIGNATURE}")
    assert (got["intent"], got["signature"], got["public_key"]) == ("link_wallet", SIGNATURE, None)
    got = ask(PUBLIC_KEY)
    assert (got["intent"], got["signature"], got["public_key"]) == ("link_wallet", None, PUBLIC_KEY)


def test_the_digits_of_a_signature_are_never_a_phone_number_or_an_amount():
    digits = "5" + "1234567891" * 8 + "ABCDEF"  # 87 characters, long runs of digits
    got = ask(f"signature {digits} key {PUBLIC_KEY}")
    assert (got["intent"], got["signature"], got["public_key"]) == (
        "link_wallet",
        digits,
        PUBLIC_KEY,
    )


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        (f"withdraw 5 waves to my wallet {ADDRESS}", "withdraw"),
        (f"send 5 waves to {ADDRESS}", "withdraw"),
        (f"send 5 waves to my connected wallet {ADDRESS}", "withdraw"),
        (f"retire 5 waves vers mon portefeuille {ADDRESS}", "withdraw"),
        (f"выведи 5 ETT на {ADDRESS}", "withdraw"),
        ("add 10 ETT to my wallet", "deposit"),
        ("ajoute 10 ETT à mon portefeuille", "deposit"),
        ("my wallet", "balance"),
        ("wallet", "balance"),
        ("how much is in my wallet", "balance"),
        ("мой кошелёк", "balance"),
    ],
)
def test_money_about_a_wallet_keeps_its_intent(text, intent):
    assert ask(text)["intent"] == intent


@pytest.mark.parametrize("text", ["link", "link 12345678", "lier", "привязать"])
def test_the_link_command_words_are_no_wallet(text):
    # The bot reads "link" / "link CODE" as its linking command before the parser.
    assert ask(text)["intent"] != "link_wallet"


# --- my_data --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("my data", "en"),
        ("my data pls", "en"),
        ("what do you know about me", "en"),
        ("what do u know about me", "en"),
        ("export my data", "en"),
        ("exprot my data", "en"),
        ("download my data", "en"),
        ("my personal data", "en"),
        ("what data do you have about me", "en"),
        ("what information do you keep on me", "en"),
        ("send me my data", "en"),
        ("mes données", "fr"),
        ("exporte mes données", "fr"),
        ("que savez-vous de moi", "fr"),
        ("mes données personnelles", "fr"),
        ("télécharge mes données", "fr"),
        ("qu'est-ce que vous savez sur moi", "fr"),
        ("мои данные", "ru"),
        ("выгрузи мои данные", "ru"),
        ("что вы обо мне знаете", "ru"),
        ("что ты знаешь обо мне", "ru"),
        ("скачать мои данные", "ru"),
        ("какие данные вы храните обо мне", "ru"),
        ("I'd like a copy of my data", "en"),
        ("can I get my data?", "en"),
        ("send me everything you have on me", "en"),
        ("je veux mes données", "fr"),
        ("exporter mes données", "fr"),
        ("que sais-tu de moi ?", "fr"),
        ("quelles infos as-tu sur moi", "fr"),
        ("что ты обо мне знаешь?", "ru"),
        ("какую информацию вы храните обо мне", "ru"),
        ("выгрузка моих данных", "ru"),
        ("экспорт данных", "ru"),
    ],
)
def test_the_users_data_are_asked_for(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"]) == ("my_data", lang), got
    assert command_of(got) == MyData(lang=lang)


# --- forget_me ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang"),
    [
        ("forget me", "en"),
        ("Forget me please", "en"),
        ("please forget me 🙏", "en"),
        ("forget about me", "en"),
        ("delete my account", "en"),
        ("DELETE MY ACCOUNT", "en"),
        ("hey, can you delete my account?", "en"),
        ("delete my acount", "en"),
        ("erase my data", "en"),
        ("delete all my data", "en"),
        ("delete everything about me", "en"),
        ("close my account", "en"),
        ("remove my account", "en"),
        ("oublie-moi", "fr"),
        ("oubliez-moi", "fr"),
        ("supprime mon compte", "fr"),
        ("ferme mon compte", "fr"),
        ("efface mes données", "fr"),
        ("supprimez mes données", "fr"),
        ("забудь меня", "ru"),
        ("забудьте меня", "ru"),
        ("удали мой аккаунт", "ru"),
        ("удали мой акаунт", "ru"),
        ("удали мои данные", "ru"),
        ("удалите мою учётную запись", "ru"),
        ("закрой мой аккаунт", "ru"),
        ("сотри мои данные", "ru"),
        ("I want to delete my account", "en"),
        ("please erase all my data", "en"),
        ("remove all my personal data", "en"),
        ("je veux supprimer mon compte", "fr"),
        ("effacez toutes mes données", "fr"),
        ("supprime toutes les données", "fr"),
        ("удали все мои данные", "ru"),
        ("хочу удалить аккаунт", "ru"),
    ],
)
def test_the_user_asks_to_be_forgotten(text, lang):
    got = ask(text)
    assert (got["intent"], got["lang"]) == ("forget_me", lang), got
    assert command_of(got) == ForgetMe(lang=lang)


@pytest.mark.parametrize(
    ("text", "lang", "refused"),
    [
        ("don't delete my account", "en", "forget_me"),
        ("ne supprime pas mon compte", "fr", "forget_me"),
        ("не удаляй мой аккаунт", "ru", "forget_me"),
        ("не удаляй мои данные", "ru", "forget_me"),
        ("don't link my wallet", "en", "link_wallet"),
        ("don't export my data", "en", "my_data"),
    ],
)
def test_a_privacy_request_asked_not_to_be_done_is_negated(text, lang, refused):
    got = ask(text)
    assert (got["intent"], got["lang"], got.get("negated"), got.get("negated_intent")) == (
        "unknown",
        lang,
        True,
        refused,
    ), got
    assert command_of(got) == Unknown(
        lang=lang, error="negated request", negated=True, negated_intent=refused
    )


# --- neighbours -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("call me", "call"),
        ("call me tomorrow at 9", "remind"),
        ("delete my reminders", "reminders"),
        ("удали напоминания", "reminders"),
        ("мои напоминания", "reminders"),
        ("remind me to record my calls", "remind"),
        ("напомни записать звонки", "remind"),
        ("remind me tomorrow at 9 to export my data", "remind"),
        ("rappelle-moi demain de supprimer mon compte", "remind"),
        ("напомни завтра удалить мои записи", "remind"),
        ("n'oublie pas de m'appeler demain", "remind"),
        ("не забудь мне позвонить завтра в 9", "remind"),
        ("forward off", "forward_off"),
        ("stop forwarding my calls", "forward_off"),
        ("cancel forwarding", "forward_off"),
        ("forward my calls to +33 6 12 34 56 78", "forward"),
        ("включи переадресацию на +7 903 111 22 33", "forward"),
        ("my numbers", "numbers"),
        ("my number", "set_number"),
        ("hide my number", "caller_id"),
        ("my calls", "history"),
        ("call history", "history"),
        ("my call records", "history"),
        ("records of my calls", "history"),
        ("mes appels", "history"),
        ("мои звонки", "history"),
        ("new sip password", "softphone"),
        ("I forgot my SIP password", "softphone"),
        ("delete my sip account", "softphone"),
        ("hang up", "hangup"),
        ("what can you do", "help"),
        ("my balance", "balance"),
        ("forget it", "unknown"),
        ("забудь", "unknown"),
        ("my account", "unknown"),
        (ADDRESS, "unknown"),
    ],
)
def test_the_neighbours_keep_their_intent(text, intent):
    got = ask(text)
    assert got["intent"] == intent, got


@pytest.mark.parametrize("text", ["not record my calls", "please do not record my calls"])
def test_a_negated_default_never_turns_recording_on(text):
    result = parse(text)
    assert (result["intent"], result["on"]) == ("record_calls", False)
