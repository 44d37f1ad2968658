/* `blwatch zones`: the catalog, and each zone's health. */
#ifndef BW_ZONESCMD_H
#define BW_ZONESCMD_H

struct cli;

int zonescmd_run(const struct cli *cli, int argc, char **argv);

#endif
