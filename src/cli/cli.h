/*
 * cli.h - what the subcommands of `certdesk` share: the loaded config, the
 * store and the master key opened on demand, and one way to report errors.
 */
#ifndef CD_CLI_CLI_H
#define CD_CLI_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "util/config.h"
#include "util/err.h"

struct secretbox;

struct cli {
	cd_config_t *cfg;
	store_t *st;
	struct secretbox *box;
	const char *timezone; /* the provider's zone, checked at start */
	int64_t now;	      /* the clock, read once per command */
	char actor[160];      /* "operator:<login name>" for events */
};

/* Opens the store from [store] url; require_current refuses an old schema. */
int cli_store(struct cli *c, bool require_current, struct cd_err *err);
/* The store's URL with a relative sqlite path made absolute (for threads
 * and stages that open their own connections). */
int cli_store_url(struct cli *c, char *out, size_t outsz, struct cd_err *err);
/* Loads the master key from [secrets] master_key_file. */
int cli_secretbox(struct cli *c, struct cd_err *err);

/* Prints "certdesk: <msg>" on stderr and returns the exit status for err. */
int cli_fail(const struct cd_err *err);
/* Prints a usage error and returns 2. */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

typedef int (*cli_cmd_fn)(struct cli *c, int argc, char **argv);

int cmd_init(struct cli *c, int argc, char **argv);
int cmd_migrate(struct cli *c, int argc, char **argv);
int cmd_doctor(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_campaign(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_reissue(struct cli *c, int argc, char **argv);
int cmd_orders(struct cli *c, int argc, char **argv);
int cmd_worker(struct cli *c, int argc, char **argv);
int cmd_preflight(struct cli *c, int argc, char **argv);
int cmd_serve(struct cli *c, int argc, char **argv);
int cmd_api_token(struct cli *c, int argc, char **argv);
int cmd_ca(struct cli *c, int argc, char **argv);
int cmd_install(struct cli *c, int argc, char **argv);
int cmd_mail(struct cli *c, int argc, char **argv);
int cmd_operator(struct cli *c, int argc, char **argv);
int cmd_events(struct cli *c, int argc, char **argv);
/* campaign reissue|pause|resume|report (cmd_campaign_bulk.c); argv[0] = the subcommand */
bool cmd_campaign_bulk_handles(const char *sub);
int cmd_campaign_bulk(struct cli *c, int argc, char **argv);
int cmd_campaign_mail(struct cli *c, int argc, char **argv);

#endif
