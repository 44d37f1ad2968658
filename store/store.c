#include "store.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "schema.h"
#include "store_identity.h"

/* Every statement the store runs, prepared once. */
#define STMT_LIST(X)                                                          \
  X(BEGIN, "BEGIN IMMEDIATE")                                                 \
  X(COMMIT, "COMMIT")                                                         \
  X(ROLLBACK, "ROLLBACK")                                                     \
  X(TARGET_PUT,                                                               \
    "INSERT INTO targets(kind, key, label, source, added, seen)"             \
    " VALUES(?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT(key) DO UPDATE SET"         \
    " kind = ?1, label = ?3, source = ?4, seen = ?6, retired = NULL"         \
    " RETURNING id")                                                          \
  X(TARGET_RETIRE,                                                            \
    "UPDATE targets SET retired = ?3 WHERE retired IS NULL"                  \
    " AND source LIKE ?1 AND seen <> ?2")                                     \
  X(SYNC_GET,                                                                 \
    "SELECT id, kind, label, source, retired IS NOT NULL FROM targets"       \
    " WHERE key = ?1")                                                        \
  X(SYNC_INSERT,                                                              \
    "INSERT INTO targets(kind, key, label, source, added)"                   \
    " VALUES(?1, ?2, ?3, ?4, ?5) RETURNING id")                               \
  X(SYNC_UPDATE,                                                              \
    "UPDATE targets SET kind = ?2, label = ?3, source = ?4, retired = NULL"  \
    " WHERE id = ?1")                                                         \
  X(SYNC_ACTIVE,                                                              \
    "SELECT id FROM targets WHERE retired IS NULL AND source = ?1")          \
  X(SYNC_RETIRE, "UPDATE targets SET retired = ?2 WHERE id = ?1")            \
  X(MAX_TARGET_ID, "SELECT coalesce(max(id), 0) FROM targets")                \
  X(TARGET_NEXT,                                                              \
    "SELECT id, kind, key, label, first_checked FROM targets"                \
    " WHERE retired IS NULL AND id > ?1 ORDER BY id LIMIT ?2")               \
  X(TARGET_COUNT,                                                             \
    "SELECT count(*) FROM targets WHERE retired IS NULL AND id > ?1")        \
  X(TARGET_COUNT_KIND,                                                        \
    "SELECT count(*) FROM targets WHERE retired IS NULL AND kind = ?1")      \
  X(TARGET_CHECKED,                                                           \
    "UPDATE targets SET first_checked = ?2 WHERE id = ?1"                    \
    " AND first_checked IS NULL")                                             \
  X(STATE_GET,                                                                \
    "SELECT list, result, codes, since FROM state WHERE target = ?1")        \
  X(STATE_PUT,                                                                \
    "INSERT OR REPLACE INTO state(target, list, result, codes, meanings,"    \
    " reason, detail, since, checked) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9)")   \
  X(STATE_DELETE, "DELETE FROM state WHERE target = ?1 AND list = ?2")       \
  X(EVENT_ADD,                                                                \
    "INSERT INTO events(at, type, target, target_key, label, list, zone,"    \
    " result, codes, meanings, reason, delist, detail, cycle)"               \
    " VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)")               \
  X(OUTBOX_ADD,                                                               \
    "INSERT INTO outbox(event, channel, created, due_ms)"                    \
    " VALUES(?1, ?2, ?3, ?3 * 1000)")                                                \
  X(OUTBOX_PENDING,                                                           \
    "SELECT count(*) FROM outbox WHERE delivered IS NULL AND dead = 0")      \
  X(OUTBOX_RETRY,                                                             \
    "SELECT notice FROM outbox WHERE channel = ?1 AND delivered IS NULL"     \
    " AND dead = 0 AND notice IS NOT NULL AND due_ms <= ?2"                  \
    " ORDER BY notice LIMIT 1")                                               \
  X(OUTBOX_ROWS,                                                              \
    "SELECT o.id, o.notice, o.attempts, o.created, o.due_ms, e.id,"          \
    " e.at, e.type, e.target, e.target_key, e.label, e.list, e.zone,"        \
    " e.result, e.codes, e.meanings, e.reason, e.delist, e.detail, e.cycle"  \
    " FROM outbox o JOIN events e ON e.id = o.event WHERE o.channel = ?1"    \
    " AND o.delivered IS NULL AND o.dead = 0 AND (CASE WHEN ?2 = 0 THEN"     \
    " o.notice IS NULL AND o.due_ms <= ?3 ELSE o.notice = ?2 END)"           \
    " ORDER BY o.id LIMIT ?4")                                                \
  X(OUTBOX_GROUP, "UPDATE outbox SET notice = ?2 WHERE id = ?1")             \
  X(OUTBOX_NEXT_DUE,                                                          \
    "SELECT min(due_ms) FROM outbox WHERE channel = ?1"                      \
    " AND delivered IS NULL AND dead = 0")                                                          \
  X(OUTBOX_DELIVERED,                                                         \
    "UPDATE outbox SET delivered = ?2, last_error = NULL WHERE notice = ?1") \
  X(OUTBOX_FAILED,                                                            \
    "UPDATE outbox SET attempts = attempts + 1, due_ms = ?2,"                \
    " dead = ?3, last_error = ?4 WHERE notice = ?1")                          \
  X(ZONE_GET, "SELECT health, checked, since FROM zones WHERE list = ?1")    \
  X(ZONE_PUT,                                                                 \
    "INSERT INTO zones(list, zone, health, checked, since)"                  \
    " VALUES(?1,?2,?3,?4,?5) ON CONFLICT(list) DO UPDATE SET zone = ?2,"     \
    " health = ?3, checked = ?4, since = ?5")                                 \
  X(CYCLE_START, "INSERT INTO cycles(started) VALUES(?1)")                   \
  X(CYCLE_END,                                                                \
    "UPDATE cycles SET ended = ?2, targets = ?3, queries = ?4, clear = ?5,"  \
    " listed = ?6, refused = ?7, bogus = ?8, error = ?9, untrusted = ?10"    \
    " WHERE id = ?1")                                                         \
  X(CYCLE_LAST,                                                               \
    "SELECT id, started, ended, targets, queries, clear, listed, refused,"   \
    " bogus, error, untrusted FROM cycles WHERE ended IS NOT NULL"           \
    " ORDER BY id DESC LIMIT 1")

