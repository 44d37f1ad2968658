/* The DNS engine: one c-ares channel driven by a libuv loop.
 *
 * Callers hand in requests either through dns_submit() (sent first) or by
 * a pull function the engine calls whenever its window of queries in
 * flight has room, so memory is bounded by the window, never by the number
 * of targets.  The window adapts: it halves when queries time out and
 * grows back by one per window of answers, up to the configured maximum.
 * Failed tries (timeout, SERVFAIL, connection refused) are re-queued by
 * the engine, so retries are paced by the window instead of fired by
 * c-ares in one burst.
 *
 * Completions are delivered on a later loop turn, never from inside a
 * c-ares callback, so a completion handler may submit new requests.
 */
#ifndef BW_DNS_H
#define BW_DNS_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "catalog.h"
#include "err.h"
#include "qname.h"

#define DNS_MAX_ADDRS ZONE_MAX_CODES
#define DNS_MAX_ADDRS6 8
/* Longest reason text kept from TXT records. */
#define DNS_MAX_TXT 1024

enum dns_type {
  DNS_A = 1,
  DNS_PTR = 12, /* names in txt, one per line */
  DNS_MX = 15,  /* "PREFERENCE HOST" in txt, one per line */
  DNS_TXT = 16,
  DNS_AAAA = 28
};

/* Longest txt kept for a request with records set (and for PTR, MX). */
#define DNS_MAX_RECORDS_TXT 16384

struct dns_engine;

/* A request is owned by the caller; the engine holds it from submission
 * until done() is called, exactly once. */
struct dns_request {
  char name[QNAME_MAX + 2];
  enum dns_type type;
  /* Set by the caller of a TXT query: each record (its character-strings
   * joined) on its own line in txt, instead of one reason text.  PTR and
   * MX answers always come that way.  (Here, it fills padding.) */
  bool records;
  void (*done)(struct dns_request *req);
  void *arg;

  /* Filled before done(): an ARES_* status.  ARES_SUCCESS with naddr
   * records (A or AAAA), or with txt for TXT.  ARES_ENOTFOUND is NXDOMAIN,
   * ARES_ENODATA an empty NOERROR answer. */
  int status;
  uint8_t naddr;
  union {
    uint32_t a[DNS_MAX_ADDRS]; /* host byte order */
    uint8_t aaaa[DNS_MAX_ADDRS6][16];
  } u;
  char *txt; /* malloc'd; the caller frees it */
  /* How long the last try took, from sending to the answer (uv_hrtime
   * nanoseconds); for the answer-latency histogram. */
  uint64_t took_ns;

  /* Engine-private. */
  uint8_t tries_left;
  uint64_t sent_ns;
  struct dns_engine *engine;
  struct dns_request *next;
};

struct dns_options {
  const char *servers; /* "host:port,..."; NULL: /etc/resolv.conf */
  unsigned timeout_ms; /* per try */
  unsigned tries;
  unsigned window; /* most queries in flight */
  unsigned rate;   /* queries per second, 0: no cap */
};

struct dns_stats {
  uint64_t sent;     /* queries handed to c-ares, retries included */
  uint64_t retries;
  uint64_t timeouts; /* tries that timed out */
  unsigned window;   /* the window now */
  unsigned window_low; /* the smallest it has been */
};

/* Returns the next request to send, or NULL when there is none now. */
typedef struct dns_request *(*dns_next_fn)(void *arg);

/* Opens an engine on loop.  The caller closes it with dns_close(). */
enum bw_err dns_open(uv_loop_t *loop, const struct dns_options *opt,
                     struct dns_engine **out, char *err);

/* Sets (or with next == NULL clears) the pull function. */
void dns_set_source(struct dns_engine *e, dns_next_fn next, void *arg);

/* Queues req ahead of anything the pull function would give. */
void dns_submit(struct dns_engine *e, struct dns_request *req);

/* Fills the window from the queue and the pull function.  Called by the
 * engine after every batch of completions; call it after making new work
 * available to the pull function. */
void dns_pump(struct dns_engine *e);

/* Requests submitted and not yet completed. */
unsigned dns_pending(const struct dns_engine *e);

void dns_get_stats(const struct dns_engine *e, struct dns_stats *out);

/* Cancels everything (each request completes with ARES_ECANCELLED before
 * this returns), destroys the channel and closes the handles; the engine
 * frees itself once libuv has closed them, so run the loop afterwards. */
void dns_close(struct dns_engine *e);

/* A short word for a status: "timeout", "SERVFAIL", ... */
const char *dns_status_name(int status);

/* Checks a servers list ("127.0.0.1:5353, [::1]:53") and returns in *out
 * (caller frees) the comma-separated form c-ares takes.  An empty list
 * gives an empty string: use /etc/resolv.conf. */
enum bw_err dns_servers_normalize(const char *in, char **out, char *err);

#endif
