/* The control protocol codec: requests, access rules, events. */
#include <criterion/criterion.h>
#include <string.h>

#include "control/control-proto.h"
#include "wg/wg-key.h"

#define KEY "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg="

static void setup(void)
{
	cr_assert_eq(wg_key_init(), 0);
}

TestSuite(control, .init = setup);

static bool parse(const char *text, struct control_request *req, GError **error)
{
	return control_request_parse(text, strlen(text), req, error);
}

static void expect_error(const char *text, const char *needle)
{
	g_autoptr(GError) error = NULL;
	struct control_request req;

	cr_assert_not(parse(text, &req, &error), "accepted: %s", text);
	cr_assert_not_null(error);
	cr_assert(strstr(error->message, needle), "error '%s' lacks '%s'", error->message, needle);
}

Test(control, every_command)
{
	struct control_request req;
	uint8_t key[32];

	cr_assert(parse("{\"command\":\"show\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_SHOW);
	cr_assert_str_eq(req.interface, "");
	cr_assert_not(req.has_peer);
	cr_assert(parse("{\"command\":\"show\",\"interface\":\"wg0\",\"peer\":\"" KEY "\"}", &req, NULL));
	cr_assert_str_eq(req.interface, "wg0");
	cr_assert(req.has_peer);
	cr_assert(wg_key_from_base64(key, KEY));
	cr_assert_eq(memcmp(req.peer, key, 32), 0);
	cr_assert(parse("{\"command\":\"monitor\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_MONITOR);
	cr_assert(parse(" { \"interface\" : \"wg1\", \"command\" : \"add\" } ", &req, NULL));
	cr_assert_eq(req.command, CONTROL_ADD);
	cr_assert_str_eq(req.interface, "wg1");
	cr_assert(parse("{\"command\":\"delete\",\"interface\":\"wg1\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_DELETE);
	cr_assert(parse("{\"command\":\"restart\",\"interface\":\"wg0\",\"peer\":\"" KEY "\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_RESTART);
	cr_assert(parse("{\"command\":\"sync\"}", &req, NULL));
	cr_assert(parse("{\"command\":\"sync\",\"interface\":\"wg0\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_SYNC);
	cr_assert(parse("{\"command\":\"reload\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_RELOAD);
}

Test(control, which_commands_change_things)
{
	cr_assert_not(control_command_changes(CONTROL_SHOW));
	cr_assert_not(control_command_changes(CONTROL_MONITOR));
	cr_assert(control_command_changes(CONTROL_ADD));
	cr_assert(control_command_changes(CONTROL_DELETE));
	cr_assert(control_command_changes(CONTROL_RESTART));
	cr_assert(control_command_changes(CONTROL_SYNC));
	cr_assert(control_command_changes(CONTROL_RELOAD));
	cr_assert(control_command_changes((enum control_command)99));
}

Test(control, errors_quote_the_input)
{
	expect_error("hello", "'hello'");
	expect_error("[1,2]", "'[1,2]'");
	expect_error("42", "not a JSON object");
	expect_error("{\"command\":", "not a JSON object");
	expect_error("{}", "no \"command\"");
	expect_error("{\"command\":42}", "\"command\" must be a string");
	expect_error("{\"command\":null}", "\"command\" must be a string");
	expect_error("{\"command\":\"frobnicate\"}", "unknown command 'frobnicate'");
	expect_error("{\"command\":\"show\",\"verbose\":true}", "unknown member 'verbose'");
	expect_error("{\"command\":\"add\"}", "'add' needs \"interface\"");
	expect_error("{\"command\":\"restart\",\"interface\":\"wg0\"}", "'restart' needs \"peer\"");
	expect_error("{\"command\":\"reload\",\"interface\":\"wg0\"}", "'reload' takes no \"interface\"");
	expect_error("{\"command\":\"sync\",\"interface\":\"wg0\",\"peer\":\"" KEY "\"}", "takes no \"peer\"");
	expect_error("{\"command\":\"show\",\"peer\":\"" KEY "\"}", "\"peer\" needs \"interface\"");
	expect_error("{\"command\":\"add\",\"interface\":\"wg0/../x\"}", "invalid interface name 'wg0/../x'");
	expect_error("{\"command\":\"add\",\"interface\":\"a-very-long-name0\"}", "'a-very-long-name0'");
	expect_error("{\"command\":\"add\",\"interface\":\"\"}", "invalid interface name ''");
	expect_error("{\"command\":\"add\",\"interface\":\"wg 0\"}", "'wg 0'");
	expect_error("{\"command\":\"add\",\"interface\":[\"wg0\"]}", "\"interface\" must be a string");
	expect_error("{\"command\":\"restart\",\"interface\":\"wg0\",\"peer\":\"abc\"}", "invalid peer 'abc'");
}

Test(control, long_bad_input_is_quoted_short)
{
	g_autofree char *long_name = g_strnfill(3000, 'x');
	g_autofree char *text = g_strdup_printf("{\"command\":\"%s\"}", long_name);
	g_autoptr(GError) error = NULL;
	struct control_request req;

	cr_assert_not(parse(text, &req, &error));
	cr_assert_lt(strlen(error->message), 200);
	cr_assert(strstr(error->message, "..."));
}

Test(control, control_characters_are_escaped_in_errors)
{
	g_autoptr(GError) error = NULL;
	struct control_request req;

	cr_assert_not(parse("{\"command\":\"a\\u001bb\"}", &req, &error));
	cr_assert_null(strchr(error->message, 0x1b), "raw escape in '%s'", error->message);
}

Test(control, nul_and_invalid_utf8_rejected)
{
	static const char nul[] = "{\"command\":\"show\"}\0x";
	static const char latin1[] = "{\"command\":\"sh\xf6w\"}";
	g_autoptr(GError) e1 = NULL, e2 = NULL;
	struct control_request req;

	cr_assert_not(control_request_parse(nul, sizeof(nul) - 1, &req, &e1));
	cr_assert(strstr(e1->message, "UTF-8"));
	cr_assert_not(control_request_parse(latin1, strlen(latin1), &req, &e2));
	cr_assert(strstr(e2->message, "UTF-8"));
}

/* Every proper prefix of a valid request is rejected, and never crashes. */
Test(control, truncations_rejected)
{
	static const char *const requests[] = {
		"{\"command\":\"restart\",\"interface\":\"wg0\",\"peer\":\"" KEY "\"}",
		"{\"command\":\"show\"}",
	};

	for (size_t r = 0; r < G_N_ELEMENTS(requests); r++)
		for (size_t len = 0; len < strlen(requests[r]); len++) {
			g_autoptr(GError) error = NULL;
			struct control_request req;

			cr_assert_not(control_request_parse(requests[r], len, &req, &error), "prefix %zu accepted", len);
			cr_assert_not_null(error);
		}
}

Test(control, deep_nesting_is_an_error_not_a_crash)
{
	GString *text = g_string_new("{\"command\":\"show\",\"x\":");
	struct control_request req;

	for (int i = 0; i < 2000; i++)
		g_string_append_c(text, '[');
	cr_assert_not(control_request_parse(text->str, text->len, &req, NULL));
	g_string_free(text, TRUE);
}

/* --- access ------------------------------------------------------------------ */

static const struct control_policy policy = {
	.owner = 0, .read_gid = 100, .has_admin_gid = true, .admin_gid = 200,
};

Test(control, access_rules)
{
	gid_t admin_groups[] = { 5, 200 };
	gid_t reader_groups[] = { 100 };
	struct control_creds root = { 0, 0, NULL, 0 };
	struct control_creds admin_primary = { 1000, 200, NULL, 0 };
	struct control_creds admin_supplementary = { 1000, 1000, admin_groups, 2 };
	struct control_creds reader = { 1000, 1000, reader_groups, 1 };
	struct control_creds reader_primary = { 1000, 100, NULL, 0 };
	struct control_creds stranger = { 1000, 1000, NULL, 0 };
	struct control_policy no_admin = policy;
	struct control_policy own_user = policy;

	cr_assert_eq(control_access(&root, &policy), CONTROL_ACCESS_ADMIN);
	cr_assert_eq(control_access(&admin_primary, &policy), CONTROL_ACCESS_ADMIN);
	cr_assert_eq(control_access(&admin_supplementary, &policy), CONTROL_ACCESS_ADMIN);
	cr_assert_eq(control_access(&reader, &policy), CONTROL_ACCESS_READ);
	cr_assert_eq(control_access(&reader_primary, &policy), CONTROL_ACCESS_READ);
	cr_assert_eq(control_access(&stranger, &policy), CONTROL_ACCESS_NONE);
	no_admin.has_admin_gid = false;
	no_admin.admin_gid = 0;
	cr_assert_eq(control_access(&admin_primary, &no_admin), CONTROL_ACCESS_NONE);
	cr_assert_eq(control_access(&root, &no_admin), CONTROL_ACCESS_ADMIN);
	own_user.owner = 1000;
	cr_assert_eq(control_access(&stranger, &own_user), CONTROL_ACCESS_ADMIN);
}

/* --- events ------------------------------------------------------------------ */

static char *describe(const struct wice_event *ev, bool full_keys, char **ret_json)
{
	g_autoptr(JsonNode) node = wice_event_to_json(ev, 1714564800123456);

	*ret_json = json_to_string(node, FALSE);
	return wice_event_describe(json_node_get_object(node), full_keys);
}

Test(control, peer_state_event)
{
	struct wice_event ev = {
		.type = WICE_EVENT_PEER_STATE, .interface = "wg0", .peer = KEY,
		.old_state = "connecting", .state = "connected", .reason = "pair selected",
	};
	g_autofree char *json = NULL;
	g_autofree char *text = describe(&ev, false, &json);
	g_autofree char *full = NULL;

	cr_assert_str_eq(json, "{\"event\":\"peer-state\",\"time\":\"2024-05-01T12:00:00.123Z\",\"interface\":\"wg0\","
			       "\"peer\":\"" KEY "\",\"old_state\":\"connecting\",\"state\":\"connected\","
			       "\"reason\":\"pair selected\"}");
	cr_assert_str_eq(text, "wg0/xTIBA5rboUv: connecting -> connected (pair selected)");
	g_free(json);
	full = describe(&ev, true, &json);
	cr_assert_str_eq(full, "wg0/" KEY ": connecting -> connected (pair selected)");
}

Test(control, selected_pair_event)
{
	struct wice_event ev = {
		.type = WICE_EVENT_SELECTED_PAIR, .interface = "wg0", .peer = KEY, .proxy = "nft",
		.local = { "host", "192.0.2.1", 4000 }, .remote = { "relay", "2001:db8::1", 49152 },
	};
	g_autofree char *json = NULL;
	g_autofree char *text = describe(&ev, false, &json);

	cr_assert(strstr(json, "\"local\":{\"type\":\"host\",\"address\":\"192.0.2.1\",\"port\":4000}"), "%s", json);
	cr_assert_str_eq(text, "wg0/xTIBA5rboUv: selected pair host 192.0.2.1:4000 -> relay [2001:db8::1]:49152, proxy nft");
}

Test(control, other_events)
{
	static const struct {
		struct wice_event ev;
		const char *text;
	} cases[] = {
		{ { .type = WICE_EVENT_INTERFACE_ADDED, .interface = "wg0" }, "wg0: interface added" },
		{ { .type = WICE_EVENT_INTERFACE_REMOVED, .interface = "wg0", .reason = "interface gone" },
		  "wg0: interface removed (interface gone)" },
		{ { .type = WICE_EVENT_PEER_ADDED, .interface = "wg0", .peer = KEY }, "wg0/xTIBA5rboUv: peer added" },
		{ { .type = WICE_EVENT_PEER_REMOVED, .interface = "wg0", .peer = KEY, .reason = "removed from WireGuard" },
		  "wg0/xTIBA5rboUv: peer removed (removed from WireGuard)" },
		{ { .type = WICE_EVENT_BACKEND_UP, .url = "mcast://" }, "signaling mcast:// up" },
		{ { .type = WICE_EVENT_BACKEND_DOWN, .url = "http://x", .reason = "refused" },
		  "signaling http://x down (refused)" },
		{ { .type = WICE_EVENT_CONFIG_RELOADED, .path = "/etc/wice/wice.conf" },
		  "configuration reloaded from /etc/wice/wice.conf" },
		{ { .type = WICE_EVENT_SHUTDOWN }, "shutting down" },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *json = NULL;
		g_autofree char *text = describe(&cases[i].ev, false, &json);

		cr_assert_str_eq(text, cases[i].text);
		cr_assert(strstr(json, wice_event_name(cases[i].ev.type)), "%s", json);
	}
}

/* A newer daemon may send events this client does not know. */
Test(control, unknown_event_described_by_name)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *text = NULL;

	cr_assert(json_parser_load_from_data(parser, "{\"event\":\"peer-teleported\",\"interface\":\"wg0\"}", -1, NULL));
	text = wice_event_describe(json_node_get_object(json_parser_get_root(parser)), false);
	cr_assert_str_eq(text, "wg0: peer teleported");
}

Test(control, ping)
{
	struct control_request req;

	cr_assert(parse("{\"command\":\"ping\",\"interface\":\"wg0\",\"peer\":\"" KEY "\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_PING);
	cr_assert_str_eq(req.interface, "wg0");
	cr_assert(req.has_peer);
	/* it sends one echo request: reading, like show */
	cr_assert_not(control_command_changes(CONTROL_PING));
	expect_error("{\"command\":\"ping\",\"interface\":\"wg0\"}", "'ping' needs \"peer\"");
	expect_error("{\"command\":\"ping\"}", "'ping' needs \"interface\"");
	expect_error("{\"command\":\"ping\",\"interface\":\"wg0\",\"peer\":\"nope\"}", "invalid peer 'nope'");
}

#define SECRET "wice://v1/AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"

Test(control, mesh_commands)
{
	struct control_request req;
	g_autoptr(GError) error = NULL;

	cr_assert(parse("{\"command\":\"mesh-leave\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_MESH_LEAVE);
	cr_assert(control_command_changes(CONTROL_MESH_LEAVE));
	cr_assert(parse("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "\"}", &req, NULL));
	cr_assert_eq(req.command, CONTROL_MESH_ROTATE);
	cr_assert_str_eq(req.secret, SECRET);
	cr_assert_eq(req.grace_s, CONTROL_GRACE_DEFAULT_S);
	cr_assert(parse("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "\",\"grace\":90}", &req, NULL));
	cr_assert_eq(req.grace_s, 90);
	cr_assert(control_command_changes(CONTROL_MESH_ROTATE));
	expect_error("{\"command\":\"mesh-rotate\"}", "'mesh-rotate' needs \"secret\"");
	expect_error("{\"command\":\"mesh-leave\",\"secret\":\"" SECRET "\"}", "takes no \"secret\"");
	expect_error("{\"command\":\"show\",\"grace\":5}", "takes no \"grace\"");
	expect_error("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "\",\"grace\":0}", "\"grace\" must be");
	expect_error("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "\",\"grace\":2592001}", "\"grace\" must be");
	expect_error("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "\",\"grace\":\"1h\"}", "\"grace\" must be");
	/* A secret that does not fit is refused without being repeated. */
	cr_assert_not(parse("{\"command\":\"mesh-rotate\",\"secret\":\"" SECRET "-and-more-than-fits-in-the-field\"}",
			    &req, &error));
	cr_assert_null(strstr(error->message, "AAECAwQF"), "%s", error->message);
}
