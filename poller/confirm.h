/* Confirmation re-queries: a result that differs from the stored one is
 * asked again after [poller] confirm before it becomes an event, so one
 * stray answer never lists or delists anything. */
#ifndef BW_CONFIRM_H
#define BW_CONFIRM_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dns.h"
#include "record.h"
#include "transition.h"

struct confirmer;

/* What to confirm.  Strings are copied. */
struct confirm_req {
  int64_t target;
  const char *key;
  const char *label;
  const char *list; /* zone id, looked up again when the answer is in */
  const char *qname;
  enum event_type event;
  const char *stored_codes; /* JSON array text */
  int64_t since;            /* when the stored listing began */
  int64_t cycle;
};

enum bw_err confirm_new(uv_loop_t *loop, struct recorder *rec,
                        struct confirmer **out, char *err);
/* The engine and config to use from now on (the engine is not owned). */
void confirm_use(struct confirmer *c, struct dns_engine *e,
                 const struct config *cfg);
bool confirm_add(struct confirmer *c, const struct confirm_req *req,
                 uint64_t delay_ms);
/* Confirmations queued or in flight. */
size_t confirm_pending(const struct confirmer *c);
/* Calls fn once nothing is pending (at once if nothing is). */
void confirm_on_idle(struct confirmer *c, void (*fn)(void *), void *arg);
/* Drops everything pending (shutdown); the next cycle finds the changes
 * again.  Requests in the engine must have been cancelled first. */
void confirm_free(struct confirmer *c);

#endif
