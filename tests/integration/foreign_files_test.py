"""Files a target names, and cores from another machine.

HostileFiles: heapscope opens files because a core's NT_FILE, the dynamic
linker's list in a core's memory, or a live process's /proc/PID/maps names
them. Each may be a FIFO (opening it would wait for a writer forever, with a
live target's threads stopped all that time) or a file that is not the one
the process mapped (a crafted core could make heapscope print any file the
user can read). Every run has a timeout: a hang fails the test.

ForeignCore: a core of a program on another glibc release whose libc sits
elsewhere on "this" machine: --sysroot finds it, --debug-dir its debug file,
a libc of another build is named and not used.

Debuginfod: the same core with no local debug file; a real local debuginfod
serves libc6-dbg's .deb and heapscope fetches the debug file by build-id.

The programs: programs/mapped_files.c ($HEAPSCOPE_MAPPED_FILES) and
examples/scenario_single.c built against a release in the glibc cache
(scripts/fetch-glibcs.sh); tests needing a release skip when none is cached.
"""

import glob
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import time
import unittest
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import heapscope_testlib as lib  # noqa: E402

NT_FILE = 0x46494C45
HANG_SECONDS = 60  # a run that has not ended by then is hung


def mapped_files_program():
    exe = os.environ.get("HEAPSCOPE_MAPPED_FILES") or os.path.join(lib.build_dir(), "tests", "integration",
                                                                    "mapped_files")
    if not os.path.exists(exe):
        raise unittest.SkipTest("mapped_files not built: " + exe)
    return exe


def system_lib(name):
    for d in ("/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64"):
        p = os.path.join(d, name)
        if os.path.exists(p):
            return os.path.realpath(p)
    raise unittest.SkipTest("no %s on this machine" % name)


