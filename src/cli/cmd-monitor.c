/* `wice monitor [--json]`: the daemon's events as they happen, until
 * interrupted or until the daemon stops.  One line per event: the time
 * and a description, or with --json the event object as the daemon sent
 * it ({"event":...,"time":...}, see control-proto.h for the members). */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "control/control-client.h"

/* "2024-05-01T12:00:00.123Z" -> "14:00:00.123" in local time. */
static char *local_time(const char *iso)
{
	g_autoptr(GDateTime) utc = iso ? g_date_time_new_from_iso8601(iso, NULL) : NULL;
	g_autoptr(GDateTime) local = utc ? g_date_time_to_local(utc) : NULL;
	g_autofree char *hms = local ? g_date_time_format(local, "%H:%M:%S") : NULL;

	if (!hms)
		return g_strdup(iso ? iso : "?");
	return g_strdup_printf("%s.%03d", hms, g_date_time_get_microsecond(local) / 1000);
}

/* Prints one event; true when it says the daemon is shutting down. */
static bool print_event(const char *line, bool json)
{
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *when = NULL, *text = NULL;
	JsonObject *ev;

	if (!json_parser_load_from_data(parser, line, -1, NULL) || !control_root_object(parser)) {
		fprintf(stderr, "wice monitor: malformed event from the daemon\n");
		return false;
	}
	ev = control_root_object(parser);
	if (json) {
		printf("%s\n", line);
	} else {
		when = local_time(json_object_get_string_member_with_default(ev, "time", NULL));
		text = wice_event_describe(ev, true);
		printf("%s %s\n", when, text);
	}
	return g_strcmp0(json_object_get_string_member_with_default(ev, "event", NULL), "shutdown") == 0;
}

static int follow(int fd, GString *buf, bool json)
{
	g_autoptr(GError) error = NULL;
	bool shutdown = false;
	char *line;

	while ((line = control_read_line(fd, buf, &error))) {
		shutdown = print_event(line, json);
		g_free(line);
	}
	if (error) {
		fprintf(stderr, "wice monitor: %s\n", error->message);
		return 1;
	}
	if (!shutdown)
		fprintf(stderr, "wice monitor: the daemon closed the connection\n");
	return shutdown ? 0 : 1;
}

/* Connects and asks for events; the socket, or -1 and @error. */
static int subscribe(const char *path, GString *buf, GError **error)
{
	g_autoptr(JsonNode) request = control_request_new("monitor", NULL, NULL);
	g_autoptr(JsonParser) parser = json_parser_new();
	g_autofree char *first = NULL;
	GError *why = NULL;
	int fd = control_connect(path, request, &why);

	if (fd >= 0 && !(first = control_read_line(fd, buf, &why)) && !why)
		g_set_error(&why, CONTROL_ERROR, 1, "the daemon closed the connection without a reply");
	if (first)
		control_parse_reply(parser, first, &why);
	if (why) {
		if (fd >= 0)
			close(fd);
		g_propagate_error(error, why);
		return -1;
	}
	return fd;
}

int cmd_monitor(int argc, char **argv)
{
	g_autofree char *socket = NULL;
	g_autoptr(GString) buf = g_string_new(NULL);
	g_autoptr(GError) error = NULL;
	gboolean json = FALSE;
	GOptionEntry entries[] = {
		{ "json", 'j', 0, G_OPTION_ARG_NONE, &json, "Print each event as the daemon's JSON", NULL },
		{ 0 }
	};
	int fd, status;

	if (!cmd_parse_client("monitor", "", "print the daemon's events until interrupted", entries, 0, 0, &argc, &argv,
			      &socket))
		return 1;
	fd = subscribe(control_socket_path(socket), buf, &error);
	if (fd < 0) {
		fprintf(stderr, "wice monitor: %s\n", error->message);
		return 1;
	}
	/* Lines must reach a pipe as they happen, not when a buffer fills. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	status = follow(fd, buf, json);
	close(fd);
	return status;
}
