/* core: Core/echo (RFC 8620 §4), the one method of the core capability:
 * its arguments back, unchanged. */
#include "proto/jmap/methods.h"

void jmap_core_echo(struct jmap_call *c)
{
	jmap_reply(c, json_incref(c->args));
}
