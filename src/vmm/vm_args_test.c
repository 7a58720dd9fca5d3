#include "vmm/vm_args.h"
#include "lib/testing.h"

#include <errno.h>
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

TEST(slot_option_parsed_and_range_checked)
{
	struct err e = { 0 };
	struct vm_slot sl = { 0 };
	EXPECT_EQ(vm_slot_parse("--rng", "slot=0", &sl, &e), 0);
	EXPECT(sl.set && sl.n == 0);
	EXPECT_EQ(vm_slot_parse("--rng", "slot=7", &sl, &e), 0);
	EXPECT_EQ(sl.n, 7);
	EXPECT_EQ(vm_slot_parse("--rng", "mac=x", &sl, &e), -ENOENT);
	EXPECT_EQ(vm_slot_parse("--rng", "slot=8", &sl, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--rng: slot=8: out of range"));
	const char *bad[] = { "slot=", "slot=-1", "slot= 1", "slot=1x", "slot=99999999999999999999" };
	for (unsigned i = 0; i < sizeof bad / sizeof bad[0]; i++)
		EXPECT_EQ(vm_slot_parse("--rng", bad[i], &sl, &e), -EINVAL);
	char d[] = "x.img,ro,slot=0";
	struct vm_disk disk;
	EXPECT_EQ(vm_disk_parse(d, &disk, &e), 0);
	EXPECT(disk.readonly && disk.slot.set && disk.slot.n == 0);
	char d2[] = "x.img,slot=9";
	EXPECT_EQ(vm_disk_parse(d2, &disk, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--disk x.img: slot=9"));
}

TEST(slot_taken_out_of_other_options)
{
	struct err e = { 0 };
	struct vm_slot sl = { 0 };
	char a[] = "user,slot=2,mac=52:54:00:12:34:99";
	EXPECT_EQ(vm_slot_take("--net", a, &sl, &e), 0);
	EXPECT(!strcmp(a, "user,mac=52:54:00:12:34:99") && sl.set && sl.n == 2);
	char b[] = "virtio,slot=0";
	sl = (struct vm_slot){ 0 };
	EXPECT_EQ(vm_slot_take("--console", b, &sl, &e), 0);
	EXPECT(!strcmp(b, "virtio") && sl.set && sl.n == 0);
	char c[] = "slot=1,tap";
	EXPECT_EQ(vm_slot_take("--net", c, &sl, &e), 0);
	EXPECT(!strcmp(c, "tap") && sl.n == 1);
	char d[] = "tap,ifname=t0";
	sl = (struct vm_slot){ 0 };
	EXPECT_EQ(vm_slot_take("--net", d, &sl, &e), 0);
	EXPECT(!strcmp(d, "tap,ifname=t0") && !sl.set);
	char f[] = "user,slot=12";
	EXPECT_EQ(vm_slot_take("--net user,slot=12", f, &sl, &e), -EINVAL);
	EXPECT(strstr(e.msg, "slot=12: out of range"));
}

TEST(net_slots_count_and_macs_counted_up_from_the_first)
{
	struct vm_config cfg = {0};
	struct err e = {0};
	EXPECT_EQ(vm_net_slots_parse("2,mac=52:54:02:00:00:ff", &cfg, &e), 0);
	EXPECT_EQ(cfg.net_slots, 2);
	EXPECT(cfg.net_slot_mac[1].has_mac);
	EXPECT_EQ(cfg.net_slot_mac[1].mac[4], 0x01);
	EXPECT_EQ(cfg.net_slot_mac[1].mac[5], 0x00);
	EXPECT_EQ(vm_net_slots_parse("1", &cfg, &e), 0);
	EXPECT(!cfg.net_slot_mac[0].has_mac);
	EXPECT_EQ(vm_net_slots_parse("5", &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--net-slots 5: expected N[,mac=MAC], N from 0 to 4"));
	EXPECT_EQ(vm_net_slots_parse("1,mac=01:00:00:00:00:01", &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "multicast"));
	EXPECT_EQ(vm_net_slots_parse("2,mac=52:54:00:ff:ff:ff", &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "wrap"));
	EXPECT_EQ(vm_net_slots_parse("1,ifname=x", &cfg, &e), -EINVAL);
}

TEST(slot_disk_names_its_slot_and_takes_only_writable_qcow2)
{
	struct vm_config cfg = {0};
	struct err e = {0};
	char a[] = "2:/v/hot1.qcow2,serial=hot1", b[] = "2:/v/x.qcow2", c[] = "1:/v/x,ro",
	     d[] = "8:/v/x", f[] = "/v/x";
	EXPECT_EQ(vm_slot_disk_parse(a, &cfg, &e), 0);
	EXPECT(!strcmp(cfg.slot_disks[2].path, "/v/hot1.qcow2"));
	EXPECT(!strcmp(cfg.slot_disks[2].serial, "hot1"));
	EXPECT_EQ(vm_slot_disk_parse(b, &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--slot-disk 2: given twice"));
	EXPECT_EQ(vm_slot_disk_parse(c, &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "writable qcow2"));
	EXPECT_EQ(vm_slot_disk_parse(d, &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "N from 0 to 7"));
	EXPECT_EQ(vm_slot_disk_parse(f, &cfg, &e), -EINVAL);
}

TEST(slot_nic_names_its_slot_and_a_tap)
{
	struct vm_config cfg = {0};
	struct err e = {0};
	EXPECT_EQ(vm_slot_nic_parse("1:nt0a1b2c3d", &cfg, &e), 0);
	EXPECT(!strcmp(cfg.slot_taps[1], "nt0a1b2c3d"));
	EXPECT_EQ(vm_slot_nic_parse("1:other", &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "--slot-nic 1: given twice"));
	EXPECT_EQ(vm_slot_nic_parse("4:x", &cfg, &e), -EINVAL);
	EXPECT(strstr(e.msg, "N from 0 to 3"));
	EXPECT_EQ(vm_slot_nic_parse("0:abcdefghijklmnop", &cfg, &e), -EINVAL);
	EXPECT_EQ(vm_slot_nic_parse("0:", &cfg, &e), -EINVAL);
}
