/* cli_export: `tern export ACCOUNT [--mailbox M] --format maildir|mbox DIR`.
 *
 * Writes an account's mailboxes (or one) as a Maildir++ tree (INBOX in
 * DIR, "A/B" in DIR/.A.B, with Dovecot's dovecot-uidlist and
 * dovecot-keywords, so `tern import --format dovecot` or Dovecot itself
 * keeps the UIDs) or as one mboxrd file per mailbox (DIR/A/B.mbox). The
 * formats themselves are mime/maildir.h and mime/mbox.h.
 *
 * Streams: the entries of a mailbox are read a page at a time, each
 * message in 64 KiB slices through the LF/quoting filter into its file,
 * so memory does not grow with the mailbox or the message. A Maildir
 * message is written in tmp/ and renamed into cur/ once complete, its
 * mtime set to the internal date. DIR must not exist or be empty: an
 * export never overwrites. */
#include "app/cli.h"
#include "app/cli_progress.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "mime/maildir.h"
#include "mime/mbox.h"
#include "store/accounts.h"
#include "store/entries.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"

_Static_assert((int)STORE_FLAG_SEEN == (int)MAIL_FLAG_SEEN &&
                   (int)STORE_FLAG_ANSWERED == (int)MAIL_FLAG_ANSWERED &&
                   (int)STORE_FLAG_FLAGGED == (int)MAIL_FLAG_FLAGGED &&
                   (int)STORE_FLAG_DELETED == (int)MAIL_FLAG_DELETED &&
                   (int)STORE_FLAG_DRAFT == (int)MAIL_FLAG_DRAFT,
               "mime/maildir.h flags are mail.h's");

static const char usage_export[] =
    "usage: tern export ACCOUNT [--mailbox M] --format maildir|mbox DIR\n\n"
    "Writes the account's mailboxes (or only M) into DIR, which must not exist\n"
    "or be empty:\n"
    "  maildir  a Maildir++ tree as Dovecot keeps it: INBOX in DIR, A/B in DIR/.A.B\n"
    "           (with --mailbox, M in DIR itself)\n"
    "           (modified UTF-7 names), flags in the file names, keywords in\n"
    "           dovecot-keywords, UIDs in dovecot-uidlist, the internal date as\n"
    "           the file's time; lines end in LF\n"
    "  mbox     one mboxrd file per mailbox: DIR/INBOX.mbox, DIR/A/B.mbox; flags in\n"
    "           Status:/X-Status:, keywords in X-Keywords:, the internal date in\n"
    "           the From line; lines end in LF\n"
    "`tern import` reads both back unchanged. Safe while `tern serve` runs.\n";

#define PAGE 256
#define SLICE 65536

struct mbox_info {
	int64_t id;
	char *name;
	uint32_t uidvalidity, uidnext;
	uint32_t messages;
};

struct entry_copy {
	uint32_t uid;
	int64_t message_id;
	int64_t size;
	uint32_t flags;
	int64_t internal_date;
	char *keywords;
};

struct export
{
	struct store *st;
	bool maildir;
	bool single; /* --mailbox: a Maildir at DIR itself */
	const char *dir;
	struct cli_progress prog;
	uint64_t done, bytes, skipped;
	char slice[SLICE];
	/* the current Maildir folder's keywords, letter = index */
	char *kw[MAILDIR_MAX_KEYWORDS];
	size_t nkw;
	bool kw_warned;
	/* the current output */
	int fd;
	const char *path;
};

static int collect_mailbox(void *ud, const struct store_mailbox *mb)
{
	struct mbox_info **v = ud;
	size_t n = 0;
	while ((*v)[n].name)
		n++;
	struct mbox_info *nv = realloc(*v, (n + 2) * sizeof **v);
	if (!nv)
		return -ENOMEM;
	*v = nv;
	nv[n] = (struct mbox_info){.id = mb->id,
	                           .name = strdup(mb->name),
	                           .uidvalidity = mb->uidvalidity,
	                           .uidnext = mb->uidnext};
	nv[n + 1].name = NULL;
	return nv[n].name ? 0 : -ENOMEM;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static int sink_fd(void *ud, const char *p, size_t n)
{
	struct export *x = ud;
	return write_all(x->fd, p, n);
}

/* mkdir -p */
static int make_dirs(const char *path)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp)
		return -ENAMETOOLONG;
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* The keyword letters of a space-separated list in the current folder,
 * giving new keywords the next letters. */
