/* fuzz_toml: parse arbitrary bytes as TOML, walk the result, free it.
 *
 * The walk touches every accessor so a malformed tree (bad lengths, dangling
 * entries) shows up under ASan, not just crashes inside the parser. It is
 * iterative on purpose: the tree may be up to TOML_MAX_DEPTH deep. */
#include "lib/toml.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define WALK_MAX 4096

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct toml_error err;
	struct toml_value *root = toml_parse((const char *)data, size, &err);
	if (!root) {
		/* errors always carry a position and a message */
		if (err.line < 1 || err.col < 1 || !err.msg[0] ||
		    strnlen(err.msg, sizeof(err.msg)) == sizeof(err.msg))
			__builtin_trap();
		return 0;
	}
	struct toml_value *stack[WALK_MAX];
	size_t sp = 0, sum = 0;
	stack[sp++] = root;
	while (sp) {
		struct toml_value *v = stack[--sp];
		if (toml_line(v) < 1 || toml_col(v) < 1)
			__builtin_trap();
		switch (toml_type(v)) {
		case TOML_TABLE:
			for (size_t i = 0; i < toml_table_size(v); i++) {
				size_t klen;
				const char *k = toml_table_key_len(v, i, &klen);
				if (toml_table_getn(v, k, klen) != toml_table_value(v, i))
					__builtin_trap();
				if (sp < WALK_MAX)
					stack[sp++] = toml_table_value(v, i);
			}
			break;
		case TOML_ARRAY:
			for (size_t i = 0; i < toml_array_size(v); i++)
				if (sp < WALK_MAX)
					stack[sp++] = toml_array_get(v, i);
			break;
		case TOML_STRING: {
			size_t len;
			const char *s = toml_string(v, &len);
			if (s[len] != '\0')
				__builtin_trap();
			sum += len;
			break;
		}
		case TOML_INTEGER:
			sum += (size_t)toml_int(v);
			break;
		case TOML_FLOAT:
			sum += toml_float(v) > 0;
			break;
		case TOML_BOOL:
			sum += toml_bool(v);
			break;
		default:
			sum += strlen(toml_datetime_text(v));
			break;
		}
	}
	toml_free(&root);
	if (root)
		__builtin_trap();
	return sum == (size_t)-1;
}
