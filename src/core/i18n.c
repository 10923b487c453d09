/*
 * i18n.c - the words customers read, in Japanese (the default) and English.
 *
 * Texts are tables indexed by the enum and the language. They are written
 * for a customer, not an engineer: what happened, in plain words, and one
 * concrete thing to do. The provider's name and contact address are filled
 * in by the templates from the configuration, so the texts here say
 * "サポート窓口" / "support" generically.
 */
#include "core/i18n.h"
#include "core/product.h"

#include <string.h>
#include <strings.h>

struct text2 {
	const char *ja, *en;
};

static const char *pick(const struct text2 *t, enum lang l)
{
	const char *s = l == LANG_EN ? t->en : t->ja;

	return s ? s : "";
}

static const struct text2 status_labels[CERT_STATUS_COUNT] = {
	[CERT_STATUS_AVAILABLE] = { "再発行", "Reissue" },
	[CERT_STATUS_NOT_NEEDED] = { "再発行不要", "Not needed" },
	[CERT_STATUS_IN_PROGRESS] = { "再発行手続中", "In progress" },
	[CERT_STATUS_IMPOSSIBLE] = { "再発行不可", "Not possible" },
};

/* Reasons, in the order of their bits (bit 0 = server problem). */
static const struct text2 reason_texts[] = {
	{ "ご契約のレンタルサーバまたはサイトが、現在ご利用いただける状態にありません"
	  "（メンテナンス中、停止中など）。",
	  "The hosting server or the site is not in a usable state right now "
	  "(for example under maintenance or suspended)." },
	{ "このドメイン名には、別の証明書（他の製品または他の認証局の証明書）が"
	  "サーバに設定されています。",
	  "Another certificate (a different product, or one from another certificate "
	  "authority) is installed on the server for this domain name." },
	{ "コントロールパネルに、このコモンネームの新しいSSL設定がすでにあります。",
	  "The control panel already has a new SSL setting for this common name." },
	{ "前回の再発行のお手続きが失敗しました。もう一度お申し込みいただいても"
	  "解決しない状態です。",
	  "The last reissue failed, and applying again would not help." },
	{ "この証明書は、お客様ご自身でCSR（証明書署名要求）を作成して再発行する製品です。"
	  "この画面からは再発行できません。",
	  "This certificate is a product you manage yourself: it is reissued with a CSR "
	  "(certificate signing request) that you create, not from this screen." },
};

static const struct text2 reason_todos[] = {
	{ "サーバまたはサイトの状態について、サポート窓口までお問い合わせください。",
	  "Please contact support about the state of the server or the site." },
	{ "今の証明書を使い続ける場合は、再発行は不要です。この証明書に置き換える場合は、"
	  "サポート窓口までお問い合わせください。",
	  "If you keep the certificate installed now, no reissue is needed. To replace it "
	  "with this certificate, please contact support." },
	{ "新しいSSL設定のお手続きを完了するか、コントロールパネルでその設定を削除してから、"
	  "もう一度お申し込みください。",
	  "Complete the new SSL setting, or delete it in the control panel, then apply "
	  "again." },
	{ "お手数ですが、サポート窓口までお問い合わせください。担当者が状況を確認します。",
	  "Please contact support; we will look into it." },
	{ "CSRを作成のうえ、サポート窓口までご連絡ください。再発行の手順をご案内します。",
	  "Create a CSR and contact support; we will guide you through the reissue." },
};

#define N_REASONS (sizeof(reason_texts) / sizeof(reason_texts[0]))

_Static_assert(N_REASONS == 5 && REASON_CSR_REQUIRED == 1u << 4,
	       "one reason text per bit of enum cert_reason");
_Static_assert(sizeof(reason_todos) == sizeof(reason_texts), "one todo per reason");

