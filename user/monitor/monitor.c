/*
 * The human monitor: a line editor on a character device and QEMU's
 * command names (info registers, info cpus, stop, cont, system_reset,
 * system_powerdown, quit ...).  Runs on the main thread.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "accel.h"
#include "chardev/chardev.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "migration/migrate.h"
#include "net/net.h"
#include "monitor.h"
#include "ui/display.h"
#include "input-cmds.h"

#define MON_LINE_MAX 512

struct monitor {
	struct machine *m;
	struct chardev *chr;
	char line[MON_LINE_MAX];
	size_t len;
	unsigned cpu;   /* the current CPU for info registers */
	bool stopped;   /* stopped by the user (stop / -S) */
	bool greeted;   /* the banner was printed on this connection */
	bool postmigrate; /* paused by a completed migrate, not yet cont */
	struct migrate_info migration; /* the last migrate, for info migrate */
	struct mon_input input;  /* sendkey's held keys, mouse_button's state */
};

/* Output with "\n" turned into "\r\n": the terminal may be raw. */
static void mon_puts(struct monitor *mon, const char *s)
{
	while (*s) {
		size_t n = strcspn(s, "\n");
		chardev_write(mon->chr, s, n);
		s += n;
		if (*s == '\n') {
			chardev_write(mon->chr, "\r\n", 2);
			s++;
		}
	}
}

static void mon_printf(struct monitor *mon, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void mon_printf(struct monitor *mon, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	mon_puts(mon, buf);
}

static void mon_print_cb(void *opaque, const char *line)
{
	mon_puts(opaque, line);
}

/* Engine state can only be read while the vCPU is out of guest mode. */
static void with_vcpus_paused(struct monitor *mon, void (*fn)(struct monitor *, void *),
			      void *arg)
{
	struct machine *m = mon->m;
	bool was_paused = m->paused;
	if (!was_paused)
		machine_pause(m);
	fn(mon, arg);
	if (!was_paused)
		machine_resume(m);
}

static void dump_cpu(struct monitor *mon, unsigned i)
{
	struct x86_cpu_state s;
	struct machine *m = mon->m;
	if (m->accel->ops->get_state(m->vcpus[i], &s) < 0) {
		mon_printf(mon, "CPU#%u: state unavailable\n", i);
		return;
	}
	mon_printf(mon, "CPU#%u\n", i);
	x86_cpu_dump(&s, mon_print_cb, mon);
}

static void do_registers(struct monitor *mon, void *arg)
{
	bool all = arg != NULL;
	for (unsigned i = 0; i < mon->m->nr_vcpus; i++)
		if (all || i == mon->cpu)
			dump_cpu(mon, i);
}

/* The vCPU's state as the user sees it: a runnable vCPU of a stopped
 * machine (stop, -S, -no-shutdown) is paused, not running. */
static const char *mp_state_name(const struct x86_cpu_state *s, bool stopped)
{
	switch (s->mp_state) {
	case MP_RUNNABLE: return stopped ? "paused" : "running";
	case MP_HALTED: return stopped ? "paused, halted" : "halted";
	default: return stopped ? "paused, waiting for SIPI" : "waiting for SIPI";
	}
}

/* arg: non-NULL when the machine was stopped before the monitor paused
 * the vCPUs to read their state. */
static void do_cpus(struct monitor *mon, void *arg)
{
	bool stopped = arg != NULL;
	struct machine *m = mon->m;
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = m->vcpus[i];
		struct x86_cpu_state s;
		bool ok = m->accel->ops->get_state(v, &s) == 0;
		mon_printf(mon, "%c CPU #%u: apic_id=%u thread_id=%d %s rip=0x%llx exits=%llu\n",
			   i == mon->cpu ? '*' : ' ', i, v->apic_id, (int)__atomic_load_n(&v->tid, __ATOMIC_RELAXED),
			   ok ? mp_state_name(&s, stopped) : "unknown",
			   ok ? (unsigned long long)s.rip : 0ULL, (unsigned long long)v->exits);
	}
}

