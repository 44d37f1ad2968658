/* The little JSON writing blwatch needs: strings escaped per RFC 8259. */
#ifndef BW_JSON_H
#define BW_JSON_H

#include <stdio.h>

/* Writes s as a JSON string (with quotes), or null when s is NULL. */
void json_str(FILE *out, const char *s);


#include <stdbool.h>
#include <stddef.h>

#include "catalog.h"
#include "store.h"

/* The answer's codes as a JSON array of strings, e.g. ["127.0.0.2"], in
 * buf; the same answer always gives the same text.  Returns buf. */
char *json_codes(const struct zone_answer *a, char *buf, size_t size);

/* One event as the JSON object that history --json and the webhook body
 * share: type, target, label, list, zone, result, codes, meanings, reason,
 * delist, detail, at. */
void json_event(FILE *out, const struct store_event *e);

/* A UTC time as RFC 3339 ("2026-11-29T09:00:00Z") in buf (32 bytes). */
char *rfc3339(int64_t t, char *buf);

/* Reads back what json_codes() wrote: a listing answer with those codes.
 * Anything that is not an IPv4 address in quotes is skipped. */
void json_parse_codes(const char *json, struct zone_answer *out);

/* Reads the next string of a JSON array of strings (what json_meanings()
 * or json_codes() wrote) into out, advancing *p; false when none is
 * left.  \\uXXXX escapes above ASCII become '?'. */
bool json_next_string(const char **p, char *out, size_t size);

/* The meanings of the answer's codes as a JSON array; malloc'd, the
 * caller frees it. */
char *json_meanings(const struct zone *z, const struct zone_answer *a);

/* What one code of an answer means, by the kind of answer. */
const char *json_code_meaning(const struct zone *z, enum zone_result r,
                              uint32_t code, char *buf, size_t size);

#endif
