#!/usr/bin/env python3
"""USB tier 2: run a test binary inside a small VM booted from Debian's stock kernel, where
vhci-hcd attaches a simulated USB device over USB/IP and the real usbcore/usbfs/udev enumerate it.

    usbvm.py run --binary PATH [--arg ARG ...] [--timeout S] [--keep]
    usbvm.py prepare            (fetch and unpack the kernel and udevd into the cache only)

What it does (see ../../../shared/design/usb-testing.md and tests/usb-vm/README.md):
  1. Resolves Debian's current linux-image-*-amd64 ABI package at run time (`apt-cache depends
     linux-image-amd64`; old ABI packages vanish from the archive), downloads it and `udev` with
     `apt-get download`, and caches, keyed by kernel version, under
     ${XDG_CACHE_HOME:-$HOME/.cache}/till/usb-vm/<package>_<version>/:
       vmlinux (the bzImage's xz payload decompressed into the ELF image, booted directly via
       PVH), modules/ (usbcore, usb-common, usbip-core, vhci-hcd and whatever they depend on),
       udevadm (started as systemd-udevd: Debian's libusb gets hotplug through libudev).
  2. Builds an uncompressed newc initramfs: busybox (static), the modules, udevadm, the test
     binary and every shared library ldd names for them, and an init that mounts
     proc/sys/devtmpfs, brings up lo, insmods, starts udevd, runs the binary, prints
     "TILL-USB-VM-RESULT: pass|fail rc=N" and powers off.
  3. Boots qemu-system-x86_64 -accel tcg -M microvm (the paravirtual /dev/kvm here hangs stock
     kernels) and exits 0 only when the result line says pass.

Exit codes: 0 pass, 1 fail (or the VM hung / crashed), 77 the kernel could not be obtained and
CI is not set (a skip: CTest's SKIP_RETURN_CODE), 2 usage or host setup errors. With CI=true an
unobtainable kernel is a failure, with a message saying why.
"""
import argparse
import glob
import lzma
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time

SKIP = 77
RESOLVE_TTL = 6 * 3600
WANTED_MODULES = ["usb-common", "usbcore", "usbip-core", "vhci-hcd"]
RESULT_RE = re.compile(r"TILL-USB-VM-RESULT: (pass|fail)(?: rc=(-?\d+))?")
KERNEL_ARGS = "console=ttyS0 panic=-1 quiet lpj=4000000 tsc_early_khz=2000000"


def log(msg):
    print(f"usb-vm: {msg}", flush=True)


def cache_root():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "till", "usb-vm")


class Unavailable(Exception):
    """The kernel (or udev) could not be obtained: no network, no apt lists, archive changed."""


def run(cmd, **kw):
    return subprocess.run(cmd, check=False, capture_output=True, text=True, **kw)


def resolve_kernel_package():
    """The current ABI package behind linux-image-amd64 and its candidate version."""
    def depends():
        r = run(["apt-cache", "depends", "linux-image-amd64"])
        for line in r.stdout.splitlines():
            m = re.match(r"\s*Depends:\s*(linux-image-[0-9][^\s]*-amd64)\s*$", line)
            if m:
                return m.group(1)
        return None

    pkg = depends()
    if pkg is None and os.geteuid() == 0:
        log("apt lists do not know linux-image-amd64: running apt-get update")
        run(["apt-get", "update", "-qq"])
        pkg = depends()
    if pkg is None:
        raise Unavailable("apt-cache cannot resolve linux-image-amd64 (no apt lists?)")
    r = run(["apt-cache", "policy", pkg])
    m = re.search(r"Candidate:\s*(\S+)", r.stdout)
    if not m or m.group(1) == "(none)":
        raise Unavailable(f"no candidate version for {pkg}")
    return pkg, m.group(1)


def apt_download(pkg, dest):
    r = run(["apt-get", "download", pkg], cwd=dest)
    debs = glob.glob(os.path.join(dest, glob.escape(pkg) + "_*.deb"))
    if r.returncode != 0 or not debs:
        raise Unavailable(f"apt-get download {pkg} failed: {(r.stderr or r.stdout).strip()[-400:]}")
    return debs[0]