static void info_migrate(struct monitor *mon)
{
	const struct migrate_info *i = &mon->migration;
	if (i->status == MIGRATE_NONE)
		return;
	mon_printf(mon, "Migration status: %s\n",
		   i->status == MIGRATE_COMPLETED ? "completed" : "failed");
	if (i->status == MIGRATE_COMPLETED)
		mon_printf(mon, "total time: %llu ms\ntransferred: %llu kbytes\n",
			   (unsigned long long)i->ms, (unsigned long long)(i->bytes >> 10));
	else
		mon_printf(mon, "error: %s\n", i->error);
}

/* migrate [-d] URI, the URI maybe in double quotes as QEMU's HMP takes
 * it.  -d (detach) is accepted: the save finishes before the prompt
 * returns either way. */
static void cmd_migrate(struct monitor *mon, const char *args)
{
	char uri[MON_LINE_MAX];
	while (*args == ' ')
		args++;
	if (!strncmp(args, "-d ", 3))
		args += 3;
	while (*args == ' ')
		args++;
	snprintf(uri, sizeof(uri), "%s", args);
	size_t n = strlen(uri);
	if (n >= 2 && uri[0] == '"' && uri[n - 1] == '"') {
		memmove(uri, uri + 1, n - 2);
		uri[n - 2] = 0;
	}
	if (!*uri) {
		mon_puts(mon, "migrate: give a URI: \"exec:COMMAND\" or file:PATH\n");
		return;
	}
	if (migrate_save(mon->m, uri, &mon->migration) < 0) {
		mon_printf(mon, "migrate: %s\n", mon->migration.error);
		return;
	}
	mon->postmigrate = true;
	mon->stopped = true;
}

/* set_link NAME on|off */
static void cmd_set_link(struct monitor *mon, const char *args)
{
	char name[NET_ID_MAX + 1], state[8];
	const char *err;
	if (sscanf(args, " %32s %7s", name, state) != 2 ||
	    (strcmp(state, "on") && strcmp(state, "off"))) {
		mon_puts(mon, "set_link: usage: set_link NAME on|off\n");
		return;
	}
	if (netdev_set_link(mon->m->netdevs, name, !strcmp(state, "on"), &err) < 0)
		mon_printf(mon, "set_link: %s: %s\n", name, err);
}

/* hostfwd_add [ID] RULE, hostfwd_remove [ID] RULE */
static void cmd_hostfwd(struct monitor *mon, const char *args, bool add)
{
	const char *err;
	if (netdev_hostfwd(mon->m->netdevs, args, add, &err) < 0)
		mon_printf(mon, "%s: %s\n", add ? "hostfwd_add" : "hostfwd_remove", err);
}

/* eject [-f] DEV, change DEV FILE [FORMAT] */
static void cmd_block(struct monitor *mon, const char *args, bool change)
{
	const struct board_ops *b = mon->m->board_ops;
	char dev[64], file[MON_LINE_MAX], err[256];
	bool force = false;
	while (*args == ' ')
		args++;
	if (!change && !strncmp(args, "-f ", 3)) {
		force = true;
		args += 3;
	}
	int n = change ? sscanf(args, "%63s %511s", dev, file) : sscanf(args, "%63s", dev);
	if (n != (change ? 2 : 1)) {
		mon_puts(mon, change ? "change: usage: change DEVICE FILE\n" :
			 "eject: usage: eject [-f] DEVICE\n");
		return;
	}
	int r = -1;
	if (b && change && b->block_change)
		r = b->block_change(mon->m, dev, file, err, sizeof(err));
	else if (b && !change && b->block_eject)
		r = b->block_eject(mon->m, dev, force, err, sizeof(err));
	if (r < 0)
		mon_printf(mon, "%s\n", b && b->block_eject ? err : "this machine has no removable media");
}

static void mon_input_cmd(struct monitor *mon,
			  int (*fn)(struct mon_input *, const char *, char *, size_t),
			  const char *args)
{
	char err[256];
	if (fn(&mon->input, args, err, sizeof(err)) < 0)
		mon_printf(mon, "%s\n", err);
}

/* info vga-text: the text screen as rows of characters, for tests and
 * for a user with -display none.  Printable ASCII is shown as is, NUL
 * (blank in the VGA font) as a space, any other byte (CP437 box drawing,
 * arrows) as '.'; trailing blanks are dropped.  The first line gives the size and the cursor. */
