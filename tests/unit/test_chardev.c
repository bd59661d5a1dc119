/* Character devices: back ends, the memory device, the mux, raw stdio. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>
#include "unit.h"
#include "chardev/chardev.h"
#include "mainloop.h"
#include "term.h"

#define MS 1000000ULL

/* ---- a front end that records what it gets ---- */

struct sink {
	pthread_mutex_t lock;
	char buf[1 << 16];
	size_t len;
	size_t room;        /* bytes it will still take; SIZE_MAX: any */
	int can_calls;
	int events[32];
	int nev;
	struct chardev *chr;
	bool echo;          /* write back what it receives */
	bool accept_inside; /* call chardev_accept_input from receive */
};

static size_t sink_can(void *opaque)
{
	struct sink *s = opaque;
	pthread_mutex_lock(&s->lock);
	s->can_calls++;
	size_t room = MIN(s->room, sizeof(s->buf) - s->len);
	pthread_mutex_unlock(&s->lock);
	return room;
}

static void sink_receive(void *opaque, const uint8_t *buf, size_t len)
{
	struct sink *s = opaque;
	pthread_mutex_lock(&s->lock);
	memcpy(s->buf + s->len, buf, len);
	s->len += len;
	if (s->room != SIZE_MAX)
		s->room -= len;
	pthread_mutex_unlock(&s->lock);
	if (s->echo)
		chardev_write(s->chr, buf, len);
	if (s->accept_inside)
		chardev_accept_input(s->chr);
}

static void sink_event(void *opaque, int event)
{
	struct sink *s = opaque;
	pthread_mutex_lock(&s->lock);
	if (s->nev < 32)
		s->events[s->nev++] = event;
	pthread_mutex_unlock(&s->lock);
}

static struct sink *sink_attach(struct chardev *c, size_t room)
{
	struct sink *s = calloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->room = room;
	s->chr = c;
	struct chardev_frontend fe = {
		.can_receive = sink_can, .receive = sink_receive,
		.event = sink_event, .opaque = s,
	};
	chardev_set_frontend(c, &fe);
	return s;
}

static void sink_set_room(struct sink *s, size_t room)
{
	pthread_mutex_lock(&s->lock);
	s->room = room;
	pthread_mutex_unlock(&s->lock);
}

static bool sink_has(struct sink *s, const char *text)
{
	pthread_mutex_lock(&s->lock);
	bool ok = s->len == strlen(text) && !memcmp(s->buf, text, s->len);
	pthread_mutex_unlock(&s->lock);
	return ok;
}

static int sink_count_event(struct sink *s, int event)
{
	int n = 0;
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < s->nev; i++)
		n += s->events[i] == event;
	pthread_mutex_unlock(&s->lock);
	return n;
}

