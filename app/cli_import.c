/* cli_import: `tern import ACCOUNT --format maildir|mbox|dovecot PATH
 * [--mailbox M]`.
 *
 * Reads a Maildir++ tree, one mbox file or a tree of *.mbox files (as
 * `tern export` writes them), or a Dovecot Maildir, and adds its messages
 * with their flags, keywords (Dovecot's dovecot-keywords letters, mbox
 * X-Keywords) and internal dates (file mtime, the mbox From line's date).
 * `dovecot` also keeps each folder's UIDVALIDITY, its UIDs (from
 * dovecot-uidlist) and UIDNEXT, so IMAP clients that knew the mailboxes
 * download nothing again; that needs empty (or new) mailboxes, checked
 * for every folder, with every uidlist parsed, before anything is written.
 *
 * Messages are stored in batches (store/import.h: one transaction per
 * BATCH messages or BATCH_BYTES), so memory holds one batch and the
 * message being read, whatever the input's size, and an error (a file
 * that vanished, an unreadable one, a malformed uidlist or mbox) names the
 * file, stops, and leaves the batches before it committed and whole. LF
 * line ends become CRLF (mime/mbox.h); a message whose lines already end
 * in CRLF is stored as it is. */
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
#include <unistd.h>

#include "lib/buf.h"
#include "lib/utf8.h"
#include "mime/maildir.h"
#include "mime/mbox.h"
#include "mime/msgid.h"
#include "store/accounts.h"
#include "store/import.h"
#include "store/mail.h"
#include "store/mailboxes.h"
#include "store/store.h"
#include "store/threads.h"

static const char usage_import[] =
    "usage: tern import ACCOUNT --format maildir|mbox|dovecot PATH [--mailbox M]\n\n"
    "Adds the messages of PATH to the account, creating mailboxes as needed, with\n"
    "their flags, keywords and internal dates:\n"
    "  maildir  PATH is a Maildir++ tree: its cur/ and new/ go to INBOX (or M),\n"
    "           PATH/.A.B to A/B (or M/A/B); keywords from dovecot-keywords\n"
    "  mbox     PATH is an mbox file (into M, or the mailbox named like the file\n"
    "           without .mbox) or a directory of *.mbox files (A/B.mbox to A/B)\n"
    "  dovecot  a Dovecot Maildir, as maildir, also keeping UIDVALIDITY, the UIDs\n"
    "           of dovecot-uidlist and UIDNEXT, so IMAP clients download nothing\n"
    "           again; every target mailbox must be empty or new\n"
    "Messages are stored in batches; an error stops the import, names the file,\n"
    "and leaves what was stored before it. Safe while `tern serve` runs.\n";

#define BATCH 256
#define BATCH_BYTES (32u << 20)
#define MESSAGE_MAX (BUF_MAX - 1)

enum format { FMT_MAILDIR, FMT_MBOX, FMT_DOVECOT };

struct source {
	char *path;    /* a Maildir folder or an mbox file */
	char *name;    /* the target mailbox */
	uint64_t size; /* files (Maildir) or bytes (mbox) */
};

struct pending {
	char *data;
	char *keywords;
	struct mime_thread_ids *ids;
	struct store_thread_keys keys;
};

struct import {
	struct store *st;
	int64_t account_id;
	enum format fmt;
	struct cli_progress prog;
	uint64_t progress, messages, bytes;
	/* the batch */
	int64_t mailbox_id;
	const char *mailbox;
	struct store_import_msg msgs[BATCH];
	struct pending pend[BATCH];
	size_t n, batch_bytes;
	/* the mbox message being read */
	struct buf cur;
	int64_t cur_time, file_time;
	const char *file;
	uint64_t msgno;
};

static int err_at(const char *path, const char *what)
{
	fprintf(stderr, "tern import: %s: %s\n", path, what);
	return -1;
}

static void pending_free(struct pending *p)
{
	free(p->data);
	free(p->keywords);
	free(p->ids);
	memset(p, 0, sizeof *p);
}

