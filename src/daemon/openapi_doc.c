/*
 * The OpenAPI document, src/daemon/openapi.json, built into the binary so
 * the daemon serves exactly the file kept in the repository (api_test.c
 * holds it against the route table).  The Makefile makes this object depend
 * on the JSON file.  api_openapi_len excludes the NUL that ends the text.
 */
#include "daemon/api.h"

__asm__(".pushsection .rodata\n"
	".global api_openapi_doc\n"
	".type api_openapi_doc, @object\n"
	"api_openapi_doc:\n"
	".incbin \"src/daemon/openapi.json\"\n"
	"api_openapi_doc_end:\n"
	".byte 0\n"
	".balign 8\n"
	".global api_openapi_len\n"
	".type api_openapi_len, @object\n"
	"api_openapi_len:\n"
	".quad api_openapi_doc_end - api_openapi_doc\n"
	".popsection\n");
