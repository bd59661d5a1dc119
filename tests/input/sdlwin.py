"""The SDL2 window (-display sdl) under Xvfb, for tests/input/run.

Two boots of the Linux guest, each recording its input devices as
tests/input/run's GUEST_SCRIPT does (the event devices, the PS/2 aux port
through serio_raw):

  1. PS/2 keyboard and mouse only (no absolute pointer):
     - the window's title is "qvm (NAME)" for -name NAME;
     - a screenshot of the window (xwd) equals the monitor's screendump;
     - keys typed into the window (xdotool, XTEST) reach the guest's
       keyboard;
     - a left click grabs the mouse (the title says so) and reaches the
       guest as no button; motion while grabbed reaches the PS/2 mouse as
       relative packets; Ctrl-Alt-G lets go (the title says so; the G
       does not reach the guest) and motion after that reaches nothing;
     - the window resized to twice the frame shows the frame scaled 2x.
  2. With -device virtio-tablet-pci: a click does not grab, and the
     pointer's position reaches the tablet scaled to 0..32767.

SKIP with the reason without Xvfb, xwd, xwininfo or xdotool, when Xvfb
cannot start, and without a graphics device in this build."""
import os, re, select, shutil, subprocess, time

KEY_Q, KEY_ENTER, KEY_G, BTN_LEFT, EV_KEY, EV_ABS = 16, 28, 34, 0x110, 1, 3
TITLE = "qvm (sdltest)"
GRAB_NOTE = " - Press Ctrl-Alt-G to exit grab"