def extract_deb(deb, dest, members):
    """Extracts only the wanted members (tar wildcards) of a .deb's data archive."""
    os.makedirs(dest, exist_ok=True)
    fsys = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", deb], stdout=subprocess.PIPE)
    r = subprocess.run(["tar", "-x", "-C", dest, "--wildcards", *members], stdin=fsys.stdout,
                       capture_output=True, text=True)
    fsys.wait()
    if fsys.returncode != 0 or r.returncode != 0:
        raise RuntimeError(f"cannot unpack {deb}: {r.stderr.strip()}")


def bzimage_to_vmlinux(bzimage, out):
    """The bzImage's payload is an xz stream holding the ELF vmlinux (CONFIG_KERNEL_XZ)."""
    data = open(bzimage, "rb").read()
    start = 0
    while True:
        at = data.find(b"\xfd7zXZ\x00", start)
        if at < 0:
            raise RuntimeError(f"{bzimage}: no xz payload found (kernel not built with CONFIG_KERNEL_XZ?)")
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        try:
            elf = dec.decompress(data[at:])
        except lzma.LZMAError:
            start = at + 1
            continue
        if elf[:4] == b"\x7fELF":
            with open(out, "wb") as f:
                f.write(elf)
            return
        start = at + 1


def module_depends(ko):
    data = open(ko, "rb").read()
    m = re.search(rb"depends=([^\0]*)\0", data)
    if not m or not m.group(1):
        return []
    return [d.decode() for d in m.group(1).split(b",") if d]


def prepare_cache():
    """Returns the cache directory of the current kernel, fetching it if needed."""
    root = cache_root()
    os.makedirs(root, exist_ok=True)
    # Asking apt costs 1-3 s on a busy machine: the answer is reused for RESOLVE_TTL seconds
    # (TILL_USB_VM_REFRESH=1 asks again at once).
    resolved = os.path.join(root, "resolved")
    fresh = None
    if os.environ.get("TILL_USB_VM_REFRESH") != "1" and os.path.exists(resolved):
        if time.time() - os.path.getmtime(resolved) < RESOLVE_TTL:
            parts = open(resolved).read().split()
            if len(parts) == 2:
                fresh = tuple(parts)
    try:
        pkg, version = fresh or resolve_kernel_package()
    except Unavailable as e:
        cached = newest_cached(root)
        if cached:
            log(f"{e}; using the cached kernel {os.path.basename(cached)}")
            return cached
        raise
    if not fresh:
        with open(resolved + ".tmp", "w") as f:
            f.write(f"{pkg} {version}\n")
        os.replace(resolved + ".tmp", resolved)
    key = f"{pkg}_{version}".replace(":", "%3a")
    dest = os.path.join(root, key)
    if os.path.exists(os.path.join(dest, "ready")):
        return dest
    log(f"preparing {pkg} {version} in {dest} (once per kernel version)")
    t0 = time.monotonic()
    with tempfile.TemporaryDirectory(dir=root) as tmp:
        try:
            deb = apt_download(pkg, tmp)
            udev_deb = apt_download("udev", tmp)
        except Unavailable as e:
            cached = newest_cached(root)
            if cached:
                log(f"{e}; using the cached kernel {os.path.basename(cached)}")
                return cached
            raise
        unpack = os.path.join(tmp, "unpack")
        extract_deb(deb, unpack, ["./boot/vmlinuz-*", "./lib/modules/*/kernel/drivers/usb/*"])
        extract_deb(udev_deb, unpack, ["./bin/udevadm"])
        vmlinuz = glob.glob(os.path.join(unpack, "boot", "vmlinuz-*"))
        if len(vmlinuz) != 1:
            raise RuntimeError(f"{deb}: expected one boot/vmlinuz-*, found {vmlinuz}")
        stage = os.path.join(tmp, "stage")
        os.makedirs(os.path.join(stage, "modules"))
        bzimage_to_vmlinux(vmlinuz[0], os.path.join(stage, "vmlinux"))
        # Modules in load order: dependencies first (depends= from each .ko's modinfo).
        kos = {}
        for path in glob.glob(os.path.join(unpack, "lib", "modules", "*", "kernel", "**", "*.ko"), recursive=True):
            kos[os.path.basename(path)[:-3].replace("_", "-")] = path
        order = []

        def visit(name, chain=()):
            name = name.replace("_", "-")
            if name in order:
                return
            if name in chain or name not in kos:
                raise RuntimeError(f"module {name} missing or cyclic (chain {chain})")
            for dep in module_depends(kos[name]):
                visit(dep, chain + (name,))
            order.append(name)

        for m in WANTED_MODULES:
            visit(m)
        for i, name in enumerate(order):
            shutil.copy(kos[name], os.path.join(stage, "modules", f"{i:02d}-{name}.ko"))
        shutil.copy(os.path.join(unpack, "bin", "udevadm"), os.path.join(stage, "udevadm"))
        with open(os.path.join(stage, "ready"), "w") as f:
            f.write(f"{pkg} {version}\n")
        if os.path.exists(dest):
            shutil.rmtree(dest)
        os.rename(stage, dest)
    log(f"kernel ready in {time.monotonic() - t0:.1f} s")
    return dest


