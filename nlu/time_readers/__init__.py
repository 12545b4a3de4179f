"""The readers behind `nlu.times.find_time`: one small function per kind of time phrase.

Every reader looks at `Findings.text` (the canonical text, with the words earlier readers
took blanked out), records what it recognised in the `Findings`, blanks its words out
and returns True; or changes nothing and returns False.

    findings          the state the readers share, and `read_first`
    delays            "in 2 hours", "dans 3 mois", "через час"
    clock             "at 9", "à 9h30", "в 9:30", "half past nine", "noon"
    dates             "2026-12-24", "tomorrow", "lundi", "le 5", "3 декабря", "25/12"
    parts_of_day      "evening", "soir", "вечером"
"""
