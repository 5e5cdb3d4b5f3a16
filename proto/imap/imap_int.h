/* imap_int: what the files of proto/imap share. Not for use outside
 * proto/imap (its unit tests and fuzz targets aside).
 *
 * ---------------------------------------------------------------------
 * The files, lowest first
 * ---------------------------------------------------------------------
 * A file calls only files listed before it (and lib/, net/, store/,
 * mime/ (section.h: BODY[section] and BINARY[section] of a parsed message),
 * mailurl/, auth/, proto/common, proto/sasl); the commands call one another
 * only where noted. The session reaches the handlers through the table
 * it is given, so nothing calls up into a command file.
 *
 *   no session: pure code and the loop's caches
 *     arena.c         the per-command arena (aborts when out of memory)
 *     parser.[ch]     the incremental command parser; the character classes
 *     args.c          reading parsed arguments: imap_arg_*()
 *     seqset.[ch]     sequence sets; ascending UID arrays
 *     objectid.[ch]   RFC 8474 object ids: how tern spells them
 *     flags.[ch]      flag lists <-> store flag bits and keywords
 *     dates.[ch]      IMAP and RFC 5322 dates
 *     fetch_parse.c   FETCH attributes and modifiers (fetch.h)
 *     search_keys.[ch] SEARCH keys, parsed and evaluated per message
 *     render.[ch]     ENVELOPE, BODYSTRUCTURE and IMAP strings of a message
 *     sort_keys.[ch]  SORT/THREAD keys: base subject, collation, msg-ids
 *     thread.[ch]     THREAD=ORDEREDSUBJECT and THREAD=REFERENCES
 *     index.[ch]      IMAP's precomputed data of a message (store/msg_index)
 *     metadata_entry.c METADATA entry names: checked, folded, matched
 *     header_cache.[ch] the loop's caches of header text and raw headers
 *     sort_cache.[ch] the loop's cache of sort records per mailbox
 *     view_cache.[ch] the loop's cache of SELECT's index per mailbox
 *   the session and its services
 *     mailbox_name.c  mailbox names between the wire and the store
 *     output.c        writing: bytes, lines, untagged responses, strings
 *     progress.c      INPROGRESS responses of long commands
 *     compress.c      COMPRESS=DEFLATE as a conn filter
 *     capability.c    the capability list; may a password be sent here
 *     esearch.[ch]    the "* ESEARCH" writer (RETURN data, PARTIAL, ADDTO)
 *     sort_context.[ch] CONTEXT=SORT: a context's ordered result, positions
 *     search_context.c CONTEXT=SEARCH/SORT update contexts (-> esearch.c)
 *     recent.c        \Recent (IMAP4rev1)
 *     updates.c       the session's view and other sessions' changes
 *     reply.c         the tagged reply; the mailbox-name argument check
 *     session.c       lifecycle, conn callbacks, dispatch, async wake
 *   the commands, one file per family (imap_cmd_*() below)
 *     cmd_any.c       CAPABILITY NOOP LOGOUT ID
 *     cmd_login.c     STARTTLS AUTHENTICATE LOGIN
 *     cmd_setup.c     ENABLE NAMESPACE COMPRESS
 *     cmd_quota.c     GETQUOTA GETQUOTAROOT SETQUOTA; the account's quota
 *     cmd_metadata.c  GETMETADATA SETMETADATA
 *     cmd_expunge.c   EXPUNGE; the silent expunge of CLOSE
 *     cmd_select.c    SELECT EXAMINE CLOSE UNSELECT CHECK UNAUTHENTICATE (-> cmd_expunge)
 *     cmd_status.c    STATUS; its "* STATUS" line
 *     cmd_acl.c       MYRIGHTS GETACL LISTRIGHTS SETACL DELETEACL
 *     cmd_list.c      LIST LSUB (-> cmd_status for LIST-STATUS)
 *     cmd_mailbox.c   CREATE DELETE RENAME SUBSCRIBE UNSUBSCRIBE
 *     cmd_append.c    APPEND REPLACE (-> cmd_quota)
 *     cmd_urlauth.c   GENURLAUTH RESETKEY URLFETCH
 *     cmd_copy.c      COPY MOVE (-> cmd_quota)
 *     cmd_fetch.c     FETCH
 *     cmd_store.c     STORE
 *     cmd_search.c    SEARCH (SAVE/$, RETURN via esearch.c); the search SORT shares
 *     cmd_sort.c      SORT THREAD (-> cmd_search; ESORT via esearch.c)
 *     cmd_idle.c      IDLE
 *     cmd_notify.c    NOTIFY (RFC 5465): the event groups parsed
 *     notify_queue.c  NOTIFY's queue: STATUS/LIST/METADATA, between commands
 *   the top
 *     commands.c      the command table: name, handler, flags
 *     imap.c          imap_session_start(): a session given that table
 *
 * ---------------------------------------------------------------------
 * How a command runs
 * ---------------------------------------------------------------------
 * conn delivers lines (and literal blocks) to session.c, which feeds them
 * to the incremental parser (parser.c). When a complete command is parsed
 * the session looks it up in the command table, checks the state flags
 * (BAD / NO before the handler ever runs), and calls the handler:
 *
 *     enum imap_cmd_result handler(struct imap_session *s, struct imap_cmd *cmd)
 *
 *   IMAP_DONE   the handler wrote its tagged reply (imap_tagged) and the
 *               command is over: cmd and its arena are freed, the next
 *               pipelined command runs.
 *   IMAP_AGAIN  "call me again": the handler produced a slice of output
 *               and wants to continue. The session calls it again when the
 *               output queue has drained (if it is full) or on the next
 *               loop iteration (if not), so a FETCH 1:* over 100k
 *               messages never blocks the loop. Keep progress in cmd->step
 *               and cmd->ctx.
 *   IMAP_ASYNC  the handler started something asynchronous (store_submit,
 *               auth_check) and will be woken by imap_cmd_wake(s) from its
 *               completion. Until then input is paused (conn_pause; not
 *               while the command reads lines itself, IMAP_IN_AUTH and
 *               IMAP_IN_IDLE), the session holds a reference (so `s` stays
 *               valid for the completion even if the connection closed),
 *               and the handler is not called. imap_cmd_wake() MUST be called exactly once
 *               per ASYNC return. If the connection closed meanwhile, wake
 *               does not call the handler again: it runs cmd->ctx_free,
 *               frees the command and drops the reference. So a completion
 *               looks like:
 *                   ctx->status = status; imap_cmd_wake(ctx->s);
 *               and must not touch s or cmd after the wake.
 *
 * A handler is always called with s->cur == cmd, on the loop thread.
 * It must write exactly one tagged reply over its lifetime (imap_tagged),
 * in the call that returns IMAP_DONE or earlier.
 *
 * Untagged updates (EXISTS / EXPUNGE / FETCH FLAGS / VANISHED from other
 * sessions) are queued by updates.c and flushed by imap_tagged() just
 * before the tagged line, unless the command table says otherwise
 * (IMAP_CMD_NO_EXPUNGE: EXPUNGE/VANISHED are held back, RFC 9051 §7.5.1,
 * for the non-UID FETCH/STORE/SEARCH; IMAP_CMD_NO_UPDATES: nothing is
 * flushed). A handler that streams many untagged responses never has
 * updates interleaved: they are only written by imap_tagged, IDLE and
 * NOOP-like flush points.
 *
 * ---------------------------------------------------------------------
 * Ownership
 * ---------------------------------------------------------------------
 * Everything in a struct imap_cmd (tag, name, args, strings, lists) lives in
 * cmd->arena and dies when the command ends (DONE, or the session closes).
 * Copy anything you keep longer into session-owned memory. Handlers may
 * allocate their own state from cmd->arena (imap_arena_alloc); if they hold
 * anything else (a store job in flight, a malloc'd buffer, a store
 * statement) they set cmd->ctx_free, which runs exactly once when the
 * command ends or is abandoned (connection closed mid-command). A store
 * job's arg must not live in cmd->arena unless the command is ASYNC on that
 * job (then the command cannot end before the completion wakes it).
 *
 * Return convention everywhere: 0 or a positive count on success, a
 * negative errno on failure.
 */