static void info_vga_text(struct monitor *mon)
{
	struct display_text t;
	if (!display_get_text(mon->m, &t)) {
		mon_puts(mon, "info vga-text: no text screen (no VGA, or a graphics mode)\n");
		return;
	}
	mon_printf(mon, "text %ux%u cursor %u,%u%s\n", t.cols, t.rows, t.cursor_col,
		   t.cursor_row, t.cursor_visible ? "" : " (hidden)");
	char line[256 + 2];
	for (unsigned r = 0; r < t.rows; r++) {
		unsigned n = t.cols < 256 ? t.cols : 256;
		const uint8_t *row = t.chars + (size_t)r * t.cols;
		for (unsigned c = 0; c < n; c++)
			line[c] = !row[c] ? ' ' : row[c] >= 0x20 && row[c] < 0x7f ? (char)row[c] : '.';
		while (n && line[n - 1] == ' ')
			n--;
		line[n] = '\n';
		line[n + 1] = 0;
		mon_puts(mon, line);
	}
}

static void cmd_info(struct monitor *mon, const char *what)
{
	struct machine *m = mon->m;
	const char *accel = m->accel ? m->accel->ops->name : "none";
	if (!strcmp(what, "registers") || !strcmp(what, "registers -a")) {
		with_vcpus_paused(mon, do_registers, what[9] ? (void *)1 : NULL);
	} else if (!strcmp(what, "cpus")) {
		with_vcpus_paused(mon, do_cpus, m->paused ? (void *)1 : NULL);
	} else if (!strcmp(what, "kvm")) {
		if (m->accel && m->accel->ops->info_kvm)
			m->accel->ops->info_kvm(m, mon_print_cb, mon);
		else
			mon_printf(mon, "kvm support: disabled (accelerator: %s)\n", accel);
	} else if (!strcmp(what, "kqemu")) {
		if (m->accel && m->accel->ops->info_kqemu)
			m->accel->ops->info_kqemu(m, mon_print_cb, mon);
		else
			mon_printf(mon, "kqemu support: disabled (accelerator: %s)\n", accel);
	} else if (!strcmp(what, "accel")) {
		mon_printf(mon, "accelerator: %s\n", accel);
		if (m->accel && m->accel->ops->info)
			m->accel->ops->info(m, mon_print_cb, mon);
	} else if (!strcmp(what, "name")) {
		if (m->cfg && m->cfg->name)      /* nothing without -name, as QEMU */
			mon_printf(mon, "%s\n", m->cfg->name);
	} else if (!strcmp(what, "status")) {
		mon_printf(mon, "VM status: %s\n", !m->paused ? "running" :
			   mon->postmigrate ? "paused (postmigrate)" : "paused");
	} else if (!strcmp(what, "migrate")) {
		info_migrate(mon);
	} else if (!strcmp(what, "network")) {
		netdev_info(m->netdevs, mon_print_cb, mon);
	} else if (!strcmp(what, "vga-text")) {
		info_vga_text(mon);
	} else if (!strcmp(what, "block")) {
		if (m->board_ops && m->board_ops->block_info)
			m->board_ops->block_info(m, mon_print_cb, mon);
	} else {
		mon_printf(mon, "info: unknown item '%s' (registers, cpus, kvm, kqemu, "
			   "accel, status, migrate, name, network, block, vga-text)\n", what);
	}
}

/* screendump [-f png] FILE: the display's picture as a PNG (QEMU 7.2
 * writes PPM unless given -f png; qvm writes PNG only). */
static void cmd_screendump(struct monitor *mon, const char *arg)
{
	while (*arg == ' ')
		arg++;
	if (!strncmp(arg, "-f ", 3)) {
		arg += 3;
		while (*arg == ' ')
			arg++;
		size_t n = strcspn(arg, " ");
		if (n != 3 || strncmp(arg, "png", 3)) {
			mon_printf(mon, "screendump: format '%.*s': qvm writes png only\n", (int)n, arg);
			return;
		}
		arg += n;
		while (*arg == ' ')
			arg++;
	}
	if (!*arg) {
		mon_puts(mon, "screendump: give a file name (screendump FILE)\n");
		return;
	}
	char err[256];
	if (display_screendump(mon->m, arg, err, sizeof(err)) < 0)
		mon_printf(mon, "screendump: %s\n", err);
}

