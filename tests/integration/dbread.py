"""Reading a blwatch database from the tests: read-only connections, rows
as dicts, the state table keyed by (target, list) and the events in id
order, with their JSON columns decoded."""

import json
import sqlite3


def db_connect(path):
    return sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)


def db_rows(path, sql, args=()):
    con = db_connect(path)
    con.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in con.execute(sql, args)]
    finally:
        con.close()


def db_state(path):
    rows = db_rows(path, "SELECT t.key AS key, s.list AS list, s.result AS result,"
                         " s.codes AS codes, s.meanings AS meanings, s.reason AS reason,"
                         " s.detail AS detail, s.since AS since, s.checked AS checked"
                         " FROM state s JOIN targets t ON t.id = s.target")
    out = {}
    for r in rows:
        r["codes"] = json.loads(r["codes"])
        r["meanings"] = json.loads(r["meanings"])
        out[(r["key"], r["list"])] = r
    return out


def db_events(path):
    rows = db_rows(path, "SELECT * FROM events ORDER BY id")
    for r in rows:
        r["codes"] = json.loads(r["codes"])
        r["meanings"] = json.loads(r["meanings"])
    return rows