static int flush_batch(struct import *x, uint32_t uidnext)
{
	if (x->n == 0 && uidnext == 0)
		return 0;
	struct store_import_batch b = {.account_id = x->account_id,
	                               .mailbox_id = x->mailbox_id,
	                               .msgs = x->msgs,
	                               .n = x->n,
	                               .uidnext = uidnext};
	int r = store_exec(x->st, store_import_batch_job, &b);
	if (r < 0) {
		fprintf(stderr, "tern import: cannot store messages in %s: %s\n", x->mailbox,
		        r == -ERANGE ? "a UID is repeated or out of order" : strerror(-r));
	} else {
		x->messages += x->n;
		for (size_t i = 0; i < x->n; i++)
			x->bytes += x->msgs[i].len;
	}
	for (size_t i = 0; i < x->n; i++)
		pending_free(&x->pend[i]);
	x->n = 0;
	x->batch_bytes = 0;
	return r < 0 ? -1 : 0;
}

/* The valid, distinct keywords of a space-separated list (malloc'd). */
static char *clean_keywords(const char *list)
{
	struct buf b = {0};
	buf_adds(&b, "");
	for (const char *p = list ? list : ""; *p;) {
		while (*p == ' ')
			p++;
		const char *st = p;
		while (*p && *p != ' ')
			p++;
		size_t len = (size_t)(p - st);
		if (!mail_keyword_valid(st, len))
			continue;
		bool dup = false;
		for (const char *q = b.data; *q && !dup;) {
			const char *e = strchr(q, ' ');
			size_t ql = e ? (size_t)(e - q) : strlen(q);
			dup = ql == len && strncasecmp(q, st, len) == 0;
			q += ql + (e ? 1 : 0);
		}
		if (dup)
			continue;
		if (b.len)
			buf_addc(&b, ' ');
		buf_add(&b, st, len);
	}
	return buf_take(&b);
}

/* Takes data (malloc'd). */
static int add_message(struct import *x, char *data, size_t len, int64_t idate, unsigned flags,
                       const char *keywords, uint32_t uid)
{
	struct pending *p = &x->pend[x->n];
	p->data = data;
	p->keywords = clean_keywords(keywords);
	p->ids = malloc(sizeof *p->ids);
	if (!p->keywords || !p->ids) {
		pending_free(p);
		fprintf(stderr, "tern import: out of memory\n");
		return -1;
	}
	mime_thread_ids_read(data, len, p->ids);
	p->keys = (struct store_thread_keys){p->ids->message_id, p->ids->parents, p->ids->nparents};
	x->msgs[x->n++] = (struct store_import_msg){.data = data,
	                                            .len = len,
	                                            .internal_date = idate,
	                                            .flags = flags,
	                                            .keywords = p->keywords,
	                                            .uid = uid,
	                                            .thread = &p->keys};
	x->batch_bytes += len;
	if (x->n == BATCH || x->batch_bytes >= BATCH_BYTES)
		return flush_batch(x, 0);
	return 0;
}

static int open_mailbox(struct import *x, const char *name, bool keep, uint32_t uidvalidity)
{
	struct store_import_mailbox q = {.account_id = x->account_id,
	                                 .name = name,
	                                 .keep_uids = keep,
	                                 .uidvalidity = uidvalidity,
	                                 .uidnext = 1};
	int r = store_exec(x->st, store_import_mailbox_job, &q);
	if (r == -ENOTEMPTY)
		fprintf(stderr,
		        "tern import: mailbox %s is not empty; a Dovecot import keeps UIDs and "
		        "needs an empty or new mailbox (--format maildir adds to it instead)\n",
		        name);
	else if (r == -EADDRINUSE)
		fprintf(stderr,
		        "tern import: UIDVALIDITY %u of %s is another mailbox's in this store; "
		        "import with --format maildir (clients then download it again)\n",
		        uidvalidity, name);
	else if (r < 0)
		fprintf(stderr, "tern import: cannot create mailbox %s: %s\n", name, strerror(-r));
	if (r < 0)
		return -1;
	x->mailbox_id = q.mailbox_id;
	x->mailbox = name;
	return 0;
}

/* ---- Maildir ---- */

struct mfile {
	char *name; /* "cur/..." or "new/..." */
	size_t base_off, base_len;
	int64_t time;
	uint32_t uid;
};

