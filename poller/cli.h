/* What main() parsed before the command, shared by the commands. */
#ifndef BW_CLI_H
#define BW_CLI_H

#include <stdbool.h>

#include "config.h"

struct cli {
  const char *config; /* -c FILE, or NULL */
};

/* Loads the config named by -c, $BLWATCH_CONFIG or the default path.
 * When !required and none of those exists, loads the built-in defaults.
 * Returns 0, or EX_CONFIG after printing FILE:LINE: problem. */
int cli_load_config(const struct cli *cli, bool required, struct config *cfg);

/* The same, then the alert channels' secrets (run, test-alert,
 * config-check). */
int cli_load_config_secrets(const struct cli *cli, struct config *cfg);

#endif
