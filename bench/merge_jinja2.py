#!/usr/bin/env python3
"""Renders crates/amicale-merge/examples/merge_bench.html with Jinja2 for
many recipients on one thread and prints renders per second.

The data, the filters (`date` with PHP letters and French names, `phone`)
and the environment (HTML auto-escape, strict undefined, null printed as
nothing) mirror examples/merge_bench.rs so that bench/merge.sh compares the
same work.

    python3 bench/merge_jinja2.py [RECIPIENTS]
"""

import os
import re
import sys
import time

import jinja2

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = os.path.join(HERE, "..", "crates", "amicale-merge", "examples", "merge_bench.html")

# Keep these lists identical to examples/merge_bench.rs.
FIRST = ["Hélène", "Karim", "Sophie", "Julien", "Amina", "Thomas", "Léa", "Mehdi", "Camille",
         "Nicolas", "Inès", "Antoine", "Chloé", "Youssef", "Manon", "Pierre", "Sarah", "Lucas",
         "Fatou", "Hugo"]
LAST = ["Dupré", "Benali", "Laurent", "Moreau", "Diallo", "Lefèvre", "Garcia", "Roux", "Fournier",
        "Girard", "Bonnet", "Mercier", "Nguyen", "Faure", "André", "Blanc"]
CITIES = ["Paris", "Lyon", "Marseille", "Toulouse", "Nantes", "Lille", "Bordeaux", "Rennes"]
PROGRAMMES = ["Activ'Créa", "Master Entrepreneuriat", "Créa'Jeunes"]
PARTICIPANTS = [
    ("Hélène", "Dupré", "Fournil Dupré SARL"),
    ("Karim", "Benali", "Benali Transports"),
    ("Sophie", "Laurent", "Atelier Laurent & Fils"),
    ("Julien", "Moreau", "Moreau Conseil"),
    ("Amina", "Diallo", "Diallo <Design>"),
]

MONTHS = ["janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre"]
MONTHS_SHORT = ["janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc."]
DAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]
DAYS_SHORT = ["lun.", "mar.", "mer.", "jeu.", "ven.", "sam.", "dim."]

DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ Tt](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                     r"(?:[Zz]|[+-]\d{2}:?\d{2})?)?$")


def parse_date(value):
    import datetime
    m = DATE_RE.match(value.strip())
    if not m:
        raise ValueError(f'date: "{value}" is not a date')
    y, mo, d, h, mi, s = m.groups()
    return (datetime.date(int(y), int(mo), int(d)), int(h or 0), int(mi or 0), int(s or 0),
            h is not None)


def php_date(parsed, fmt):
    date, hour, minute, second, _ = parsed
    day0 = date.weekday()
    h12 = hour % 12 or 12
    out = []
    chars = iter(fmt)
    for c in chars:
        if c == "\\":
            out.append(next(chars, ""))
        elif c == "d": out.append(f"{date.day:02}")
        elif c == "j": out.append(str(date.day))
        elif c == "D": out.append(DAYS_SHORT[day0])
        elif c == "l": out.append(DAYS[day0])
        elif c == "N": out.append(str(day0 + 1))
        elif c == "w": out.append(str((day0 + 1) % 7))
        elif c == "S": out.append("er" if date.day == 1 else "")
        elif c == "F": out.append(MONTHS[date.month - 1])
        elif c == "M": out.append(MONTHS_SHORT[date.month - 1])
        elif c == "m": out.append(f"{date.month:02}")
        elif c == "n": out.append(str(date.month))
        elif c == "Y": out.append(str(date.year))
        elif c == "y": out.append(f"{date.year % 100:02}")
        elif c == "H": out.append(f"{hour:02}")
        elif c == "G": out.append(str(hour))
        elif c == "h": out.append(f"{h12:02}")
        elif c == "g": out.append(str(h12))
        elif c == "i": out.append(f"{minute:02}")
        elif c == "s": out.append(f"{second:02}")
        elif c == "a": out.append("am" if hour < 12 else "pm")
        elif c == "A": out.append("AM" if hour < 12 else "PM")
        else: out.append(c)
    return "".join(out)


