/* `wice netcheck [--json] [-c FILE]`: what the network in front of this
 * host lets through (src/daemon/netcheck.h), measured with the STUN and
 * TURN servers of the configuration ([ice] urls), in this process: no
 * daemon needed.  The human report looks like `tailscale netcheck`; --json
 * prints the report as it is, for scripts and tests. */
#include "config.h"

#include <stdio.h>

#include "cmd.h"
#include "daemon/netcheck.h"
#include "daemon/resolve.h"
#include "daemon/wice-config.h"

static const char *str(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	return n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n)
											      : NULL;
}

/* "yes", "no" or "unknown" for a boolean member that may be null. */
static const char *yes_no(JsonObject *o, const char *name)
{
	JsonNode *n = o ? json_object_get_member(o, name) : NULL;

	if (!n || !JSON_NODE_HOLDS_VALUE(n))
		return "unknown";
	return json_node_get_boolean(n) ? "yes" : "no";
}

static double ms(JsonObject *o, const char *name)
{
	return json_object_get_double_member_with_default(o, name, 0);
}

static void print_family(JsonObject *root, const char *name, const char *label)
{
	JsonObject *f = json_object_get_object_member(root, name);
	g_autoptr(GList) servers = json_array_get_elements(json_object_get_array_member(f, "stun"));

	if (json_object_has_member(f, "global_address"))
		printf("\t* %s: global address: %s, UDP: %s%s%s\n", label, yes_no(f, "global_address"), yes_no(f, "udp"),
		       str(f, "mapped") ? ", mapped " : "", str(f, "mapped") ? str(f, "mapped") : "");
	else
		printf("\t* %s: UDP: %s%s%s\n", label, yes_no(f, "udp"), str(f, "mapped") ? ", mapped " : "",
		       str(f, "mapped") ? str(f, "mapped") : "");
	for (GList *l = servers; l; l = l->next) {
		JsonObject *s = json_node_get_object(l->data);

		if (json_object_get_boolean_member_with_default(s, "answered", FALSE))
			printf("\t\t- STUN %s: %.2f ms, saw %s\n", str(s, "server"), ms(s, "rtt_ms"),
			       str(s, "mapped") ? str(s, "mapped") : "?");
		else
			printf("\t\t- STUN %s: no answer\n", str(s, "server"));
	}
}

static void print_human(JsonObject *root)
{
	JsonObject *pm = json_object_get_object_member(root, "port_mapping");
	g_autoptr(GList) turn = json_array_get_elements(json_object_get_array_member(root, "turn"));
	const char *mapping = str(root, "mapping");

	printf("Report:\n");
	printf("\t* UDP: %s\n", yes_no(root, "udp"));
	print_family(root, "ipv4", "IPv4");
	print_family(root, "ipv6", "IPv6");
	printf("\t* Behind NAT: %s\n", yes_no(root, "behind_nat"));
	printf("\t* Mapping varies by destination: %s (%s)\n",
	       g_strcmp0(mapping, "endpoint-dependent") == 0	 ? "yes"
	       : g_strcmp0(mapping, "endpoint-independent") == 0 ? "no"
								 : "unknown",
	       mapping ? mapping : "unknown");
	printf("\t* Port preserved: %s\n", yes_no(root, "port_preserved"));
	printf("\t* Hairpinning: %s\n", yes_no(root, "hairpinning"));
	printf("\t* Port mapping: gateway %s, PCP: %s, NAT-PMP: %s, UPnP: %s\n", yes_no(pm, "gateway"),
	       yes_no(pm, "pcp"), yes_no(pm, "natpmp"), yes_no(pm, "upnp"));
	printf("\t* TURN:%s\n", turn ? "" : " no TURN server configured");
	for (GList *l = turn; l; l = l->next) {
		JsonObject *t = json_node_get_object(l->data);

		if (json_object_get_boolean_member_with_default(t, "reachable", FALSE))
			printf("\t\t- %s over %s: %.2f ms (%s)\n", str(t, "url"), str(t, "transport"), ms(t, "rtt_ms"),
			       str(t, "answer"));
		else
			printf("\t\t- %s over %s: unreachable (%s)\n", str(t, "url"), str(t, "transport"),
			       str(t, "answer") ? str(t, "answer") : "?");
	}
}

static void on_resolved(struct wice_config *cfg, void *data)
{
	*(bool *)data = true;
}

int cmd_netcheck(int argc, char **argv)
{
	g_autofree char *config_path = NULL, *socket_path = NULL, *text = NULL;
	g_autoptr(wice_config) cfg = NULL;
	g_autoptr(GError) error = NULL;
	g_autoptr(JsonNode) report = NULL;
	gboolean json = FALSE;
	bool resolved = false;
	const GOptionEntry entries[] = {
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path,
		  "Configuration file whose [ice] urls to use (default " WICE_CONFIG_DEFAULT_PATH ")", "FILE" },
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print the report as JSON", NULL },
		{ 0 }
	};

	g_autoptr(GOptionContext) ctx = g_option_context_new("- check UDP, the NAT in front of this host, port "
							      "mapping and TURN servers");

	g_set_prgname("wice netcheck");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error)) {
		fprintf(stderr, "wice netcheck: %s\n", error->message);
		return 1;
	}
	if (argc > 1) {
		fprintf(stderr, "wice netcheck: unexpected argument '%s' (see wice netcheck --help)\n", argv[1]);
		return 1;
	}
	cmd_daemon_defaults(&config_path, &socket_path);
	cfg = wice_config_load(config_path, &error);
	if (!cfg) {
		fprintf(stderr, "wice netcheck: %s\n", error->message);
		return 1;
	}
	if (!cfg->defaults.n_ice_servers) {
		fprintf(stderr, "wice netcheck: %s has no STUN or TURN server ([ice] urls)\n", config_path);
		return 1;
	}
	config_resolve_start(cfg, on_resolved, &resolved);
	while (!resolved)
		g_main_context_iteration(NULL, TRUE);
	report = netcheck_run(&cfg->defaults);
	if (json) {
		text = json_to_string(report, FALSE);
		printf("%s\n", text);
	} else {
		print_human(json_node_get_object(report));
	}
	return 0;
}
