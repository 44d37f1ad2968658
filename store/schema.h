/* The schema as a list of forward migrations (store-internal). */
#ifndef BW_SCHEMA_H
#define BW_SCHEMA_H

/* The version a fully migrated database has. */
int schema_latest(void);

/* The SQL that moves a database from version from to from + 1. */
const char *schema_step(int from);

#endif