static const struct text2 failure_texts[FAILURE_CODE_COUNT] = {
	[FAILURE_NONE] = { "", "" },
	[FAILURE_DNS_NOT_POINTING] = { "ドメインのAレコードがレンタルサーバを指していません。",
				       "The domain's A record does not point at the hosting "
				       "server." },
	[FAILURE_CAA_FORBIDS] = { "ドメインのCAAレコードが、この認証局による証明書の発行を許可して"
				  "いません。",
				  "The domain's CAA record does not allow this certificate "
				  "authority to issue "
				  "certificates for it." },
	[FAILURE_DNS_ERROR] = { "ドメインのDNSから一時的に応答がありませんでした。",
				"The domain's DNS did not answer for a while." },
	[FAILURE_SERVER_PROBLEM] = { "レンタルサーバまたはサイトが、お手続きの途中でご利用いただけ"
				     "ない状態になりました。",
				     "The hosting server or the site became unusable during the "
				     "reissue." },
	[FAILURE_FOREIGN_CERT] = { "お手続きの途中で、このドメイン名に別の証明書がサーバに設定され"
				   "ました。",
				   "During the reissue, another certificate was installed on the "
				   "server for this "
				   "domain name." },
	[FAILURE_NEW_SETTING] = { "お手続きの途中で、コントロールパネルにこのコモンネームの新しいSS"
				  "L設定が"
				  "作成されました。",
				  "During the reissue, a new SSL setting for this common name was "
				  "created in the "
				  "control panel." },
	[FAILURE_CHALLENGE_FAILED] = { "認証局がドメイン認証のためにサイトへ接続できませんでした。",
				       "The certificate authority could not reach the site to "
				       "validate the domain." },
	[FAILURE_CA_REJECTED] = { "認証局がこの証明書の発行を受け付けませんでした。",
				  "The certificate authority refused to issue this certificate." },
	[FAILURE_CA_ERROR] = { "認証局で一時的な障害が発生しました。",
			       "The certificate authority had a temporary problem." },
	[FAILURE_INSTALL_FAILED] = { "新しい証明書をサーバに設定できませんでした。今までの証明書は"
				     "そのまま使えています。",
				     "The new certificate could not be installed on the server. "
				     "The current "
				     "certificate is still in use." },
	[FAILURE_VERIFY_FAILED] = { "新しい証明書がサイトで使われていることを確認できませんでした"
				    "。",
				    "We could not confirm that the site serves the new "
				    "certificate." },
	[FAILURE_INTERNAL] = { "当社のシステムで問題が発生しました。",
			       "A problem occurred in our system." },
};

static const struct text2 failure_todos[FAILURE_CODE_COUNT] = {
	[FAILURE_NONE] = { "", "" },
	[FAILURE_DNS_NOT_POINTING] = { "DNSのAレコードをレンタルサーバのIPアドレスに設定してから、"
				       "もう一度お申し込みください。",
				       "Set the domain's A record to the hosting server's IP "
				       "address, then apply "
				       "again." },
	[FAILURE_CAA_FORBIDS] = { "CAAレコードを削除するか、この認証局を許可するCAAレコードを追加し"
				  "てから、"
				  "もう一度お申し込みください。",
				  "Remove the CAA record, or add one that allows this certificate "
				  "authority, then "
				  "apply again." },
	[FAILURE_DNS_ERROR] = { "しばらく待ってから、もう一度お申し込みください。続く場合はDNSの設"
				"定をご確認ください。",
				"Wait a while and apply again. If it happens again, check the "
				"domain's DNS "
				"settings." },
	[FAILURE_SERVER_PROBLEM] = { "サーバまたはサイトが使える状態に戻ってから、もう一度お申し込"
				     "みください。"
				     "ご不明な点はサポート窓口までお問い合わせください。",
				     "Apply again once the server or the site is usable again. If "
				     "unsure, please "
				     "contact support." },
	[FAILURE_FOREIGN_CERT] = { "どちらの証明書を使うかご確認のうえ、サポート窓口までお問い合わ"
				   "せください。",
				   "Decide which certificate you want to use and contact "
				   "support." },
	[FAILURE_NEW_SETTING] = { "新しいSSL設定のお手続きを完了するか、その設定を削除してから、"
				  "サポート窓口までお問い合わせください。",
				  "Complete or delete the new SSL setting, then contact support." },
	[FAILURE_CHALLENGE_FAILED] = { "サイトがインターネットから見られることをご確認のうえ、もう"
				       "一度お申し込みください。",
				       "Check that the site can be reached from the internet, then "
				       "apply again." },
	[FAILURE_CA_REJECTED] = { "サポート窓口までお問い合わせください。",
				  "Please contact support." },
	[FAILURE_CA_ERROR] = { "しばらく待ってから、もう一度お申し込みください。",
			       "Wait a while and apply again." },
	[FAILURE_INSTALL_FAILED] = { "しばらく待ってから、もう一度お申し込みください。続く場合はサ"
				     "ポート窓口まで"
				     "お問い合わせください。",
				     "Wait a while and apply again. If it happens again, please "
				     "contact support." },
	[FAILURE_VERIFY_FAILED] = { "しばらく待ってから、もう一度お申し込みください。続く場合はサポ"
				    "ート窓口まで"
				    "お問い合わせください。",
				    "Wait a while and apply again. If it happens again, please "
				    "contact support." },
	[FAILURE_INTERNAL] = { "もう一度お申し込みください。続く場合はサポート窓口までお問い合わせ"
			       "ください。",
			       "Please apply again. If it happens again, please contact support." },
};

