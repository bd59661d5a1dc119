# qvm top-level build.  User space with make; kernel modules with Kbuild
# (see Kbuild, kqemu-kmod/, kvm-kmod/).
#
#   make            build build/qvm and build/qvm-img
#   make check      build everything and run every test
#   make san        the ASan+UBSan build in build/san (tests/san/run)
#   make check-tsan ThreadSanitizer over the SMP guest tests (build/tsan)
#   make check-debian  a Debian 12 system's programs under tcg and kqemu
#   make run        build qvm and the Linux guest, boot it (Ctrl-A x quits)
#   make guest-linux  the default Linux guest in build/linux (scripts/build-guest)
#   make bench      benchmarks against QEMU (bench/)
#   make bench-debian  only the Debian 12 figures, OpenSSL and x86-64-v3 ones included
#                      (builds build/debian first)
#   make bench-kqemu   only the kqemu figures (-accel kqemu vs QEMU's TCG)
#   make bench-nested  qvm and QEMU, both -accel kvm, in the nested test host
#                      of tests/nested (bench/run nested; minutes)
#   make debian-image  the Debian 12 image of those (scripts/build-debian-image)

CC      ?= cc
CFLAGS  ?= -O2 -g
QVM_CFLAGS := -std=gnu11 -Wall -Wextra -D_GNU_SOURCE -pthread -MMD -MP
# libslirp: user-mode networking (user/net/slirp.c, <slirp/libslirp.h>)
LDLIBS  := -lurcu-memb -laio -lz -lslirp -lm -pthread
# libpng: the monitor's screendump (user/ui/display.c)
LDLIBS  += -lpng
# the front ends: libvncserver (user/ui/vnc.c) and SDL2 (user/ui/sdl.c)
LDLIBS  += -lvncserver -lSDL2
B       := build