static void cmd_help(struct monitor *mon)
{
	mon_puts(mon,
		 "info registers [-a]  CPU state of the current CPU (-a: all)\n"
		 "info cpus            vCPUs, their threads and states\n"
		 "info kvm             KVM status\n"
		 "info kqemu           kqemu: backend, exits, native vs emulated time\n"
		 "info accel           the engine in use\n"
		 "info status          running or paused\n"
		 "info migrate         the outcome of the last migrate\n"
		 "info name            the -name of the guest\n"
		 "info network         network back ends and their NICs\n"
		 "info block           the IDE and AHCI drives and their media\n"
		 "info vga-text        the VGA text screen as characters\n"
		 "eject [-f] DEV       open the CD-ROM drive DEV (ide1-cd0, ahci-cd2); -f: even if locked\n"
		 "change DEV FILE      put the image FILE into the CD-ROM drive DEV\n"
		 "set_link NAME on|off  a back end's link up or down\n"
		 "hostfwd_add [ID] [tcp|udp]:[HADDR]:HPORT-[GADDR]:GPORT  forward a host port\n"
		 "hostfwd_remove [ID] [tcp|udp]:[HADDR]:HPORT             stop forwarding it\n"
		 "sendkey KEYS [HOLD_MS]  press keys such as ctrl-alt-delete (100 ms held)\n"
		 "mouse_move DX DY [DZ]  move the pointer (DZ > 0: wheel up)\n"
		 "mouse_button STATE   set the buttons (1 left, 2 right, 4 middle)\n"
		 "set_password vnc PW  the VNC password (-vnc ...,password=on)\n"
		 "change vnc password PW  the same\n"
		 "cpu N                select the current CPU\n"
		 "migrate URI          save the machine (\"exec:CMD\" or file:PATH; stays paused)\n"
		 "screendump [-f png] FILE  save the screen as a PNG image\n"
		 "stop                 pause the guest\n"
		 "cont | c             resume the guest\n"
		 "system_reset         reset the machine\n"
		 "system_powerdown     press the ACPI power button (an ACPI guest shuts down)\n"
		 "quit | q             quit qvm\n"
		 "help | ?             this list\n");
}

void monitor_command(struct monitor *mon, const char *line)
{
	struct machine *m = mon->m;
	while (*line == ' ')
		line++;
	char cmd[MON_LINE_MAX];
	snprintf(cmd, sizeof(cmd), "%s", line);
	for (size_t n = strlen(cmd); n && cmd[n - 1] == ' '; n--)
		cmd[n - 1] = 0;
	if (!*cmd)
		return;
	if (!strncmp(cmd, "info", 4) && (cmd[4] == ' ' || !cmd[4])) {
		cmd_info(mon, cmd[4] ? cmd + 5 : "");
	} else if (!strcmp(cmd, "help") || !strcmp(cmd, "?") || !strcmp(cmd, "h")) {
		cmd_help(mon);
	} else if (!strcmp(cmd, "stop")) {
		if (!m->paused)
			machine_pause(m);
		mon->stopped = true;
	} else if (!strcmp(cmd, "cont") || !strcmp(cmd, "c")) {
		machine_resume(m);
		mon->stopped = false;
		mon->postmigrate = false;
	} else if (!strncmp(cmd, "migrate", 7) && (cmd[7] == ' ' || !cmd[7])) {
		cmd_migrate(mon, cmd + 7);
	} else if (!strncmp(cmd, "eject ", 6)) {
		cmd_block(mon, cmd + 6, false);
	} else if (!strncmp(cmd, "change vnc password ", 20)) {
		char args[MON_LINE_MAX];
		snprintf(args, sizeof(args), "vnc %s", cmd + 20);
		mon_input_cmd(mon, mon_vnc_password, args);
	} else if (!strncmp(cmd, "change ", 7)) {
		cmd_block(mon, cmd + 7, true);
	} else if (!strncmp(cmd, "set_link ", 9)) {
		cmd_set_link(mon, cmd + 9);
	} else if (!strncmp(cmd, "hostfwd_add ", 12)) {
		cmd_hostfwd(mon, cmd + 12, true);
	} else if (!strncmp(cmd, "hostfwd_remove ", 15)) {
		cmd_hostfwd(mon, cmd + 15, false);
	} else if (!strncmp(cmd, "screendump", 10) && (cmd[10] == ' ' || !cmd[10])) {
		cmd_screendump(mon, cmd + 10);
	} else if (!strncmp(cmd, "sendkey", 7) && (cmd[7] == ' ' || !cmd[7])) {
		mon_input_cmd(mon, mon_sendkey, cmd + 7);
	} else if (!strncmp(cmd, "mouse_move", 10) && (cmd[10] == ' ' || !cmd[10])) {
		mon_input_cmd(mon, mon_mouse_move, cmd + 10);
	} else if (!strncmp(cmd, "mouse_button", 12) && (cmd[12] == ' ' || !cmd[12])) {
		mon_input_cmd(mon, mon_mouse_button, cmd + 12);
	} else if (!strncmp(cmd, "set_password ", 13)) {
		mon_input_cmd(mon, mon_vnc_password, cmd + 13);
	} else if (!strcmp(cmd, "system_reset")) {
		machine_request(m, REQ_RESET, 0);
	} else if (!strcmp(cmd, "system_powerdown")) {
		if (machine_powerdown(m) < 0)
			mon_puts(mon, "system_powerdown: the machine has no ACPI power button\n");
	} else if (!strcmp(cmd, "quit") || !strcmp(cmd, "q")) {
		machine_request(m, REQ_QUIT, 0);
	} else if (!strncmp(cmd, "cpu ", 4)) {
		char *end;
		unsigned long n = strtoul(cmd + 4, &end, 10);
		if (*end || n >= m->nr_vcpus)
			mon_printf(mon, "cpu: invalid CPU index '%s'\n", cmd + 4);
		else
			mon->cpu = n;
	} else {
		mon_printf(mon, "unknown command: '%s' (try help)\n", cmd);
	}
}

