"""Extra parser cases in English, French and Russian, for every intent.

All cases are read at NOW (a Saturday), in Europe/Paris unless told otherwise.
"""

from __future__ import annotations

from datetime import datetime

import pytest

from nlu import parse

NOW = "2026-11-28T10:00:00"
PAR, MSK, UTC = "Europe/Paris", "Europe/Moscow", "UTC"
ADDR = "3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn"
WD = ["mon", "tue", "wed", "thu", "fri"]
WE = ["sat", "sun"]


def at_(day: int, hm: str, tz: str = PAR, month: int = 11, year: int = 2026) -> str:
    off = {PAR: "+01:00", MSK: "+03:00", UTC: "+00:00"}[tz]
    return f"{year}-{month:02d}-{day:02d}T{hm}:00{off}"


def call(text, to, frm="me", anon=False, rec=False, at=None, lang="en", tz=PAR, region=None):
    exp = {"intent": "call", "to": to, "from": frm, "anonymous": anon, "record": rec, "at": at}
    return (text, tz, region, {**exp, "lang": lang})


def rem(text, at, has, channel="message", lang="en", tz=PAR, region=None):
    exp = {"intent": "remind", "at": at, "channel": channel, "text_has": has, "lang": lang}
    return (text, tz, region, exp)


def fwd(text, to, days=None, start=None, end=None, caller=None, lang="en", tz=PAR, region=None):
    exp = {"intent": "forward", "to": to, "days": days, "start": start, "end": end}
    return (text, tz, region, {**exp, "caller": caller, "lang": lang})


def one(text, intent, lang="en", tz=PAR, region=None, **slots):
    return (text, tz, region, {"intent": intent, "lang": lang, **slots})