def start_xvfb(xvfb, tmp):
    """Xvfb on a display number it picks itself (-displayfd): (proc, ':N'),
    or (None, why not)."""
    rfd, wfd = os.pipe()
    log = open(os.path.join(tmp, "xvfb.log"), "wb")
    try:
        x = subprocess.Popen([xvfb, "-displayfd", str(wfd), "-screen", "0", "1600x1000x24",
                              "-nolisten", "tcp"], pass_fds=(wfd,),
                             stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    except OSError as e:
        os.close(rfd)
        os.close(wfd)
        return None, str(e)
    finally:
        log.close()
    os.close(wfd)
    num, end = b"", time.time() + 30
    while time.time() < end and not num.endswith(b"\n"):
        r, _, _ = select.select([rfd], [], [], 0.5)
        if r:
            chunk = os.read(rfd, 16)
            if not chunk:
                break
            num += chunk
    os.close(rfd)
    if not num.strip().isdigit():
        x.kill()
        x.wait()
        with open(os.path.join(tmp, "xvfb.log"), "rb") as f:
            why = f.read().decode(errors="replace").strip().splitlines()[-1:] or ["no display"]
        return None, "Xvfb did not start: " + why[0]
    return x, ":" + num.decode().strip()


def xwd_picture(env, tmp, wid):
    """The window's contents through xwd (ZPixmap, 32 bits a pixel) as
    (w, h, rgb bytes), or None."""
    path = os.path.join(tmp, "win.xwd")
    if subprocess.run(["xwd", "-id", wid, "-out", path], env=env).returncode:
        return None
    import struct
    data = open(path, "rb").read()
    hdr = struct.unpack(">25I", data[:100])
    hsize, w, h, bpp, bpl, ncolors = hdr[0], hdr[4], hdr[5], hdr[11], hdr[12], hdr[19]
    if bpp != 32:
        return None
    pix = data[hsize + ncolors * 12:]
    little = hdr[7] == 0                            # byte order LSBFirst
    rgb = bytearray(w * h * 3)
    for y in range(h):
        row = pix[y * bpl:y * bpl + w * 4]
        line = memoryview(rgb)[y * w * 3:(y + 1) * w * 3]
        if little:                                  # B G R X
            line[0::3], line[1::3], line[2::3] = row[2::4], row[1::4], row[0::4]
        else:                                       # X R G B
            line[0::3], line[1::3], line[2::3] = row[1::4], row[2::4], row[3::4]
    return w, h, bytes(rgb)


def scaled(pic, k):
    """(w, h, rgb) scaled k times by repeating pixels."""
    w, h, rgb = pic
    out = bytearray()
    for y in range(h):
        row = rgb[y * w * 3:(y + 1) * w * 3]
        big = b"".join(row[x * 3:x * 3 + 3] * k for x in range(w))
        out += big * k
    return w * k, h * k, bytes(out)


class Session:
    """One qvm with -display sdl on the Xvfb display, the guest recording."""

    def __init__(self, h, tmp, env, extra):
        self.h, self.env = h, env
        mon_path = os.path.join(tmp, "sdl-mon.sock")
        if os.path.exists(mon_path):
            os.unlink(mon_path)
        self.cmd = [h.QVM, "-accel", h.ACCEL, "-m", "256M", "-display", "sdl", "-name", "sdltest",
                    "-serial", "stdio", "-kernel", os.path.join(h.GUEST, "vmlinuz"),
                    "-initrd", os.path.join(h.GUEST, "initramfs.cpio.gz"),
                    "-append", "console=ttyS0 qvm.run=" + h.guest_script_arg(),
                    "-monitor", "unix:%s,server,nowait" % mon_path] + extra + h.vga_args()
        self.proc = subprocess.Popen(self.cmd, env=env, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.serial = h.Serial(self.proc)
        self.mon = h.Monitor(mon_path)
        self.wid = None

    def ready(self):
        if not self.serial.wait(rb"INPUT-READY", self.h.TIMEOUT):
            return False
        self.devs = {m.group(2).decode(): m.group(1).decode()
                     for m in re.finditer(rb"EVDEV (event\d+) ([^\r\n]+)", self.serial.buf)}
        end = time.time() + 30
        while time.time() < end and not self.wid:
            r = self.xdo("search", "--name", "^qvm \\(sdltest\\)")
            self.wid = r.stdout.split()[0] if r.returncode == 0 and r.stdout.split() else None
            time.sleep(0.3)
        return self.wid is not None

    def xdo(self, *args):
        return subprocess.run(["xdotool"] + list(args), env=self.env, capture_output=True,
                              text=True, timeout=30)

    def title(self):
        return self.xdo("getwindowname", self.wid).stdout.strip()

    def wait_title(self, want, timeout=10):
        end, t = time.time() + timeout, None
        while time.time() < end:
            t = self.title()
            if t == want:
                break
            time.sleep(0.2)
        return t

    def size(self):
        out = subprocess.run(["xwininfo", "-id", self.wid], env=self.env, capture_output=True,
                             text=True).stdout
        w, h = re.search(r"Width: (\d+)", out), re.search(r"Height: (\d+)", out)
        return (int(w.group(1)), int(h.group(1))) if w and h else None

    def dumps(self):
        """Tell the guest to stop recording; its recordings by name."""
        self.proc.stdin.write(b"done\n")
        self.proc.stdin.flush()
        if not self.serial.wait(rb"INPUT-DONE", 120):
            return None
        return {m.group(1).decode(): m.group(2).decode()
                for m in re.finditer(rb"DUMP (\S+)\.bin ([0-9a-f]*)", self.serial.buf)}

    def close(self):
        self.proc.kill()
        self.proc.wait()


def aux_packets(hexdata):
    """The PS/2 mouse's bytes after the 0xf4 ack: (buttons, dx, dy) a
    packet (its sign bits in byte 0)."""
    raw = bytes.fromhex(hexdata or "")
    if raw[:1] != b"\xfa":
        return None
    out = []
    for i in range(1, len(raw) - 2, 3):
        b, x, y = raw[i:i + 3]
        out.append((b & 7, x - 256 if b & 0x10 else x, y - 256 if b & 0x20 else y))
    return out


def ps2_run(h, tmp, env):
    s = Session(h, tmp, env, [])
    try:
        if not s.ready():
            h.report("sdl-guest-ready", False, " ".join(s.cmd) + "\n" + s.serial.tail())
            return
        t = s.title()
        h.report("sdl-window-title", t == TITLE, "title %r" % t)
        dump, out = h.screendump_pixels(s.mon, tmp)
        if dump is None:
            h.skip("sdl-screenshot-matches-screendump",
                   "no VGA device in this build (screendump: %s)" % out)
        else:
            time.sleep(0.5)                         # a refresh or two
            shot = xwd_picture(env, tmp, s.wid)
            colours = len(set(dump[2][i:i + 3] for i in range(0, len(dump[2]), 3)))
            h.report("sdl-screenshot-matches-screendump",
                     h.same_picture(shot, dump) and colours > 1,
                     "screenshot %r, screendump %dx%d with %d colours" %
                     (shot and shot[:2], dump[0], dump[1], colours))
        # keys: XTEST presses go to the window with the input focus
        s.xdo("windowfocus", "--sync", s.wid)
        s.xdo("key", "--delay", "50", "q", "Return")
        # the mouse: a click grabs, motion while grabbed, ctrl-alt-g
        s.xdo("mousemove", "--window", s.wid, "100", "100")
        time.sleep(0.3)
        s.xdo("click", "1")
        t = s.wait_title(TITLE + GRAB_NOTE)
        h.report("sdl-click-grabs", t == TITLE + GRAB_NOTE, "title %r" % t)
        for _ in range(2):
            s.xdo("mousemove_relative", "--", "30", "0")
            time.sleep(0.3)
        s.xdo("key", "ctrl+alt+g")
        t = s.wait_title(TITLE)
        h.report("sdl-ctrl-alt-g-ungrabs", t == TITLE, "title %r" % t)
        s.xdo("mousemove_relative", "--", "100", "40")
        time.sleep(0.3)
        if dump is not None:
            # all of it on the screen: xwd takes only the part there
            s.xdo("windowmove", "--sync", s.wid, "0", "0")
            s.xdo("windowsize", "--sync", s.wid, str(dump[0] * 2), str(dump[1] * 2))
            time.sleep(1)
            shot = xwd_picture(env, tmp, s.wid)
            h.report("sdl-window-scales-the-frame",
                     shot is not None and h.same_picture(shot, scaled(dump, 2)),
                     "window %r (want %dx%d)" % (shot and shot[:2], dump[0] * 2, dump[1] * 2))
        d = s.dumps()
        if d is None:
            h.report("sdl-guest-dump", False, s.serial.tail())
            return
        kbd = s.devs.get("AT Translated Set 2 keyboard")
        keys = h.keys_of(h.events(d.get(kbd, ""))) if kbd else []
        h.report("sdl-keys-reach-guest",
                 h.in_order(keys, [(KEY_Q, 1), (KEY_Q, 0), (KEY_ENTER, 1), (KEY_ENTER, 0)]),
                 "keys %r" % keys)
        h.report("sdl-ctrl-alt-g-not-a-key", KEY_G not in [c for c, v in keys], "keys %r" % keys)
        pk = aux_packets(d.get("aux"))
        # the grabbing click is no button; the 60 to the right while
        # grabbed arrive whole (in any number of packets); nothing after
        # the ungrab
        ok = (pk is not None and pk and all(b == 0 for b, x, y in pk) and
              sum(x for b, x, y in pk) == 60 and sum(y for b, x, y in pk) == 0)
        h.report("sdl-grabbed-motion-reaches-ps2-mouse", ok, "aux packets %r" % pk)
    finally:
        s.close()


def tablet_run(h, tmp, env):
    s = Session(h, tmp, env, ["-device", "virtio-tablet-pci"])
    try:
        if not s.ready():
            h.report("sdl-tablet-guest-ready", False, " ".join(s.cmd) + "\n" + s.serial.tail())
            return
        size = s.size()
        x, y = size[0] // 2, size[1] // 3
        s.xdo("mousemove", "--window", s.wid, str(x), str(y))
        time.sleep(0.3)
        s.xdo("click", "1")
        time.sleep(0.5)
        t = s.title()
        h.report("sdl-tablet-click-no-grab", t == TITLE, "title %r" % t)
        d = s.dumps()
        if d is None:
            h.report("sdl-tablet-guest-dump", False, s.serial.tail())
            return
        tab = s.devs.get("qvm Virtio Tablet")
        evs = h.events(d.get(tab, "")) if tab else []
        absx = [v for t, c, v in evs if t == EV_ABS and c == 0]
        absy = [v for t, c, v in evs if t == EV_ABS and c == 1]
        btn = [(c, v) for t, c, v in evs if t == EV_KEY]
        want = (x * 32767 // (size[0] - 1), y * 32767 // (size[1] - 1))
        h.report("sdl-pointer-reaches-tablet",
                 absx[-1:] == [want[0]] and absy[-1:] == [want[1]] and
                 h.in_order(btn, [(BTN_LEFT, 1), (BTN_LEFT, 0)]),
                 "abs x %r y %r (want %r) buttons %r, window %r" % (absx, absy, want, btn, size))
    finally:
        s.close()


def run(h, tmp):
    """h: tests/input/run's module (report, skip, Serial, Monitor, ...)."""
    tools = ("Xvfb", "xwd", "xwininfo", "xdotool")
    missing = [t for t in tools if not shutil.which(t)]
    if missing:
        h.skip("sdl-window", "%s missing (apt-get install xvfb x11-apps x11-utils xdotool)" %
               ", ".join(missing))
        return
    x, disp = start_xvfb(shutil.which("Xvfb"), tmp)
    if x is None:
        h.skip("sdl-window", disp)
        return
    env = dict(os.environ, DISPLAY=disp, SDL_VIDEODRIVER="x11")
    try:
        ps2_run(h, tmp, env)
        tablet_run(h, tmp, env)
    except (TimeoutError, OSError, subprocess.TimeoutExpired) as e:
        h.report("sdl-window", False, str(e))
    finally:
        x.kill()
        x.wait()
