/* The SQLite store: creation, migration from the first schema, refusal of
 * newer and foreign files, and the state/event/outbox round trip. */
#include "testutil.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store.h"

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  char *buf;

  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  *len = (size_t)ftell(f);
  rewind(f);
  buf = malloc(*len + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, *len, f), *len);
  fclose(f);
  buf[*len] = '\0';
  return buf;
}

static const char *db_path(void) {
  static char path[TU_PATH + 16];

  snprintf(path, sizeof(path), "%s/blwatch.db", tu_mkdir());
  return path;
}

static void exec_sql(const char *path, const char *sql) {
  sqlite3 *db;

  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
}

static void creates_latest_schema(void **state) {
  const char *path = db_path();
  struct store *st;
  char err[BW_ERRLEN];

  (void)state;
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(store_schema_version(st), store_schema_latest());
  /* Target sync works right after the migrations, inside a transaction
   * as run does it (its TEMP table once failed after their ALTER TABLE). */
  assert_int_equal(store_begin(st, err), BW_OK);
  assert_int_equal(store_sync_start(st, "config", 1, err), BW_OK);
  store_rollback(st);
  store_close(st);
  /* The read-only open used by status works on what the writer made. */
  assert_int_equal(store_open(path, STORE_READONLY, &st, err), BW_OK);
  store_close(st);
}

/* A database written by the first release opens, upgrades and keeps its
 * rows. */
static void migrates_from_first_schema(void **state) {
  const char *path = db_path();
  size_t len;
  char *sql = read_file(UNIT_DATA_DIR "/schema-v1.sql", &len);
  struct store_state states[4];
  struct store_target t[4];
  struct store *st;
  char err[BW_ERRLEN];
  size_t n;

  (void)state;
  exec_sql(path, sql);
  free(sql);
  exec_sql(path,
           "INSERT INTO targets(id, kind, key, label, source, added)"
           " VALUES(7, 'ip4', '192.0.2.10', 'mx1', 'config', 1);"
           "INSERT INTO state VALUES(7, 'spamhaus-zen', 'listed',"
           " '[\"127.0.0.2\"]', '[\"SBL\"]', 'r', NULL, 100, 200);"
           "INSERT INTO events(at, type, target, target_key, list)"
           " VALUES(100, 'listed', 7, '192.0.2.10', 'spamhaus-zen');"
           "INSERT INTO outbox(event, channel, created, next_attempt)"
           " VALUES(1, 'ops', 100, 160);");
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(store_schema_version(st), store_schema_latest());
  assert_int_equal(store_targets_next(st, 0, t, 4, &n, err), BW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(t[0].key, "192.0.2.10");
  assert_string_equal(t[0].label, "mx1");
  assert_int_equal(store_state_get(st, 7, states, 4, &n, err), BW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(states[0].result, "listed");
  assert_string_equal(states[0].codes, "[\"127.0.0.2\"]");
  assert_int_equal(states[0].since, 100);
  /* v3 keeps retry times in milliseconds: the pending row is still due
   * at the same instant. */
  int64_t due;
  assert_int_equal(store_outbox_next_due(st, "ops", &due, err), BW_OK);
  assert_int_equal(due, 160000);
  assert_int_equal(store_begin(st, err), BW_OK);
  assert_int_equal(store_sync_start(st, "config", 1, err), BW_OK);
  store_rollback(st);
  store_close(st);
}

static void refuses_newer_schema_untouched(void **state) {
  const char *path = db_path();
  struct store *st = NULL;
  char err[BW_ERRLEN], *before, *after;
  size_t lb, la;

  (void)state;
  exec_sql(path, "CREATE TABLE x(a); PRAGMA user_version = 99;");
  before = read_file(path, &lb);
  assert_int_not_equal(store_open(path, 0, &st, err), BW_OK);
  tu_assert_contains(err, "newer");
  after = read_file(path, &la);
  assert_int_equal(lb, la);
  assert_memory_equal(before, after, lb);
  free(before);
  free(after);
}

static void refuses_foreign_file_untouched(void **state) {
  static const char junk[] = "this is not a database, just text\n";
  const char *path = tu_write(junk);
  struct store *st = NULL;
  char err[BW_ERRLEN], *after;
  size_t len;

  (void)state;
  assert_int_not_equal(store_open(path, 0, &st, err), BW_OK);
  tu_assert_contains(err, path);
  after = read_file(path, &len);
  assert_int_equal(len, sizeof(junk) - 1);
  assert_memory_equal(after, junk, len);
  free(after);
}

static void readonly_without_database_says_so(void **state) {
  struct store *st = NULL;
  char err[BW_ERRLEN];

  (void)state;
  assert_int_not_equal(store_open(tu_missing_path(), STORE_READONLY, &st,
                                  err),
                       BW_OK);
  tu_assert_contains(err, "no database");
}

struct seen {
  int n;
  char types[4][16];
};

static bool collect(void *arg, const struct store_event *ev) {
  struct seen *s = arg;

  if (s->n < 4)
    snprintf(s->types[s->n], sizeof(s->types[0]), "%s", ev->type);
  s->n++;
  return true;
}

/* State, event and outbox rows go in together and read back in order. */
static void event_outbox_round_trip(void **state) {
  const char *path = db_path();
  const char *chan[] = {"ops-mail", "chat"};
  struct store *st;
  struct seen seen = {0};
  char err[BW_ERRLEN];
  int64_t id, pending;

  (void)state;
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(store_begin(st, err), BW_OK);
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.10", "mx1", "config",
                                    1, 10, &id, err),
                   BW_OK);
  struct store_event e1 = {.at = 10, .type = "listed", .target = id,
                           .target_key = "192.0.2.10", .list = "bl"};
  struct store_event e2 = {.at = 20, .type = "delisted", .target = id,
                           .target_key = "192.0.2.10", .list = "bl"};
  assert_int_equal(store_event_add(st, &e1, chan, 2, err), BW_OK);
  assert_int_equal(store_event_add(st, &e2, chan, 2, err), BW_OK);
  assert_int_equal(store_commit(st, err), BW_OK);
  assert_int_equal(store_outbox_pending(st, &pending, err), BW_OK);
  assert_int_equal(pending, 4);
  assert_int_equal(store_events_each(st, "192.0.2.10", 0, collect, &seen,
                                     err),
                   BW_OK);
  assert_int_equal(seen.n, 2);
  assert_string_equal(seen.types[0], "delisted"); /* newest first */
  assert_string_equal(seen.types[1], "listed");
  store_close(st);
}