def cli(args, env=None):
    """The CLI with a hang timeout -> (status, stdout, stderr)."""
    try:
        p = subprocess.run([lib.cli_path()] + list(args), capture_output=True, timeout=HANG_SECONDS,
                           env=env, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("heapscope %s hung (no end after %d s)" % (" ".join(args), HANG_SECONDS))
    return p.returncode, p.stdout.decode("utf-8", "replace"), p.stderr.decode("utf-8", "replace")


def replace_with_fifo(path):
    os.unlink(path)
    os.mkfifo(path)


# ---------------------------------------------------------------- core editing


class Core:
    """An ELF64 core's program headers and NT_FILE entries, patched in place."""

    def __init__(self, path):
        self.path = path
        with open(path, "rb") as f:
            self.data = bytearray(f.read())
        phoff, = struct.unpack_from("<Q", self.data, 0x20)
        phnum, = struct.unpack_from("<H", self.data, 0x38)
        self.phdrs = []  # (header offset, type, offset, vaddr, filesz, memsz)
        for i in range(phnum):
            at = phoff + i * 56
            p_type, _flags, p_offset, p_vaddr, _paddr, p_filesz, p_memsz = struct.unpack_from(
                "<IIQQQQQ", self.data, at)
            self.phdrs.append((at, p_type, p_offset, p_vaddr, p_filesz, p_memsz))

    def notes(self):
        """(header offset, type, desc offset, desc size) of every note."""
        out = []
        for _at, p_type, off, _vaddr, filesz, _memsz in self.phdrs:
            if p_type != 4:  # PT_NOTE
                continue
            pos, end = off, off + filesz
            while pos + 12 <= end:
                namesz, descsz, n_type = struct.unpack_from("<III", self.data, pos)
                desc = pos + 12 + ((namesz + 3) & ~3)
                out.append((pos, n_type, desc, descsz))
                pos = desc + ((descsz + 3) & ~3)
        return out

    def file_entries(self):
        """[(entry offset, start, end, page offset, path)] of NT_FILE."""
        for _pos, n_type, desc, _size in self.notes():
            if n_type != NT_FILE:
                continue
            count, _page = struct.unpack_from("<QQ", self.data, desc)
            names = desc + 16 + count * 24
            out = []
            for k in range(count):
                start, end, pgoff = struct.unpack_from("<QQQ", self.data, desc + 16 + k * 24)
                stop = self.data.index(b"\0", names)
                out.append((desc + 16 + k * 24, start, end, pgoff, self.data[names:stop].decode()))
                names = stop + 1
            return out
        return []

    def rename_file(self, old, new):
        """Renames NT_FILE's `old` to `new` (not longer), keeping the note's size."""
        for _pos, n_type, desc, size in self.notes():
            if n_type != NT_FILE:
                continue
            count, _page = struct.unpack_from("<QQ", self.data, desc)
            names_at = desc + 16 + count * 24
            names = bytes(self.data[names_at:desc + size]).split(b"\0")[:count]
            names = [new.encode() if n == old.encode() else n for n in names]
            table = b"\0".join(names) + b"\0"
            assert len(table) <= desc + size - names_at
            self.data[names_at:names_at + len(table)] = table

    def load_at(self, addr):
        for ph in self.phdrs:
            if ph[1] == 1 and ph[3] <= addr < ph[3] + ph[5]:
                return ph
        return None

    def write(self, path):
        with open(path, "wb") as f:
            f.write(self.data)
        return path


def parse_addresses(stdout):
    out = {}
    for line in stdout.splitlines():
        key, _, value = line.partition(" ")
        if key in ("leak", "data"):
            out[key] = int(value, 16)
    return out


class HostileFiles(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.exe = mapped_files_program()

    def fresh(self, mode_dir=None):
        """A scratch dir with DATA (3 pages) and LIB (a copy of libm)."""
        work = mode_dir or lib.scratch_dir("heapscope-files-")
        data = os.path.join(work, "data.bin")
        with open(data, "wb") as f:
            f.write(b"D" * (3 * 4096))
        so = os.path.join(work, "libmapped.so")
        shutil.copy(system_lib("libm.so.6"), so)
        return work, data, so

    def core(self):
        work, data, so = self.fresh()
        try:
            core, out = lib.run_scenario_to_core(self.exe, [data, so, "abort"], workdir=work)
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))
        return work, data, so, core, parse_addresses(out)

    def test_fifos_named_by_nt_file(self):
        """data.bin (whose pages the core left out) and the dlopened library
        are FIFOs now: the core reader and the symbol reader must not open them."""
        _work, data, so, core, _ = self.core()
        replace_with_fifo(data)
        replace_with_fifo(so)
        status, out, err = cli([core, "heap", "stats"])
        self.assertEqual(status, 0, err)
        for path in (data, so):
            self.assertIn("note: %s is not a regular file (a FIFO); its unmodified pages are not read"
                          % path, err)
        self.assertIn("arena 0 (main)", out)

    def test_fifos_named_by_the_link_map(self):
        """A core without NT_FILE (as qemu-user writes them) names its
        libraries only in the dynamic linker's list in memory."""
        work, _data, so, core, _ = self.core()
        c = Core(core)
        for pos, n_type, _desc, _size in c.notes():
            if n_type == NT_FILE:
                struct.pack_into("<I", c.data, pos + 8, 0x7FFFFF00)  # an unknown note type
        edited = c.write(os.path.join(work, "core.no-nt-file"))
        replace_with_fifo(so)
        status, out, err = cli([edited, "heap", "stats"])
        self.assertEqual(status, 0, err)

    def test_fifo_replacing_a_deleted_mapping_of_a_live_process(self):
        """The process mapped data.bin and libmapped.so, then both were
        deleted; /proc/PID/maps names them "... (deleted)", and FIFOs now
        have those names. heapscope --pid must neither open them nor leave
        the process stopped."""
        work, data, so = self.fresh()
        with lib.LiveScenario(self.exe, [data, so, "wait"]) as live:
            with open("/proc/%d/maps" % live.pid) as f:
                maps = f.read()
            self.assertIn(data + " (deleted)", maps)
            self.assertIn(so + " (deleted)", maps)
            os.mkfifo(data + " (deleted)")
            os.mkfifo(so + " (deleted)")
            status, out, err = cli(["--pid", str(live.pid), "heap", "stats"])
            self.assertEqual(status, 0, err)
            status, _ = live.finish(timeout=HANG_SECONDS)
            self.assertEqual(status, 0, "the process did not run on after heapscope detached")

    def test_a_core_cannot_lend_another_files_bytes(self):
        """A crafted core: its heap segment keeps no bytes and NT_FILE says
        the heap is data.bin mapped at offset 0; data.bin holds a "secret"
        (the heap's own bytes with a marker where the leaked chunk is). A
        non-ELF file that the core kept no page of cannot be checked, so its
        bytes must not be read: `heap leaks` must never print the secret.
        (Before the rule, it printed a hex dump of it.)"""
        work, data, _so, core, addrs = self.core()
        c = Core(core)
        heap = c.load_at(addrs["leak"])
        self.assertIsNotNone(heap, "the leaked chunk is in no segment")
        at, _t, off, vaddr, filesz, memsz = heap
        self.assertEqual(filesz, memsz, "the heap segment should be whole in the core")
        secret = bytearray(c.data[off:off + filesz])
        leak = addrs["leak"] - vaddr
        marker = b"TOPSECRET-"
        secret[leak:leak + 190] = (marker * 19)[:190]
        entry = [e for e in c.file_entries() if e[4] == data]
        self.assertTrue(entry, "NT_FILE does not name data.bin")
        struct.pack_into("<QQQ", c.data, entry[0][0], vaddr, vaddr + memsz, 0)
        struct.pack_into("<Q", c.data, at + 32, 0)  # p_filesz: nothing of the heap in the core
        crafted = c.write(os.path.join(work, "core.crafted"))
        os.unlink(data)
        with open(data, "wb") as f:
            f.write(secret)
        status, out, err = cli([crafted, "heap", "leaks"])
        self.assertNotIn("TOPSECRET", out + err)
        self.assertNotIn("TOPSE", out)  # nor a piece of it in a hex dump's text column
        # Through a sysroot the same refusal holds.
        sysroot = os.path.join(work, "sysroot")
        os.makedirs(sysroot + os.path.dirname(data))
        shutil.copy(data, sysroot + data)
        status, out, err = cli(["--sysroot", sysroot, crafted, "heap", "leaks"])
        self.assertNotIn("TOPSE", out + err)

    def test_an_elf_file_the_core_cannot_identify(self):
        """The core lost libmapped.so's header page (its build-id): the file
        lends its pages only when every user may read it anyway."""
        work, _data, so, core, _ = self.core()
        c = Core(core)
        start = [e[1] for e in c.file_entries() if e[4] == so and e[3] == 0][0]
        at = c.load_at(start)[0]
        struct.pack_into("<Q", c.data, at + 32, 0)  # p_filesz: the header page is gone
        edited = c.write(os.path.join(work, "core.no-header"))
        refused = "note: %s cannot be checked against the core" % so
        os.chmod(so, 0o600)
        status, _out, err = cli([edited, "heap", "stats"])
        self.assertEqual(status, 0, err)
        self.assertIn(refused, err)
        os.chmod(so, 0o644)
        status, _out, err = cli([edited, "heap", "stats"])
        self.assertEqual(status, 0, err)
        self.assertIn(refused, err)  # its directory (mkdtemp's) is private
        os.chmod(work, 0o755)
        status, _out, err = cli([edited, "heap", "stats"])
        self.assertEqual(status, 0, err)
        self.assertNotIn(refused, err)

    def test_device_and_proc_paths_are_never_opened(self):
        """NT_FILE's data.bin renamed to a /proc file and a device."""
        work, data, _so, core, _ = self.core()
        for fake in ("/proc/self/environ", "/dev/urandom", "data.bin"):
            with self.subTest(path=fake):
                c = Core(core)
                c.rename_file(data, fake)
                edited = c.write(os.path.join(work, "core.special"))
                status, out, err = cli([edited, "heap", "stats"])
                self.assertEqual(status, 0, err)
                if fake == "data.bin":  # relative: only under --sysroot
                    self.assertIn("note: data.bin is a relative path", err)