enum stmt_id {
#define STMT_ENUM(name, sql) S_##name,
  STMT_LIST(STMT_ENUM)
#undef STMT_ENUM
      S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
#define STMT_SQL(name, sql) sql,
    STMT_LIST(STMT_SQL)
#undef STMT_SQL
};

struct store {
  sqlite3 *db;
  char *path;
  bool readonly;
  bool in_txn;
  sqlite3_stmt *stmt[S_COUNT];
  struct sync {      /* between store_sync_start() and _finish() */
    char *source;
    int64_t now;
    uint8_t *seen;   /* a bit per target id: in the config this time */
    size_t seen_len; /* bytes */
    int64_t added;
  } sync;
};

int store_schema_latest(void) { return schema_latest(); }

/* For the store's other files (store_identity.h): the connection and the
 * path for error messages. */
sqlite3 *store__db(struct store *st) { return st->db; }
const char *store__path(const struct store *st) { return st->path; }

static enum bw_err db_fail(struct store *st, char *err, const char *what) {
  return bw_fail(err, BW_EIO, "%s: %s: %s", st->path, what,
                 sqlite3_errmsg(st->db));
}

/* The statement, reset and unbound, ready for binding. */
static sqlite3_stmt *stmt(struct store *st, enum stmt_id id) {
  sqlite3_stmt *s = st->stmt[id];

  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  return s;
}

/* Runs a statement to completion. */
static enum bw_err run(struct store *st, sqlite3_stmt *s, const char *what,
                       char *err) {
  int rc;

  while ((rc = sqlite3_step(s)) == SQLITE_ROW)
    ;
  sqlite3_reset(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, what);
  return BW_OK;
}

static void bind_text(sqlite3_stmt *s, int i, const char *v) {
  if (v != NULL)
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
  else
    sqlite3_bind_null(s, i);
}

static void copy_col(sqlite3_stmt *s, int col, char *buf, size_t size) {
  const unsigned char *v = sqlite3_column_text(s, col);

  snprintf(buf, size, "%s", v != NULL ? (const char *)v : "");
}

/* ---- open, migrate, close ---------------------------------------------- */

static int user_version(struct store *st) {
  sqlite3_stmt *s;
  int v = -1;

  if (sqlite3_prepare_v2(st->db, "PRAGMA user_version", -1, &s, NULL) !=
      SQLITE_OK)
    return -1;
  if (sqlite3_step(s) == SQLITE_ROW)
    v = sqlite3_column_int(s, 0);
  sqlite3_finalize(s);
  return v;
}

int store_schema_version(struct store *st) { return user_version(st); }

static enum bw_err exec(struct store *st, const char *sql, char *err) {
  char *msg = NULL;

  if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    bw_fail(err, BW_EIO, "%s: %s", st->path, msg ? msg : "failed");
    sqlite3_free(msg);
    return BW_EIO;
  }
  return BW_OK;
}

/* Applies the missing migration steps in one transaction. */
static enum bw_err migrate(struct store *st, int from, char *err) {
  char sql[64];
  enum bw_err rc = exec(st, "BEGIN IMMEDIATE", err);

  for (int v = from; rc == BW_OK && v < schema_latest(); v++)
    rc = exec(st, schema_step(v), err);
  if (rc == BW_OK) {
    snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", schema_latest());
    rc = exec(st, sql, err);
  }
  if (rc == BW_OK)
    return exec(st, "COMMIT", err);
  sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
  return rc;
}

static enum bw_err refuse_newer(struct store *st, char *err) {
  int v = user_version(st);

  if (v < 0)
    return db_fail(st, err, "not a readable blwatch database");
  if (v > schema_latest())
    return bw_fail(err, BW_EINVAL,
                   "%s: database schema version %d is newer than this "
                   "blwatch understands (%d); use a newer blwatch",
                   st->path, v, schema_latest());
  return BW_OK;
}

static enum bw_err check_version(struct store *st, char *err) {
  int v = user_version(st);