/* Retired targets keep their rows but leave the active set. */
static void retire_targets_not_seen(void **state) {
  const char *path = db_path();
  struct store *st;
  struct store_target t[4];
  char err[BW_ERRLEN];
  int64_t id, n = 0;
  size_t got;

  (void)state;
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.1", NULL, "config",
                                    1, 1, &id, err),
                   BW_OK);
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.2", NULL, "config",
                                    2, 1, &id, err),
                   BW_OK);
  assert_int_equal(store_targets_retire(st, "config", 2, 5, &n, err), BW_OK);
  assert_int_equal(n, 1);
  assert_int_equal(store_targets_next(st, 0, t, 4, &got, err), BW_OK);
  assert_int_equal(got, 1);
  assert_string_equal(t[0].key, "192.0.2.2");
  /* Seen again: revived under the same id. */
  assert_int_equal(store_target_put(st, "ip4", "192.0.2.1", NULL, "config",
                                    3, 6, &id, err),
                   BW_OK);
  assert_int_equal(store_targets_count(st, &n, err), BW_OK);
  assert_int_equal(n, 2);
  store_close(st);
}

/* What another connection sees of the database's writes. */
static int64_t data_version(sqlite3 *db) {
  sqlite3_stmt *s;
  int64_t v = -1;

  assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &s,
                                      NULL), SQLITE_OK);
  if (sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int64(s, 0);
  sqlite3_finalize(s);
  return v;
}

struct sync_item {
  const char *kind, *key, *label;
};

