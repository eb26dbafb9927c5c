"""The job `make bench` compares `eventdriven run` with, done by DuckDB.

Usage: duckdb_job.py table DB INPUT OUTPUT    every column plus a UUID into a persistent table,
                                               then OrderId,ConfirmationId to a CSV
       duckdb_job.py csv INPUT OUTPUT          the same CSV, straight from CSV (no table)
"""
import sys

import duckdb


def main(mode, *paths):
    if mode == "table":
        database, source, output = paths
        con = duckdb.connect(database)
        con.execute(
            "CREATE OR REPLACE TABLE orders AS "
            "SELECT *, uuid() AS ConfirmationId FROM read_csv(?, header = true)",
            [source],
        )
        query = 'SELECT "Order ID" AS OrderId, ConfirmationId FROM orders'
    elif mode == "csv":
        source, output = paths
        con = duckdb.connect()
        query = f"SELECT \"Order ID\" AS OrderId, uuid() AS ConfirmationId FROM read_csv('{source}', header = true)"
    else:
        sys.exit(f"unknown mode {mode!r}; expected table or csv")
    con.execute(f"COPY ({query}) TO '{output}' (HEADER)")
    con.close()


if __name__ == "__main__":
    main(*sys.argv[1:])
