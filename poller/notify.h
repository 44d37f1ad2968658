/* systemd readiness notifications (sd_notify(3) protocol), sent by hand
 * to $NOTIFY_SOCKET so that no library is needed and nothing happens when
 * blwatch is not started by systemd. */
#ifndef BW_NOTIFY_H
#define BW_NOTIFY_H

/* Sends one notification, e.g. notify_send("READY=1"), or
 * notify_send("STATUS=%s", text).  Errors are ignored: a lost status line
 * must never stop the poller. */
void notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "RELOADING=1" with the MONOTONIC_USEC systemd 253+ expects. */
void notify_reloading(void);

#endif