  if (v < schema_latest() && st->readonly)
    return bw_fail(err, BW_EINVAL,
                   "%s: database schema version %d is older than %d; "
                   "'blwatch run' upgrades it", st->path, v, schema_latest());
  if (v < schema_latest())
    return migrate(st, v, err);
  return BW_OK;
}

/* WAL lets status and history read while the poller writes; NORMAL
 * synchronous loses nothing on a process crash, which is the failure
 * the outbox must survive. */
static enum bw_err set_pragmas(struct store *st, char *err) {
  sqlite3_stmt *s;
  bool wal = false;

  sqlite3_busy_timeout(st->db, 5000);
  if (st->readonly)
    return exec(st, "PRAGMA foreign_keys = ON", err);
  if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode = WAL", -1, &s,
                         NULL) != SQLITE_OK)
    return db_fail(st, err, "cannot set WAL mode");
  if (sqlite3_step(s) == SQLITE_ROW)
    wal = strcmp((const char *)sqlite3_column_text(s, 0), "wal") == 0;
  sqlite3_finalize(s);
  if (!wal)
    return db_fail(st, err, "cannot use WAL mode (not a database?)");
  return exec(st, "PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON",
              err);
}

static enum bw_err prepare_all(struct store *st, char *err) {
  for (int i = 0; i < S_COUNT; i++)
    if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
                           SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                           NULL) != SQLITE_OK)
      return db_fail(st, err, "cannot prepare statement");
  return BW_OK;
}

/* Creates the database's folder (one level, 0750) when it is missing, so
 * that a fresh setup only needs a path; a deeper missing tree is an error
 * that says which folder is missing. */
static enum bw_err make_parent(const char *path, char *err) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  struct stat sb;

  if (slash == NULL || slash == path)
    return BW_OK;
  if ((size_t)(slash - path) >= sizeof(dir))
    return bw_fail(err, BW_EINVAL, "%s: path too long", path);
  memcpy(dir, path, (size_t)(slash - path));
  dir[slash - path] = '\0';
  if (stat(dir, &sb) == 0 || mkdir(dir, 0750) == 0)
    return BW_OK;
  return bw_fail(err, BW_EIO, "%s: cannot create the folder %s: %s", path,
                 dir, strerror(errno));
}

enum bw_err store_open(const char *path, unsigned flags, struct store **out,
                       char *err) {
  struct store *st = calloc(1, sizeof(*st));
  struct stat sb;
  int oflags;
  enum bw_err rc;

  if (st == NULL || (st->path = strdup(path)) == NULL) {
    free(st);
    return bw_fail(err, BW_ENOMEM, "out of memory");
  }
  st->readonly = flags & STORE_READONLY;
  if (st->readonly && stat(path, &sb) != 0) {
    rc = bw_fail(err, BW_EIO, "%s: no database (%s); has 'blwatch run' "
                 "completed a cycle?", path, strerror(errno));
    store_close(st);
    return rc;
  }
  if (!st->readonly && (rc = make_parent(path, err)) != BW_OK) {
    store_close(st);
    return rc;
  }
  oflags = st->readonly ? SQLITE_OPEN_READONLY
                        : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  if (sqlite3_open_v2(path, &st->db, oflags | SQLITE_OPEN_NOMUTEX, NULL) !=
      SQLITE_OK) {
    rc = db_fail(st, err, "cannot open database");
    store_close(st);
    return rc;
  }
  /* The version is read before anything is written, so that a database
   * this build must refuse is left exactly as it was. */
  rc = refuse_newer(st, err);
  if (rc == BW_OK)
    rc = set_pragmas(st, err);
  if (rc == BW_OK)
    rc = check_version(st, err);
  if (rc == BW_OK)
    rc = prepare_all(st, err);
  if (rc != BW_OK) {
    store_close(st);
    return rc;
  }
  *out = st;
  return BW_OK;
}

void store_close(struct store *st) {
  if (st == NULL)
    return;
  if (st->in_txn)
    store_rollback(st);
  for (int i = 0; i < S_COUNT; i++)
    sqlite3_finalize(st->stmt[i]);
  free(st->sync.source);
  free(st->sync.seen);
  if (st->db != NULL && !st->readonly)
    sqlite3_exec(st->db, "PRAGMA optimize", NULL, NULL, NULL);
  sqlite3_close(st->db);
  free(st->path);
  free(st);
}

enum bw_err store_begin(struct store *st, char *err) {
  enum bw_err rc = run(st, stmt(st, S_BEGIN), "cannot begin", err);

  st->in_txn = rc == BW_OK;
  return rc;
}

enum bw_err store_commit(struct store *st, char *err) {
  enum bw_err rc = run(st, stmt(st, S_COMMIT), "cannot commit", err);

  if (rc != BW_OK)
    store_rollback(st);
  st->in_txn = false;
  return rc;
}

void store_rollback(struct store *st) {
  char err[BW_ERRLEN];

  run(st, stmt(st, S_ROLLBACK), "rollback", err);
  st->in_txn = false;
}

bool store_in_transaction(const struct store *st) { return st->in_txn; }

/* ---- targets ----------------------------------------------------------- */

