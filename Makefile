# nimbus build.  `make` builds the binaries, `make check` runs the test suite.
#
# Sources are found by wildcard, so adding a file needs no edit here:
#   src/lib/*.c                      shared pieces
#   src/vmm/**.c                     the VMM library (cpu, board, virtio, vm)
#   src/cli/*.c                      the `nimbus` command (one file per verb)
#   src/ctr/*.c, src/ctr/cli/*.c     the OCI runtime library and `nimbus-runtime`
#   src/daemon/*.c                   the management daemon and its API client
#                                    (`nimbus daemon`, also `nimbusd`)
#   src/dhcphook/main.c              `nimbus-dhcp-hook`, containers' DHCP hook
#   **/*_test.c                      unit tests: each one a program in build/tests/
#
# `make SAN=1` builds everything with ASan+UBSan into build-san/.

CC       ?= cc
SAN      ?=
ifeq ($(SAN),1)
BUILD    ?= build-san
OPT      ?= -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
else
BUILD    ?= build
OPT      ?= -O2
endif

CFLAGS   ?= -g
CFLAGS   += -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -pthread -Isrc -MMD -MP $(OPT)
LDFLAGS  += -pthread $(filter -fsanitize%,$(OPT))

VMM_LIBS := -lfdt -lcjson -lseccomp -lz
CTR_LIBS := -lcjson -lseccomp -lcap
DAEMON_LIBS := -lmicrohttpd -lsqlite3 -lcurl -lcjson -lm -larchive -lcrypto -lgnutls -lmnl -lnftables

ALL_SRC   = $(shell find src -name '*.c' | sort)
TEST_SRC  = $(filter %_test.c %_fuzz.c,$(ALL_SRC))
LIB_SRC   = $(filter-out $(TEST_SRC),$(wildcard src/lib/*.c))
VMM_SRC   = $(filter-out $(TEST_SRC),$(filter src/vmm/%,$(ALL_SRC)))
CLI_SRC   = $(filter-out $(TEST_SRC),$(wildcard src/cli/*.c))
CTR_SRC   = $(filter-out $(TEST_SRC),$(wildcard src/ctr/*.c))
CTRCLI_SRC= $(filter-out $(TEST_SRC),$(wildcard src/ctr/cli/*.c))
DAEMON_SRC= $(filter-out $(TEST_SRC),$(wildcard src/daemon/*.c))
UNIT_SRC  = $(filter %_test.c,$(ALL_SRC))

obj = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB_OBJ   = $(call obj,$(LIB_SRC))
VMM_OBJ   = $(call obj,$(VMM_SRC))
CTR_OBJ   = $(call obj,$(CTR_SRC))
DAEMON_OBJ= $(call obj,$(DAEMON_SRC))
UNIT_BIN  = $(patsubst src/%_test.c,$(BUILD)/tests/%_test,$(UNIT_SRC))

BINS := $(BUILD)/nimbus $(BUILD)/nimbusd $(BUILD)/nimbus-dhcp-hook
ifneq ($(CTRCLI_SRC),)
BINS += $(BUILD)/nimbus-runtime
endif

.PHONY: all unit check clean guest
.SECONDARY:
all: $(BINS)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# Static archives: a program links only the objects it needs, so a unit test
# of one module does not depend on every other module being complete.
VMM_A = $(BUILD)/libnimbus-vmm.a
CTR_A = $(BUILD)/libnimbus-ctr.a
LIB_A = $(BUILD)/libnimbus-lib.a
DAEMON_A = $(BUILD)/libnimbus-daemon.a

$(VMM_A): $(VMM_OBJ)
$(CTR_A): $(CTR_OBJ)
$(LIB_A): $(LIB_OBJ)
$(DAEMON_A): $(DAEMON_OBJ)
$(VMM_A) $(CTR_A) $(LIB_A) $(DAEMON_A):
	@mkdir -p $(dir $@)
	rm -f $@
	$(AR) rcs $@ $^

# `nimbus` is the lean front (src/cli/vmm_main.c): it runs `vm run`, `vm
# control` and the console relay itself, linked with the VMM's libraries only,
# and execs `nimbusd`, the whole of nimbus, for every other command.  Run as
# `nimbusd`, that is `nimbus daemon`.
FRONT_SRC := $(addprefix src/cli/,vmm_main.c cli_common.c vm_run.c vm_fork_child.c \
	default_disk.c vm_control.c vm_control_exec.c vm_control_snapshot.c vm_control_fork.c \
	vm_control_migrate.c \
	console_relay.c) \
	src/daemon/console_relay.c
# The VMM's own libraries go in statically (their -dev packages ship the
# archives; libcjson-dev does not): each shared object costs every VMM start
# its loading and relocation, ~0.5 ms apiece here, and a restore is meant to
# run in a few ms (docs/snapshot.md).
FRONT_LIBS := -Wl,-Bstatic -lfdt -lseccomp -lz -Wl,-Bdynamic -lcjson
$(BUILD)/nimbus: $(call obj,$(FRONT_SRC)) $(VMM_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(FRONT_LIBS)

# rm first: it was once a symlink to nimbus, and the linker would write through it.
$(BUILD)/nimbusd: $(call obj,$(filter-out src/cli/vmm_main.c,$(CLI_SRC))) $(DAEMON_A) $(VMM_A) $(LIB_A)
	rm -f $@
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS) $(DAEMON_LIBS)

# The OpenAPI document is built into the daemon (.incbin).
$(BUILD)/src/daemon/openapi_doc.o: src/daemon/openapi.json
# So are the web console's files (docs/web-console.md).
$(BUILD)/src/daemon/ui_assets.o: $(wildcard web/ui/*.* web/ui/vendor/*)

# The hook busybox udhcpc runs for a container's NIC (src/daemon/dhcp_hook.h),
# found by the daemon beside itself.
$(BUILD)/nimbus-dhcp-hook: $(call obj,src/dhcphook/main.c) $(DAEMON_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ -lmnl

$(BUILD)/nimbus-runtime: $(call obj,$(CTRCLI_SRC)) $(CTR_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $^ $(CTR_LIBS)

$(BUILD)/tests/%_test: $(BUILD)/src/%_test.o $(BUILD)/tests/unit_main.o $(DAEMON_A) $(VMM_A) $(CTR_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(VMM_LIBS) $(CTR_LIBS) $(DAEMON_LIBS)

# Build every unit-test program (tests/run runs them).
unit: $(UNIT_BIN)

# Guest-side test programs (bare-metal RISC-V), if the cross compiler exists.
-include tests/isa/rules.mk

check:
	tests/run

guest:
	guest/build

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
