/* `blwatch run`: the poller. */
#ifndef BW_DAEMON_H
#define BW_DAEMON_H

struct cli;

int daemon_run(const struct cli *cli, int argc, char **argv);

#endif
