/* The identity part of a poller cycle: once the blocklist lookups of a
 * cycle (or of a resumed part of one) are done, every active target with
 * an id above after_id gets its identity checks, and what changed is
 * recorded as the SPEC says:
 *
 *  - the first result ever of a fact is stored without an event;
 *  - a fact whose lookup failed (timeout, SERVFAIL) is left as stored:
 *    a failure is never read as "record removed";
 *  - a changed fact is checked again after [poller] confirm and only
 *    then becomes an identity_changed event (with its outbox rows, in
 *    the recorder's transaction); with confirm = 0 at once.
 *
 * Targets stream from the store a page at a time and at most
 * IDENTITY_TARGETS_IN_FLIGHT are checked at once; changes awaiting
 * confirmation are kept as one small item each until re-checked.
 */
#ifndef BW_IDPASS_H
#define BW_IDPASS_H

#include <stdint.h>
#include <uv.h>

#include "config.h"
#include "dns.h"
#include "record.h"
#include "store.h"

struct idpass;

/* Starts the pass; done(arg) is called once it is over (never from
 * inside this call).  Everything passed in must outlive the pass. */
enum bw_err idpass_start(uv_loop_t *loop, struct dns_engine *e,
                         struct store *st, struct recorder *rec,
                         const struct config *cfg, int64_t cycle,
                         int64_t after_id, void (*done)(void *arg), void *arg,
                         struct idpass **out, char *err);

/* Stops taking targets and drops changes awaiting confirmation (the next
 * cycle finds them again); done still comes. */
void idpass_stop(struct idpass *p);

/* Frees a finished pass, or one whose engine was closed. */
void idpass_free(struct idpass *p);

#endif
