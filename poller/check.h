/* `blwatch check`: a one-shot lookup that writes nothing. */
#ifndef BW_CHECK_H
#define BW_CHECK_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "target.h"

struct check_opts {
  bool json;
  bool table_color; /* unused for now: plain text everywhere */
  bool stats;       /* print engine figures on stderr */
  bool identity;    /* also the sender identity checks (PTR, SPF...) */
};

/* Looks up specs (or cfg's targets when nspecs is 0) against cfg's
 * enabled zones and prints the result.  Returns the SPEC exit code: 0
 * nothing listed, 1 listed, 2 incomplete; 1 also for a resolver that
 * cannot be started (with a message on stderr). */
int check_run(struct config *cfg, struct target_spec *specs, size_t nspecs,
              const struct check_opts *opts);

#endif