static size_t sink_len(struct sink *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->len;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* Run the loop until the sink holds want bytes (or timeout). */
static bool run_until_len(struct mainloop *l, struct sink *s, size_t want, int ms)
{
	uint64_t end = clock_ns() + (uint64_t)ms * MS;
	while (sink_len(s) < want && clock_ns() < end)
		mainloop_run_once(l, 10);
	return sink_len(s) >= want;
}

static bool run_until_event(struct mainloop *l, struct sink *s, int ev, int count, int ms)
{
	uint64_t end = clock_ns() + (uint64_t)ms * MS;
	while (sink_count_event(s, ev) < count && clock_ns() < end)
		mainloop_run_once(l, 10);
	return sink_count_event(s, ev) >= count;
}

static void run_for(struct mainloop *l, int ms)
{
	uint64_t end = clock_ns() + (uint64_t)ms * MS;
	while (clock_ns() < end)
		mainloop_run_once(l, 5);
}

/* ---- helpers ---- */

static char *temp_dir(void)
{
	static char dir[64];
	strcpy(dir, "/tmp/qvm-chardev-XXXXXX");
	return mkdtemp(dir);
}

/* Redirect fd 2 into a pipe; returns the saved stderr. */
static int capture_stderr(int pipefd[2])
{
	if (pipe(pipefd) < 0)
		return -1;
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	fflush(stderr);
	int saved = dup(2);
	dup2(pipefd[1], 2);
	close(pipefd[1]);
	return saved;
}

static void release_stderr(int saved, int pipefd[2], char *buf, size_t size)
{
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	ssize_t n = read(pipefd[0], buf, size - 1);
	buf[n > 0 ? n : 0] = 0;
	close(pipefd[0]);
}

static size_t read_all(int fd, char *buf, size_t size, int ms)
{
	size_t len = 0;
	uint64_t end = clock_ns() + (uint64_t)ms * MS;
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	while (len < size - 1 && clock_ns() < end) {
		ssize_t n = read(fd, buf + len, size - 1 - len);
		if (n > 0)
			len += (size_t)n;
		else if (n == 0)
			break;
		else
			usleep(1000);
	}
	buf[len] = 0;
	return len;
}

/* ---- specs and errors ---- */

static bool open_fails(const char *spec, const char *label, const char *msg)
{
	int p[2];
	char err[1024];
	int saved = capture_stderr(p);
	struct chardev *c = chardev_open(NULL, spec, label);
	release_stderr(saved, p, err, sizeof(err));
	if (c) {
		chardev_close(c);
		fprintf(stderr, "  '%s' opened\n", spec);
		return false;
	}
	/* One line, naming the problem. */
	char *nl = strchr(err, '\n');
	if (!strstr(err, msg) || !nl || nl[1]) {
		fprintf(stderr, "  '%s': got \"%s\"\n", spec, err);
		return false;
	}
	return true;
}

TEST(chardev_bad_specs)
{
	CHECK(open_fails("foo", "serial0", "-serial foo: unknown chardev backend 'foo'"));
	CHECK(open_fails("foo:bar", "monitor", "-monitor foo:bar: unknown chardev backend 'foo'"));
	CHECK(open_fails("", "serial0", "unknown chardev backend ''"));
	CHECK(open_fails("file:/nonexistent/x", "serial0",
			 "-serial file:/nonexistent/x: No such file or directory"));
	CHECK(open_fails("file:", "serial0", "missing file name"));
	CHECK(open_fails("unix:", "serial0", "missing socket path"));
	CHECK(open_fails("unix:/nonexistent/dir/sock", "serial0", "cannot connect"));
	CHECK(open_fails("unix:/nonexistent/dir/sock,server,nowait", "serial0", "cannot listen"));
	CHECK(open_fails("unix:/tmp/x,bogus", "serial0", "unknown option 'bogus'"));
	CHECK(open_fails("unix:/tmp/x,server=maybe", "serial0", "unknown option 'server=maybe'"));
	CHECK(open_fails("pty:x", "serial0", "-serial pty:x: 'pty' takes no arguments"));
	CHECK(open_fails("null,x", "serial0", "'null' takes no arguments"));
	CHECK(open_fails("stdio,signal=maybe", "serial0", "unknown option"));
	CHECK(open_fails("mon:foo", "serial0", "unknown chardev backend 'foo'"));
}

TEST(chardev_null_and_none)
{
	struct chardev *a = chardev_open(NULL, "null", "serial0");
	struct chardev *b = chardev_open(NULL, "none", "serial1");
	CHECK(a && b);
	CHECK_EQ(chardev_write(a, "abc", 3), 3);
	CHECK_EQ(chardev_write(b, "abc", 3), 3);
	CHECK(!strcmp(chardev_filename(a), "null"));
	struct sink *s = sink_attach(a, SIZE_MAX);
	CHECK_EQ(sink_count_event(s, CHR_EVENT_OPENED), 1);
	chardev_accept_input(a);
	chardev_close(a);
	chardev_close(b);
	CHECK_EQ(chardev_write(NULL, "x", 1), 1);
}

TEST(chardev_file_output)
{
	char *dir = temp_dir();
	CHECK(dir);
	char path[256], spec[300], buf[256];
	snprintf(path, sizeof(path), "%s/out.txt", dir);
	int fd = open(path, O_WRONLY | O_CREAT, 0644);
	CHECK(write(fd, "old contents that must go", 25) == 25);
	close(fd);
	snprintf(spec, sizeof(spec), "file:%s", path);
	struct chardev *c = chardev_open(NULL, spec, "serial0");
	CHECK(c);
	CHECK(!strcmp(chardev_filename(c), spec));
	CHECK_EQ(chardev_write(c, "hello ", 6), 6);
	CHECK_EQ(chardev_write(c, "world\n", 6), 6);
	chardev_close(c);
	fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	ssize_t n = read(fd, buf, sizeof(buf));
	close(fd);
	CHECK_EQ(n, 12);
	CHECK(!memcmp(buf, "hello world\n", 12));
	unlink(path);
	rmdir(dir);
}

/* ---- memory ---- */

TEST(chardev_memory_records_output)
{
	struct chardev *c = chardev_memory_new();
	size_t len = 99;
	CHECK(!strcmp(chardev_memory_output(c, &len), ""));
	CHECK_EQ(len, 0);
	CHECK_EQ(chardev_write(c, "abc", 3), 3);
	char big[5000];
	memset(big, 'z', sizeof(big));
	CHECK_EQ(chardev_write(c, big, sizeof(big)), sizeof(big));
	const char *out = chardev_memory_output(c, &len);
	CHECK_EQ(len, 5003);
	CHECK(!memcmp(out, "abczzz", 6));
	CHECK_EQ(out[5003], 0);
	chardev_memory_clear(c);
	CHECK(!strcmp(chardev_memory_output(c, &len), ""));
	CHECK_EQ(len, 0);
	chardev_close(c);
}

TEST(chardev_memory_inject_flow_control)
{
	struct chardev *c = chardev_memory_new();
	chardev_memory_inject(c, "early", 5); /* before a front end: kept */
	CHECK_EQ(chardev_memory_pending(c), 5);
	struct sink *s = sink_attach(c, 3);
	CHECK_EQ(sink_count_event(s, CHR_EVENT_OPENED), 1);
	CHECK(sink_has(s, "ear"));
	CHECK_EQ(chardev_memory_pending(c), 2);
	chardev_memory_inject(c, "hello", 5);
	CHECK(sink_has(s, "ear"));
	CHECK_EQ(chardev_memory_pending(c), 7);
	chardev_accept_input(c); /* still full: nothing moves */
	CHECK_EQ(chardev_memory_pending(c), 7);
	sink_set_room(s, 4);
	chardev_accept_input(c);
	CHECK(sink_has(s, "earlyhe"));
	CHECK_EQ(chardev_memory_pending(c), 3);
	sink_set_room(s, SIZE_MAX);
	chardev_accept_input(c);
	CHECK(sink_has(s, "earlyhello"));
	CHECK_EQ(chardev_memory_pending(c), 0);
	chardev_close(c);
}

TEST(chardev_memory_reentrant_frontend)
{
	/* receive() echoes and calls accept_input: no deadlock, all in order. */
	struct chardev *c = chardev_memory_new();
	struct sink *s = sink_attach(c, 1);
	s->echo = true;
	s->accept_inside = true;
	chardev_memory_inject(c, "abc", 3);
	CHECK(sink_has(s, "a"));
	sink_set_room(s, SIZE_MAX);
	chardev_accept_input(c);
	CHECK(sink_has(s, "abc"));
	size_t len;
	const char *out = chardev_memory_output(c, &len);
	CHECK(len == 3 && !memcmp(out, "abc", 3));
	chardev_close(c);
}

struct mem_thread {
	struct chardev *c;
	int id;
};

static void *mem_writer(void *opaque)
{
	struct mem_thread *t = opaque;
	for (int i = 0; i < 1000; i++) {
		char line[32];
		int n = snprintf(line, sizeof(line), "t%d-%04d\n", t->id, i);
		chardev_write(t->c, line, (size_t)n);
		chardev_memory_inject(t->c, line, (size_t)n);
	}
	return NULL;
}

/* Lines of thread id appear whole and in order in buf. */
static bool lines_intact(const char *buf, size_t len, int threads)
{
	int next[8] = { 0 };
	size_t pos = 0;
	while (pos < len) {
		int id, i, used;
		if (sscanf(buf + pos, "t%d-%4d\n%n", &id, &i, &used) != 2 ||
		    id < 0 || id >= threads || i != next[id] || buf[pos + 7] != '\n')
			return false;
		next[id]++;
		pos += 8;
	}
	for (int i = 0; i < threads; i++)
		if (next[i] != 1000)
			return false;
	return true;
}

TEST(chardev_memory_threads)
{
	struct chardev *c = chardev_memory_new();
	struct sink *s = sink_attach(c, SIZE_MAX);
	pthread_t th[4];
	struct mem_thread args[4];
	for (int i = 0; i < 4; i++) {
		args[i].c = c;
		args[i].id = i;
		pthread_create(&th[i], NULL, mem_writer, &args[i]);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	size_t len;
	const char *out = chardev_memory_output(c, &len);
	CHECK_EQ(len, 4 * 1000 * 8);
	CHECK(lines_intact(out, len, 4));
	CHECK_EQ(s->len, 4 * 1000 * 8);
	CHECK(lines_intact(s->buf, s->len, 4));
	chardev_close(c);
}

/* ---- unix sockets ---- */

TEST(chardev_unix_server_client)
{
	struct mainloop *l = mainloop_new();
	char *dir = temp_dir();
	char sspec[256], cspec[256];
	snprintf(sspec, sizeof(sspec), "unix:%s/sock,server,nowait", dir);
	snprintf(cspec, sizeof(cspec), "unix:%s/sock", dir);
	struct chardev *srv = chardev_open(l, sspec, "serial0");
	CHECK(srv);
	struct sink *ss = sink_attach(srv, SIZE_MAX);
	CHECK_EQ(sink_count_event(ss, CHR_EVENT_OPENED), 0);
	CHECK_EQ(chardev_write(srv, "lost", 4), 4); /* no client: dropped */

	struct chardev *cli = chardev_open(l, cspec, "monitor");
	CHECK(cli);
	struct sink *cs = sink_attach(cli, SIZE_MAX);
	CHECK_EQ(sink_count_event(cs, CHR_EVENT_OPENED), 1);
	CHECK(run_until_event(l, ss, CHR_EVENT_OPENED, 1, 2000));

	CHECK_EQ(chardev_write(cli, "ping", 4), 4);
	CHECK(run_until_len(l, ss, 4, 2000));
	CHECK(sink_has(ss, "ping"));
	CHECK_EQ(chardev_write(srv, "pong", 4), 4);
	CHECK(run_until_len(l, cs, 4, 2000));
	CHECK(sink_has(cs, "pong"));

	/* The client leaves; the server takes the next one. */
	chardev_close(cli);
	CHECK(run_until_event(l, ss, CHR_EVENT_CLOSED, 1, 2000));
	struct chardev *cli2 = chardev_open(l, cspec, "monitor");
	CHECK(cli2);
	struct sink *cs2 = sink_attach(cli2, SIZE_MAX);
	CHECK(run_until_event(l, ss, CHR_EVENT_OPENED, 2, 2000));
	CHECK_EQ(chardev_write(cli2, "again", 5), 5);
	CHECK(run_until_len(l, ss, 9, 2000));
	CHECK(sink_has(ss, "pingagain"));
	CHECK_EQ(chardev_write(srv, "!", 1), 1);
	CHECK(run_until_len(l, cs2, 1, 2000));
	CHECK(sink_has(cs2, "!"));

	chardev_close(cli2);
	chardev_close(srv);
	struct stat st;
	char path[256];
	snprintf(path, sizeof(path), "%s/sock", dir);
	CHECK(stat(path, &st) < 0); /* the server removed its socket */
	rmdir(dir);
	mainloop_free(l);
}

struct late_client {
	char path[200];
	char got[16];
};

static void *late_client_thread(void *opaque)
{
	struct late_client *lc = opaque;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	strcpy(sa.sun_path, lc->path);
	int fd = -1;
	for (int i = 0; i < 500; i++) {
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
			break;
		close(fd);
		fd = -1;
		usleep(5000);
	}
	if (fd < 0)
		return NULL;
	if (write(fd, "hi", 2) != 2)
		return NULL;
	size_t n = 0;
	while (n < 2) {
		ssize_t r = read(fd, lc->got + n, 2 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	return NULL;
}

TEST(chardev_unix_server_waits)
{
	struct mainloop *l = mainloop_new();
	char *dir = temp_dir();
	struct late_client lc = { .got = "" };
	snprintf(lc.path, sizeof(lc.path), "%s/s", dir);
	char spec[256];
	snprintf(spec, sizeof(spec), "unix:%s,server=on", lc.path);
	pthread_t th;
	pthread_create(&th, NULL, late_client_thread, &lc);
	int p[2];
	char err[512];
	int saved = capture_stderr(p);
	struct chardev *srv = chardev_open(l, spec, "serial0"); /* blocks */
	release_stderr(saved, p, err, sizeof(err));
	CHECK(srv);
	CHECK(strstr(err, "waiting for connection"));
	struct sink *s = sink_attach(srv, SIZE_MAX);
	CHECK_EQ(sink_count_event(s, CHR_EVENT_OPENED), 1);
	CHECK(run_until_len(l, s, 2, 2000));
	CHECK(sink_has(s, "hi"));
	chardev_write(srv, "ok", 2);
	pthread_join(th, NULL);
	CHECK(!strcmp(lc.got, "ok"));
	chardev_close(srv);
	rmdir(dir);
	mainloop_free(l);
}

TEST(chardev_unix_flow_control_and_hangup)
{
	struct mainloop *l = mainloop_new();
	char *dir = temp_dir();
	char sspec[256], cspec[256];
	snprintf(sspec, sizeof(sspec), "unix:%s/sock,server,wait=off", dir);
	snprintf(cspec, sizeof(cspec), "unix:%s/sock", dir);
	struct chardev *srv = chardev_open(l, sspec, "serial0");
	struct sink *ss = sink_attach(srv, 0); /* full */
	struct chardev *cli = chardev_open(l, cspec, "monitor");
	CHECK(srv && cli);
	CHECK(run_until_event(l, ss, CHR_EVENT_OPENED, 1, 2000));
	CHECK_EQ(chardev_write(cli, "abc", 3), 3);
	chardev_close(cli); /* data, then hang-up, while the front end is full */
	run_for(l, 100);
	CHECK_EQ(sink_len(ss), 0);
	CHECK(ss->can_calls < 10); /* it stopped polling rather than spin */
	CHECK_EQ(sink_count_event(ss, CHR_EVENT_CLOSED), 0);
	sink_set_room(ss, 2);
	chardev_accept_input(srv);
	CHECK(run_until_len(l, ss, 2, 2000));
	run_for(l, 50);
	CHECK(sink_has(ss, "ab"));
	sink_set_room(ss, SIZE_MAX);
	chardev_accept_input(srv);
	CHECK(run_until_event(l, ss, CHR_EVENT_CLOSED, 1, 2000));
	CHECK(sink_has(ss, "abc"));
	chardev_close(srv);
	rmdir(dir);
	mainloop_free(l);
}

/* ---- pty ---- */

TEST(chardev_pty)
{
	struct mainloop *l = mainloop_new();
	int p[2];
	char err[512];
	int saved = capture_stderr(p);
	struct chardev *c = chardev_open(l, "pty", "serial0");
	release_stderr(saved, p, err, sizeof(err));
	CHECK(c);
	const char *name = chardev_filename(c);
	CHECK(!strncmp(name, "pty:/dev/pts/", 13));
	char want[300];
	snprintf(want, sizeof(want), "char device redirected to %s (label serial0)\n", name + 4);
	CHECK(!strcmp(err, want));
	struct sink *s = sink_attach(c, SIZE_MAX);

	/* Nobody reads: a flood does not block for long. */
	static char flood[1 << 20];
	memset(flood, 'x', sizeof(flood));
	uint64_t t0 = clock_ns();
	CHECK_EQ(chardev_write(c, flood, sizeof(flood)), sizeof(flood));
	CHECK_EQ(chardev_write(c, flood, sizeof(flood)), sizeof(flood));
	CHECK(clock_ns() - t0 < 5000 * MS);

	int slave = open(name + 4, O_RDWR | O_NOCTTY);
	CHECK(slave >= 0);
	struct termios t;
	tcgetattr(slave, &t);
	cfmakeraw(&t);
	tcsetattr(slave, TCSANOW, &t);
	tcflush(slave, TCIFLUSH);
	CHECK(write(slave, "typed", 5) == 5);
	CHECK(run_until_len(l, s, 5, 2000));
	CHECK(sink_has(s, "typed"));
	CHECK(write(slave, "\x03", 1) == 1); /* ^C is data */
	CHECK(run_until_len(l, s, 6, 2000));
	chardev_close(c);
	close(slave);
	mainloop_free(l);
}

TEST(chardev_pty_output)
{
	struct mainloop *l = mainloop_new();
	int p[2];
	char err[512], buf[64];
	int saved = capture_stderr(p);
	struct chardev *c = chardev_open(l, "pty", "serial0");
	release_stderr(saved, p, err, sizeof(err));
	CHECK(c);
	int slave = open(chardev_filename(c) + 4, O_RDWR | O_NOCTTY);
	CHECK(slave >= 0);
	CHECK_EQ(chardev_write(c, "out\r\n", 5), 5);
	CHECK_EQ(read_all(slave, buf, 6, 500), 5);
	CHECK(!strcmp(buf, "out\r\n"));
	chardev_close(c);
	close(slave);
	mainloop_free(l);
}

/* ---- stdio ---- */

/* Put pipes on stdin and stdout; *in_w feeds stdin, *out_r reads stdout. */
static void stdio_pipes(int *in_w, int *out_r)
{
	int a[2], b[2];
	if (pipe(a) < 0 || pipe(b) < 0)
		abort();
	dup2(a[0], 0);
	dup2(b[1], 1);
	close(a[0]);
	close(b[1]);
	*in_w = a[1];
	*out_r = b[0];
}

TEST(chardev_stdio_pipes)
{
	struct mainloop *l = mainloop_new();
	int in_w, out_r;
	char buf[64];
	stdio_pipes(&in_w, &out_r);
	struct chardev *c = chardev_open(l, "stdio", "serial0");
	CHECK(c);
	CHECK(!term_is_raw()); /* a pipe is no terminal */
	CHECK(!strcmp(chardev_filename(c), "stdio"));
	struct sink *s = sink_attach(c, SIZE_MAX);
	CHECK_EQ(chardev_write(c, "to stdout", 9), 9);
	CHECK_EQ(read_all(out_r, buf, 10, 500), 9);
	CHECK(!strcmp(buf, "to stdout"));

	CHECK(write(in_w, "from stdin", 10) == 10);
	CHECK(run_until_len(l, s, 10, 2000));
	CHECK(sink_has(s, "from stdin"));

	/* Front end full: stdin is left alone, then read on accept. */
	sink_set_room(s, 0);
	CHECK(write(in_w, "more", 4) == 4);
	run_for(l, 50);
	int calls = s->can_calls;
	CHECK_EQ(mainloop_run_once(l, 30), 0);
	CHECK_EQ(s->can_calls, calls);
	sink_set_room(s, SIZE_MAX);
	chardev_accept_input(c);
	CHECK(run_until_len(l, s, 14, 2000));
	CHECK(sink_has(s, "from stdinmore"));

	/* EOF: stop reading, don't spin. */
	close(in_w);
	run_for(l, 50);
	CHECK_EQ(mainloop_run_once(l, 30), 0);
	chardev_close(c);
	close(out_r);
	mainloop_free(l);
}

/* Byte-at-a-time output (a UART's) is coalesced: every byte arrives, in
 * order, soon, and a writer outrunning a slow reader is held back rather
 * than losing bytes. */
TEST(chardev_output_coalesced_in_order)
{
	int in_w, out_r;
	stdio_pipes(&in_w, &out_r);
	struct chardev *c = chardev_open(NULL, "stdio", "serial0");
	CHECK(c);
	enum { N = 3000 };
	static char want[N + 1], got[N + 2];
	for (int i = 0; i < N; i++) {
		want[i] = (char)('a' + i % 26);
		CHECK_EQ(chardev_write(c, &want[i], 1), 1);
	}
	/* no close: the flusher writes it out by itself */
	CHECK_EQ(read_all(out_r, got, N + 1, 2000), (size_t)N);
	CHECK(!memcmp(got, want, N));
	chardev_close(c);
	close(in_w);
	close(out_r);
}

struct slow_reader {
	int fd;
	size_t total;
};

static void *slow_read(void *opaque)
{
	struct slow_reader *r = opaque;
	char buf[4096];
	usleep(100 * 1000);     /* the writer fills the pipe and the buffer */
	ssize_t n;
	while ((n = read(r->fd, buf, sizeof(buf))) > 0)
		r->total += (size_t)n;
	return NULL;
}

TEST(chardev_output_back_pressure)
{
	int in_w, out_r;
	stdio_pipes(&in_w, &out_r);
	struct chardev *c = chardev_open(NULL, "stdio", "serial0");
	CHECK(c);
	struct slow_reader r = { out_r, 0 };
	pthread_t th;
	pthread_create(&th, NULL, slow_read, &r);
	static char block[1024];
	memset(block, 'x', sizeof(block));
	for (int i = 0; i < 1024; i++)          /* 1 MiB: far past pipe + buffer */
		CHECK_EQ(chardev_write(c, block, sizeof(block)), (ssize_t)sizeof(block));
	chardev_close(c);       /* writes out the rest */
	int devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);       /* the reader sees the end of the pipe */
	close(devnull);
	pthread_join(th, NULL);
	CHECK_EQ(r.total, (size_t)1024 * 1024);
	close(in_w);
	close(out_r);
}

/* qvm_die() and the like end in exit(): what the guest wrote last (a
 * panic message) is written out, not lost in the buffer. */
TEST(chardev_output_written_at_exit)
{
	char *dir = temp_dir();
	char spec[300], path[256];
	snprintf(path, sizeof(path), "%s/out", dir);
	snprintf(spec, sizeof(spec), "file:%s", path);
	pid_t pid = fork();
	if (pid == 0) {
		struct chardev *c = chardev_open(NULL, spec, "serial0");
		if (!c)
			_exit(2);
		chardev_write(c, "last words", 10);
		exit(0);        /* no chardev_close */
	}
	int status = 0;
	CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
	char buf[32] = "";
	int fd = open(path, O_RDONLY);
	CHECK(fd >= 0);
	CHECK_EQ(read(fd, buf, sizeof(buf) - 1), 10);
	CHECK(!strcmp(buf, "last words"));
	close(fd);
	unlink(path);
	rmdir(dir);
}

TEST(chardev_stdio_once_only)
{
	int in_w, out_r;
	stdio_pipes(&in_w, &out_r);
	struct chardev *a = chardev_open(NULL, "stdio", "serial0");
	CHECK(a);
	CHECK(open_fails("stdio", "monitor", "-monitor stdio: cannot use stdio by multiple"));
	CHECK(open_fails("mon:stdio", "monitor", "cannot use stdio by multiple"));
	chardev_close(a);
	struct chardev *b = chardev_open(NULL, "stdio", "monitor");
	CHECK(b);
	chardev_close(b);
}

TEST(chardev_stdio_regular_file)
{
	/* stdin < file: epoll refuses regular files; input still flows. */
	struct mainloop *l = mainloop_new();
	char *dir = temp_dir();
	char path[256];
	snprintf(path, sizeof(path), "%s/in", dir);
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CHECK(write(fd, "from a file", 11) == 11);
	lseek(fd, 0, SEEK_SET);
	dup2(fd, 0);
	close(fd);
	struct chardev *c = chardev_open(l, "stdio", "monitor");
	CHECK(c);
	struct sink *s = sink_attach(c, 4);
	CHECK(run_until_len(l, s, 4, 2000));
	run_for(l, 30);
	CHECK(sink_has(s, "from"));
	sink_set_room(s, SIZE_MAX);
	chardev_accept_input(c);
	CHECK(run_until_len(l, s, 11, 2000));
	CHECK(sink_has(s, "from a file"));
	run_for(l, 20);
	CHECK_EQ(mainloop_run_once(l, 20), 0); /* EOF: quiet */
	chardev_close(c);
	unlink(path);
	rmdir(dir);
	mainloop_free(l);
}

/* A pty pair with the slave on fd 0; returns the master, *slave gets a
 * second descriptor of the slave for looking at its settings. */
static int tty_on_stdin(int *slave)
{
	int m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0 || grantpt(m) < 0 || unlockpt(m) < 0)
		return -1;
	int s = open(ptsname(m), O_RDWR | O_NOCTTY);
	if (s < 0)
		return -1;
	dup2(s, 0);
	*slave = s;
	return m;
}

static bool tty_is_raw(int fd, bool signals)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return false;
	return !(t.c_lflag & (ECHO | ICANON)) && !(t.c_iflag & (ICRNL | IXON)) &&
	       (t.c_oflag & OPOST) && !!(t.c_lflag & ISIG) == signals;
}

static bool tty_is_cooked(int fd)
{
	struct termios t;
	if (tcgetattr(fd, &t) < 0)
		return false;
	return (t.c_lflag & (ECHO | ICANON | ISIG)) == (ECHO | ICANON | ISIG);
}

TEST(chardev_stdio_tty_raw_and_restored)
{
	int slave;
	int m = tty_on_stdin(&slave);
	CHECK(m >= 0);
	CHECK(tty_is_cooked(slave));
	struct chardev *c = chardev_open(NULL, "stdio,signal=off", "serial0");
	CHECK(c);
	CHECK(term_is_raw());
	CHECK(tty_is_raw(slave, false));
	chardev_close(c);
	CHECK(!term_is_raw());
	CHECK(tty_is_cooked(slave));
	c = chardev_open(NULL, "stdio", "serial0");   /* QEMU's default: signal=on */
	CHECK(c);
	CHECK(tty_is_raw(slave, true));
	chardev_close(c);
	CHECK(tty_is_cooked(slave));
	c = chardev_open(NULL, "mon:stdio", "serial0"); /* ^C to the guest */
	CHECK(c);
	CHECK(tty_is_raw(slave, false));
	chardev_close(c);
	CHECK(tty_is_cooked(slave));
	close(m);
}

/* A real page fault, the way a crashing qvm meets its SIGSEGV handler: a
 * store to a page mapped PROT_NONE.  (A store through a null pointer is
 * undefined: gcc drops the code path, UBSan stops before the fault.) */
static void fault_now(void)
{
	void *page = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (page != MAP_FAILED)
		*(volatile int *)page = 1;
	_exit(97);
}

/* A child with the tty on stdin opens stdio, says so, then dies by how. */
static pid_t stdio_child(int how, int *ready_r)
{
	int p[2];
	if (pipe(p) < 0)
		return -1;
	pid_t pid = fork();
	if (pid != 0) {
		close(p[1]);
		*ready_r = p[0];
		return pid;
	}
	close(p[0]);
	/* static: exit() with it open is the point, not a leak */
	static struct chardev *volatile c;
	c = chardev_open(NULL, "stdio,signal=off", "serial0");
	if (!c)
		_exit(99);
	if (write(p[1], "r", 1) != 1)
		_exit(98);
	if (how == 0)
		exit(3);              /* qvm_die's way out: exit() */
	if (how == SIGSEGV)
		fault_now();
	if (how == SIGABRT)
		abort();
	alarm(30);                   /* no orphan if the parent never kills it */
	for (;;)
		pause();             /* killed by the parent */
}

static bool child_restores(int how, int sig)
{
	int slave;
	int m = tty_on_stdin(&slave);
	if (m < 0)
		return false;
	int ready = -1;
	pid_t pid = stdio_child(how, &ready);
	char r;
	bool ok = read(ready, &r, 1) == 1;
	if (ok && sig && how == SIGTERM) {
		ok = tty_is_raw(slave, false); /* raw while it runs */
		kill(pid, sig);
	}
	int status;
	waitpid(pid, &status, 0);
	if (sig)
		ok = ok && WIFSIGNALED(status) && WTERMSIG(status) == sig;
	else
		ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 3;
	ok = ok && tty_is_cooked(slave);
	close(ready);
	close(m);
	close(slave);
	return ok;
}

TEST(chardev_stdio_restored_on_exit)
{
	CHECK(child_restores(0, 0));
}

/* Whether sig still has its default action: term.c hooks only those (a
 * sanitizer's SIGSEGV handler, installed first, is left alone). */
static bool signal_is_default(int sig)
{
	struct sigaction old;

	return sigaction(sig, NULL, &old) == 0 && !(old.sa_flags & SA_SIGINFO) &&
	       old.sa_handler == SIG_DFL;
}

TEST(chardev_stdio_restored_on_signals)
{
	CHECK(child_restores(SIGTERM, SIGTERM));
	CHECK(child_restores(SIGABRT, SIGABRT));
	if (signal_is_default(SIGSEGV))
		CHECK(child_restores(SIGSEGV, SIGSEGV));
	else
		unit_skip("the SIGSEGV case: a sanitizer handles SIGSEGV in this build, "
			  "which term.c leaves alone; run it in the plain build");
}

/* ---- the mux ---- */

struct quit_flag {
	int count;
};

static void on_quit(void *opaque)
{
	((struct quit_flag *)opaque)->count++;
}

struct mux_rig {
	struct chardev *be, *mux, *a, *b;
	struct sink *sa, *sb;
	struct quit_flag quit;
};

static void mux_rig_init(struct mux_rig *r, size_t room_a, size_t room_b)
{
	memset(r, 0, sizeof(*r));
	r->be = chardev_memory_new();
	r->mux = chardev_mux_new(r->be);
	chardev_mux_set_quit_handler(r->mux, on_quit, &r->quit);
	r->a = chardev_mux_add(r->mux, "serial0");
	r->b = chardev_mux_add(r->mux, "monitor");
	r->sa = sink_attach(r->a, room_a);
	r->sb = sink_attach(r->b, room_b);
}

static void mux_rig_close(struct mux_rig *r)
{
	chardev_close(r->a);
	chardev_close(r->mux);
	chardev_close(r->b);
}

static void feed(struct mux_rig *r, const char *s)
{
	chardev_memory_inject(r->be, s, strlen(s));
}

TEST(chardev_mux_focus_switch)
{
	struct mux_rig r;
	mux_rig_init(&r, SIZE_MAX, SIZE_MAX);
	CHECK(chardev_is_mux(r.mux));
	CHECK(!chardev_is_mux(r.a));
	CHECK_EQ(sink_count_event(r.sa, CHR_EVENT_OPENED), 1);
	CHECK_EQ(sink_count_event(r.sa, CHR_EVENT_FOCUS_IN), 1);
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_OPENED), 1);
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_FOCUS_IN), 0);
	feed(&r, "ab");
	CHECK(sink_has(r.sa, "ab"));
	feed(&r, "\x01" "cxy");
	CHECK(sink_has(r.sa, "ab"));
	CHECK(sink_has(r.sb, "xy"));
	CHECK_EQ(sink_count_event(r.sa, CHR_EVENT_FOCUS_OUT), 1);
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_FOCUS_IN), 1);
	/* An escape split over two reads. */
	feed(&r, "z\x01");
	feed(&r, "cw");
	CHECK(sink_has(r.sb, "xyz"));
	CHECK(sink_has(r.sa, "abw"));
	CHECK_EQ(r.quit.count, 0);
	mux_rig_close(&r);
}

