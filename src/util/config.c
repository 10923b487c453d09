/*
 * config.c - loading the INI file and answering typed look-ups with defaults.
 *
 * The registry below is the list of every setting certdesk knows; a stage
 * that adds a setting adds a row here (with its default and type), and
 * `certdesk doctor` uses the same rows to flag typos.
 */
#include "util/config.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/fileio.h"

enum setting_type { T_STR, T_INT, T_BOOL, T_PATH };

struct setting {
	const char *section; /* "ca *" matches every named [ca NAME] section */
	const char *key;
	const char *def;
	enum setting_type type;
};

static const struct setting registry[] = {
	{ "store", "url", "sqlite:certdesk.db", T_STR },
	{ "store", "busy_timeout_ms", "5000", T_INT },
	{ "secrets", "master_key_file", "master.key", T_PATH },
	{ "provider", "name", "certdesk", T_STR },
	{ "provider", "timezone", "Asia/Tokyo", T_STR },
	{ "provider", "max_validity_days", "0", T_INT },
	{ "provider", "support_url", "", T_STR },
	{ "provider", "support_email", "", T_STR },
	{ "log", "level", "info", T_STR },
	{ "import", "max_record_bytes", "1048576", T_INT },
	{ "import", "max_pem_bytes", "268435456", T_INT },
	/* acme: [acme] and the CAs, [ca NAME] */
	{ "acme", "active_ca", "", T_STR },
	{ "acme", "poll_initial_ms", "1000", T_INT },
	{ "acme", "poll_max_ms", "10000", T_INT },
	{ "acme", "poll_timeout_s", "600", T_INT },
	{ "acme", "http_timeout_s", "30", T_INT },
	{ "acme", "http_retries", "4", T_INT },
	{ "acme", "retry_after_max_s", "60", T_INT },
	{ "ca *", "directory", "", T_STR },
	{ "ca *", "ca_file", "", T_PATH },
	{ "ca *", "eab_kid", "", T_STR },
	{ "ca *", "eab_hmac_file", "", T_PATH },
	{ "ca *", "account_key_type", "p256", T_STR }, /* the ACME account's key */
	{ "ca *", "key_type", "rsa2048", T_STR },      /* certificate keys */
	{ "ca *", "contact", "", T_STR },
	{ "ca *", "validity", "ca_decides", T_STR },
	{ "ca *", "preferred_chain", "", T_STR },
	/* web: the portal, [web] */
	{ "web", "listen", "127.0.0.1:8080", T_STR },
	{ "web", "base_url", "", T_STR }, /* "" = http://<listen> */
	{ "web", "trusted_proxies", "", T_STR },
	{ "web", "sso_header", "", T_STR },
	{ "web", "session_idle_seconds", "1800", T_INT },
	{ "web", "session_absolute_seconds", "43200", T_INT },
	{ "web", "admin_counts_seconds", "60", T_INT }, /* operator pages: counts kept */
	{ "web", "throttle_free_failures", "5", T_INT },
	{ "web", "throttle_delay_seconds", "2", T_INT },
	{ "web", "throttle_max_delay_seconds", "900", T_INT },
	{ "web", "throttle_window_seconds", "3600", T_INT },
	{ "web", "throttle_global_failures_per_minute", "600", T_INT },
	{ "web", "max_body_bytes", "16384", T_INT },
	{ "web", "max_form_fields", "16", T_INT },
	{ "web", "max_header_bytes", "32768", T_INT },
	{ "web", "request_timeout_seconds", "30", T_INT },
	{ "web", "max_connections", "1024", T_INT },
	{ "web", "max_connections_per_address", "0", T_INT },
	{ "web", "threads", "4", T_INT },
	{ "web", "refresh_seconds", "5", T_INT },
	{ "web", "metrics_allow", "127.0.0.0/8 ::1", T_STR }, /* addresses or CIDRs */
	{ "web", "metrics_campaign_seconds", "60", T_INT },   /* campaign progress reused */
	/* dcv: preflight DNS */
	{ "dcv", "resolver", "", T_STR },
	{ "dcv", "timeout_ms", "2000", T_INT },
	{ "dcv", "tries", "2", T_INT },
	/* install and verify: the hosting servers */
	{ "install", "root", "/etc/nginx/certdesk", T_PATH },
	{ "install", "nginx", "nginx", T_STR },
	{ "install", "nginx_conf", "", T_PATH },
	{ "install", "nginx_prefix", "", T_PATH },
	{ "install", "test_command", "", T_STR },
	{ "install", "reload_command", "", T_STR },
	{ "install", "error_log", "/var/log/nginx/error.log", T_PATH },
	{ "install", "pid_file", "/run/nginx.pid", T_PATH },
	{ "install", "backup_keep", "5", T_INT },
	{ "install", "coalesce_ms", "500", T_INT },
	{ "install", "reload_timeout_ms", "10000", T_INT },
	{ "install", "command_timeout_ms", "30000", T_INT },
	{ "server *", "root", NULL, T_PATH },
	{ "server *", "nginx", NULL, T_STR },
	{ "server *", "nginx_conf", NULL, T_PATH },
	{ "server *", "nginx_prefix", NULL, T_PATH },
	{ "server *", "test_command", NULL, T_STR },
	{ "server *", "reload_command", NULL, T_STR },
	{ "server *", "error_log", NULL, T_PATH },
	{ "server *", "pid_file", NULL, T_PATH },
	{ "server *", "backup_keep", NULL, T_INT },
	{ "server *", "coalesce_ms", NULL, T_INT },
	{ "server *", "reload_timeout_ms", NULL, T_INT },
	{ "server *", "command_timeout_ms", NULL, T_INT },
	{ "verify", "roots", "", T_PATH },
	{ "verify", "timeout_ms", "5000", T_INT },
	{ "verify", "attempts", "5", T_INT },
	{ "verify", "retry_ms", "500", T_INT },
	/* notify: mail */
	{ "mail", "smtp_url", "smtp://127.0.0.1:25", T_STR },
	{ "mail", "starttls", "no", T_STR },
	{ "mail", "ca_file", "", T_PATH },
	{ "mail", "user", "", T_STR },
	{ "mail", "password_file", "", T_PATH },
	{ "mail", "from", "certdesk@localhost", T_STR },
	{ "mail", "from_name", "", T_STR },
	{ "mail", "reply_to", "", T_STR },
	{ "mail", "message_id_domain", "", T_STR },
	{ "mail", "footer_ja", "", T_STR },
	{ "mail", "footer_en", "", T_STR },
	{ "mail", "timeout_ms", "30000", T_INT },
	{ "mail", "connect_timeout_ms", "10000", T_INT },
	{ "mail", "retry_base_ms", "30000", T_INT },
	{ "mail", "retry_cap_ms", "3600000", T_INT },
	{ "mail", "max_attempts", "20", T_INT },
	{ "mail", "lease_seconds", "300", T_INT },
	{ "mail", "batch", "50", T_INT },
	{ "mail", "rate_per_second", "0", T_INT },
	{ "mail", "poll_ms", "1000", T_INT },
	/* worker: the reissue pipeline */
	{ "worker", "node", "", T_STR },
	{ "worker", "threads", "8", T_INT },
	{ "worker", "lease_seconds", "120", T_INT },
	{ "worker", "claim_interval_ms", "500", T_INT },
	{ "worker", "backoff_base_ms", "2000", T_INT },
	{ "worker", "backoff_cap_ms", "600000", T_INT },
	{ "worker", "poll_ms", "1000", T_INT },
	{ "worker", "max_retries", "12", T_INT },
	{ "worker", "max_attempts", "3", T_INT },
	{ "worker", "attempt_timeout_s", "3600", T_INT },
	{ "worker", "revoke_delay_s", "0", T_INT },
	{ "worker", "revoke_max_retries", "6", T_INT },
	{ "worker", "mail", "yes", T_BOOL },
	{ "worker", "in_serve", "yes", T_BOOL },
	{ "worker", "max_in_flight", "256", T_INT },
	{ "ca *", "cert_key_type", NULL, T_STR }, /* deprecated: key_type (renamed[] below) */
	{ "ca *", "caa_identity", "", T_STR },
	{ "ca *", "roots", "", T_PATH },
	{ "ca *", "issuer_dn", "", T_STR },
	/* bulk reissue: the CA's newOrder limit, the hosting servers' pace */
	{ "ca *", "orders_per_window", "0", T_INT },
	{ "ca *", "order_window_s", "3600", T_INT },
	{ "bulk", "server_orders_per_hour", "0", T_INT },
	{ "bulk", "report_window_s", "3600", T_INT },
	{ "campaign", "mail_rate_per_second", "0", T_INT }, /* 0 = [mail] rate_per_second */
};

