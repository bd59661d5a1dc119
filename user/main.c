/*
 * qvm: parse the command line, build the chosen board (-machine) on the
 * chosen engine (-accel), start one thread per vCPU and run the main loop
 * (character devices, monitor, timers, run-control requests) until the
 * guest or the user ends it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>
#include "accel.h"
#include "chardev/chardev.h"
#include "config.h"
#include "cpu.h"
#include "machine.h"
#include "mainloop.h"
#include "migration/migrate.h"
#include "monitor/monitor.h"
#include "ui/ui.h"

struct qvm {
	struct config cfg;
	struct machine *m;
	struct mainloop *loop;
	struct chardev *serials[MAX_SERIALS], *monitor_chr, *mux;
	struct monitor *mon;
};

static void check_host_memory(const struct config *cfg)
{
	long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
	uint64_t host = (uint64_t)pages * page;
	if (pages > 0 && cfg->ram_size > host)
		qvm_die("-m: %llu MiB is more than the host's %llu MiB of memory",
			(unsigned long long)(cfg->ram_size / MiB), (unsigned long long)(host / MiB));
}

static void quit_from_mux(void *opaque)
{
	machine_request(opaque, REQ_QUIT, 0);
}

/* Share stdio through the Ctrl-A multiplexer between serial port `port`
 * (-1: none) and/or the monitor. */
static void open_stdio_mux(struct qvm *q, int port, bool monitor)
{
	struct chardev *out = chardev_open(q->loop, "stdio,signal=off", "serial0");
	if (!out)
		exit(1);
	q->mux = chardev_mux_new(out);
	chardev_mux_set_quit_handler(q->mux, quit_from_mux, q->m);
	if (port >= 0) {
		char label[24];
		snprintf(label, sizeof(label), "serial%d", port);
		q->serials[port] = chardev_mux_add(q->mux, label);
	}
	if (monitor)
		q->monitor_chr = chardev_mux_add(q->mux, "monitor");
}

/* The defaults follow QEMU 7.2.  -nographic: COM1 and the monitor share
 * stdio through the mux unless the user sent them elsewhere.  -display
 * none: COM1 and the monitor default to QEMU's "vc", a console with no
 * display to show it, so serial output is dropped and there is no monitor.
 * With neither, QEMU would open a window; qvm has none, so COM1 goes to
 * stdio (^C ends qvm, as with -serial stdio) and there is no monitor.
 * Each -serial is the next port, COM1 to COM4; "none" leaves a port out. */
static void open_chardevs(struct qvm *q)
{
	const struct config *c = &q->cfg;
	const char *specs[MAX_SERIALS] = { 0 }, *monitor = c->monitor;
	for (unsigned i = 0; i < c->nr_serials; i++)
		specs[i] = c->serials[i];
	if (c->nographic) {
		bool serial_mux = !specs[0] || !strcmp(specs[0], "mon:stdio");
		bool monitor_mux = !monitor || !strcmp(monitor, "mon:stdio");
		if (serial_mux || monitor_mux)
			open_stdio_mux(q, serial_mux ? 0 : -1, monitor_mux);
	} else if (!specs[0]) {
		specs[0] = c->display_none ? "null" : "stdio";
	}
	for (unsigned i = 0; i < MAX_SERIALS; i++) {
		if (specs[i] && !strcmp(specs[i], "mon:stdio") && !q->mux) {
			open_stdio_mux(q, i, true);
			monitor = NULL;
		}
	}
	if (specs[0] && monitor && !strcmp(specs[0], "stdio") && !strcmp(monitor, "stdio"))
		qvm_die("-serial stdio and -monitor stdio: stdio can serve only one "
			"(use -serial mon:stdio or -nographic to share it)");
	for (unsigned i = 0; i < MAX_SERIALS; i++) {
		char label[16];
		snprintf(label, sizeof(label), "serial%u", i);
		if (!q->serials[i] && config_serial_present(c, i) &&
		    !(q->serials[i] = chardev_open(q->loop, specs[i], label)))
			exit(1);
	}
	if (!q->monitor_chr && monitor && strcmp(monitor, "none") &&
	    !(q->monitor_chr = chardev_open(q->loop, monitor, "monitor")))
		exit(1);
}