static int cmp_time(const void *a, const void *b)
{
	const struct mfile *p = a, *q = b;
	if (p->time != q->time)
		return p->time < q->time ? -1 : 1;
	return strcmp(p->name, q->name);
}

static int cmp_uid(const void *a, const void *b)
{
	const struct mfile *p = a, *q = b;
	return p->uid < q->uid ? -1 : p->uid > q->uid;
}

static void mfiles_free(struct mfile *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(f[i].name);
	free(f);
}

/* The message files of cur/ and new/. */
static int list_files(const char *folder, struct mfile **out, size_t *nout)
{
	struct mfile *f = NULL;
	size_t n = 0, cap = 0;
	static const char *const subs[] = {"cur", "new"};
	for (int s = 0; s < 2; s++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", folder, subs[s]);
		DIR *d = opendir(path);
		if (!d) {
			if (errno == ENOENT)
				continue;
			fprintf(stderr, "tern import: cannot read %s: %s\n", path, strerror(errno));
			mfiles_free(f, n);
			return -1;
		}
		struct dirent *de;
		while ((de = readdir(d))) {
			struct maildir_name nm;
			if (maildir_name_parse(de->d_name, strlen(de->d_name), &nm) < 0)
				continue;
			if (n == cap) {
				cap = cap ? cap * 2 : 256;
				struct mfile *nf = realloc(f, cap * sizeof *f);
				if (!nf) {
					closedir(d);
					mfiles_free(f, n);
					return -1;
				}
				f = nf;
			}
			size_t nl = strlen(de->d_name);
			char *name = malloc(nl + 5);
			if (!name) {
				closedir(d);
				mfiles_free(f, n);
				return -1;
			}
			snprintf(name, nl + 5, "%s/%s", subs[s], de->d_name);
			f[n++] = (struct mfile){
			    .name = name, .base_off = 4, .base_len = nm.base_len, .time = nm.time};
		}
		closedir(d);
	}
	*out = f;
	*nout = n;
	return 0;
}

struct uid_entry {
	char *base;
	uint32_t uid;
};

static int cmp_base(const void *a, const void *b)
{
	return strcmp(((const struct uid_entry *)a)->base, ((const struct uid_entry *)b)->base);
}

static void uids_free(struct uid_entry *u, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(u[i].base);
	free(u);
}

/* Parses folder/dovecot-uidlist: header, and the entries sorted by base
 * name. 0, or -1 with the message printed (naming the file and line). */
static int read_uidlist(const char *folder, struct uidlist_header *h, struct uid_entry **out,
                        size_t *nout, bool quiet)
{
	char path[4200];
	snprintf(path, sizeof path, "%s/dovecot-uidlist", folder);
	FILE *f = fopen(path, "r");
	if (!f && quiet)
		return -1;
	if (!f) {
		fprintf(stderr, "tern import: cannot read %s: %s%s\n", path, strerror(errno),
		        errno == ENOENT ? " (not a Dovecot Maildir? use --format maildir)" : "");
		return -1;
	}
	char *line = NULL;
	size_t lcap = 0, n = 0, cap = 0, lineno = 0;
	ssize_t len;
	struct uid_entry *u = NULL;
	int rc = 0;
	uint32_t last = 0;
	FILE *err = quiet ? fopen("/dev/null", "w") : stderr;
	while (err && (len = getline(&line, &lcap, f)) >= 0) {
		lineno++;
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		if (lineno == 1) {
			if (uidlist_header_parse(line, (size_t)len, h) < 0) {
				fprintf(err,
				        "tern import: %s: line 1: not a dovecot-uidlist header "
				        "(version 1 or 3 with V and N)\n",
				        path);
				rc = -1;
				break;
			}
			continue;
		}
		struct uidlist_entry e;
		if (uidlist_line_parse(h->version, line, (size_t)len, &e) < 0 || e.uid <= last) {
			fprintf(err, "tern import: %s: line %zu: %s\n", path, lineno,
			        e.uid && e.uid <= last
			            ? "UID not above the line before's"
			            : "malformed (expected \"<uid> ... :<file name>\")");
			rc = -1;
			break;
		}
		last = e.uid;
		if (n == cap) {
			cap = cap ? cap * 2 : 256;
			struct uid_entry *nu = realloc(u, cap * sizeof *u);
			if (!nu) {
				rc = -1;
				break;
			}
			u = nu;
		}
		if (!(u[n].base = strndup(e.base, e.base_len))) {
			rc = -1;
			break;
		}
		u[n++].uid = e.uid;
	}
	if (rc == 0 && lineno == 0) {
		fprintf(err, "tern import: %s: empty\n", path);
		rc = -1;
	}
	if (rc == 0 && ferror(f)) {
		fprintf(err, "tern import: cannot read %s: %s\n", path, strerror(errno));
		rc = -1;
	}
	free(line);
	fclose(f);
	if (!err)
		rc = -1;
	else if (quiet)
		fclose(err);
	if (rc < 0) {
		uids_free(u, n);
		return -1;
	}
	if (n)
		qsort(u, n, sizeof *u, cmp_base);
	*out = u;
	*nout = n;
	return 0;
}