# ---------------------------------------------------------------- other machine

_foreign = {}


def foreign_release():
    """A glibc release from the cache whose libc is not this machine's."""
    from glibc_matrix_test import Sysroot, cached_versions
    mine = build_id(system_lib("libc.so.6"))
    for v in sorted(cached_versions("x86-64"), reverse=True):
        s = Sysroot(v, "x86-64")
        if s.missing():
            continue
        if build_id(os.path.join(s.libdir, "libc.so.6")) != mine:
            return s
    return None


def build_id(path):
    out = subprocess.run(["readelf", "-n", path], capture_output=True, text=True).stdout
    for line in out.splitlines():
        if "Build ID:" in line:
            return line.split("Build ID:")[1].strip()
    return None


def foreign_core():
    """Builds scenario_single against a cached release whose libc and ld.so
    are copied to <work>/machine/lib, runs it there to a core, then moves
    that directory into <work>/sysroot: the core's paths no longer exist, and
    sysroot + path does. -> dict or raises SkipTest."""
    if "core" in _foreign:
        return _foreign
    release = foreign_release()
    if release is None:
        why = "no glibc release other than this machine's in the cache (run scripts/fetch-glibcs.sh)"
        print("SKIPPED-FOREIGN-GLIBC: " + why, file=sys.stderr)
        raise unittest.SkipTest(why)
    work = lib.scratch_dir("heapscope-foreign-")
    machine = os.path.join(work, "machine")
    os.makedirs(os.path.join(machine, "lib"))
    libc = os.path.join(machine, "lib", "libc.so.6")
    ld = os.path.join(machine, "lib", os.path.basename(release.interp))
    shutil.copy(os.path.realpath(os.path.join(release.libdir, "libc.so.6")), libc)
    shutil.copy(os.path.realpath(release.interp), ld)
    exe = release.build("scenario_single", work)
    subprocess.run(["patchelf", "--set-interpreter", ld, "--set-rpath", os.path.dirname(libc), exe],
                   check=True, capture_output=True)
    try:
        core, out = lib.run_scenario_to_core(exe, workdir=work)
    except lib.CoreUnavailable as e:
        raise unittest.SkipTest(str(e))
    sysroot = os.path.join(work, "sysroot")
    os.makedirs(os.path.dirname(sysroot + machine))
    shutil.move(machine, sysroot + machine)
    shutil.copy(exe, sysroot + exe)  # the other machine's program too
    oracle = lib.parse_oracle(out)
    # glibc 2.43+ has no fastbins: malloc_info prints no <total type="fast">.
    for h in oracle["malloc_info"]["heaps"] + [oracle["malloc_info"]["total"]]:
        h.setdefault("fast", {"count": 0, "size": 0})
    _foreign.update(core=core, oracle=oracle, sysroot=sysroot, release=release,
                    libc=libc, libc_id=build_id(sysroot + libc), work=work,
                    debug_dir=os.path.join(release.root, "usr", "lib", "debug"))
    return _foreign