enum bw_err store_target_put(struct store *st, const char *kind,
                             const char *key, const char *label,
                             const char *source, int64_t gen, int64_t now,
                             int64_t *id, char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_PUT);
  int rc;

  bind_text(s, 1, kind);
  bind_text(s, 2, key);
  bind_text(s, 3, label && *label ? label : NULL);
  bind_text(s, 4, source);
  sqlite3_bind_int64(s, 5, now);
  sqlite3_bind_int64(s, 6, gen);
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *id = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc != SQLITE_ROW)
    return db_fail(st, err, "cannot store target");
  return BW_OK;
}

/* Steps s, already reset and bound, for one number. */
static enum bw_err count_bound(struct store *st, sqlite3_stmt *s, int64_t *n,
                               char *err) {
  int rc = sqlite3_step(s);

  *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? BW_OK : db_fail(st, err, "cannot count");
}

static enum bw_err count_query(struct store *st, enum stmt_id id, int64_t *n,
                               char *err) {
  return count_bound(st, stmt(st, id), n, err);
}

/* A sync looks each config target up by key and writes only what
 * changed; the targets it saw are marked in a bitmap by row id (1 bit a
 * target: 125 KB for a million), so that those of source it did not see
 * can be retired.  Memory stays flat however many targets the config
 * has, and a sync where nothing changed writes nothing. */
static bool sync_grow(struct store *st, int64_t id) {
  size_t byte = (size_t)id / 8;

  if (byte >= st->sync.seen_len) {
    size_t len = byte + byte / 2 + 64;
    uint8_t *grown = realloc(st->sync.seen, len);
    if (grown == NULL)
      return false;
    memset(grown + st->sync.seen_len, 0, len - st->sync.seen_len);
    st->sync.seen = grown;
    st->sync.seen_len = len;
  }
  return true;
}

static bool sync_mark(struct store *st, int64_t id) {
  if (!sync_grow(st, id))
    return false;
  st->sync.seen[id / 8] |= (uint8_t)(1u << (id % 8));
  return true;
}

static bool sync_marked(const struct store *st, int64_t id) {
  size_t byte = (size_t)id / 8;

  return byte < st->sync.seen_len &&
         (st->sync.seen[byte] & (1u << (id % 8))) != 0;
}

static void sync_clear(struct store *st) {
  free(st->sync.source);
  free(st->sync.seen);
  memset(&st->sync, 0, sizeof(st->sync));
}

enum bw_err store_sync_start(struct store *st, const char *source,
                             int64_t now, char *err) {
  int64_t max_id;

  sync_clear(st);
  if (count_query(st, S_MAX_TARGET_ID, &max_id, err) != BW_OK)
    return BW_EIO;
  st->sync.source = strdup(source);
  st->sync.now = now;
  if (st->sync.source == NULL || !sync_grow(st, max_id))
    return bw_fail(err, BW_ENOMEM, "out of memory");
  return BW_OK;
}

/* Whether the stored row differs from what the config says now. */
static bool sync_differs(sqlite3_stmt *s, const char *kind, const char *label,
                         const char *source) {
  const char *k = (const char *)sqlite3_column_text(s, 1);
  const char *l = (const char *)sqlite3_column_text(s, 2);
  const char *src = (const char *)sqlite3_column_text(s, 3);

  return strcmp(k ? k : "", kind) != 0 ||
         (l == NULL) != (label == NULL) ||
         (l != NULL && strcmp(l, label) != 0) ||
         strcmp(src ? src : "", source) != 0 || sqlite3_column_int(s, 4);
}

static enum bw_err sync_write(struct store *st, enum stmt_id id,
                              int64_t row, const char *kind, const char *key,
                              const char *label, int64_t *out, char *err) {
  sqlite3_stmt *s = stmt(st, id);
  int rc;

  if (id == S_SYNC_INSERT) {
    bind_text(s, 1, kind);
    bind_text(s, 2, key);
    bind_text(s, 3, label);
    bind_text(s, 4, st->sync.source);
    sqlite3_bind_int64(s, 5, st->sync.now);
  } else {
    sqlite3_bind_int64(s, 1, row);
    bind_text(s, 2, kind);
    bind_text(s, 3, label);
    bind_text(s, 4, st->sync.source);
  }
  rc = sqlite3_step(s);
  if (rc == SQLITE_ROW)
    *out = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return db_fail(st, err, "cannot store target");
  return BW_OK;
}

enum bw_err store_sync_add(struct store *st, const char *kind,
                           const char *key, const char *label, char *err) {
  sqlite3_stmt *s = stmt(st, S_SYNC_GET);
  int64_t id = 0;
  bool found, differs = false;
  enum bw_err rc = BW_OK;
  int step;

  if (st->sync.source == NULL)
    return bw_fail(err, BW_EINVAL, "store_sync_add() outside a sync");
  if (label != NULL && *label == '\0')
    label = NULL;
  bind_text(s, 1, key);
  step = sqlite3_step(s);
  found = step == SQLITE_ROW;
  if (found) {
    id = sqlite3_column_int64(s, 0);
    differs = sync_differs(s, kind, label, st->sync.source);
  }
  sqlite3_reset(s);
  if (step != SQLITE_ROW && step != SQLITE_DONE)
    return db_fail(st, err, "cannot read targets");
  if (!found) {
    rc = sync_write(st, S_SYNC_INSERT, 0, kind, key, label, &id, err);
    st->sync.added++;
  } else if (differs) {
    rc = sync_write(st, S_SYNC_UPDATE, id, kind, key, label, &id, err);
  }
  if (rc == BW_OK && !sync_mark(st, id))
    return bw_fail(err, BW_ENOMEM, "out of memory");
  return rc;
}

