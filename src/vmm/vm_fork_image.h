/* A fork's memory image and the background writing of its memory file
 * (see vm_fork_image.c).  Internal to the VM object. */
#ifndef NIMBUS_VMM_VM_FORK_IMAGE_H
#define NIMBUS_VMM_VM_FORK_IMAGE_H

#include <stdint.h>

#include "lib/err.h"

struct vm_parts;
struct log_sink;
struct vm_fork_images;

/*
 * With the VM paused: guest RAM as it is now into *image, a memfd (close-on-
 * exec) that nothing writes again: RAM's own memfd, then mapped privately
 * (no copy; *copied = 0), or a new one holding a copy of the pages with
 * data (*copied: their bytes).  *ram_file: the file RAM is mapped from
 * after it (a descriptor of it), or -1 (anonymous RAM).  0 or -errno with
 * err set (RAM unchanged).
 */
int vm_fork_image_take(struct vm_parts *p, int *image, int *ram_file, uint64_t *copied,
		       struct err *err);

/* A VM's set of fork threads (made with the VM, so that forks from two
 * control clients at once share it).  NULL: out of memory. */
struct vm_fork_images *vm_fork_images_new(void);

/*
 * Once the children have the image, on a thread of its own (one of f's):
 * gives vm RAM of its own again (ram_file >= 0: see vm_fork_image.c), then
 * writes dir/memory (sparse) from image.  Owns image and ram_file from
 * here, even on failure.  A failure is logged through log.  0 or -errno
 * with err set (nothing started).
 */
struct vm;
int vm_fork_image_after(struct vm *vm, struct vm_fork_images *f, const char *dir, int image,
			int ram_file, const struct log_sink *log, struct err *err);

/* Waits until no thread of f is giving the VM its own RAM back: a fork
 * that followed another closely then freezes RAM instead of copying it,
 * and its guest runs while the copy is finished instead of standing still
 * for one.  NULL: nothing. */
void vm_fork_images_settle(struct vm_fork_images *f);

/* Waits for every writer, then frees f (NULL: nothing). */
void vm_fork_images_free(struct vm_fork_images *f);

#endif
