/*
 * test_install_files.c - the installer's pieces that need no nginx: command
 * lines expanded from the settings (placeholders, no shell), the site nginx's
 * test output blames, site names that are safe path components, and the site
 * files (write with backup, the same certificate twice, restore, retention).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "install/install_priv.h"
#include "util/fileio.h"

static void settings(struct install_settings *s, const char *root)
{
	memset(s, 0, sizeof(*s));
	snprintf(s->name, sizeof(s->name), "web01");
	snprintf(s->root, sizeof(s->root), "%s", root);
	snprintf(s->nginx, sizeof(s->nginx), "/usr/sbin/nginx");
	snprintf(s->nginx_conf, sizeof(s->nginx_conf), "/etc/nginx/nginx.conf");
	snprintf(s->nginx_prefix, sizeof(s->nginx_prefix), "/srv/p");
	s->backup_keep = 2;
}

struct argv_case {
	const char *name, *cmdline;
	int rc;
	const char *want[8];
};

static void test_argv_table(void **state)
{
	static const struct argv_case cases[] = {
		{ "placeholders",
		  "%n -p %p -c %c -t",
		  0,
		  { "/usr/sbin/nginx", "-p", "/srv/p", "-c", "/etc/nginx/nginx.conf", "-t" } },
		{ "blanks collapse", "  sudo   -n\t%n  ", 0, { "sudo", "-n", "/usr/sbin/nginx" } },
		{ "server and root", "hook %s %r/x", 0, { "hook", "web01", "/srv/root/x" } },
		{ "percent", "echo 100%%", 0, { "echo", "100%" } },
		{ "unknown placeholder", "echo %q", -CD_ECONFIG, { NULL } },
		{ "empty", "   ", -CD_ECONFIG, { NULL } },
	};
	struct install_settings s;

	(void)state;
	settings(&s, "/srv/root");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[1024], *argv[INSTALL_ARGV_MAX];
		struct cd_err err = { 0 };
		int rc = install_argv(&s, cases[i].cmdline, buf, sizeof(buf), argv,
				      INSTALL_ARGV_MAX, &err);

		print_message("# case: %s\n", cases[i].name);
		assert_int_equal(rc, cases[i].rc);
		if (rc)
			continue;
		size_t n = 0;
		for (; cases[i].want[n]; n++)
			assert_string_equal(argv[n], cases[i].want[n]);
		assert_null(argv[n]);
	}
}

struct blame_case {
	const char *name, *output;
	int want;
};

static void test_blame_table(void **state)
{
	static const struct blame_case cases[] = {
		{ "certificate load",
		  "nginx: [emerg] cannot load certificate \"/srv/root/b.test/fullchain.pem\": "
		  "PEM_read_bio_X509_AUX() failed",
		  1 },
		{ "include syntax",
		  "nginx: [emerg] unexpected \"}\" in /srv/root/c.test/ssl.conf:3", 2 },
		{ "key mismatch", "SSL_CTX_use_PrivateKey(\"/srv/root/a.test/privkey.pem\") failed",
		  0 },
		{ "prefix is not a site",
		  "cannot load certificate \"/srv/root/a.test.example/fullchain.pem\"", -1 },
		{ "operator's file",
		  "nginx: [emerg] unknown directive \"x\" in /etc/nginx/sites/a.conf:4", -1 },
		{ "another root", "cannot load \"/srv/rootx/a.test/fullchain.pem\"", -1 },
		{ "empty", "", -1 },
	};
	static const char *const fqdns[] = { "a.test", "b.test", "c.test" };
	struct install_settings s;

	(void)state;
	settings(&s, "/srv/root");
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		print_message("# case: %s\n", cases[i].name);
		assert_int_equal(install_nginx_driver.blame(&s, cases[i].output, fqdns, 3),
				 cases[i].want);
	}
}

static void test_fqdn_ok(void **state)
{
	(void)state;
	assert_true(install_fqdn_ok("a.example.jp"));
	assert_true(install_fqdn_ok("xn--r8jz45g.jp"));
	assert_false(install_fqdn_ok(""));
	assert_false(install_fqdn_ok(".."));
	assert_false(install_fqdn_ok("../etc"));
	assert_false(install_fqdn_ok("a/b"));
	assert_false(install_fqdn_ok("A.example"));
	assert_false(install_fqdn_ok("a..b"));
	assert_false(install_fqdn_ok("a.b."));
	assert_false(install_fqdn_ok(".a"));
}

static char *slurp(const char *path)
{
	struct cd_err err = { 0 };
	char *buf = NULL;
	size_t n;

	if (cd_file_read(path, 1 << 20, &buf, &n, &err) != 0)
		return NULL;
	return buf;
}

static void site(struct install_site *st, const char *chain, char *key)
{
	st->fqdn = "a.test";
	st->fullchain_pem = chain;
	st->fullchain_len = strlen(chain);
	st->key_pem = key;
	st->key_len = strlen(key);
}

static void test_files_cycle(void **state)
{
	char dir[] = "/tmp/cd-install-XXXXXX", path[4200], cmd[600], key1[] = "KEY-ONE\n",
	     key2[] = "KEY-TWO\n", *buf;
	struct install_settings s;
	struct install_prior prior;
	struct install_site st;
	struct cd_err err = { 0 };
	struct stat sb;
	bool live;

	(void)state;
	assert_non_null(mkdtemp(dir));
	settings(&s, dir);
	umask(077); /* as certdesk runs: the modes below are set, not inherited */

	/* the first install: nothing to back up */
	site(&st, "CHAIN-ONE\n", key1);
	assert_int_equal(install_files_same(&s, &st, &live, &err), 0);
	assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	assert_false(prior.had_files);
	assert_string_equal(prior.backup, "");
	snprintf(path, sizeof(path), "%s/a.test/privkey.pem", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	snprintf(path, sizeof(path), "%s/a.test", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0755);
	snprintf(path, sizeof(path), "%s/a.test/ssl.conf", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0644);
	assert_non_null(buf = slurp(path));
	assert_non_null(strstr(buf, "ssl_certificate_key \""));
	assert_non_null(strstr(buf, "/a.test/privkey.pem\";"));
	free(buf);

	/* the same again: same files, not live until marked */
	assert_int_equal(install_files_same(&s, &st, &live, &err), 1);
	assert_false(live);
	assert_int_equal(install_files_mark_live(&s, "a.test", &err), 0);
	assert_int_equal(install_files_same(&s, &st, &live, &err), 1);
	assert_true(live);

	/* a second certificate: the first is backed up */
	site(&st, "CHAIN-TWO\n", key2);
	assert_int_equal(install_files_same(&s, &st, &live, &err), 0);
	assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	assert_true(prior.had_files);
	snprintf(path, sizeof(path), "%s/fullchain.pem", prior.backup);
	assert_non_null(buf = slurp(path));
	assert_string_equal(buf, "CHAIN-ONE\n");
	free(buf);
	snprintf(path, sizeof(path), "%s/privkey.pem", prior.backup);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);

	/* restore: the first again, and the live marker gone */
	assert_int_equal(install_files_restore(&s, "a.test", prior.backup, &err), 0);
	snprintf(path, sizeof(path), "%s/a.test/fullchain.pem", dir);
	assert_non_null(buf = slurp(path));
	assert_string_equal(buf, "CHAIN-ONE\n");
	free(buf);
	snprintf(path, sizeof(path), "%s/a.test/privkey.pem", dir);
	assert_non_null(buf = slurp(path));
	assert_string_equal(buf, "KEY-ONE\n");
	free(buf);
	snprintf(path, sizeof(path), "%s/a.test/.certdesk-live", dir);
	assert_int_not_equal(access(path, F_OK), 0);

	/* newest backup and retention (backup_keep = 2) */
	for (int i = 0; i < 3; i++)
		assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	char newest[4096];
	assert_int_equal(install_files_newest_backup(&s, "a.test", newest, sizeof(newest), &err),
			 0);
	assert_string_equal(newest, prior.backup);
	install_files_prune(&s, "a.test");
	snprintf(cmd, sizeof(cmd), "test $(ls '%s/.certdesk-backup/a.test' | wc -l) = 2", dir);
	assert_int_equal(system(cmd), 0);

	/* restore with no backup: our files go away */
	assert_int_equal(install_files_restore(&s, "a.test", "", &err), 0);
	snprintf(path, sizeof(path), "%s/a.test/fullchain.pem", dir);
	assert_int_not_equal(access(path, F_OK), 0);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A crash between the key and the chain leaves our new key beside the old
 * chain. The retry must not back that torn pair up: its prior is the backup
 * the cut-short try made, so a rollback restores a matching key and chain. */
