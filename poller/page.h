/* The status page of the HTTP endpoint: one self-contained HTML document
 * (inline CSS and SVG, no script, nothing fetched from elsewhere). */
#ifndef BW_PAGE_H
#define BW_PAGE_H

#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

/* Writes the page for the database st (read-only, the caller's) as cfg
 * sees it, at time now: listings first, coverage per target, zone health
 * and a 90-day timeline of listings per target.  Everything from the
 * database is HTML-escaped, and only http(s) delisting URLs are links.
 * Returns 0, or 1 with err (BW_ERRLEN). */
int page_write(const struct config *cfg, struct store *st, int64_t now,
               FILE *out, char *err);

/* Writes s HTML-escaped (& < > " '); NULL writes nothing. */
void page_escape(FILE *out, const char *s);

#endif
