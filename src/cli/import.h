/*
 * import.h - the inventory import's parts (private to the CLI): the driver in
 * cmd_import.c reads records; import_rows.c validates and writes one row of
 * each kind of DESIGN.md §5.
 */
#ifndef CD_CLI_IMPORT_H
#define CD_CLI_IMPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "cli/cli.h"
#include "util/strset.h"

struct bundle_cache;

struct import_ctx {
	struct cli *c;
	char dir[4096]; /* the file's directory: pem_file paths are relative to it */
	strset_t *seen; /* natural keys already in this file */
	struct bundle_cache *bundles;
	long max_pem_bytes;
	/* the last term end converted (rows share their dates; the zone look-up
	 * reads the tz database each time) */
	struct {
		int year, month, day;
		int64_t last_second;
	} term_cache;
};

struct import_kind {
	const char *name;
	const char *const *required;
	const char *const *optional;
	const char *const *may_be_empty; /* required columns whose value may be empty */
	/* vals[i] is the value of column i (required first, then optional), NULL
	 * when absent or empty. Validates and writes the row; *changed is 1 when
	 * the store changed. Errors name the field. */
	int (*row)(struct import_ctx *x, const char *const *vals, int *changed, struct cd_err *err);
};

const struct import_kind *import_kind_find(const char *name);
void import_kinds_names(char *out, size_t outsz);

struct bundle_cache *bundle_cache_new(void);
void bundle_cache_free(struct bundle_cache *bc);

/* `certdesk import installed --server NAME DIR` */
int import_installed(struct cli *c, const char *server, const char *dir, struct cd_err *err);

#endif
