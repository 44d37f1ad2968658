/* The little JSON writing blwatch needs: strings escaped per RFC 8259. */
#ifndef BW_JSON_H
#define BW_JSON_H

#include <stdio.h>

/* Writes s as a JSON string (with quotes), or null when s is NULL. */
void json_str(FILE *out, const char *s);

#endif
