/* Project-wide error codes.
 *
 * Every fallible function returns one of these; 0 is success.  Functions
 * that can say more (a file and line, the offending value) also fill a
 * caller-supplied message buffer of BW_ERRLEN bytes.
 */
#ifndef BW_ERR_H
#define BW_ERR_H

#include <stddef.h>

#define BW_ERRLEN 512

#define BW_ERR_LIST(X)                                                        \
  X(BW_OK, "success")                                                         \
  X(BW_ENOMEM, "out of memory")                                               \
  X(BW_EIO, "cannot read file")                                               \
  X(BW_ESYNTAX, "syntax error")                                               \
  X(BW_EINVAL, "invalid value")                                               \
  X(BW_ERANGE, "value out of range")                                          \
  X(BW_EDNS, "DNS engine failure")                                            \
  X(BW_EUSAGE, "usage error")

enum bw_err {
#define BW_ERR_ENUM(name, msg) name,
  BW_ERR_LIST(BW_ERR_ENUM)
#undef BW_ERR_ENUM
};

/* A static string describing the error; never NULL. */
const char *bw_strerror(enum bw_err err);

/* Formats a message into buf (BW_ERRLEN bytes) and returns code, so that
 * error paths read as one statement: return bw_fail(err, BW_EINVAL, ...). */
enum bw_err bw_fail(char *buf, enum bw_err code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
