/* `wice mesh join`, `wice mesh leave` and `wice mesh rotate`: running a
 * mesh, leaving it, and replacing its secret.
 *
 * join is `wice daemon -f` with a [mesh] section made from its options
 * (on top of the configuration file, if there is one); leave and rotate
 * ask the running daemon over the control socket.  The secret comes from
 * a file, never from the command line. */
#include "config.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "control/control-client.h"
#include "control/control-proto.h"
#include "daemon/wice-config.h"
#include "mesh/mesh-secret.h"
#include "util/log.h"
#include "wg/wg-device.h"

/* Puts the options into the [mesh] section; false with a message. */
static bool set_mesh(struct wice_mesh_config *m, const char *secret_file, const char *ifname, const char *state_dir,
		     const char *hostname)
{
	if (ifname && !wg_ifname_valid(ifname)) {
		fprintf(stderr, "wice mesh join: invalid interface name '%s'\n", ifname);
		return false;
	}
	m->enabled = true;
	if (m->secret)
		explicit_bzero(m->secret, strlen(m->secret));
	g_clear_pointer(&m->secret, g_free);
	g_free(m->secret_file);
	m->secret_file = g_canonicalize_filename(secret_file, NULL);
	if (ifname || !*m->ifname)
		g_strlcpy(m->ifname, ifname ? ifname : WICE_MESH_DEFAULT_IFACE, sizeof(m->ifname));
	if (state_dir || !m->state_dir) {
		g_free(m->state_dir);
		m->state_dir = g_canonicalize_filename(state_dir ? state_dir : WICE_MESH_DEFAULT_STATE_DIR, NULL);
	}
	if (hostname) {
		g_free(m->hostname);
		m->hostname = g_strdup(hostname);
	}
	if (!m->advertise_routes)
		m->advertise_routes = g_new0(char *, 1);
	return true;
}

