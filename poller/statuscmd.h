/* `blwatch status` and `blwatch history`: reading the database back. */
#ifndef BW_STATUSCMD_H
#define BW_STATUSCMD_H

struct cli;

int statuscmd_status(const struct cli *cli, int argc, char **argv);
int statuscmd_history(const struct cli *cli, int argc, char **argv);

#endif