def newest_cached(root):
    ready = [d for d in glob.glob(os.path.join(root, "*")) if os.path.exists(os.path.join(d, "ready"))]
    return max(ready, key=os.path.getmtime) if ready else None


# ---------------------------------------------------------------------------------------------
# initramfs (newc cpio, uncompressed), written directly: no cpio binary needed.

class Cpio:
    def __init__(self, out):
        self.f = open(out, "wb")
        self.ino = 1
        self.dirs = set()

    def _entry(self, name, mode, data=b"", nlink=1):
        name_b = name.encode() + b"\0"
        hdr = "070701" + "".join(f"{v:08x}" for v in (
            self.ino, mode, 0, 0, nlink, 0, len(data), 0, 0, 0, 0, len(name_b), 0))
        self.ino += 1
        self.f.write(hdr.encode() + name_b)
        self.f.write(b"\0" * ((4 - (110 + len(name_b)) % 4) % 4))
        self.f.write(data)
        self.f.write(b"\0" * ((4 - len(data) % 4) % 4))

    def dir(self, path):
        path = path.strip("/")
        parts = path.split("/")
        for i in range(1, len(parts) + 1):
            p = "/".join(parts[:i])
            if p and p not in self.dirs:
                self.dirs.add(p)
                self._entry(p, stat.S_IFDIR | 0o755, nlink=2)

    def file(self, path, data, mode=0o755):
        path = path.strip("/")
        self.dir(os.path.dirname(path))
        self._entry(path, stat.S_IFREG | mode, data)

    def symlink(self, path, target):
        path = path.strip("/")
        self.dir(os.path.dirname(path))
        self._entry(path, stat.S_IFLNK | 0o777, target.encode())

    def close(self):
        self._entry("TRAILER!!!", 0)
        self.f.close()


def shared_libraries(binary):
    """Absolute paths of the shared objects the dynamic loader maps for binary (ldd)."""
    r = run(["ldd", binary])
    if r.returncode != 0:
        if "not a dynamic executable" in (r.stdout + r.stderr):
            return []
        raise RuntimeError(f"ldd {binary}: {r.stderr.strip()}")
    libs = []
    for line in r.stdout.splitlines():
        m = re.search(r"=>\s*(/\S+)", line) or re.match(r"\s*(/\S+)\s*\(", line)
        if m:
            libs.append(m.group(1))
        elif "not found" in line:
            raise RuntimeError(f"ldd {binary}: {line.strip()}")
    return libs


