/* sieve: the Sieve mail filtering language (RFC 5228) as a pure engine.
 *
 * A script is compiled once (when a user uploads it) into an immutable
 * value, then run once per delivered message and recipient. The engine does
 * no I/O at all: it knows nothing of the store, the loop or SMTP. The
 * caller hands it the message's header section, the envelope and a few
 * callbacks, and gets back the list of actions to carry out. So a compiled
 * script can be run many times, from any thread, at the same time.
 *
 * Extensions: fileinto, envelope, reject and ereject (RFC 5429), vacation
 * (RFC 5230), imap4flags (RFC 5232), variables (RFC 5229), copy (RFC
 * 3894), mailbox (RFC 5490: fileinto :create, mailboxexists), and the
 * comparators i;octet and i;ascii-casemap.
 *
 * A script is untrusted input: every size the engine handles is bounded
 * (struct sieve_limits). Exceeding a bound while compiling is a compile
 * error with a position; while running, the run stops and the result is
 * "failed" with the reason: the caller then files the message with an
 * implicit keep (RFC 5228 §2.10.6) and logs the reason.
 *
 * Vacation (RFC 5230): the engine decides whether to respond from what
 * the message alone tells (no null or own sender, no mailing list, bulk
 * or auto-submitted mail, one of the user's addresses among the
 * recipients) and hands back the parameters with the handle defaulted
 * (§4.2). Remembering "already answered this sender within :days" is the
 * caller's: it keeps (handle, sender) pairs with a time and drops the
 * response when the pair is younger than the action's days. */
#ifndef TERN_SIEVE_H
#define TERN_SIEVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The bounds on a script and on one run; sieve_limits_default() fills the
 * values below. */
struct sieve_limits {
	size_t max_script_bytes;  /* 64 KiB */
	unsigned max_depth;       /* nesting of blocks and tests: 15 */
	unsigned max_commands;    /* commands and tests in a script: 4096 */
	unsigned max_string_list; /* strings in one string list: 256 */
	unsigned max_variables;   /* distinct variables (RFC 5229 §6: >= 128): 128 */
	size_t max_variable_len;  /* a variable's value, truncated beyond (RFC 5229 §6: >= 4000):
	                             4096 */
	uint64_t max_steps;       /* commands, tests and comparison work per run: 2000000 */
	unsigned max_actions;     /* actions per run: 32 */
	unsigned max_redirects;   /* redirects per run: 4 */
};
void sieve_limits_default(struct sieve_limits *l);

struct sieve_script;

/* Compile src[0..len) under lim (NULL: the defaults). 0 and *out, or
 * -EINVAL with the first error in err as "LINE:COL: message" (what a
 * ManageSieve PUTSCRIPT answers), or -ENOMEM. Lines and columns count
 * from 1, columns in bytes. */
int sieve_compile(const char *src, size_t len, const struct sieve_limits *lim,
                  struct sieve_script **out, char *err, size_t errlen);
void sieve_script_free(struct sieve_script **s);

/* Whether src[0..len) may be stored as a user's script (check.c): 0, or
 * -ENODATA (empty), -EFBIG (over the default max_script_bytes), -EINVAL
 * (does not compile) or -ENOMEM, each with a message in err; for -EINVAL
 * the compiler's "LINE:COL: message". What every place that stores a
 * script asks first (ManageSieve, JMAP, the CLI). */
int sieve_check(const char *src, size_t len, char *err, size_t errlen);

/* The extensions a script may require, space-separated, in the form
 * ManageSieve's SIEVE capability (RFC 5804 §1.7) and JMAP's
 * sieveExtensions want: "fileinto envelope ...". */
const char *sieve_extensions(void);

/* What a run sees of the message being delivered. */
struct sieve_message {
	/* The raw header section (CRLF or LF lines); the whole message will
	 * do, reading stops at the blank line. Only read during sieve_run. */
	const char *header;
	size_t header_len;
	uint64_t size;             /* the whole message's size, for the size test */
	const char *envelope_from; /* MAIL FROM's address, "" for the null sender */
	const char *envelope_to;   /* the RCPT TO address this run delivers to */
	/* The user's own addresses (vacation: never answer them, and answer
	 * only mail that names one of them, or one of :addresses); may be
	 * empty, then envelope_to alone counts. */
	const char *const *own_addresses;
	size_t n_own_addresses;
	/* Whether the user has a mailbox of that name (mailboxexists), called
	 * on the thread that runs sieve_run; NULL: none exists. */
	bool (*mailbox_exists)(void *ud, const char *name);
	void *ud;
};

enum sieve_action_kind {
	SIEVE_KEEP,     /* file into INBOX; `flags` */
	SIEVE_FILEINTO, /* `mailbox`, `create`, `copy`, `flags` */
	SIEVE_REDIRECT, /* `address`, `copy` */
	SIEVE_DISCARD,
	SIEVE_REJECT,   /* `reason`: refuse, with a DSN when not at SMTP time */
	SIEVE_EREJECT,  /* `reason`: refuse at SMTP time */
	SIEVE_VACATION, /* `reason` and the vacation_* fields */
};

/* One action; the strings are NUL-terminated and owned by the result. */
struct sieve_action {
	enum sieve_action_kind kind;
	const char *mailbox;
	bool create;
	bool copy;
	bool implicit;            /* SIEVE_KEEP: the implicit keep, not a keep command */
	const char *const *flags; /* keep/fileinto: IMAP flags to set, no duplicates */
	size_t n_flags;
	const char *address;
	const char *reason;
	/* vacation: the response goes to vacation_to (the envelope sender),
	 * from vacation_from (NULL: the caller picks the user's address),
	 * with vacation_subject ("Auto: " and the original subject when the
	 * script gave none); vacation_mime says reason is a MIME entity. */
	const char *vacation_to;
	const char *vacation_from;
	const char *vacation_subject;
	const char *vacation_handle; /* :handle, or one derived from the parameters (§4.2) */
	unsigned vacation_days;      /* 1 to 365 */
	bool vacation_mime;
};

struct sieve_result_store; /* the result's memory */

struct sieve_result {
	/* The run stopped on an error (a limit, conflicting actions): the
	 * actions are then a single implicit keep, error says why. */
	bool failed;
	char error[200];
	/* Why a vacation command did not respond ("" when none was skipped):
	 * for the log. */
	char vacation_skipped[80];
	struct sieve_action *actions;
	size_t n_actions;
	struct sieve_result_store *store;
};

/* Run s over msg. 0 with *res filled (also when res->failed), or -ENOMEM.
 * Free *res with sieve_result_free, always. */
int sieve_run(const struct sieve_script *s, const struct sieve_message *msg,
              struct sieve_result *res);
void sieve_result_free(struct sieve_result *res);

#endif
