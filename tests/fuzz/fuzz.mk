# Fuzz targets for the parsers of untrusted input (libFuzzer, clang).
#   make build/fuzz/fuzz_image    the image target (block layer + log.c only)
#   make build/fuzz/fuzz_net      the network target (user/net/ frames and options)
#   make build/fuzz/fuzz_ide      the IDE target (port accesses, PRDs in guest RAM)
#   make fuzz                     a longer run (FUZZ_SECONDS, default 600)
# tests/fuzz/run builds it, replays the corpus and fuzzes for a while.
FUZZ_CC     ?= clang
FUZZ_B      := $(B)/fuzz
FUZZ_CFLAGS := -std=gnu11 -D_GNU_SOURCE -g -O1 -pthread -Iuser \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_SRCS   := $(wildcard user/block/*.c) user/log.c
FUZZ_OBJS   := $(FUZZ_SRCS:%.c=$(FUZZ_B)/obj/%.o)

$(FUZZ_B)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_B)/fuzz_image: tests/fuzz/fuzz_image.c $(FUZZ_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -laio -lz

# the network target: virtio-net's frame handling and the option parsers
FUZZ_NET_SRCS := user/net/net.c user/net/segment.c user/net/opts.c user/log.c
FUZZ_NET_OBJS := $(FUZZ_NET_SRCS:%.c=$(FUZZ_B)/obj/%.o)

$(FUZZ_B)/fuzz_net: tests/fuzz/fuzz_net.c $(FUZZ_NET_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^

# the IDE target: the controller's port interface on the block layer
FUZZ_IDE_SRCS := $(wildcard user/block/*.c) user/log.c user/machine.c user/physmap.c \
	user/memory.c user/mainloop.c user/state.c user/hw/pci_host.c user/hw/ide.c \
	user/hw/ide_bm.c user/hw/ide_media.c user/hw/ide_state.c user/hw/ata.c user/hw/atapi.c
FUZZ_IDE_OBJS := $(FUZZ_IDE_SRCS:%.c=$(FUZZ_B)/obj/%.o)

$(FUZZ_B)/fuzz_ide: tests/fuzz/fuzz_ide.c $(FUZZ_IDE_OBJS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -laio -lz -lurcu-memb

fuzz:
	FUZZ_SECONDS=$${FUZZ_SECONDS:-600} tests/fuzz/run

.PHONY: fuzz
-include $(FUZZ_OBJS:.o=.d) $(FUZZ_NET_OBJS:.o=.d) $(FUZZ_IDE_OBJS:.o=.d)