def roots_found_by(args, env=None):
    status, out, err = cli(args + ["heap", "arenas", "--json"], env=env)
    if status != 0:
        return "error: " + err.strip()
    return json.loads(out)["roots_found_by"]


class ForeignCore(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        cls.f = foreign_core()
        cls.env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD")}

    def test_sysroot_and_debug_dir(self):
        f = self.f
        status, _out, err = cli([f["core"], "heap", "stats"], env=self.env)
        self.assertNotEqual(status, 0, "libc's code and version string are not on this machine")
        self.assertEqual(len(err.splitlines()), 1, err)  # an error is one line, notes or not
        self.assertEqual(roots_found_by(["--sysroot", f["sysroot"], f["core"]], self.env), "structure")
        with_debug = ["--sysroot", f["sysroot"], "--debug-dir", f["debug_dir"], f["core"]]
        self.assertEqual(roots_found_by(with_debug, self.env), "symbols")
        status, out, err = cli(with_debug + ["heap", "stats", "--json"], env=self.env)
        self.assertEqual(status, 0, err)
        self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), f["oracle"]), [])
        self.assertNotIn("libc.so.6", err)

    def test_gdb_and_lldb_settings(self):
        """gdb's `set sysroot` / `set debug-file-directory` and LLDB's
        platform sysroot / target.debug-file-search-paths are the CLI's
        --sysroot / --debug-dir: the same roots, the same bytes."""
        f = self.f
        want = cli(["--sysroot", f["sysroot"], "--debug-dir", f["debug_dir"], f["core"], "heap", "arenas",
                    "--json"], env=self.env)[1]
        self.assertEqual(json.loads(want)["roots_found_by"], "symbols")
        exe = os.path.join(f["work"], "scenario_single")
        loader = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
        if lib.gdb_path() and os.path.exists(loader):
            _rc, out, err = lib.run_gdb_batch(
                exe, f["core"], init_commands=["set debuginfod enabled off", "set sysroot " + f["sysroot"],
                                               "set debug-file-directory " + f["debug_dir"]],
                commands=["source " + loader, "heap arenas --json"])
            self.assertIn(want, out, err[-2000:])
        plugin = os.path.join(lib.build_dir(), "lib", "heapscope", "libheapscope-lldb.so")
        if lib.lldb_path() and os.path.exists(plugin):
            _rc, out, err = lib.run_lldb_batch(
                exe, f["core"], init_commands=["platform select --sysroot %s host" % f["sysroot"],
                                               "settings append target.debug-file-search-paths "
                                               + f["debug_dir"]],
                commands=["plugin load " + plugin, "heap arenas --json"])
            self.assertIn(want, out, err[-2000:])

    def test_option_errors(self):
        for opt in ("--sysroot", "--debug-dir"):
            status, _out, err = cli([opt, "/nonexistent/dir", self.f["core"], "heap", "stats"])
            self.assertEqual(status, 2)
            self.assertEqual(err, "heapscope: %s /nonexistent/dir: not a directory\n" % opt)
            status, _out, err = cli([opt])
            self.assertEqual((status, err), (2, "heapscope: %s needs a directory\n" % opt))

    def test_another_build_of_a_module_is_named_and_not_used(self):
        """The dynamic linker in the sysroot is another build (this
        machine's): its pages and its symbols are not used, two notes say
        so, and the heap is still read."""
        f = self.f
        other = os.path.join(f["work"], "other-sysroot")
        shutil.copytree(f["sysroot"], other, symlinks=True)
        exe = os.path.join(os.path.dirname(f["libc"]), os.path.basename(f["release"].interp))
        stranger = system_lib(os.path.basename(f["release"].interp))
        shutil.copy(stranger, other + exe)
        status, out, err = cli(["--sysroot", other, "--debug-dir", f["debug_dir"], f["core"], "heap",
                                "stats", "--json"], env=self.env)
        self.assertEqual(status, 0, err)
        self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), f["oracle"]), [])
        disk, core_id = build_id(stranger), build_id(f["sysroot"] + exe)
        self.assertIn("note: %s on this machine is not the file the process mapped (build-id %s, core "
                      "has %s)" % (exe, disk, core_id), err)
        self.assertIn("note: %s on this machine is not the file the process mapped (build-id %s, the "
                      "target has %s); its symbols are not used" % (other + exe, disk, core_id), err)
        # Without the notes' subject, none of them.
        status, _out, err = cli(["--sysroot", f["sysroot"], "--debug-dir", f["debug_dir"], f["core"],
                                 "heap", "stats"], env=self.env)
        self.assertNotIn("is not the file the process mapped", err)