/* Old names still accepted: the new setting reads the old one when only the old
 * one is in the file, and `certdesk doctor` says it is deprecated. */
static const struct renamed {
	const char *old_key, *new_key; /* both registered in the same section */
} renamed[] = {
	{ "cert_key_type", "key_type" },
};

struct entry {
	char *section, *key, *value;
};

struct cd_config {
	char *path;
	char *dir;
	struct entry *entries;
	size_t n, cap;
};

static const struct setting *find_setting(const char *section, const char *key)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		const struct setting *s = &registry[i];
		size_t sl = strlen(s->section);

		if (strcmp(s->key, key) != 0)
			continue;
		if (strcmp(s->section, section) == 0)
			return s;
		/* "ca *" matches "ca NAME" */
		if (sl > 2 && s->section[sl - 1] == '*' &&
		    strncmp(s->section, section, sl - 1) == 0 && section[sl - 1] != '\0')
			return s;
	}
	return NULL;
}

static bool section_known(const char *section)
{
	for (size_t i = 0; i < sizeof(registry) / sizeof(registry[0]); i++) {
		const char *s = registry[i].section;
		size_t sl = strlen(s);

		if (strcmp(s, section) == 0)
			return true;
		if (sl > 2 && s[sl - 1] == '*' && strncmp(s, section, sl - 1) == 0 &&
		    section[sl - 1] != '\0')
			return true;
	}
	return false;
}

