"""The process step of examples/custom-process: one chunk of orders in, each order's margin out.

Reads the chunk at EVENTDRIVEN_INPUT (a CSV with the input's header), writes OrderId,MarginPercent
to EVENTDRIVEN_OUTPUT and every row it cannot use to EVENTDRIVEN_REJECTS (line,reason,raw), as
docs/process-contract.md asks. Standard library only.

Two settings make it misbehave, for the tests of the pipeline's guarantees:
- DROP_ONE_ROW=1 leaves the first row out of both files;
- FAIL_ONCE_DIR=DIR makes the first attempt on each chunk exit 1 (it remembers in DIR).
"""

import csv
import io
import os
import sys
from decimal import Decimal, InvalidOperation


def margin(row):
    revenue, profit = Decimal(row["Total Revenue"]), Decimal(row["Total Profit"])
    if revenue == 0:
        raise ValueError("Total Revenue is 0")
    return (profit * 100 / revenue).quantize(Decimal("0.01"))


def main():
    fail_once = os.environ.get("FAIL_ONCE_DIR")
    if fail_once:
        marker = os.path.join(fail_once, os.environ["CHUNK"])
        if not os.path.exists(marker):
            os.makedirs(fail_once, exist_ok=True)
            open(marker, "w").close()
            print(f"failing the first attempt on chunk {os.environ['CHUNK']}", file=sys.stderr)
            return 1
    drop_one = os.environ.get("DROP_ONE_ROW") == "1"

    with open(os.environ["EVENTDRIVEN_INPUT"], newline="") as chunk, \
            open(os.environ["EVENTDRIVEN_OUTPUT"], "w", newline="") as output, \
            open(os.environ["EVENTDRIVEN_REJECTS"], "w", newline="") as rejects:
        rows = csv.DictReader(chunk)
        out = csv.writer(output, lineterminator="\n")
        out.writerow(["OrderId", "MarginPercent"])
        rejected = csv.writer(rejects, lineterminator="\n")
        rejected.writerow(["line", "reason", "raw"])
        for number, row in enumerate(rows, start=1):
            if drop_one and number == 1:
                continue
            try:
                out.writerow([row["Order ID"], margin(row)])
            except (KeyError, TypeError, ValueError, InvalidOperation) as problem:
                raw = io.StringIO()
                csv.writer(raw, lineterminator="").writerow(
                    [value for value in row.values() if isinstance(value, str)])
                rejected.writerow([number, f"no margin: {problem!r}", raw.getvalue()])
    return 0


if __name__ == "__main__":
    sys.exit(main())