/* folder/dovecot-keywords, when there is one: names[letter] (malloc'd). */
static void read_keywords(const char *folder, char *names[MAILDIR_MAX_KEYWORDS])
{
	char path[4200];
	snprintf(path, sizeof path, "%s/dovecot-keywords", folder);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, f)) >= 0) {
		if (len && line[len - 1] == '\n')
			line[--len] = '\0';
		unsigned idx;
		const char *name;
		size_t nl;
		if (dovecot_keywords_line_parse(line, (size_t)len, &idx, &name, &nl) == 0 &&
		    !names[idx])
			names[idx] = strndup(name, nl);
	}
	free(line);
	fclose(f);
}

/* One message file, whole, with its LF line ends made CRLF. */
static char *read_message(const char *path, size_t *len, int64_t *mtime)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			err_at(path,
			       "vanished while importing (was it delivered or moved meanwhile?)");
		else
			fprintf(stderr, "tern import: cannot read %s: %s\n", path, strerror(errno));
		return NULL;
	}
	struct stat sb;
	const char *problem = fstat(fd, &sb) < 0         ? "cannot be read"
	                      : !S_ISREG(sb.st_mode)     ? "not a regular file"
	                      : sb.st_size > MESSAGE_MAX ? "too big to import"
	                                                 : NULL;
	if (problem) {
		err_at(path, problem);
		close(fd);
		return NULL;
	}
	*mtime = sb.st_mtime;
	struct buf b = {0};
	char chunk[65536];
	char prev = 0;
	bool ok = buf_add(&b, "", 0) == 0;
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			fprintf(stderr, "tern import: cannot read %s: %s\n", path, strerror(errno));
			ok = false;
			break;
		}
		if (n == 0)
			break;
		size_t st = 0;
		for (size_t i = 0; ok && i < (size_t)n; i++) {
			if (chunk[i] == '\n' && (i ? chunk[i - 1] : prev) != '\r') {
				ok = buf_add(&b, chunk + st, i - st) == 0 &&
				     buf_add(&b, "\r\n", 2) == 0;
				st = i + 1;
			}
		}
		ok = ok && buf_add(&b, chunk + st, (size_t)n - st) == 0;
		prev = chunk[n - 1];
		if (!ok) {
			err_at(path, "too big to import");
			break;
		}
	}
	close(fd);
	if (!ok) {
		buf_free(&b);
		return NULL;
	}
	*len = b.len;
	return b.data;
}