int cmd_mesh_join(int argc, char **argv)
{
	g_autofree char *secret_file = NULL, *ifname = NULL, *state_dir = NULL, *hostname = NULL;
	g_autofree char *config_path = NULL, *socket_path = NULL;
	gint verbose = 0;
	GOptionEntry entries[] = {
		{ "secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_file, "The mesh secret (required)", "FILE" },
		{ "interface", 'i', 0, G_OPTION_ARG_STRING, &ifname, "The mesh interface (default wgmesh0)", "NAME" },
		{ "state-dir", 0, 0, G_OPTION_ARG_FILENAME, &state_dir, "Host key and peer cache (default "
		  WICE_MESH_DEFAULT_STATE_DIR ")", "DIR" },
		{ "hostname", 0, 0, G_OPTION_ARG_STRING, &hostname, "The name to announce", "NAME" },
		{ "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "Configuration file for everything else "
		  "(default " WICE_CONFIG_DEFAULT_PATH ")", "FILE" },
		{ "socket", 's', 0, G_OPTION_ARG_FILENAME, &socket_path, "Control socket (default $WICE_SOCKET or "
		  WICE_DEFAULT_SOCKET ")", "PATH" },
		{ "verbose", 'v', G_OPTION_FLAG_NO_ARG, G_OPTION_ARG_CALLBACK, log_more_verbose, "More log output", NULL },
		{ 0 }
	};
	g_autoptr(GOptionContext) ctx = g_option_context_new("- join a mesh: the daemon in the foreground");
	g_autoptr(GError) error = NULL;
	uint8_t secret[MESH_SECRET_LEN];
	struct wice_config *cfg;

	(void)verbose;
	g_set_prgname("wice mesh join");
	g_option_context_add_main_entries(ctx, entries, NULL);
	if (!g_option_context_parse(ctx, &argc, &argv, &error) || argc > 1) {
		fprintf(stderr, "wice mesh join: %s\n", error ? error->message : "unexpected argument");
		return 1;
	}
	if (!secret_file) {
		fprintf(stderr, "wice mesh join: --secret-file is required (make one with `wice mesh init`)\n");
		return 1;
	}
	/* Checked now, for an error before anything starts. */
	if (!cmd_mesh_read_secret("wice mesh join", secret_file, secret))
		return 1;
	sodium_memzero(secret, sizeof(secret));
	cmd_daemon_defaults(&config_path, &socket_path);
	cfg = wice_config_load(config_path, &error);
	if (!cfg) {
		fprintf(stderr, "wice mesh join: %s\n", error->message);
		return 1;
	}
	if (!set_mesh(&cfg->mesh, secret_file, ifname, state_dir, hostname)) {
		wice_config_free(cfg);
		return 1;
	}
	g_set_prgname("wice");
	return cmd_run_daemon(cfg, config_path, NULL, socket_path, true);
}

int cmd_mesh_leave(int argc, char **argv)
{
	g_autofree char *socket = NULL;
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(GError) error = NULL;

	if (!cmd_parse_client("mesh leave", "", "announce departure and remove the mesh interface", NULL, 0, 0, &argc,
			      &argv, &socket))
		return 1;
	request = control_request_new("mesh-leave", NULL, NULL);
	if (!control_call(control_socket_path(socket), request, parser, &error)) {
		fprintf(stderr, "wice mesh leave: %s\n", error->message);
		return 1;
	}
	return 0;
}

/* "90", "90s", "30m", "24h", "7d": seconds, within the protocol's cap. */
static bool parse_duration(const char *text, uint32_t *ret)
{
	char *end;
	guint64 n = g_ascii_strtoull(text, &end, 10);
	guint64 unit = 1;

	if (end == text)
		return false;
	if (*end && end[1])
		return false;
	switch (*end) {
	case '\0':
	case 's':
		break;
	case 'm':
		unit = 60;
		break;
	case 'h':
		unit = 3600;
		break;
	case 'd':
		unit = 86400;
		break;
	default:
		return false;
	}
	if (n == 0 || n > CONTROL_GRACE_MAX_S / unit)
		return false;
	*ret = (uint32_t)(n * unit);
	return true;
}

static JsonNode *rotate_request(const char *secret, uint32_t grace)
{
	g_autoptr(JsonBuilder) b = json_builder_new();

	json_builder_begin_object(b);
	json_builder_set_member_name(b, "command");
	json_builder_add_string_value(b, "mesh-rotate");
	json_builder_set_member_name(b, "secret");
	json_builder_add_string_value(b, secret);
	json_builder_set_member_name(b, "grace");
	json_builder_add_int_value(b, grace);
	json_builder_end_object(b);
	return json_builder_get_root(b);
}

int cmd_mesh_rotate(int argc, char **argv)
{
	g_autofree char *socket = NULL, *secret_file = NULL, *grace_text = NULL;
	GOptionEntry extra[] = {
		{ "new-secret-file", 0, 0, G_OPTION_ARG_FILENAME, &secret_file, "The new secret (required)", "FILE" },
		{ "grace", 0, 0, G_OPTION_ARG_STRING, &grace_text, "How long the old secret is still accepted "
		  "(e.g. 90s, 30m, 24h, 7d; default 24h, at most 30d)", "DURATION" },
		{ 0 }
	};
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autoptr(JsonNode) request = NULL;
	g_autoptr(GError) error = NULL;
	uint32_t grace = CONTROL_GRACE_DEFAULT_S;
	uint8_t secret[MESH_SECRET_LEN];
	char text[MESH_SECRET_STR_LEN];
	bool ok;

	if (!cmd_parse_client("mesh rotate", "", "replace the mesh secret", extra, 0, 0, &argc, &argv, &socket))
		return 1;
	if (!secret_file) {
		fprintf(stderr, "wice mesh rotate: --new-secret-file is required (make one with `wice mesh init`)\n");
		return 1;
	}
	if (grace_text && !parse_duration(grace_text, &grace)) {
		fprintf(stderr, "wice mesh rotate: invalid --grace '%s' (e.g. 90s, 30m, 24h, 7d; at most 30d)\n",
			grace_text);
		return 1;
	}
	if (!cmd_mesh_read_secret("wice mesh rotate", secret_file, secret))
		return 1;
	mesh_secret_format(secret, text);
	sodium_memzero(secret, sizeof(secret));
	request = rotate_request(text, grace);
	sodium_memzero(text, sizeof(text));
	ok = control_call(control_socket_path(socket), request, parser, &error);
	if (!ok)
		fprintf(stderr, "wice mesh rotate: %s\n", error->message);
	return ok ? 0 : 1;
}
