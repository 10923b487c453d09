/*
 * admin.h - the operator pages under /admin (private to the web stage): the
 * entry point server.c routes to, and what admin_session.c (login, sessions,
 * chrome, routes) and admin_pages.c (the pages and actions) share.
 */
#ifndef CD_WEB_ADMIN_H
#define CD_WEB_ADMIN_H

#include "web/web_priv.h"

/* Everything under /admin; path is what follows "/admin" ("", "/login", ...). */
enum MHD_Result web_admin(struct req *r, const char *path);

/* One request to the operator pages: the operator's session, never a member's. */
struct admin {
	struct req *r;
	bool authed;
	bool can_act; /* role admin: retry and cancel */
	char operator_id[65], display_name[256], role[16];
	char csrf[65];
	char sid_hash[WEB_HASH_HEX];
	const char *self; /* this page with its query, for the language switch (NULL: url) */
};

void admin_page_begin(struct admin *a, struct html *h, const char *title);
void admin_page_end(struct admin *a, struct html *h);
/* An operator page's error (the same bytes whatever was asked for). */
enum MHD_Result admin_error(struct admin *a, unsigned status, const char *message);
/* Whether the form's csrf field is this operator session's token. */
bool admin_csrf_ok(struct admin *a, const struct web_form *f);

enum MHD_Result admin_campaigns_get(struct admin *a);
enum MHD_Result admin_campaign_get(struct admin *a, int64_t id);
enum MHD_Result admin_failures_get(struct admin *a);
enum MHD_Result admin_revocations_get(struct admin *a);
enum MHD_Result admin_certificate_get(struct admin *a, const char *certificate_id);
enum MHD_Result admin_search_get(struct admin *a);
/* POST /admin/orders/{id}/retry|cancel (CSRF and role checked by the caller). */
enum MHD_Result admin_order_action(struct admin *a, int64_t order_id, bool cancel);

#endif
