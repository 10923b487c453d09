/*
 * log.h - one-line log records on stderr: time, level, message.
 * Secrets are never passed here (keys, passwords, tokens, sealed values).
 */
#ifndef CD_UTIL_LOG_H
#define CD_UTIL_LOG_H

enum cd_log_level { CD_LOG_DEBUG, CD_LOG_INFO, CD_LOG_WARN, CD_LOG_ERROR };

void cd_log_set_level(enum cd_log_level level);
int cd_log_level_parse(const char *name, enum cd_log_level *out);
void cd_log(enum cd_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define cd_debug(...) cd_log(CD_LOG_DEBUG, __VA_ARGS__)
#define cd_info(...)  cd_log(CD_LOG_INFO, __VA_ARGS__)
#define cd_warn(...)  cd_log(CD_LOG_WARN, __VA_ARGS__)
#define cd_error(...) cd_log(CD_LOG_ERROR, __VA_ARGS__)

#endif
