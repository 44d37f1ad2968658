/* What a notice says: the events of one notice rendered for each channel
 * format (SPEC webhook JSON, Slack-style text, a plain-text email).  Pure
 * formatting: no I/O. */
#ifndef BW_NOTICE_H
#define BW_NOTICE_H

#include <stddef.h>
#include <stdint.h>

#include "catalog.h"
#include "config.h"
#include "store.h"

struct notice_event {
  char *type, *target, *label, *list, *zone, *result;
  char *codes;    /* JSON array text */
  char *meanings; /* JSON array text */
  char *reason, *delist, *detail;
  int64_t at;
};

struct notice {
  int64_t id;       /* stable across retries: receivers drop duplicates */
  const char *host; /* this machine's name */
  int64_t sent;
  const struct catalog *cat; /* for list names; may be NULL */
  struct notice_event *ev;
  size_t n, cap;
};

/* Appends a copy of ev.  False when out of memory. */
bool notice_add(struct notice *n, const struct store_event *ev);
void notice_free(struct notice *n);

/* Each returns a malloc'd string, or NULL when out of memory. */
char *notice_json(const struct notice *n);  /* the SPEC webhook body */
char *notice_slack(const struct notice *n); /* {"text": "..."} */
/* "blwatch: 192.0.2.10 listed on Spamhaus ZEN, 1 cleared" */
char *notice_subject(const struct notice *n);
/* The whole RFC 5322 message with CRLF line ends: ASCII headers without
 * CR/LF from the data, a UTF-8 plain-text body (7bit or 8bit), every line
 * folded to 78 columns where it has a space and never over 998 octets. */
char *notice_email(const struct notice *n, const struct alert_cfg *a);

/* This machine's name, fully qualified where it has one (static). */
const char *notice_hostname(void);

/* "Sun, 29 Nov 2026 09:00:00 +0000" into buf (40 bytes). */
char *notice_rfc5322_date(int64_t t, char *buf);

#endif