# ---------------------------------------------------------------- debuginfod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def dbg_deb(release, libc_id, outdir):
    """libc6-dbg's .deb: the one fetch-glibcs.sh kept, else one rebuilt with
    dpkg-deb from the unpacked release (only libc's debug file)."""
    kept = glob.glob(os.path.join(release.root, "debs", "libc6-dbg_*.deb"))
    debs = os.path.join(outdir, "debs")
    os.makedirs(debs)
    if kept:
        shutil.copy(kept[0], debs)
        return debs
    rel = os.path.join("usr", "lib", "debug", ".build-id", libc_id[:2], libc_id[2:] + ".debug")
    src = os.path.join(release.root, rel)
    if not os.path.exists(src):
        raise unittest.SkipTest("glibc %s has no debug file for libc (%s)" % (release.version, rel))
    tree = os.path.join(outdir, "pkg")
    os.makedirs(os.path.join(tree, "DEBIAN"))
    os.makedirs(os.path.dirname(os.path.join(tree, rel)))
    shutil.copy(src, os.path.join(tree, rel))
    with open(os.path.join(tree, "DEBIAN", "control"), "w") as f:
        f.write("Package: libc6-dbg\nVersion: %s\nArchitecture: amd64\nMaintainer: heapscope tests "
                "<tests@localhost>\nDescription: libc debug file, repacked\n" % release.version)
    subprocess.run(["dpkg-deb", "-Znone", "--build", tree, os.path.join(debs, "libc6-dbg_%s_amd64.deb"
                                                                         % release.version)],
                   check=True, capture_output=True)
    return debs