/* The active targets of the source that the sync did not see.  Their ids
 * are gathered first: rows are not changed under a running SELECT. */
static enum bw_err sync_unseen(struct store *st, int64_t **ids, size_t *n,
                               char *err) {
  sqlite3_stmt *s = stmt(st, S_SYNC_ACTIVE);
  size_t cap = 0;
  int rc;

  *ids = NULL;
  *n = 0;
  bind_text(s, 1, st->sync.source);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(s, 0);
    if (sync_marked(st, id))
      continue;
    if (*n == cap) {
      int64_t *grown = realloc(*ids, (cap = cap * 2 + 64) * sizeof(**ids));
      if (grown == NULL) {
        sqlite3_reset(s);
        return bw_fail(err, BW_ENOMEM, "out of memory");
      }
      *ids = grown;
    }
    (*ids)[(*n)++] = id;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read targets");
  return BW_OK;
}

enum bw_err store_sync_finish(struct store *st, int64_t *added,
                              int64_t *retired, char *err) {
  int64_t *ids = NULL;
  size_t n = 0;
  enum bw_err rc;

  if (st->sync.source == NULL)
    return bw_fail(err, BW_EINVAL, "store_sync_finish() outside a sync");
  rc = sync_unseen(st, &ids, &n, err);
  for (size_t i = 0; rc == BW_OK && i < n; i++) {
    sqlite3_stmt *s = stmt(st, S_SYNC_RETIRE);
    sqlite3_bind_int64(s, 1, ids[i]);
    sqlite3_bind_int64(s, 2, st->sync.now);
    rc = run(st, s, "cannot retire targets", err);
  }
  free(ids);
  *added = st->sync.added;
  *retired = rc == BW_OK ? (int64_t)n : 0;
  sync_clear(st);
  return rc;
}

enum bw_err store_targets_retire(struct store *st, const char *source,
                                 int64_t gen, int64_t now, int64_t *n,
                                 char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_RETIRE);
  enum bw_err rc;

  bind_text(s, 1, source);
  sqlite3_bind_int64(s, 2, gen);
  sqlite3_bind_int64(s, 3, now);
  rc = run(st, s, "cannot retire targets", err);
  if (n != NULL)
    *n = sqlite3_changes(st->db);
  return rc;
}

enum bw_err store_hosts_retire_except(struct store *st,
                                      const char *const *hosts, size_t n,
                                      int64_t now, char *err) {
  sqlite3_stmt *s;
  enum bw_err rc;
  char *sql;

  /* One ad-hoc statement at reload time: the host list is short. */
  sql = sqlite3_mprintf("UPDATE targets SET retired = %lld WHERE retired "
                        "IS NULL AND source LIKE 'host:%%'",
                        (long long)now);
  for (size_t i = 0; sql != NULL && i < n; i++) {
    char *more = sqlite3_mprintf("%s AND source <> 'host:%q'", sql, hosts[i]);
    sqlite3_free(sql);
    sql = more;
  }
  if (sql == NULL)
    return bw_fail(err, BW_ENOMEM, "out of memory");
  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK) {
    sqlite3_free(sql);
    return db_fail(st, err, "cannot retire hosts");
  }
  sqlite3_free(sql);
  rc = run(st, s, "cannot retire hosts", err);
  sqlite3_finalize(s);
  return rc;
}

enum bw_err store_targets_next(struct store *st, int64_t after,
                               struct store_target *out, size_t max,
                               size_t *n, char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_NEXT);
  int rc;

  *n = 0;
  sqlite3_bind_int64(s, 1, after);
  sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
    struct store_target *t = &out[(*n)++];
    t->id = sqlite3_column_int64(s, 0);
    copy_col(s, 1, t->kind, sizeof(t->kind));
    copy_col(s, 2, t->key, sizeof(t->key));
    copy_col(s, 3, t->label, sizeof(t->label));
    t->first_checked = sqlite3_column_int64(s, 4);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE && rc != SQLITE_ROW)
    return db_fail(st, err, "cannot read targets");
  return BW_OK;
}

enum bw_err store_targets_count(struct store *st, int64_t *n, char *err) {
  return store_targets_count_after(st, 0, n, err);
}

enum bw_err store_targets_count_after(struct store *st, int64_t after,
                                      int64_t *n, char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_COUNT);
  int rc;

  sqlite3_bind_int64(s, 1, after);
  rc = sqlite3_step(s);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? BW_OK : db_fail(st, err, "cannot count");
}

