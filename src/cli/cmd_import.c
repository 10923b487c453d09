/*
 * cmd_import.c - `certdesk import KIND FILE`: the provider's inventory, CSV
 * (RFC 4180) or JSON Lines, all or nothing.
 *
 * Every row is validated and written inside one transaction; the first bad
 * row makes the whole file roll back (the errors of up to MAX_REPORTED rows
 * are listed), unless --skip-bad, which imports the rest and lists what it
 * skipped. A malformed file (broken quoting, invalid UTF-8, NUL, a line over
 * the limit) cannot be read past, so it always imports nothing.
 */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/import.h"
#include "util/csv.h"
#include "util/fileio.h"
#include "util/jsonl.h"
#include "util/progress.h"

#define MAX_COLUMNS  16
#define MAX_REPORTED 20

static const char IMPORT_HELP[] =
    "usage: certdesk import KIND FILE [--format csv|jsonl] [--skip-bad]\n"
    "       certdesk import installed --server NAME DIR\n\n"
    "Imports the provider's inventory (README: 'The inventory'). KIND is members,\n"
    "servers, sites, settings or certificates; FILE is CSV with a header row or JSON\n"
    "Lines with the same field names (chosen by the extension .csv / .jsonl, or by\n"
    "--format). A file with a bad row imports nothing and the error names the file,\n"
    "the line and the field; --skip-bad imports the good rows and lists the others.\n"
    "Importing the same file again changes nothing.\n\n"
    "'import installed' records what the hosting server NAME has installed: every\n"
    "certificate file under DIR (fullchain files; keys and other files are skipped).\n";

struct source {
	csv_reader_t *csv;
	jsonl_reader_t *jsonl;
	int col[MAX_COLUMNS]; /* CSV: column of each field, -1 when absent */
	size_t width;	      /* CSV: fields in the header */
	size_t nreq, nall;    /* the kind's required columns, and all of them */
};

struct report {
	unsigned long rows, changed, bad;
};

static size_t count_names(const char *const *list)
{
	size_t n = 0;

	while (list && list[n])
		n++;
	return n;
}

static bool in_list(const char *const *list, const char *name)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strcmp(list[i], name) == 0)
			return true;
	return false;
}

/* Lines in the file, for the progress bar (only drawn on a terminal). */
static uint64_t count_lines(const char *path)
{
	char buf[1 << 16];
	uint64_t n = 0;
	FILE *f;
	size_t r;

	if (!isatty(STDERR_FILENO) || !(f = fopen(path, "r")))
		return 0;
	while ((r = fread(buf, 1, sizeof(buf), f)) > 0)
		for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + r - p))); p++)
			n++;
	fclose(f);
	return n;
}

/* Reads the next row into vals; 1 = a row, 0 = end, <0 = the file cannot be
 * read on (rowerr untouched), or 2 = this row is bad (rowerr set). */
static int next_row(struct source *src, const struct import_kind *k, const char **vals,
		    unsigned long *line, struct jsonl_record *jr, struct cd_err *err,
		    struct cd_err *rowerr)
{
	size_t nreq = src->nreq, nall = src->nall;
	int rc;

	if (src->csv) {
		struct csv_record rec;

		rc = csv_next(src->csv, &rec, err);
		if (rc <= 0)
			return rc;
		*line = rec.line;
		if (csv_check_width(&rec, src->width, rowerr) != 0)
			return 2;
		for (size_t i = 0; i < nall; i++) {
			int c = src->col[i];

			vals[i] = c >= 0 && rec.fields[c].len > 0 ? rec.fields[c].s : NULL;
		}
	} else {
		if (jr->obj) {
			json_decref(jr->obj);
			jr->obj = NULL;
		}
		rc = jsonl_next(src->jsonl, jr, err);
		if (rc <= 0)
			return rc;
		*line = jr->line;
		if (jsonl_check_keys(jr, k->required, k->optional, rowerr) != 0)
			return 2;
		for (size_t i = 0; i < nall; i++) {
			const char *name = i < nreq ? k->required[i] : k->optional[i - nreq];

			if (jsonl_get_string(jr, name, false, &vals[i], NULL, rowerr) != 0)
				return 2;
			if (vals[i] && !vals[i][0])
				vals[i] = NULL;
		}
	}
	for (size_t i = 0; i < nreq; i++)
		if (!vals[i] && !in_list(k->may_be_empty, k->required[i])) {
			cd_err_set(rowerr, CD_EINVAL, false, "field '%s' is empty", k->required[i]);
			return 2;
		}
	return 1;
}

