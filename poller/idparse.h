/* Parsers for the sender identity checks: SPF (RFC 7208) and DMARC
 * (RFC 7489) records, and the "generic-looking PTR name" heuristic.
 * Pure functions, no I/O, no allocation: the results live in the
 * caller's structs. */
#ifndef BW_IDPARSE_H
#define BW_IDPARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The RFC 7208 4.6.4 limit on terms that cause DNS lookups. */
#define SPF_LOOKUP_LIMIT 10
/* Domains one record may send the evaluation to (include and redirect);
 * more than this is far past the lookup limit anyway. */
#define SPF_MAX_FOLLOW 12
#define IDP_NAME_MAX 256
#define IDP_PROBLEM_MAX 200
#define DMARC_MAX_RUA 8

/* Whether a TXT record is an SPF record: "v=spf1" alone or followed by a
 * space (any case). */
bool spf_is_record(const char *txt);

struct spf_record {
  bool valid;                    /* parses (no permerror in the syntax) */
  char problem[IDP_PROBLEM_MAX]; /* why not, when !valid */
  unsigned lookups;              /* include a mx ptr exists redirect */
  size_t nfollow;                /* domains to evaluate further */
  char follow[SPF_MAX_FOLLOW][IDP_NAME_MAX]; /* include, then redirect */
  bool has_all;
  char all_qualifier; /* '+', '-', '~' or '?' when has_all */
  bool has_ptr;       /* the ptr mechanism (RFC 7208 5.5: do not use) */
  bool has_macro;     /* a domain-spec with macros: not followed */
};

/* Parses one SPF record (starting "v=spf1").  A redirect is counted and
 * followed only when the record has no "all" (RFC 7208 6.1). */
void spf_parse(const char *record, struct spf_record *out);

/* Whether a TXT record is a DMARC record (starts with "v=DMARC1"). */
bool dmarc_is_record(const char *txt);

struct dmarc_record {
  bool valid;
  char problem[IDP_PROBLEM_MAX];
  char policy[16];    /* p=: none, quarantine, reject ("" when missing) */
  char subpolicy[16]; /* sp=, "" when absent */
  int pct;            /* 100 unless given */
  size_t nrua;
  char rua[DMARC_MAX_RUA][IDP_NAME_MAX];
};

/* Parses one DMARC record. */
void dmarc_parse(const char *record, struct dmarc_record *out);

/* Whether a PTR name looks generic (an ISP's name for a dynamic or
 * end-user address): it holds the address's digits (192-0-2-10,
 * 10.2.0.192, 192000002010, c000020a) or words such as dynamic, dhcp,
 * pool, dsl, cable, dialup, ppp, client.  addr4 is the IPv4 address in
 * host byte order, or 0 for an IPv6 address (words only).  When it does,
 * why holds a few words saying why. */
bool ptr_generic(const char *name, uint32_t addr4, char *why, size_t size);

#endif