enum bw_err store_targets_count_kind(struct store *st, const char *kind,
                                     int64_t *n, char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_COUNT_KIND);
  int rc;

  bind_text(s, 1, kind);
  rc = sqlite3_step(s);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
  sqlite3_reset(s);
  return rc == SQLITE_ROW ? BW_OK : db_fail(st, err, "cannot count");
}

enum bw_err store_target_checked(struct store *st, int64_t id, int64_t now,
                                 char *err) {
  sqlite3_stmt *s = stmt(st, S_TARGET_CHECKED);

  sqlite3_bind_int64(s, 1, id);
  sqlite3_bind_int64(s, 2, now);
  return run(st, s, "cannot update target", err);
}

/* ---- state ------------------------------------------------------------- */

enum bw_err store_state_get(struct store *st, int64_t target,
                            struct store_state *out, size_t max, size_t *n,
                            char *err) {
  sqlite3_stmt *s = stmt(st, S_STATE_GET);
  int rc;

  *n = 0;
  sqlite3_bind_int64(s, 1, target);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    if (*n == max)
      continue;
    struct store_state *o = &out[(*n)++];
    copy_col(s, 0, o->list, sizeof(o->list));
    copy_col(s, 1, o->result, sizeof(o->result));
    copy_col(s, 2, o->codes, sizeof(o->codes));
    o->since = sqlite3_column_int64(s, 3);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read state");
  return BW_OK;
}

enum bw_err store_state_put(struct store *st, const struct store_state_row *r,
                            char *err) {
  sqlite3_stmt *s = stmt(st, S_STATE_PUT);

  sqlite3_bind_int64(s, 1, r->target);
  bind_text(s, 2, r->list);
  bind_text(s, 3, r->result);
  bind_text(s, 4, r->codes ? r->codes : "[]");
  bind_text(s, 5, r->meanings ? r->meanings : "[]");
  bind_text(s, 6, r->reason);
  bind_text(s, 7, r->detail);
  sqlite3_bind_int64(s, 8, r->since);
  sqlite3_bind_int64(s, 9, r->checked);
  return run(st, s, "cannot store state", err);
}

enum bw_err store_state_delete(struct store *st, int64_t target,
                               const char *list, char *err) {
  sqlite3_stmt *s = stmt(st, S_STATE_DELETE);

  sqlite3_bind_int64(s, 1, target);
  bind_text(s, 2, list);
  return run(st, s, "cannot delete state", err);
}

/* ---- events and outbox ------------------------------------------------- */

static void bind_int_or_null(sqlite3_stmt *s, int i, int64_t v) {
  if (v != 0)
    sqlite3_bind_int64(s, i, v);
  else
    sqlite3_bind_null(s, i);
}

enum bw_err store_event_add(struct store *st, struct store_event *ev,
                            const char *const *channels, size_t nchannels,
                            char *err) {
  sqlite3_stmt *s = stmt(st, S_EVENT_ADD);
  enum bw_err rc;

  sqlite3_bind_int64(s, 1, ev->at);
  bind_text(s, 2, ev->type);
  bind_int_or_null(s, 3, ev->target);
  bind_text(s, 4, ev->target_key);
  bind_text(s, 5, ev->label && *ev->label ? ev->label : NULL);
  bind_text(s, 6, ev->list);
  bind_text(s, 7, ev->zone);
  bind_text(s, 8, ev->result);
  bind_text(s, 9, ev->codes ? ev->codes : "[]");
  bind_text(s, 10, ev->meanings ? ev->meanings : "[]");
  bind_text(s, 11, ev->reason);
  bind_text(s, 12, ev->delist);
  bind_text(s, 13, ev->detail);
  bind_int_or_null(s, 14, ev->cycle);
  rc = run(st, s, "cannot store event", err);
  if (rc != BW_OK)
    return rc;
  ev->id = sqlite3_last_insert_rowid(st->db);
  for (size_t i = 0; rc == BW_OK && i < nchannels; i++) {
    s = stmt(st, S_OUTBOX_ADD);
    sqlite3_bind_int64(s, 1, ev->id);
    bind_text(s, 2, channels[i]);
    sqlite3_bind_int64(s, 3, ev->at);
    rc = run(st, s, "cannot queue notice", err);
  }
  return rc;
}

static const char *col_text(sqlite3_stmt *s, int col) {
  return (const char *)sqlite3_column_text(s, col);
}

enum bw_err store_events_each(struct store *st, const char *target_key,
                              int64_t since,
                              bool (*fn)(void *arg,
                                         const struct store_event *ev),
                              void *arg, char *err) {
  static const char sql[] =
      "SELECT id, at, type, target, target_key, label, list, zone, result,"
      " codes, meanings, reason, delist, detail, cycle FROM events"
      " WHERE at >= ?1 AND (?2 IS NULL OR target_key = ?2)"
      " ORDER BY at DESC, id DESC";
  sqlite3_stmt *s;
  int rc;

  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, err, "cannot read events");
  sqlite3_bind_int64(s, 1, since);
  bind_text(s, 2, target_key);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_event ev = {
        .id = sqlite3_column_int64(s, 0),
        .at = sqlite3_column_int64(s, 1),
        .type = col_text(s, 2),
        .target = sqlite3_column_int64(s, 3),
        .target_key = col_text(s, 4),
        .label = col_text(s, 5),
        .list = col_text(s, 6),
        .zone = col_text(s, 7),
        .result = col_text(s, 8),
        .codes = col_text(s, 9),
        .meanings = col_text(s, 10),
        .reason = col_text(s, 11),
        .delist = col_text(s, 12),
        .detail = col_text(s, 13),
        .cycle = sqlite3_column_int64(s, 14),
    };
    if (!fn(arg, &ev)) {
      rc = SQLITE_DONE;
      break;
    }
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read events");
  return BW_OK;
}

