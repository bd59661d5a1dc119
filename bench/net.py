"""The network figures of bench/: the default Linux guest on a virtio-net
NIC with user-mode networking (-nic user,model=virtio-net-pci), under
qvm and under QEMU with the same command line (-accel tcg), reported as
ratios qvm/QEMU:

  host to guest  MB/s   the host writes NET_MB MiB into the guest's nc
                        through hostfwd (the guest discards them); timed
                        from connect until the guest closes
  guest to host  MB/s   the guest writes NET_MB MiB (head /dev/zero | nc)
                        to a server on the host's loopback through
                        10.0.2.2; timed from accept until end of file
  round trip     us     1-byte messages to the guest's nc -e cat through
                        hostfwd and back, NET_ROUNDS of them, mean

and over tap, where this host lets the benchmark make a network namespace
(root, unshare -n, /dev/net/tun): two guests on taps bridged in it,
-netdev tap,ifname=...,script=no,downscript=no for both VMMs:

  tap: guest to guest  MB/s  NET_MB MiB from one guest's nc to the
                             other's, timed between the sender's lines
                             before and after, as the serial console shows
                             them to the host
  tap: ping            ms    busybox ping -c 20 between the guests, the
                             average round trip it reports

Run by bench/run net (and at the end of bench/run).  Env: QVM, QEMU,
LINUX_GUEST_DIR, NET_MB (16), NET_ROUNDS (500), NET_REPS (1; the median
is reported), NET_TIMEOUT (300), QVM_ARGS, QEMU_ARGS.  Never asserts.
"""

import base64, os, shlex, shutil, socket, statistics, subprocess, sys, tempfile, time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
QVM = shlex.split(os.environ.get("QVM", os.path.join(ROOT, "build/qvm")))
QEMU = shlex.split(os.environ.get("QEMU", "qemu-system-x86_64"))
GUEST = os.environ.get("LINUX_GUEST_DIR", os.path.join(ROOT, "build/linux"))
MB = int(os.environ.get("NET_MB", "16"))
ROUNDS = int(os.environ.get("NET_ROUNDS", "500"))
REPS = int(os.environ.get("NET_REPS", "1"))
TIMEOUT = int(os.environ.get("NET_TIMEOUT", "300"))

SCRIPT = r"""
cat >/tmp/dhcp.sh <<'X'
#!/bin/sh
case $1 in bound|renew) ifconfig $interface $ip netmask $subnet; route add default gw $router;; esac
X
chmod +x /tmp/dhcp.sh
ifconfig lo up
ifconfig eth0 up
udhcpc -i eth0 -n -q -s /tmp/dhcp.sh >/dev/null 2>&1
nc -l -p 5001 >/dev/null &
nc -l -p 5002 -e cat &
sleep 1
echo NETBENCH-READY
i=0
until head -c %(bytes)d /dev/zero | nc 10.0.2.2 %(port)d; do
	sleep 0.3
	i=$((i+1))
	[ $i -gt 1000 ] && break
done
echo NETBENCH-DONE
"""


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(path, text, proc, timeout):
    end = time.time() + timeout
    while time.time() < end and proc.poll() is None:
        with open(path, "rb") as f:
            if text in f.read():
                return True
        time.sleep(0.05)
    return False


def connect(port, timeout=30):
    end = time.time() + timeout
    while time.time() < end:
        try:
            return socket.create_connection(("127.0.0.1", port), timeout=timeout)
        except OSError:
            time.sleep(0.2)
    raise OSError("cannot connect to 127.0.0.1:%d" % port)


def host_to_guest(port):
    s = connect(port)
    chunk, left = bytes(65536), MB << 20
    start = time.perf_counter()
    while left:
        n = s.send(chunk[:min(left, len(chunk))])
        left -= n
    s.shutdown(socket.SHUT_WR)
    s.settimeout(TIMEOUT)
    while s.recv(4096):
        pass
    t = time.perf_counter() - start
    s.close()
    return MB / t


def round_trip(port):
    s = connect(port)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    s.sendall(b"x")
    s.recv(1)                                # warm up
    start = time.perf_counter()
    for _ in range(ROUNDS):
        s.sendall(b"x")
        if not s.recv(1):
            raise OSError("the echo closed")
    t = time.perf_counter() - start
    s.close()
    return t / ROUNDS * 1e6


def guest_to_host(server):
    server.settimeout(TIMEOUT)
    c, _ = server.accept()
    start, got = time.perf_counter(), 0
    c.settimeout(TIMEOUT)
    while True:
        b = c.recv(1 << 16)
        if not b:
            break
        got += len(b)
    t = time.perf_counter() - start
    c.close()
    if got != MB << 20:
        raise OSError("received %d bytes of %d" % (got, MB << 20))
    return MB / t


