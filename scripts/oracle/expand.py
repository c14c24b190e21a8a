#!/usr/bin/env python3
"""Independent oracle for meetledger's iCalendar expansion.

Expands one .ics file with the widely used `recurring-ical-events` package
and prints one JSON line per occurrence in [FROM, TO), in the shape of
`meetledger events --format jsonl` (the fields the differential test
compares): uid, start, end, all_day, status.

usage: expand.py FILE FROM TO DEFAULT_TZ
"""

import datetime as dt
import json
import sys
import zoneinfo

import icalendar
import recurring_ical_events


def utc(value, default_tz):
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=default_tz)
        return value.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"), False
    return value.strftime("%Y-%m-%d"), True


def main():
    path, start, end, tz_name = sys.argv[1:5]
    default_tz = zoneinfo.ZoneInfo(tz_name)
    with open(path, "rb") as f:
        calendar = icalendar.Calendar.from_ical(f.read())
    window = [dt.datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (start, end)]
    events = recurring_ical_events.of(calendar, skip_bad_series=True).between(*window)
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
    for row in rows:
        print(json.dumps(row, ensure_ascii=False))


if __name__ == "__main__":
    main()