CASES = [
    # ---- call, English
    call("call +33 6 12 34 56 78", "+33612345678"),
    call("+33 6 12 34 56 78", "+33612345678"),
    call("Calll +1 212 555 0123 asap", "+12125550123"),
    call("CALL +1 (212) 555-0123!!! 📞", "+12125550123"),
    call("please ring +44 7911 123456 with hidden number", "+447911123456", anon=True),
    call("dial +33612345678 anonymously", "+33612345678", anon=True),
    call("call 00 33 6 12 34 56 78", "+33612345678"),
    call("phone +1-212-555-0123 and put it on record", "+12125550123", rec=True),
    call("call +1.212.555.0123 tonight at 8", "+12125550123", at=at_(28, "20:00")),
    call("call +1 212 555 0123 at 6:30 tomorrow", "+12125550123", at=at_(29, "06:30")),
    call(
        "call +1 212 555 0123 in 2 hours and record", "+12125550123", rec=True, at=at_(28, "12:00")
    ),
    call("get me +44 20 7946 0123 with caller id hidden", "+442079460123", anon=True),
    call(
        "connect me with +44 20 7946 0123 from +33 6 12 34 56 78",
        "+442079460123",
        frm="+33612345678",
    ),
    call("connect +1 212 555 0123 to +44 20 7946 0123", "+442079460123", frm="+12125550123"),
    call("bridge +44 20 7946 0123 and +33 6 12 34 56 78", "+33612345678", frm="+442079460123"),
    call(
        "call +44 20 7946 0123 and then ring me on +33 6 12 34 56 78",
        "+442079460123",
        frm="+33612345678",
    ),
    call("connect me to +1 212 555 0123 and record it", "+12125550123", rec=True),
    call(
        "call +1 212 555 0123 at 9 from +44 7911 123456",
        "+12125550123",
        frm="+447911123456",
        at=at_(29, "09:00"),
    ),
    call("call +33612345678 at 10", "+33612345678", at=at_(29, "10:00")),
    call("call +33 6 12 34 56 78 at 18:00", "+33612345678", at=at_(28, "18:00")),
    call("call +44 20 7946 0123 2 hours from now", "+442079460123", at=at_(28, "12:00")),
    call("call mom at +33 6 12 34 56 78 on Monday at 9", "+33612345678", at=at_(30, "09:00")),
    call("call 12345", "12345"),  # an internal extension (2-6 digits after a call verb)
    call("call 1234567", None),
    call("call +33 6 12 34", None),
    call("call 06 12 34 56 78", None),
    call("call 06 12 34 56 78", "+33612345678", region="FR"),
    call("please call my mom", None),
    # ---- call, French
    call(
        "appelle le 06 12 34 56 78 à 14h30",
        "+33612345678",
        at=at_(28, "14:30"),
        lang="fr",
        region="FR",
    ),
    call(
        "téléphone à 06.12.34.56.78 en numéro masqué",
        "+33612345678",
        anon=True,
        lang="fr",
        region="FR",
    ),
    call(
        "compose le 06-12-34-56-78 demain midi",
        "+33612345678",
        at=at_(29, "12:00"),
        lang="fr",
        region="FR",
    ),
    call("appelez le +33 1 42 68 53 00 s'il vous plaît", "+33142685300", lang="fr"),
    call("passe-moi le +33 1 42 68 53 00", "+33142685300", lang="fr"),
    call(
        "téléphone au +33 1 42 68 53 00 et enregistre l'appel", "+33142685300", rec=True, lang="fr"
    ),
    call("appelle +33 1 42 68 53 00 anonymement", "+33142685300", anon=True, lang="fr"),
    call("mets-moi en relation avec le +33 1 42 68 53 00", "+33142685300", lang="fr"),
    call(
        "relie le +33 6 12 34 56 78 au +44 20 7946 0123",
        "+442079460123",
        frm="+33612345678",
        lang="fr",
    ),
    call(
        "appelle +33 1 42 68 53 00 depuis mon numéro +33 6 12 34 56 78",
        "+33142685300",
        frm="+33612345678",
        lang="fr",
    ),
    call(
        "appelle le +44 20 7946 0123 dans 10 minutes",
        "+442079460123",
        at=at_(28, "10:10"),
        lang="fr",
    ),
    call("apelle le +33 6 12 34 56 78", "+33612345678", lang="fr"),
    # ---- call, Russian
    call("позвони 8 (916) 123-45-67", "+79161234567", lang="ru", tz=MSK, region="RU"),
    call(
        "позвоните на 8 916 123 45 67 в 18:30",
        "+79161234567",
        at=at_(28, "18:30", MSK),
        lang="ru",
        tz=MSK,
        region="RU",
    ),
    call(
        "позвони на +7 (903) 111-22-33 анонимно и запиши разговор",
        "+79031112233",
        anon=True,
        rec=True,
        lang="ru",
        tz=MSK,
    ),
    call(
        "скрой мой номер и позвони на +7 903 111 22 33",
        "+79031112233",
        anon=True,
        lang="ru",
        tz=MSK,
    ),
    call(
        "соедини +7 903 111 22 33 с +7 916 123 45 67",
        "+79161234567",
        frm="+79031112233",
        lang="ru",
        tz=MSK,
    ),
    call("набери +7 916 123-45-67", "+79161234567", lang="ru", tz=MSK),
    call(
        "звякни на +7 916 123 45 67 через 5 минут",
        "+79161234567",
        at=at_(28, "10:05", MSK),
        lang="ru",
        tz=MSK,
    ),
    call("соедините меня с +7 916 123 45 67", "+79161234567", lang="ru", tz=MSK),
    call(
        "позвони +7 916 123 45 67 со скрытого номера", "+79161234567", anon=True, lang="ru", tz=MSK
    ),
    call(
        "позвони на +7 916 123 45 67 в 9 вечера",
        "+79161234567",
        at=at_(28, "21:00", MSK),
        lang="ru",
        tz=MSK,
    ),
    call(
        "позвони на +7 916 123 45 67 послезавтра в 10",
        "+79161234567",
        at=at_(30, "10:00", MSK),
        lang="ru",
        tz=MSK,
    ),
    call(
        "набери мне +7 916 123 45 67 а потом меня на +7 903 111 22 33",
        "+79161234567",
        frm="+79031112233",
        lang="ru",
        tz=MSK,
    ),
    call(
        "позвони +7 916 123 45 67 с моего номера +7 903 111 22 33",
        "+79161234567",
        frm="+79031112233",
        lang="ru",
        tz=MSK,
    ),
    call("вызови +7 916 123 45 67 и не записывай", "+79161234567", lang="ru", tz=MSK),
    call("позвни на +7 916 123 45 67", "+79161234567", lang="ru", tz=MSK),
    # ---- remind, English
    rem("remind me at 9 pm to take pills", at_(28, "21:00"), ["pills"]),
    rem("remind me at 9 to take pills", at_(29, "09:00"), ["pills"]),
    rem("ping me in 20 minutes to check the oven", at_(28, "10:20"), ["oven"]),
    rem("don't let me forget to pay rent on the 5th", at_(5, "09:00", month=12), ["rent"]),
    rem("REMIND ME TOMORROW AT 14:30 TO CALL MOM!!!", at_(29, "14:30"), ["mom"]),
    rem("remnd me tomorow at 7am to go running", at_(29, "07:00"), ["running"]),
    rem("remind me next friday to send the report", at_(4, "09:00", month=12), ["report"]),
    rem("remind me on december 3 at 6pm about the party", at_(3, "18:00", month=12), ["party"]),
    rem("remind me in half an hour to stretch", at_(28, "10:30"), ["stretch"]),
    rem("remind me in 2 hours 30 minutes to leave", at_(28, "12:30"), ["leave"]),
    rem("remind me in an hour and a half to leave", at_(28, "11:30"), ["leave"]),
    rem("remind me tonight to call dad", at_(28, "20:00"), ["dad"]),
    rem("remind me tomorrow morning to water the plants", at_(29, "09:00"), ["plants"]),
    rem("remind me at noon to eat", at_(28, "12:00"), ["eat"]),
    rem("remind me at midnight to sleep", at_(29, "00:00"), ["sleep"]),
    rem("remind me on Monday at 14:30 to call the doctor", at_(30, "14:30"), ["doctor"]),
    rem("remind me Sunday to call grandma", at_(29, "09:00"), ["grandma"]),
    rem("remind me at 9:30am to join the meeting", at_(29, "09:30"), ["meeting"]),
    rem("remind me in 10 mins to check", at_(28, "10:10"), ["check"]),
    rem("remind me 3/12 at 18:00 about the party", at_(3, "18:00", month=12), ["party"]),
    rem("set a reminder for 5pm to go home", at_(28, "17:00"), ["go home"]),
    rem("can you remind me at 5 to pick up the kids", at_(29, "05:00"), ["kids"]),
    rem("call me tomorrow at 7 to wake me up", at_(29, "07:00"), ["wake"], channel="call"),
    rem("call me at 8pm to remind me to take my meds", at_(28, "20:00"), ["meds"], channel="call"),
    rem("ring me in 15 minutes about the pizza", at_(28, "10:15"), ["pizza"], channel="call"),
    rem("remind me to buy milk", None, ["milk"]),
    rem(
        "hey, could you please remind me about the dentist tomorrow at 3 pm? thanks",
        at_(29, "15:00"),
        ["dentist"],
    ),
    rem("remind me at 2026-12-03 18:00 to renew passport", at_(3, "18:00", month=12), ["passport"]),
    rem("remind me on 03.12.2026 to renew passport", at_(3, "09:00", month=12), ["passport"]),
    rem("remind me to call +33 6 12 34 56 78 at 6pm", at_(28, "18:00"), ["call"]),
    rem("remind me to call 06 12 34 56 78 tomorrow", at_(29, "09:00"), ["06 12"], region="FR"),
    rem("remind me this weekend to clean", at_(5, "09:00", month=12), ["clean"]),
    rem("remind me at half past 5 pm to leave", at_(28, "17:30"), ["leave"]),
    rem("remind me next week to call the bank", at_(30, "09:00"), ["bank"]),
    rem("remind me in 45 minutes to call the bank", at_(28, "10:45", UTC), ["bank"], tz=UTC),
    rem("remind me in a month to renew", at_(28, "10:00", month=12), ["renew"]),
    rem(
        "напомни через месяц продлить подписку",
        at_(28, "10:00", MSK, month=12),
        ["подписку"],
        lang="ru",
        tz=MSK,
    ),
    # ---- remind, French
    rem("Rappelez-moi demain à midi d'acheter du pain", at_(29, "12:00"), ["pain"], lang="fr"),
    rem(
        "fais-moi penser à appeler le plombier lundi à 8h",
        at_(30, "08:00"),
        ["plombier"],
        lang="fr",
    ),
    rem(
        "rappelle-moi le 3 décembre à 18h de l'anniversaire de Marie",
        at_(3, "18:00", month=12),
        ["marie"],
        lang="fr",
    ),
    rem("rappelle-moi ce soir de sortir les poubelles", at_(28, "19:00"), ["poubelles"], lang="fr"),
    rem("rappelle-moi dans une heure de vérifier le four", at_(28, "11:00"), ["four"], lang="fr"),
    rem("rappelle moi dans 1h30 d'arroser les plantes", at_(28, "11:30"), ["plantes"], lang="fr"),
    rem("rappelle-moi à 14h30 la réunion", at_(28, "14:30"), ["réunion"], lang="fr"),
    rem("rappelle-moi demain matin d'appeler le médecin", at_(29, "09:00"), ["médecin"], lang="fr"),
    rem(
        "rappelle-moi vendredi prochain de payer la facture",
        at_(4, "09:00", month=12),
        ["facture"],
        lang="fr",
    ),
    rem("rappelle-moi à 9h du soir de fermer la porte", at_(28, "21:00"), ["porte"], lang="fr"),
    rem(
        "appelle-moi demain à 8h pour me rappeler de prendre le train",
        at_(29, "08:00"),
        ["train"],
        channel="call",
        lang="fr",
    ),
    rem(
        "n'oublie pas de me rappeler de nourrir le chat à 18h",
        at_(28, "18:00"),
        ["chat"],
        lang="fr",
    ),
    rem(
        "rappelle-moi après-demain à 10h de rendre le livre", at_(30, "10:00"), ["livre"], lang="fr"
    ),
    rem("rapelle-moi demain à 9h de payer le loyer", at_(29, "09:00"), ["loyer"], lang="fr"),
    rem(
        "rappelle-moi ce week-end de ranger le garage",
        at_(5, "09:00", month=12),
        ["garage"],
        lang="fr",
    ),
    rem(
        "rappelle-moi d'appeler le 06 12 34 56 78 à 17h",
        at_(28, "17:00"),
        ["appeler"],
        lang="fr",
        region="FR",
    ),
    # ---- remind, Russian
    rem("напомни в 9 утра позвонить маме", at_(29, "09:00", MSK), ["маме"], lang="ru", tz=MSK),
    rem(
        "напомни послезавтра в полдень оплатить интернет",
        at_(30, "12:00", MSK),
        ["интернет"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомните 3 декабря в 18:00 про встречу",
        at_(3, "18:00", MSK, month=12),
        ["встреч"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомни через 20 минут выключить плиту",
        at_(28, "10:20", MSK),
        ["плиту"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомни в пятницу в 7 вечера купить подарок",
        at_(4, "19:00", MSK, month=12),
        ["подарок"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "позвони мне завтра в 9 утра чтобы напомнить о встрече",
        at_(29, "09:00", MSK),
        ["встреч"],
        channel="call",
        lang="ru",
        tz=MSK,
    ),
    rem(
        "не дай мне забыть завтра в 10 отправить отчёт",
        at_(29, "10:00", MSK),
        ["отчёт"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомни через полчаса проверить почту", at_(28, "10:30", MSK), ["почту"], lang="ru", tz=MSK
    ),
    rem("напомни в 14.30 про звонок", at_(28, "14:30", MSK), ["звонок"], lang="ru", tz=MSK),
    rem(
        "напомни завтра в 3 часа дня забрать посылку",
        at_(29, "15:00", MSK),
        ["посылку"],
        lang="ru",
        tz=MSK,
    ),
    rem("напомни в 2 ночи проверить сервер", at_(29, "02:00", MSK), ["сервер"], lang="ru", tz=MSK),
    rem("напомни в воскресенье купить цветы", at_(29, "09:00", MSK), ["цветы"], lang="ru", tz=MSK),
    rem(
        "напомни в следующий понедельник сдать отчёт",
        at_(30, "09:00", MSK),
        ["отчёт"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомните пожалуйста через 2 часа позвонить Ивану",
        at_(28, "12:00", MSK),
        ["ивану"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомни 5 января поздравить друга",
        at_(5, "09:00", MSK, month=1, year=2027),
        ["друга"],
        lang="ru",
        tz=MSK,
    ),
    rem("напомни утром выпить таблетки", at_(29, "09:00", MSK), ["таблетки"], lang="ru", tz=MSK),
    rem(
        "напомни сегодня вечером позвонить бабушке",
        at_(28, "19:00", MSK),
        ["бабушке"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "поставь напоминание на 8:00 сделать зарядку",
        at_(29, "08:00", MSK),
        ["зарядку"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "позвони мне в 7 утра разбудить",
        at_(29, "07:00", MSK),
        [],
        channel="call",
        lang="ru",
        tz=MSK,
    ),
    rem("напомни через 1.5 часа выйти из дома", at_(28, "11:30", MSK), ["дома"], lang="ru", tz=MSK),
    rem("напомини завтра в 9 купить хлеб", at_(29, "09:00", MSK), ["хлеб"], lang="ru", tz=MSK),
    rem(
        "напомни на выходных помыть машину",
        at_(5, "09:00", MSK, month=12),
        ["машину"],
        lang="ru",
        tz=MSK,
    ),
    rem(
        "напомни позвонить 8 916 123 45 67 в 19:00",
        at_(28, "19:00", MSK),
        ["позвонить"],
        lang="ru",
        tz=MSK,
        region="RU",
    ),
    # ---- forward
    fwd(
        "forward all calls to +44 7911 123456 from 9 to 5",
        "+447911123456",
        start="09:00",
        end="17:00",
    ),
    fwd(
        "forward calls to +44 7911 123456 mon-fri 9:00-17:30", "+447911123456", WD, "09:00", "17:30"
    ),
    fwd("forward my calls to +44 7911 123456 on weekends", "+447911123456", WE),
    fwd(
        "forward calls to +44 7911 123456 every day from 20:00 to 08:00",
        "+447911123456",
        None,
        "20:00",
        "08:00",
    ),
    fwd(
        "forward calls from +1 917 555 0146 to +44 7911 123456 monday through thursday",
        "+447911123456",
        ["mon", "tue", "wed", "thu"],
        caller="+19175550146",
    ),
    fwd(
        "please divert my phone to +44 7911 123456 on tuesdays and thursdays",
        "+447911123456",
        ["tue", "thu"],
    ),
    fwd("redirect to +44 7911 123456", "+447911123456"),
    fwd("transfer my calls to +44 7911 123456 until 6pm", "+447911123456", end="18:00"),
    fwd("divert calls to +44 7911 123456 after 6pm", "+447911123456", start="18:00"),
    fwd(
        "forward my calls to +44 7911 123456 between 9am and 5pm on weekdays",
        "+447911123456",
        WD,
        "09:00",
        "17:00",
    ),
    fwd("forward calls to 07911 123456", None),
    fwd("forward calls to 07911 123456", "+447911123456", region="GB"),
    fwd("forwrd my calls to +44 7911 123456", "+447911123456"),
    fwd(
        "renvoie les appels du +33 1 42 68 53 00 vers le +33 6 12 34 56 78",
        "+33612345678",
        caller="+33142685300",
        lang="fr",
    ),
    fwd(
        "redirige mes appels sur le +33 6 12 34 56 78 en semaine de 8h30 à 17h",
        "+33612345678",
        WD,
        "08:30",
        "17:00",
        lang="fr",
    ),
    fwd(
        "transfère mes appels vers +33 6 12 34 56 78 le samedi et le dimanche",
        "+33612345678",
        WE,
        lang="fr",
    ),
    fwd(
        "renvoi d'appel vers le +33 6 12 34 56 78 entre 9h et 18h",
        "+33612345678",
        None,
        "09:00",
        "18:00",
        lang="fr",
    ),
    fwd(
        "renvoie mes appels vers le +33 6 12 34 56 78 du lundi au vendredi de 9h à 18h",
        "+33612345678",
        WD,
        "09:00",
        "18:00",
        lang="fr",
    ),
    fwd(
        "transfère mes appels au 06 12 34 56 78 le week-end",
        "+33612345678",
        WE,
        lang="fr",
        region="FR",
    ),
    fwd("переадресация на +7 916 123 45 67", "+79161234567", lang="ru", tz=MSK),
    fwd(
        "переадресуй на +7 916 123 45 67 звонки от +7 903 111 22 33",
        "+79161234567",
        caller="+79031112233",
        lang="ru",
        tz=MSK,
    ),
    fwd(
        "перенаправляй звонки на +7 916 123 45 67 в будни с 10 до 19",
        "+79161234567",
        WD,
        "10:00",
        "19:00",
        lang="ru",
        tz=MSK,
    ),
    fwd(
        "переадресуй звонки на +7 916 123 45 67 в пн, ср и пт",
        "+79161234567",
        ["mon", "wed", "fri"],
        lang="ru",
        tz=MSK,
    ),
    fwd(
        "переадресуй все вызовы на +7 916 123 45 67 с 9 утра до 6 вечера",
        "+79161234567",
        None,
        "09:00",
        "18:00",
        lang="ru",
        tz=MSK,
    ),
    fwd(
        "переадресуй звонки на +7 916 123 45 67 по выходным", "+79161234567", WE, lang="ru", tz=MSK
    ),
    fwd(
        "перенаправь вызовы на 8 916 123 45 67 с понедельника по пятницу с 9:00 до 18:00",
        "+79161234567",
        WD,
        "09:00",
        "18:00",
        lang="ru",
        tz=MSK,
        region="RU",
    ),
    fwd("переведи звонки на +7 903 111 22 33", "+79031112233", lang="ru", tz=MSK),
    # ---- forward_off
    one("disable call forwarding", "forward_off"),
    one("cancel forwarding please", "forward_off"),
    one("turn forwarding off", "forward_off"),
    one("stop forwarding my calls", "forward_off"),
    one("don't forward my calls anymore", "forward_off"),
    one("supprime le renvoi d'appels", "forward_off", "fr"),
    one("annule le transfert d'appel", "forward_off", "fr"),
    one("plus de renvoi", "forward_off", "fr"),
    one("désactive le renvoi", "forward_off", "fr"),
    one("отмени переадресацию", "forward_off", "ru"),
    one("сними переадресацию", "forward_off", "ru"),
    one("отключи переадресацию пожалуйста", "forward_off", "ru"),
    one("не переадресовывай больше", "forward_off", "ru"),
    # ---- wallet
    one("deposit", "deposit", amount=None, asset=None),
    one("how do I top up?", "deposit", amount=None, asset=None),
    one("I want to deposit 0.5 waves", "deposit", amount=0.5, asset="WAVES"),
    one("add 15 ETT to my wallet", "deposit", amount=15, asset="ETT"),
    one("fund my account with 3 WAVES", "deposit", amount=3, asset="WAVES"),
    one("dépôt de 12,75 ETT", "deposit", "fr", amount=12.75, asset="ETT"),
    one("je veux recharger 50 ETT", "deposit", "fr", amount=50, asset="ETT"),
    one("закинь 100 ETT", "deposit", "ru", amount=100, asset="ETT"),
    one("пополни баланс на 10 вейвс", "deposit", "ru", amount=10, asset="WAVES"),
    one("хочу пополнить счёт на 7,5 ETT", "deposit", "ru", amount=7.5, asset="ETT"),
    one("withdraw", "withdraw", amount=None, asset=None, address=None),
    one(f"withdraw 1.5 waves to {ADDR}", "withdraw", amount=1.5, asset="WAVES", address=ADDR),
    one(f"cash out 3.25 WAVES to {ADDR}", "withdraw", amount=3.25, asset="WAVES", address=ADDR),
    one(f"send 1,000 ETT to {ADDR}", "withdraw", amount=1000, asset="ETT", address=ADDR),
    one(f"transfer 0.1 waves to {ADDR}", "withdraw", amount=0.1, asset="WAVES", address=ADDR),
    one(f"envoie 4,2 WAVES à {ADDR}", "withdraw", "fr", amount=4.2, asset="WAVES", address=ADDR),
    one(
        f"retirer 1 000,50 ETT vers {ADDR}",
        "withdraw",
        "fr",
        amount=1000.5,
        asset="ETT",
        address=ADDR,
    ),
    one(f"переведи 5 ETT на {ADDR}", "withdraw", "ru", amount=5, asset="ETT", address=ADDR),
    one(f"выведи 1,5 waves на {ADDR}", "withdraw", "ru", amount=1.5, asset="WAVES", address=ADDR),
    one(
        f"отправь 0,25 waves на {ADDR}", "withdraw", "ru", amount=0.25, asset="WAVES", address=ADDR
    ),
    one("balance?", "balance"),
    one("Balance pls", "balance"),
    one("balnce", "balance"),
    one("how much money do I have", "balance"),
    one("quel est mon solde", "balance", "fr"),
    one("combien il me reste ?", "balance", "fr"),
    one("какой у меня баланс", "balance", "ru"),
    one("сколько у меня денег", "balance", "ru"),
    # ---- history, set_number, extension, hangup, help, unknown
    one("call history", "history"),
    one("show my recent calls", "history"),
    one("who called me?", "history"),
    one("historique des appels", "history", "fr"),
    one("qui m'a appelé", "history", "fr"),
    one("журнал звонков", "history", "ru"),
    one("кто мне звонил", "history", "ru"),
    one("my phone number is +44 7911 123456", "set_number", number="+447911123456"),
    one("set my number to +33 6 12 34 56 78", "set_number", number="+33612345678"),
    one("my number is 555 0123", "set_number", number=None),
    one(
        "mon numéro c'est le 06 12 34 56 78", "set_number", "fr", region="FR", number="+33612345678"
    ),
    one("мой номер 8 916 123 45 67", "set_number", "ru", region="RU", number="+79161234567"),
    one("запомни мой номер +7 903 111 22 33", "set_number", "ru", number="+79031112233"),
    one("what is my extension", "extension"),
    one("extention", "extension"),
    one("quel est mon poste", "extension", "fr"),
    one("какой у меня внутренний номер", "extension", "ru"),
    one("hang up now", "hangup"),
    one("end the call", "hangup"),
    one("hangpu", "hangup"),
    one("raccroche", "hangup", "fr"),
    one("termine l'appel", "hangup", "fr"),
    one("положи трубку", "hangup", "ru"),
    one("заверши звонок", "hangup", "ru"),
    one("/help", "help"),
    one("how does this work", "help"),
    one("comment ça marche", "help", "fr"),
    one("au secours", "help", "fr"),
    one("помощь", "help", "ru"),
    one("что ты умеешь", "help", "ru"),
    one("hello", "unknown"),
    one("bonjour", "unknown", "fr"),
    one("привет", "unknown", "ru"),
    one("asdfgh", "unknown"),
    one("😀😀😀", "unknown"),
    one("", "unknown"),
]


def check(expect: dict, got: dict) -> list[str]:
    """Keys of `got` that do not satisfy `expect` (same rules as shared/nlu/score.py)."""
    bad = []
    for key, want in expect.items():
        if key == "text_has":
            text = str(got.get("text") or "").lower()
            if not all(w.lower() in text for w in want):
                bad.append("text")
            continue
        have = got.get(key, "<missing>")
        if key == "at":
            ok = (want is None and have is None) or (
                isinstance(have, str)
                and want is not None
                and datetime.fromisoformat(have) == datetime.fromisoformat(want)
                and datetime.fromisoformat(have).tzinfo is not None
            )
        elif key == "days":
            ok = (want is None and have is None) or (
                isinstance(have, list) and want is not None and sorted(have) == sorted(want)
            )
        elif key == "amount":
            ok = (want is None and have is None) or (
                isinstance(have, (int, float)) and want is not None and abs(have - want) < 1e-9
            )
        else:
            ok = have == want
        if not ok:
            bad.append(key)
    return bad


def test_enough_cases():
    assert len(CASES) >= 150


@pytest.mark.parametrize(("text", "tz", "region", "expect"), CASES, ids=[c[0][:50] for c in CASES])
def test_case(text, tz, region, expect):
    got = parse(text, datetime.fromisoformat(NOW), tz, region)
    assert not check(expect, got), got


def test_all_slots_present():
    slots = {
        "call": {"to", "from", "anonymous", "record", "at"},
        "remind": {"at", "channel", "text"},
        "forward": {"to", "days", "start", "end", "caller"},
        "deposit": {"amount", "asset"},
        "withdraw": {"amount", "asset", "address"},
        "set_number": {"number"},
    }
    for text, tz, region, _ in CASES:
        got = parse(text, datetime.fromisoformat(NOW), tz, region)
        assert got["lang"] in ("en", "fr", "ru")
        assert slots.get(got["intent"], set()) <= set(got), (text, got)


def test_aware_and_naive_now_agree():
    naive = parse("remind me at 18:00 to go", datetime(2026, 11, 28, 10), "Europe/Paris")
    aware = parse(
        "remind me at 18:00 to go", datetime.fromisoformat("2026-11-28T09:00:00+00:00"), PAR
    )
    assert naive["at"] == aware["at"] == "2026-11-28T18:00:00+01:00"


def test_bad_time_zone_is_unknown_not_exception():
    got = parse("balance", None, "Not/AZone")
    assert got["intent"] == "unknown" and "error" in got
