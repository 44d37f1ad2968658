/* Writing what the poller learns: batched transactions over the store, and
 * the one place where a state change, its event and its outbox rows are
 * written together. */
#ifndef BW_RECORD_H
#define BW_RECORD_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "catalog.h"
#include "config.h"
#include "store.h"
#include "transition.h"

struct recorder {
  struct store *store;
  const struct config *cfg; /* alert channels */
  uv_timer_t timer;         /* commits an open batch after a second */
  unsigned ops;             /* writes in the open batch */
  uint64_t commits;
  bool failed;              /* a write failed; logged */
};

/* The pair a change is about. */
struct record_pair {
  int64_t target;
  const char *key;
  const char *label;
  int64_t cycle;
};

void record_init(struct recorder *r, uv_loop_t *loop, struct store *st,
                 const struct config *cfg);
/* Commits what is open and closes the timer handle. */
void record_close(struct recorder *r);

/* Commits the open batch now (at cycle end and before exit). */
bool record_commit(struct recorder *r);

/* Records a listing, delisting or change of codes: state row, event and
 * one outbox row per alert channel, in one transaction.  a is the new
 * listing, or for a delisting the listing that ended (its codes and
 * meanings go into the event).  since is when the pair became listed
 * (kept across a change of codes). */
bool record_pair_event(struct recorder *r, const struct record_pair *p,
                       const struct zone *z, enum event_type ev,
                       const struct zone_answer *a, const char *reason,
                       int64_t since, int64_t now);

/* Stores an unknown result (no event), or removes one. */
bool record_unknown(struct recorder *r, const struct record_pair *p,
                    const struct zone *z, const struct zone_answer *a,
                    const char *detail, int64_t now);
bool record_unknown_clear(struct recorder *r, int64_t target,
                          const char *list);

/* Records a zone's health for this cycle, with an event when ev is set. */
bool record_zone(struct recorder *r, const struct zone *z,
                 const char *health, enum event_type ev, const char *detail,
                 int64_t since, int64_t now, int64_t cycle);

/* Marks a target's first completed check. */
bool record_target_checked(struct recorder *r, int64_t target, int64_t now);

#endif
