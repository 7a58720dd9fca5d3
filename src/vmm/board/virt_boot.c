/*
 * Boot image placement for the virt board.  See virt_boot.h; the rules
 * reproduce the addresses QEMU 7.2's virt machine uses (the FDT address was
 * checked against QEMU's reset ROM contents).
 */
#include "vmm/board/virt_boot.h"

#include <errno.h>
#include <string.h>

#define MiB (1ull << 20)
#define GiB (1ull << 30)

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) & ~(a - 1); }
static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

struct span {
	const char *what, *path;
	uint64_t lo, hi;
	bool fixed;        /* at the address it was linked for (an ELF), not placed by us */
};

static int overlaps(const struct span *a, const struct span *b)
{
	return a->lo < b->hi && b->lo < a->hi;
}

/* A placed image must lie in RAM; when the board chose the place, say RAM is short. */
static int check_fit(const struct image *img, uint64_t ram_base, uint64_t ram_size,
		     struct err *err)
{
	uint64_t lo = image_lo(img), hi = image_hi(img);
	if (image_relocatable(img) && lo >= ram_base && hi > ram_base + ram_size)
		return err_set(err, -ENOSPC,
			       "%llu MiB of RAM is too small: %s %s goes at 0x%llx-0x%llx",
			       (unsigned long long)(ram_size >> 20), img->what, img->path,
			       (unsigned long long)lo, (unsigned long long)hi);
	return image_check(img, ram_base, ram_size, err);
}

int virt_boot_plan(struct image *bios, struct image *kernel, struct image *initrd,
		   uint64_t ram_base, uint64_t ram_size, uint64_t fdt_size,
		   struct virt_boot_plan *plan, struct err *err)
{
	memset(plan, 0, sizeof(*plan));
	uint64_t ram_end = ram_base + ram_size;
	struct span spans[4];
	unsigned n = 0;
	int rc;

	if (!bios && !kernel)
		return err_set(err, -EINVAL, "nothing to boot: no firmware (--bios none) and no kernel");

	uint64_t kernel_at = ram_base;
	if (bios) {
		if (image_relocatable(bios))
			image_place(bios, ram_base);
		if ((rc = check_fit(bios, ram_base, ram_size, err)))
			return rc;
		kernel_at = align_up(image_hi(bios), 2 * MiB);
		spans[n++] = (struct span){ bios->what, bios->path, image_lo(bios), image_hi(bios),
					    !image_relocatable(bios) };
		plan->start = ram_base;
	}
	if (kernel) {
		if (image_relocatable(kernel))
			image_place(kernel, kernel_at);
		if ((rc = check_fit(kernel, ram_base, ram_size, err)))
			return rc;
		plan->kernel_entry = kernel->entry;
		spans[n++] = (struct span){ kernel->what, kernel->path, image_lo(kernel), image_hi(kernel),
					    !image_relocatable(kernel) };
		if (!bios)
			plan->start = kernel->entry;
	}
	if (initrd) {
		uint64_t base = kernel ? plan->kernel_entry : ram_base;
		uint64_t off = ram_size / 2 < 128 * MiB ? ram_size / 2 : 128 * MiB;
		image_place(initrd, base + off);
		if ((rc = check_fit(initrd, ram_base, ram_size, err)))
			return rc;
		plan->initrd_start = image_lo(initrd);
		plan->initrd_end = image_hi(initrd);
		spans[n++] = (struct span){ initrd->what, initrd->path, plan->initrd_start, plan->initrd_end, false };
	}

	uint64_t top = ram_base < 3 * GiB ? (ram_end < 3 * GiB ? ram_end : 3 * GiB) : ram_end;
	if (top - ram_base < fdt_size)
		return err_set(err, -ENOSPC, "%llu KiB of RAM is too small for the device tree",
			       (unsigned long long)(ram_size >> 10));
	plan->fdt_addr = align_down(top - fdt_size, 2 * MiB);
	if (plan->fdt_addr < ram_base)
		plan->fdt_addr = ram_base;
	spans[n++] = (struct span){ "device tree", NULL, plan->fdt_addr, plan->fdt_addr + fdt_size, false };

	for (unsigned i = 0; i < n; i++)
		for (unsigned j = i + 1; j < n; j++) {
			if (!overlaps(&spans[i], &spans[j]))
				continue;
			/* An ELF sits where it was linked: more RAM would not help. */
			if (spans[i].fixed || spans[j].fixed) {
				const struct span *f = spans[j].fixed ? &spans[j] : &spans[i];
				const struct span *o = f == &spans[j] ? &spans[i] : &spans[j];
				return err_set(err, -EINVAL,
					       "%s %s (0x%llx-0x%llx) is an ELF linked over %s%s%s "
					       "(0x%llx-0x%llx)%s",
					       f->what, f->path, (unsigned long long)f->lo,
					       (unsigned long long)f->hi, o->what, o->path ? " " : "",
					       o->path ? o->path : "", (unsigned long long)o->lo,
					       (unsigned long long)o->hi,
					       bios && o->what == bios->what ?
					       ": link it above the firmware (0x80200000) or boot "
					       "it with --bios none" : "");
			}
			return err_set(err, -ENOSPC,
					       "%llu MiB of RAM is too small: %s%s%s (0x%llx-0x%llx) "
					       "overlaps %s%s%s (0x%llx-0x%llx)",
					       (unsigned long long)(ram_size >> 20),
					       spans[i].what, spans[i].path ? " " : "",
					       spans[i].path ? spans[i].path : "",
					       (unsigned long long)spans[i].lo, (unsigned long long)spans[i].hi,
					       spans[j].what, spans[j].path ? " " : "",
					       spans[j].path ? spans[j].path : "",
					       (unsigned long long)spans[j].lo, (unsigned long long)spans[j].hi);
		}

	plan->info = (struct fw_dynamic_info){
		.magic = FW_DYNAMIC_INFO_MAGIC,
		.version = FW_DYNAMIC_INFO_VERSION,
		.next_addr = plan->kernel_entry,
		.next_mode = FW_DYNAMIC_NEXT_MODE_S,
		.options = 0,
		.boot_hart = 0,
	};
	return 0;
}
