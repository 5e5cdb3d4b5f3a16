/* cli_contacts: `tern contacts import|export|list` — an account's address
 * books (store/contacts.h) from and to .vcf files; the work is in
 * admin/contacts.c, this file reads the arguments and the file and prints.
 *
 * import is all or nothing for a file that does not read as vCards (exit
 * 1, "line N: why", nothing stored); cards the store cannot keep are
 * counted as refused, each with why, and the others are stored (exit 0).
 * Safe while `tern serve` runs: one store_exec() transaction. */
#include "app/cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/contacts.h"
#include "contacts/vcard.h"
#include "store/accounts.h"
#include "store/store.h"

static const char usage[] =
    "usage: tern [--config FILE] contacts COMMAND\n"
    "\n"
    "  import ACCOUNT FILE [--book NAME]\n"
    "                    add the vCards of FILE ('-': standard input) to the book\n"
    "                    (default: Contacts; made when missing); a card whose UID is\n"
    "                    in the book replaces it, one without a UID gets one\n"
    "  export ACCOUNT FILE|- [--book NAME]\n"
    "                    write the cards of the book (default: every book) as one .vcf\n"
    "  list ACCOUNT      the account's address books and their card counts\n";

static int cmd_import(struct store *st, int64_t account_id, const char *path, const char *book)
{
	char *data;
	size_t len;
	if (cli_read_input("contacts import", path, VCARD_MAX_INPUT, &data, &len) < 0)
		return 1;
	struct admin_contacts_import r;
	int rc = admin_contacts_import(st, account_id, book, data, len, &r);
	free(data);
	if (rc < 0) {
		if (rc == -EINVAL)
			fprintf(stderr, "tern contacts import: %s: %s; nothing imported\n", path,
			        r.err);
		else
			fprintf(stderr, "tern contacts import: failed (%s); nothing imported\n",
			        strerror(-rc));
		admin_contacts_import_free(&r);
		return 1;
	}
	if (r.book_created)
		printf("book %s created\n", book);
	for (size_t i = 0; i < r.refused; i++) {
		const struct admin_contacts_refusal *f = &r.refusals[i];
		printf("refused card %zu%s%s%s: %s\n", f->index, f->uid[0] ? " (UID " : "", f->uid,
		       f->uid[0] ? ")" : "", f->why);
	}
	printf("%zu imported, %zu replaced, %zu refused\n", r.imported, r.replaced, r.refused);
	admin_contacts_import_free(&r);
	return 0;
}

static int write_file(void *ud, const char *p, size_t n)
{
	return fwrite(p, 1, n, ud) == n ? 0 : -EIO;
}

static int cmd_export(struct store *st, int64_t account_id, const char *path, const char *book)
{
	struct store_rd *rd = store_reader(st);
	int64_t book_id = 0;
	if (book) {
		struct store_addressbook b;
		int rc = store_addressbook_get(rd, account_id, 0, book, NULL, &b);
		if (rc <= 0) {
			fprintf(stderr,
			        "tern contacts export: no book %s (see tern contacts list)\n",
			        book);
			return 1;
		}
		book_id = b.id;
	}
	bool to_stdout = strcmp(path, "-") == 0;
	FILE *f = to_stdout ? stdout : fopen(path, "wb");
	if (!f) {
		fprintf(stderr, "tern contacts export: cannot write %s: %s\n", path,
		        strerror(errno));
		return 1;
	}
	int rc = admin_contacts_export(rd, account_id, book_id, write_file, f);
	int closed = to_stdout ? fflush(f) : fclose(f);
	if (rc < 0 || closed != 0) {
		fprintf(stderr, "tern contacts export: failed (%s)\n",
		        strerror(rc < 0 ? -rc : errno));
		return 1;
	}
	fprintf(to_stdout ? stderr : stdout, "%d card%s exported\n", rc, rc == 1 ? "" : "s");
	return 0;
}

static int book_line(void *ud, const struct store_addressbook *b, size_t cards)
{
	(*(int *)ud)++;
	printf("%-6lld %-10s %-7zu %-8lld %s\n", (long long)b->id, b->role[0] ? b->role : "-",
	       cards, (long long)b->modseq, b->name);
	return 0;
}

int cli_contacts(const struct config *cfg, int argc, char **argv)
{
	if (!cfg || argc < 1) {
		fputs(usage, cfg ? stderr : stdout);
		return cfg ? 2 : 0;
	}
	const char *cmd = argv[0], *book = NULL;
	int want = strcmp(cmd, "list") == 0                                   ? 1
	           : strcmp(cmd, "import") == 0 || strcmp(cmd, "export") == 0 ? 2
	                                                                      : -1;
	if (want < 0) {
		fprintf(stderr, "tern contacts: unknown command '%s'\n\n%s", cmd, usage);
		return 2;
	}
	/* --book NAME anywhere after the command (not for list) */
	char *pos[3];
	int npos = 0;
	for (int i = 1; i < argc; i++) {
		if (want == 2 && strcmp(argv[i], "--book") == 0 && i + 1 < argc && !book) {
			book = argv[++i];
		} else if (npos < 3 &&
		           (strncmp(argv[i], "--", 2) != 0 || strcmp(argv[i], "-") == 0)) {
			pos[npos++] = argv[i];
		} else {
			fprintf(stderr, "tern contacts %s: unexpected '%s'\n\n%s", cmd, argv[i],
			        usage);
			return 2;
		}
	}
	if (npos != want) {
		fprintf(stderr, "tern contacts %s: wrong number of arguments\n\n%s", cmd, usage);
		return 2;
	}
	struct store *st;
	int64_t account_id;
	if (cli_open_account(cfg, "contacts", cmd, pos[0], &st, &account_id) < 0)
		return 1;
	int ret;
	if (strcmp(cmd, "import") == 0) {
		ret = cmd_import(st, account_id, pos[1], book);
	} else if (strcmp(cmd, "export") == 0) {
		ret = cmd_export(st, account_id, pos[1], book);
	} else {
		int n = 0;
		printf("%-6s %-10s %-7s %-8s %s\n", "ID", "ROLE", "CARDS", "MODSEQ", "NAME");
		ret = admin_contacts_books(store_reader(st), account_id, book_line, &n) < 0 ? 1 : 0;
		printf("%d book%s\n", n, n == 1 ? "" : "s");
	}
	store_close(&st);
	return ret;
}