/* One sync of the config source with items; checks added and retired. */
static void sync_set(struct store *st, const struct sync_item *items,
                     size_t n, int64_t now, int64_t want_added,
                     int64_t want_retired) {
  char err[BW_ERRLEN];
  int64_t added = -1, retired = -1;

  assert_int_equal(store_begin(st, err), BW_OK);
  assert_int_equal(store_sync_start(st, "config", now, err), BW_OK);
  for (size_t i = 0; i < n; i++)
    assert_int_equal(store_sync_add(st, items[i].kind, items[i].key,
                                    items[i].label, err), BW_OK);
  assert_int_equal(store_sync_finish(st, &added, &retired, err), BW_OK);
  assert_int_equal(store_commit(st, err), BW_OK);
  assert_int_equal(added, want_added);
  assert_int_equal(retired, want_retired);
}

/* The active targets as "key/label ..." in id order. */
static char *active(struct store *st, char *buf, size_t size) {
  struct store_target t[8];
  char err[BW_ERRLEN];
  size_t n, used = 0;

  buf[0] = '\0';
  assert_int_equal(store_targets_next(st, 0, t, 8, &n, err), BW_OK);
  for (size_t i = 0; i < n; i++)
    used += (size_t)snprintf(buf + used, size - used, "%s%s/%s",
                             i ? " " : "", t[i].key, t[i].label);
  return buf;
}

/* The config sync adds, relabels, retires and revives, and a sync where
 * nothing changed writes nothing at all. */
static void sync_writes_only_changes(void **state) {
  static const struct sync_item first[] = {
      {"ip4", "192.0.2.1", "x"},
      {"ip4", "192.0.2.2", NULL},
      {"domain", "example.com", ""},
      {"ip4", "192.0.2.1", "y"}, /* added twice: the last label wins */
  };
  static const struct sync_item second[] = {
      {"ip4", "192.0.2.1", "z"},
      {"domain", "example.com", NULL},
      {"ip6", "2001:db8::1", NULL},
  };
  static const struct sync_item third[] = {{"ip4", "192.0.2.2", "back"}};
  const char *path = db_path();
  char err[BW_ERRLEN], buf[512];
  struct store *st;
  sqlite3 *other;
  int64_t v;

  (void)state;
  assert_int_equal(store_open(path, 0, &st, err), BW_OK);
  assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
  sync_set(st, first, 4, 10, 3, 0);
  assert_string_equal(active(st, buf, sizeof(buf)),
                      "192.0.2.1/y 192.0.2.2/ example.com/");
  /* Again, with the duplicate: "x" then "y", the row ends as it was. */
  sync_set(st, first, 4, 20, 0, 0);
  assert_string_equal(active(st, buf, sizeof(buf)),
                      "192.0.2.1/y 192.0.2.2/ example.com/");
  /* Without it: not a byte written. */
  v = data_version(other);
  sync_set(st, first + 1, 3, 30, 0, 0);
  assert_int_equal(data_version(other), v);
  /* 192.0.2.2 left, 2001:db8::1 came, 192.0.2.1 changed its label. */
  sync_set(st, second, 3, 60, 1, 1);
  assert_string_equal(active(st, buf, sizeof(buf)),
                      "192.0.2.1/z example.com/ 2001:db8::1/");
  /* Back again: revived under its old id, with its new label. */
  sync_set(st, third, 1, 70, 0, 3);
  assert_string_equal(active(st, buf, sizeof(buf)), "192.0.2.2/back");
  sqlite3_close(other);
  store_close(st);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(creates_latest_schema),
      cmocka_unit_test(migrates_from_first_schema),
      cmocka_unit_test(refuses_newer_schema_untouched),
      cmocka_unit_test(refuses_foreign_file_untouched),
      cmocka_unit_test(readonly_without_database_says_so),
      cmocka_unit_test(event_outbox_round_trip),
      cmocka_unit_test(retire_targets_not_seen),
      cmocka_unit_test(sync_writes_only_changes),
  };

  tu_init();
  return cmocka_run_group_tests_name("store", tests, NULL, tu_cleanup);
}