TEST(chardev_mux_literal_ctrl_a_and_unknown)
{
	struct mux_rig r;
	mux_rig_init(&r, SIZE_MAX, SIZE_MAX);
	feed(&r, "1\x01\x01" "2\x01s3\x01q4");
	CHECK(sink_has(r.sa, "1\x01" "234"));
	CHECK(sink_has(r.sb, ""));
	mux_rig_close(&r);
}

TEST(chardev_mux_quit)
{
	struct mux_rig r;
	mux_rig_init(&r, SIZE_MAX, SIZE_MAX);
	feed(&r, "a\x01x");
	CHECK_EQ(r.quit.count, 1);
	CHECK(sink_has(r.sa, "a"));
	CHECK(strstr(chardev_memory_output(r.be, NULL), "qvm: terminated"));
	mux_rig_close(&r);
}

TEST(chardev_mux_help_break_output)
{
	struct mux_rig r;
	mux_rig_init(&r, SIZE_MAX, SIZE_MAX);
	CHECK_EQ(chardev_write(r.a, "serial ", 7), 7);
	CHECK_EQ(chardev_write(r.b, "monitor ", 8), 8);
	CHECK_EQ(chardev_write(r.mux, "mux", 3), 3);
	CHECK(!strcmp(chardev_memory_output(r.be, NULL), "serial monitor mux"));
	chardev_memory_clear(r.be);
	feed(&r, "\x01h");
	const char *help = chardev_memory_output(r.be, NULL);
	CHECK(strstr(help, "C-a x"));
	CHECK(strstr(help, "C-a c"));
	CHECK(strstr(help, "C-a h"));
	CHECK(strstr(help, "C-a C-a"));
	feed(&r, "\x01" "b");
	CHECK_EQ(sink_count_event(r.sa, CHR_EVENT_BREAK), 1);
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_BREAK), 0);
	CHECK(sink_has(r.sa, ""));
	mux_rig_close(&r);
}