INIT = r"""#!/bin/busybox sh
/bin/busybox --install -s /bin
export PATH=/bin:/sbin
mkdir -p /proc /sys /dev /run /tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /tmp
ip link set lo up
for m in /lib/modules/*.ko; do
  insmod "$m" || echo "usb-vm: insmod $m failed"
done
/sbin/systemd-udevd --daemon >/dev/null 2>&1 || echo "usb-vm: udevd did not start"
n=0
while [ ! -S /run/udev/control ] && [ $n -lt 200 ]; do sleep 0.05; n=$((n+1)); done
echo "usb-vm: guest up, running the tests"
cd /test
@COMMAND@
rc=$?
if [ $rc -ne 0 ]; then
  echo "usb-vm: the tests failed; the kernel log's tail and the vhci ports follow"
  dmesg | tail -n 40
  cat /sys/devices/platform/vhci_hcd.0/status
fi
if [ $rc -eq 0 ]; then echo "TILL-USB-VM-RESULT: pass"; else echo "TILL-USB-VM-RESULT: fail rc=$rc"; fi
sync
reboot -f
"""


def shell_quote(s):
    return "'" + s.replace("'", "'\"'\"'") + "'"


def stripped(binary):
    """The binary without debug sections (a sanitized debug build is several times larger and the
    guest unpacks the initramfs into RAM); the file itself if objcopy is missing or fails."""
    objcopy = shutil.which("objcopy")
    if objcopy:
        with tempfile.TemporaryDirectory() as tmp:
            out = os.path.join(tmp, "bin")
            if run([objcopy, "--strip-debug", binary, out]).returncode == 0:
                return open(out, "rb").read()
    return open(binary, "rb").read()


def build_initramfs(kernel_dir, binary, args, env, out):
    cpio = Cpio(out)
    busybox = shutil.which("busybox") or "/bin/busybox"
    if run([busybox, "--help"]).returncode not in (0, 1) or shared_libraries(busybox):
        raise RuntimeError("busybox-static is needed (the static busybox, not the dynamic one)")
    cpio.file("bin/busybox", open(busybox, "rb").read())
    for ko in sorted(glob.glob(os.path.join(kernel_dir, "modules", "*.ko"))):
        cpio.file("lib/modules/" + os.path.basename(ko), open(ko, "rb").read(), 0o644)
    udevadm = os.path.join(kernel_dir, "udevadm")
    cpio.file("bin/udevadm", open(udevadm, "rb").read())
    cpio.symlink("sbin/systemd-udevd", "/bin/udevadm")
    name = os.path.basename(binary)
    cpio.file("test/" + name, stripped(binary))
    libs = set(shared_libraries(udevadm)) | set(shared_libraries(binary))
    for lib in sorted(libs):
        cpio.file(lib, open(os.path.realpath(lib), "rb").read())
    # glibc's loader is also found through /lib64 on Debian; ldd names it either way.
    exports = "".join(f"export {k}={shell_quote(v)}\n" for k, v in env.items())
    command = exports + " ".join(shell_quote(a) for a in ["./" + name, *args])
    cpio.file("init", INIT.replace("@COMMAND@", command).encode())
    for d in ("proc", "sys", "dev", "run", "tmp", "etc"):
        cpio.dir(d)
    cpio.file("etc/passwd", b"root:x:0:0:root:/:/bin/sh\n", 0o644)
    cpio.file("etc/group", b"root:x:0:\n", 0o644)
    cpio.close()


# ---------------------------------------------------------------------------------------------

