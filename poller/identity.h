/* Sender identity checks (SPEC "Sender identity and the evidence report"):
 * for an address its PTR, whether the PTR name resolves back to it
 * (FCrDNS) and whether it looks generic; for a domain its MX, its SPF
 * record (one, parses, at most 10 DNS lookups through includes and
 * redirects), its DMARC record (parses, policy, rua), and whether it
 * publishes MTA-STS and TLS-RPT records.
 *
 * The queries go through the shared DNS engine with dns_submit(); a
 * runner keeps at most a few targets in flight, so memory is bounded by
 * that, not by the number of targets.  A lookup that fails (timeout,
 * SERVFAIL) leaves its fact unknown: it is never read as "no record".
 */
#ifndef BW_IDENTITY_H
#define BW_IDENTITY_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <uv.h>

#include "dns.h"
#include "idparse.h"

struct store;

#define IDENTITY_MAX_PTR 4
/* SPF records fetched for one domain (its own, includes, redirects). */
#define IDENTITY_MAX_SPF_FETCH 32

/* A fact is known when its lookup gave an answer (records, NXDOMAIN or
 * an empty answer); unknown when it failed. */
enum id_fact {
  IDF_PTR,       /* the PTR names, one per line; "" none */
  IDF_FCRDNS,    /* "yes" / "no" */
  IDF_GENERIC,   /* "yes" / "no" */
  IDF_MX,        /* "PREF HOST" lines in preference order; "" none */
  IDF_SPF,       /* the v=spf1 records, one per line; "" none */
  IDF_SPF_LIMIT, /* "ok", "over", or "none" (no single parsed record) */
  IDF_DMARC,     /* the v=DMARC1 records, one per line; "" none */
  IDF_MTA_STS,   /* "yes" / "no" */
  IDF_TLS_RPT,   /* "yes" / "no" */
  IDF_COUNT
};

/* The fact's stored name: "ptr", "fcrdns", ... */
const char *identity_fact_name(enum id_fact f);
/* -1 for an unknown name. */
int identity_fact_from_name(const char *name);

/* What one target's checks found.  Owned by the runner during the
 * done() callback; copy what must outlive it. */
struct identity_result {
  bool is_domain;
  bool is_v6;
  uint8_t addr[16];
  char key[256]; /* the address text or the domain */

  /* Address checks. */
  int ptr_status; /* ARES_* of the PTR query */
  size_t nptr;
  char ptr[IDENTITY_MAX_PTR][IDP_NAME_MAX]; /* sorted */
  size_t ptr_total; /* PTR records in the answer (nptr is at most 4) */
  int fcrdns;       /* 1 yes, 0 no, -1 unknown */
  int fwd_status;   /* a forward lookup that failed, when fcrdns < 0 */
  bool generic;
  char generic_why[96];

  /* Domain checks.  The *_status fields are ARES_* codes. */
  int mx_status;
  char *mx; /* "PREF HOST" lines, sorted by preference; NULL none */
  int txt_status;
  char *spf; /* the v=spf1 records, one per line; NULL none */
  size_t nspf;
  struct spf_record spf_parsed; /* of the one record when nspf == 1 */
  unsigned spf_lookups;         /* through includes and redirects */
  bool spf_lookups_known;
  bool spf_capped;      /* stopped following after IDENTITY_MAX_SPF_FETCH */
  int spf_fetch_status; /* a fetch that failed */
  char spf_fetch_name[IDP_NAME_MAX]; /* ... for which domain */
  char spf_problem[IDP_PROBLEM_MAX]; /* an include without SPF, a loop */
  int dmarc_status;
  char *dmarc; /* the v=DMARC1 records, one per line; NULL none */
  size_t ndmarc;
  struct dmarc_record dmarc_parsed;
  int sts_status;
  bool mta_sts;
  int tlsrpt_status;
  bool tls_rpt;
};

/* Whether an ARES_* status is an answer (records, NXDOMAIN, no data). */
bool identity_definitive(int status);

/* The fact's value in buf ("" for none); false when it is unknown. */
bool identity_fact(const struct identity_result *r, enum id_fact f, char *buf,
                   size_t size);
/* Whether a fact applies to the target's kind. */
bool identity_fact_applies(const struct identity_result *r, enum id_fact f);

/* Problems, warnings and failed lookups, as sentences.  The component
 * lists (SPF, DMARC) are subsets of the target's problems. */
#define IDENTITY_MAX_NOTES 12
struct identity_notes {
  size_t n;
  char text[IDENTITY_MAX_NOTES][IDP_PROBLEM_MAX + 64];
};
enum id_part { IDP_ALL, IDP_SPF, IDP_DMARC };
void identity_notes(const struct identity_result *r, enum id_part part,
                    struct identity_notes *problems,
                    struct identity_notes *warnings,
                    struct identity_notes *errors);

/* Writes the SPEC "identity" object of r to out. */
void identity_json(FILE *out, const struct identity_result *r);

/* Writes the identity of r as readable lines (check's text output),
 * each starting with indent. */
void identity_text(FILE *out, const struct identity_result *r,
                   const char *indent);

/* ---- the runner -----------------------------------------------------------
 */

/* A target to check; key and is_domain/addr as in the result. */
struct identity_target {
  bool is_domain;
  bool is_v6;
  uint8_t addr[16];
  const char *name; /* the domain; copied */
  void *arg;        /* passed back with the result */
};

struct identity_runner;

struct identity_ops {
  /* The next target, or false when there is none (now). */
  bool (*next)(void *arg, struct identity_target *out);
  /* One target's result; r is NULL when its checks could not finish
   * (the engine closed, out of memory).  Called once per target. */
  void (*result)(void *arg, void *target_arg, const struct identity_result *r);
  /* Once next() said false and nothing is in flight.  May free the
   * runner. */
  void (*finished)(void *arg);
};

/* A runner on engine e with at most max_targets targets in flight.  The
 * caller frees it with identity_runner_free() once finished, or after
 * closing the engine (which cancels what is in flight). */
struct identity_runner *identity_runner_new(struct dns_engine *e,
                                            unsigned max_targets,
                                            const struct identity_ops *ops,
                                            void *arg);
/* Starts pulling targets; call again after next() said false to resume. */
void identity_runner_pump(struct identity_runner *r);
/* Stops pulling: finished() comes once what is in flight is done. */
void identity_runner_stop(struct identity_runner *r);
void identity_runner_free(struct identity_runner *r);

/* Targets checked at once by a runner: each is a few queries. */
#define IDENTITY_TARGETS_IN_FLIGHT 16

/* Checks t[0..n) on engine e, running loop until done, and returns each
 * target's identity rendered as the JSON object (json) or as indented
 * text lines; an entry is NULL where the checks could not run.  The caller
 * frees the array with identity_strings_free(). */
char **identity_run_all(uv_loop_t *loop, struct dns_engine *e,
                        const struct identity_target *t, size_t n, bool json);
void identity_strings_free(char **s, size_t n);

/* ---- status hooks -----------------------------------------------------------
 */

/* Writes ,"identity":{...} (the object stored by the last cycle) for
 * target id, or nothing when none is stored. */
void identity_status_json(struct store *st, int64_t target, FILE *out);
/* Writes the stored identity problems and warnings of every active
 * target as lines (status text output), or nothing. */
void identity_status_text(struct store *st, FILE *out);

#endif
