/* `blwatch status` and `blwatch history`: reading the database back.
 *
 * The JSON writers are shared with the HTTP endpoint (/api/status,
 * /api/history), so both print exactly the same text. */
#ifndef BW_STATUSCMD_H
#define BW_STATUSCMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "store.h"

struct cli;
struct config;
struct zone;

int statuscmd_status(const struct cli *cli, int argc, char **argv);
int statuscmd_history(const struct cli *cli, int argc, char **argv);

/* Writes what `status --json` prints, read from st (a read-only store the
 * caller owns) with cfg's enabled zones.  Returns 0, or 1 with err
 * (BW_ERRLEN) saying why the database could not be read; out may then
 * hold part of the text. */
int statuscmd_status_json(const struct config *cfg, struct store *st,
                          FILE *out, char *err);

/* Writes what `history --json` prints: events newest first, of one
 * target's stored key (NULL: all) with at >= since (0: all).  Returns 0,
 * or 1 with err. */
int statuscmd_history_json(struct store *st, const char *key, int64_t since,
                           FILE *out, char *err);

/* The stored key of a target given as text ("192.0.2.10", "Example.COM."),
 * as history takes it.  Returns 0, or EX_USAGE with err. */
int statuscmd_history_key(const char *text, char *key, size_t size,
                          char *err);

/* One result of a target as `status` shows it: listed, or unknown. */
struct status_result {
  const struct zone *zone;
  const char *result;   /* "listed", "refused", ..., "untrusted" */
  const char *codes;    /* JSON array text */
  const char *meanings; /* JSON array text */
  const char *reason;   /* NULL when none */
  const char *detail;   /* why an unknown result is unknown */
  int64_t since;
};

/* The summary of `status --json`, with the last cycle. */
struct status_summary {
  int64_t targets, zones, listed, clear, unknown, listed_targets;
  bool have_cycle;
  struct store_cycle last;
};

/* Called for every active target in id order, with its results (n = 0:
 * nothing to report) and how many enabled zones apply to its kind.  The
 * pointers are valid during the call only. */
typedef void (*statuscmd_target_fn)(void *arg, const struct store_target *t,
                                    const struct status_result *res,
                                    size_t n, size_t applicable);

/* Visits every active target (fn may be NULL) and fills *sum (may be
 * NULL), by the same rules as `status`.  Returns 0, or 1 with err. */
int statuscmd_each(const struct config *cfg, struct store *st,
                   statuscmd_target_fn fn, void *arg,
                   struct status_summary *sum, char *err);

#endif
