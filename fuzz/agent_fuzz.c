/*
 * libFuzzer target: the guest agent channel as the VMM sees it.  The input
 * is what a hostile guest writes into the org.nimbus.agent port, delivered
 * to the host end (guest_agent.c) in pieces of the sizes the first bytes
 * pick, while one request waits for an answer: it must never crash, read or
 * write out of bounds, or complete the request with output beyond its cap.
 * Each line is also fed to both parsers of agent_proto.c directly (the
 * agent's own request parser too: the same code runs in the guest).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/agent_proto.h"
#include "vmm/guest_agent.h"

static struct agent_msg msg;
static struct agent_req req;

static void parse_lines(const uint8_t *data, size_t size)
{
	const char *why;
	size_t start = 0;
	for (size_t i = 0; i <= size; i++) {
		if (i < size && data[i] != '\n')
			continue;
		const char *line = (const char *)data + start;
		size_t len = i - start;
		if (agent_msg_parse(line, len, &msg, &why) == 0) {
			if (msg.kind == AGENT_MSG_OUT && (msg.len > AGENT_CHUNK_MAX || msg.stream < 1 ||
							  msg.stream > 2))
				abort();
			if (msg.kind == AGENT_MSG_ERROR && strlen((char *)msg.data) != msg.len)
				abort();
		}
		if (agent_req_parse(line, len, &req, &why) == 0) {
			if (req.kind == AGENT_REQ_EXEC && (!req.argc || req.argv[req.argc]))
				abort();
			for (unsigned a = 0; a < req.argc; a++)
				if (!strlen(req.argv[a]) && req.argv[a][0])
					abort();
		}
		start = i + 1;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_lines(data, size);

	struct guest_agent *ga;
	if (guest_agent_create(&ga, NULL) < 0)
		return 0;
	struct chardev *c = guest_agent_chardev(ga);
	guest_agent_port_open(c->host, true);
	/* Hand the bytes over in pieces: lines split across writes must join. */
	size_t off = 0;
	unsigned k = 0;
	while (off < size) {
		size_t piece = 1 + (size_t)(data[k++ % size] % 97);
		if (piece > size - off)
			piece = size - off;
		c->write(c->host, data + off, piece);
		off += piece;
	}
	guest_agent_close(ga);
	guest_agent_destroy(ga);
	return 0;
}
