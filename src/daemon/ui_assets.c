/*
 * The web console's files, each included whole with .incbin (the Makefile
 * makes this object depend on web/ui).  A file is found by its exact path;
 * there is no directory listing and no path is ever joined to a directory,
 * so no URL can reach anything but these files.
 */
#include "daemon/ui.h"

#include <errno.h>
#include <string.h>

/* Defines sym (the bytes, NUL after them) and sym_len from file. */
#define UI_FILE(sym, file)                                                         \
	__asm__(".pushsection .rodata\n"                                           \
		".balign 16\n"                                                     \
		".global " #sym "\n"                                               \
		".type " #sym ", @object\n" #sym ":\n"                             \
		".incbin \"" file "\"\n" #sym "_end:\n"                            \
		".byte 0\n"                                                        \
		".balign 8\n"                                                      \
		".global " #sym "_len\n"                                           \
		".type " #sym "_len, @object\n" #sym "_len:\n"                     \
		".quad " #sym "_end - " #sym "\n"                                  \
		".popsection\n");                                                  \
	extern const unsigned char sym[];                                          \
	extern const size_t sym##_len

UI_FILE(nimbus_ui_index, "web/ui/index.html");
UI_FILE(nimbus_ui_app, "web/ui/app.js");
UI_FILE(nimbus_ui_style, "web/ui/style.css");
UI_FILE(nimbus_ui_xterm_js, "web/ui/vendor/xterm.js");
UI_FILE(nimbus_ui_xterm_css, "web/ui/vendor/xterm.css");
UI_FILE(nimbus_ui_fit_js, "web/ui/vendor/addon-fit.js");
UI_FILE(nimbus_ui_xterm_license, "web/ui/vendor/LICENSE.xterm");
UI_FILE(nimbus_ui_fit_license, "web/ui/vendor/LICENSE.addon-fit");

#define JS "text/javascript; charset=utf-8"
#define CSS "text/css; charset=utf-8"
#define TEXT "text/plain; charset=utf-8"

static const struct {
	const char *path, *type;
	const unsigned char *data;
	const size_t *len;           /* a link-time value: not a constant to copy */
} files[] = {
	{ "/ui/", "text/html; charset=utf-8", nimbus_ui_index, &nimbus_ui_index_len },
	{ "/ui/index.html", "text/html; charset=utf-8", nimbus_ui_index, &nimbus_ui_index_len },
	{ "/ui/app.js", JS, nimbus_ui_app, &nimbus_ui_app_len },
	{ "/ui/style.css", CSS, nimbus_ui_style, &nimbus_ui_style_len },
	{ "/ui/vendor/xterm.js", JS, nimbus_ui_xterm_js, &nimbus_ui_xterm_js_len },
	{ "/ui/vendor/xterm.css", CSS, nimbus_ui_xterm_css, &nimbus_ui_xterm_css_len },
	{ "/ui/vendor/addon-fit.js", JS, nimbus_ui_fit_js, &nimbus_ui_fit_js_len },
	{ "/ui/vendor/LICENSE.xterm", TEXT, nimbus_ui_xterm_license, &nimbus_ui_xterm_license_len },
	{ "/ui/vendor/LICENSE.addon-fit", TEXT, nimbus_ui_fit_license, &nimbus_ui_fit_license_len },
};

bool ui_wanted(const char *method, const char *url)
{
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return false;
	return !strcmp(url, "/") || !strcmp(url, "/ui") || !strncmp(url, "/ui/", 4);
}

int ui_asset_at(size_t i, struct ui_asset *out)
{
	if (i >= sizeof files / sizeof files[0])
		return -ENOENT;
	*out = (struct ui_asset){ files[i].path, files[i].type, files[i].data, *files[i].len };
	return 0;
}

int ui_lookup(const char *url, struct ui_asset *out, const char **redirect)
{
	if (!strcmp(url, "/") || !strcmp(url, "/ui")) {
		*redirect = "/ui/";
		return 1;
	}
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
		if (!strcmp(url, files[i].path))
			return ui_asset_at(i, out);
	return -ENOENT;
}
