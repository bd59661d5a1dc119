# Bare-metal guest images for tests/guest/run and bench/ (included by the
# top-level Makefile; B is the build directory).  Freestanding gcc + binutils.
#
#   $(B)/guests/*.elf   multiboot v1 kernels (ELF32)        -kernel FILE
#   $(B)/guests/*.bin   64 KiB ROM images                    -bios FILE
#   multiboot-aout.bin  multiboot kernel using the a.out kludge (flat binary)

GUEST_DIR := tests/guest
GB        := $(B)/guests
GUEST_CC  ?= gcc
GUEST_LD  ?= ld
GUEST_OBJCOPY ?= objcopy
GUEST_CFLAGS := -m64 -std=gnu11 -O2 -g -Wall -Wextra -ffreestanding -nostdlib \
	-fno-pic -fno-pie -mno-red-zone -fno-stack-protector -mgeneral-regs-only \
	-fno-asynchronous-unwind-tables -fno-jump-tables -mcmodel=small \
	-MMD -MP -I$(GUEST_DIR)/lib
GUEST_LDFLAGS := -nostdlib -static -z max-page-size=0x1000 -z noexecstack --build-id=none

# C guests: multiboot (long mode via lib/boot-mb.S) and -bios (lib/boot-bios.S)
GUEST_MB_C   := exceptions timers smp serial demo bench-pio bench-cpu bench-gather multiboot \
	smc-reset dma-code migrate xsave user cpuid vga debug sysregs pku pks
GUEST_BIOS_C := longmode reset
# assembly-only guests
GUEST_BIOS_S := realmode empty vgabios
GUEST_MB_S   := empty mem-touch com-ports
# ... linked at 0x8000 (lib/mb32-low.ld)
GUEST_MB_LOW_S := lowload

GUEST_LIB := libc printf serial test cpu time apic acpi smp mb start pci virtio
GUEST_LIB_OBJS := $(GUEST_LIB:%=$(GB)/obj/lib/%.o)

GUEST_IMAGES := $(GUEST_MB_C:%=$(GB)/%.elf) $(GUEST_BIOS_C:%=$(GB)/%.bin) \
	$(GUEST_BIOS_S:%=$(GB)/%.bin) $(GUEST_MB_S:%=$(GB)/%.elf) \
	$(GUEST_MB_LOW_S:%=$(GB)/%.elf) \
	$(GB)/multiboot-aout.bin

.PHONY: guests
guests: $(GUEST_IMAGES)

$(GB)/obj/%.o: $(GUEST_DIR)/%.c
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GB)/obj/%.o: $(GUEST_DIR)/%.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GB)/obj/lib/boot-mb-aout.o: $(GUEST_DIR)/lib/boot-mb.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) $(GUEST_CFLAGS) -DMB_AOUT -c -o $@ $<

# multiboot: link as ELF64 at 1 MiB, ship as ELF32 (what loaders accept)
$(GB)/obj/%.elf64: $(GB)/obj/%.o $(GB)/obj/lib/boot-mb.o $(GUEST_LIB_OBJS) $(GUEST_DIR)/lib/mb.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_x86_64 -T $(GUEST_DIR)/lib/mb.ld -o $@ \
		$(GB)/obj/lib/boot-mb.o $< $(GUEST_LIB_OBJS)

$(GUEST_MB_C:%=$(GB)/%.elf): $(GB)/%.elf: $(GB)/obj/%.elf64
	$(GUEST_OBJCOPY) -O elf32-i386 $< $@

$(GB)/obj/multiboot-aout.elf64: $(GB)/obj/multiboot.o $(GB)/obj/lib/boot-mb-aout.o $(GUEST_LIB_OBJS) $(GUEST_DIR)/lib/mb.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_x86_64 -T $(GUEST_DIR)/lib/mb.ld -o $@ \
		$(GB)/obj/lib/boot-mb-aout.o $< $(GUEST_LIB_OBJS)

$(GB)/multiboot-aout.bin: $(GB)/obj/multiboot-aout.elf64
	$(GUEST_OBJCOPY) -O binary -j .text -j .rodata -j .data $< $@

# -bios C images: ROM at 0xF0000, data in RAM
$(GUEST_BIOS_C:%=$(GB)/obj/%.rom): $(GB)/obj/%.rom: $(GB)/obj/%.o $(GB)/obj/lib/boot-bios.o $(GUEST_LIB_OBJS) $(GUEST_DIR)/lib/bios.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_x86_64 -T $(GUEST_DIR)/lib/bios.ld -o $@ \
		$(GB)/obj/lib/boot-bios.o $< $(GUEST_LIB_OBJS)

# -bios assembly images
$(GUEST_BIOS_S:%=$(GB)/obj/%.rom): $(GB)/obj/%.rom: $(GB)/obj/%-bios.o $(GUEST_DIR)/lib/bios16.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_x86_64 -T $(GUEST_DIR)/lib/bios16.ld -o $@ $<

$(GB)/%.bin: $(GB)/obj/%.rom
	$(GUEST_OBJCOPY) -O binary $< $@
	@test $$(stat -c %s $@) -eq 65536 || { echo "$@: not 64 KiB" >&2; rm -f $@; exit 1; }

# multiboot assembly images (32-bit only)
$(GB)/obj/%-mb32.o: $(GUEST_DIR)/%-mb.S
	@mkdir -p $(dir $@)
	$(GUEST_CC) -m32 -c -Wall -I$(GUEST_DIR)/lib -o $@ $<

$(GUEST_MB_S:%=$(GB)/%.elf): $(GB)/%.elf: $(GB)/obj/%-mb32.o $(GUEST_DIR)/lib/mb32.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_i386 -T $(GUEST_DIR)/lib/mb32.ld -o $@ $<

$(GUEST_MB_LOW_S:%=$(GB)/%.elf): $(GB)/%.elf: $(GB)/obj/%-mb32.o $(GUEST_DIR)/lib/mb32-low.ld
	$(GUEST_LD) $(GUEST_LDFLAGS) -m elf_i386 -T $(GUEST_DIR)/lib/mb32-low.ld -o $@ $<

.PRECIOUS: $(GB)/obj/%.o $(GB)/obj/%.elf64 $(GB)/obj/%.rom $(GB)/obj/%-mb32.o
-include $(wildcard $(GB)/obj/*.d $(GB)/obj/lib/*.d)
