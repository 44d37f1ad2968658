/* The store's identity tables (schema step 3 -> 4) and the look-ups the
 * evidence report needs.  Same rules as store.h: one connection on the
 * loop thread; strings handed to callbacks are valid during the call. */
#ifndef BW_STORE_IDENTITY_H
#define BW_STORE_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>

#include "store.h"

struct sqlite3;

/* store.c's connection and path, for the store's other files. */
struct sqlite3 *store__db(struct store *st);
const char *store__path(const struct store *st);

/* Calls fn for each stored identity fact of target. */
enum bw_err store_identity_facts(struct store *st, int64_t target,
                                 void (*fn)(void *arg, const char *fact,
                                            const char *value, int64_t since),
                                 void *arg, char *err);
/* Inserts or replaces a fact's value, recorded at since. */
enum bw_err store_identity_fact_put(struct store *st, int64_t target,
                                    const char *fact, const char *value,
                                    int64_t since, char *err);

/* A target's identity as status and report show it. */
struct store_identity_object {
  int64_t target;
  const char *key, *label, *kind; /* only from store_identity_each() */
  const char *object;             /* the JSON object */
  const char *problems;           /* lines */
  const char *warnings;           /* lines */
  int64_t since;                  /* unchanged since */
};

/* Calls fn once when target has a stored object. */
enum bw_err store_identity_object_get(
    struct store *st, int64_t target,
    void (*fn)(void *arg, const struct store_identity_object *o), void *arg,
    char *err);
enum bw_err store_identity_object_put(struct store *st, int64_t target,
                                      const char *object, const char *problems,
                                      const char *warnings, int64_t since,
                                      char *err);
/* Calls fn for the stored object of every active target, by target id. */
enum bw_err store_identity_each(
    struct store *st,
    void (*fn)(void *arg, const struct store_identity_object *o), void *arg,
    char *err);

/* ---- for the report ----------------------------------------------------- */

struct store_target_info {
  int64_t id;
  char kind[8];
  char label[128];
  char source[300];
  int64_t added;         /* when blwatch started watching it */
  int64_t first_checked; /* 0: never */
  int64_t retired;       /* 0: watched */
};

/* The target stored under key (active or retired). */
enum bw_err store_target_find(struct store *st, const char *key,
                              struct store_target_info *out, bool *found,
                              char *err);

/* Calls fn for each stored state row (listed or unknown) of target. */
enum bw_err store_target_states(struct store *st, int64_t target,
                                void (*fn)(void *arg,
                                           const struct store_state_row *r),
                                void *arg, char *err);

/* The first completed cycle's start; 0 when none. */
enum bw_err store_cycle_first(struct store *st, int64_t *started, char *err);

#endif