def boot(kernel_dir, initramfs, timeout, transcript):
    # 1 GiB: the guest unpacks the initramfs into RAM and keeps both copies for a moment; a
    # coverage-instrumented test binary makes it ~180 MB, which 512 MB could not hold (root fs
    # panic).
    qemu = shutil.which("qemu-system-x86_64")
    if not qemu:
        raise RuntimeError("qemu-system-x86_64 not found (install qemu-system-x86: scripts/deps.sh)")
    cmd = [qemu, "-accel", "tcg", "-M", "microvm", "-cpu", "max", "-smp", os.environ.get("TILL_USB_VM_SMP", "1"), "-m", os.environ.get("TILL_USB_VM_MEM", "1024"),
           "-nic", "none", "-no-reboot", "-display", "none", "-serial", "stdio", "-monitor", "none",
           "-kernel", os.path.join(kernel_dir, "vmlinux"), "-initrd", initramfs,
           "-append", KERNEL_ARGS]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                            start_new_session=True)
    result = None
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    buf = b""
    timed_out = False
    with open(transcript, "wb") as t:
        while True:
            if time.monotonic() > deadline:
                timed_out = True
                os.killpg(proc.pid, signal.SIGKILL)
                break
            chunk = None
            try:
                chunk = proc.stdout.read()
            except BlockingIOError:
                pass
            if chunk:
                t.write(chunk)
                t.flush()
                buf += chunk
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    text = line.decode(errors="replace").rstrip("\r")
                    print("guest| " + text, flush=True)
                    m = RESULT_RE.search(text)
                    if m:
                        result = (m.group(1), m.group(2))
            elif proc.poll() is not None:
                break
            else:
                time.sleep(0.02)
    proc.wait()
    if buf:
        print("guest| " + buf.decode(errors="replace"), flush=True)
    return result, timed_out


def ci():
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def cmd_run(a):
    t0 = time.monotonic()
    try:
        kernel_dir = prepare_cache()
    except Unavailable as e:
        msg = f"cannot obtain Debian's kernel for the USB VM: {e}"
        if ci():
            log(f"FAIL: {msg} (CI=true: the tier-2 suite must run in CI)")
            return 1
        log(f"SKIPPED: {msg} (set CI=true to make this a failure)")
        return SKIP
    t_kernel = time.monotonic()
    binary = os.path.abspath(a.binary)
    env = dict(e.split("=", 1) for e in a.env)
    workdir = tempfile.mkdtemp(prefix="till-usb-vm-")
    try:
        initramfs = os.path.join(workdir, "initramfs.cpio")
        build_initramfs(kernel_dir, binary, a.arg, env, initramfs)
        size_mb = os.path.getsize(initramfs) / 1e6
        t_initrd = time.monotonic()
        transcript = os.path.join(a.transcript_dir or workdir, "usb-vm-console.log")
        result, timed_out = boot(kernel_dir, initramfs, a.timeout, transcript)
        t_end = time.monotonic()
        log(f"times: kernel {t_kernel - t0:.1f} s, initramfs {t_initrd - t_kernel:.1f} s ({size_mb:.0f} MB), "
            f"boot+tests {t_end - t_initrd:.1f} s, total {t_end - t0:.1f} s; "
            f"kernel {open(os.path.join(kernel_dir, 'ready')).read().strip()}")
        if timed_out:
            log(f"FAIL: the VM did not finish within {a.timeout} s (console: {transcript})")
            return 1
        if result is None:
            log(f"FAIL: the VM stopped without a result line (console: {transcript})")
            return 1
        if result[0] != "pass":
            log(f"FAIL: the guest tests failed (rc={result[1]})")
            return 1
        log("PASS")
        return 0
    finally:
        if a.keep:
            log(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="boot the VM and run a test binary in it")
    r.add_argument("--binary", required=True, help="test binary to run in the guest (its libraries come along)")
    r.add_argument("--arg", action="append", default=[], help="argument for the binary (repeatable)")
    r.add_argument("--env", action="append", default=[], help="NAME=VALUE for the binary (repeatable)")
    r.add_argument("--timeout", type=float, default=150, help="seconds before the VM is killed")
    r.add_argument("--transcript-dir", help="where to keep the console log")
    r.add_argument("--keep", action="store_true", help="keep the initramfs work directory")
    sub.add_parser("prepare", help="fetch and unpack the kernel into the cache")
    a = p.parse_args()
    try:
        if a.cmd == "prepare":
            try:
                print(prepare_cache())
            except Unavailable as e:
                log(f"cannot obtain the kernel: {e}")
                return SKIP
            return 0
        return cmd_run(a)
    except RuntimeError as e:
        log(f"FAIL: {e}")
        return 2


if __name__ == "__main__":
    sys.exit(main())
