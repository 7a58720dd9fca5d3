# tests/isa/rules.mk: bare-metal RISC-V ISA conformance tests, included by the
# top Makefile.  `make isa` builds every tests/isa/*.S, *.c (and bad/*.S)
# into build/isa/<name>.elf (bad/ ones into build/isa/bad/), each linked with
# the shared runtime and linker script in tests/isa/lib.  Needs
# riscv64-linux-gnu-gcc; without it `make isa` only prints a notice.
# Variables are prefixed ISA_ to stay out of the rest of the build's way.

ISA_CC      := riscv64-linux-gnu-gcc
ISA_DIR     := tests/isa
ISA_OUT     := build/isa
ISA_HAVE_CC := $(shell command -v $(ISA_CC) 2>/dev/null)
ISA_CFLAGS  := -march=rv64gc -mabi=lp64d -mcmodel=medany -mno-relax -static \
               -nostdlib -nostartfiles -ffreestanding -fno-pic -O2 -g \
               -Wall -Wextra -Werror -I$(ISA_DIR)
ISA_LDFLAGS := -T $(ISA_DIR)/lib/link.ld -Wl,--no-relax -Wl,--build-id=none \
               -Wl,--no-warn-rwx-segments
ISA_LIB     := $(ISA_DIR)/lib/runtime.S
ISA_DEPS    := $(ISA_LIB) $(ISA_DIR)/isa.h $(wildcard $(ISA_DIR)/*.inc) $(ISA_DIR)/lib/link.ld $(ISA_DIR)/rules.mk
ISA_SRC     := $(sort $(wildcard $(ISA_DIR)/*.S $(ISA_DIR)/*.c $(ISA_DIR)/bad/*.S))
ISA_ELF     := $(patsubst $(ISA_DIR)/%,$(ISA_OUT)/%.elf,$(basename $(ISA_SRC)))

.PHONY: isa
ifneq ($(ISA_HAVE_CC),)
isa: $(ISA_ELF)

$(ISA_OUT)/%.elf: $(ISA_DIR)/%.S $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(ISA_CC) $(ISA_CFLAGS) $(ISA_LDFLAGS) -o $@ $(ISA_LIB) $<

# bad-guest programs bring their own _start and no trap handler
$(ISA_OUT)/bad/%.elf: $(ISA_DIR)/bad/%.S $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(ISA_CC) $(ISA_CFLAGS) $(ISA_LDFLAGS) -o $@ $<

$(ISA_OUT)/%.elf: $(ISA_DIR)/%.c $(ISA_DEPS)
	@mkdir -p $(dir $@)
	$(ISA_CC) $(ISA_CFLAGS) $(ISA_LDFLAGS) -o $@ $(ISA_LIB) $<
else
isa:
	@echo "isa: $(ISA_CC) not found, ISA tests not built (apt-get install gcc-riscv64-linux-gnu)"
endif