enum bw_err store_outbox_pending(struct store *st, int64_t *n, char *err) {
  return count_query(st, S_OUTBOX_PENDING, n, err);
}

/* ---- zones ------------------------------------------------------------- */

enum bw_err store_zone_get(struct store *st, const char *list,
                           struct store_zone *out, bool *found, char *err) {
  sqlite3_stmt *s = stmt(st, S_ZONE_GET);
  int rc;

  bind_text(s, 1, list);
  rc = sqlite3_step(s);
  *found = rc == SQLITE_ROW;
  memset(out, 0, sizeof(*out));
  snprintf(out->list, sizeof(out->list), "%s", list);
  snprintf(out->health, sizeof(out->health), "untested");
  if (*found) {
    copy_col(s, 0, out->health, sizeof(out->health));
    out->checked = sqlite3_column_int64(s, 1);
    out->since = sqlite3_column_int64(s, 2);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read zone");
  return BW_OK;
}

enum bw_err store_zone_put(struct store *st, const char *list,
                           const char *zone, const char *health,
                           int64_t checked, int64_t since, char *err) {
  sqlite3_stmt *s = stmt(st, S_ZONE_PUT);

  bind_text(s, 1, list);
  bind_text(s, 2, zone);
  bind_text(s, 3, health);
  bind_int_or_null(s, 4, checked);
  bind_int_or_null(s, 5, since);
  return run(st, s, "cannot store zone health", err);
}

/* ---- cycles ------------------------------------------------------------ */

enum bw_err store_cycle_start(struct store *st, int64_t now, int64_t *id,
                              char *err) {
  sqlite3_stmt *s = stmt(st, S_CYCLE_START);
  enum bw_err rc;

  sqlite3_bind_int64(s, 1, now);
  rc = run(st, s, "cannot record cycle", err);
  *id = sqlite3_last_insert_rowid(st->db);
  return rc;
}

enum bw_err store_cycle_end(struct store *st, const struct store_cycle *c,
                            char *err) {
  sqlite3_stmt *s = stmt(st, S_CYCLE_END);

  sqlite3_bind_int64(s, 1, c->id);
  sqlite3_bind_int64(s, 2, c->ended);
  sqlite3_bind_int64(s, 3, c->targets);
  sqlite3_bind_int64(s, 4, c->queries);
  for (int i = 0; i < 6; i++)
    sqlite3_bind_int64(s, 5 + i, c->counts[i]);
  return run(st, s, "cannot record cycle", err);
}

enum bw_err store_cycle_last(struct store *st, struct store_cycle *out,
                             bool *found, char *err) {
  sqlite3_stmt *s = stmt(st, S_CYCLE_LAST);
  int rc = sqlite3_step(s);

  *found = rc == SQLITE_ROW;
  if (*found) {
    out->id = sqlite3_column_int64(s, 0);
    out->started = sqlite3_column_int64(s, 1);
    out->ended = sqlite3_column_int64(s, 2);
    out->targets = sqlite3_column_int64(s, 3);
    out->queries = sqlite3_column_int64(s, 4);
    for (int i = 0; i < 6; i++)
      out->counts[i] = sqlite3_column_int64(s, 5 + i);
  }
  sqlite3_reset(s);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read cycles");
  return BW_OK;
}

/* ---- status ------------------------------------------------------------ */

enum bw_err store_status_each(struct store *st,
                              void (*fn)(void *arg,
                                         const struct store_status_row *r),
                              void *arg, char *err) {
  static const char sql[] =
      "SELECT t.id, t.key, t.label, s.list, s.result, s.codes, s.meanings,"
      " s.reason, s.detail, s.since, s.checked FROM state s"
      " JOIN targets t ON t.id = s.target WHERE t.retired IS NULL"
      " ORDER BY t.id, s.list";
  sqlite3_stmt *s;
  int rc;

  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, err, "cannot read state");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_state_row row = {
        .target = sqlite3_column_int64(s, 0),
        .list = col_text(s, 3),
        .result = col_text(s, 4),
        .codes = col_text(s, 5),
        .meanings = col_text(s, 6),
        .reason = col_text(s, 7),
        .detail = col_text(s, 8),
        .since = sqlite3_column_int64(s, 9),
        .checked = sqlite3_column_int64(s, 10),
    };
    struct store_status_row r = {row.target, col_text(s, 1), col_text(s, 2),
                                 &row};
    fn(arg, &r);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read state");
  return BW_OK;
}

/* ---- outbox relay ------------------------------------------------------ */