def one_run(cmd, tmp):
    """The three figures of one boot, or an error string."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    gport = server.getsockname()[1]
    server.close()                  # the guest retries until we listen again
    p_sink, p_echo = free_port(), free_port()
    script = SCRIPT % {"bytes": MB << 20, "port": gport}
    argv = cmd + ["-accel", "tcg", "-m", "256M", "-nographic", "-no-reboot",
                  "-kernel", os.path.join(GUEST, "vmlinuz"),
                  "-initrd", os.path.join(GUEST, "initramfs.cpio.gz"),
                  "-append", "console=ttyS0 panic=-1 quiet qvm.run=" +
                  base64.b64encode(script.encode()).decode(),
                  "-nic", "user,model=virtio-net-pci,hostfwd=tcp:127.0.0.1:%d-:5001,"
                  "hostfwd=tcp:127.0.0.1:%d-:5002" % (p_sink, p_echo)]
    log = os.path.join(tmp, "serial.log")
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT)
        try:
            if not wait_for(log, b"NETBENCH-READY", proc, TIMEOUT):
                return "the guest did not get ready: " + open(log, "rb").read()[-300:].decode(
                    errors="replace")
            h2g = host_to_guest(p_sink)
            rtt = round_trip(p_echo)
            server = socket.socket()
            server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            server.bind(("127.0.0.1", gport))
            server.listen(1)
            g2h = guest_to_host(server)
            server.close()
            proc.wait(TIMEOUT)
            return (h2g, g2h, rtt)
        except (OSError, subprocess.TimeoutExpired) as e:
            return "%s: %s" % (type(e).__name__, e)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def measure(name, cmd):
    runs, err = [], None
    for _ in range(REPS):
        with tempfile.TemporaryDirectory(prefix="qvm-netbench-") as tmp:
            r = one_run(cmd, tmp)
        if isinstance(r, str):
            err = r
            break
        runs.append(r)
    if not runs:
        return None, err
    return tuple(statistics.median(x[i] for x in runs) for i in range(3)), None


def verdict(q, e, higher):
    r = q / e
    faster = r > 1 if higher else r < 1
    k = r if r >= 1 else 1 / r
    return "%.2f" % r, ("qvm" if faster else "QEMU") + " %.1fx %s" % (
        k, "faster" if k >= 1.005 else "(same)")


TAP_A = r"""
ifconfig lo up
ifconfig eth0 192.168.77.1 netmask 255.255.255.0 up
echo TAP-READY
nc -l -p 5001 >/dev/null
sleep 30
"""

TAP_B = r"""
ifconfig lo up
ifconfig eth0 192.168.77.2 netmask 255.255.255.0 up
i=0
until ping -c 1 -W 1 192.168.77.1 >/dev/null 2>&1; do i=$((i+1)); [ $i -gt 100 ] && break; done
sleep 1
echo TAP-START
head -c %(bytes)d /dev/zero | nc 192.168.77.1 5001
echo TAP-END
ping -c 20 -i 0.1 192.168.77.1 | sed -n 's|.*min/avg/max = [0-9.]*/\([0-9.]*\)/.*|TAP-PING \1|p'
"""


def boot(cmd, script, net, log):
    argv = cmd + ["-accel", "tcg", "-m", "256M", "-nographic", "-no-reboot",
                  "-kernel", os.path.join(GUEST, "vmlinuz"),
                  "-initrd", os.path.join(GUEST, "initramfs.cpio.gz"),
                  "-append", "console=ttyS0 panic=-1 quiet qvm.run=" +
                  base64.b64encode(script.encode()).decode()] + net
    out = open(log, "wb")
    return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT), out


def line_times(path, proc, marks, timeout):
    """The host time each marker line first appeared in the serial log."""
    seen, end = {}, time.time() + timeout
    while len(seen) < len(marks) and time.time() < end and proc.poll() is None:
        with open(path, "rb") as f:
            data = f.read()
        for m in marks:
            if m not in seen and m.encode() in data:
                seen[m] = time.perf_counter()
        time.sleep(0.01)
    return seen


def tap_run(cmd, tmp):
    logs = [os.path.join(tmp, "tap%d.log" % i) for i in range(2)]
    procs = []
    try:
        for i, script in enumerate((TAP_A, TAP_B % {"bytes": MB << 20})):
            procs.append(boot(cmd, script, ["-netdev", "tap,id=t,ifname=qvmtap%d,script=no,"
                                            "downscript=no" % i, "-device",
                                            "virtio-net-pci,netdev=t,mac=52:54:00:00:77:0%d" % (i + 1)],
                              logs[i]))
        seen = line_times(logs[1], procs[1][0], ["TAP-START", "TAP-END"], TIMEOUT)
        if len(seen) < 2:
            return "the guests did not exchange data: " + open(logs[1], "rb").read()[-300:].decode(
                errors="replace")
        ping = None
        end = time.time() + 30
        while ping is None and time.time() < end:
            for l in open(logs[1], "rb").read().decode(errors="replace").splitlines():
                if l.startswith("TAP-PING "):
                    ping = float(l.split()[1])
            time.sleep(0.1)
        return (MB / (seen["TAP-END"] - seen["TAP-START"]), ping)
    finally:
        for p, out in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
            out.close()


def tap_setup():
    """None when the bridge and taps are up in this namespace, else why not."""
    if os.environ.get("QVM_NETBENCH_NS") != "1":
        return "needs a network namespace (root, unshare -n) for its bridge"
    setup = ("ip link add qvmbr0 type bridge && ip link set qvmbr0 up && "
             "for t in qvmtap0 qvmtap1; do ip tuntap add $t mode tap vnet_hdr && "
             "ip link set $t master qvmbr0 && ip link set $t up || exit 1; done")
    r = subprocess.run(["sh", "-c", setup], capture_output=True, text=True)
    return None if r.returncode == 0 else "cannot make a bridge and taps: " + r.stderr.strip()[-200:]


def tap_figures(cmds):
    why = tap_setup()
    if why:
        print("SKIP: network figures over tap: " + why)
        return
    res = {}
    for name, cmd in cmds:
        runs = []
        for _ in range(REPS):
            with tempfile.TemporaryDirectory(prefix="qvm-netbench-") as tmp:
                r = tap_run(cmd, tmp)
            if isinstance(r, str):
                print("%s: tap figures [%s]: %s" % ("FAIL" if name == "qvm" else "SKIP", name, r))
                runs = []
                break
            runs.append(r)
        res[name] = tuple(statistics.median(x[i] for x in runs if x[i]) if any(x[i] for x in runs)
                          else None for i in range(2)) if runs else (None, None)
    for i, (label, higher) in enumerate([("tap: guest to guest, MB/s", True),
                                         ("tap: ping, ms", False)]):
        q, e = res["qvm"][i], res["qemu"][i]
        ratio, words = verdict(q, e, higher) if q and e else ("-", "")
        print("%-28s %10s %10s %7s  %s" % (label, "%.2f" % q if q else "-",
                                           "%.2f" % e if e else "-", ratio, words))


def in_namespace():
    """Re-run this file in a network namespace of its own where root may
    (lo up there; the tap figures need it): its exit status, or None to
    run here."""
    if os.environ.get("QVM_NETBENCH_NS") == "1":
        subprocess.run(["ip", "link", "set", "lo", "up"])
        return None
    if os.geteuid() != 0 or not shutil.which("unshare") or not shutil.which("ip"):
        return None
    if subprocess.run(["unshare", "-n", "true"], stderr=subprocess.DEVNULL).returncode:
        return None
    sys.stdout.flush()
    env = dict(os.environ, QVM_NETBENCH_NS="1")
    return subprocess.run(["unshare", "-n", "--", sys.executable, os.path.abspath(__file__)],
                          env=env).returncode


def main():
    rc = in_namespace()
    if rc is not None:
        return rc
    print("network figures: -nic user,model=virtio-net-pci, -accel tcg -m 256M, "
          "the default Linux guest; %d MiB each way, %d round trips, %d run(s)" % (MB, ROUNDS, REPS))
    if not os.path.exists(os.path.join(GUEST, "vmlinuz")):
        print("SKIP: network figures: no Linux guest in %s (make guest-linux)" % GUEST)
        return 0
    res = {}
    for name, cmd in (("qvm", QVM + shlex.split(os.environ.get("QVM_ARGS", ""))),
                      ("qemu", QEMU + shlex.split(os.environ.get("QEMU_ARGS", "")))):
        vals, err = measure(name, cmd)
        if err:
            print("%s: network figures [%s]: %s" % ("FAIL" if name == "qvm" else "SKIP", name, err))
        res[name] = vals
    labels = [("net: host to guest, MB/s", True), ("net: guest to host, MB/s", True),
              ("net: round trip, us", False)]
    print("%-28s %10s %10s %7s  %s" % ("figure", "qvm", "QEMU", "qvm/QEMU", ""))
    for i, (label, higher) in enumerate(labels):
        q = res["qvm"][i] if res["qvm"] else None
        e = res["qemu"][i] if res["qemu"] else None
        ratio, words = verdict(q, e, higher) if q and e else ("-", "")
        print("%-28s %10s %10s %7s  %s" % (label, "%.1f" % q if q else "-",
                                           "%.1f" % e if e else "-", ratio, words))
    tap_figures([("qvm", QVM + shlex.split(os.environ.get("QVM_ARGS", ""))),
                 ("qemu", QEMU + shlex.split(os.environ.get("QEMU_ARGS", "")))])
    return 1 if res["qvm"] is None else 0


if __name__ == "__main__":
    sys.exit(main())
