/* Identity facts and objects, and the report's look-ups.  These run a
 * few times per target per cycle at most, so the statements are prepared
 * per call rather than kept in store.c's table. */
#include "store_identity.h"

#include <sqlite3.h>
#include <stdio.h>
#include <string.h>

static enum bw_err fail(struct store *st, char *err, const char *what) {
  return bw_fail(err, BW_EIO, "%s: %s: %s", store__path(st), what,
                 sqlite3_errmsg(store__db(st)));
}

static sqlite3_stmt *prepare(struct store *st, const char *sql) {
  sqlite3_stmt *s = NULL;

  if (sqlite3_prepare_v2(store__db(st), sql, -1, &s, NULL) != SQLITE_OK) {
    sqlite3_finalize(s);
    return NULL;
  }
  return s;
}

static const char *text(sqlite3_stmt *s, int col) {
  return (const char *)sqlite3_column_text(s, col);
}

static void bind(sqlite3_stmt *s, int i, const char *v) {
  if (v != NULL)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

/* Steps s to the end; fails with what. */
static enum bw_err finish(struct store *st, sqlite3_stmt *s, int rc,
                          const char *what, char *err) {
  enum bw_err out = rc == SQLITE_DONE ? BW_OK : fail(st, err, what);

  sqlite3_finalize(s);
  return out;
}

enum bw_err store_identity_facts(struct store *st, int64_t target,
                                 void (*fn)(void *arg, const char *fact,
                                            const char *value, int64_t since),
                                 void *arg, char *err) {
  sqlite3_stmt *s = prepare(st, "SELECT fact, value, since FROM identity"
                                " WHERE target = ?1");
  int rc;

  if (s == NULL)
    return fail(st, err, "cannot read identity facts");
  sqlite3_bind_int64(s, 1, target);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    fn(arg, text(s, 0), text(s, 1), sqlite3_column_int64(s, 2));
  return finish(st, s, rc, "cannot read identity facts", err);
}

enum bw_err store_identity_fact_put(struct store *st, int64_t target,
                                    const char *fact, const char *value,
                                    int64_t since, char *err) {
  sqlite3_stmt *s = prepare(st, "INSERT OR REPLACE INTO identity(target,"
                                " fact, value, since) VALUES(?1,?2,?3,?4)");

  if (s == NULL)
    return fail(st, err, "cannot store an identity fact");
  sqlite3_bind_int64(s, 1, target);
  bind(s, 2, fact);
  bind(s, 3, value);
  sqlite3_bind_int64(s, 4, since);
  return finish(st, s, sqlite3_step(s), "cannot store an identity fact", err);
}

enum bw_err store_identity_object_get(
    struct store *st, int64_t target,
    void (*fn)(void *arg, const struct store_identity_object *o), void *arg,
    char *err) {
  sqlite3_stmt *s = prepare(st, "SELECT object, problems, warnings, since"
                                " FROM identity_object WHERE target = ?1");
  int rc;

  if (s == NULL)
    return fail(st, err, "cannot read an identity");
  sqlite3_bind_int64(s, 1, target);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_identity_object o = {.target = target,
                                      .object = text(s, 0),
                                      .problems = text(s, 1),
                                      .warnings = text(s, 2),
                                      .since = sqlite3_column_int64(s, 3)};
    fn(arg, &o);
  }
  return finish(st, s, rc, "cannot read an identity", err);
}

enum bw_err store_identity_object_put(struct store *st, int64_t target,
                                      const char *object, const char *problems,
                                      const char *warnings, int64_t since,
                                      char *err) {
  sqlite3_stmt *s = prepare(st, "INSERT OR REPLACE INTO identity_object("
                                "target, object, problems, warnings, since)"
                                " VALUES(?1,?2,?3,?4,?5)");

  if (s == NULL)
    return fail(st, err, "cannot store an identity");
  sqlite3_bind_int64(s, 1, target);
  bind(s, 2, object);
  bind(s, 3, problems);
  bind(s, 4, warnings);
  sqlite3_bind_int64(s, 5, since);
  return finish(st, s, sqlite3_step(s), "cannot store an identity", err);
}

enum bw_err store_identity_each(
    struct store *st,
    void (*fn)(void *arg, const struct store_identity_object *o), void *arg,
    char *err) {
  sqlite3_stmt *s =
      prepare(st, "SELECT t.id, t.key, t.label, t.kind, i.object, i.problems,"
                  " i.warnings, i.since FROM identity_object i JOIN targets t"
                  " ON t.id = i.target WHERE t.retired IS NULL ORDER BY t.id");
  int rc;

  if (s == NULL)
    return fail(st, err, "cannot read identities");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_identity_object o = {.target = sqlite3_column_int64(s, 0),
                                      .key = text(s, 1),
                                      .label = text(s, 2),
                                      .kind = text(s, 3),
                                      .object = text(s, 4),
                                      .problems = text(s, 5),
                                      .warnings = text(s, 6),
                                      .since = sqlite3_column_int64(s, 7)};
    fn(arg, &o);
  }
  return finish(st, s, rc, "cannot read identities", err);
}

/* ---- for the report ------------------------------------------------------ */

enum bw_err store_target_find(struct store *st, const char *key,
                              struct store_target_info *out, bool *found,
                              char *err) {
  sqlite3_stmt *s = prepare(st, "SELECT id, kind, label, source, added,"
                                " first_checked, retired FROM targets"
                                " WHERE key = ?1");
  int rc;

  *found = false;
  if (s == NULL)
    return fail(st, err, "cannot read targets");
  bind(s, 1, key);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    memset(out, 0, sizeof(*out));
    out->id = sqlite3_column_int64(s, 0);
    snprintf(out->kind, sizeof(out->kind), "%s", text(s, 1));
    snprintf(out->label, sizeof(out->label), "%s",
             text(s, 2) ? text(s, 2) : "");
    snprintf(out->source, sizeof(out->source), "%s", text(s, 3));
    out->added = sqlite3_column_int64(s, 4);
    out->first_checked = sqlite3_column_int64(s, 5);
    out->retired = sqlite3_column_int64(s, 6);
    *found = true;
  }
  return finish(st, s, rc, "cannot read targets", err);
}

enum bw_err store_target_states(struct store *st, int64_t target,
                                void (*fn)(void *arg,
                                           const struct store_state_row *r),
                                void *arg, char *err) {
  sqlite3_stmt *s = prepare(st, "SELECT list, result, codes, meanings,"
                                " reason, detail, since, checked FROM state"
                                " WHERE target = ?1 ORDER BY list");
  int rc;

  if (s == NULL)
    return fail(st, err, "cannot read state");
  sqlite3_bind_int64(s, 1, target);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_state_row r = {.target = target,
                                .list = text(s, 0),
                                .result = text(s, 1),
                                .codes = text(s, 2),
                                .meanings = text(s, 3),
                                .reason = text(s, 4),
                                .detail = text(s, 5),
                                .since = sqlite3_column_int64(s, 6),
                                .checked = sqlite3_column_int64(s, 7)};
    fn(arg, &r);
  }
  return finish(st, s, rc, "cannot read state", err);
}

enum bw_err store_cycle_first(struct store *st, int64_t *started, char *err) {
  sqlite3_stmt *s = prepare(st, "SELECT min(started) FROM cycles"
                                " WHERE ended IS NOT NULL");
  int rc;

  *started = 0;
  if (s == NULL)
    return fail(st, err, "cannot read cycles");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    *started = sqlite3_column_int64(s, 0);
  return finish(st, s, rc, "cannot read cycles", err);
}