static int on_entry(void *user, const char *section, const char *key, const char *value)
{
	struct cd_config *cfg = user;
	struct entry *e;

	if (!key) /* a bare [section] line */
		return 1;
	if (cfg->n == cfg->cap) {
		size_t ncap = cfg->cap ? cfg->cap * 2 : 16;
		struct entry *ne = realloc(cfg->entries, ncap * sizeof(*ne));

		if (!ne)
			return 0;
		cfg->entries = ne;
		cfg->cap = ncap;
	}
	e = &cfg->entries[cfg->n];
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return 0;
	}
	cfg->n++;
	return 1;
}

int cd_config_load(const char *path, cd_config_t **out, struct cd_err *err)
{
	struct cd_config *cfg = calloc(1, sizeof(*cfg));
	char dir[PATH_MAX];
	int rc;

	*out = NULL;
	if (!cfg)
		return cd_err_set(err, CD_ENOMEM, false, "out of memory");
	if (path) {
		FILE *f = fopen(path, "r");

		if (!f) {
			rc = cd_err_set(err, CD_ECONFIG, false, "config %s: cannot open: %s", path,
					strerror(errno));
			goto fail;
		}
		rc = ini_parse_file(f, on_entry, cfg);
		fclose(f);
		if (rc != 0) {
			rc = rc > 0 ? cd_err_set(err, CD_ECONFIG, false,
						 "config %s:%d: not a valid INI line (expected "
						 "'key = value' or '[section]')",
						 path, rc)
				    : cd_err_set(err, CD_ECONFIG, false,
						 "config %s: cannot read it", path);
			goto fail;
		}
		cfg->path = strdup(path);
		cd_path_dir(path, dir, sizeof(dir));
	} else {
		snprintf(dir, sizeof(dir), ".");
	}
	cfg->dir = strdup(dir);
	if (!cfg->dir || (path && !cfg->path)) {
		rc = cd_err_set(err, CD_ENOMEM, false, "out of memory");
		goto fail;
	}
	*out = cfg;
	return 0;
fail:
	cd_config_free(cfg);
	return rc;
}

void cd_config_free(cd_config_t *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < cfg->n; i++) {
		free(cfg->entries[i].section);
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	free(cfg->dir);
	free(cfg);
}

const char *cd_config_path(const cd_config_t *cfg)
{
	return cfg->path;
}

const char *cd_config_dir(const cd_config_t *cfg)
{
	return cfg->dir;
}

static const char *file_value(const cd_config_t *cfg, const char *section, const char *key)
{
	/* the last assignment in the file wins, as in most INI readers */
	for (size_t i = cfg->n; i-- > 0;)
		if (strcmp(cfg->entries[i].section, section) == 0 &&
		    strcmp(cfg->entries[i].key, key) == 0)
			return cfg->entries[i].value;
	return NULL;
}

const char *cd_config_get(const cd_config_t *cfg, const char *section, const char *key)
{
	const struct setting *s;
	const char *v = file_value(cfg, section, key);

	if (v)
		return v;
	/* an old name of this setting, still accepted (doctor says it is deprecated) */
	for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
		if (strcmp(renamed[i].new_key, key) == 0 &&
		    (v = file_value(cfg, section, renamed[i].old_key)) &&
		    find_setting(section, renamed[i].old_key))
			return v;
	s = find_setting(section, key);
	return s ? s->def : NULL;
}

