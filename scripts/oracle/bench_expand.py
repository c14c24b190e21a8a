#!/usr/bin/env python3
"""Benchmark driver for scripts/bench-ics, python side: reads and expands
.ics files with `recurring-ical-events` the way expand.py does, and prints
one JSON line {"files", "occurrences", "errors", "read_seconds",
"expand_seconds"}, the counterpart of `examples/expand_ics.rs expand`.
Times exclude the interpreter start and imports (the wall clock measured
by the script includes them).

usage: bench_expand.py FROM TO DEFAULT_TZ [--repeat N] FILE...
"""

import datetime as dt
import json
import sys
import time

import icalendar
import recurring_ical_events


def main():
    start, end, _tz, *files = sys.argv[1:]
    repeat = 1
    if files and files[0] == "--repeat":
        repeat, files = int(files[1]), files[2:]
    window = [dt.datetime.fromisoformat(x.replace("Z", "+00:00")) for x in (start, end)]
    occurrences = errors = 0
    read_s = expand_s = 0.0
    for _ in range(repeat):
        for path in files:
            t = time.perf_counter()
            try:
                with open(path, "rb") as f:
                    calendar = icalendar.Calendar.from_ical(f.read())
            except Exception:
                errors += 1
                read_s += time.perf_counter() - t
                continue
            read_s += time.perf_counter() - t
            t = time.perf_counter()
            try:
                query = recurring_ical_events.of(calendar, skip_bad_series=True)
                occurrences += sum(1 for _ in query.between(*window))
            except Exception:
                errors += 1
            expand_s += time.perf_counter() - t
    print(
        json.dumps(
            {
                "files": len(files) * repeat,
                "occurrences": occurrences,
                "errors": errors,
                "read_seconds": round(read_s, 4),
                "expand_seconds": round(expand_s, 4),
            }
        )
    )


if __name__ == "__main__":
    main()