TEST(chardev_mux_timestamps)
{
	struct mux_rig r;
	mux_rig_init(&r, SIZE_MAX, SIZE_MAX);
	feed(&r, "\x01t");
	chardev_write(r.a, "one\ntw", 6);
	chardev_write(r.b, "o\n", 2);
	const char *out = chardev_memory_output(r.be, NULL);
	unsigned h, m, s, ms;
	char l1[8], l2[8];
	CHECK(sscanf(out, "[%2u:%2u:%2u.%3u] %3s\n[%2u:%2u:%2u.%3u] %3s\n",
		     &h, &m, &s, &ms, l1, &h, &m, &s, &ms, l2) == 10);
	CHECK(!strcmp(l1, "one") && !strcmp(l2, "two"));
	chardev_memory_clear(r.be);
	feed(&r, "\x01t");
	chardev_write(r.a, "plain\n", 6);
	CHECK(!strcmp(chardev_memory_output(r.be, NULL), "plain\n"));
	mux_rig_close(&r);
}

TEST(chardev_mux_flow_control)
{
	struct mux_rig r;
	mux_rig_init(&r, 2, SIZE_MAX);
	feed(&r, "hello");
	CHECK(sink_has(r.sa, "he"));
	sink_set_room(r.sa, SIZE_MAX);
	chardev_accept_input(r.a);
	CHECK(sink_has(r.sa, "hello"));

	/* A full front end pushes back to the back end. */
	sink_set_room(r.sa, 0);
	char big[1000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)('a' + i % 26);
	chardev_memory_inject(r.be, big, sizeof(big));
	CHECK(chardev_memory_pending(r.be) > 0);
	CHECK(chardev_memory_pending(r.be) < sizeof(big));
	/* The escape waits behind the data: no switch yet. */
	feed(&r, "\x01" "c");
	CHECK(chardev_memory_pending(r.be) > 0);
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_FOCUS_IN), 0);
	sink_set_room(r.sa, SIZE_MAX);
	chardev_accept_input(r.a);
	CHECK_EQ(chardev_memory_pending(r.be), 0);
	CHECK_EQ(r.sa->len, 5 + sizeof(big));
	CHECK(!memcmp(r.sa->buf + 5, big, sizeof(big)));
	CHECK_EQ(sink_count_event(r.sb, CHR_EVENT_FOCUS_IN), 1);
	feed(&r, "to b");
	CHECK(sink_has(r.sb, "to b"));
	mux_rig_close(&r);
}