static int open_source(struct cli *c, const char *path, const char *format,
		       const struct import_kind *k, struct source *src, struct cd_err *err)
{
	struct csv_record hdr;
	long max_record;
	int rc;

	rc = cd_config_get_int(c->cfg, "import", "max_record_bytes", 1024, 1L << 30, &max_record,
			       err);
	if (rc)
		return rc;
	if (!format) {
		const char *dot = strrchr(path, '.');

		if (dot && strcmp(dot, ".csv") == 0)
			format = "csv";
		else if (dot && (strcmp(dot, ".jsonl") == 0 || strcmp(dot, ".ndjson") == 0))
			format = "jsonl";
		else
			return cd_err_set(err, CD_EINVAL, false,
					  "%s: cannot tell the format from the name: give "
					  "--format csv or --format jsonl",
					  path);
	}
	if (strcmp(format, "jsonl") == 0) {
		struct jsonl_limits lim = { .max_line_bytes = (size_t)max_record };

		src->jsonl = jsonl_open_path(path, &lim, err);
		return src->jsonl ? 0 : -CD_EINVAL;
	}
	if (strcmp(format, "csv") != 0)
		return cd_err_set(err, CD_EINVAL, false, "format '%s' is not csv or jsonl", format);
	struct csv_limits lim = { .max_record_bytes = (size_t)max_record };

	src->csv = csv_open_path(path, &lim, err);
	if (!src->csv)
		return -CD_EINVAL;
	rc = csv_next(src->csv, &hdr, err);
	if (rc == 0)
		return cd_err_set(err, CD_EINVAL, false, "the file is empty (no header row)");
	if (rc < 0)
		return rc;
	src->width = hdr.nfields;
	return csv_header_map(&hdr, k->required, k->optional, src->col, err);
}

