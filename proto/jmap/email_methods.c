/* email_methods: the table of the Email, Thread and SearchSnippet methods
 * (see email_methods.h). */
#include "proto/jmap/email_methods.h"

const struct jmap_method jmap_email_methods[] = {
    {"Email/get", JMAP_CAPABILITY_MAIL, jmap_email_get},
    {"Email/changes", JMAP_CAPABILITY_MAIL, jmap_email_changes},
    {"Email/query", JMAP_CAPABILITY_MAIL, jmap_email_query},
    {"Email/queryChanges", JMAP_CAPABILITY_MAIL, jmap_email_query_changes},
    {"Email/set", JMAP_CAPABILITY_MAIL, jmap_email_set},
    {"Thread/get", JMAP_CAPABILITY_MAIL, jmap_thread_get},
    {"Thread/changes", JMAP_CAPABILITY_MAIL, jmap_thread_changes},
    {"SearchSnippet/get", JMAP_CAPABILITY_MAIL, jmap_search_snippet_get},
};
const size_t jmap_email_methods_count = sizeof jmap_email_methods / sizeof jmap_email_methods[0];