static uint32_t keyword_letters(struct export *x, const char *list, const char *mbname)
{
	uint32_t bits = 0;
	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		const char *st = p;
		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - st);
		if (!len)
			continue;
		size_t k = 0;
		while (k < x->nkw && !(strlen(x->kw[k]) == len && strncmp(x->kw[k], st, len) == 0))
			k++;
		if (k == x->nkw) {
			if (x->nkw == MAILDIR_MAX_KEYWORDS) {
				if (!x->kw_warned)
					fprintf(
					    stderr,
					    "tern export: %s: more than %d keywords; a Maildir "
					    "folder holds no more, the others are not exported\n",
					    mbname, MAILDIR_MAX_KEYWORDS);
				x->kw_warned = true;
				continue;
			}
			if (!(x->kw[x->nkw] = strndup(st, len)))
				continue;
			x->nkw++;
		}
		bits |= 1u << k;
	}
	return bits;
}

/* Copies the message's bytes through w. 1 done, 0 gone (expunged
 * meanwhile), negative on error. */
static int copy_message(struct export *x, const struct entry_copy *e, struct mail_lf_writer *w)
{
	struct store_rd *rd = store_reader(x->st);
	for (size_t off = 0;;) {
		ssize_t n = store_message_read(rd, e->message_id, off, x->slice, sizeof x->slice);
		if (n == -ENOENT)
			return 0;
		if (n < 0)
			return (int)n;
		if (n == 0)
			break;
		int r = mail_lf_writer_feed(w, x->slice, (size_t)n);
		if (r < 0)
			return r;
		off += (size_t)n;
	}
	return 1;
}

static int fail(const char *what, const char *path, int err)
{
	fprintf(stderr, "tern export: %s %s: %s\n", what, path, strerror(-err));
	return err;
}

static int export_maildir_message(struct export *x, const char *folder, const struct mbox_info *mb,
                                  const struct entry_copy *e, FILE *uidlist)
{
	char tmp[4200], final[4400], name[300];
	snprintf(tmp, sizeof tmp, "%s/tmp/%u.M%uP%u.tern", folder, (unsigned)e->internal_date,
	         e->uid, (unsigned)getpid());
	x->fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (x->fd < 0)
		return fail("cannot create", tmp, -errno);
	struct mail_lf_writer w;
	mail_lf_writer_init(&w, false, sink_fd, x);
	int r = copy_message(x, e, &w);
	if (r > 0 && (r = mail_lf_writer_finish(&w, false)) == 0)
		r = 1;
	if (r > 0 && fsync(x->fd) < 0)
		r = -errno;
	if (close(x->fd) < 0 && r >= 0)
		r = -errno;
	if (r <= 0) {
		unlink(tmp);
		if (r == 0)
			x->skipped++;
		return r < 0 ? fail("cannot write", tmp, r) : 0;
	}
	uint32_t letters = keyword_letters(x, e->keywords, mb->name);
	int nl =
	    maildir_name_format(name, sizeof name, e->internal_date, e->uid, (unsigned)getpid(),
	                        w.out, (uint64_t)e->size, e->flags, letters);
	if (nl < 0)
		return fail("cannot name", tmp, -ENAMETOOLONG);
	snprintf(final, sizeof final, "%s/cur/%s", folder, name);
	struct timeval tv[2] = {{.tv_sec = e->internal_date}, {.tv_sec = e->internal_date}};
	if (utimes(tmp, tv) < 0 || rename(tmp, final) < 0)
		return fail("cannot move into place", final, -errno);
	/* the uidlist keys a file by its name up to the info */
	fprintf(uidlist, "%u :%.*s\n", e->uid, (int)(strchr(name, ':') - name), name);
	x->bytes += w.out;
	return 1;
}

static int export_mbox_message(struct export *x, const struct entry_copy *e)
{
	struct buf h = {0};
	char from[128];
	if (mbox_from_line_format(from, sizeof from, e->internal_date) < 0)
		return -EINVAL;
	buf_adds(&h, from);
	buf_printf(&h, "Status: %s\n", e->flags & STORE_FLAG_SEEN ? "RO" : "O");
	if (e->flags &
	    (STORE_FLAG_ANSWERED | STORE_FLAG_FLAGGED | STORE_FLAG_DRAFT | STORE_FLAG_DELETED))
		buf_printf(&h, "X-Status: %s%s%s%s\n", e->flags & STORE_FLAG_ANSWERED ? "A" : "",
		           e->flags & STORE_FLAG_FLAGGED ? "F" : "",
		           e->flags & STORE_FLAG_DRAFT ? "T" : "",
		           e->flags & STORE_FLAG_DELETED ? "D" : "");
	if (e->keywords[0])
		buf_printf(&h, "X-Keywords: %s\n", e->keywords);
	if (!h.data) {
		buf_free(&h);
		return -ENOMEM;
	}
	/* The message's own bytes are checked for existence before the From
	 * line goes out: a message expunged meanwhile leaves no trace. */
	if (store_message_size(store_reader(x->st), e->message_id) == -ENOENT) {
		buf_free(&h);
		x->skipped++;
		return 0;
	}
	int r = write_all(x->fd, h.data, h.len);
	uint64_t hlen = h.len;
	buf_free(&h);
	if (r < 0)
		return fail("cannot write", x->path, r);
	struct mail_lf_writer w;
	mail_lf_writer_init(&w, true, sink_fd, x);
	r = copy_message(x, e, &w);
	if (r >= 0)
		r = mail_lf_writer_finish(&w, true);
	if (r >= 0)
		r = write_all(x->fd, "\n", 1);
	if (r < 0)
		return fail("cannot write", x->path, r);
	x->bytes += hlen + w.out + 1;
	return 1;
}

