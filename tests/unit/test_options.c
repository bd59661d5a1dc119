/* Command-line parsing (user/options.c). */
#include <string.h>
#include <stdio.h>
#include "unit.h"
#include "cmdline.h"
#include "config.h"

TEST(options_size_suffixes)
{
	uint64_t v;
	CHECK(parse_size("128", 20, &v) == 0);
	CHECK_EQ(v, 128ULL << 20);
	CHECK(parse_size("4G", 20, &v) == 0);
	CHECK_EQ(v, 4ULL << 30);
	CHECK(parse_size("512k", 20, &v) == 0);
	CHECK_EQ(v, 512ULL << 10);
	CHECK(parse_size("1.5G", 20, &v) == 0);
	CHECK_EQ(v, 3ULL << 29);
	CHECK(parse_size("2GiB", 20, &v) == 0);
	CHECK_EQ(v, 2ULL << 30);
	CHECK(parse_size("12Q", 20, &v) < 0);
	CHECK(parse_size("", 20, &v) < 0);
	CHECK(parse_size("-1", 20, &v) < 0);
	CHECK(parse_size("99999999999T", 20, &v) < 0);
}

TEST(options_defaults)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null") == 0);
	CHECK_EQ(c.ram_size, 128 * MiB);
	CHECK_EQ(c.smp_cpus, 1);
	CHECK(c.accel == NULL);
	CHECK(!c.no_reboot && !c.start_paused);
}

TEST(options_cpu_features)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -cpu qemu64,+avx2,-x2apic") == 0);
	CHECK(!strcmp(c.cpu_model, "qemu64"));
	CHECK_EQ(c.cpu_features.on[CPUID_7_0_EBX], 1u << 5);
	CHECK_EQ(c.cpu_features.off[CPUID_1_ECX], 1u << 21);
	CHECK(cmdline_parse(&c, "-bios /dev/null -cpu max,+no-such-flag") == -1);
	CHECK(cmdline_parse(&c, "-bios /dev/null -cpu max") == 0);
	CHECK_EQ(c.cpu_features.on[CPUID_7_0_EBX], 0);
}

TEST(options_smp_topology)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 8") == 0);
	CHECK_EQ(c.smp_cpus, 8);
	CHECK_EQ(c.sockets * c.cores * c.threads, 8);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 4,sockets=2,cores=2,threads=1") == 0);
	CHECK_EQ(c.sockets, 2);
	CHECK_EQ(c.cores, 2);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp cpus=2,maxcpus=4,cores=2,threads=2") == 0);
	CHECK_EQ(c.smp_cpus, 2);
	CHECK_EQ(c.smp_max_cpus, 4);
	CHECK_EQ(c.sockets, 1);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp sockets=2,cores=3") == 0);
	CHECK_EQ(c.smp_cpus, 6);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 3,sockets=2,cores=2") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 0") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 256") < 0);
}

/* Two factors of 2^16 overflow 32 bits: an error, not a division by 0. */
TEST(options_smp_product_overflow)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 1,cores=65536,threads=65536") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp cores=65536,threads=65536") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp 2,sockets=65536,cores=65536,threads=65536") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -smp maxcpus=1048576,cores=1048576") < 0);
}

/* QEMU's -m [size=]N[,slots=n,maxmem=size] */
TEST(options_memory)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=4G") == 0);
	CHECK_EQ(c.ram_size, GiB);
	CHECK_EQ(c.max_ram_size, 4 * GiB);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m size=512M,slots=2,maxmem=2G") == 0);
	CHECK_EQ(c.ram_size, 512 * MiB);
	CHECK_EQ(c.ram_slots, 2);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m maxmem=1G") == 0);  /* default size */
	CHECK_EQ(c.ram_size, 128 * MiB);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 256") == 0);
	CHECK_EQ(c.max_ram_size, 256 * MiB);                  /* defaults to size */
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=1G") == 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=512M") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=5000") < 0); /* bytes */
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=4097M") == 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=4294967297") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,slots=2") < 0);    /* no maxmem */
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,slots=2,maxmem=1G") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,slots=257,maxmem=4G") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,slots=256,maxmem=4G") == 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,foo=1") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,4G") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1G,maxmem=lots") < 0);
}

TEST(options_name)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -name vm1") == 0);
	CHECK(!strcmp(c.name, "vm1") && !c.process_name);
	CHECK(cmdline_parse(&c, "-bios /dev/null -name guest=vm2,process=qvm-vm2,debug-threads=on") == 0);
	CHECK(!strcmp(c.name, "vm2") && !strcmp(c.process_name, "qvm-vm2") && c.debug_threads);
	CHECK(cmdline_parse(&c, "-bios /dev/null -name vm,debug-threads=maybe") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -name vm,colour=blue") < 0);
}

TEST(options_log_all)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -d all") == 0);
	CHECK_EQ(c.log_mask & (LOG_GUEST_ERRORS | LOG_INT | LOG_EXEC | LOG_ACCEL),
		 LOG_GUEST_ERRORS | LOG_INT | LOG_EXEC | LOG_ACCEL);
	CHECK(cmdline_parse(&c, "-bios /dev/null -d int,all") == 0);
	CHECK(c.log_mask & LOG_MMIO);
	CHECK(cmdline_parse(&c, "-bios /dev/null -d all,nonsense") < 0);
}

TEST(options_accel_spellings)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel kvm") == 0);
	CHECK(!strcmp(c.accel, "kvm"));
	CHECK(cmdline_parse(&c, "-bios /dev/null -machine pc,accel=tcg") == 0);
	CHECK(!strcmp(c.accel, "tcg"));
	CHECK(cmdline_parse(&c, "-bios /dev/null -M accel=kqemu") == 0);
	CHECK(!strcmp(c.accel, "kqemu"));
	CHECK(cmdline_parse(&c, "-bios /dev/null -enable-kvm") == 0);
	CHECK(!strcmp(c.accel, "kvm"));
	CHECK(cmdline_parse(&c, "-bios /dev/null -no-kqemu") == 0);
	CHECK(c.no_kqemu);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel hvf") < 0);
}

