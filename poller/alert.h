/* Notices: the relay that delivers the outbox over email and webhooks, and
 * `blwatch test-alert`.
 *
 * The relay reads due outbox rows per channel, groups them into one notice
 * (all rows not yet sent, once no new row came for a few seconds or when a
 * cycle ends), and sends it through libcurl on the loop.  A delivered
 * notice is marked in the same database, so it is never sent again; a
 * failed one keeps its events and its id and is retried with exponential
 * backoff and jitter until its give-up age.  Delivery is at least once:
 * a crash between sending and marking resends, with the same id. */
#ifndef BW_ALERT_H
#define BW_ALERT_H

#include <stdbool.h>
#include <uv.h>

#include "config.h"
#include "record.h"
#include "store.h"

struct alert_relay;

enum bw_err alert_open(uv_loop_t *loop, struct store *st, struct recorder *rec,
                       const struct config *cfg, struct alert_relay **out,
                       char *err);

/* Looks at the outbox now.  flush sends what is pending without waiting
 * for the quiet period (a cycle just ended). */
void alert_kick(struct alert_relay *r, bool flush);

/* Calls fn once nothing is being sent and no retry is due before deadline
 * (a Unix time); rows whose retry comes later stay in the outbox. */
void alert_on_idle(struct alert_relay *r, int64_t deadline,
                   void (*fn)(void *), void *arg);

/* Aborts transfers in flight (they stay in the outbox) and frees the relay
 * once libuv has closed its handles. */
void alert_close(struct alert_relay *r);

/* `blwatch test-alert [NAME...]`. */
struct cli;
int alert_test_command(const struct cli *cli, int argc, char **argv);

#endif
