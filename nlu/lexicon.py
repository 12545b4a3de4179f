"""Keyword tables per language (all folded: lower case, no accents, ё -> е)."""

from __future__ import annotations

# --- numbers written as words -------------------------------------------------------
NUMBER_WORDS: dict[str, float] = {
    # en
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60,
    "half": 0.5, "couple": 2, "few": 3, "several": 3,
    # fr
    "un": 1, "une": 1, "deux": 2, "trois": 3, "quatre": 4, "cinq": 5, "sept": 7,
    "huit": 8, "neuf": 9, "dix": 10, "onze": 11, "douze": 12, "quinze": 15, "vingt": 20,
    "trente": 30, "quarante": 40, "cinquante": 50, "demi": 0.5, "demie": 0.5,
    "quelques": 3, "plusieurs": 3,
    # ru
    "один": 1, "одну": 1, "одна": 1, "одного": 1, "два": 2, "две": 2, "двух": 2, "три": 3,
    "трех": 3, "четыре": 4, "пять": 5, "шесть": 6, "семь": 7, "восемь": 8, "девять": 9,
    "десять": 10, "одиннадцать": 11, "двенадцать": 12, "пятнадцать": 15, "двадцать": 20,
    "тридцать": 30, "сорок": 40, "пятьдесят": 50, "пару": 2, "пара": 2, "несколько": 3,
    "полтора": 1.5, "полторы": 1.5,
}  # fmt: skip
NUMBER_WORD_RE = "|".join(sorted((w for w in NUMBER_WORDS if len(w) > 1), key=len, reverse=True))

# --- time units ------------------------------------------------------------------------
UNIT_SECONDS: list[tuple[str, int]] = [
    (r"s(?:ec(?:ond)?s?)?|secondes?|сек\w*", 1),
    (r"m|mins?|minutes?|mn|минут\w*|мин", 60),
    (r"h|hrs?|hours?|heures?|час(?:а|ов)?|ч", 3600),
    (r"d|days?|jours?|journees?|день|дня|дней|сутки|суток", 86400),
    (r"w|weeks?|semaines?|недел\w+", 604800),
]

# --- weekdays ------------------------------------------------------------------------
DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAY_FORMS: dict[str, list[str]] = {
    "mon": ["monday", "mondays", "mon", "lundi", "lundis", "lun", r"понедельник\w*", "пн"],
    "tue": ["tuesday", "tuesdays", "tue", "tues", "mardi", "mardis", r"вторник\w*", "вт"],
    "wed": ["wednesday", "wednesdays", "wed", "mercredi", "mercredis", "mer", r"сред[аеуы]",
            "средам", "ср"],
    "thu": ["thursday", "thursdays", "thu", "thur", "thurs", "jeudi", "jeudis", "jeu",
            r"четверг\w*", "чт"],
    "fri": ["friday", "fridays", "fri", "vendredi", "vendredis", "ven", r"пятниц\w*", "пт"],
    "sat": ["saturday", "saturdays", "sat", "samedi", "samedis", "sam", r"суббот\w*", "сб"],
    "sun": ["sunday", "sundays", "sun", "dimanche", "dimanches", "dim", r"воскресень\w*", "вс"],
}  # fmt: skip
# Forms safe to read as a day inside free text (no 2-3 letter abbreviations).
WEEKDAY_LONG: dict[str, list[str]] = {
    k: [f for f in v if len(f) > 4 or "\\" in f or f in ("среду", "среда")]
    for k, v in WEEKDAY_FORMS.items()
}

# --- months ---------------------------------------------------------------------------
MONTH_FORMS: list[list[str]] = [
    ["january", "jan", "janvier", "janv", r"январ\w*", "янв"],
    ["february", "feb", "fevrier", "fevr", "fev", r"феврал\w*", "фев"],
    ["march", "mar", "mars", r"март\w*"],
    ["april", "apr", "avril", "avr", r"апрел\w*", "апр"],
    ["may", "mai", "мая", "май", "мае"],
    ["june", "jun", "juin", r"июн\w*"],
    ["july", "jul", "juillet", "juil", r"июл\w*"],
    ["august", "aug", "aout", r"август\w*", "авг"],
    ["september", "sept", "sep", "septembre", r"сентябр\w*", "сен"],
    ["october", "oct", "octobre", r"октябр\w*", "окт"],
    ["november", "nov", "novembre", r"ноябр\w*", "ноя"],
    ["december", "dec", "decembre", r"декабр\w*", "дек"],
]

