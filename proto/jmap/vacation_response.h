/* vacation_response: JMAP's VacationResponse (RFC 8621 §8), one object
 * per account ("singleton"), kept in the webmail's managed Sieve script
 * (sieve_managed.h), so the Out of office page, JMAP clients and
 * ManageSieve see one vacation reply. */
#ifndef TERN_JMAP_VACATION_RESPONSE_H
#define TERN_JMAP_VACATION_RESPONSE_H

#include "proto/jmap/jmap_int.h"

#define JMAP_CAP_VACATION "urn:ietf:params:jmap:vacationresponse"
#define JMAP_VACATION_ID "singleton"

void jmap_vacation_response_get(struct jmap_call *c);
void jmap_vacation_response_set(struct jmap_call *c);

#endif