USER_SRCS := $(wildcard user/*.c user/*/*.c user/pc/boot/*.c user/tcg/jit/*.c)
USER_SRCS := $(filter-out user/img/%,$(USER_SRCS))
# kqemu's process backend: qvm's side here, its child (stub*) below
USER_SRCS += $(filter-out user/kqemu/proc/stub%,$(wildcard user/kqemu/proc/*.c))
# kqemu's module backend: qvm's side of /dev/kqemu (the module: kqemu-kmod/)
USER_SRCS += $(wildcard user/kqemu/module/*.c)
USER_OBJS := $(USER_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/user/kqemu/proc/stub-blob.o \
	$(B)/obj/user/pc/rom/linuxboot-blob.o
LIB_OBJS  := $(filter-out $(B)/obj/user/main.o,$(USER_OBJS))
# qvm-img, the image tool: its own main, and the block layer from LIB_OBJS
IMG_SRCS  := $(wildcard user/img/*.c)
IMG_OBJS  := $(IMG_SRCS:%.c=$(B)/obj/%.o)
UNIT_SRCS := $(wildcard tests/unit/*.c)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(B)/obj/%.o)

all: $(B)/qvm $(if $(IMG_SRCS),$(B)/qvm-img) $(B)/kqemu-exit $(B)/cpu-native

# Install missing Debian packages once per build directory.
$(B)/.deps-installed: scripts/install-deps
	@mkdir -p $(B)
	scripts/install-deps
	@touch $@

$(B)/qvm: $(USER_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/qvm-img: $(IMG_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/unit-tests: $(UNIT_OBJS) $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(B)/obj/%.o: %.c | $(B)/.deps-installed
	@mkdir -p $(dir $@)
	$(CC) $(QVM_CFLAGS) $(CFLAGS) -Iuser -c -o $@ $<

# The process backend's child (user/kqemu/proc/stub*): no libc, static,
# linked into its hole of the address space by stub.ld, carried inside
# qvm by stub-blob.S.  Never sanitized: it has no runtime to report to.
# Position-independent code (RIP-relative: the hole is above 2 GiB), linked
# static at a fixed address.
STUB_SRCS   := $(wildcard user/kqemu/proc/stub*.c) user/kqemu/proc/stub-entry.S
STUB_CFLAGS := -std=gnu11 -Wall -Wextra -O2 -g -ffreestanding -fno-builtin \
	-fno-stack-protector -fPIE -fvisibility=hidden -mgeneral-regs-only -fcf-protection=none \
	-fno-asynchronous-unwind-tables -Iuser $(filter -Werror,$(CFLAGS))
$(B)/kqemu-stub: $(STUB_SRCS) user/kqemu/proc/stub.ld $(wildcard user/kqemu/proc/*.h) \
		user/kqemu/kqemu.h | $(B)/.deps-installed
	$(CC) $(STUB_CFLAGS) -nostdlib -static -Wl,-T,user/kqemu/proc/stub.ld \
		-Wl,--build-id=none -Wl,-z,noexecstack -o $@ $(STUB_SRCS)

$(B)/obj/user/kqemu/proc/stub-blob.o: user/kqemu/proc/stub-blob.S $(B)/kqemu-stub
	@mkdir -p $(dir $@)
	$(CC) -DSTUB_PATH='"$(B)/kqemu-stub"' -c -o $@ $<

# The option ROM that boots -kernel through firmware (user/pc/rom/
# linuxboot.S): real-mode code linked at 0 into a flat binary, carried
# inside qvm by linuxboot-blob.S (pc/firmware.c fixes its size and sum).
$(B)/linuxboot.bin: user/pc/rom/linuxboot.S | $(B)/.deps-installed
	@mkdir -p $(B)/obj/user/pc/rom
	$(CC) -m32 -c -o $(B)/obj/user/pc/rom/linuxboot.o $<
	$(LD) -m elf_i386 -Ttext 0 -e 0 --oformat binary -o $@ $(B)/obj/user/pc/rom/linuxboot.o

$(B)/obj/user/pc/rom/linuxboot-blob.o: user/pc/rom/linuxboot-blob.S $(B)/linuxboot.bin
	@mkdir -p $(dir $@)
	$(CC) -DROM_PATH='"$(B)/linuxboot.bin"' -c -o $@ $<

# The cost of each exit class of kqemu's process backend (bench/README.md)
$(B)/kqemu-exit: $(B)/obj/bench/kqemu-exit.o $(LIB_OBJS)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# bench-cpu's loops run natively, the reference of the kqemu figures
$(B)/cpu-native: bench/cpu-native.c tests/guest/bench-loops.h | $(B)/.deps-installed
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ bench/cpu-native.c

# Bare-metal guests for the guest tests and benchmarks.
include tests/guest/guest.mk
# The differential tester: TCG against the host CPU.
include tests/difftest/difftest.mk
# Fuzz targets for the parsers of untrusted input (libFuzzer, clang).
-include tests/fuzz/fuzz.mk

# The default Linux guest: a Debian kernel and a busybox initramfs, from
# Debian packages (scripts/build-guest; it does nothing when up to date).
LINUX     := $(B)/linux
LINUX_RUN := -nographic -m 512M -smp 2 -kernel $(LINUX)/vmlinuz \
	-initrd $(LINUX)/initramfs.cpio.gz -append "console=ttyS0"

guest-linux:
	scripts/build-guest $(LINUX)

# check and bench go on without it (its tests and figures then say SKIP)
guest-linux-if-possible:
	@scripts/build-guest $(LINUX) || \
		echo "make: the Linux guest could not be built; its tests will say SKIP"

# The Debian 12 system of the benchmarks: a qcow2, its kernel and initrd,
# from Debian packages (scripts/build-debian-image, root; does nothing when
# up to date).
DEBIAN := $(B)/debian

debian-image:
	scripts/build-debian-image $(DEBIAN)

# bench goes on without it (its Debian figures then say SKIP)
debian-image-if-possible:
	@scripts/build-debian-image $(DEBIAN) || \
		echo "make: the Debian image could not be built; its figures will say SKIP"

deps: $(B)/.deps-installed

# The sanitizer build (tests/san/run): qvm and the unit tests with ASan and
# UBSan in a build directory of their own.
SAN_B      := $(B)/san
SAN_FLAGS  := -fsanitize=address,undefined -fno-sanitize-recover=all
SAN_CFLAGS := -O1 -g -fno-omit-frame-pointer $(SAN_FLAGS)

san:
	$(MAKE) B=$(SAN_B) CFLAGS="$(SAN_CFLAGS)" LDFLAGS="$(SAN_FLAGS)" \
		$(SAN_B)/qvm $(SAN_B)/unit-tests

# ThreadSanitizer over the SMP guest tests (tests/tsan/run); not in check.
TSAN_B     := $(B)/tsan
TSAN_FLAGS := -fsanitize=thread
# gcc warns that TSan cannot see atomic_thread_fence (virtqueue.c, the
# guest's fences in sse.c): known, and the fences are there for the hardware
TSAN_WNO   := $(if $(findstring clang,$(CC)),,-Wno-tsan)

check-tsan: guests
	$(MAKE) B=$(TSAN_B) CFLAGS="-O1 -g $(TSAN_WNO) $(TSAN_FLAGS)" LDFLAGS="$(TSAN_FLAGS)" \
		$(TSAN_B)/qvm
	GUESTS=$(B)/guests TSAN_B=$(TSAN_B) tests/tsan/run

# A real Debian 12 system under each engine (tests/debian/run); not in
# check: under kqemu's process backend its boot takes minutes here.
check-debian: all debian-image
	QVM=$(B)/qvm DEBIAN_IMAGE_DIR=$(DEBIAN) tests/debian/run

check: all $(B)/unit-tests $(B)/difftest guests guest-linux-if-possible san
	LINUX_GUEST_DIR=$(LINUX) SAN_B=$(SAN_B) tests/run-tests

run: all guest-linux
	$(B)/qvm $(LINUX_RUN)

# the bare-metal demo guest that "make run" booted before Linux
run-demo: all guests
	$(B)/qvm -nographic -smp 2 -no-reboot -kernel $(B)/guests/demo.elf

bench: all guests guest-linux-if-possible debian-image-if-possible
	QVM=$(B)/qvm GUESTS=$(B)/guests LINUX_GUEST_DIR=$(LINUX) \
		DEBIAN_IMAGE_DIR=$(DEBIAN) bench/run

bench-kqemu: all guests guest-linux-if-possible
	QVM=$(B)/qvm GUESTS=$(B)/guests LINUX_GUEST_DIR=$(LINUX) bench/run kqemu

bench-nested: all guests guest-linux
	QVM=$(B)/qvm GUESTS=$(B)/guests LINUX_GUEST_DIR=$(LINUX) bench/run nested

bench-debian: all debian-image
	QVM=$(B)/qvm DEBIAN_IMAGE_DIR=$(DEBIAN) bench/run debian

clean:
	rm -rf $(B)

.PHONY: all check run run-demo bench bench-debian bench-kqemu bench-nested clean deps guests guest-linux \
	guest-linux-if-possible debian-image debian-image-if-possible san check-tsan check-debian
-include $(USER_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(IMG_OBJS:.o=.d) $(B)/obj/bench/kqemu-exit.d