static int import_maildir_folder(struct import *x, const struct source *src)
{
	bool dovecot = x->fmt == FMT_DOVECOT;
	struct uidlist_header h = {0};
	struct uid_entry *uids = NULL;
	size_t nuids = 0, nfiles = 0;
	struct mfile *files = NULL;
	char *kw[MAILDIR_MAX_KEYWORDS] = {0};
	int rc = -1;
	/* Maildir: the order of a uidlist when there is a good one, not its
	 * UIDs; else the order of the times in the names. */
	if (read_uidlist(src->path, &h, &uids, &nuids, !dovecot) < 0) {
		if (dovecot)
			return -1;
		h = (struct uidlist_header){0};
		uids = NULL;
		nuids = 0;
	}
	if (list_files(src->path, &files, &nfiles) < 0)
		goto out;
	read_keywords(src->path, kw);
	if (nfiles)
		qsort(files, nfiles, sizeof *files, cmp_time);
	uint32_t next = h.nextuid;
	if (nuids) {
		for (size_t i = 0; i < nuids; i++)
			if (uids[i].uid >= next)
				next = uids[i].uid + 1;
		for (size_t i = 0; i < nfiles; i++) {
			char base[1024];
			snprintf(base, sizeof base, "%.*s", (int)files[i].base_len,
			         files[i].name + files[i].base_off);
			struct uid_entry key = {.base = base}, *hit = NULL;
			if (nuids)
				hit = bsearch(&key, uids, nuids, sizeof *uids, cmp_base);
			/* a file Dovecot has not seen yet gets the next UID */
			files[i].uid = hit ? hit->uid : next++;
		}
		if (nfiles)
			qsort(files, nfiles, sizeof *files, cmp_uid);
		for (size_t i = 1; i < nfiles; i++) {
			if (dovecot && files[i].uid == files[i - 1].uid) {
				fprintf(stderr,
				        "tern import: %s/dovecot-uidlist: two files for UID %u "
				        "(%s, %s)\n",
				        src->path, files[i].uid, files[i - 1].name, files[i].name);
				goto out;
			}
		}
	}
	if (open_mailbox(x, src->name, dovecot, h.uidvalidity) < 0)
		goto out;
	for (size_t i = 0; i < nfiles; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/%s", src->path, files[i].name);
		size_t len;
		int64_t mtime;
		char *data = read_message(path, &len, &mtime);
		if (!data)
			goto out;
		struct maildir_name nm;
		maildir_name_parse(files[i].name + 4, strlen(files[i].name + 4), &nm);
		struct buf k = {0};
		buf_adds(&k, "");
		for (unsigned l = 0; l < MAILDIR_MAX_KEYWORDS; l++) {
			if (!(nm.keywords & (1u << l)) || !kw[l])
				continue;
			if (k.len)
				buf_addc(&k, ' ');
			buf_adds(&k, kw[l]);
		}
		int r = add_message(x, data, len, mtime, nm.flags, k.data ? k.data : "",
		                    dovecot ? files[i].uid : 0);
		buf_free(&k);
		if (r < 0)
			goto out;
		x->progress++;
		cli_progress_update(&x->prog, x->progress, src->name);
	}
	rc = flush_batch(x, dovecot ? next : 0);
out:
	if (rc < 0)
		flush_batch(x, 0); /* what was read before the error is kept */
	for (unsigned l = 0; l < MAILDIR_MAX_KEYWORDS; l++)
		free(kw[l]);
	mfiles_free(files, nfiles);
	uids_free(uids, nuids);
	return rc;
}

/* ---- mbox ---- */

static int mb_start(void *ud, int64_t time)
{
	struct import *x = ud;
	buf_reset(&x->cur);
	x->cur_time = time;
	x->msgno++;
	return 0;
}

static int mb_data(void *ud, const char *p, size_t n)
{
	struct import *x = ud;
	if (x->cur.len + n > MESSAGE_MAX || buf_add(&x->cur, p, n) < 0)
		return -EFBIG;
	return 0;
}

static int mb_end(void *ud, unsigned flags, const char *keywords)
{
	struct import *x = ud;
	size_t len = x->cur.len;
	char *data = buf_take(&x->cur);
	if (!data)
		return -ENOMEM;
	return add_message(x, data, len, x->cur_time > 0 ? x->cur_time : x->file_time, flags,
	                   keywords, 0) < 0
	           ? -ECANCELED
	           : 0;
}

static const struct mbox_reader_ops mbox_ops = {mb_start, mb_data, mb_end};

