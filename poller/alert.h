/* Notices: the relay that delivers the outbox over email and webhooks, and
 * `blwatch test-alert`.
 *
 * The relay reads due outbox rows per channel, groups them into one notice
 * and sends it through libcurl on the loop.  A channel's rows wait until
 * no new row came for a few seconds (at most a minute) and, once the
 * channel has sent a notice, until its group_interval has passed since
 * then; a flush (a cycle ended) sends them at once.  A delivered
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

/* Looks at the outbox now.  flush sends every row pending now without
 * waiting for the quiet period or group_interval (a cycle just ended),
 * also when the channel is busy or the rows take more than one notice. */
void alert_kick(struct alert_relay *r, bool flush);

/* New rows wait for the next flush (alert_kick(r, true) or
 * alert_on_idle()), whatever their age: `run --once` sends one notice per
 * channel for its cycle (more only past 500 events). */
void alert_hold(struct alert_relay *r);

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
