"""Helpers the Python test suites share: talk to qvm's monitor on a unix
socket, and read PNG screendumps back with png-probe (tests/display/
png-probe.c, libpng)."""
import os, re, select, socket, subprocess, time

HERE = os.path.dirname(os.path.abspath(__file__))
PNG_PROBE_C = os.path.join(HERE, "..", "display", "png-probe.c")


def read_until(f, pattern, timeout=60):
    """Read f until the bytes match the regex pattern; the text so far."""
    buf, end = b"", time.time() + timeout
    while time.time() < end:
        r, _, _ = select.select([f], [], [], 0.2)
        if r:
            chunk = os.read(f.fileno(), 4096)
            if not chunk:
                break
            buf += chunk
            if re.search(pattern, buf):
                return buf.decode(errors="replace")
    raise TimeoutError("no %r in %r" % (pattern, buf[-500:]))


def connect(path, timeout=10):
    """The monitor socket, once qvm listens and has shown its prompt."""
    end = time.time() + timeout
    while time.time() < end:
        try:
            s = socket.socket(socket.AF_UNIX)
            s.connect(path)
            read_until(s.makefile("rb", buffering=0), rb"\(qvm\) $")
            return s
        except (FileNotFoundError, ConnectionRefusedError):
            time.sleep(0.05)
    raise TimeoutError("no monitor at " + path)


def command(sock, line, timeout=20):
    """Run one monitor command; its output up to the next prompt."""
    sock.sendall(line.encode() + b"\r\n")
    return read_until(sock.makefile("rb", buffering=0), rb"\(qvm\) $", timeout)


def build_png_probe(tmp):
    """Compile png-probe into tmp: (path, None), or (None, why not)."""
    tool = os.path.join(tmp, "png-probe")
    cc = subprocess.run(["cc", "-O1", "-o", tool, PNG_PROBE_C, "-lpng"],
                        capture_output=True, text=True)
    if cc.returncode:
        return None, "cannot build png-probe (install libpng-dev): " + \
            (cc.stderr.strip().splitlines() or ["cc failed"])[-1]
    return tool, None


def probe(tool, png, points):
    """The PNG's (width, height) and the 0xRRGGBB of each (x, y) point."""
    out = subprocess.run([tool, png] + ["%d,%d" % p for p in points], capture_output=True,
                         text=True, check=True).stdout.split()
    return (int(out[0]), int(out[1])), [int(v, 16) for v in out[2:]]


def probe_rows(tool, png):
    """(width, height, rows): each row of pixels as one hex string of
    6 digits per pixel."""
    out = subprocess.run([tool, png, "rows"], capture_output=True, text=True,
                         check=True).stdout.split("\n")
    w, h = map(int, out[0].split())
    return w, h, out[1:1 + h]