struct page {
	struct entry_copy e[PAGE];
	size_t n;
	uint32_t next;
};

static int collect_entry(void *ud, const struct store_entry *se)
{
	struct page *p = ud;
	struct entry_copy *e = &p->e[p->n];
	*e = (struct entry_copy){.uid = se->uid,
	                         .message_id = se->message_id,
	                         .size = se->size,
	                         .flags = se->flags,
	                         .internal_date = se->internal_date,
	                         .keywords = strdup(se->keywords ? se->keywords : "")};
	if (!e->keywords)
		return -ENOMEM;
	p->n++;
	p->next = se->uid;
	return 0;
}

static void page_clear(struct page *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->e[i].keywords);
	p->n = 0;
}

static int write_keywords(struct export *x, const char *folder)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/dovecot-keywords", folder);
	int r = 0;
	if (x->nkw) {
		FILE *f = fopen(path, "w");
		if (!f)
			return fail("cannot create", path, -errno);
		for (size_t k = 0; k < x->nkw; k++)
			fprintf(f, "%zu %s\n", k, x->kw[k]);
		if (fclose(f) != 0)
			r = fail("cannot write", path, -errno);
	}
	for (size_t k = 0; k < x->nkw; k++)
		free(x->kw[k]);
	x->nkw = 0;
	x->kw_warned = false;
	return r;
}

static int export_mailbox(struct export *x, const struct mbox_info *mb)
{
	char folder[4096], path[4200];
	FILE *uidlist = NULL;
	int r = 0;
	x->fd = -1;
	if (x->maildir) {
		if (strcmp(mb->name, "INBOX") == 0 || x->single) {
			snprintf(folder, sizeof folder, "%s", x->dir);
		} else {
			char enc[2048];
			if (maildir_folder_encode(mb->name, enc, sizeof enc) < 0) {
				fprintf(stderr,
				        "tern export: %s: no Maildir++ name for it; skipped\n",
				        mb->name);
				return 0;
			}
			snprintf(folder, sizeof folder, "%s/%s", x->dir, enc);
		}
		static const char *const subs[] = {"cur", "new", "tmp"};
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof path, "%s/%s", folder, subs[i]);
			if ((r = make_dirs(path)) < 0)
				return fail("cannot create", path, r);
		}
		if (strcmp(mb->name, "INBOX") != 0 && !x->single) {
			snprintf(path, sizeof path, "%s/maildirfolder", folder);
			int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (fd >= 0)
				close(fd);
		}
		snprintf(path, sizeof path, "%s/dovecot-uidlist", folder);
		if (!(uidlist = fopen(path, "w")))
			return fail("cannot create", path, -errno);
		fprintf(uidlist, "3 V%u N%u\n", mb->uidvalidity, mb->uidnext);
	} else {
		for (const char *p = mb->name; *p;) {
			const char *e = strchr(p, '/');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if ((l == 1 && p[0] == '.') || (l == 2 && p[0] == '.' && p[1] == '.') ||
			    l == 0) {
				fprintf(stderr, "tern export: %s: no file name for it; skipped\n",
				        mb->name);
				return 0;
			}
			p += l + (e ? 1 : 0);
		}
		snprintf(path, sizeof path, "%s/%s.mbox", x->dir, mb->name);
		char *slash = strrchr(path, '/');
		*slash = '\0';
		if ((r = make_dirs(path)) < 0)
			return fail("cannot create", path, r);
		*slash = '/';
		x->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (x->fd < 0)
			return fail("cannot create", path, -errno);
		x->path = path;
	}

	struct page *pg = calloc(1, sizeof *pg);
	if (!pg)
		r = -ENOMEM;
	struct store_rd *rd = store_reader(x->st);
	for (uint32_t lo = 1; r >= 0;) {
		pg->n = 0;
		bool begun = store_read_begin(rd);
		r = store_entries_range(rd, mb->id, lo, UINT32_MAX, PAGE, STORE_COLS_ENTRY,
		                        collect_entry, pg);
		for (size_t i = 0; r >= 0 && i < pg->n; i++) {
			r = x->maildir ? export_maildir_message(x, folder, mb, &pg->e[i], uidlist)
			               : export_mbox_message(x, &pg->e[i]);
			if (r > 0)
				x->done++;
			cli_progress_update(&x->prog, x->done, mb->name);
		}
		store_read_end(rd, begun);
		size_t got = pg->n;
		page_clear(pg);
		if (r < 0 || got < PAGE || pg->next == UINT32_MAX)
			break;
		lo = pg->next + 1;
	}
	free(pg);
	if (x->maildir) {
		if (fclose(uidlist) != 0 && r >= 0)
			r = fail("cannot write", "dovecot-uidlist in", -errno);
		int k = write_keywords(x, folder);
		if (r >= 0)
			r = k;
	} else {
		if (r >= 0 && fsync(x->fd) < 0)
			r = fail("cannot write", path, -errno);
		if (close(x->fd) < 0 && r >= 0)
			r = fail("cannot write", path, -errno);
	}
	return r < 0 ? r : 0;
}

