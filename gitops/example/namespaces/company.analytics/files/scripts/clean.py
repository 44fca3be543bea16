"""Keep the completed orders of the CSV given as the first argument."""

import csv
import sys

with open(sys.argv[1], newline="") as source, open("clean.csv", "w", newline="") as target:
    rows = csv.DictReader(source)
    writer = csv.DictWriter(target, fieldnames=rows.fieldnames or [])
    writer.writeheader()
    writer.writerows(row for row in rows if row.get("status", "completed") == "completed")