static int import_mbox_file(struct import *x, const struct source *src)
{
	FILE *f = fopen(src->path, "r");
	if (!f) {
		fprintf(stderr, "tern import: cannot read %s: %s\n", src->path, strerror(errno));
		return -1;
	}
	struct stat sb;
	x->file_time = fstat(fileno(f), &sb) == 0 ? sb.st_mtime : 0;
	x->file = src->path;
	x->msgno = 0;
	if (open_mailbox(x, src->name, false, 0) < 0) {
		fclose(f);
		return -1;
	}
	struct mbox_reader rd;
	mbox_reader_init(&rd, &mbox_ops, x);
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int r = 0;
	uint64_t base = x->progress;
	while (r == 0 && (len = getline(&line, &cap, f)) >= 0) {
		r = mbox_reader_line(&rd, line, (size_t)len);
		x->progress = base + (uint64_t)ftello(f);
		cli_progress_update(&x->prog, x->progress, src->name);
	}
	if (r == 0 && ferror(f)) {
		fprintf(stderr, "tern import: cannot read %s: %s\n", src->path, strerror(errno));
		r = -EIO;
	} else if (r == 0) {
		r = mbox_reader_finish(&rd);
	}
	free(line);
	fclose(f);
	if (r == -EINVAL)
		err_at(src->path, "not an mbox file (it does not start with a \"From \" line)");
	else if (r == -EFBIG)
		fprintf(stderr, "tern import: %s: message %llu is too big to import\n", src->path,
		        (unsigned long long)x->msgno);
	else if (r < 0 && r != -ECANCELED && r != -EIO)
		fprintf(stderr, "tern import: %s: %s\n", src->path, strerror(-r));
	buf_free(&x->cur);
	int fr = flush_batch(x, 0);
	return r < 0 || fr < 0 ? -1 : 0;
}

/* ---- what PATH holds ---- */

struct sources {
	struct source *v;
	size_t n;
};

static int add_source(struct sources *s, const char *path, const char *name, uint64_t size)
{
	struct source *nv = realloc(s->v, (s->n + 1) * sizeof *nv);
	if (!nv)
		return -1;
	s->v = nv;
	nv[s->n] = (struct source){strdup(path), strdup(name), size};
	if (!nv[s->n].path || !nv[s->n].name)
		return -1;
	s->n++;
	return 0;
}

static void sources_free(struct sources *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].path);
		free(s->v[i].name);
	}
	free(s->v);
}

static bool is_dir(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static bool is_maildir(const char *path)
{
	char p[4200];
	snprintf(p, sizeof p, "%s/cur", path);
	if (is_dir(p))
		return true;
	snprintf(p, sizeof p, "%s/new", path);
	return is_dir(p);
}

static uint64_t count_files(const char *folder)
{
	struct mfile *f;
	size_t n;
	if (list_files(folder, &f, &n) < 0)
		return 0;
	mfiles_free(f, n);
	return n;
}

static void target(char *out, size_t cap, const char *prefix, const char *name)
{
	if (prefix && *name)
		snprintf(out, cap, "%s/%s", prefix, name);
	else
		snprintf(out, cap, "%s", *name ? name : prefix ? prefix : "INBOX");
}

static bool good_name(const char *name)
{
	if (!*name || !utf8_valid(name, strlen(name)))
		return false;
	for (const char *p = name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f ||
		    (*p == '/' && (p == name || p[1] == '/' || p[1] == '\0')))
			return false;
	return true;
}

static int find_maildirs(const char *root, const char *prefix, struct sources *s)
{
	if (!is_dir(root))
		return err_at(root, "not a directory (a Maildir is one)");
	char name[2048];
	if (is_maildir(root)) {
		target(name, sizeof name, prefix, "");
		if (add_source(s, root, name, count_files(root)) < 0)
			return -1;
	}
	DIR *d = opendir(root);
	if (!d) {
		fprintf(stderr, "tern import: cannot read %s: %s\n", root, strerror(errno));
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] != '.' || strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		char path[4200], dec[1024];
		snprintf(path, sizeof path, "%s/%s", root, de->d_name);
		if (!is_dir(path) || !is_maildir(path))
			continue;
		if (maildir_folder_decode(de->d_name, strlen(de->d_name), dec, sizeof dec) < 0) {
			rc = err_at(path, "not a Maildir++ folder name (modified UTF-7 levels "
			                  "after a '.')");
			break;
		}
		target(name, sizeof name, prefix, dec);
		if (!good_name(name)) {
			rc = err_at(path, "its name is not a mailbox name");
			break;
		}
		rc = add_source(s, path, name, count_files(path));
	}
	closedir(d);
	if (rc == 0 && s->n == 0)
		return err_at(root, "not a Maildir (no cur/ or new/ in it or its .folders)");
	return rc;
}

