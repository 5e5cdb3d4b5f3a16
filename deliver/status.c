/* status: the names of enum deliver_status, for log lines. */
#include "deliver/status.h"

const char *deliver_status_name(enum deliver_status st)
{
	switch (st) {
	case DELIVER_OK:
		return "ok";
	case DELIVER_NO_SUCH_USER:
		return "no_such_user";
	case DELIVER_ALIAS_LOOP:
		return "alias_loop";
	case DELIVER_BAD_ADDRESS:
		return "bad_address";
	case DELIVER_RELAY_DENIED:
		return "relay_denied";
	case DELIVER_MAILBOX_FULL:
		return "mailbox_full";
	case DELIVER_NOT_OWNED:
		return "not_owned";
	case DELIVER_NO_RCPTS:
		return "no_rcpts";
	case DELIVER_TOO_MANY_RCPTS:
		return "too_many_rcpts";
	case DELIVER_TOO_BIG:
		return "too_big";
	case DELIVER_BAD_MESSAGE:
		return "bad_message";
	case DELIVER_STORE_FAIL:
		return "store_fail";
	}
	return "unknown";
}
