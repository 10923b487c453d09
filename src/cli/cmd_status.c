/*
 * cmd_status.c - `certdesk status --member ID`: every certificate of a member
 * with its status and reasons, decided by core/eligibility and worded by
 * core/i18n exactly as the portal shows them. --json for scripts.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "core/i18n.h"
#include "util/cdtime.h"

static const char STATUS_HELP[] =
    "usage: certdesk status --member ID [--lang ja|en] [--json]\n\n"
    "Prints every certificate of the member with its status (reissue, not needed,\n"
    "in progress, not possible) and, for 'not possible', every reason and what to\n"
    "do: the same as the portal shows. The language defaults to the member's.\n"
    "--json prints an array of objects (certificate_id, common_name, product, status,\n"
    "reason, reasons, stage, ...); reason is null unless the status is impossible.\n";

struct status_run {
	struct cli *c;
	enum lang lang;
	json_t *arr; /* --json */
	int count;
};

static void local_day(struct cli *c, int64_t t, char out[17])
{
	if (t == 0 || cd_tz_format(c->timezone, t, out, NULL) != 0)
		snprintf(out, 17, "-");
	else
		out[10] = '\0'; /* the date part */
}

/* Prints "  label    value": labels padded to 12 columns of the terminal,
 * counting a Japanese character as two (printf pads bytes, not columns). */
static void line(const char *label, const char *value)
{
	int width = 0;

	for (const unsigned char *p = (const unsigned char *)label; *p; p++)
		if ((*p & 0xc0) != 0x80)
			width += *p >= 0xe0 ? 2 : 1; /* 3-byte UTF-8: CJK, full width */
	printf("  %s%*s %s\n", label, width < 12 ? 12 - width : 0, "", value);
}

static int show_json(const struct store_cert_view *v, const struct eligibility *e,
		     struct status_run *r)
{
	json_t *o = json_object(), *reasons = json_array();
	char nb[21], na[21], dl[21];

	if (!o || !reasons)
		return -CD_ENOMEM;
	for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1)
		if (e->reasons & bit) {
			json_t *ro = json_object();

			json_object_set_new(ro, "reason", json_string(cert_reason_name(bit)));
			json_object_set_new(ro, "text",
					    json_string(i18n_reason_text(bit, r->lang)));
			json_object_set_new(ro, "todo",
					    json_string(i18n_reason_todo(bit, r->lang)));
			json_array_append_new(reasons, ro);
		}
	cd_time_format_utc(v->not_before, nb);
	cd_time_format_utc(v->not_after, na);
	cd_time_format_utc(e->deadline, dl);
	json_object_set_new(o, "certificate_id", json_string(v->certificate_id));
	json_object_set_new(o, "common_name", json_string(v->common_name));
	json_object_set_new(o, "product", json_string(v->product));
	json_object_set_new(o, "product_label",
			    json_string(i18n_product_label(v->product, r->lang)));
	json_object_set_new(o, "server", v->server[0] ? json_string(v->server) : json_null());
	json_object_set_new(o, "serial", json_string(v->serial));
	json_object_set_new(o, "issuer", json_string(v->issuer_dn));
	json_object_set_new(o, "not_before", v->not_before ? json_string(nb) : json_null());
	json_object_set_new(o, "not_after", v->not_after ? json_string(na) : json_null());
	json_object_set_new(o, "term_end", json_string(v->term_end));
	json_object_set_new(o, "status", json_string(cert_status_name(e->status)));
	json_object_set_new(o, "status_label", json_string(i18n_status_label(e->status, r->lang)));
	json_object_set_new(o, "reason",
			    e->status == CERT_STATUS_IMPOSSIBLE
				? json_string(cert_reason_name(e->reason))
				: json_null());
	json_object_set_new(o, "reasons", reasons);
	json_object_set_new(o, "stage",
			    e->status == CERT_STATUS_IN_PROGRESS
				? json_string(order_state_name(e->stage))
				: json_null());
	json_object_set_new(o, "campaign_id",
			    e->campaign_id ? json_integer(e->campaign_id) : json_null());
	json_object_set_new(o, "deadline", e->campaign_id ? json_string(dl) : json_null());
	json_object_set_new(o, "last_failure",
			    e->last_failure != FAILURE_NONE
				? json_string(failure_code_name(e->last_failure))
				: json_null());
	if (e->last_failure != FAILURE_NONE) {
		json_object_set_new(o, "last_failure_text",
				    json_string(i18n_failure_text(e->last_failure, r->lang)));
		json_object_set_new(o, "last_failure_todo",
				    json_string(i18n_failure_todo(e->last_failure, r->lang)));
	}
	json_array_append_new(r->arr, o);
	return 0;
}