static void test_torn_write_not_backed_up(void **state)
{
	char dir[] = "/tmp/cd-install-XXXXXX", path[4200], cmd[600], key1[] = "KEY-ONE\n",
	     key2[] = "KEY-TWO\n", first[4096], *buf;
	struct install_settings s;
	struct install_prior prior;
	struct install_site st;
	struct cd_err err = { 0 };

	(void)state;
	assert_non_null(mkdtemp(dir));
	settings(&s, dir);
	site(&st, "CHAIN-ONE\n", key1);
	assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	site(&st, "CHAIN-TWO\n", key2);
	assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	snprintf(first, sizeof(first), "%s", prior.backup);
	/* the crash: the new key written, the old chain still there */
	snprintf(path, sizeof(path), "%s/a.test/fullchain.pem", dir);
	assert_int_equal(cd_file_write_durable(path, "CHAIN-ONE\n", 10, 0644, &err), 0);
	assert_int_equal(install_files_write(&s, &st, &prior, &err), 0);
	assert_true(prior.had_files);
	assert_string_equal(prior.backup, first);
	snprintf(cmd, sizeof(cmd), "test $(ls '%s/.certdesk-backup/a.test' | wc -l) = 1", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(install_files_restore(&s, "a.test", prior.backup, &err), 0);
	snprintf(path, sizeof(path), "%s/a.test/privkey.pem", dir);
	assert_non_null(buf = slurp(path));
	assert_string_equal(buf, "KEY-ONE\n");
	free(buf);
	snprintf(path, sizeof(path), "%s/a.test/fullchain.pem", dir);
	assert_non_null(buf = slurp(path));
	assert_string_equal(buf, "CHAIN-ONE\n");
	free(buf);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_argv_table),
		cmocka_unit_test(test_blame_table),
		cmocka_unit_test(test_fqdn_ok),
		cmocka_unit_test(test_files_cycle),
		cmocka_unit_test(test_torn_write_not_backed_up),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
