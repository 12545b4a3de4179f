"""Speed of the command parser, with bare dateparser over the same messages as reference.

    .venv/bin/python bench/nlu.py [--n 1200] [--dateparser-limit 1200]

Prints messages/s of a batch (one core, after start-up), p50/p99 latency of one message,
and the start-up time of `python main.py parse "help"`.
"""

from __future__ import annotations

import argparse
import itertools
import random
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PHONES = [
    "+33 6 12 34 56 78",
    "+1 (212) 555-0123",
    "00 44 20 7946 0123",
    "+7 903 111-22-33",
    "06.12.34.56.78",
    "8 (916) 123-45-67",
    "+49 170 1234567",
    "555 0123",
]
TIMES = {
    "en": [
        "tomorrow at 9am",
        "in 20 minutes",
        "on Monday at 14:30",
        "at 9 pm",
        "next friday",
        "on December 3 at 6pm",
        "tonight",
        "in an hour and a half",
        "at noon",
        "",
    ],
    "fr": [
        "demain à 9h",
        "dans 20 minutes",
        "lundi à 14h30",
        "à 21h",
        "vendredi prochain",
        "le 3 décembre à 18h",
        "ce soir",
        "dans une heure",
        "à midi",
        "",
    ],
    "ru": [
        "завтра в 9 утра",
        "через 20 минут",
        "в понедельник в 14:30",
        "в 9 вечера",
        "в следующую пятницу",
        "3 декабря в 18:00",
        "сегодня вечером",
        "через час",
        "в полдень",
        "",
    ],
}
TEMPLATES = {
    "en": [
        "call {p} {t}",
        "please ring {p} with hidden number {t}",
        "remind me {t} to buy milk",
        "call me {t} to remind me about the standup",
        "forward my calls to {p} on weekdays from 9 to 18",
        "stop forwarding",
        "balance",
        "my calls",
        "deposit 10 ETT",
        "withdraw 1.5 waves to 3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn",
        "my number is {p}",
        "my extension",
        "hang up",
        "what can you do",
        "good morning",
        "connect {p} to {p2}",
    ],
    "fr": [
        "appelle le {p} {t}",
        "appelle {p} en numéro masqué",
        "rappelle-moi {t} de payer le loyer",
        "renvoie mes appels vers le {p} du lundi au vendredi de 9h à 18h",
        "désactive le renvoi",
        "mon solde",
        "mes appels",
        "déposer 5 WAVES",
        "retirer 2,5 WAVES vers 3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn",
        "mon numéro est {p}",
        "raccrocher",
        "aide-moi",
        "bonjour",
    ],
    "ru": [
        "позвони на {p} {t}",
        "позвони на {p} и запиши звонок",
        "напомни {t} купить хлеб",
        "переадресуй звонки на {p} по будням с 9 до 18",
        "выключи переадресацию",
        "баланс",
        "мои звонки",
        "пополнить 25 ETT",
        "выведи 5 ETT на 3PPk9fmA1GGXhpVfJwBzj9hQbj6HiL9TSbn",
        "мой номер {p}",
        "сбрось звонок",
        "что ты умеешь?",
        "привет",
    ],
}


def corpus(n: int, seed: int = 7) -> list[str]:
    """At least `n` varied messages in the three languages."""
    rnd = random.Random(seed)
    out: list[str] = []
    for lang in itertools.cycle(TEMPLATES):
        tpl = rnd.choice(TEMPLATES[lang])
        msg = tpl.format(p=rnd.choice(PHONES), p2=rnd.choice(PHONES), t=rnd.choice(TIMES[lang]))
        if rnd.random() < 0.2:
            msg = msg.upper()
        if rnd.random() < 0.2:
            msg = msg + rnd.choice([" please", " 🙏", "!!", " svp", " пожалуйста", "?"])
        out.append(" ".join(msg.split()))
        if len(out) >= n:
            return out
    return out


def pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


def measure(fn, msgs: list[str]) -> tuple[float, float, float]:
    """(messages/s over the batch, p50 ms, p99 ms)."""
    lat = []
    t0 = time.perf_counter()
    for m in msgs:
        t = time.perf_counter()
        fn(m)
        lat.append((time.perf_counter() - t) * 1000)
    total = time.perf_counter() - t0
    return len(msgs) / total, pct(lat, 0.50), pct(lat, 0.99)


def startup(runs: int = 5) -> float:
    """Median wall time of `python main.py parse "help"`, in seconds."""
    times = []
    for _ in range(runs):
        t = time.perf_counter()
        subprocess.run(
            [sys.executable, "main.py", "parse", "help"], cwd=ROOT, check=True, capture_output=True
        )
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1200, help="messages in the corpus (>= 1000)")
    ap.add_argument(
        "--dateparser-limit",
        type=int,
        default=None,
        help="only time dateparser on the first N messages (default: all)",
    )
    args = ap.parse_args()
    msgs = corpus(max(args.n, 1000))
    now = datetime(2026, 11, 28, 10, 0)

    t = time.perf_counter()
    import nlu

    t_imp = time.perf_counter() - t
    t = time.perf_counter()
    nlu.warm_up()  # loads dateparser (the fallback) for en/fr/ru
    t_warm = time.perf_counter() - t
    for m in msgs[:50]:
        nlu.parse(m, now, "Europe/Paris", "FR")
    rate, p50, p99 = measure(lambda m: nlu.parse(m, now, "Europe/Paris", "FR"), msgs)

    from dateparser.search import search_dates

    search_dates("tomorrow at 9", languages=["en", "fr", "ru"])
    dp_msgs = msgs[: args.dateparser_limit] if args.dateparser_limit else msgs
    settings = {"PREFER_DATES_FROM": "future", "RELATIVE_BASE": now}
    d_rate, d50, d99 = measure(
        lambda m: search_dates(m, languages=["en", "fr", "ru"], settings=settings), dp_msgs
    )
    st = startup()

    print(f"corpus: {len(msgs)} messages (en/fr/ru), one core, after start-up")
    print(f"{'':28s}{'msg/s':>10s}{'p50 ms':>10s}{'p99 ms':>10s}")
    print(f"{'nlu.parse':28s}{rate:10.0f}{p50:10.3f}{p99:10.3f}")
    print(
        f"{'dateparser.search_dates':28s}{d_rate:10.0f}{d50:10.3f}{d99:10.3f}"
        f"   ({len(dp_msgs)} messages)"
    )
    print(f"import nlu {t_imp:.3f} s; nlu.warm_up() (dateparser load, optional) {t_warm:.3f} s")
    print(f'start-up of `python main.py parse "help"`: {st:.3f} s (median of 5)')
    ok = rate >= 1000 and p99 < 10 and st < 1
    print("goal (>= 1000 msg/s, p99 < 10 ms, start-up < 1 s):", "met" if ok else "NOT met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