static void show_text(const struct store_cert_view *v, const struct eligibility *e,
		      struct status_run *r)
{
	bool ja = r->lang == LANG_JA;
	char until[17], deadline[17];

	local_day(r->c, v->not_after, until);
	printf("\n%s  %s\n", v->common_name, i18n_status_label(e->status, r->lang));
	line(ja ? "証明書ID" : "certificate", v->certificate_id);
	line(ja ? "種別" : "product", i18n_product_label(v->product, r->lang));
	line(ja ? "サーバ" : "server", v->server[0] ? v->server : "-");
	line(ja ? "有効期限" : "valid until", until);
	if (e->status == CERT_STATUS_IN_PROGRESS)
		line(ja ? "進捗" : "stage", i18n_stage_label(e->stage, r->lang));
	if (e->campaign_id && e->status != CERT_STATUS_NOT_NEEDED) {
		local_day(r->c, e->deadline, deadline);
		line(ja ? "再発行期限" : "deadline", deadline);
	}
	if (e->status == CERT_STATUS_IMPOSSIBLE)
		for (unsigned bit = 1; bit <= REASON_ALL_MASK; bit <<= 1)
			if (e->reasons & bit) {
				line(ja ? "理由" : "reason", i18n_reason_text(bit, r->lang));
				line(ja ? "対応" : "what to do", i18n_reason_todo(bit, r->lang));
			}
	if (e->last_failure != FAILURE_NONE && e->status != CERT_STATUS_IMPOSSIBLE) {
		line(ja ? "前回の失敗" : "last failure",
		     i18n_failure_text(e->last_failure, r->lang));
		line(ja ? "対応" : "what to do", i18n_failure_todo(e->last_failure, r->lang));
	}
}

static int each_cert(const struct store_cert_view *v, void *arg)
{
	struct status_run *r = arg;
	struct eligibility e;

	eligibility_of(&v->facts, &e);
	r->count++;
	if (r->arr)
		return show_json(v, &e, r);
	show_text(v, &e, r);
	return 0;
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "member", required_argument, NULL, 'm' },
		{ "lang", required_argument, NULL, 'l' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct status_run r = { .c = c };
	struct store_member_row m;
	struct cd_err err = { 0 };
	const char *member = NULL, *lang = NULL;
	bool json = false;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'm':
			member = optarg;
			break;
		case 'l':
			lang = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'h':
			fputs(STATUS_HELP, stdout);
			return 0;
		default:
			return cli_usage("status", "unknown option");
		}
	}
	if (!member || optind < argc)
		return cli_usage("status", "give --member ID");
	if (cli_store(c, true, &err) != 0 || store_member_get(c->st, member, &m, &err) != 0)
		return cli_fail(&err);
	if (lang_parse(lang ? lang : m.locale, &r.lang, &err) != 0)
		return cli_fail(&err);
	if (json && !(r.arr = json_array()))
		return cli_fail(&(struct cd_err){ .code = CD_ENOMEM, .msg = "out of memory" });
	if (!json)
		printf(r.lang == LANG_JA ? "会員ID %s (%s)\n" : "member %s (%s)\n", m.member_id,
		       m.display_name);
	rc = store_member_certificates(c->st, member, c->now, each_cert, &r, &err);
	if (rc) {
		json_decref(r.arr);
		return cli_fail(&err);
	}
	if (json) {
		char *s = json_dumps(r.arr, JSON_INDENT(2));

		puts(s ? s : "[]");
		free(s);
		json_decref(r.arr);
	} else if (r.count == 0) {
		puts(r.lang == LANG_JA ? "証明書はありません。" : "No certificates.");
	}
	return 0;
}
