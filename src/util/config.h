/*
 * config.h - certdesk's one INI file (libinih).
 *
 * Every setting is registered in config.c with its default, so a missing
 * file or key means "the single-machine default". Sections with a name, like
 * "[ca pebble]", are looked up as section "ca pebble". Relative paths are
 * resolved against the directory of the config file.
 */
#ifndef CD_UTIL_CONFIG_H
#define CD_UTIL_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/err.h"

typedef struct cd_config cd_config_t;

/* path NULL: defaults only, relative paths against the current directory. */
int cd_config_load(const char *path, cd_config_t **out, struct cd_err *err);
void cd_config_free(cd_config_t *cfg);

/* The config file's path (NULL when none) and directory. */
const char *cd_config_path(const cd_config_t *cfg);
const char *cd_config_dir(const cd_config_t *cfg);

/* The value set in the file, else the registered default (NULL when neither). */
const char *cd_config_get(const cd_config_t *cfg, const char *section, const char *key);
int cd_config_get_int(const cd_config_t *cfg, const char *section, const char *key, long min,
		      long max, long *out, struct cd_err *err);
int cd_config_get_bool(const cd_config_t *cfg, const char *section, const char *key, bool *out,
		       struct cd_err *err);
/* A path setting, resolved against the config directory. */
int cd_config_get_path(const cd_config_t *cfg, const char *section, const char *key, char *out,
		       size_t outsz, struct cd_err *err);

/* Names of the sections "KIND NAME" for a kind (e.g. "ca"): calls fn for each NAME. */
void cd_config_each_named(const cd_config_t *cfg, const char *kind,
			  void (*fn)(const char *name, void *arg), void *arg);

/* Checks every key against the registry: unknown sections or keys and values
 * of the wrong type are reported through fn (one plain sentence each).
 * Returns the number of problems. */
int cd_config_check(const cd_config_t *cfg, void (*fn)(const char *problem, void *arg), void *arg);

#endif
