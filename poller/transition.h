/* What a fresh result means for a stored pair (SPEC "What a lookup means",
 * "State, history, alerts").  Pure logic, no I/O. */
#ifndef BW_TRANSITION_H
#define BW_TRANSITION_H

#include <stdbool.h>

#include "catalog.h"

enum event_type {
  EV_NONE,
  EV_LISTED,
  EV_DELISTED,
  EV_CHANGED,
  EV_ZONE_UNHEALTHY,
  EV_ZONE_HEALTHY,
};

const char *event_type_name(enum event_type t);

enum pair_action {
  PA_NONE,           /* nothing to write */
  PA_STORE_UNKNOWN,  /* store or update an unknown result (no event) */
  PA_DELETE_UNKNOWN, /* an unknown pair is clear again (no event) */
  PA_RECORD,         /* record the event now */
  PA_CONFIRM,        /* re-query after `confirm`, then record */
};

/* The stored side: ZR_CLEAR when there is no row. */
struct pair_stored {
  enum zone_result result;
  const char *codes; /* JSON array text of a stored listing */
};

struct pair_decision {
  enum pair_action action;
  enum event_type event;
};

/* Decides for a fresh result fresh (with its codes as JSON array text).
 * first is true when the pair never had a result before: a listing then
 * is recorded without the confirmation re-query.  confirm is false when
 * [poller] confirm = 0.  Unknown results (refused, bogus, error,
 * untrusted) never list and never delist. */
struct pair_decision transition_decide(const struct pair_stored *stored,
                                       enum zone_result fresh,
                                       const char *fresh_codes, bool first,
                                       bool confirm);

/* Whether a confirmation answer upholds the change that asked for it:
 * a listing or changed codes need a listing (with codes other than the
 * stored ones for a change), a delisting needs a clear answer. */
bool transition_confirmed(enum event_type event, const char *stored_codes,
                          enum zone_result again, const char *again_codes);

#endif
