/* methods: the table of every JMAP method this server has, and the
 * public entry that hands it to the runner (api.c).
 *
 * The top of the folder: it refers to the method files and to the
 * runner, which refer to neither it nor each other in a circle. To add
 * methods, add their table to `sets` below (one line). */
#include "proto/jmap/api.h"
#include "proto/jmap/contact_card.h"
#include "proto/jmap/email_methods.h"
#include "proto/jmap/methods.h"
#include "proto/jmap/sieve_script.h"
#include "proto/jmap/vacation_response.h"

static const struct jmap_method all_methods[] = {
    {"Core/echo", JMAP_CAP_CORE, jmap_core_echo},
    {"Mailbox/get", JMAP_CAP_MAIL, jmap_mailbox_get},
    {"Mailbox/changes", JMAP_CAP_MAIL, jmap_mailbox_changes},
    {"Mailbox/query", JMAP_CAP_MAIL, jmap_mailbox_query},
    {"Mailbox/queryChanges", JMAP_CAP_MAIL, jmap_mailbox_query_changes},
    {"Mailbox/set", JMAP_CAP_MAIL, jmap_mailbox_set},
    {"Identity/get", JMAP_CAP_SUBMISSION, jmap_identity_get},
    {"Identity/set", JMAP_CAP_SUBMISSION, jmap_identity_set},
    {"EmailSubmission/get", JMAP_CAP_SUBMISSION, jmap_email_submission_get},
    {"EmailSubmission/set", JMAP_CAP_SUBMISSION, jmap_email_submission_set},
    {"EmailSubmission/query", JMAP_CAP_SUBMISSION, jmap_email_submission_query},
    {"EmailSubmission/changes", JMAP_CAP_SUBMISSION, jmap_email_submission_changes},
    {"Email/get", JMAP_CAP_MAIL, jmap_email_get},
    {"Email/changes", JMAP_CAP_MAIL, jmap_email_changes},
    {"Email/query", JMAP_CAP_MAIL, jmap_email_query},
    {"Email/queryChanges", JMAP_CAP_MAIL, jmap_email_query_changes},
    {"Email/set", JMAP_CAP_MAIL, jmap_email_set},
    {"Email/copy", JMAP_CAP_MAIL, jmap_email_copy},
    {"Email/import", JMAP_CAP_MAIL, jmap_email_import},
    {"Thread/get", JMAP_CAP_MAIL, jmap_thread_get},
    {"Thread/changes", JMAP_CAP_MAIL, jmap_thread_changes},
    {"SearchSnippet/get", JMAP_CAP_MAIL, jmap_search_snippet_get},
    {"SieveScript/get", JMAP_CAP_SIEVE, jmap_sieve_script_get},
    {"SieveScript/set", JMAP_CAP_SIEVE, jmap_sieve_script_set},
    {"SieveScript/query", JMAP_CAP_SIEVE, jmap_sieve_script_query},
    {"SieveScript/changes", JMAP_CAP_SIEVE, jmap_sieve_script_changes},
    {"SieveScript/validate", JMAP_CAP_SIEVE, jmap_sieve_script_validate},
    /* RFC 8621 §8, over the webmail's Sieve script: vacation_response.c */
    {"VacationResponse/get", JMAP_CAP_VACATION, jmap_vacation_response_get},
    {"VacationResponse/set", JMAP_CAP_VACATION, jmap_vacation_response_set},
};

/* JMAP for Contacts (RFC 9610): address_book.c, contact_card*.c. */
static const struct jmap_method contacts_methods[] = {
    {"AddressBook/get", JMAP_CAP_CONTACTS, jmap_address_book_get},
    {"AddressBook/changes", JMAP_CAP_CONTACTS, jmap_address_book_changes},
    {"AddressBook/set", JMAP_CAP_CONTACTS, jmap_address_book_set},
    {"ContactCard/get", JMAP_CAP_CONTACTS, jmap_contact_card_get},
    {"ContactCard/changes", JMAP_CAP_CONTACTS, jmap_contact_card_changes},
    {"ContactCard/query", JMAP_CAP_CONTACTS, jmap_contact_card_query},
    {"ContactCard/queryChanges", JMAP_CAP_CONTACTS, jmap_contact_card_query_changes},
    {"ContactCard/set", JMAP_CAP_CONTACTS, jmap_contact_card_set},
};

/* Add method tables here. */
static const struct jmap_method_set sets[] = {
    {all_methods, sizeof all_methods / sizeof all_methods[0]},
    {contacts_methods, sizeof contacts_methods / sizeof contacts_methods[0]},
};

struct jmap_request *jmap_request_start(const struct jmap_account *acct, const char *body,
                                        size_t len, jmap_answer_fn answer, void *ud)
{
	return jmap_api_start(sets, sizeof sets / sizeof sets[0], acct, body, len, answer, ud);
}
