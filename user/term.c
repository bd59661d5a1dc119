/* Raw mode for the terminal behind the stdio chardev; see term.h. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <termios.h>
#include <unistd.h>
#include "term.h"

/* Process-wide, because the terminal is. */
static struct termios term_saved;
static volatile sig_atomic_t term_fd = -1; /* >= 0 while raw */
static bool term_hooks_installed;

static const int term_fatal_signals[] = {
	SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGPIPE,
	SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT,
};

void term_restore(void)
{
	int fd = term_fd;
	if (fd < 0)
		return;
	term_fd = -1;
	int saved_errno = errno;
	/* A background process would be stopped by SIGTTOU here. */
	sigset_t ttou, old;
	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	pthread_sigmask(SIG_BLOCK, &ttou, &old);
	while (tcsetattr(fd, TCSANOW, &term_saved) < 0 && errno == EINTR)
		;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	errno = saved_errno;
}

bool term_is_raw(void)
{
	return term_fd >= 0;
}

/* SA_RESETHAND put the default action back: restore, then die by it. */
static void term_fatal_signal(int sig)
{
	term_restore();
	raise(sig);
}

static void term_install_hooks(void)
{
	if (term_hooks_installed)
		return;
	term_hooks_installed = true;
	atexit(term_restore);
	for (size_t i = 0; i < sizeof(term_fatal_signals) / sizeof(int); i++) {
		int sig = term_fatal_signals[i];
		struct sigaction old, sa = {
			.sa_handler = term_fatal_signal,
			.sa_flags = SA_RESETHAND | SA_NODEFER,
		};
		sigemptyset(&sa.sa_mask);
		if (sigaction(sig, NULL, &old) == 0 &&
		    !(old.sa_flags & SA_SIGINFO) && old.sa_handler == SIG_DFL)
			sigaction(sig, &sa, NULL);
	}
}

static void term_make_raw(struct termios *t, bool allow_signals)
{
	t->c_iflag &= ~(tcflag_t)(IGNBRK | BRKINT | PARMRK | ISTRIP |
				  INLCR | IGNCR | ICRNL | IXON);
	t->c_oflag |= OPOST;
	t->c_lflag &= ~(tcflag_t)(ECHO | ECHONL | ICANON | IEXTEN);
	if (!allow_signals)
		t->c_lflag &= ~(tcflag_t)ISIG;
	t->c_cflag &= ~(tcflag_t)(CSIZE | PARENB);
	t->c_cflag |= CS8;
	t->c_cc[VMIN] = 1;
	t->c_cc[VTIME] = 0;
}

int term_set_raw(int fd, bool allow_signals)
{
	if (term_fd >= 0) {
		errno = EBUSY;
		return -1;
	}
	struct termios raw;
	if (tcgetattr(fd, &term_saved) < 0)
		return -1;
	raw = term_saved;
	term_make_raw(&raw, allow_signals);
	term_install_hooks();
	term_fd = fd;
	if (tcsetattr(fd, TCSANOW, &raw) < 0) {
		int e = errno;
		term_fd = -1;
		errno = e;
		return -1;
	}
	return 0;
}