/* DIR must be new or empty. 0, or -1 (message printed). */
static int prepare_dir(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d) {
		if (errno != ENOENT) {
			fprintf(stderr, "tern export: cannot open %s: %s\n", dir, strerror(errno));
			return -1;
		}
		int r = make_dirs(dir);
		if (r < 0) {
			fprintf(stderr, "tern export: cannot create %s: %s\n", dir, strerror(-r));
			return -1;
		}
		return 0;
	}
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			empty = false;
	closedir(d);
	if (!empty) {
		fprintf(stderr,
		        "tern export: %s is not empty; refusing to overwrite it (give a new "
		        "directory)\n",
		        dir);
		return -1;
	}
	return 0;
}

int cli_export(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage_export, stdout);
		return 0;
	}
	struct cli_transfer_args a;
	if (cli_transfer_args("export", usage_export, "DIR", argc, argv, &a))
		return 2;
	const char *account = a.account, *mailbox = a.mailbox, *format = a.format, *dir = a.place;
	if (strcmp(format, "maildir") != 0 && strcmp(format, "mbox") != 0) {
		fprintf(stderr, "tern export: unknown format '%s' (maildir or mbox)\n", format);
		return 2;
	}

	struct export *x = calloc(1, sizeof *x);
	if (!x)
		return 1;
	x->maildir = strcmp(format, "maildir") == 0;
	x->dir = dir;
	x->single = mailbox != NULL;
	char err[512];
	if (store_open(&x->st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		free(x);
		return 1;
	}
	int rc = 1;
	struct mbox_info *boxes = calloc(1, sizeof *boxes);
	struct store_account acc;
	struct store_rd *rd = store_reader(x->st);
	int found = store_account_lookup(rd, account, &acc);
	if (found <= 0) {
		fprintf(stderr, "tern export: no account %s (see tern user list)\n", account);
		goto out;
	}
	if (!boxes || store_mailbox_list(rd, acc.id, collect_mailbox, &boxes) < 0) {
		fprintf(stderr, "tern export: cannot list the mailboxes of %s\n", account);
		goto out;
	}
	uint64_t goal = 0;
	size_t nboxes = 0;
	for (struct mbox_info *b = boxes; b->name; b++) {
		if (mailbox && strcmp(b->name, mailbox) != 0 &&
		    !(strcasecmp(mailbox, "INBOX") == 0 && strcmp(b->name, "INBOX") == 0)) {
			b->id = 0;
			continue;
		}
		struct store_mailbox_counts c;
		if (store_mailbox_counts(rd, b->id, &c) >= 0)
			goal += c.messages;
		nboxes++;
	}
	if (mailbox && nboxes == 0) {
		fprintf(stderr, "tern export: %s has no mailbox %s\n", account, mailbox);
		goto out;
	}
	if (prepare_dir(dir) < 0)
		goto out;
	cli_progress_init(&x->prog, "export", "messages", goal);
	for (struct mbox_info *b = boxes; b->name; b++) {
		if (b->id && export_mailbox(x, b) < 0) {
			cli_progress_clear(&x->prog);
			fprintf(stderr, "tern export: stopped; %llu messages were written to %s\n",
			        (unsigned long long)x->done, dir);
			goto out;
		}
	}
	cli_progress_clear(&x->prog);
	printf("exported %llu messages (%llu bytes) from %zu mailboxes of %s to %s (%s)\n",
	       (unsigned long long)x->done, (unsigned long long)x->bytes, nboxes, account, dir,
	       format);
	if (x->skipped)
		printf("%llu messages were expunged while exporting and are not in it\n",
		       (unsigned long long)x->skipped);
	rc = 0;
out:
	for (struct mbox_info *b = boxes; b && b->name; b++)
		free(b->name);
	free(boxes);
	store_close(&x->st);
	free(x);
	return rc;
}