#ifndef TERN_IMAP_INT_H
#define TERN_IMAP_INT_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/sasl/sasl.h"
#include "proto/common/env.h"
#include "store/store.h"
#include "lib/arena.h"
#include "lib/log.h"

struct conn;
struct proto_env;
struct imap_settings;
struct notify_sub;
struct auth_req;
struct imap_parser;
struct imap_compress;
struct store_rd;

/* ------------------------------------------------------------------ */
/* The per-command arena (arena.c over lib/arena.h)                     */
/* ------------------------------------------------------------------ */

/* lib/arena.h's allocators, but never NULL: out of memory aborts (like
 * the rest of tern's small allocations). Memory is 16-byte aligned and
 * zeroed. arena_reset() frees it all. */
void *imap_arena_alloc(struct arena *a, size_t n);
/* Copy of [s, s+n) with a NUL appended. */
char *imap_arena_strndup(struct arena *a, const char *s, size_t n);
char *imap_arena_printf(struct arena *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ------------------------------------------------------------------ */
/* Parsed command                                                       */
/* ------------------------------------------------------------------ */

enum imap_arg_type {
	IMAP_ARG_ATOM = 1, /* also numbers and sequence sets: text as sent */
	IMAP_ARG_QUOTED,   /* unescaped contents */
	IMAP_ARG_LITERAL,  /* {n} / {n+} / {n-}: bytes as sent, NUL refused */
	IMAP_ARG_LITERAL8, /* ~{n}: may contain NUL */
	IMAP_ARG_NIL,      /* the atom NIL (any case); str = "NIL" too */
	IMAP_ARG_LIST,     /* ( ... ) */
};

/* An argument. For every type except LIST, str/len hold the bytes and
 * str[len] == '\0' (so atoms can be used as C strings; a literal8 may
 * contain NULs before len). For LIST, list/nlist hold the children.
 *
 * Atoms are liberal: any run of bytes other than SP, CTL, '(' ')' '{' '"'
 * (and ']' only inside a section, see below). FETCH attributes with a
 * section are ONE atom with the section text as sent, e.g.
 *     BODY.PEEK[HEADER.FIELDS (From "To")]<0.65536>
 * i.e. an atom that starts (case-insensitively) with BODY[, BODY.PEEK[,
 * BINARY[, BINARY.PEEK[ or BINARY.SIZE[ runs to the matching ']' including
 * spaces, parentheses and quoted strings (kept raw, quotes included), then
 * continues up to the next SP or ')'. A literal inside a section is BAD. */
struct imap_arg {
	enum imap_arg_type type;
	const char *str;
	size_t len;
	struct imap_arg *list;
	size_t nlist;
};

struct imap_command;

struct imap_cmd {
	const char *tag;       /* NUL-terminated, as sent */
	const char *name;      /* upper-cased, without "UID ": "FETCH" */
	bool uid;              /* sent as "UID <name>" */
	struct imap_arg *args; /* top-level arguments after the name */
	size_t nargs;
	const struct imap_command *def; /* table entry */
	struct arena arena;             /* everything above lives here */
	size_t charged;                 /* spool budget its literals hold (parser.c) */

	/* Handler-owned, for resumable (AGAIN) and async (ASYNC) commands.
	 * step starts at 0; the session never touches step or ctx. */
	int step;
	void *ctx;
	void (*ctx_free)(struct imap_cmd *cmd); /* optional, runs once at the end */

	uint64_t started_ms;  /* uv_now() when dispatched, for logs and INPROGRESS */
	uint64_t progress_ms; /* uv_now() of its last INPROGRESS, 0 = none yet */
};

/* Argument accessors (args.c). They return false if the argument is
 * missing or of the wrong type. */
bool imap_arg_is_atom(const struct imap_arg *a, const char *word); /* case-insensitive */
/* astring: atom, quoted, literal (not literal8), or NIL read as "NIL". */
bool imap_arg_astring(const struct imap_arg *a, const char **str, size_t *len);
/* string: quoted or literal only. */
bool imap_arg_string(const struct imap_arg *a, const char **str, size_t *len);
/* nz-number or number atoms. */
bool imap_arg_u32(const struct imap_arg *a, uint32_t *out);
bool imap_arg_u64(const struct imap_arg *a, uint64_t *out); /* mod-sequence-value: < 2^63 */

/* ------------------------------------------------------------------ */
/* Sequence sets (seqset.c / seqset.h)                                  */
/* ------------------------------------------------------------------ */

#include "proto/imap/seqset.h"

/* ------------------------------------------------------------------ */
/* Session                                                              */
/* ------------------------------------------------------------------ */

/*
 *   greeting --> NOT_AUTH --LOGIN/AUTHENTICATE ok--> AUTH <--CLOSE/UNSELECT--+
 *                  ^ (UNAUTHENTICATE, from AUTH or SELECTED)
 *                   |                                 |                     |
 *                   |                         SELECT/EXAMINE ok --> SELECTED-+
 *                   |                                 |                 |
 *                   +---------- LOGOUT, BYE, close ---+-----------------+--> LOGOUT
 */
enum imap_state {
	IMAP_NOT_AUTH = 0,
	IMAP_AUTH,
	IMAP_SELECTED,
	IMAP_LOGOUT, /* BYE sent or connection gone: nothing more runs */
};

/* ENABLEd (or implicitly enabled) extensions: s->enabled. */
#define IMAP_EXT_CONDSTORE 0x01u /* ENABLE CONDSTORE, SELECT (CONDSTORE), or first MODSEQ use */
#define IMAP_EXT_QRESYNC 0x02u   /* implies CONDSTORE */
#define IMAP_EXT_UTF8 0x04u      /* UTF8=ACCEPT: names and quoted strings in UTF-8 */
#define IMAP_EXT_REV2 0x08u /* IMAP4rev2 semantics (no \Recent, ESEARCH replies to SEARCH, ...) */
/* UIDONLY (RFC 9586): no sequence numbers either way. FETCH, STORE,
 * SEARCH, COPY, MOVE are BAD [UIDREQUIRED] (IMAP_CMD_SEQNUM), so are a
 * sequence-set SEARCH key and QRESYNC's sequence match data; FETCH
 * responses are "* uid UIDFETCH (...)", expunges VANISHED, and SELECT
 * sends no [UNSEEN n]. */
#define IMAP_EXT_UIDONLY 0x10u

/* The selected mailbox as THIS session sees it.
 *
 * uids[i] is the UID of sequence number i+1, ascending. It changes only at
 * points where the client is told: an EXPUNGE/VANISHED written (the seq
 * numbers after it shift down) and an EXISTS written (new UIDs appended).
 * Notifications that arrive in between are queued in `pending`.
 * Use imap_view_* below rather than touching uids directly. */
struct imap_selected {
	int64_t mailbox_id;
	char *name; /* internal UTF-8 name, malloc'd */
	uint32_t uidvalidity;
	uint32_t uidnext;      /* as last told to the client (>= every uid in uids) */
	int64_t highestmodseq; /* as last told / seen by this session */
	bool readonly;         /* EXAMINE */
	uint32_t *uids;
	uint32_t count, cap;
	/* Keywords the client was told in FLAGS (space-separated, malloc'd). */
	char *keywords;
	/* \Recent in this session (recent.c): UIDs in (recent_lo, recent_hi]
	 * and those in recent_more (malloc'd). */
	uint32_t recent_lo, recent_hi;
	uint32_t *recent_more;
	size_t nrecent_more, caprecent_more;
};

/* Updates from other sessions (and other mailbox writers), not yet told. */
struct imap_pending {
	uint32_t *exists; /* new UIDs, ascending, not yet in the view */
	size_t nexists, capexists;
	uint32_t *expunged; /* UIDs in the view that are gone */
	size_t nexpunged, capexpunged;
	uint32_t *flags; /* UIDs whose flags changed (FETCH FLAGS to send) */
	size_t nflags, capflags;
	bool keywords_changed; /* a new keyword appeared: re-send FLAGS */
	/* UIDs this session changed the flags of, for its update contexts
	 * (search_context.c) to evaluate again at the next flush */
	uint32_t *recheck;
	size_t nrecheck, caprecheck;
};

/* CONTEXT=SEARCH update contexts a session keeps (RFC 5267 §4.3.1: at
 * least one); a further RETURN (UPDATE) gets NOUPDATE. */
#define IMAP_MAX_SEARCH_CONTEXTS 8
/* The keys the CONTEXT=SORT contexts of a session keep, together (about
 * 100 bytes a message): past it, SORT RETURN (UPDATE) gets NOUPDATE. */
#define IMAP_MAX_SORT_CONTEXT_BYTES (32u << 20)
struct imap_search_context;

/* What the connection is reading right now, for session.c. In IMAP_IN_AUTH
 * and IMAP_IN_IDLE the command reads its own lines (AUTHENTICATE's
 * continuations, IDLE's DONE): they go to the imap_line_fn it gave
 * imap_set_input(), never to the parser. A line over the limit in
 * IMAP_IN_AUTH arrives there as "*", the SASL cancel. */
struct imap_session;
typedef void (*imap_line_fn)(struct imap_session *s, const char *line, size_t len);

enum imap_input_mode {
	IMAP_IN_COMMAND = 0, /* lines and literals to the parser */
	IMAP_IN_AUTH,        /* AUTHENTICATE continuation lines */
	IMAP_IN_IDLE,        /* waiting for DONE */
};

struct imap_session {
	struct conn *conn;
	const struct proto_env *env;
	const struct imap_settings *cfg;
	unsigned refs;
	bool closed; /* the conn is gone (closed callback ran) */
	enum imap_state state;
	uint64_t sid;
	char peer[64];
	unsigned errors; /* BADs so far; cfg->max_errors -> BYE */

	/* Authenticated identity (state >= IMAP_AUTH). */
	int64_t account_id;
	char address[320];

	unsigned enabled; /* IMAP_EXT_* */
	bool compress;    /* COMPRESS=DEFLATE active */

	/* Valid in IMAP_SELECTED. */
	struct imap_selected sel;
	struct imap_pending pending;
	struct notify_sub *sub; /* notification subscription for sel.mailbox_id */
	/* NOTIFY (cmd_notify.c): the client's event groups and the queue */
	struct imap_notify *notify;
	bool notify_overflowed; /* OK [NOTIFICATIONOVERFLOW] still to say */

	/* SEARCHRES ($): UIDs saved by SEARCH RETURN (SAVE), ascending,
	 * malloc'd, owned by the session (free and replace to update). */
	uint32_t *searchres;
	size_t nsearchres;

	/* CONTEXT=SEARCH (search_context.c), for the selected mailbox. */
	struct imap_search_context *contexts[IMAP_MAX_SEARCH_CONTEXTS];
	size_t ncontexts;

	/* The command being executed (NULL between commands). */
	struct imap_cmd *cur;

	/* The session's machinery: session.c's, but for the fields the
	 * files named beside them set. */
	const struct imap_command *commands; /* the command table (commands.c) */
	size_t ncommands;
	enum imap_input_mode input; /* imap_set_input() */
	imap_line_fn line;          /* the command's line reader, when input is not COMMAND */
	struct imap_parser *parser;
	struct imap_compress *z; /* compress.c */
	struct sasl *sasl;       /* cmd_login.c, during AUTHENTICATE only (900 bytes an idle
	                            session need not keep) */
	struct auth_req *auth;   /* cmd_login.c: the password check in flight */
	void *timer;             /* uv_timer_t for IMAP_AGAIN */
	bool waiting;            /* AGAIN: waiting for drained / timer */
	bool async;              /* ASYNC: waiting for imap_cmd_wake */
	unsigned paused;         /* our conn_pause() count */
};

/* ------------------------------------------------------------------ */
/* The command table (commands.c)                                       */
/* ------------------------------------------------------------------ */

enum imap_cmd_result {
	IMAP_DONE = 0,
	IMAP_AGAIN,
	IMAP_ASYNC,
};

typedef enum imap_cmd_result (*imap_handler)(struct imap_session *s, struct imap_cmd *cmd);

#define IMAP_CMD_NOAUTH 0x001u     /* only in NOT_AUTH (LOGIN, AUTHENTICATE, STARTTLS) */
#define IMAP_CMD_AUTH 0x002u       /* needs AUTH or SELECTED */
#define IMAP_CMD_SELECTED 0x004u   /* needs SELECTED */
#define IMAP_CMD_UID 0x008u        /* may be prefixed with "UID " (handler checks cmd->uid) */
#define IMAP_CMD_NO_EXPUNGE 0x010u /* non-UID form: no EXPUNGE/VANISHED while it runs (§7.5.1) */
#define IMAP_CMD_BREAKS_SEQ 0x020u /* may change sequence numbers (EXPUNGE, MOVE, CLOSE) */
#define IMAP_CMD_NO_UPDATES 0x040u /* flush no untagged updates at its tagged reply */
#define IMAP_CMD_WRITE 0x080u  /* modifies the selected mailbox: NO in EXAMINE (handler checks) */
#define IMAP_CMD_SEQNUM 0x100u /* non-UID form takes sequence numbers: BAD under UIDONLY */

struct imap_command {
	const char *name; /* upper case */
	imap_handler handler;
	unsigned flags;
};

/* The table: what imap_session_start() (imap.c) hands the session, which
 * looks commands up in it case-insensitively. */
extern const struct imap_command imap_commands[];
extern const size_t imap_ncommands;

#define imap_log(s, lvl, ...) log_session((lvl), (s)->sid, (s)->peer, "imap", __VA_ARGS__)

/* The store and the loop's read view of it. */
static inline struct store *imap_store(const struct imap_session *s)
{
	return s->env->store;
}
static inline struct store_rd *imap_reader(const struct imap_session *s)
{
	return store_reader(s->env->store);
}

/* CONDSTORE enabled by use (FETCH MODSEQ, CHANGEDSINCE, UNCHANGEDSINCE). */
static inline void imap_condstore_enable(struct imap_session *s)
{
	s->enabled |= IMAP_EXT_CONDSTORE;
}

/* ------------------------------------------------------------------ */
/* METADATA entry names (metadata_entry.c)                              */
/* ------------------------------------------------------------------ */

#define IMAP_METADATA_ENTRY_MAX 1024
/* Check an entry name (RFC 5464 §3.2: "/private/..." or "/shared/...",
 * no "*" "%" CTL or 8-bit, no empty component, no trailing "/", vendor
 * entries with 4 components) and write it in lower case to out. prefix
 * (GETMETADATA) also lets a bare scope or vendor prefix through, to look
 * below it. Returns the length, or -EINVAL. */
ssize_t imap_metadata_entry(const char *name, size_t len, char *out, size_t cap, bool prefix);
/* Is name the entry itself, or below it within depth (0, 1, -1 = any)? */
bool imap_metadata_match(const char *entry, int depth, const char *name);

/* ------------------------------------------------------------------ */
/* Mailbox names (mailbox_name.c)                                       */
/* ------------------------------------------------------------------ */

/* Internal mailbox names are UTF-8 with '/' as the hierarchy separator and
 * "INBOX" spelled in upper case. Decode a client's name (astring bytes) to
 * that form: modified UTF-7 unless UTF8=ACCEPT (then UTF-8 as sent; valid
 * mUTF-7 is still accepted, RFC 9755 §3), INBOX in any case normalised,
 * a trailing '/' removed only when strip_trailing_sep. Returns the length,
 * or -EINVAL (bad encoding, NUL, empty component) / -ENAMETOOLONG. */
ssize_t imap_mailbox_name_decode(const struct imap_session *s, const char *wire, size_t len,
                                 char *out, size_t outcap, bool strip_trailing_sep);
/* Encode for the wire (no quoting). Returns the length or -ENAMETOOLONG. */
ssize_t imap_mailbox_name_encode(const struct imap_session *s, const char *name, char *out,
                                 size_t outcap);
#define IMAP_MAILBOX_NAME_MAX 1024

/* ------------------------------------------------------------------ */
/* Output (output.c)                                                    */
/* ------------------------------------------------------------------ */

/* Raw output (through COMPRESS when active). 0, or -1 if closing. */
int imap_write(struct imap_session *s, const void *data, size_t len);
int imap_printf(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* prefix, then fmt, then CRLF when crlf: what imap_printf, imap_untagged and
 * imap_tagged write with. */
int imap_vwritef(struct imap_session *s, const char *prefix, const char *fmt, va_list ap, bool crlf)
    __attribute__((format(printf, 3, 0)));
/* "* " fmt CRLF. */
void imap_untagged(struct imap_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Strings on the wire. astring: atom if safe, else quoted if possible,
 * else literal. quoted: a quoted string if it can be (no CR/LF/NUL; 8-bit
 * only with UTF8=ACCEPT), else a literal. nstring: NIL for str == NULL.
 * literal: "{n}" CRLF bytes (literal8 "~{n}" if the bytes contain NUL). */
void imap_write_astring(struct imap_session *s, const char *str, size_t len);
void imap_write_quoted(struct imap_session *s, const char *str, size_t len);
void imap_write_nstring(struct imap_session *s, const char *str, size_t len);
void imap_write_literal(struct imap_session *s, const char *data, size_t len);
/* A mailbox name (internal UTF-8) as the client must see it: modified
 * UTF-7 unless UTF8=ACCEPT is enabled, then as an astring. */
void imap_write_mailbox(struct imap_session *s, const char *name);

/* The conn's output queue is over its limit: stop producing (IMAP_AGAIN). */
bool imap_output_full(const struct imap_session *s);

/* ------------------------------------------------------------------ */
/* INPROGRESS (progress.c)                                              */
/* ------------------------------------------------------------------ */

#define IMAP_PROGRESS_FIRST_MS 1000 /* none before the command ran this long */
#define IMAP_PROGRESS_EVERY_MS 1000 /* then at most one per this */
/* Is it time for the next one? (cheap: the loop's clock) */
bool imap_progress_due(const struct imap_session *s, const struct imap_cmd *cmd);
/* A slicing command where nothing of its own is half written:
 * "* OK [INPROGRESS ("tag" done goal)]" if it is time (goal 0: unknown,
 * NIL). */
void imap_progress(struct imap_session *s, struct imap_cmd *cmd, uint64_t done, uint64_t goal);

/* ------------------------------------------------------------------ */
/* COMPRESS=DEFLATE (compress.c)                                        */
/* ------------------------------------------------------------------ */

/* Install the filter on the conn (after the OK went out). 0 or -1. */
int imap_compress_start(struct imap_session *s);
void imap_compress_free(struct imap_session *s);

/* ------------------------------------------------------------------ */
/* Capabilities (capability.c)                                          */
/* ------------------------------------------------------------------ */

/* The capability list for the session's state, without "CAPABILITY". */
const char *imap_capabilities(const struct imap_session *s, char *buf, size_t len);
/* May a password be sent on this connection (proto_auth_allowed)? */
bool imap_login_allowed(const struct imap_session *s);

/* ------------------------------------------------------------------ */
/* \Recent (recent.c)                                                   */
/* ------------------------------------------------------------------ */

/* \Recent (RFC 3501 2.3.2), for sessions without IMAP4rev2.
 * select: claim what arrived since the last session (EXAMINE: only look);
 * arrived: a new UID joins the view; status: how many a SELECT would get
 * now; forget: the mailbox was deleted. */
void imap_recent_select(struct imap_session *s);
void imap_recent_arrived(struct imap_session *s, uint32_t uid);
bool imap_is_recent(const struct imap_session *s, uint32_t uid);
uint32_t imap_recent_count(const struct imap_session *s);
int64_t imap_recent_status(struct imap_session *s, int64_t mailbox_id);
void imap_recent_forget(int64_t mailbox_id);
/* flags | IMAP_FLAG_RECENT (flags.h) when uid is recent in this session. */
uint32_t imap_output_flags(const struct imap_session *s, uint32_t uid, uint32_t flags);

/* ------------------------------------------------------------------ */
/* CONTEXT=SEARCH update contexts (search_context.c)                    */
/* ------------------------------------------------------------------ */

struct imap_search;
/* Keep a context for cmd (SEARCH RETURN (UPDATE)) whose result is
 * hits[0..n) (ascending UIDs). Takes cmd's arena (q lives in it; cmd->tag
 * stays valid). 0; -ENOSPC (too many contexts) or -ENOTSUP (BODY/TEXT)
 * for NOUPDATE; -ENOMEM. */
int imap_search_context_add(struct imap_session *s, struct imap_cmd *cmd,
                            const struct imap_search *q, const uint32_t *hits, size_t n);
/* The same for SORT RETURN (UPDATE): sorted (sort_context.h) is the
 * result in the requested order, which the context takes on success.
 * Also -E2BIG (the session's sort contexts would exceed
 * IMAP_MAX_SORT_CONTEXT_BYTES). */
struct imap_sort_result;
int imap_sort_context_keep(struct imap_session *s, struct imap_cmd *cmd,
                           const struct imap_search *q, const uint32_t *hits, size_t n,
                           struct imap_sort_result *sorted);
/* Is tag the tag of a live context? */
bool imap_search_context_exists(const struct imap_session *s, const char *tag);
/* CANCELUPDATE: drop the context of tag; how many were dropped. */
size_t imap_search_context_cancel(struct imap_session *s, const char *tag);
/* Drop every context (the mailbox is no longer selected). */
void imap_search_contexts_free(struct imap_session *s);
/* Called by updates.c when it tells the client: gone (ascending, in the
 * view) are about to be expunged (REMOVEFROM); first..last arrived and
 * are in the view (ADDTO); uids (ascending) may have changed (both). */
void imap_search_contexts_expunging(struct imap_session *s, const uint32_t *gone, size_t n);
void imap_search_contexts_arrived(struct imap_session *s, uint32_t first, uint32_t last);
void imap_search_contexts_recheck(struct imap_session *s, const uint32_t *uids, size_t n);
/* This session changed uid's flags: evaluate it at the next flush. */
void imap_search_context_recheck_later(struct imap_session *s, uint32_t uid);

/* ------------------------------------------------------------------ */
/* The view and the update queue (updates.c)                            */
/* ------------------------------------------------------------------ */

/* Sequence number (1-based) of uid in the view, or 0. O(log n). */
uint32_t imap_view_seq(const struct imap_session *s, uint32_t uid);
/* UID of sequence number seq (1..count), or 0. */
uint32_t imap_view_uid(const struct imap_session *s, uint32_t seq);

/* The session itself expunged these UIDs (EXPUNGE, UID EXPUNGE, MOVE,
 * CLOSE): write "* n EXPUNGE" for each (or one "* VANISHED uid-set" under
 * QRESYNC), remove them from the view, drop them from the pending queues.
 * uids need not be sorted; ones not in the view are skipped. modseq is the
 * mailbox's new HIGHESTMODSEQ after the expunge (0 = unknown). Its own
 * NOTIFY_EXPUNGE / NOTIFY_FLAGS events (origin == s->sid) are ignored by
 * updates.c, so call this from the completion, before the tagged OK. The
 * session's own NOTIFY_EXISTS events (APPEND/COPY into the selected
 * mailbox) are NOT ignored: EXISTS is written at the next flush point. */
void imap_view_expunged(struct imap_session *s, const uint32_t *uids, size_t n, int64_t modseq);

/* A flag change this session made and reported itself (STORE): raise
 * sel.highestmodseq, and forget any pending FETCH for it. */
void imap_view_flags_changed(struct imap_session *s, uint32_t uid, int64_t modseq);

/* A keyword the session is about to name that FLAGS did not list yet:
 * add it, and re-send FLAGS and PERMANENTFLAGS at imap_keywords_announce()
 * or the next flush point. _keywords_seen takes a space-separated list. */
void imap_view_keyword_seen(struct imap_session *s, const char *kw, size_t len);
void imap_view_keywords_seen(struct imap_session *s, const char *keywords);
/* Write FLAGS and PERMANENTFLAGS now if a keyword was added since they
 * were last written: call it before a FETCH that may name the keywords
 * passed to imap_view_keyword(s)_seen(). */
void imap_keywords_announce(struct imap_session *s);

/* Write everything queued that may be written now. allow_expunge false
 * holds back EXPUNGE/VANISHED (and EXISTS is still written). Called by
 * imap_tagged() and by IDLE; commands need not call it. */
void imap_updates_flush(struct imap_session *s, bool allow_expunge);

/* The code for the OK of FETCH, STORE and SEARCH, which may not send
 * EXPUNGE (RFC 9051 7.5.1): "EXPUNGEISSUED" when another session expunged
 * messages that this one has not been told about yet, else NULL. */
const char *imap_expunge_issued(const struct imap_session *s);

/* Subscribe to the selected mailbox's notifications (SELECT), and stop. */
int imap_updates_subscribe(struct imap_session *s);
void imap_updates_unsubscribe(struct imap_session *s);
/* Forget every queued update. */
void imap_pending_clear(struct imap_session *s);
/* "* FLAGS (...)" and "* OK [PERMANENTFLAGS (...)]" for the selection. */
void imap_write_flags_responses(struct imap_session *s);
/* Write "(\Seen \Flagged kw)" for the flag bits and keywords of uid
 * (with \Recent when it is recent in this session). */
void imap_write_flag_list(struct imap_session *s, uint32_t uid, uint32_t flags,
                          const char *keywords);

/* ------------------------------------------------------------------ */
/* Replies (reply.c)                                                    */
/* ------------------------------------------------------------------ */

/* "<tag> <status> [<code>] <text>" CRLF. status is "OK", "NO" or "BAD";
 * code is the response code without brackets ("TRYCREATE", "APPENDUID 7 3")
 * or NULL. Flushes pending untagged updates first, per the table flags.
 * A BAD counts towards max_errors (the session says BYE when exceeded). */
void imap_tagged(struct imap_session *s, struct imap_cmd *cmd, const char *status, const char *code,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Decode argument i of cmd as a mailbox name into buf (see
 * imap_mailbox_name_decode). On failure it answers BAD (no name) or NO
 * [CANNOT] (not a valid name) itself and returns false. */
bool imap_arg_mailbox(struct imap_session *s, struct imap_cmd *cmd, size_t i, char *buf, size_t cap,
                      bool strip_trailing_sep);

/* ------------------------------------------------------------------ */
/* The session (session.c)                                              */
/* ------------------------------------------------------------------ */

/* Start a session on c with the listener's context and a command table
 * (imap_session_start() in imap.c passes commands.c's). */
struct imap_ctx;
void imap_session_open(struct conn *c, const struct imap_ctx *x,
                       const struct imap_command *commands, size_t ncommands);

/* Async commands: see the top of this file. */
void imap_cmd_wake(struct imap_session *s);

void imap_ref(struct imap_session *s);
void imap_unref(struct imap_session *s);

/* The one state transition (logged; leaving NOT_AUTH raises the limits). */
void imap_enter_state(struct imap_session *s, enum imap_state to);
/* Close gracefully: state LOGOUT, the conn flushes and closes. */
void imap_close(struct imap_session *s);
/* Stop delivering input until the current command is DONE. */
void imap_pause_input(struct imap_session *s);
/* What the connection reads next; line is where lines go in IMAP_IN_AUTH
 * and IMAP_IN_IDLE (NULL for IMAP_IN_COMMAND). */
void imap_set_input(struct imap_session *s, enum imap_input_mode mode, imap_line_fn line);
/* Wipe and free the SASL exchange (it holds the password). */
void imap_sasl_end(struct imap_session *s);

/* ------------------------------------------------------------------ */
/* The commands                                                         */
/* ------------------------------------------------------------------ */

/* Handlers, by file; their table entries (flags) are in commands.c.
 * cmd->uid tells the UID form of FETCH, STORE, SEARCH, COPY, MOVE and
 * EXPUNGE. */

/* cmd_any.c */
enum imap_cmd_result imap_cmd_capability(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_noop(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_logout(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_id(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_login.c */
enum imap_cmd_result imap_cmd_starttls(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_login(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_setup.c */
enum imap_cmd_result imap_cmd_enable(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_namespace(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_compress(struct imap_session *s, struct imap_cmd *cmd);

/* cmd_quota.c */
enum imap_cmd_result imap_cmd_getquota(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_getquotaroot(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_setquota(struct imap_session *s, struct imap_cmd *cmd);
/* The account's quota in bytes (0 = none), for APPEND, COPY and MOVE. */
uint64_t imap_account_quota(struct imap_session *s);

/* cmd_metadata.c */
enum imap_cmd_result imap_cmd_getmetadata(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_setmetadata(struct imap_session *s, struct imap_cmd *cmd);

/* cmd_expunge.c */
enum imap_cmd_result imap_cmd_expunge(struct imap_session *s, struct imap_cmd *cmd);
/* Expunge every \Deleted message of the selected mailbox WITHOUT telling
 * the client (CLOSE, RFC 9051 §6.4.1). Submits a store job; done(ud,
 * status) runs on the loop after commit (status = count or negative).
 * Returns 0 if submitted, negative if not (done not called). */
int imap_expunge_deleted(struct imap_session *s, void (*done)(void *ud, int status), void *ud);

/* cmd_select.c */
enum imap_cmd_result imap_cmd_select(struct imap_session *s, struct imap_cmd *cmd); /* + EXAMINE */
enum imap_cmd_result imap_cmd_close(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_unselect(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_check(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_unauthenticate(struct imap_session *s, struct imap_cmd *cmd);

/* cmd_notify.c */
enum imap_cmd_result imap_cmd_notify(struct imap_session *s, struct imap_cmd *cmd);
/* Write what NOTIFY queued (and the overflow notice). */
void imap_notify_flush(struct imap_session *s);
void imap_notify_flush_overflow(struct imap_session *s);
/* Drop NOTIFY state (NOTIFY NONE, UNAUTHENTICATE, close). */
void imap_notify_end(struct imap_session *s);
/* The output drained: write what waited for it, if the session may speak. */
void imap_notify_drained(struct imap_session *s);
/* May the selected mailbox's updates go out now (NOTIFY between commands
 * or IDLE)? Sets *allow_expunge. */
bool imap_notify_selected_now(const struct imap_session *s, bool *allow_expunge);

/* cmd_status.c */
enum imap_cmd_result imap_cmd_status(struct imap_session *s, struct imap_cmd *cmd);
/* STATUS items ("(MESSAGES UNSEEN ...)") as a bit set, and the
 * "* STATUS" line for them, which LIST-STATUS writes too. */
int imap_status_items(const struct imap_arg *list, unsigned *items);
int imap_write_status(struct imap_session *s, const char *name, int64_t mailbox_id, unsigned items);

/* cmd_acl.c: ACL (RFC 4314), read-only; + DELETEACL (imap_cmd_setacl) */
enum imap_cmd_result imap_cmd_myrights(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_getacl(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_listrights(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_setacl(struct imap_session *s, struct imap_cmd *cmd);
/* What the owner may do with each of its mailboxes: everything (RFC 4314
 * §2.1, with the obsolete c and d, §2.1.1); no one else has any right. */
#define IMAP_OWNER_RIGHTS "lrswipkxtecda"

/* cmd_list.c */
enum imap_cmd_result imap_cmd_list(struct imap_session *s, struct imap_cmd *cmd); /* + LSUB */
/* cmd_mailbox.c */
enum imap_cmd_result imap_cmd_create(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_delete(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_rename(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_subscribe(struct imap_session *s,
                                        struct imap_cmd *cmd); /* + UNSUBSCRIBE */
/* cmd_append.c */
enum imap_cmd_result imap_cmd_append(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_replace(struct imap_session *s, struct imap_cmd *cmd); /* + UID */
/* cmd_urlauth.c */
enum imap_cmd_result imap_cmd_genurlauth(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_resetkey(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_urlfetch(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_copy.c */
enum imap_cmd_result imap_cmd_copy(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_move(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_fetch.c */
enum imap_cmd_result imap_cmd_fetch(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_store.c */
enum imap_cmd_result imap_cmd_store(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_search.c */
enum imap_cmd_result imap_cmd_search(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_cancelupdate(struct imap_session *s, struct imap_cmd *cmd);
/* The search SORT and THREAD run (cmd_sort.c): the keys args[0..nargs)
 * (after their charset), evaluated as SEARCH does, then done() gets the
 * matching UIDs (ascending) and ud, and answers the command. BAD for bad
 * keys (and for sequence numbers under UIDONLY). ret: the RETURN options
 * (only SAVE matters here: a NO empties $). *q (may be NULL) gets the parsed query. cmd->ctx and
 * cmd->step belong to the search: the handler calls imap_search_continue() when it is called again,
 * and finds its ud with imap_search_ud() (NULL before the start); ud_free (may be NULL) runs when
 * the command ends. */
struct imap_search;
struct imap_search_found {
	const uint32_t *uids;
	size_t n;
	const struct imap_search *q;
	int64_t maxmodseq; /* the highest MODSEQ of the messages found */
	void *ud;
};
typedef enum imap_cmd_result (*imap_search_done_fn)(struct imap_session *s, struct imap_cmd *cmd,
                                                    const struct imap_search_found *f);
enum imap_cmd_result imap_search_start(struct imap_session *s, struct imap_cmd *cmd,
                                       const struct imap_arg *args, size_t nargs,
                                       imap_search_done_fn done, void *ud,
                                       void (*ud_free)(void *ud), unsigned ret,
                                       struct imap_search **q);
enum imap_cmd_result imap_search_continue(struct imap_session *s, struct imap_cmd *cmd);
void *imap_search_ud(const struct imap_cmd *cmd);
/* RETURN (SAVE): keep as the session's $ (RFC 5182 §2.4) what ret and
 * partial report of uids (in the result's order: ascending for SEARCH,
 * sorted for SORT). False when out of memory ($ is then empty). */
struct imap_partial;
bool imap_search_save_hits(struct imap_session *s, const uint32_t *uids, size_t n, unsigned ret,
                           const struct imap_partial *partial);
/* cmd_sort.c (-> cmd_search) */
enum imap_cmd_result imap_cmd_sort(struct imap_session *s, struct imap_cmd *cmd);
enum imap_cmd_result imap_cmd_thread(struct imap_session *s, struct imap_cmd *cmd);
/* cmd_idle.c */
enum imap_cmd_result imap_cmd_idle(struct imap_session *s, struct imap_cmd *cmd);

#endif
