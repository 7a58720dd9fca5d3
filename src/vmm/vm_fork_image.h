/* A fork's memory image and the background writing of its memory file
 * (see vm_fork_image.c).  Internal to the VM object. */
#ifndef NIMBUS_VMM_VM_FORK_IMAGE_H
#define NIMBUS_VMM_VM_FORK_IMAGE_H

#include <stdint.h>

#include "lib/err.h"

struct vm_parts;
struct log_sink;
struct vm_fork_images;

/* What a fork hands its children: descriptors (close-on-exec), -1 for none. */
struct vm_fork_image {
	int image;      /* RAM as it was at the fork, or its base: nothing writes it again */
	int diff;       /* the pages to copy over image (a memory.diff), or -1 */
	int ram_file;   /* the file RAM is mapped from after the fork (-1: anonymous) */
};

/*
 * With the VM paused: guest RAM as it is now into out (see vm_fork_image.c
 * for the three ways); *copied: the bytes of RAM copied for it (0 for a
 * freeze).  0 or -errno with err set (RAM unchanged, nothing open).
 */
int vm_fork_image_take(struct vm_parts *p, struct vm_fork_image *out, uint64_t *copied,
		       struct err *err);
/* Closes img's descriptors. */
void vm_fork_image_close(const struct vm_fork_image *img);

/* A VM's set of fork threads (made with the VM, so that forks from two
 * control clients at once share it).  NULL: out of memory. */
struct vm_fork_images *vm_fork_images_new(void);

/*
 * Once the children have the image, on a thread of its own (one of f's):
 * gives vm RAM of its own again (img->ram_file >= 0 and no other thread of
 * f doing so: see vm_fork_image.c), then writes dir/memory (sparse) from
 * img.  Owns img's descriptors from here, even on failure.  A failure is
 * logged through log.  0 or -errno with err set (nothing started).
 */
struct vm;
int vm_fork_image_after(struct vm *vm, struct vm_fork_images *f, const char *dir,
			const struct vm_fork_image *img, const struct log_sink *log,
			struct err *err);

/*
 * Puts bus's RAM (untouched yet) in a file a fork can hand over
 * (bus_ram_share): where memfds get no huge pages (bus_shared_ram_hugepages)
 * and f can mount a private tmpfs that gives them (vm_fork_tmpfs.c), a file
 * of that tmpfs, else a memfd.  0 or -errno.
 */
struct bus;
int vm_fork_images_share_ram(struct vm_fork_images *f, struct bus *bus);

/* A fork is under way (hold) or over (release, once its children are up):
 * meanwhile f's threads hold their copies back. */
void vm_fork_images_hold(struct vm_fork_images *f);
void vm_fork_images_release(struct vm_fork_images *f);

/* Waits for every thread of f, then frees f (NULL: nothing). */
void vm_fork_images_free(struct vm_fork_images *f);

#endif