static void prompt(struct monitor *mon)
{
	mon_puts(mon, "(qvm) ");
}

static size_t mon_can_receive(void *opaque)
{
	(void)opaque;
	return MON_LINE_MAX;
}

static void mon_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct monitor *mon = opaque;
	for (size_t i = 0; i < len; i++) {
		uint8_t c = buf[i];
		if (c == '\r' || c == '\n') {
			if (c == '\n' && i > 0 && buf[i - 1] == '\r')
				continue;
			mon_puts(mon, "\n");
			mon->line[mon->len] = 0;
			monitor_command(mon, mon->line);
			mon->len = 0;
			prompt(mon);
		} else if (c == 0x7f || c == 0x08) {
			if (mon->len) {
				mon->len--;
				mon_puts(mon, "\b \b");
			}
		} else if (c >= 0x20 && c < 0x7f && mon->len < MON_LINE_MAX - 1) {
			mon->line[mon->len++] = c;
			chardev_write(mon->chr, &c, 1);
		}
	}
}

static void greet(struct monitor *mon)
{
	mon->greeted = true;
	mon_printf(mon, "qvm %s monitor - type 'help' for more information\n", QVM_VERSION);
	prompt(mon);
}

/* Greet each new connection (a socket client, or stdio at once); on a
 * shared console (-nographic) only once the user switches to the monitor,
 * as QEMU does, so the guest's console starts clean.  Drop a half-typed
 * line when the peer goes away. */
static void mon_event(void *opaque, int event)
{
	struct monitor *mon = opaque;
	if (event == CHR_EVENT_OPENED) {
		mon->len = 0;
		mon->greeted = false;
		if (!chardev_is_mux_frontend(mon->chr))
			greet(mon);
	} else if (event == CHR_EVENT_FOCUS_IN) {
		if (mon->greeted)
			prompt(mon);
		else
			greet(mon);
	} else if (event == CHR_EVENT_CLOSED) {
		mon->len = 0;
	}
}

struct monitor *monitor_new(struct machine *m, struct chardev *chr)
{
	struct monitor *mon = calloc(1, sizeof(*mon));
	if (!mon)
		return NULL;
	mon->m = m;
	mon->chr = chr;
	mon->stopped = m->paused;
	mon_input_init(&mon->input, m);
	struct chardev_frontend fe = { .can_receive = mon_can_receive,
					.receive = mon_receive, .event = mon_event,
					.opaque = mon };
	chardev_set_frontend(chr, &fe);
	return mon;
}

void monitor_free(struct monitor *mon)
{
	if (mon)
		mon_input_destroy(&mon->input);
	free(mon);
}
