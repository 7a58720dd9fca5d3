#include "vmm/vm_args.h"
#include "lib/testing.h"

#include <string.h>

TEST(disk_spec_path_only_is_writable_raw)
{
	char s[] = "/tmp/root.img";
	struct vm_disk d;
	EXPECT(vm_disk_parse(s, &d, NULL) == 0);
	EXPECT(!strcmp(d.path, "/tmp/root.img"));
	EXPECT(!d.readonly);
	EXPECT(d.format == NULL && d.serial == NULL);
}

TEST(disk_spec_options)
{
	char s[] = "a.qcow2,ro,format=qcow2,serial=disk-1";
	struct vm_disk d;
	EXPECT(vm_disk_parse(s, &d, NULL) == 0);
	EXPECT(!strcmp(d.path, "a.qcow2"));
	EXPECT(d.readonly);
	EXPECT(!strcmp(d.format, "qcow2"));
	EXPECT(!strcmp(d.serial, "disk-1"));
}

TEST(disk_spec_errors_name_the_bad_part)
{
	struct err e = { 0 };
	struct vm_disk d;
	char a[] = "x.img,format=vmdk";
	EXPECT(vm_disk_parse(a, &d, &e) < 0);
	EXPECT(strstr(e.msg, "format=vmdk"));
	char b[] = "x.img,rw";
	EXPECT(vm_disk_parse(b, &d, &e) < 0);
	EXPECT(strstr(e.msg, "'rw'"));
	char c[] = ",ro";
	EXPECT(vm_disk_parse(c, &d, &e) < 0);
	EXPECT(strstr(e.msg, "path"));
	char z[] = "";
	EXPECT(vm_disk_parse(z, &d, &e) < 0);
	char l[] = "x.img,serial=123456789012345678901";
	EXPECT(vm_disk_parse(l, &d, &e) < 0);
}

TEST(append_longer_than_the_kernel_limit_refused)
{
	static char s[100 * 1024 + 1];
	struct err e = { 0 };
	EXPECT_EQ(vm_append_check(NULL, &e), 0);
	memset(s, 'x', VM_APPEND_MAX);
	EXPECT_EQ(vm_append_check(s, &e), 0);
	s[VM_APPEND_MAX] = 'x';
	EXPECT(vm_append_check(s, &e) < 0);
	EXPECT(strstr(e.msg, "--append: 1024 bytes") && strstr(e.msg, "1023"));
	memset(s, 'x', sizeof s - 1);
	EXPECT(vm_append_check(s, &e) < 0);
	EXPECT(strstr(e.msg, "102400 bytes") && !strstr(e.msg, "FDT"));
}
