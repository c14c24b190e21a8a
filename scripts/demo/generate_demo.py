#!/usr/bin/env python3
"""Regenerates the demo company of examples/demo (ООО «УпакПром») and prints a
reference reading of it (per-manager monthly figures by SPEC §4-5).

The files in examples/demo are committed; this script is how they were made.
It is deterministic (fixed seed). Run from anywhere:

    python3 scripts/demo/generate_demo.py            # rewrite files, print Nov 2026
    python3 scripts/demo/generate_demo.py --check    # only print the reference report
    python3 scripts/demo/generate_demo.py --month 2026-07

Needs only the Python standard library (and python-dateutil for RRULE
expansion in the reference reading, present wherever `icalendar` is).
The reference reading is a sanity check for the golden test, not the
implementation: where it and meetledger differ, read SPEC.md, then both.
"""

import argparse
import csv
import hashlib
import io
import os
import random
import re
import sys
from collections import defaultdict
from datetime import date, datetime, timedelta, timezone

MSK = timezone(timedelta(hours=3))
UTC = timezone.utc
NOW = datetime(2026, 11, 27, 18, 0, tzinfo=MSK)
DTSTAMP = "20261127T140000Z"
RANGE_FROM = date(2026, 6, 1)
RANGE_TO = date(2026, 11, 30)
HOLIDAYS = {date(2026, 6, 12), date(2026, 11, 4)}
COMPANY_DOMAINS = ["upakprom.ru"]
PUBLIC = {"gmail.com", "mail.ru", "yandex.ru", "ya.ru", "bk.ru", "list.ru", "inbox.ru", "rambler.ru",
          "outlook.com", "hotmail.com", "icloud.com"}
LEGAL = {f.lower() for f in ["ООО", "ОАО", "ЗАО", "АО", "ПАО", "НАО", "ИП", "ТОО", "ГК", "LLC", "Inc", "Ltd",
                             "GmbH", "Corp", "Co", "AG", "SA", "BV", "PLC", "LLP", "JSC", "OOO"]}
EXCLUDED_TITLES = ["lunch", "обед", "отпуск", "vacation", "day off", "выходной", "больничный", "sick leave"]
EXHIBITION_KW = ["exhibition", "expo", "forum", "conference", "выставк", "форум", "конференц", "ярмарк"]
CALL_KW = ["call", "phone", "звонок", "звонк", "созвон", "телефон"]
VIDEO = ["meet.google.com", "zoom.us", "teams.microsoft.com", "telemost.yandex.ru", "ktalk.ru",
         "jazz.sber.ru", "webex.com"]
WEIGHTS = {"in_person": 1.0, "online": 0.5, "exhibition": 0.5, "call": 0.0}

HEAD = ("orlov@upakprom.ru", "Дмитрий Орлов")
TECH = ("e.sokolova@upakprom.ru", "Елена Соколова")
LOGIST = ("i.lebedev@upakprom.ru", "Игорь Лебедев")

MANAGERS = [
    # id, name, email, aliases, plan(new, existing), calendar format
    ("ivanova", "Анна Иванова", "a.ivanova@upakprom.ru", ["ivanova@upakprom.ru"], (2, 14), "outlook"),
    ("kozlova", "Мария Козлова", "m.kozlova@upakprom.ru", [], (3, 12), "yandex"),
    ("petrov", "Пётр Петров", "p.petrov@upakprom.ru", [], (2, 12), "google"),
    ("smirnov", "Сергей Смирнов", "s.smirnov@upakprom.ru", [], (2, 11), "apple"),
]
MGR = {m[0]: m for m in MANAGERS}
MGR_BY_EMAIL = {}
for _m in MANAGERS:
    MGR_BY_EMAIL[_m[2]] = _m[0]
    for _a in _m[3]:
        MGR_BY_EMAIL[_a] = _m[0]


CAL_ID = {"ivanova": "ivanova-outlook", "kozlova": "kozlova-yandex", "petrov": "petrov-google",
          "smirnov": "smirnov-apple"}


def me(mid):
    return (MGR[mid][2], MGR[mid][1])


# --------------------------------------------------------------------------
# CRM
# --------------------------------------------------------------------------

# id, name, domains, emails, manager, key, contacts [(email, name)]
CLIENTS = [
    ("C001", "АО «Северсталь-Пак»", ["severstal-pak.ru"], ["snab@severstal-pak.ru"], "ivanova", "true",
     [("a.belov@severstal-pak.ru", "Андрей Белов"), ("snab@severstal-pak.ru", "Отдел снабжения")]),
    ("C002", "ООО «Молочный край»", ["molkray.ru"], ["zakupki@molkray.ru"], "ivanova", "true",
     [("n.frolova@molkray.ru", "Наталья Фролова")]),
    ("C003", "ПАО «Химпром-Волга»", ["himprom-volga.ru", "hpv.ru"], [], "ivanova", "yes",
     [("v.gusev@hpv.ru", "Виктор Гусев")]),
    ("C004", "ООО «Агрохолдинг Заря»", ["zarya-agro.ru"], [], "ivanova", "false",
     [("p.egorov@zarya-agro.ru", "Павел Егоров")]),
    ("C005", "ООО «Ромашка»", [], [], "ivanova", "", []),
    ("C006", "ООО \"СтройМикс\"", ["stroymix.ru"], [], "ivanova", "false",
     [("k.titov@stroymix.ru", "Кирилл Титов")]),
    ("C007", "ИП Кузнецов А.В.", [], ["kuznetsov.av@gmail.com"], "ivanova", "0",
     [("kuznetsov.av@gmail.com", "Алексей Кузнецов")]),
    ("C008", "ООО «ФудЛайн»", ["foodline.ru"], ["opt@foodline.ru"], "petrov", "true",
     [("m.zaitseva@foodline.ru", "Марина Зайцева"), ("r.kim@foodline.ru", "Роман Ким")]),
    ("C009", "АО «Пивоварня Тверь»", ["tverbeer.ru"], [], "petrov", "false",
     [("d.sorokin@tverbeer.ru", "Денис Сорокин")]),
    ("C010", "ООО «ЭкоПак Логистик»", ["ecopack-log.ru"], [], "petrov", "false",
     [("o.pavlova@ecopack-log.ru", "Ольга Павлова")]),
    ("C011", "ООО «Маркет Экспресс»", ["market-express.ru"], [], "petrov", "false",
     [("a.nikitin@market-express.ru", "Антон Никитин")]),
    ("C012", "ООО «Кондитер Плюс»", ["konditer-plus.ru"], [], "petrov", "false",
     [("s.makarova@konditer-plus.ru", "Светлана Макарова")]),
    ("C013", "ООО «Вектор»", [], [], "petrov", "", []),
    ("C014", "ООО «Полимер-Сервис»", ["polymer-service.ru"], [], "petrov", "false",
     [("g.popov@polymer-service.ru", "Глеб Попов")]),
    ("C015", "ООО «ТК Волга»", ["tk-volga.ru"], [], "petrov", "1",
     [("dispatch@tk-volga.ru", "Диспетчерская"), ("y.volkov@tk-volga.ru", "Юрий Волков")]),
    ("C016", "АО «Тульский хлебозавод»", ["tula-hleb.ru"], [], "smirnov", "true",
     [("l.vasilieva@tula-hleb.ru", "Людмила Васильева")]),
    ("C017", "ООО «Мебель Центр»", ["mebel-center.ru"], [], "smirnov", "false",
     [("e.romanov@mebel-center.ru", "Евгений Романов")]),
    ("C018", "ООО «ГрандСтрой»", ["grandstroy.ru"], [], "smirnov", "false",
     [("i.zhukov@grandstroy.ru", "Илья Жуков")]),
    ("C019", "ООО «Аптека Здоровье»", ["apteka-zdorovie.ru"], [], "smirnov", "false",
     [("t.belova@apteka-zdorovie.ru", "Татьяна Белова")]),
    ("C020", "ООО «Бумажная фабрика Восход»", ["voshod-paper.ru"], [], "smirnov", "false",
     [("a.medvedev@voshod-paper.ru", "Артём Медведев")]),
    ("C021", "ООО «Лидер»", [], [], "smirnov", "", []),
    ("C022", "ООО «Склад-Сервис»", ["sklad-service.ru"], [], "smirnov", "false",
     [("v.kovalev@sklad-service.ru", "Владимир Ковалёв")]),
    ("C023", "ООО «Волжский мясокомбинат»", ["vmk-meat.ru"], ["snab@vmk-meat.ru"], "kozlova", "true",
     [("snab@vmk-meat.ru", "Снабжение ВМК"), ("o.krylov@vmk-meat.ru", "Олег Крылов")]),
    ("C024", "ООО «Сибирские напитки»", ["sibnapitki.ru"], [], "kozlova", "false",
     [("a.semenova@sibnapitki.ru", "Алина Семёнова")]),
    ("C025", "ООО «ТехноПласт»", ["tehnoplast.ru"], [], "kozlova", "false",
     [("b.fedorov@tehnoplast.ru", "Борис Фёдоров")]),
    ("C026", "ООО «ЗооМир»", ["zoomir.ru"], [], "kozlova", "false",
     [("k.lebedeva@zoomir.ru", "Ксения Лебедева")]),
    ("C027", "ООО «Альфа»", [], [], "kozlova", "", []),
    ("C028", "АО «Фармацевт»", ["farmacevt.ru"], [], "kozlova", "true",
     [("r.ilyin@farmacevt.ru", "Руслан Ильин")]),
    ("C029", "ООО «Каскад»", [], [], "", "", []),
    ("C030", "ООО «Игрушки Опт»", ["igrushki-opt.ru"], [], "kozlova", "false",
     [("d.orlova@igrushki-opt.ru", "Дарья Орлова")]),
]
CLIENT = {c[0]: c for c in CLIENTS}


