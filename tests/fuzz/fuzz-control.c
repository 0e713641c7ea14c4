/* libFuzzer harness for the control protocol codec: the daemon's request
 * parser, and the event description that `wice monitor` makes of
 * whatever a daemon sends. */
#include <stdint.h>
#include <stdlib.h>

#include "control/control-proto.h"
#include "wg/wg-key.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (wg_key_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	JsonParser *parser = json_parser_new();
	struct control_request req;

	control_request_parse(text, size, &req, NULL);
	if (g_utf8_validate(text, (gssize)size, NULL) && json_parser_load_from_data(parser, text, (gssize)size, NULL) &&
	    control_root_object(parser))
		g_free(wice_event_describe(control_root_object(parser), true));
	g_object_unref(parser);
	return 0;
}