TEST(options_accel_tcg_properties)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null") == 0);
	CHECK_EQ(c.tcg.jit, -1);                /* the engine's default */
	CHECK_EQ(c.tcg.tb_size_mib, 0);
	CHECK(!c.tcg.single_thread);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,jit=off,tb-size=16,thread=single") == 0);
	CHECK(!strcmp(c.accel, "tcg"));
	CHECK_EQ(c.tcg.jit, 0);
	CHECK_EQ(c.tcg.tb_size_mib, 16);
	CHECK(c.tcg.single_thread);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel thread=multi,jit=on,accel=tcg") == 0);
	CHECK(!strcmp(c.accel, "tcg"));
	CHECK_EQ(c.tcg.jit, 1);
	CHECK(!c.tcg.single_thread);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,tb-size=0") == 0);
	CHECK_EQ(c.tcg.tb_size_mib, 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,tb-size=2048") == 0);
	CHECK_EQ(c.tcg.tb_size_mib, 2048);
	/* a later -accel tcg keeps what an earlier one set */
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,jit=off -accel tcg") == 0);
	CHECK_EQ(c.tcg.jit, 0);

	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,jit=maybe") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,jit") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,tb-size=2049") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,tb-size=-1") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,tb-size=64M") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,thread=both") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel tcg,split-wx=on") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel jit=off") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel kvm,jit=off") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel kqemu,tb-size=8,jit=off,thread=single") == 0);
	CHECK(!strcmp(c.accel, "kqemu") && c.tcg.tb_size_mib == 8 && c.tcg.jit == 0 &&
	      c.tcg.single_thread);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel kqemu,jit=maybe") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -accel kvm,thread=single") < 0);
}

TEST(options_flags_and_devices)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-bios /dev/null -no-reboot -no-shutdown -S -nographic -display none "
			"-name guest1 -m 1G -d int,cpu --device isa-debug-exit,iobase=0xf4,iosize=4") == 0);
	CHECK(c.no_reboot && c.no_shutdown && c.start_paused && c.nographic && c.display_none);
	CHECK(!strcmp(c.name, "guest1"));
	CHECK_EQ(c.ram_size, GiB);
	CHECK_EQ(c.log_mask, LOG_INT | LOG_CPU);
	CHECK_EQ(c.nr_debug_exits, 1);
	CHECK_EQ(c.debug_exit[0].iobase, 0xf4);
	CHECK_EQ(c.debug_exit[0].iosize, 4);
	CHECK(cmdline_parse(&c, "-bios /dev/null -device isa-debug-exit") == 0);
	CHECK_EQ(c.debug_exit[0].iobase, 0x501);
	CHECK_EQ(c.debug_exit[0].iosize, 2);
}

/* No -kernel, no -bios: the default firmware boots.  -boot as QEMU's. */
TEST(options_boot)
{
	struct config c;
	CHECK(cmdline_parse(&c, "") == 0);
	CHECK(!c.boot_order && !c.boot_once && c.boot_menu == 0 && c.boot_splash_time == -1);
	CHECK(cmdline_parse(&c, "-boot dc") == 0);
	CHECK(!strcmp(c.boot_order, "dc"));
	CHECK(cmdline_parse(&c, "-boot order=nc,once=d,menu=on,splash-time=2500") == 0);
	CHECK(!strcmp(c.boot_order, "nc") && !strcmp(c.boot_once, "d"));
	CHECK_EQ(c.boot_menu, 1);
	CHECK_EQ(c.boot_splash_time, 2500);
	CHECK(cmdline_parse(&c, "-boot splash-time=70000") < 0);
	CHECK(cmdline_parse(&c, "-boot strict=on,reboot-timeout=-1,splash=/dev/null") == 0);
	CHECK(c.boot_strict && c.has_reboot_timeout && c.boot_reboot_timeout == -1);
	CHECK(!strcmp(c.boot_splash, "/dev/null"));
	CHECK(cmdline_parse(&c, "-boot strict=yes") < 0);
	CHECK(cmdline_parse(&c, "-boot reboot-timeout=-2") < 0);
	CHECK(cmdline_parse(&c, "-boot reboot-timeout=65536") < 0);
	CHECK(cmdline_parse(&c, "-boot splash=/nonexistent/x.jpg") < 0);
	CHECK(cmdline_parse(&c, "-debugcon file:/dev/null") == 0);
	CHECK(!strcmp(c.debugcon, "file:/dev/null"));
	CHECK(cmdline_parse(&c, "-drive if=none,id=a,file=/dev/null "
			"-device virtio-blk-pci,drive=a,bootindex=2") == 0);
	CHECK(c.drives[0].has_bootindex && c.drives[0].bootindex == 2);
	CHECK(cmdline_parse(&c, "-drive if=none,id=a,file=/dev/null "
			"-device virtio-blk-pci,drive=a,bootindex=x") < 0);
}

TEST(options_errors)
{
	struct config c;
	CHECK(cmdline_parse(&c, "-boot order=cx") < 0);      /* unknown boot device */
	CHECK(cmdline_parse(&c, "-boot once=") < 0);
	CHECK(cmdline_parse(&c, "-boot menu=yes") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -bogus") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -m 1K") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -display gtk") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -device virtio-net") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -d nonsense") < 0);
	CHECK(cmdline_parse(&c, "-bios /dev/null -append foo") < 0); /* needs -kernel */
	CHECK(cmdline_parse(&c, "-version") == 1);
}
