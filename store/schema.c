/* Schema migrations.  Step i moves a database from user_version i to i+1;
 * steps are never edited once released, only appended. */
#include "schema.h"

#include <stddef.h>

static const char *const migrations[] = {
    /* 0 -> 1: the first schema. */
    "CREATE TABLE targets ("
    "  id INTEGER PRIMARY KEY,"
    "  kind TEXT NOT NULL,"          /* ip4 ip6 domain */
    "  key TEXT NOT NULL UNIQUE,"    /* canonical address or domain */
    "  label TEXT,"
    "  source TEXT NOT NULL,"        /* config, host:NAME */
    "  added INTEGER NOT NULL,"
    "  first_checked INTEGER,"
    "  retired INTEGER,"             /* NULL while watched */
    "  seen INTEGER NOT NULL DEFAULT 0"
    ") STRICT;"
    "CREATE INDEX targets_active ON targets(retired, id);"
    /* Only pairs that are not clear have a row: a cycle where everything
     * stays clear writes nothing here. */
    "CREATE TABLE state ("
    "  target INTEGER NOT NULL REFERENCES targets(id),"
    "  list TEXT NOT NULL,"
    "  result TEXT NOT NULL,"
    "  codes TEXT NOT NULL DEFAULT '[]',"
    "  meanings TEXT NOT NULL DEFAULT '[]',"
    "  reason TEXT,"
    "  detail TEXT,"
    "  since INTEGER NOT NULL,"
    "  checked INTEGER NOT NULL,"
    "  PRIMARY KEY (target, list)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE events ("
    "  id INTEGER PRIMARY KEY,"
    "  at INTEGER NOT NULL,"
    "  type TEXT NOT NULL,"
    "  target INTEGER REFERENCES targets(id),"
    "  target_key TEXT,"
    "  label TEXT,"
    "  list TEXT,"
    "  zone TEXT,"
    "  result TEXT,"
    "  codes TEXT NOT NULL DEFAULT '[]',"
    "  meanings TEXT NOT NULL DEFAULT '[]',"
    "  reason TEXT,"
    "  delist TEXT,"
    "  detail TEXT,"
    "  cycle INTEGER"
    ") STRICT;"
    "CREATE INDEX events_at ON events(at);"
    "CREATE INDEX events_target ON events(target_key, at);"
    "CREATE TABLE outbox ("
    "  id INTEGER PRIMARY KEY,"
    "  event INTEGER NOT NULL REFERENCES events(id),"
    "  channel TEXT NOT NULL,"
    "  created INTEGER NOT NULL,"
    "  attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_attempt INTEGER NOT NULL,"
    "  delivered INTEGER,"
    "  dead INTEGER NOT NULL DEFAULT 0,"
    "  last_error TEXT"
    ") STRICT;"
    "CREATE INDEX outbox_pending ON outbox(channel, next_attempt)"
    "  WHERE delivered IS NULL AND dead = 0;"
    "CREATE TABLE zones ("
    "  list TEXT PRIMARY KEY,"
    "  zone TEXT NOT NULL,"
    "  health TEXT NOT NULL,"
    "  checked INTEGER,"
    "  since INTEGER"
    ") STRICT;"
    "CREATE TABLE cycles ("
    "  id INTEGER PRIMARY KEY,"
    "  started INTEGER NOT NULL,"
    "  ended INTEGER,"
    "  targets INTEGER NOT NULL DEFAULT 0,"
    "  queries INTEGER NOT NULL DEFAULT 0,"
    "  clear INTEGER NOT NULL DEFAULT 0,"
    "  listed INTEGER NOT NULL DEFAULT 0,"
    "  refused INTEGER NOT NULL DEFAULT 0,"
    "  bogus INTEGER NOT NULL DEFAULT 0,"
    "  error INTEGER NOT NULL DEFAULT 0,"
    "  untrusted INTEGER NOT NULL DEFAULT 0"
    ") STRICT;",
    /* 1 -> 2: outbox rows sent together share a notice id, so a retried
     * notice carries the same events and the same id (receivers can drop
     * duplicates). */
    "ALTER TABLE outbox ADD COLUMN notice INTEGER;"
    "CREATE INDEX outbox_notice ON outbox(notice);",
    /* 2 -> 3: retry times in milliseconds.  Whole seconds made a 1 s retry
     * come anywhere from 0 to 1 s after the failure. */
    "ALTER TABLE outbox RENAME COLUMN next_attempt TO due_ms;"
    "UPDATE outbox SET due_ms = due_ms * 1000;",
    /* 3 -> 4: sender identity checks.  One row per fact of a target (PTR,
     * FCrDNS, MX, SPF, DMARC...) with the value last recorded, so a
     * confirmed change becomes one identity_changed event; and the
     * target's identity object as status and report show it, rewritten
     * only when it changes. */
    "CREATE TABLE identity ("
    "  target INTEGER NOT NULL REFERENCES targets(id),"
    "  fact TEXT NOT NULL,"
    "  value TEXT NOT NULL,"
    "  since INTEGER NOT NULL,"
    "  PRIMARY KEY (target, fact)"
    ") STRICT, WITHOUT ROWID;"
    "CREATE TABLE identity_object ("
    "  target INTEGER PRIMARY KEY REFERENCES targets(id),"
    "  object TEXT NOT NULL,"   /* JSON, as check --identity --json */
    "  problems TEXT NOT NULL," /* one per line */
    "  warnings TEXT NOT NULL,"
    "  since INTEGER NOT NULL"  /* unchanged since */
    ") STRICT;",
};

int schema_latest(void) {
  return (int)(sizeof(migrations) / sizeof(migrations[0]));
}

const char *schema_step(int from) {
  if (from < 0 || from >= schema_latest())
    return NULL;
  return migrations[from];
}