static bool parse_long(const char *v, long *out)
{
	char *end;

	errno = 0;
	*out = strtol(v, &end, 10);
	return *v && *end == '\0' && errno == 0;
}

int cd_config_get_int(const cd_config_t *cfg, const char *section, const char *key, long min,
		      long max, long *out, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, section, key);

	if (!v || !parse_long(v, out))
		return cd_err_set(err, CD_ECONFIG, false, "[%s] %s = '%s' is not a whole number",
				  section, key, v ? v : "");
	if (*out < min || *out > max)
		return cd_err_set(err, CD_ECONFIG, false,
				  "[%s] %s = %ld is out of range (%ld..%ld)", section, key, *out,
				  min, max);
	return 0;
}

static int parse_bool(const char *v, bool *out)
{
	if (!strcmp(v, "true") || !strcmp(v, "yes") || !strcmp(v, "on") || !strcmp(v, "1"))
		*out = true;
	else if (!strcmp(v, "false") || !strcmp(v, "no") || !strcmp(v, "off") || !strcmp(v, "0"))
		*out = false;
	else
		return -1;
	return 0;
}

int cd_config_get_bool(const cd_config_t *cfg, const char *section, const char *key, bool *out,
		       struct cd_err *err)
{
	const char *v = cd_config_get(cfg, section, key);

	if (!v || parse_bool(v, out) != 0)
		return cd_err_set(err, CD_ECONFIG, false, "[%s] %s = '%s' is not true/false",
				  section, key, v ? v : "");
	return 0;
}

int cd_config_get_path(const cd_config_t *cfg, const char *section, const char *key, char *out,
		       size_t outsz, struct cd_err *err)
{
	const char *v = cd_config_get(cfg, section, key);

	if (!v || !*v)
		return cd_err_set(err, CD_ECONFIG, false, "[%s] %s is not set", section, key);
	return cd_path_join(cfg->dir, v, out, outsz, err);
}

void cd_config_each_named(const cd_config_t *cfg, const char *kind,
			  void (*fn)(const char *name, void *arg), void *arg)
{
	size_t kl = strlen(kind);

	for (size_t i = 0; i < cfg->n; i++) {
		const char *s = cfg->entries[i].section;
		bool seen = false;

		if (strncmp(s, kind, kl) != 0 || s[kl] != ' ' || !s[kl + 1])
			continue;
		for (size_t j = 0; j < i; j++)
			if (strcmp(cfg->entries[j].section, s) == 0)
				seen = true;
		if (!seen)
			fn(s + kl + 1, arg);
	}
}

static const char *renamed_to(const char *old_key)
{
	for (size_t i = 0; i < sizeof(renamed) / sizeof(renamed[0]); i++)
		if (strcmp(renamed[i].old_key, old_key) == 0)
			return renamed[i].new_key;
	return NULL;
}

int cd_config_check(const cd_config_t *cfg, void (*fn)(const char *problem, void *arg), void *arg)
{
	char msg[512];
	int problems = 0;

	for (size_t i = 0; i < cfg->n; i++) {
		const struct entry *e = &cfg->entries[i];
		const struct setting *s = find_setting(e->section, e->key);
		const char *new_key;
		long l;
		bool b;

		if (!s) {
			if (section_known(e->section))
				snprintf(msg, sizeof(msg), "%s: [%s] has no setting '%s' (a typo?)",
					 cfg->path, e->section, e->key);
			else
				snprintf(msg, sizeof(msg), "%s: unknown section [%s]", cfg->path,
					 e->section);
		} else if ((new_key = renamed_to(e->key))) {
			snprintf(msg, sizeof(msg),
				 file_value(cfg, e->section, new_key)
				     ? "%s: [%s] %s is deprecated and ignored: %s is set"
				     : "%s: [%s] %s is deprecated: rename it to %s (same meaning)",
				 cfg->path, e->section, e->key, new_key);
		} else if (s->type == T_INT && !parse_long(e->value, &l)) {
			snprintf(msg, sizeof(msg), "%s: [%s] %s = '%s' is not a whole number",
				 cfg->path, e->section, e->key, e->value);
		} else if (s->type == T_BOOL && parse_bool(e->value, &b) != 0) {
			snprintf(msg, sizeof(msg), "%s: [%s] %s = '%s' is not true/false",
				 cfg->path, e->section, e->key, e->value);
		} else {
			continue;
		}
		problems++;
		fn(msg, arg);
	}
	return problems;
}