def short(cid):
    """The client name as a manager types it: legal form and quotes dropped."""
    name = CLIENT[cid][1]
    name = re.sub(r"^(ООО|АО|ПАО|ИП)\s+", "", name)
    return name.replace("«", "").replace("»", "").replace('"', "")


def money(x):
    return f"{x:.2f}"


def build_orders(rng):
    """Orders per client story. Returns [(id, client, created_at datetime MSK, amount, status)]."""
    orders = []

    def monthly(cid, first, last, day, base, jitter=0.15, every=1, status="done"):
        y, m = first
        i = 0
        while (y, m) <= last:
            if i % every == 0:
                d = min(day + rng.randint(-3, 3), 28)
                amount = round(base * (1 + rng.uniform(-jitter, jitter)), -2)
                hour = rng.randint(9, 17)
                orders.append((cid, datetime(y, m, max(d, 1), hour, rng.randint(0, 59), tzinfo=MSK), amount, status))
            i += 1
            m += 1
            if m == 13:
                y, m = y + 1, 1

    def one(cid, y, m, d, amount, status="done", hour=11):
        orders.append((cid, datetime(y, m, d, hour, 15, tzinfo=MSK), amount, status))

    # ivanova
    monthly("C001", (2025, 6), (2026, 11), 10, 1_350_000)          # key account, volume held
    monthly("C002", (2025, 6), (2026, 11), 5, 420_000)             # key, twice a month
    monthly("C002", (2025, 6), (2026, 11), 20, 380_000)
    monthly("C003", (2025, 6), (2026, 11), 15, 900_000)            # key, met only until July
    monthly("C004", (2025, 6), (2026, 11), 12, 300_000, every=3)   # agro: quarterly
    one("C004", 2026, 9, 8, 650_000)                               # harvest season peak
    monthly("C005", (2025, 9), (2026, 11), 18, 95_000)             # small regular
    one("C006", 2026, 7, 20, 480_000)                              # new: first ...
    one("C006", 2026, 9, 15, 520_000)                              # ... and repeat
    one("C006", 2026, 10, 28, 610_000)
    one("C007", 2026, 9, 3, 45_000)                                # new: first only
    # petrov
    monthly("C008", (2025, 6), (2026, 11), 8, 700_000)             # key
    monthly("C009", (2025, 6), (2026, 11), 25, 500_000)
    one("C009", 2026, 10, 30, 1_200_000)                           # new bottling line
    one("C010", 2026, 11, 16, 230_000)                             # new: first ...
    one("C010", 2026, 11, 24, 260_000)                             # ... and repeat in the same month
    one("C011", 2026, 8, 30, 150_000, status="cancelled")          # new: only a cancelled order -> none
    monthly("C012", (2025, 6), (2026, 6), 14, 300_000)             # dropping: monthly until June ...
    one("C012", 2026, 8, 19, 120_000)                              # ... then small, rare orders
    one("C012", 2026, 10, 21, 90_000)
    one("C013", 2025, 11, 20, 150_000)                             # existing, nothing for months
    one("C013", 2026, 8, 5, 200_000)                               # (zero prior volume)
    one("C013", 2026, 10, 10, 180_000)
    one("C014", 2026, 11, 19, 250_000)                             # new: first order in November
    monthly("C015", (2025, 6), (2026, 11), 22, 350_000)            # key
    # smirnov
    monthly("C016", (2025, 6), (2026, 11), 3, 600_000)             # key
    monthly("C017", (2025, 6), (2026, 5), 17, 280_000)             # dropped to zero after May
    one("C018", 2026, 7, 1, 340_000)                               # new: first only
    monthly("C020", (2025, 6), (2026, 11), 11, 250_000)            # held
    one("C021", 2025, 12, 9, 120_000)                              # existing, gone quiet
    one("C022", 2026, 10, 28, 400_000, status="cancelled")         # new: cancelled first order ...
    one("C022", 2026, 11, 18, 380_000)                             # ... then a real one
    # kozlova
    monthly("C023", (2025, 6), (2026, 11), 6, 520_000)             # key, twice a month
    monthly("C023", (2025, 6), (2026, 11), 21, 480_000)
    monthly("C024", (2025, 6), (2026, 11), 16, 280_000)            # drinks: summer peak
    for mo in (5, 6, 7):
        one("C024", 2026, mo, 27, 450_000)
    one("C025", 2026, 9, 10, 310_000)                              # new: first ...
    one("C025", 2026, 10, 22, 290_000)                             # ... and repeat
    monthly("C027", (2025, 6), (2026, 11), 25, 60_000)             # small, known by name only
    monthly("C028", (2025, 6), (2026, 11), 13, 450_000)            # key, not met since June
    one("C028", 2026, 3, 2, 200_000, status="canceled")            # US spelling of the status
    one("C029", 2026, 2, 11, 100_000)                              # nobody's client
    one("C029", 2026, 10, 30, 140_000)
    one("C030", 2026, 11, 23, 175_000)                             # new: first order after a Nov meeting

    orders.sort(key=lambda o: (o[1], o[0]))
    out = []
    fmt_rng = random.Random(11)
    for i, (cid, at, amount, status) in enumerate(orders, start=1):
        text, effective = fmt_created(at, fmt_rng)
        out.append((f"UT-{i:06d}", cid, effective, amount, status, text))
    return out


def fmt_created(at, rng):
    """created_at as written in the CSV, and the instant it means (a bare date is midnight in Moscow)."""
    r = rng.random()
    if r < 0.35:
        d = at.date()
        return d.isoformat(), datetime(d.year, d.month, d.day, tzinfo=MSK)
    if r < 0.75:
        return at.isoformat(timespec="seconds"), at
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), at


# --------------------------------------------------------------------------
# Calendar model
# --------------------------------------------------------------------------

class Ev:
    def __init__(self, uid, title, start, end, *, cals, allday=False, location="", desc="",
                 organizer=None, attendees=(), status="CONFIRMED", transp="OPAQUE", rrule=None,
                 exdates=(), overrides=None, conference="", file=None, kind_hint=""):
        self.uid = uid
        self.title = title
        self.start = start
        self.end = end
        self.cals = list(cals)
        self.allday = allday
        self.location = location
        self.desc = desc
        self.organizer = organizer        # (email, name) or None
        self.attendees = list(attendees)  # [(email, name, partstat, role)]
        self.status = status
        self.transp = transp
        self.rrule = rrule
        self.exdates = list(exdates)
        self.overrides = overrides or {}  # original start -> dict of changes
        self.conference = conference
        self.file = file                  # for smirnov's folder
        self.kind_hint = kind_hint


EVENTS = []


def uid_for(fmt, seed):
    h = hashlib.sha1(seed.encode()).hexdigest()
    if fmt == "outlook":
        return "040000008200E00074C5B7101A82E00800000000" + h[:16].upper() + "01000000000000000010000000" + h[16:32].upper()
    if fmt == "google":
        return h[:26] + "@google.com"
    if fmt == "apple":
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}".upper()
    if fmt == "yandex":
        return h[:30] + "@yandex.ru"
    raise ValueError(fmt)


def at(d, hh, mm=0):
    return datetime(d.year, d.month, d.day, hh, mm, tzinfo=MSK)


def D(s):
    return date.fromisoformat(s)


def att(email, name, partstat="ACCEPTED", role="REQ-PARTICIPANT"):
    return (email, name, partstat, role)


def contact(cid, i=0):
    cs = CLIENT[cid][6]
    return cs[i % len(cs)]


PRODUCTS = ["стретч-плёнка", "гофрокороба", "паллетная лента", "биг-бэги", "термоусадочная плёнка",
            "воздушно-пузырьковая плёнка", "стрейч-худ", "мешки ПП", "уголки картонные"]


def fmt_of(mid):
    return MGR[mid][5]


def video_link(fmt, rng):
    if fmt == "outlook":
        return "https://teams.microsoft.com/l/meetup-join/19%3ameeting_" + "".join(
            rng.choice("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789") for _ in range(24)) + "%40thread.v2/0"
    if fmt == "google":
        letters = "abcdefghijkmnopqrstuvwxyz"
        return "https://meet.google.com/{}-{}-{}".format(
            "".join(rng.choice(letters) for _ in range(3)),
            "".join(rng.choice(letters) for _ in range(4)),
            "".join(rng.choice(letters) for _ in range(3)))
    if fmt == "apple":
        return "https://telemost.yandex.ru/j/" + "".join(rng.choice("0123456789") for _ in range(14))
    return "https://us05web.zoom.us/j/" + "".join(rng.choice("0123456789") for _ in range(11)) + "?pwd=" + "".join(
        rng.choice("abcdefghijkLMNOPQRS0123456789") for _ in range(20))