static void create_vcpus(struct machine *m)
{
	const struct accel_ops *ops = m->accel->ops;
	m->nr_vcpus = m->cfg->smp_cpus;
	m->vcpus = calloc(m->nr_vcpus, sizeof(*m->vcpus));
	if (!m->vcpus)
		qvm_die("out of memory");
	for (unsigned i = 0; i < m->nr_vcpus; i++) {
		struct vcpu *v = calloc(1, sizeof(*v));
		if (!v)
			qvm_die("out of memory");
		v->m = m;
		v->index = i;
		v->apic_id = topo_apic_id(m->cfg, i);
		m->vcpus[i] = v;
		if (ops->vcpu_init(v) < 0 || ops->vcpu_reset(v) < 0)
			exit(1);
	}
}

/* A clean exit: the disks' requests complete and their images close
 * (final flush, qcow2 dirty bit) first. */
static _Noreturn void quit(struct qvm *q, int status)
{
	if (q->m)
		machine_shutdown(q->m);
	exit(status);
}

static void on_request(void *opaque, int fd, uint32_t events)
{
	struct qvm *q = opaque;
	struct machine *m = q->m;
	int status = 0;
	(void)fd, (void)events;
	switch (machine_take_request(m, &status)) {
	case REQ_NONE:
		break;
	case REQ_RESET:
		if (q->cfg.no_reboot)
			quit(q, 0);
		if (machine_reset(m) < 0)
			exit(1);
		break;
	case REQ_POWEROFF:
		if (!q->cfg.no_shutdown)
			quit(q, 0);
		machine_pause(m);
		qvm_log(LOG_INT, "guest powered off; stopped (-no-shutdown)");
		break;
	case REQ_SHUTDOWN:
		exit(status);
	case REQ_QUIT:
		quit(q, 0);
	}
}

/* SIGINT, SIGTERM, SIGHUP end qvm through exit(), so the terminal is
 * restored, as QEMU's "terminating on signal". */
static void on_signal(void *opaque, int fd, uint32_t events)
{
	struct signalfd_siginfo si;
	(void)events;
	if (read(fd, &si, sizeof(si)) == sizeof(si)) {
		qvm_error("terminating on signal %u", si.ssi_signo);
		quit(opaque, 0);
	}
}

static void setup_signals(struct qvm *q, struct mainloop *loop)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0 || mainloop_add_fd(loop, fd, EPOLLIN, on_signal, q) < 0)
		qvm_die("signalfd: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
}

int main(int argc, char **argv)
{
	static struct qvm q;
	int r = config_parse(&q.cfg, argc, argv);
	if (r)
		return r > 0 ? 0 : 1;
	/* -name ...,process=: the name ps and top show (15 bytes kept) */
	if (q.cfg.process_name)
		prctl(PR_SET_NAME, q.cfg.process_name, 0, 0, 0);
	log_set_mask(q.cfg.log_mask);
	if (q.cfg.logfile && log_open_file(q.cfg.logfile) < 0)
		return 1;
	check_host_memory(&q.cfg);
	const struct accel_ops *ops = accel_choose(q.cfg.accel, q.cfg.no_kqemu);
	const struct board_ops *board = board_find(q.cfg.machine);
	if (!ops || !board)
		return 1;

	q.loop = mainloop_new();
	if (!q.loop)
		qvm_die("cannot create the main loop");
	setup_signals(&q, q.loop);
	q.m = machine_new(q.cfg.ram_size);
	if (!q.m)
		return 1;
	struct machine *m = q.m;
	m->cfg = &q.cfg;
	m->loop = q.loop;
	m->accel = calloc(1, sizeof(*m->accel));
	m->accel->ops = ops;
	machine_set_board(m, board);
	if (ops->init(m) < 0)
		return 1;
	open_chardevs(&q);
	create_vcpus(m);
	if (board->init(m, q.serials) < 0 || board->enter(m) < 0)
		return 1;
	if (ui_init(m, &q.cfg.ui) < 0)
		return 1;
	if (q.cfg.incoming) {
		char err[256];
		if (migrate_load(m, q.cfg.incoming, err, sizeof(err)) < 0)
			qvm_die("-incoming %s: %s", q.cfg.incoming, err);
	}
	if (mainloop_add_fd(q.loop, m->request_fd, EPOLLIN, on_request, &q) < 0)
		qvm_die("cannot watch run-control requests");
	m->paused = q.cfg.start_paused;
	if (q.monitor_chr && !(q.mon = monitor_new(m, q.monitor_chr)))
		return 1;
	qvm_log(LOG_ACCEL, "qvm: %s, %u vCPU(s), %llu MiB", ops->name, m->nr_vcpus,
		(unsigned long long)(m->ram_size / MiB));
	if (vcpus_start(m) < 0)
		return 1;
	for (;;)
		mainloop_run_once(q.loop, -1);
}
