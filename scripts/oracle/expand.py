#!/usr/bin/env python3
"""Independent oracle for meetledger's iCalendar expansion.

Expands .ics files with the widely used `recurring-ical-events` package
and prints one JSON line per occurrence in [FROM, TO), in the shape of
`meetledger events --format jsonl` (the fields the differential test
compares): uid, start, end, all_day, status.

usage: expand.py FILE FROM TO DEFAULT_TZ
       expand.py --batch [--probe|--count] FROM TO DEFAULT_TZ FILE...
       expand.py --batch --align FILE...

With --batch, every line also carries "file" (the argument as given), and a
file python cannot read yields one line {"file": ..., "error": "..."}
instead of occurrences; the other files go on. One interpreter start for many
files is what keeps the differential and benchmark runs fast.

--probe (after --batch) adds, for every recurring master, one line
{"file", "uid", "dtstart_in_rule": bool}: whether DTSTART is itself an
instance of its RRULE (checked with python-dateutil on wall-clock time,
COUNT and UNTIL ignored). RFC 5545 leaves a series whose DTSTART does not
match its rule undefined, and the differential test excludes those.

--align (after --batch) expands nothing and prints, for every recurring
master, {"file", "uid", "first": "YYYYMMDDTHHMMSS" or null}: the first
wall-clock instance of its RRULE at or after DTSTART (COUNT and UNTIL
ignored, four years searched). The differential test uses it to give
generated rules a DTSTART that matches them.

--count (after --batch) prints one line per file with the number of
occurrences only ({"file", "count"}), so that a benchmark measures the
expansion and not the JSON output.
"""

import datetime as dt
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events
from dateutil import rrule as du_rrule


def utc(value, default_tz):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=default_tz)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), False
    return value.strftime("%Y-%m-%d"), True


def expand(path, window, default_tz):
    with open(path, "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    return recurring_ical_events.of(calendar, skip_bad_series=True).between(*window)


def rows_of(events, default_tz):
    rows = []
    for event in events:
        begin, all_day = utc(event["DTSTART"].dt, default_tz)
        finish = event.get("DTEND")
        finish = utc(finish.dt, default_tz)[0] if finish is not None else begin
        rows.append(
            {
                "uid": str(event.get("UID", "")),
                "start": begin,
                "end": finish,
                "all_day": all_day,
                "status": str(event.get("STATUS", "CONFIRMED")).lower(),
            }
        )
    rows.sort(key=lambda r: (r["uid"], r["start"]))
    return rows


def dtstart_in_rule(event):
    start = event["DTSTART"].dt
    if isinstance(start, dt.datetime):
        naive = start.replace(tzinfo=None)
    else:
        naive = dt.datetime.combine(start, dt.time())
    parts = icalendar.vRecur(
        {k: v for k, v in event["RRULE"].items() if k not in ("COUNT", "UNTIL")}
    )
    # UNTIL=DTSTART bounds the search: a rule that never matches must not
    # make dateutil scan to year 9999.
    text = parts.to_ical().decode() + ";UNTIL=" + naive.strftime("%Y%m%dT%H%M%S")
    return list(du_rrule.rrulestr(text, dtstart=naive)) == [naive]


def first_instance(event):
    start = event["DTSTART"].dt
    if isinstance(start, dt.datetime):
        naive = start.replace(tzinfo=None)
    else:
        naive = dt.datetime.combine(start, dt.time())
    parts = icalendar.vRecur(
        {k: v for k, v in event["RRULE"].items() if k not in ("COUNT", "UNTIL")}
    )
    limit = naive + dt.timedelta(days=1461)
    text = parts.to_ical().decode() + ";UNTIL=" + limit.strftime("%Y%m%dT%H%M%S")
    for first in du_rrule.rrulestr(text, dtstart=naive):
        return first.strftime("%Y%m%dT%H%M%S")
    return None


def masters(path):
    with open(path, "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    for event in calendar.walk("VEVENT"):
        if "RRULE" in event and "RECURRENCE-ID" not in event and "DTSTART" in event:
            if not isinstance(event["RRULE"], list):
                yield event


def align(path):
    for event in masters(path):
        uid = str(event.get("UID", ""))
        print(json.dumps({"file": path, "uid": uid, "first": first_instance(event)}))


def probe(path):
    for event in masters(path):
        uid = str(event.get("UID", ""))
        print(json.dumps({"file": path, "uid": uid, "dtstart_in_rule": dtstart_in_rule(event)}))


def window_of(start, end):
    return [dt.datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (start, end)]


def main():
    args = sys.argv[1:]
    if args and args[0] == "--batch":
        args = args[1:]
        if args and args[0] == "--align":
            for path in args[1:]:
                align(path)
            return
        with_probe = bool(args) and args[0] == "--probe"
        if with_probe:
            args = args[1:]
        count_only = bool(args) and args[0] == "--count"
        if count_only:
            args = args[1:]
        start, end, tz_name, *files = args
        default_tz = zoneinfo.ZoneInfo(tz_name)
        window = window_of(start, end)
        for path in files:
            try:
                events = expand(path, window, default_tz)
                if count_only:
                    print(json.dumps({"file": path, "count": len(list(events))}))
                    continue
                rows = rows_of(events, default_tz)
                if with_probe:
                    probe(path)
            except Exception as e:  # the oracle reports, the test decides
                print(json.dumps({"file": path, "error": f"{type(e).__name__}: {e}"}))
                continue
            for row in rows:
                print(json.dumps({"file": path, **row}, ensure_ascii=False))
        return
    path, start, end, tz_name = args[:4]
    default_tz = zoneinfo.ZoneInfo(tz_name)
    for row in rows_of(expand(path, window_of(start, end), default_tz), default_tz):
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