def date_filter(value, fmt="long"):
    if value is None or value == "":
        return None
    parsed = parse_date(value)
    date, hour, minute, _, has_time = parsed
    day = "1er" if date.day == 1 else str(date.day)
    if fmt == "short":
        return f"{date.day:02}/{date.month:02}/{date.year}"
    if fmt == "long":
        return f"{day} {MONTHS[date.month - 1]} {date.year}"
    if fmt == "time":
        return f"{hour:02}:{minute:02}"
    if fmt == "datetime":
        return f"{date.day:02}/{date.month:02}/{date.year} {hour:02}:{minute:02}"
    if fmt == "full":
        out = f"{DAYS[date.weekday()]} {day} {MONTHS[date.month - 1]} {date.year}"
        return out + f" à {hour:02}:{minute:02}" if has_time else out
    return php_date(parsed, fmt)


def pairs(digits):
    return " ".join(digits[i:i + 2] for i in range(0, len(digits), 2))


def phone_filter(value):
    if value is None:
        return None
    s = value.strip().replace("(0)", "")
    international = s.startswith("+") or s.startswith("00")
    body = s[1:] if s.startswith("+") else s[2:] if s.startswith("00") else s
    if not all(c.isdigit() or c in " .-/()" for c in body):
        return value
    digits = "".join(c for c in body if c.isdigit())
    if not international:
        return pairs(digits) if len(digits) == 10 and digits[0] == "0" else value
    if not 8 <= len(digits) <= 15:
        return value
    if digits.startswith("33"):
        national = digits[2:]
        return pairs("0" + national) if len(national) == 9 and national[0] != "0" else value
    # Other countries: not exercised by the benchmark data.
    return "+" + digits


def finalize(value):
    return "" if value is None else value


def make_env():
    env = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined,
                             finalize=finalize, keep_trailing_newline=True)
    env.filters["date"] = date_filter
    env.filters["phone"] = phone_filter
    return env


def shared():
    return {
        "event": {
            "title": "Atelier « Cartes en main »",
            "start": "2026-03-12 14:30",
            "end": "2026-03-12 16:30",
            "place": "Maison des entrepreneurs",
            "address": "168 rue Raymond Losserand",
            "city": "Paris",
            "facilitator_first_name": "Paul",
            "facilitator_last_name": "Martin",
            "video_link": "https://visio.example.org/cartes-en-main",
        },
        "participants": [{"first_name": f, "last_name": l, "company": c}
                         for f, l, c in PARTICIPANTS],
        "network": {"name": "BGE Paris", "url": "https://amicale.example.org",
                    "contact_email": "contact@amicale.example.org"},
        "sender": {"name": "Claire Lefèvre", "email": "claire.lefevre@amicale.example.org"},
    }


def context(sh, i):
    last = LAST[(i // 20) % 16]
    return {
        "person": {
            "civility": "Mme" if i % 2 == 0 else "M.",
            "first_name": FIRST[i % 20],
            "last_name": last,
            "email": f"membre{i}@example.org",
            "city": CITIES[i % 8],
            "promo_year": 2000 + i % 25,
            "programme": PROGRAMMES[i % 3],
            "company": f"{last} & Associés",
            "mobile": f"+336{i % 100_000_000:08}",
        },
        "event": sh["event"],
        "participants": sh["participants"],
        "network": sh["network"],
        "sender": sh["sender"],
        "unsubscribe_url": f"https://amicale.example.org/desinscription/{i:08x}",
    }


def main():
    recipients = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    with open(TEMPLATE, encoding="utf-8") as f:
        source = f.read()
    template = make_env().from_string(source)
    sh = shared()
    first = template.render(context(sh, 0))
    assert "Bonjour Mme Hélène Dupré," in first
    assert "jeudi 12 mars 2026 à 14:30 – 16:30" in first
    assert "06 00 00 00 00" in first
    if os.environ.get("MERGE_BENCH_SAMPLE"):
        with open(os.environ["MERGE_BENCH_SAMPLE"], "w", encoding="utf-8") as f:
            f.write(first)
    for i in range(1000):
        template.render(context(sh, i))
    start = time.perf_counter()
    size = 0
    for i in range(recipients):
        size += len(template.render(context(sh, i)))
    elapsed = time.perf_counter() - start
    print(f"template: {len(source.encode())} bytes, output: {size // max(recipients, 1)} chars/render, "
          f"recipients: {recipients}")
    print(f"jinja2 {jinja2.__version__} renders/s: {recipients / elapsed:.0f}")


if __name__ == "__main__":
    main()