static int find_mboxes(const char *root, const char *rel, const char *prefix, struct sources *s)
{
	char path[4200];
	snprintf(path, sizeof path, "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	if (!d) {
		fprintf(stderr, "tern import: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char sub[2048], full[4200];
		snprintf(sub, sizeof sub, "%s%s%s", rel, *rel ? "/" : "", de->d_name);
		snprintf(full, sizeof full, "%s/%s", root, sub);
		struct stat sb;
		if (lstat(full, &sb) < 0)
			continue; /* symbolic links are not followed: no loops */
		if (S_ISDIR(sb.st_mode)) {
			rc = find_mboxes(root, sub, prefix, s);
			continue;
		}
		size_t l = strlen(sub);
		if (!S_ISREG(sb.st_mode) || l <= 5 || strcmp(sub + l - 5, ".mbox") != 0)
			continue;
		sub[l - 5] = '\0';
		char name[2048];
		target(name, sizeof name, prefix, sub);
		if (!good_name(name)) {
			rc = err_at(full, "its name is not a mailbox name");
			break;
		}
		rc = add_source(s, full, name, (uint64_t)sb.st_size);
	}
	closedir(d);
	return rc;
}

static int find_sources(enum format fmt, const char *path, const char *mailbox, struct sources *s)
{
	if (fmt != FMT_MBOX)
		return find_maildirs(path, mailbox, s);
	struct stat sb;
	if (stat(path, &sb) < 0) {
		fprintf(stderr, "tern import: cannot read %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(sb.st_mode)) {
		if (find_mboxes(path, "", mailbox, s) < 0)
			return -1;
		if (s->n == 0)
			return err_at(path, "no *.mbox file in it");
		return 0;
	}
	char name[2048];
	if (mailbox) {
		snprintf(name, sizeof name, "%s", mailbox);
	} else {
		const char *b = strrchr(path, '/');
		snprintf(name, sizeof name, "%s", b ? b + 1 : path);
		size_t l = strlen(name);
		if (l > 5 && strcmp(name + l - 5, ".mbox") == 0)
			name[l - 5] = '\0';
	}
	if (!good_name(name))
		return err_at(path,
		              "no mailbox name from the file's name; give one with --mailbox");
	return add_source(s, path, name, (uint64_t)sb.st_size);
}

static int cmp_source(const void *a, const void *b)
{
	return strcmp(((const struct source *)a)->name, ((const struct source *)b)->name);
}

/* dovecot: every target empty or new, every uidlist readable, before
 * anything is written. */
static int precheck_dovecot(struct import *x, const struct sources *s)
{
	struct store_rd *rd = store_reader(x->st);
	int rc = 0;
	uint32_t *seen = calloc(s->n ? s->n : 1, sizeof *seen);
	if (!seen)
		return -1;
	for (size_t i = 0; i < s->n; i++) {
		int64_t id;
		struct store_mailbox_counts c;
		if (store_mailbox_find(rd, x->account_id, s->v[i].name, &id) == 1 &&
		    store_mailbox_counts(rd, id, &c) >= 0 && c.messages > 0) {
			fprintf(
			    stderr,
			    "tern import: mailbox %s already has %u messages; a Dovecot import "
			    "keeps UIDs and needs an empty or new mailbox (--format maildir adds "
			    "to it instead); nothing was imported\n",
			    s->v[i].name, c.messages);
			rc = -1;
			continue;
		}
		struct uidlist_header h;
		struct uid_entry *u;
		size_t n;
		if (read_uidlist(s->v[i].path, &h, &u, &n, false) < 0) {
			rc = -1;
			continue;
		}
		uids_free(u, n);
		int64_t mine = 0;
		if (store_mailbox_find(rd, x->account_id, s->v[i].name, &mine) != 1)
			mine = 0;
		if (store_uidvalidity_taken(rd, h.uidvalidity, mine) == 1) {
			fprintf(
			    stderr,
			    "tern import: %s: UIDVALIDITY %u is another mailbox's in this store; "
			    "import with --format maildir (clients then download it again)\n",
			    s->v[i].path, h.uidvalidity);
			rc = -1;
		}
		for (size_t j = 0; j < i; j++) {
			if (seen[j] == h.uidvalidity) {
				fprintf(stderr,
				        "tern import: %s and %s have the same UIDVALIDITY\n",
				        s->v[j].path, s->v[i].path);
				rc = -1;
			}
		}
		seen[i] = h.uidvalidity;
	}
	free(seen);
	if (rc < 0 && s->n > 1)
		fprintf(stderr, "tern import: nothing was imported\n");
	return rc;
}

int cli_import(const struct config *cfg, int argc, char **argv)
{
	if (!cfg) {
		fputs(usage_import, stdout);
		return 0;
	}
	struct cli_transfer_args a;
	if (cli_transfer_args("import", usage_import, "PATH", argc, argv, &a))
		return 2;
	const char *account = a.account, *mailbox = a.mailbox, *format = a.format, *path = a.place;
	enum format fmt;
	if (strcmp(format, "maildir") == 0)
		fmt = FMT_MAILDIR;
	else if (strcmp(format, "mbox") == 0)
		fmt = FMT_MBOX;
	else if (strcmp(format, "dovecot") == 0)
		fmt = FMT_DOVECOT;
	else {
		fprintf(stderr, "tern import: unknown format '%s' (maildir, mbox or dovecot)\n",
		        format);
		return 2;
	}
	if (mailbox && !good_name(mailbox)) {
		fprintf(stderr, "tern import: '%s' is not a mailbox name\n", mailbox);
		return 2;
	}

	struct import *x = calloc(1, sizeof *x);
	if (!x)
		return 1;
	x->fmt = fmt;
	char err[512];
	if (store_open(&x->st, cfg->data_dir, NULL, err, sizeof err) < 0) {
		fprintf(stderr, "tern: cannot open the store in %s: %s\n", cfg->data_dir, err);
		free(x);
		return 1;
	}
	struct sources s = {0};
	int rc = 1;
	struct store_account acc;
	if (store_account_lookup(store_reader(x->st), account, &acc) <= 0) {
		fprintf(stderr, "tern import: no account %s (see tern user list)\n", account);
		goto out;
	}
	x->account_id = acc.id;
	if (find_sources(fmt, path, mailbox, &s) < 0)
		goto out;
	if (s.n)
		qsort(s.v, s.n, sizeof *s.v, cmp_source);
	for (size_t i = 1; i < s.n; i++) {
		if (strcmp(s.v[i].name, s.v[i - 1].name) == 0 ||
		    (strcasecmp(s.v[i].name, "INBOX") == 0 &&
		     strcasecmp(s.v[i - 1].name, "INBOX") == 0)) {
			fprintf(stderr, "tern import: %s and %s both go to mailbox %s\n",
			        s.v[i - 1].path, s.v[i].path, s.v[i].name);
			goto out;
		}
	}
	if (fmt == FMT_DOVECOT && precheck_dovecot(x, &s) < 0)
		goto out;
	uint64_t goal = 0;
	for (size_t i = 0; i < s.n; i++)
		goal += s.v[i].size;
	cli_progress_init(&x->prog, "import", fmt == FMT_MBOX ? "bytes" : "messages", goal);
	size_t done = 0;
	for (; done < s.n; done++) {
		int r = fmt == FMT_MBOX ? import_mbox_file(x, &s.v[done])
		                        : import_maildir_folder(x, &s.v[done]);
		if (r < 0)
			break;
	}
	cli_progress_clear(&x->prog);
	if (done < s.n) {
		fprintf(stderr,
		        "tern import: stopped; %llu messages were imported before the error and "
		        "stay (in %zu complete mailboxes and the one that failed)\n",
		        (unsigned long long)x->messages, done);
		goto out;
	}
	printf("imported %llu messages (%llu bytes) into %zu mailboxes of %s from %s (%s)\n",
	       (unsigned long long)x->messages, (unsigned long long)x->bytes, s.n, account, path,
	       format);
	rc = 0;
out:
	sources_free(&s);
	store_close(&x->st);
	free(x);
	return rc;
}