static int import_file(struct cli *c, const struct import_kind *k, const char *path,
		       const char *format, bool skip_bad)
{
	struct import_ctx x = { .c = c };
	struct source src = { 0 };
	struct jsonl_record jr = { 0 };
	struct report rep = { 0 };
	struct cd_err err = { 0 }, rowerr = { 0 };
	const char *vals[MAX_COLUMNS];
	unsigned long line = 0;
	char detail[256];
	bool in_tx = false;
	int rc, changed;

	for (int i = 0; i < MAX_COLUMNS; i++)
		src.col[i] = -1;
	src.nreq = count_names(k->required);
	src.nall = src.nreq + count_names(k->optional);
	rc = cd_config_get_int(c->cfg, "import", "max_pem_bytes", 1024, 1L << 32, &x.max_pem_bytes,
			       &err);
	if (rc)
		goto out;
	cd_path_dir(path, x.dir, sizeof(x.dir));
	x.seen = strset_new();
	x.bundles = bundle_cache_new();
	if (!x.seen || !x.bundles) {
		rc = cd_err_set(&err, CD_ENOMEM, false, "out of memory");
		goto out;
	}
	rc = open_source(c, path, format, k, &src, &err);
	if (rc) {
		cd_err_prefix(&err, "%s: ", path);
		goto out;
	}
	rc = store_begin(c->st, &err);
	if (rc)
		goto out;
	in_tx = true;
	progress_start(k->name, count_lines(path), PROGRESS_ITEMS);
	for (;;) {
		rc = next_row(&src, k, vals, &line, &jr, &err, &rowerr);
		if (rc == 0)
			break;
		if (rc < 0) { /* the file itself is broken: nothing can be trusted */
			cd_err_prefix(&err, "%s: ", path);
			goto out;
		}
		rep.rows++;
		if (rep.rows % 1024 == 0)
			progress_update(line);
		if (rc == 1) {
			changed = 0;
			rc = k->row(&x, vals, &changed, &rowerr);
			if (rc == 0) {
				rep.changed += changed != 0;
				continue;
			}
			if (rowerr.code != CD_EINVAL) { /* the store failed, not the row */
				err = rowerr;
				cd_err_prefix(&err, "%s:%lu: ", path, line);
				goto out;
			}
		}
		rep.bad++;
		if (rep.bad <= MAX_REPORTED)
			fprintf(stderr, "%s:%lu: %s%s\n", path, line, rowerr.msg,
				skip_bad ? " (skipped)" : "");
		else if (rep.bad == MAX_REPORTED + 1)
			fprintf(stderr, "%s: more bad rows follow; only the first %d are listed\n",
				path, MAX_REPORTED);
	}
	progress_finish();
	if (rep.bad && !skip_bad) {
		rc = cd_err_set(&err, CD_EINVAL, false,
				"%s: %lu bad row(s) of %lu: nothing imported (fix them, or "
				"--skip-bad to import the rest)",
				path, rep.bad, rep.rows);
		goto out;
	}
	snprintf(detail, sizeof(detail), "%s %.200s: %lu rows, %lu changed, %lu skipped", k->name,
		 path, rep.rows, rep.changed, rep.bad);
	rc = store_event_add(
	    c->st,
	    &(struct store_event){
		.at = c->now, .actor = c->actor, .kind = "import", .detail = detail },
	    &err);
	if (!rc)
		rc = store_commit(c->st, &err);
	in_tx = false;
	if (!rc)
		printf("%s: %lu row(s) read, %lu new or changed, %lu unchanged, %lu skipped\n",
		       k->name, rep.rows, rep.changed, rep.rows - rep.changed - rep.bad, rep.bad);
out:
	progress_finish();
	if (in_tx)
		store_rollback(c->st);
	if (jr.obj)
		json_decref(jr.obj);
	csv_close(src.csv);
	jsonl_close(src.jsonl);
	strset_free(x.seen);
	bundle_cache_free(x.bundles);
	return rc ? cli_fail(&err) : 0;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "skip-bad", no_argument, NULL, 's' },
		{ "server", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *format = NULL, *server = NULL;
	const struct import_kind *k;
	struct cd_err err = { 0 };
	bool skip_bad = false;
	char kinds[128];
	int opt;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'f':
			format = optarg;
			break;
		case 's':
			skip_bad = true;
			break;
		case 'S':
			server = optarg;
			break;
		case 'h':
			fputs(IMPORT_HELP, stdout);
			return 0;
		default:
			return cli_usage("import", "unknown option");
		}
	}
	if (argc - optind != 2)
		return cli_usage("import",
				 "give a KIND and a FILE (or: installed --server NAME DIR)");
	if (cli_store(c, true, &err) != 0)
		return cli_fail(&err);
	if (strcmp(argv[optind], "installed") == 0) {
		if (!server)
			return cli_usage("import", "'import installed' needs --server NAME");
		return import_installed(c, server, argv[optind + 1], &err) ? cli_fail(&err) : 0;
	}
	if (server)
		return cli_usage("import", "--server is only for 'import installed'");
	k = import_kind_find(argv[optind]);
	if (!k) {
		import_kinds_names(kinds, sizeof(kinds));
		return cli_usage("import", "unknown kind '%s' (one of: %s, installed)",
				 argv[optind], kinds);
	}
	return import_file(c, k, argv[optind + 1], format, skip_bad);
}
