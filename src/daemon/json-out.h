/* Members of the JSON the daemon hands out (`wice show --json`, the
 * diagnosis, netcheck, the mesh): a name and one value each, with null
 * where there is nothing to say, so that a script finds every member
 * always there. */
#pragma once

#include <glib.h>
#include <stdbool.h>
#include <json-glib/json-glib.h>

/* A string, or null for NULL. */
static inline void json_add_string(JsonBuilder *b, const char *name, const char *value)
{
	json_builder_set_member_name(b, name);
	if (value)
		json_builder_add_string_value(b, value);
	else
		json_builder_add_null_value(b);
}

static inline void json_add_int(JsonBuilder *b, const char *name, gint64 value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_int_value(b, value);
}

static inline void json_add_bool(JsonBuilder *b, const char *name, bool value)
{
	json_builder_set_member_name(b, name);
	json_builder_add_boolean_value(b, value);
}

/* true, false, or null for not known (< 0). */
static inline void json_add_tristate(JsonBuilder *b, const char *name, int value)
{
	json_builder_set_member_name(b, name);
	if (value < 0)
		json_builder_add_null_value(b);
	else
		json_builder_add_boolean_value(b, value > 0);
}