def online_fields(fmt, link):
    """(location, description, conference) for an online meeting in that calendar's style."""
    if fmt == "google":
        return ("", f"Присоединиться к Google Meet: {link}\n\nПодробнее о Meet: https://support.google.com/a/users/answer/9282720", link)
    if fmt == "outlook":
        return ("Собрание Microsoft Teams",
                "________________________________________________________________________________\n"
                f"Собрание Microsoft Teams\nПрисоединиться: {link}\n"
                "________________________________________________________________________________", "")
    if fmt == "apple":
        return (link, "Телемост: подключайтесь по ссылке в поле «Место».", "")
    if "zoom" in link:
        return ("Zoom", f"Подключиться к конференции Zoom\n{link}", "")
    return ("Яндекс Телемост", f"Ссылка на встречу: {link}", "")


def add(ev):
    EVENTS.append(ev)
    return ev


# ---- scripted events -------------------------------------------------------

def scripted(rng):
    # Daily stand-up organized by the head of sales: same UID in all four calendars; internal.
    add(Ev("standup-sales-2026@upakprom.ru", "Планёрка отдела продаж", at(D("2026-01-12"), 9, 30),
           at(D("2026-01-12"), 9, 45), cals=[m[0] for m in MANAGERS], location="Переговорная «Картон»",
           organizer=HEAD, attendees=[att(MGR[m[0]][2], MGR[m[0]][1]) for m in MANAGERS],
           rrule="FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR", exdates=[at(d, 9, 30) for d in sorted(HOLIDAYS)],
           file="01-series.ics"))

    # ---- ivanova (Outlook / Exchange, Windows zone names) ----
    fo = "outlook"
    add(Ev(uid_for(fo, "severstal-weekly"), "Визит в АО «Северсталь-Пак»", at(D("2026-06-02"), 11),
           at(D("2026-06-02"), 12, 30), cals=["ivanova"], location="г. Москва, Кашинское ш., 14, склад №3",
           desc="Еженедельный визит: остатки плёнки, график отгрузок.", organizer=me("ivanova"),
           attendees=[att(*contact("C001", 0))], rrule="FREQ=WEEKLY;UNTIL=20261222T080000Z;INTERVAL=1;BYDAY=TU;WKST=MO",
           exdates=[at(D("2026-08-18"), 11)],
           overrides={at(D("2026-11-10"), 11): dict(start=at(D("2026-11-12"), 14), end=at(D("2026-11-12"), 15, 30),
                                                     desc="Перенос: у клиента инвентаризация во вторник.")}))
    add(Ev(uid_for(fo, "molkray-biweekly"), "Молочный край — плановая встреча", at(D("2026-06-04"), 10),
           at(D("2026-06-04"), 11), cals=["ivanova"], location="Подольск, ул. Молодёжная, 7",
           organizer=me("ivanova"), attendees=[att(*contact("C002")), att(*TECH)],
           rrule="FREQ=WEEKLY;COUNT=13;INTERVAL=2;BYDAY=TH;WKST=MO"))
    add(Ev(uid_for(fo, "lunch"), "Обед", at(D("2026-06-01"), 13), at(D("2026-06-01"), 14), cals=["ivanova"],
           rrule="FREQ=WEEKLY;INTERVAL=1;BYDAY=MO,TU,WE,TH,FR;WKST=MO", transp="OPAQUE"))
    add(Ev(uid_for(fo, "vacation"), "Отпуск", D("2026-08-17"), D("2026-08-22"), cals=["ivanova"], allday=True,
           transp="TRANSPARENT"))
    add(Ev(uid_for(fo, "stroymix-short"), "Быстрый созвон СтройМикс", at(D("2026-07-01"), 16),
           at(D("2026-07-01"), 16, 10), cals=["ivanova"], organizer=me("ivanova"),
           attendees=[att(*contact("C006"))]))                                   # too_short
    add(Ev(uid_for(fo, "stroymix-first"), "Знакомство: ООО «СтройМикс», образцы плёнки", at(D("2026-07-07"), 14, 30),
           at(D("2026-07-07"), 16), cals=["ivanova"], location="г. Химки, Ленинградское ш., 1",
           organizer=me("ivanova"), attendees=[att(*contact("C006")), att(*TECH)]))  # new -> repeat
    add(Ev(uid_for(fo, "kuznetsov"), "Встреча с Алексеем Кузнецовым (ИП), упаковка для маркетплейса",
           at(D("2026-08-12"), 12), at(D("2026-08-12"), 13), cals=["ivanova"], location="Офис УпакПром, переговорная 2",
           organizer=me("ivanova"), attendees=[att("kuznetsov.av@gmail.com", "Алексей Кузнецов")]))  # email rule
    add(Ev(uid_for(fo, "himprom-jul"), "ПАО «Химпром-Волга»: тендер на биг-бэги", at(D("2026-07-22"), 11),
           at(D("2026-07-22"), 12, 30), cals=["ivanova"], location="Дзержинск", organizer=me("ivanova"),
           attendees=[att(*contact("C003"))]))
    add(Ev(uid_for(fo, "himprom-decl"), "Презентация новой линии фасовки", at(D("2026-11-11"), 15),
           at(D("2026-11-11"), 16, 30), cals=["ivanova"], location="Дзержинск, ПАО «Химпром-Волга»",
           organizer=("v.gusev@hpv.ru", "Виктор Гусев"),
           attendees=[att("ivanova@upakprom.ru", "Анна Иванова", "DECLINED")]))  # declined, via her alias
    add(Ev(uid_for(fo, "novapak"), "Знакомство с ООО «НоваПак»", at(D("2026-11-13"), 11), at(D("2026-11-13"), 12),
           cals=["ivanova"], location="Офис УпакПром", organizer=me("ivanova"),
           attendees=[att("a.sergeev@novapak.ru", "Алексей Сергеев", "NEEDS-ACTION")]))  # prospect
    add(Ev(uid_for(fo, "foodline-joint"), "ФудЛайн с Петровым", at(D("2026-11-19"), 11, 10),
           at(D("2026-11-19"), 12, 30), cals=["ivanova"], location="ФудЛайн, Люберцы"))  # dedupe by client+time
    add(Ev(uid_for(fo, "romashka-cancel"), "Встреча ООО Ромашка", at(D("2026-11-20"), 15), at(D("2026-11-20"), 16),
           cals=["ivanova"], status="CANCELLED"))                                   # cancelled
    add(Ev(uid_for(fo, "training"), "Обучение: новая линейка стрейч-худ", at(D("2026-11-25"), 15),
           at(D("2026-11-25"), 17), cals=["ivanova"], location="Переговорная «Картон»", organizer=HEAD,
           attendees=[att("a.ivanova@upakprom.ru", "Анна Иванова"), att(*TECH)]))  # internal
    add(Ev(uid_for(fo, "romashka-future"), "Встреча ООО Ромашка", at(D("2026-11-30"), 11), at(D("2026-11-30"), 12),
           cals=["ivanova"]))                                                        # future

    # ---- petrov (Google Calendar) ----
    fg = "google"
    add(Ev(uid_for(fg, "foodline-weekly"), "Визит в ООО «ФудЛайн»", at(D("2026-06-01"), 15), at(D("2026-06-01"), 16, 30),
           cals=["petrov"], location="Люберцы, Октябрьский пр-т, 112", organizer=me("petrov"),
           attendees=[att(*contact("C008", 0)), att(*contact("C008", 1), "TENTATIVE")],
           rrule="FREQ=WEEKLY;BYDAY=MO", exdates=[at(D("2026-09-07"), 15)],
           overrides={at(D("2026-11-02"), 15): dict(status="CANCELLED"),
                      at(D("2026-10-19"), 15): dict(start=at(D("2026-10-20"), 16), end=at(D("2026-10-20"), 17, 30))}))
    add(Ev(uid_for(fg, "tverbeer-joint"), "Переговоры: АО «Пивоварня Тверь» — новая линия розлива",
           at(D("2026-10-22"), 12), at(D("2026-10-22"), 14), cals=["petrov", "ivanova"], location="Тверь, ул. Пивоваров, 3",
           organizer=me("petrov"), attendees=[att(*me("petrov")), att(*me("ivanova")), att(*contact("C009"))]))
    add(Ev(uid_for(fg, "foodline-nov19"), "ФудЛайн: годовой контракт 2027", at(D("2026-11-19"), 11), at(D("2026-11-19"), 12, 30),
           cals=["petrov"], location="Люберцы, Октябрьский пр-т, 112", organizer=me("petrov"),
           attendees=[att(*me("petrov")), att(*contact("C008", 0)), att(*contact("C008", 1)),
                      att("a.ivanova@upakprom.ru", "Анна Иванова", "ACCEPTED")]))
    add(Ev(uid_for(fg, "logistics-two"), "Логистика поставок: ФудЛайн и ТК Волга", at(D("2026-09-24"), 14),
           at(D("2026-09-24"), 15, 30), cals=["petrov"], location="Офис УпакПром", organizer=me("petrov"),
           attendees=[att(*contact("C008", 0)), att(*contact("C008", 1)), att("y.volkov@tk-volga.ru", "Юрий Волков"),
                      att(*LOGIST)]))                                              # two clients: most attendees
    add(Ev(uid_for(fg, "market-jul"), "Маркет Экспресс: упаковка для фулфилмента", at(D("2026-07-14"), 11),
           at(D("2026-07-14"), 12), cals=["petrov"], location="Москва, Складочная ул., 1", organizer=me("petrov"),
           attendees=[att(*contact("C011"))]))
    add(Ev(uid_for(fg, "market-aug"), "Маркет Экспресс: пробная партия", at(D("2026-08-20"), 15),
           at(D("2026-08-20"), 16), cals=["petrov"], organizer=me("petrov"), attendees=[att(*contact("C011"))],
           conference="meet"))
    add(Ev(uid_for(fg, "vector-jul"), "Встреча ООО Вектор", at(D("2026-07-08"), 10, 30), at(D("2026-07-08"), 11, 30),
           cals=["petrov"], location="Мытищи"))                                    # title only, zero prior volume
    add(Ev(uid_for(fg, "ecopack-oct"), "ЭкоПак Логистик: знакомство", at(D("2026-10-06"), 14), at(D("2026-10-06"), 15),
           cals=["petrov"], location="Москва, Рязанский пр-т, 2", organizer=me("petrov"),
           attendees=[att(*contact("C010"))]))
    add(Ev(uid_for(fg, "ecopack-nov"), "ЭкоПак Логистик: тестовая поставка", at(D("2026-11-10"), 11), at(D("2026-11-10"), 12),
           cals=["petrov"], organizer=me("petrov"), attendees=[att(*contact("C010"))], conference="meet"))
    add(Ev(uid_for(fg, "ecopack-kp"), "Подготовить КП для ЭкоПак", at(D("2026-10-07"), 10), at(D("2026-10-07"), 11),
           cals=["petrov"], transp="TRANSPARENT"))                                  # free
    add(Ev(uid_for(fg, "polymer-nov"), "ООО «Полимер-Сервис» — первая встреча", at(D("2026-11-05"), 14, 30),
           at(D("2026-11-05"), 15, 30), cals=["petrov"], location="Королёв, ул. Пионерская, 4", organizer=me("petrov"),
           attendees=[att(*contact("C014"))]))
    add(Ev(uid_for(fg, "gmail-prospect"), "Встреча с Дмитрием Волковым (склад в Балашихе)", at(D("2026-11-11"), 16),
           at(D("2026-11-11"), 17), cals=["petrov"], organizer=me("petrov"),
           attendees=[att("dmitry.volkov.sklad@gmail.com", "Дмитрий Волков")], conference="meet"))  # prospect by email
    add(Ev(uid_for(fg, "declined-client"), "Дегустация новой упаковки", at(D("2026-11-26"), 16),
           at(D("2026-11-26"), 17), cals=["petrov"], organizer=me("petrov"),
           attendees=[att(*me("petrov")), att("s.makarova@konditer-plus.ru", "Светлана Макарова", "DECLINED")]))
    # ^ the only external attendee declined: no client, no prospect -> internal

    # ---- smirnov (Apple Calendar, folder of files) ----
    fa = "apple"
    add(Ev(uid_for(fa, "tula-biweekly"), "Визит: Тульский хлебозавод", at(D("2026-06-03"), 11), at(D("2026-06-03"), 13),
           cals=["smirnov"], location="Тула, ул. Ложевая, 125", organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C016"))], rrule="FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;COUNT=13", exdates=[at(D("2026-11-04"), 11)],
           overrides={at(D("2026-09-23"), 11): dict(
               title="Тульский хлебозавод (онлайн)", location="https://telemost.yandex.ru/j/58302918334712",
               desc="В этот раз без поездки.")}, file="01-series.ics"))
    add(Ev(uid_for(fa, "grand-jun"), "Знакомство с ООО «ГрандСтрой»", at(D("2026-06-10"), 14), at(D("2026-06-10"), 15, 30),
           cals=["smirnov"], location="Москва, ул. Строителей, 6", organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C018"))], file="02-summer.ics"))
    add(Ev(uid_for(fa, "leader-jul"), "Встреча ООО «Лидер»", at(D("2026-07-15"), 15), at(D("2026-07-15"), 16),
           cals=["smirnov"], file="02-summer.ics"))
    add(Ev(uid_for(fa, "leader-oct"), "Встреча ООО «Лидер»", at(D("2026-10-07"), 15), at(D("2026-10-07"), 16),
           cals=["smirnov"], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "apteka-sep"), "Аптека Здоровье: упаковка для e-com", at(D("2026-09-02"), 12),
           at(D("2026-09-02"), 13), cals=["smirnov"], organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C019"))], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "apteka-nov"), "Аптека Здоровье: повторная встреча", at(D("2026-11-12"), 12),
           at(D("2026-11-12"), 13), cals=["smirnov"], organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C019"))], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "sklad-oct"), "Склад-Сервис: знакомство", at(D("2026-10-14"), 10, 30), at(D("2026-10-14"), 11, 30),
           cals=["smirnov"], organizer=me("smirnov"), attendees=[att(*me("smirnov")), att(*contact("C022"))],
           file="03-autumn.ics"))
    add(Ev(uid_for(fa, "sklad-nov"), "Склад-Сервис: согласование спецификации", at(D("2026-11-03"), 10, 30),
           at(D("2026-11-03"), 11, 30), cals=["smirnov"], organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C022"))], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "agroprodukt"), "Знакомство: ГК «Агропродукт»", at(D("2026-09-17"), 11), at(D("2026-09-17"), 12),
           cals=["smirnov"], organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att("m.sidorov@agroprodukt.ru", "Михаил Сидоров")], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "trip"), "Командировка Тула — Калуга", at(D("2026-09-15"), 7), at(D("2026-09-16"), 21),
           cals=["smirnov"], file="03-autumn.ics"))                                # too_long
    add(Ev(uid_for(fa, "expo-allday"), "Выставка Упак-2026", D("2026-11-17"), D("2026-11-20"), cals=["smirnov"],
           allday=True, location="Крокус Экспо, павильон 2", transp="TRANSPARENT", file="03-autumn.ics"))
    add(Ev(uid_for(fa, "expo-grand"), "Выставка Упак-2026: встреча с ГрандСтрой на стенде", at(D("2026-11-17"), 12),
           at(D("2026-11-17"), 13), cals=["smirnov"], location="Крокус Экспо, стенд B-14", organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C018"))], file="03-autumn.ics"))
    add(Ev(uid_for(fa, "expo-prospect"), "Выставка Упак-2026: знакомство с ПакМаркет", at(D("2026-11-18"), 15),
           at(D("2026-11-18"), 15, 45), cals=["smirnov"], location="Крокус Экспо, стенд B-14",
           organizer=me("smirnov"), attendees=[att(*me("smirnov")), att("info@packmarket.ru", "ПакМаркет")],
           file="03-autumn.ics"))
    add(Ev(uid_for(fa, "mebel-future"), "Встреча ООО «Мебель Центр»", at(D("2026-11-27"), 18, 15),
           at(D("2026-11-27"), 19), cals=["smirnov"], organizer=me("smirnov"),
           attendees=[att(*me("smirnov")), att(*contact("C017"))], file="03-autumn.ics"))  # later on "now" day: future

    # ---- kozlova (Yandex Calendar) ----
    fy = "yandex"
    add(Ev(uid_for(fy, "vmk-weekly"), "Визит в ООО «Волжский мясокомбинат»", at(D("2026-06-03"), 10, 30),
           at(D("2026-06-03"), 12), cals=["kozlova"], location="Москва, Волжский б-р, 42", organizer=me("kozlova"),
           attendees=[att(*me("kozlova")), att(*contact("C023", 0)), att(*contact("C023", 1))],
           rrule="FREQ=WEEKLY;BYDAY=WE;UNTIL=20261231T000000Z",
           exdates=[at(D("2026-07-15"), 10, 30), at(D("2026-07-22"), 10, 30), at(D("2026-11-04"), 10, 30)],
           overrides={at(D("2026-09-09"), 10, 30): dict(start=at(D("2026-09-10"), 14), end=at(D("2026-09-10"), 15, 30))}))
    add(Ev(uid_for(fy, "vacation"), "Отпуск", D("2026-07-13"), D("2026-07-25"), cals=["kozlova"], allday=True))
    add(Ev(uid_for(fy, "farm-jun"), "АО «Фармацевт»: квартальная встреча", at(D("2026-06-17"), 14), at(D("2026-06-17"), 15),
           cals=["kozlova"], location="Москва, ул. Фармацевтов, 10", organizer=me("kozlova"),
           attendees=[att(*me("kozlova")), att(*contact("C028"))]))
    add(Ev(uid_for(fy, "zoo-jun"), "ЗооМир: знакомство", at(D("2026-06-23"), 11), at(D("2026-06-23"), 12),
           cals=["kozlova"], organizer=me("kozlova"), attendees=[att(*me("kozlova")), att(*contact("C026"))]))
    add(Ev(uid_for(fy, "zoo-nov"), "ЗооМир: вторая попытка", at(D("2026-11-24"), 11), at(D("2026-11-24"), 12),
           cals=["kozlova"], organizer=me("kozlova"), attendees=[att(*me("kozlova")), att(*contact("C026"))]))
    add(Ev(uid_for(fy, "tehno-aug"), "ТехноПласт — онлайн-презентация", at(D("2026-08-25"), 15), at(D("2026-08-25"), 16),
           cals=["kozlova"], organizer=me("kozlova"), attendees=[att(*me("kozlova")), att(*contact("C025"))],
           conference="zoom"))
    add(Ev(uid_for(fy, "expo-allday"), "Выставка Упак-2026", D("2026-11-17"), D("2026-11-20"), cals=["kozlova"],
           allday=True, location="Крокус Экспо"))
    add(Ev(uid_for(fy, "expo-tehno"), "Выставка Упак-2026: переговоры с ТехноПласт", at(D("2026-11-18"), 12),
           at(D("2026-11-18"), 13), cals=["kozlova"], location="Крокус Экспо, стенд B-14"))  # exhibition, title
    add(Ev(uid_for(fy, "kaskad"), "Встреча ООО Каскад", at(D("2026-10-08"), 14), at(D("2026-10-08"), 15),
           cals=["kozlova"], location="Москва"))                                    # unassigned client
    add(Ev(uid_for(fy, "toys-nov"), "Игрушки Опт: первая встреча", at(D("2026-11-09"), 11), at(D("2026-11-09"), 12),
           cals=["kozlova"], organizer=me("kozlova"), attendees=[att(*me("kozlova")), att(*contact("C030"))]))
    add(Ev(uid_for(fy, "sib-nomeeting"), "Сибирские напитки — завезти образцы", at(D("2026-11-16"), 16),
           at(D("2026-11-16"), 16, 30), cals=["kozlova"], organizer=me("kozlova"),
           attendees=[att(*me("kozlova")), att(*contact("C024"))],
           desc="Только оставить коробку с образцами на проходной. #nomeeting"))      # tag
    add(Ev(uid_for(fy, "alfa-lunch"), "Обед с директором ООО «Альфа»", at(D("2026-11-13"), 13), at(D("2026-11-13"), 14, 30),
           cals=["kozlova"], location="Ресторан «Пушкин»"))                          # excluded_title
    add(Ev(uid_for(fy, "yandex-prospect"), "Созвон: ИП Горелова (коробки для выпечки)", at(D("2026-10-20"), 17),
           at(D("2026-10-20"), 17, 30), cals=["kozlova"], organizer=me("kozlova"),
           attendees=[att(*me("kozlova")), att("gorelova.bakery@yandex.ru", "Ирина Горелова")],
           conference="telemost"))                                                   # prospect by email, call
    add(Ev(uid_for(fy, "telemost-prospect"), "Знакомство: Печенька (онлайн)", at(D("2026-11-06"), 12),
           at(D("2026-11-06"), 13), cals=["kozlova"], organizer=me("kozlova"),
           attendees=[att(*me("kozlova")), att("gorelova.bakery@yandex.ru", "Ирина Горелова")],
           conference="telemost"))                                                   # prospect, online


# ---- filler meetings ---------------------------------------------------------

# client -> (from, to) range of dates for routine meetings
FILLER = {
    "ivanova": {"C001": None, "C002": None, "C003": ("2026-06-01", "2026-07-31"), "C004": None, "C005": None,
                "C006": ("2026-07-21", None), "C007": ("2026-09-04", None)},
    "petrov": {"C008": None, "C009": None, "C012": None, "C013": ("2026-08-06", None), "C015": None},
    "smirnov": {"C016": None, "C017": None, "C018": ("2026-07-02", None), "C020": None},
    "kozlova": {"C023": None, "C024": None, "C025": ("2026-09-11", None), "C027": None},
}
FILL_PER_WEEK = {"ivanova": [2, 2, 3, 3, 4], "petrov": [3, 3, 4, 4, 5], "smirnov": [2, 3, 3, 4],
                 "kozlova": [2, 3, 3, 4]}
SLOTS = [(10, 0), (11, 30), (14, 30), (16, 0)]


def busy_map():
    """(manager, date) -> list of (start, end) of scripted occurrences, to avoid double booking."""
    busy = defaultdict(list)
    for ev in EVENTS:
        if ev.allday:
            d = ev.start
            while d < ev.end:
                for c in ev.cals:
                    busy[(c, d)].append((at(d, 0), at(d, 23, 59)))
                d += timedelta(days=1)
            continue
        for (s, e, _o) in expand(ev):
            for c in ev.cals:
                busy[(c, s.date())].append((s, e))
    return busy


def fillers(rng):
    busy = busy_map()
    n = 0
    for mid, _name, _email, _al, _plan, fmt in MANAGERS:
        week = RANGE_FROM
        while week <= RANGE_TO:
            days = [week + timedelta(days=i) for i in range(5)]
            days = [d for d in days if RANGE_FROM <= d <= RANGE_TO and d not in HOLIDAYS]
            free = []
            for d in days:
                for (hh, mm) in SLOTS:
                    s = at(d, hh, mm)
                    e = s + timedelta(hours=1)
                    if all(e <= bs or s >= be for (bs, be) in busy[(mid, d)]):
                        free.append((d, hh, mm))
            k = min(rng.choice(FILL_PER_WEEK[mid]), len(free))
            chosen = sorted(rng.sample(free, k))
            used_days = set()
            for (d, hh, mm) in chosen:
                if (d, hh) in used_days:
                    continue
                active = []
                for cid, rngs in FILLER[mid].items():
                    lo, hi = rngs if rngs else (None, None)
                    if lo and d < D(lo):
                        continue
                    if hi and d > D(hi):
                        continue
                    active.append(cid)
                cid = rng.choice(active)
                n += 1
                filler_event(rng, mid, fmt, cid, d, hh, mm, n)
                busy[(mid, d)].append((at(d, hh, mm), at(d, hh, mm) + timedelta(hours=1, minutes=30)))
                used_days.add((d, hh))
            week += timedelta(days=7)


def filler_event(rng, mid, fmt, cid, d, hh, mm, n):
    c = CLIENT[cid]
    has_contact = bool(c[6])
    r = rng.random()
    mode = "in_person" if r < 0.68 else ("online" if r < 0.84 else "call")
    if not has_contact and mode == "online":
        mode = "in_person"
    product = rng.choice(PRODUCTS)
    s = at(d, hh, mm)
    dur = {"in_person": rng.choice([60, 60, 90]), "online": rng.choice([30, 45, 60]), "call": 30}[mode]
    e = s + timedelta(minutes=dur)
    full = c[1]
    name = short(cid)
    if mode == "call":
        title = rng.choice([f"Созвон с {name}", f"Звонок {name}: {product}", f"Созвон: {full}, отгрузки"])
    elif mode == "online":
        title = rng.choice([f"{name}: онлайн-встреча", f"Видеовстреча с {name} — {product}"])
    else:
        title = rng.choice([f"Встреча {full}", f"Визит в {full}", f"{name}: {product}", f"Переговоры с {name}",
                            f"Встреча {name}"])
    status = "CANCELLED" if rng.random() < 0.05 else "CONFIRMED"
    kw = dict(cals=[mid], status=status, file="02-summer.ics" if d.month <= 8 else "03-autumn.ics")
    if has_contact:
        person = contact(cid, rng.randint(0, 5))
        kw["organizer"] = me(mid)
        kw["attendees"] = [att(*me(mid)), att(*person)]
        if mode == "in_person" and rng.random() < 0.2:
            kw["attendees"].append(att(*TECH))
    if mode == "online":
        kw["conference"] = {"outlook": "teams", "google": "meet", "apple": "telemost", "yandex": "zoom"}[fmt]
    if mode == "in_person" and rng.random() < 0.5:
        kw["location"] = rng.choice(["Офис клиента", "Офис УпакПром, переговорная 1", "Склад клиента"])
    add(Ev(uid_for(fmt, f"fill-{mid}-{n}"), title, s, e, **kw))


# --------------------------------------------------------------------------
# Expansion (reference; the ICS files carry the same rules)
# --------------------------------------------------------------------------

def expand(ev):
    """[(start, end, override-dict-or-None)] for timed events; original start included for overrides."""
    from dateutil.rrule import rrulestr
    if ev.allday:
        return []
    if not ev.rrule:
        return [(ev.start, ev.end, None)]
    rule = rrulestr(ev.rrule, dtstart=ev.start)
    dur = ev.end - ev.start
    limit = datetime(2027, 1, 1, tzinfo=MSK)
    out = []
    instances = set()
    for s in rule:
        if s >= limit:
            break
        instances.add(s)
        if s in ev.exdates:
            continue
        o = ev.overrides.get(s)
        if o is not None:
            out.append((o.get("start", s), o.get("end", s + dur), dict(o, _rid=s)))
        else:
            out.append((s, s + dur, None))
    for x in list(ev.overrides) + list(ev.exdates):
        assert x in instances, (ev.title, x)
    return out


# --------------------------------------------------------------------------
# ICS writing
# --------------------------------------------------------------------------

def esc(text):
    return text.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")


def fold(line):
    """RFC 5545 folding at 75 octets, never inside a UTF-8 sequence."""
    data = line.encode("utf-8")
    if len(data) <= 75:
        return line + "\r\n"
    parts = []
    limit = 75
    while data:
        cut = min(limit, len(data))
        while cut < len(data) and (data[cut] & 0xC0) == 0x80:
            cut -= 1
        parts.append(data[:cut].decode("utf-8"))
        data = data[cut:]
        limit = 74
    return "\r\n ".join(parts) + "\r\n"


def param(v):
    return f'"{v}"' if any(ch in v for ch in ':;,') else v


def tzid_for(fmt):
    return "Russian Standard Time" if fmt == "outlook" else "Europe/Moscow"


def dt_line(name, fmt, value, allday=False, utc=False):
    if allday:
        return f"{name};VALUE=DATE:{value.strftime('%Y%m%d')}"
    if utc:
        return f"{name}:{value.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return f"{name};TZID={tzid_for(fmt)}:{value.strftime('%Y%m%dT%H%M%S')}"


def person_line(kind, fmt, email, name, partstat=None, role=None):
    if fmt == "outlook":
        p = [f"CN={param(name)}"]
        if kind == "ATTENDEE":
            p = [f"ROLE={role}", f"PARTSTAT={partstat}", "RSVP=TRUE"] + p
    elif fmt == "google":
        if kind == "ATTENDEE":
            p = ["CUTYPE=INDIVIDUAL", f"ROLE={role}", f"PARTSTAT={partstat}", f"CN={param(name)}", "X-NUM-GUESTS=0"]
        else:
            p = [f"CN={param(name)}"]
    elif fmt == "apple":
        p = [f"CN={param(name)}", f"EMAIL={email}"]
        if kind == "ATTENDEE":
            p = [f"CN={param(name)}", "CUTYPE=INDIVIDUAL", f"EMAIL={email}", f"PARTSTAT={partstat}", f"ROLE={role}"]
    else:
        p = [f"CN={param(name)}"]
        if kind == "ATTENDEE":
            p += [f"PARTSTAT={partstat}", f"ROLE={role}"]
    return f"{kind};{';'.join(p)}:mailto:{email}"


def vtimezone(fmt):
    if fmt == "outlook":
        return ["BEGIN:VTIMEZONE", "TZID:Russian Standard Time", "BEGIN:STANDARD", "DTSTART:16010101T000000",
                "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "END:STANDARD", "BEGIN:DAYLIGHT",
                "DTSTART:16010101T000000", "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "END:DAYLIGHT", "END:VTIMEZONE"]
    lines = ["BEGIN:VTIMEZONE", "TZID:Europe/Moscow"]
    if fmt == "google":
        lines.append("X-LIC-LOCATION:Europe/Moscow")
    lines += ["BEGIN:STANDARD", "TZOFFSETFROM:+0300", "TZOFFSETTO:+0300", "TZNAME:MSK",
              "DTSTART:19700101T000000", "END:STANDARD", "END:VTIMEZONE"]
    return lines


def created_stamp(ev):
    h = int(hashlib.sha1(ev.uid.encode()).hexdigest()[:6], 16)
    base = ev.start if isinstance(ev.start, datetime) else at(ev.start, 9)
    c = base - timedelta(days=3 + h % 20, minutes=h % 600)
    return c.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def vevent_lines(ev, fmt, rng, *, rid=None, changes=None):
    changes = changes or {}
    title = changes.get("title", ev.title)
    start = changes.get("start", rid if rid is not None else ev.start)
    end = changes.get("end", start + (ev.end - ev.start))
    location = changes.get("location", ev.location)
    desc = changes.get("desc", ev.desc)
    status = changes.get("status", ev.status)
    conference_kind = changes.get("conference", ev.conference)
    link = ""
    conf = ""
    if conference_kind:
        link = video_link({"teams": "outlook", "meet": "google", "telemost": "apple", "zoom": "yandex"}[conference_kind], rng)
        if conference_kind == "meet":
            loc2, desc2, conf = online_fields("google", link)
        elif conference_kind == "teams":
            loc2, desc2, conf = online_fields("outlook", link)
        elif conference_kind == "telemost":
            loc2, desc2, conf = online_fields("apple" if fmt == "apple" else "yandex", link)
        else:
            loc2, desc2, conf = online_fields("yandex", link)
        location = location or loc2
        desc = (desc + "\n\n" if desc else "") + desc2
    # Google writes one-off events in UTC, series in their zone.
    utc = fmt == "google" and not ev.rrule and rid is None
    L = ["BEGIN:VEVENT"]
    if fmt == "outlook":
        for (email, name, ps, role) in ev.attendees:
            L.append(person_line("ATTENDEE", fmt, email, name, ps, role))
        L.append("CLASS:PUBLIC")
        L.append(f"CREATED:{created_stamp(ev)}")
        if desc:
            L.append(f"DESCRIPTION:{esc(desc)}")
        L.append(dt_line("DTEND", fmt, end, ev.allday))
        L.append(f"DTSTAMP:{DTSTAMP}")
        L.append(dt_line("DTSTART", fmt, start, ev.allday))
        if ev.rrule and rid is None:
            for x in ev.exdates:
                L.append(dt_line("EXDATE", fmt, x))
        L.append(f"LAST-MODIFIED:{created_stamp(ev)}")
        if location:
            L.append(f"LOCATION:{esc(location)}")
        if ev.organizer:
            L.append(person_line("ORGANIZER", fmt, *ev.organizer))
        L.append("PRIORITY:5")
        if rid is not None:
            L.append(dt_line("RECURRENCE-ID", fmt, rid))
        if ev.rrule and rid is None:
            L.append(f"RRULE:{ev.rrule}")
        L.append(f"SEQUENCE:{1 if rid is not None or status == 'CANCELLED' else 0}")
        if status == "CANCELLED":
            L.append("STATUS:CANCELLED")
        L.append(f"SUMMARY;LANGUAGE=ru:{esc(title)}")
        L.append(f"TRANSP:{ev.transp}")
        L.append(f"UID:{ev.uid}")
        busy = "FREE" if ev.transp == "TRANSPARENT" else ("OOF" if ev.allday else "BUSY")
        L.append(f"X-MICROSOFT-CDO-BUSYSTATUS:{busy}")
        L.append("X-MICROSOFT-CDO-IMPORTANCE:1")
        L.append(f"X-MICROSOFT-CDO-INTENDEDSTATUS:{busy}")
        L.append(f"X-MICROSOFT-CDO-ALLDAYEVENT:{'TRUE' if ev.allday else 'FALSE'}")
        L.append("X-MICROSOFT-CDO-INSTTYPE:" + ("3" if rid is not None else ("1" if ev.rrule else "0")))
        L.append("X-MICROSOFT-DISALLOW-COUNTER:FALSE")
        if conference_kind == "teams":
            L.append(f"X-MICROSOFT-SKYPETEAMSMEETINGURL:{link}")
            L.append("X-MICROSOFT-ONLINEMEETINGINFORMATION:{\"OnlineMeetingChannelId\":null\\,\"OnlineMeetingProvider\":3}")
        L.append("X-MS-OLK-AUTOFILLLOCATION:FALSE")
        L.append("X-MS-OLK-CONFTYPE:" + ("2" if conference_kind else "0"))
        if not ev.allday:
            L += ["BEGIN:VALARM", "TRIGGER:-PT15M", "ACTION:DISPLAY", "DESCRIPTION:Reminder", "END:VALARM"]
    else:
        L.append(dt_line("DTSTART", fmt, start, ev.allday, utc))
        L.append(dt_line("DTEND", fmt, end, ev.allday, utc))
        if ev.rrule and rid is None:
            L.append(f"RRULE:{ev.rrule}")
            for x in ev.exdates:
                L.append(dt_line("EXDATE", fmt, x))
        L.append(f"DTSTAMP:{DTSTAMP}")
        if ev.organizer:
            L.append(person_line("ORGANIZER", fmt, *ev.organizer))
        L.append(f"UID:{ev.uid}")
        if rid is not None:
            L.append(dt_line("RECURRENCE-ID", fmt, rid))
        for (email, name, ps, role) in ev.attendees:
            L.append(person_line("ATTENDEE", fmt, email, name, ps, role))
        if fmt == "google" and conf:
            L.append(f"X-GOOGLE-CONFERENCE:{conf}")
        L.append(f"CREATED:{created_stamp(ev)}")
        L.append(f"DESCRIPTION:{esc(desc)}" if (desc or fmt == "google") else None)
        L.append(f"LAST-MODIFIED:{created_stamp(ev)}")
        L.append(f"LOCATION:{esc(location)}" if (location or fmt == "google") else None)
        L.append(f"SEQUENCE:{1 if rid is not None else 0}")
        L.append(f"STATUS:{status}")
        L.append(f"SUMMARY:{esc(title)}")
        L.append(f"TRANSP:{ev.transp}")
        if fmt == "apple":
            L.append("X-APPLE-TRAVEL-ADVISORY-BEHAVIOR:AUTOMATIC")
        if fmt == "yandex":
            L.append(f"URL:https://calendar.yandex.ru/event?event_id={int(hashlib.sha1(ev.uid.encode()).hexdigest()[:8], 16)}")
        L = [x for x in L if x is not None]
    L.append("END:VEVENT")
    return L


def calendar_header(fmt, mid, name):
    if fmt == "outlook":
        return ["BEGIN:VCALENDAR", "PRODID:-//Microsoft Corporation//Outlook 16.0 MIMEDIR//EN", "VERSION:2.0",
                "METHOD:PUBLISH", "X-CALSTART:20260101T063000Z", "X-CALEND:20261231T080000Z",
                "X-CLIPSTART:20260531T210000Z", "X-CLIPEND:20261130T210000Z",
                "X-WR-RELCALID:{0000002E-6F1A-7C3D-2A8B-9E1F4D5C6B7A}", f"X-WR-CALNAME:Календарь — {name}",
                "X-PRIMARY-CALENDAR:TRUE", "X-OWNER;CN=" + param(name) + ":mailto:" + MGR[mid][2],
                "X-MS-OLK-WKHRSTART;TZID=Russian Standard Time:090000",
                "X-MS-OLK-WKHREND;TZID=Russian Standard Time:180000",
                "X-MS-OLK-WKHRDAYS:MO,TU,WE,TH,FR"]
    if fmt == "google":
        return ["BEGIN:VCALENDAR", "PRODID:-//Google Inc//Google Calendar 70.9054//EN", "VERSION:2.0",
                "CALSCALE:GREGORIAN", "METHOD:PUBLISH", f"X-WR-CALNAME:{MGR[mid][2]}", "X-WR-TIMEZONE:Europe/Moscow"]
    if fmt == "apple":
        return ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//Apple Inc.//macOS 15.1//EN", "CALSCALE:GREGORIAN",
                "X-WR-CALNAME:Работа", "X-APPLE-CALENDAR-COLOR:#1BADF8", "X-WR-TIMEZONE:Europe/Moscow"]
    return ["BEGIN:VCALENDAR", "PRODID:-//Yandex LLC//Yandex Calendar//EN", "VERSION:2.0", "METHOD:PUBLISH",
            f"X-WR-CALNAME:{name}", "X-WR-TIMEZONE:Europe/Moscow"]


def write_calendars(out, rng):
    files = defaultdict(list)  # path -> events
    for ev in EVENTS:
        for mid in ev.cals:
            if mid == "smirnov":
                files[f"calendars/smirnov/{ev.file or '03-autumn.ics'}"].append((mid, ev))
            else:
                files[f"calendars/{mid}.ics"].append((mid, ev))
    for path, items in sorted(files.items()):
        mid = items[0][0]
        fmt = fmt_of(mid)
        lines = calendar_header(fmt, mid, MGR[mid][1]) + vtimezone(fmt)
        # Google puts an override before its master now and then; keep it realistic but stable.
        for (_m, ev) in sorted(items, key=lambda it: (it[1].start if isinstance(it[1].start, datetime)
                                                     else at(it[1].start, 0), it[1].uid)):
            ev_rng = random.Random(ev.uid)
            overrides = sorted(ev.overrides.items())
            if fmt == "google" and overrides:
                for rid, ch in overrides:
                    lines += vevent_lines(ev, fmt, ev_rng, rid=rid, changes=ch)
                lines += vevent_lines(ev, fmt, ev_rng)
            else:
                lines += vevent_lines(ev, fmt, ev_rng)
                for rid, ch in overrides:
                    lines += vevent_lines(ev, fmt, ev_rng, rid=rid, changes=ch)
        lines.append("END:VCALENDAR")
        full = os.path.join(out, path)
        os.makedirs(os.path.dirname(full), exist_ok=True)
        with open(full, "w", encoding="utf-8", newline="") as f:
            for line in lines:
                f.write(fold(line))


def write_crm(out, orders, rng):
    os.makedirs(os.path.join(out, "crm"), exist_ok=True)
    with open(os.path.join(out, "crm", "clients.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "name", "domains", "emails", "manager", "key"])
        for cid, name, domains, emails, mgr, key, _c in CLIENTS:
            w.writerow([cid, name, ";".join(domains), ";".join(emails), mgr, key])
    with open(os.path.join(out, "crm", "orders.csv"), "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["id", "client_id", "created_at", "amount", "currency", "status", "manager"])
        for oid, cid, _created, amount, status, text in orders:
            w.writerow([oid, cid, text, money(amount), "RUB", status, CLIENT[cid][4]])


CONFIG = """\
# ООО «УпакПром»: a small Moscow distributor of industrial packaging.
# The demo company of meetledger: `meetledger demo` runs the whole pipeline on
# a copy of this folder with a fixed "now" (2026-11-27T18:00:00+03:00).
# Paths are relative to this file's folder.

[company]
name = "ООО «УпакПром»"
domains = ["upakprom.ru"]
timezone = "Europe/Moscow"
language = "ru"

[ledger]
path = "ledger.db"

[scoring]
# Every key is optional; these are the defaults (SPEC §4-5), written out.
# first_order_days = 60
# repeat_days = 180
# retention_days = 90
# retention_ratio = 0.8
# cadence_days = 90
# min_minutes = 15
# max_hours = 10
# dedupe_minutes = 15
# credit = "owner"                  # owner | organizer | each
# match_titles = true
# weights = { in_person = 1.0, online = 0.5, exhibition = 0.5, call = 0.0 }
# excluded_titles = ["lunch", "обед", "отпуск", "vacation", "day off", "выходной", "больничный", "sick leave"]
# meetings_bonus = 30000            # RUB for meeting the plan; absent: no money column
# quality_bonus = 20000             # RUB × mean score; absent: no money column
"""


def write_config(out):
    parts = [CONFIG]
    for mid, name, email, aliases, (pn, pe), _fmt in MANAGERS:
        parts.append("\n[[manager]]\n")
        parts.append(f'id = "{mid}"\nname = "{name}"\nemail = "{email}"\n')
        if aliases:
            parts.append("emails = [" + ", ".join(f'"{a}"' for a in aliases) + "]   # old address, still on some invites\n")
        parts.append(f"plan = {{ new = {pn}, existing = {pe} }}\n")
    notes = {"ivanova": "Outlook / Exchange export (Windows zone names)",
             "kozlova": "Yandex Calendar export",
             "petrov": "Google Calendar export",
             "smirnov": "a folder of Apple Calendar exports"}
    for mid, *_ in MANAGERS:
        path = "calendars/smirnov" if mid == "smirnov" else f"calendars/{mid}.ics"
        parts.append(f'\n[[calendar]]   # {notes[mid]}\nid = "{CAL_ID[mid]}"\nmanager = "{mid}"\nkind = "ics_file"\npath = "{path}"\n')
    parts.append('\n[[crm]]\nid = "main"\nkind = "csv"\nclients = "crm/clients.csv"\norders = "crm/orders.csv"\n')
    with open(os.path.join(out, "meetledger.toml"), "w", encoding="utf-8") as f:
        f.write("".join(parts))


# --------------------------------------------------------------------------
# Reference reading (SPEC §4-5), for the golden test's sanity check
# --------------------------------------------------------------------------

def words(text):
    t = text.lower().replace("ё", "е")
    return [w for w in re.split(r"[^\w]+", t) if w]


def name_words(name):
    return [w for w in words(name) if w not in LEGAL]


def contains_seq(hay, needle):
    n = len(needle)
    return n > 0 and any(hay[i:i + n] == needle for i in range(len(hay) - n + 1))


def internal(email):
    return email.split("@")[-1] in COMPANY_DOMAINS


def occurrences():
    """[(calendar(manager), uid, rid, start, end, fields)] in the sync range, timed and all-day."""
    occ = []
    for ev in EVENTS:
        if ev.allday:
            for c in ev.cals:
                occ.append(dict(cal=c, uid=ev.uid, rid=None, start=at(ev.start, 0), end=at(ev.end, 0), allday=True,
                                ev=ev, title=ev.title, location=ev.location, desc=ev.desc, status=ev.status,
                                conference=ev.conference))
            continue
        for (s, e, o) in expand(ev):
            o = o or {}
            for c in ev.cals:
                occ.append(dict(cal=c, uid=ev.uid, rid=o.get("_rid") if ev.rrule else None, start=s, end=e,
                                allday=False, ev=ev, title=o.get("title", ev.title),
                                location=o.get("location", ev.location), desc=o.get("desc", ev.desc),
                                status=o.get("status", ev.status), conference=ev.conference))
    return occ


def match_client(o):
    ev = o["ev"]
    parts = []
    if ev.organizer:
        parts.append((ev.organizer[0], "ACCEPTED"))
    parts += [(a[0], a[2]) for a in ev.attendees]
    ext = [e for (e, ps) in parts if not internal(e) and ps != "DECLINED"]
    # rule 1: email
    for rule in ("email", "domain"):
        hits = defaultdict(int)
        for e in ext:
            for c in CLIENTS:
                if rule == "email" and e in c[3]:
                    hits[c[0]] += 1
                if rule == "domain" and e.split("@")[1] not in PUBLIC and e.split("@")[1] in c[2]:
                    hits[c[0]] += 1
        if hits:
            best = sorted(hits.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
            return best, rule, ext
    tw = words(o["title"])
    lw = words(o["location"] or "")
    hits = [c[0] for c in CLIENTS if contains_seq(tw, name_words(c[1])) or contains_seq(lw, name_words(c[1]))]
    if hits:
        return sorted(hits)[0], "title", ext
    if ext:
        e = ext[0]
        dom = e.split("@")[1]
        return f"prospect:{e if dom in PUBLIC else dom}", "prospect", ext
    return None, None, ext


def kind_of(o):
    tw = words(o["title"])
    if any(w.startswith(k) for w in tw for k in EXHIBITION_KW):
        return "exhibition"
    if any(w.startswith(k) for w in tw for k in CALL_KW):
        return "call"
    text = (o["location"] or "") + " " + (o["desc"] or "")
    if o["conference"] or any(v in text for v in VIDEO):
        return "online"
    return "in_person"


def classify(o):
    ev = o["ev"]
    mine = [a for a in ev.attendees if MGR_BY_EMAIL.get(a[0]) == o["cal"]]
    if o["status"] == "CANCELLED":
        return "cancelled", None
    if mine and mine[0][2] == "DECLINED":
        return "declined", None
    if o["allday"]:
        return "all_day", None
    if ev.transp == "TRANSPARENT":
        return "free", None
    mins = (o["end"] - o["start"]).total_seconds() / 60
    if mins < 15:
        return "too_short", None
    if mins > 600:
        return "too_long", None
    t = o["title"].lower()
    if any(x in t for x in EXCLUDED_TITLES):
        return "excluded_title", None
    if "#nomeeting" in (o["title"] + " " + (o["desc"] or "")):
        return "override", None
    client, rule, ext = match_client(o)
    if client is None and not ext:
        return "internal", None
    if o["start"] > NOW:
        return "future", None
    return None, (client, rule)


def reference(orders):
    occ = [o for o in occurrences() if o["start"].date() >= RANGE_FROM - timedelta(days=200)]
    reasons = defaultdict(int)
    cands = []
    for o in occ:
        why, m = classify(o)
        if o["start"].date() < RANGE_FROM:
            continue
        reasons[why or "meeting"] += 1
        if m:
            o["client"], o["rule"] = m
            cands.append(o)
    # dedupe: same (uid, rid) or same client within 15 minutes, transitively
    parent = list(range(len(cands)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    by_key = {}
    for i, o in enumerate(cands):
        k = (o["uid"], o["rid"] or o["start"])
        if k in by_key:
            parent[find(i)] = find(by_key[k])
        else:
            by_key[k] = i
    by_client = defaultdict(list)
    for i, o in enumerate(cands):
        by_client[o["client"]].append(i)
    for cl, idx in by_client.items():
        idx.sort(key=lambda i: cands[i]["start"])
        for a, b in zip(idx, idx[1:]):
            if (cands[b]["start"] - cands[a]["start"]) <= timedelta(minutes=15):
                parent[find(b)] = find(a)
    groups = defaultdict(list)
    for i in range(len(cands)):
        groups[find(i)].append(cands[i])

    valid = [o for o in orders if o[4] not in ("cancelled", "canceled")]
    by_cl = defaultdict(list)
    for o in valid:
        by_cl[o[1]].append(o)

    meetings = []
    for g in groups.values():
        g.sort(key=lambda o: (o["start"], o["cal"]))
        first = g[0]
        client = sorted(g, key=lambda o: ["email", "domain", "title", "prospect"].index(o["rule"]))[0]["client"]
        participants = set(o["cal"] for o in g)
        for o in g:
            for a in o["ev"].attendees:
                if a[0] in MGR_BY_EMAIL and a[2] != "DECLINED":
                    participants.add(MGR_BY_EMAIL[a[0]])
        org = first["ev"].organizer
        assigned = CLIENT[client][4] if client in CLIENT else ""
        if assigned in participants:
            mgr = assigned
        elif org and org[0] in MGR_BY_EMAIL and MGR_BY_EMAIL[org[0]] in participants:
            mgr = MGR_BY_EMAIL[org[0]]
        else:
            mgr = sorted(participants)[0]
        own = [o for o in g if o["cal"] == mgr] or g
        rep = own[0]
        S = first["start"]
        kind = kind_of(rep)
        hist = by_cl.get(client, [])
        status = "existing" if any(o[2] < S for o in hist) else "new"
        if status == "new":
            A = [o for o in hist if S <= o[2] <= S + timedelta(days=60)]
            B = [o for o in hist if S <= o[2] <= S + timedelta(days=180)]
            if A and len(B) >= 2:
                out, final, score = "repeat", True, 1.0
            elif A:
                final = NOW >= S + timedelta(days=180)
                out, score = "ordered", 0.5
            elif NOW >= S + timedelta(days=60):
                out, final, score = "none", True, 0.0
            else:
                out, final, score = "pending", False, None
        else:
            R = timedelta(days=90)
            before = sum(o[3] for o in hist if S - R <= o[2] < S)
            after = sum(o[3] for o in hist if S <= o[2] < S + R)
            if NOW < S + R:
                out, final, score = "pending", False, None
            elif after > 0 and after >= 0.8 * before:
                out, final, score = "retained", True, 1.0
            elif after > 0:
                out, final, score = "ordered", True, 0.5
            else:
                out, final, score = "none", True, 0.0
        meetings.append(dict(manager=mgr, client=client, status=status, rule=rep["rule"], kind=kind,
                             weight=WEIGHTS[kind], start=S, cal=rep["cal"], uid=rep["uid"], title=rep["title"],
                             outcome=out, final=final, score=score, copies=len(g)))
    meetings.sort(key=lambda m: (m["start"], m["manager"]))
    return meetings, reasons


def month_report(meetings, period):
    y, mth = map(int, period.split("-"))
    month_end = datetime(y + (mth == 12), mth % 12 + 1, 1, tzinfo=MSK)
    ref = min(NOW, month_end)
    rows = []
    for mid, name, _e, _a, (pn, pe), _f in MANAGERS:
        ms = [m for m in meetings if m["manager"] == mid and m["start"].astimezone(MSK).strftime("%Y-%m") == period]
        raw = {s: sum(1 for m in ms if m["status"] == s) for s in ("new", "existing")}
        wt = {s: sum(m["weight"] for m in ms if m["status"] == s) for s in ("new", "existing")}
        kinds = defaultdict(int)
        for m in ms:
            kinds[m["kind"]] += 1
        outcomes = {k: sum(1 for m in ms if m["outcome"] == k) for k in ("repeat", "ordered", "none", "retained", "pending")}
        finals = [m["score"] for m in ms if m["final"]]
        keys = [c[0] for c in CLIENTS if c[4] == mid and c[5] in ("true", "yes", "1")]
        met = {m["client"] for m in meetings if ref - timedelta(days=90) <= m["start"] <= ref}
        cov = (sum(1 for k in keys if k in met) / len(keys)) if keys else None
        fulfil = (wt["new"] + wt["existing"]) / (pn + pe)
        rows.append(dict(id=mid, plan=(pn, pe), raw=raw, weighted=wt, kinds=dict(kinds), fulfilment=fulfil,
                         outcomes=outcomes, mean=(sum(finals) / len(finals)) if finals else None,
                         key_coverage=cov, keys=keys, keys_met=[k for k in keys if k in met],
                         smart=wt["new"] >= pn and wt["existing"] >= pe, meetings=ms))
    return rows


def print_report(rows, period, verbose):
    print(f"Reference reading for {period} (now = {NOW.isoformat()}):")
    for r in rows:
        mean = "null" if r["mean"] is None else f"{r['mean']:.3f}"
        cov = "null" if r["key_coverage"] is None else f"{r['key_coverage']:.3f}"
        print(f"  {r['id']:8} plan {r['plan'][0]}/{r['plan'][1]}  raw new {r['raw']['new']:2} existing {r['raw']['existing']:2}"
              f"  weighted new {r['weighted']['new']:4.1f} existing {r['weighted']['existing']:4.1f}"
              f"  fulfilment {r['fulfilment']:.3f}  smart_met {str(r['smart']).lower()}")
        print(f"           kinds {dict(sorted(r['kinds'].items()))}  outcomes {r['outcomes']}  mean_score {mean}"
              f"  key_coverage {cov} (met {r['keys_met']} of {r['keys']})")
        if verbose:
            for m in r["meetings"]:
                print(f"             {m['start'].astimezone(MSK):%m-%d %H:%M} {m['client']:32} {m['status']:8} {m['rule']:8}"
                      f" {m['kind']:10} {m['outcome']:8} {'final' if m['final'] else 'prov.'}  {m['title']}"
                      + (f"  [{m['copies']} copies]" if m["copies"] > 1 else ""))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "examples", "demo")))
    ap.add_argument("--check", action="store_true", help="do not write files")
    ap.add_argument("--month", default="2026-11")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    rng = random.Random(20261127)
    orders = build_orders(rng)
    scripted(rng)
    fillers(rng)
    if not args.check:
        write_config(args.out)
        write_calendars(args.out, random.Random(7))
        write_crm(args.out, orders, random.Random(11))
    meetings, reasons = reference(orders)
    print(f"{len(EVENTS)} VEVENT masters, {len(CLIENTS)} clients, {len(orders)} orders")
    print("occurrences in 2026-06..2026-11 by decision:", dict(sorted(reasons.items())))
    for p in (["2026-06", "2026-07", "2026-08", "2026-09", "2026-10", "2026-11"] if args.month == "all" else [args.month]):
        print_report(month_report(meetings, p), p, args.verbose)


if __name__ == "__main__":
    main()
