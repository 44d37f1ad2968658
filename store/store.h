/* The SQLite store: targets, the current state of every (target, list)
 * pair that is not plainly clear, events, the outbox of notices, zone
 * health and cycles.
 *
 * One connection, used from the loop thread only.  The poller writes in
 * batches (store_begin .. store_commit); a state change, its event and its
 * outbox rows always share a transaction.  The read-only commands open the
 * database with STORE_READONLY.
 *
 * Strings returned inside structs point into SQLite's memory and are valid
 * until the next call on the same store, unless copied.
 */
#ifndef BW_STORE_H
#define BW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum store_flags {
  STORE_READONLY = 1 << 0,
};

struct store;

/* Opens (and for a writer creates and migrates) the database at path.
 * Never deletes or recreates an existing file: a corrupt, newer or
 * unreadable database is an error.  Caller frees with store_close(). */
enum bw_err store_open(const char *path, unsigned flags, struct store **out,
                       char *err);
void store_close(struct store *st);

/* The schema version of an open database, and the one this build writes
 * (older databases are upgraded on open, newer ones refused). */
int store_schema_version(struct store *st);
int store_schema_latest(void);

enum bw_err store_begin(struct store *st, char *err);
enum bw_err store_commit(struct store *st, char *err);
void store_rollback(struct store *st);
bool store_in_transaction(const struct store *st);

/* ---- targets ----------------------------------------------------------- */

/* kind is "ip4", "ip6" or "domain"; key the canonical text of the address
 * or domain; source "config" or "host:NAME".  Inserts or revives the
 * target, updates its label and marks it seen in generation gen. */
enum bw_err store_target_put(struct store *st, const char *kind,
                             const char *key, const char *label,
                             const char *source, int64_t gen, int64_t now,
                             int64_t *id, char *err);

/* Bringing the config's targets into the store without rewriting what did
 * not change: store_sync_start(), store_sync_add() for each target (a key
 * added twice keeps the last label), then store_sync_finish(), which
 * retires the active targets of source that were not added.  New targets
 * are inserted and changed or retired ones updated as they are added.
 * Memory does not grow with the number of targets (a bit per row id).
 * Run it inside a transaction; *added and *retired count the changes. */
enum bw_err store_sync_start(struct store *st, const char *source,
                             int64_t now, char *err);
enum bw_err store_sync_add(struct store *st, const char *kind,
                           const char *key, const char *label, char *err);
enum bw_err store_sync_finish(struct store *st, int64_t *added,
                              int64_t *retired, char *err);

/* Retires the active targets of source (an exact source, or "host:%" for
 * every host) not seen in generation gen.  Returns how many in *n. */
enum bw_err store_targets_retire(struct store *st, const char *source,
                                 int64_t gen, int64_t now, int64_t *n,
                                 char *err);

/* Retires host-resolved targets whose host is not in hosts[0..n). */
enum bw_err store_hosts_retire_except(struct store *st,
                                      const char *const *hosts, size_t n,
                                      int64_t now, char *err);

struct store_target {
  int64_t id;
  char kind[8];
  char key[256];
  char label[128]; /* "" when none */
  int64_t first_checked; /* 0: never completed a check */
};

/* Fills up to max active targets with id > after, in id order; returns the
 * count in *n. */
enum bw_err store_targets_next(struct store *st, int64_t after,
                               struct store_target *out, size_t max,
                               size_t *n, char *err);

/* Active targets, all or of one kind. */
enum bw_err store_targets_count(struct store *st, int64_t *n, char *err);
/* Active targets with an id above after. */
enum bw_err store_targets_count_after(struct store *st, int64_t after,
                                      int64_t *n, char *err);
enum bw_err store_targets_count_kind(struct store *st, const char *kind,
                                     int64_t *n, char *err);

/* Records that target id completed a check (first time only). */
enum bw_err store_target_checked(struct store *st, int64_t id, int64_t now,
                                 char *err);

/* ---- state ------------------------------------------------------------- */

/* A stored non-clear result.  result is "listed" or an unknown result. */
struct store_state {
  char list[64];
  char result[16];
  char codes[256]; /* JSON array text */
  int64_t since;
};

/* Fills up to max stored states of a target; *n is the count. */
enum bw_err store_state_get(struct store *st, int64_t target,
                            struct store_state *out, size_t max, size_t *n,
                            char *err);

struct store_state_row {
  int64_t target;
  const char *list;
  const char *result;
  const char *codes;    /* JSON array text */
  const char *meanings; /* JSON array text */
  const char *reason;
  const char *detail;
  int64_t since;
  int64_t checked;
};

/* Inserts or replaces the state of a pair. */
enum bw_err store_state_put(struct store *st, const struct store_state_row *r,
                            char *err);
