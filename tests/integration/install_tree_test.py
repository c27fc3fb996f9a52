"""heapscope as a user installs it, run from the installed paths.

By default the build tree is installed with `cmake --install --prefix /usr`
into a scratch DESTDIR, the layout of the Debian package. With
HEAPSCOPE_INSTALLED_ROOT=/ the test reads the system's own /usr instead:
scripts/package-test.sh installs the .deb with dpkg -i, then runs this.

On a real core of the demo, in a throwaway HOME whose ~/.gdbinit and
~/.lldbinit hold the lines the README gives (the `source` and `plugin load`
of /usr/... paths), the installed CLI, `gdb -batch` and `lldb -b` must print
what the build tree's CLI prints. The man page opens with `man`, and the
completion files are where bash-completion and zsh look for them.
"""

import os
import re
import shutil
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as testlib  # noqa: E402
import lldb_support  # noqa: E402

README = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "README.md")
COMMANDS = ["heap stats", "heap bins", "heap chunks --limit 8"]
BEGIN, END = "@@heapscope-begin@@", "@@heapscope-end@@"


def readme_init_lines():
    """The ~/.gdbinit and ~/.lldbinit lines the README gives for the package."""
    with open(README) as f:
        text = f.read()
    gdb = re.search(r"source (/usr/\S*/heapscope-gdb\.py)", text)
    lldb = re.search(r"plugin load (/usr/\S*/libheapscope-lldb\.so)", text)
    if not gdb or not lldb:
        raise AssertionError("README.md gives no ~/.gdbinit or ~/.lldbinit line for /usr")
    return gdb.group(1), lldb.group(1)


class InstalledTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.root = os.environ.get("HEAPSCOPE_INSTALLED_ROOT")
        if not cls.root:
            cls.root = testlib.scratch_dir("heapscope-destdir-")
            proc = subprocess.run(["cmake", "--install", testlib.build_dir(), "--prefix", "/usr"],
                                  env=dict(os.environ, DESTDIR=cls.root), capture_output=True, text=True,
                                  timeout=300)
            if proc.returncode != 0:
                raise AssertionError("cmake --install failed: " + proc.stderr[-2000:])
        cls.core, _ = testlib.run_scenario_to_core(testlib.example_path("demo"))
        cls.exe = testlib.example_path("demo")
        cls.expected = {}
        for c in COMMANDS:
            status, out, err = testlib.run_cli([cls.core] + c.split())
            assert status == 0, err
            cls.expected[c] = out

    def installed(self, path):
        """An absolute install path (/usr/...) inside the tested root."""
        return os.path.join(self.root, path.lstrip("/"))

    def home_with(self, name, line):
        home = testlib.scratch_dir("heapscope-home-")
        with open(os.path.join(home, name), "w") as f:
            f.write(line + "\n")
        return dict(HOME=home, XDG_CONFIG_HOME=os.path.join(home, ".config"))

    def test_layout(self):
        for path in ["/usr/bin/heapscope", "/usr/include/mems.h", "/usr/include/mems_layout.h",
                     "/usr/share/man/man1/heapscope.1", "/usr/share/bash-completion/completions/heapscope",
                     "/usr/share/zsh/vendor-completions/_heapscope"] + list(readme_init_lines()):
            self.assertTrue(os.path.exists(self.installed(path)), path)
        libdir = os.path.dirname(os.path.dirname(readme_init_lines()[1]))
        self.assertTrue(os.path.exists(self.installed(libdir + "/libmems.a")), libdir + "/libmems.a")
        self.assertTrue(os.path.exists(self.installed(libdir + "/pkgconfig/mems.pc")))

    def test_cli(self):
        cli = self.installed("/usr/bin/heapscope")
        for c in COMMANDS:
            proc = subprocess.run([cli, self.core] + c.split(), capture_output=True, text=True, timeout=300)
            self.assertEqual(proc.returncode, 0, proc.stderr)
            self.assertEqual(proc.stdout, self.expected[c], c)

    def test_gdb_from_gdbinit(self):
        if not testlib.gdb_path():
            self.skipTest("gdb is not installed")
        loader, _ = readme_init_lines()
        env = self.home_with(".gdbinit", "source " + self.installed(loader))
        argv = [testlib.gdb_path(), "-batch"]  # no -nx: ~/.gdbinit is what is tested
        for c in testlib.gdb_sanitizer_commands():
            argv += ["-iex", c]
        for c in COMMANDS:
            argv += ["-ex", "echo %s\\n" % BEGIN, "-ex", c, "-ex", "echo %s\\n" % END]
        proc = subprocess.run(argv + [self.exe, self.core], capture_output=True, text=True, timeout=300,
                              env=testlib.debugger_env(env), stdin=subprocess.DEVNULL)
        outputs = re.findall(re.escape(BEGIN) + r"\n(.*?)" + re.escape(END) + r"\n", proc.stdout, re.S)
        self.assertEqual(len(outputs), len(COMMANDS), proc.stdout[-2000:] + proc.stderr[-2000:])
        for c, out in zip(COMMANDS, outputs):
            self.assertEqual(out, self.expected[c], c)

    def test_lldb_from_lldbinit(self):
        if not testlib.lldb_path():
            self.skipTest("lldb is not installed")
        _, plugin = readme_init_lines()
        env = self.home_with(".lldbinit", "plugin load " + self.installed(plugin))
        argv = [testlib.lldb_path(), "-b"]  # no --no-lldbinit: ~/.lldbinit is what is tested
        for c in testlib.lldb_sanitizer_commands():
            argv += ["-O", c]
        for c in COMMANDS:
            argv += ["-o", c]
        proc = subprocess.run(argv + [self.exe, "-c", self.core], capture_output=True, text=True, timeout=300,
                              env=testlib.debugger_env(env), stdin=subprocess.DEVNULL)
        self.assertEqual(proc.returncode, 0, proc.stderr[-2000:])
        for c, out in zip(COMMANDS, lldb_support.split_outputs(proc.stdout, COMMANDS)):
            self.assertEqual(out, self.expected[c], c)

    def test_libmems_with_pkg_config(self):
        """A program built against the installed mems.h and libmems.a, found
        through the installed mems.pc, runs."""
        cc, pkg_config = shutil.which("cc"), shutil.which("pkg-config")
        if not cc or not pkg_config:
            self.skipTest("cc or pkg-config is not installed")
        libdir = os.path.dirname(os.path.dirname(readme_init_lines()[1]))
        work = testlib.scratch_dir("heapscope-mems-user-")
        with open(os.path.join(work, "user.c"), "w") as f:
            f.write('#include <mems.h>\n#include <string.h>\n'
                    'int main(void) {\n  if (mems_init() != 0) return 1;\n'
                    '  void *v = mems_malloc(100);\n  char *p = mems_get(v);\n'
                    '  if (!p) return 2;\n  memset(p, 1, 100);\n'
                    '  return mems_free(v) == 0 && mems_finish() == 0 ? 0 : 3;\n}\n')
        env = dict(os.environ, PKG_CONFIG_PATH=self.installed(libdir + "/pkgconfig"))
        flags = subprocess.run([pkg_config, "--cflags", "--libs", "--static", "mems"], capture_output=True,
                               text=True, env=env, timeout=60)
        self.assertEqual(flags.returncode, 0, flags.stderr)
        exe = os.path.join(work, "user")
        build = subprocess.run([cc, "-o", exe, os.path.join(work, "user.c")] + flags.stdout.split(),
                               capture_output=True, text=True, timeout=120)
        self.assertEqual(build.returncode, 0, build.stderr)
        self.assertEqual(subprocess.run([exe], timeout=60).returncode, 0)

    def test_man(self):
        man = shutil.which("man")
        if not man:
            self.skipTest("man (man-db) is not installed")
        # `man heapscope` as a user types it, when the package is installed.
        where = [] if self.root == "/" else ["-M", self.installed("/usr/share/man")]
        proc = subprocess.run([man] + where + ["heapscope"], capture_output=True,
                              text=True, env=dict(os.environ, MANWIDTH="100", PAGER="cat"), timeout=60)
        self.assertEqual(proc.returncode, 0, proc.stderr)
        self.assertIn("heap chunks", proc.stdout)

    def test_bash_completion_loads(self):
        path = self.installed("/usr/share/bash-completion/completions/heapscope")
        proc = subprocess.run(["bash", "-c", 'source "$0" && complete -p heapscope', path],
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(proc.stdout.strip(), "complete -F _heapscope heapscope", proc.stderr)


if __name__ == "__main__":
    unittest.main()