static int64_t retry_notice(struct store *st, const char *channel,
                            int64_t now_ms, int *rc) {
  sqlite3_stmt *s = stmt(st, S_OUTBOX_RETRY);
  int64_t notice = 0;

  bind_text(s, 1, channel);
  sqlite3_bind_int64(s, 2, now_ms);
  *rc = sqlite3_step(s);
  if (*rc == SQLITE_ROW)
    notice = sqlite3_column_int64(s, 0);
  sqlite3_reset(s);
  return notice;
}

enum bw_err store_outbox_next(struct store *st, const char *channel,
                              int64_t now_ms, size_t max,
                              void (*fn)(void *arg,
                                         const struct store_outbox_row *r),
                              void *arg, size_t *n, char *err) {
  sqlite3_stmt *s;
  int64_t notice;
  int rc;

  *n = 0;
  notice = retry_notice(st, channel, now_ms, &rc);
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read the outbox");
  s = stmt(st, S_OUTBOX_ROWS);
  bind_text(s, 1, channel);
  sqlite3_bind_int64(s, 2, notice);
  sqlite3_bind_int64(s, 3, now_ms);
  sqlite3_bind_int64(s, 4, (sqlite3_int64)max);
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_outbox_row r = {
        .id = sqlite3_column_int64(s, 0),
        .notice = sqlite3_column_int64(s, 1),
        .attempts = sqlite3_column_int64(s, 2),
        .created = sqlite3_column_int64(s, 3),
        .due_ms = sqlite3_column_int64(s, 4),
        .ev = {.id = sqlite3_column_int64(s, 5),
               .at = sqlite3_column_int64(s, 6),
               .type = col_text(s, 7),
               .target = sqlite3_column_int64(s, 8),
               .target_key = col_text(s, 9),
               .label = col_text(s, 10),
               .list = col_text(s, 11),
               .zone = col_text(s, 12),
               .result = col_text(s, 13),
               .codes = col_text(s, 14),
               .meanings = col_text(s, 15),
               .reason = col_text(s, 16),
               .delist = col_text(s, 17),
               .detail = col_text(s, 18),
               .cycle = sqlite3_column_int64(s, 19)},
    };
    fn(arg, &r);
    (*n)++;
  }
  sqlite3_reset(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read the outbox");
  return BW_OK;
}

enum bw_err store_outbox_next_due(struct store *st, const char *channel,
                                  int64_t *when, char *err) {
  sqlite3_stmt *s = stmt(st, S_OUTBOX_NEXT_DUE);

  bind_text(s, 1, channel);
  return count_bound(st, s, when, err);
}

enum bw_err store_outbox_group(struct store *st, const int64_t *ids,
                               size_t n, char *err) {
  enum bw_err rc = BW_OK;
  bool own = !st->in_txn;

  if (own && (rc = store_begin(st, err)) != BW_OK)
    return rc;
  for (size_t i = 0; rc == BW_OK && i < n; i++) {
    sqlite3_stmt *s = stmt(st, S_OUTBOX_GROUP);
    sqlite3_bind_int64(s, 1, ids[i]);
    sqlite3_bind_int64(s, 2, ids[0]);
    rc = run(st, s, "cannot group notices", err);
  }
  if (own && rc == BW_OK)
    return store_commit(st, err);
  if (own)
    store_rollback(st);
  return rc;
}

enum bw_err store_outbox_delivered(struct store *st, int64_t notice,
                                   int64_t now, char *err) {
  sqlite3_stmt *s = stmt(st, S_OUTBOX_DELIVERED);

  sqlite3_bind_int64(s, 1, notice);
  sqlite3_bind_int64(s, 2, now);
  return run(st, s, "cannot mark a notice delivered", err);
}

enum bw_err store_outbox_failed(struct store *st, int64_t notice,
                                int64_t due_ms, bool dead,
                                const char *error, char *err) {
  sqlite3_stmt *s = stmt(st, S_OUTBOX_FAILED);

  sqlite3_bind_int64(s, 1, notice);
  sqlite3_bind_int64(s, 2, due_ms);
  sqlite3_bind_int(s, 3, dead);
  bind_text(s, 4, error);
  return run(st, s, "cannot record a failed notice", err);
}

enum bw_err store_outbox_channels(struct store *st,
                                  void (*fn)(void *arg,
                                             const struct store_channel_state
                                                 *c),
                                  void *arg, char *err) {
  static const char sql[] =
      "SELECT channel,"
      " sum(delivered IS NULL AND dead = 0), sum(dead),"
      " (SELECT last_error FROM outbox i WHERE i.channel = o.channel AND"
      "  last_error IS NOT NULL ORDER BY id DESC LIMIT 1),"
      " max(delivered) FROM outbox o GROUP BY channel ORDER BY channel";
  sqlite3_stmt *s;
  int rc;

  if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
    return db_fail(st, err, "cannot read the outbox");
  while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
    struct store_channel_state c = {
        .channel = col_text(s, 0),
        .pending = sqlite3_column_int64(s, 1),
        .dead = sqlite3_column_int64(s, 2),
        .last_error = col_text(s, 3),
        .last_delivered = sqlite3_column_int64(s, 4),
    };
    fn(arg, &c);
  }
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE)
    return db_fail(st, err, "cannot read the outbox");
  return BW_OK;
}