TEST(chardev_mux_limits_and_close_order)
{
	struct chardev *be = chardev_memory_new();
	struct chardev *mux = chardev_mux_new(be);
	struct chardev *fe[4];
	for (int i = 0; i < 4; i++)
		CHECK((fe[i] = chardev_mux_add(mux, "x")));
	int p[2];
	char err[256];
	int saved = capture_stderr(p);
	struct chardev *extra = chardev_mux_add(mux, "serial4");
	struct chardev *notmux = chardev_mux_add(be, "serial5");
	release_stderr(saved, p, err, sizeof(err));
	CHECK(!extra && !notmux);
	CHECK(strstr(err, "too many"));
	chardev_close(mux); /* front ends still work */
	CHECK_EQ(chardev_write(fe[2], "still", 5), 5);
	CHECK(!strcmp(chardev_memory_output(be, NULL), "still"));
	for (int i = 0; i < 4; i++)
		chardev_close(fe[i]);
}

TEST(chardev_mux_over_stdio)
{
	struct mainloop *l = mainloop_new();
	int in_w, out_r;
	char buf[128];
	stdio_pipes(&in_w, &out_r);
	struct chardev *mux = chardev_open(l, "mon:stdio", "serial0");
	CHECK(mux && chardev_is_mux(mux));
	struct quit_flag q = { 0 };
	chardev_mux_set_quit_handler(mux, on_quit, &q);
	struct chardev *ser = chardev_mux_add(mux, "serial0");
	struct chardev *mon = chardev_mux_add(mux, "monitor");
	struct sink *ss = sink_attach(ser, SIZE_MAX);
	struct sink *ms = sink_attach(mon, SIZE_MAX);
	const char *keys = "ls\r\x01" "cinfo\r\x01" "x";
	CHECK(write(in_w, keys, strlen(keys)) == (ssize_t)strlen(keys));
	uint64_t end = clock_ns() + 2000 * MS;
	while (!q.count && clock_ns() < end)
		mainloop_run_once(l, 10);
	CHECK_EQ(q.count, 1);
	CHECK(sink_has(ss, "ls\r"));
	CHECK(sink_has(ms, "info\r"));
	chardev_write(ser, "guest\n", 6);
	read_all(out_r, buf, sizeof(buf), 200);
	CHECK(strstr(buf, "qvm: terminated"));
	CHECK(strstr(buf, "guest\n"));
	chardev_close(ser);
	chardev_close(mon);
	chardev_close(mux);
	close(in_w);
	close(out_r);
	mainloop_free(l);
}
