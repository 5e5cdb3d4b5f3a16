/* session: the JMAP session resource (RFC 8620 §2): the capabilities
 * with their limits, the one account a login sees (its own), and the URLs
 * of the API, downloads, uploads and the event source. Its state is a
 * hash of what it says, so a client refetches it only when that changes. */
#include "proto/jmap/api.h"
#include "proto/jmap/contact_card.h"
#include "proto/jmap/methods.h"
#include "proto/jmap/sieve_script.h"
#include "proto/jmap/vacation_response.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sieve/sieve.h"

/* RFC 8621 §2: a mailbox name is at most 490 octets here (the IMAP side
 * keeps room for the path). */
#define MAX_MAILBOX_NAME 490
#define MAX_MAILBOX_DEPTH 10

static uint64_t fnv1a(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

void jmap_session_state(const struct jmap_account *acct, char *out)
{
	uint64_t h = 0xcbf29ce484222325ull;
	h = fnv1a(h, &acct->account_id, sizeof acct->account_id);
	if (acct->username)
		h = fnv1a(h, acct->username, strlen(acct->username));
	h = fnv1a(h, acct->limits, sizeof *acct->limits);
	snprintf(out, JMAP_STATE_MAX, "S%016" PRIx64, h);
}

static json_t *core_capability(const struct jmap_limits *l)
{
	return json_pack(
	    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:[s]}", "maxSizeUpload",
	    (json_int_t)l->max_size_upload, "maxConcurrentUpload",
	    (json_int_t)l->max_concurrent_upload, "maxSizeRequest", (json_int_t)l->max_size_request,
	    "maxConcurrentRequests", (json_int_t)l->max_concurrent_requests, "maxCallsInRequest",
	    (json_int_t)l->max_calls_in_request, "maxObjectsInGet",
	    (json_int_t)l->max_objects_in_get, "maxObjectsInSet", (json_int_t)l->max_objects_in_set,
	    "collationAlgorithms", "i;unicode-casemap");
}

static json_t *mail_account_capability(const struct jmap_limits *l)
{
	return json_pack("{s:n, s:I, s:I, s:I, s:[s,s,s,s,s,s], s:b}", "maxMailboxesPerEmail",
	                 "maxMailboxDepth", (json_int_t)MAX_MAILBOX_DEPTH, "maxSizeMailboxName",
	                 (json_int_t)MAX_MAILBOX_NAME, "maxSizeAttachmentsPerEmail",
	                 (json_int_t)l->max_size_upload, "emailQuerySortOptions", "receivedAt",
	                 "sentAt", "size", "from", "to", "subject", "mayCreateTopLevelMailbox", 1);
}

static json_t *submission_account_capability(void)
{
	return json_pack("{s:i, s:{}}", "maxDelayedSend", 0, "submissionExtensions");
}

/* RFC 9661 §2: the account's Sieve capability. sieveExtensions is the
 * engine's own list (what ManageSieve's SIEVE capability says). */
static json_t *sieve_account_capability(void)
{
	json_t *ext = json_array();
	const char *p = sieve_extensions();
	while (*p) {
		size_t n = strcspn(p, " ");
		if (n)
			json_array_append_new(ext, json_stringn(p, n));
		p += n;
		p += strspn(p, " ");
	}
	return json_pack("{s:s, s:I, s:I, s:I, s:I, s:o, s:n, s:n}", "implementation", "tern",
	                 "maxSizeScriptName", (json_int_t)STORE_SIEVE_NAME_MAX, "maxSizeScript",
	                 (json_int_t)STORE_SIEVE_SCRIPT_MAX, "maxNumberScripts",
	                 (json_int_t)JMAP_SIEVE_MAX_SCRIPTS, "maxNumberRedirects",
	                 (json_int_t)JMAP_SIEVE_MAX_REDIRECTS, "sieveExtensions", ext,
	                 "notificationMethods", "externalLists");
}

json_t *jmap_session_json(const struct jmap_account *acct)
{
	const struct jmap_limits *l = acct->limits;
	char id[32], state[JMAP_STATE_MAX];
	snprintf(id, sizeof id, "A%" PRId64, acct->account_id);
	jmap_session_state(acct, state);
	const char *user = acct->username ? acct->username : "";
	json_t *s = json_pack(
	    "{s:{s:o, s:{}, s:{}}, s:{s:{s:s, s:b, s:b, s:{s:o, s:o}}}, s:{s:s, s:s, s:s},"
	    " s:s, s:s, s:s, s:s, s:s, s:s}",
	    "capabilities", JMAP_CAP_CORE, core_capability(l), JMAP_CAP_MAIL, JMAP_CAP_SUBMISSION,
	    "accounts", id, "name", user, "isPersonal", 1, "isReadOnly", 0, "accountCapabilities",
	    JMAP_CAP_MAIL, mail_account_capability(l), JMAP_CAP_SUBMISSION,
	    submission_account_capability(), "primaryAccounts", JMAP_CAP_CORE, id, JMAP_CAP_MAIL,
	    id, JMAP_CAP_SUBMISSION, id, "username", user, "apiUrl", "/jmap/api", "downloadUrl",
	    "/jmap/download/{accountId}/{blobId}/{name}?accept={type}", "uploadUrl",
	    "/jmap/upload/{accountId}/", "eventSourceUrl",
	    "/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}", "state", state);
	/* RFC 9661 §2: Sieve scripts; RFC 9610 §1.5: a card is in one book,
	 * books may be made; RFC 8621 §1.3.3: VacationResponse, no limits */
	json_t *caps = s ? json_object_get(s, "capabilities") : NULL;
	json_t *acaps = s ? json_object_get(json_object_get(json_object_get(s, "accounts"), id),
	                                    "accountCapabilities")
	                  : NULL;
	json_t *primary = s ? json_object_get(s, "primaryAccounts") : NULL;
	if (!caps || !acaps || !primary ||
	    json_object_set_new(caps, JMAP_CAP_SIEVE, json_object()) < 0 ||
	    json_object_set_new(acaps, JMAP_CAP_SIEVE, sieve_account_capability()) < 0 ||
	    json_object_set_new(primary, JMAP_CAP_SIEVE, json_string(id)) < 0 ||
	    json_object_set_new(caps, JMAP_CAP_CONTACTS, json_object()) < 0 ||
	    json_object_set_new(acaps, JMAP_CAP_CONTACTS,
	                        json_pack("{s:i, s:b}", "maxAddressBooksPerCard", 1,
	                                  "mayCreateAddressBook", 1)) < 0 ||
	    json_object_set_new(primary, JMAP_CAP_CONTACTS, json_string(id)) < 0 ||
	    json_object_set_new(caps, JMAP_CAP_VACATION, json_object()) < 0 ||
	    json_object_set_new(acaps, JMAP_CAP_VACATION, json_object()) < 0 ||
	    json_object_set_new(primary, JMAP_CAP_VACATION, json_string(id)) < 0) {
		json_decref(s);
		return NULL;
	}
	return s;
}