enum bw_err store_state_delete(struct store *st, int64_t target,
                               const char *list, char *err);

/* ---- events and outbox ------------------------------------------------- */

struct store_event {
  int64_t id;
  int64_t at;
  const char *type; /* listed delisted changed zone_unhealthy zone_healthy */
  int64_t target;   /* 0 for zone events */
  const char *target_key;
  const char *label;
  const char *list;
  const char *zone;
  const char *result;
  const char *codes;    /* JSON array text */
  const char *meanings; /* JSON array text */
  const char *reason;
  const char *delist;
  const char *detail;
  int64_t cycle;
};

/* Adds an event and one outbox row per channel; ev->id is set. */
enum bw_err store_event_add(struct store *st, struct store_event *ev,
                            const char *const *channels, size_t nchannels,
                            char *err);

/* Calls fn for each event, newest first, with at >= since and (when
 * target_key is not NULL) for that target; stops when fn returns false. */
enum bw_err store_events_each(struct store *st, const char *target_key,
                              int64_t since,
                              bool (*fn)(void *arg,
                                         const struct store_event *ev),
                              void *arg, char *err);

/* Outbox rows not yet delivered nor given up. */
enum bw_err store_outbox_pending(struct store *st, int64_t *n, char *err);

/* One undelivered outbox row with its event. */
struct store_outbox_row {
  int64_t id;
  int64_t notice; /* 0: not yet part of a notice */
  int64_t attempts;
  int64_t created;
  int64_t due_ms; /* unix time in milliseconds */
  struct store_event ev;
};

/* The next notice due on channel: the rows of a notice already tried
 * (retries keep their events), or else up to max rows not yet in a
 * notice.  Rows due after now_ms (unix time in milliseconds) are left.  fn is called for each row of
 * the group, in id order; *n is how many. */
enum bw_err store_outbox_next(struct store *st, const char *channel,
                              int64_t now_ms, size_t max,
                              void (*fn)(void *arg,
                                         const struct store_outbox_row *r),
                              void *arg, size_t *n, char *err);

/* When the next pending row of channel is due, in unix milliseconds (0
 * when none is pending). */
enum bw_err store_outbox_next_due(struct store *st, const char *channel,
                                  int64_t *when, char *err);

/* Makes rows ids[0..n) one notice whose id is ids[0]. */
enum bw_err store_outbox_group(struct store *st, const int64_t *ids,
                               size_t n, char *err);
enum bw_err store_outbox_delivered(struct store *st, int64_t notice,
                                   int64_t now, char *err);
/* A failed attempt: retried at due_ms (unix milliseconds), or given up
 * when dead. */
enum bw_err store_outbox_failed(struct store *st, int64_t notice,
                                int64_t due_ms, bool dead,
                                const char *error, char *err);

/* Per channel: rows waiting, rows given up, and the last error. */
struct store_channel_state {
  const char *channel;
  int64_t pending;
  int64_t dead;
  const char *last_error;
  int64_t last_delivered;
};
enum bw_err store_outbox_channels(struct store *st,
                                  void (*fn)(void *arg,
                                             const struct store_channel_state
                                                 *c),
                                  void *arg, char *err);

/* ---- zones ------------------------------------------------------------- */

struct store_zone {
  char list[64];
  char health[16];
  int64_t checked;
  int64_t since;
};

/* Reads a zone's health; *found false when never recorded, and out then
 * reads "untested", never checked. */
enum bw_err store_zone_get(struct store *st, const char *list,
                           struct store_zone *out, bool *found, char *err);
enum bw_err store_zone_put(struct store *st, const char *list,
                           const char *zone, const char *health,
                           int64_t checked, int64_t since, char *err);

/* ---- cycles ------------------------------------------------------------ */

struct store_cycle {
  int64_t id;
  int64_t started;
  int64_t ended; /* 0 while running or interrupted */
  int64_t targets;
  int64_t queries;
  int64_t counts[6]; /* by enum zone_result */
};

enum bw_err store_cycle_start(struct store *st, int64_t now, int64_t *id,
                              char *err);
enum bw_err store_cycle_end(struct store *st, const struct store_cycle *c,
                            char *err);
/* The last completed cycle; *found false when there is none. */
enum bw_err store_cycle_last(struct store *st, struct store_cycle *out,
                             bool *found, char *err);

/* ---- reading for status ------------------------------------------------ */

/* Calls fn for every stored state of an active target (listed and
 * unknown), ordered by target id and list. */
struct store_status_row {
  int64_t target;
  const char *key;
  const char *label;
  const struct store_state_row *state;
};
enum bw_err store_status_each(struct store *st,
                              void (*fn)(void *arg,
                                         const struct store_status_row *r),
                              void *arg, char *err);

#endif