class Debuginfod(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        for tool in ("debuginfod", "dpkg-deb"):
            if not shutil.which(tool):
                raise unittest.SkipTest("%s is not installed (scripts/install-deps.sh)" % tool)
        cls.f = foreign_core()
        cls.tmp = lib.scratch_dir("heapscope-debuginfod-")
        debs = dbg_deb(cls.f["release"], cls.f["libc_id"], cls.tmp)
        cls.port = free_port()
        cls.log = open(os.path.join(cls.tmp, "debuginfod.log"), "w")
        cls.server = subprocess.Popen(
            ["debuginfod", "-p", str(cls.port), "-d", os.path.join(cls.tmp, "db.sqlite"),
             "-Z", ".deb=dpkg-deb --fsys-tarfile", "-t", "0", "-g", "0", "-c", "1", debs],
            stdout=cls.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        cls.url = "http://127.0.0.1:%d" % cls.port
        # Ready when it serves libc's debug file (its first scan is done).
        want = "%s/buildid/%s/debuginfo" % (cls.url, cls.f["libc_id"])
        deadline = time.monotonic() + 120
        while True:
            try:
                with urllib.request.urlopen(want, timeout=5) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if cls.server.poll() is not None or time.monotonic() > deadline:
                cls.tearDownClass()
                raise AssertionError("debuginfod did not serve %s (log in %s)" % (want, cls.log.name))
            time.sleep(0.5)

    @classmethod
    def tearDownClass(cls):
        if cls.server.poll() is None:
            cls.server.terminate()
            try:
                cls.server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                cls.server.kill()
                cls.server.wait()
        cls.log.close()

    def test_debug_file_fetched_by_build_id(self):
        f = self.f
        env = {k: v for k, v in os.environ.items() if not k.startswith("DEBUGINFOD")}
        cache = os.path.join(self.tmp, "client-cache")
        args = ["--sysroot", f["sysroot"], f["core"]]
        self.assertEqual(roots_found_by(args, env), "structure")  # no local debug file
        env.update(DEBUGINFOD_URLS=self.url, DEBUGINFOD_CACHE_PATH=cache)
        self.assertEqual(roots_found_by(args, env), "symbols")
        self.assertTrue(glob.glob(os.path.join(cache, f["libc_id"], "debuginfo")),
                        "nothing in the client cache %s" % cache)
        status, out, err = cli(args + ["heap", "stats", "--json"], env=env)
        self.assertEqual(status, 0, err)
        self.assertEqual(lib.compare_stats_with_oracle(json.loads(out), f["oracle"]), [])
        # --no-debuginfo asks no server.
        shutil.rmtree(cache)
        self.assertEqual(roots_found_by(["--no-debuginfo"] + args, env), "structure")
        self.assertFalse(os.path.exists(os.path.join(cache, f["libc_id"])))


if __name__ == "__main__":
    unittest.main()
