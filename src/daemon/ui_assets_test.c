/* Unit tests for the web console's built-in files (ui_assets.c): all are
 * there and whole, the page names only files that are served, and nothing
 * but the listed paths is found. */
#include "daemon/ui.h"
#include "lib/testing.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

TEST(ui_every_file_is_built_in_whole)
{
	struct ui_asset a;
	size_t i = 0;
	for (; ui_asset_at(i, &a) == 0; i++) {
		EXPECT(a.len > 0);
		EXPECT_EQ(strlen((const char *)a.data), a.len);   /* text, NUL after it */
		EXPECT(!strncmp(a.path, "/ui/", 4));
		EXPECT(a.type && a.type[0]);
	}
	EXPECT(i >= 8);
	EXPECT_EQ(ui_lookup("/ui/vendor/xterm.js", &a, &(const char *){ NULL }), 0);
	EXPECT(strstr((const char *)a.data, "Terminal"));
}

TEST(ui_the_page_names_only_served_files)
{
	struct ui_asset page, a;
	const char *redirect = NULL;
	EXPECT_EQ(ui_lookup("/ui/", &page, &redirect), 0);
	int refs = 0;
	for (const char *p = (const char *)page.data; (p = strstr(p, "=\"/ui/")); p++) {
		char path[128];
		EXPECT(sscanf(p + 2, "%127[^\"]", path) == 1);
		EXPECT_EQ(ui_lookup(path, &a, &redirect), 0);
		refs++;
	}
	EXPECT_EQ(refs, 5);   /* two style sheets, three scripts */
}

TEST(ui_only_listed_paths_are_found_and_the_root_redirects)
{
	struct ui_asset a;
	const char *redirect = NULL;
	EXPECT_EQ(ui_lookup("/", &a, &redirect), 1);
	EXPECT(!strcmp(redirect, "/ui/"));
	EXPECT_EQ(ui_lookup("/ui", &a, &redirect), 1);
	EXPECT_EQ(ui_lookup("/ui/../etc/passwd", &a, &redirect), -ENOENT);
	EXPECT_EQ(ui_lookup("/ui/vendor/", &a, &redirect), -ENOENT);
	EXPECT_EQ(ui_lookup("/ui/app.js/", &a, &redirect), -ENOENT);
	EXPECT(ui_wanted("GET", "/ui/x") && ui_wanted("HEAD", "/") && !ui_wanted("POST", "/ui/"));
	EXPECT(!ui_wanted("GET", "/uix") && !ui_wanted("GET", "/1.0"));
}
