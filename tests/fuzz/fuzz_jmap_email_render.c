/* fuzz_jmap_email_render: arbitrary bytes through the JMAP Email renderer
 * (proto/jmap/email_render.h): every content property with every body
 * value and every EmailBodyPart property, then each partId of the body
 * structure downloaded with jmap_email_part(), then a search snippet.
 * The first line of the input is also tried as a "header:..." property
 * (jmap_email_opts_parse decides if it is one). Checks: no crash, the
 * output is JSON that jansson can write, every partId resolves, a snippet
 * preview is at most 255 octets. */
#include "proto/jmap/email_render.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const props[] = {
    "messageId",
    "inReplyTo",
    "references",
    "sender",
    "from",
    "to",
    "cc",
    "bcc",
    "replyTo",
    "subject",
    "sentAt",
    "headers",
    "bodyStructure",
    "textBody",
    "htmlBody",
    "attachments",
    "hasAttachment",
    "preview",
    "bodyValues",
    "header:To:asGroupedAddresses",
    "header:X-A:asURLs:all",
    "header:Date:asDate:all",
    "header:X-Id:asMessageIds",
    "header:Subject:asText:all",
};

static const char *const body_props[] = {
    "partId",
    "blobId",
    "size",
    "headers",
    "name",
    "type",
    "charset",
    "disposition",
    "cid",
    "language",
    "location",
    "subParts",
    "header:Content-Type:asText",
};

static void download_all(const char *raw, size_t len, const json_t *part)
{
	/* iterative walk: an explicit stack of arrays and positions */
	const json_t *stack[128];
	size_t pos[128], depth = 0;
	json_t *top = json_array();
	json_array_append((json_t *)top, (json_t *)part);
	stack[0] = top;
	pos[0] = 0;
	depth = 1;
	while (depth) {
		const json_t *arr = stack[depth - 1];
		if (pos[depth - 1] >= json_array_size(arr)) {
			depth--;
			continue;
		}
		const json_t *p = json_array_get(arr, pos[depth - 1]++);
		const char *id = json_string_value(json_object_get(p, "partId"));
		if (id) {
			struct buf b = {0};
			char type[128], name[64];
			int r =
			    jmap_email_part(raw, len, id, &b, type, sizeof type, name, sizeof name);
			if (r != 1 && r != -ENOMEM)
				abort(); /* a partId the renderer gave must resolve */
			if (r == 1 &&
			    (json_int_t)b.len != json_integer_value(json_object_get(p, "size")))
				abort(); /* size is the download's size */
			buf_free(&b);
		}
		const json_t *sub = json_object_get(p, "subParts");
		if (sub && depth < 128) {
			stack[depth] = sub;
			pos[depth] = 0;
			depth++;
		}
	}
	json_decref(top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *raw = (const char *)data;
	json_t *p = json_array(), *bp = json_array();
	for (size_t i = 0; i < sizeof props / sizeof props[0]; i++)
		json_array_append_new(p, json_string(props[i]));
	for (size_t i = 0; i < sizeof body_props / sizeof body_props[0]; i++)
		json_array_append_new(bp, json_string(body_props[i]));
	/* the first line as one more property, if jansson takes it */
	const char *nl = memchr(raw, '\n', size < 200 ? size : 200);
	if (nl) {
		json_t *s = json_stringn(raw, (size_t)(nl - raw));
		if (s)
			json_array_append_new(p, s);
	}
	json_t *args = json_pack("{s:O,s:b,s:I}", "bodyProperties", bp, "fetchAllBodyValues", 1,
	                         "maxBodyValueBytes", (json_int_t)(size % 97));
	struct jmap_email_opts o;
	const char *why = NULL;
	if (jmap_email_opts_parse(args, p, &o, &why) != 0) {
		/* the extra property was refused: without it */
		json_array_remove(p, json_array_size(p) - 1);
		if (jmap_email_opts_parse(args, p, &o, &why) != 0)
			abort();
	}
	json_t *obj = json_object();
	if (jmap_email_render(obj, raw, size, 42, &o) == 0) {
		char *dump = json_dumps(obj, JSON_COMPACT);
		if (!dump)
			abort();
		free(dump);
		download_all(raw, size, json_object_get(obj, "bodyStructure"));
	}
	json_decref(obj);

	/* a snippet for two terms taken from the input */
	char t1[8] = "", t2[4] = "";
	if (size > 2)
		memcpy(t1, raw, size - 2 < 7 ? size - 2 : 7);
	if (size > 12)
		memcpy(t2, raw + 9, 3);
	const char *terms[] = {t1, t2, "the"};
	json_t *sn = json_object();
	if (jmap_email_snippet(sn, raw, size, terms, 3) == 0) {
		const char *pv = json_string_value(json_object_get(sn, "preview"));
		if (pv && strlen(pv) > 255)
			abort();
	}
	json_decref(sn);
	json_decref(args);
	json_decref(bp);
	json_decref(p);
	return 0;
}
