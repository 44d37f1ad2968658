/* Logging for the daemon: one line per event on stderr.  Under systemd
 * (stderr is the journal stream named by $JOURNAL_STREAM) each line starts
 * with a syslog priority prefix such as "<3>"; on a terminal it is plain
 * text with no prefix and no timestamp either way (journald adds one). */
#ifndef BW_LOG_H
#define BW_LOG_H

enum log_level { LOG_ERR = 3, LOG_WARNING = 4, LOG_NOTICE = 5, LOG_INFO = 6,
                 LOG_DEBUG = 7 };

/* Decides once whether to print priority prefixes. */
void log_init(void);

void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...) log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)

#endif
