#include "transition.h"

#include <string.h>

static const char *const event_names[] = {
    [EV_NONE] = "none",
    [EV_LISTED] = "listed",
    [EV_DELISTED] = "delisted",
    [EV_CHANGED] = "changed",
    [EV_ZONE_UNHEALTHY] = "zone_unhealthy",
    [EV_ZONE_HEALTHY] = "zone_healthy",
};

const char *event_type_name(enum event_type t) { return event_names[t]; }

static struct pair_decision change(enum event_type ev, bool now) {
  struct pair_decision d = {now ? PA_RECORD : PA_CONFIRM, ev};

  return d;
}

struct pair_decision transition_decide(const struct pair_stored *stored,
                                       enum zone_result fresh,
                                       const char *fresh_codes, bool first,
                                       bool confirm) {
  struct pair_decision none = {PA_NONE, EV_NONE};
  bool was_listed = stored->result == ZR_LISTED;
  bool was_unknown = zone_result_unknown(stored->result);

  if (fresh == ZR_UNTRUSTED)
    return none; /* set aside: says nothing about the pair */
  if (zone_result_unknown(fresh)) {
    /* A listing stays a listing while its list cannot be asked. */
    if (was_listed || stored->result == fresh)
      return none;
    return (struct pair_decision){PA_STORE_UNKNOWN, EV_NONE};
  }
  if (fresh == ZR_CLEAR) {
    if (was_listed)
      return change(EV_DELISTED, !confirm);
    if (was_unknown)
      return (struct pair_decision){PA_DELETE_UNKNOWN, EV_NONE};
    return none;
  }
  /* fresh == ZR_LISTED */
  if (was_listed)
    return strcmp(stored->codes, fresh_codes) == 0
               ? none
               : change(EV_CHANGED, !confirm);
  return change(EV_LISTED, first || !confirm);
}

bool transition_confirmed(enum event_type event, const char *stored_codes,
                          enum zone_result again, const char *again_codes) {
  switch (event) {
  case EV_LISTED:
    return again == ZR_LISTED;
  case EV_CHANGED:
    return again == ZR_LISTED && strcmp(stored_codes, again_codes) != 0;
  case EV_DELISTED:
    return again == ZR_CLEAR;
  default:
    return false;
  }
}