static const struct text2 stage_labels[ORDER_STATE_COUNT] = {
	[ORDER_QUEUED] = { "受付済み", "Received" },
	[ORDER_PREFLIGHT] = { "事前確認中", "Checking DNS" },
	[ORDER_KEY_READY] = { "申請準備中", "Preparing the request" },
	[ORDER_ORDERED] = { "認証局に申請済み", "Requested from the CA" },
	[ORDER_VALIDATING] = { "ドメイン認証中", "Validating the domain" },
	[ORDER_FINALIZING] = { "証明書発行中", "Issuing the certificate" },
	[ORDER_ISSUED] = { "証明書発行済み", "Certificate issued" },
	[ORDER_INSTALLED] = { "サーバに設定済み", "Installed on the server" },
	[ORDER_LIVE] = { "動作確認済み", "Verified on the site" },
	[ORDER_NOTIFIED] = { "完了メール送信済み", "Completion mail sent" },
	[ORDER_OLD_REVOKED] = { "旧証明書失効済み", "Old certificate revoked" },
	[ORDER_DONE] = { "完了", "Done" },
	[ORDER_FAILED] = { "失敗", "Failed" },
	[ORDER_CANCELED] = { "取消", "Canceled" },
};

static const struct text2 no_text = { "", "" };

/* The table index of a single reason bit, or -1 (REASON_NONE, several bits). */
static int reason_index(enum cert_reason r)
{
	unsigned v = (unsigned)r;

	if (v == 0 || (v & (v - 1)) != 0)
		return -1;
	for (int i = 0; i < (int)N_REASONS; i++)
		if (v == 1u << i)
			return i;
	return -1;
}

int lang_parse(const char *name, enum lang *out, struct cd_err *err)
{
	static const char *const codes[LANG_COUNT] = { [LANG_JA] = "ja", [LANG_EN] = "en" };

	/* "ja", "EN", "ja-JP", "en_US": the primary subtag decides. */
	if (name && strlen(name) >= 2 &&
	    (name[2] == '\0' || ((name[2] == '-' || name[2] == '_') && name[3] != '\0')))
		for (int l = 0; l < LANG_COUNT; l++)
			if (strncasecmp(name, codes[l], 2) == 0) {
				*out = (enum lang)l;
				return 0;
			}
	return cd_err_set(err, CD_EINVAL, false, "'%.40s' is not a language (ja or en)",
			  name ? name : "(null)");
}

const char *lang_name(enum lang l)
{
	return l == LANG_EN ? "en" : "ja";
}

const char *i18n_status_label(enum cert_status s, enum lang l)
{
	return pick((int)s >= 0 && s < CERT_STATUS_COUNT ? &status_labels[s] : &no_text, l);
}

const char *i18n_product_label(const char *code, enum lang l)
{
	const struct product *p = product_find(code);

	if (!p)
		return code;
	return l == LANG_EN ? p->label_en : p->label_ja;
}

const char *i18n_reason_text(enum cert_reason r, enum lang l)
{
	int i = reason_index(r);

	return pick(i >= 0 ? &reason_texts[i] : &no_text, l);
}

const char *i18n_reason_todo(enum cert_reason r, enum lang l)
{
	int i = reason_index(r);

	return pick(i >= 0 ? &reason_todos[i] : &no_text, l);
}

const char *i18n_failure_text(enum failure_code c, enum lang l)
{
	return pick((int)c >= 0 && c < FAILURE_CODE_COUNT ? &failure_texts[c] : &no_text, l);
}

const char *i18n_failure_todo(enum failure_code c, enum lang l)
{
	return pick((int)c >= 0 && c < FAILURE_CODE_COUNT ? &failure_todos[c] : &no_text, l);
}

const char *i18n_stage_label(enum order_state s, enum lang l)
{
	return pick((int)s >= 0 && s < ORDER_STATE_COUNT ? &stage_labels[s] : &no_text, l);
}
