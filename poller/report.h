/* `blwatch report TARGET... [--since 90d] [--json]`: the evidence packet
 * for a postmaster or delisting request, from the database (read-only):
 * current listings with codes, meanings, reasons and delisting links, the
 * listing timeline over the period, the sender identity results, zone
 * coverage and what could not be checked, and since when blwatch has
 * watched each target.  Only stored facts; nothing is looked up. */
#ifndef BW_REPORT_H
#define BW_REPORT_H

#include "cli.h"

/* Exit codes: 0 done, 1 a target is not in the database or the database
 * cannot be read, 64 usage, 78 config error. */
int report_command(const struct cli *cli, int argc, char **argv);

#endif