# --- words whose typos are corrected (edit distance 1) ---------------------------------
FUZZY_VOCAB = """
call calls calling ring dial phone telephone connect contact remind reminder reminders
forward forwarding divert redirect transfer balance history deposit withdraw withdrawal
extension internal number hangup hang record recording anonymous anonymously hidden hide
private withheld tomorrow today tonight morning evening afternoon night midnight noon
midday minutes minute hours hour seconds days weeks week weekdays weekends weekend
monday tuesday wednesday thursday friday saturday sunday january february march april
june july august september october november december please disable cancel remove
delete switch stop help commands wallet funds recent missed later
appelle appelez appeler appel appels telephone telephoner compose composer rappelle
rappelez rappel renvoie renvoi renvoyer transfere transferer transfert redirige
rediriger redirection solde historique deposer depot recharger recharge retirer retrait
envoie numero interne raccroche raccrocher enregistre enregistrer enregistrement masque
anonyme anonymement demain aujourd'hui apres-demain matin soir midi minuit minutes
heures heure semaine lundi mardi mercredi jeudi vendredi samedi dimanche janvier fevrier
avril juillet septembre octobre novembre decembre desactive desactiver arrete arreter
supprime annule aide commandes portefeuille softphone password credentials identifiants
позвони позвоните позвонить звякни звякните набери наберите соедини соедините вызови
напомни напомните напомнить напоминание напоминалку переадресуй переадресуйте
переадресация переадресацию переадресацией переадресовывай перенаправь перенаправьте
переведи переведите звонки звонок звонков звонка звонку вызов баланс история историю
пополнить пополни пополните пополнение вывести выведи выведите вывод отправь отправьте
номер номера внутренний внутренний добавочный сбрось сбросьте положи трубку заверши
завершить запиши запишите запись записывай скрой скройте скрытый скрытого анонимно
завтра сегодня послезавтра утра утром вечера вечером ночи ночью полдень полночь
минут минуты минуту часов часа через понедельник вторник среду четверг пятницу субботу
воскресенье будням выходным выключи выключите отключи отключите отмени отмените убери
удали прекрати помощь помоги команды умеешь можешь кошелек софтфон пароль
numbers numeros direct afficher masquer secondes показывать прямой прямые секунд
recordings enregistrements записи account аккаунт forget
""".split()

# --- language markers (folded) ---------------------------------------------------------
EN_WORDS = frozenset(
    """the to me my at on in and then call calls remind tomorrow today tonight is what
    please with from for of a an hour hours minutes you can do i it this that number
    balance history help show turn off stop forward forwarding up top send withdraw
    deposit extension hang hangup record hide hidden next morning evening afternoon
    weekdays weekends am pm o'clock don't let forget ring dial phone connect about
    how much money wallet get give tell set new every day days after before until
    between only mine your yes no hi hello good buy milk settings password reset
    credentials plan plans subscribe unsubscribe""".split()
)
FR_WORDS = frozenset(
    """le la les de du des moi mon ma mes a au aux et puis demain est vers dans sur pour
    un une je tu vous numero appels appel solde aide heure heures ce soir matin
    aujourd'hui avec sans ne pas quoi qu peux fais s'il plait merci bonjour appelle
    appelez rappelle rappelez renvoie renvoi raccrocher raccroche retirer deposer
    transfere masque interne semaine lundi mardi mercredi jeudi vendredi samedi
    dimanche prochain midi minuit apres-midi d l qu' c'est quel quelle combien
    enregistre arrete desactive supprime annule depuis chez lui elle nous votre vos
    son sa ses en y il elle faire telephone compose minutes svp stp aide-moi
    apres-demain dis donne montre affiche oublie oublier penser jusqu'a entre recharger
    rechargez alimenter historique identifiants parametres reglages nouveau passe
    reinitialise forfait forfaits tarif tarifs abonnement resilie resilier chaque tous
    toutes rappels agenda agendas calendrier calendriers connecte deconnecte exporte
    ajoute""".split()
)
