"""SameInEveryFrontEnd: a unittest mixin that runs a test class's COMMANDS
in gdb and in lldb on its core and holds each output to the CLI's, byte for
byte. The class provides exe, core, COMMANDS and cli(*args) -> stdout.
Standard library only."""

import os

import heapscope_testlib as lib


class SameInEveryFrontEnd:
    def test_gdb_prints_the_same(self):
        if not lib.gdb_path():
            self.skipTest("no gdb")
        loader = os.path.join(lib.build_dir(), "share", "heapscope", "heapscope-gdb.py")
        self.assertTrue(os.path.exists(loader), "gdb front-end not built: " + loader)
        import gdb_frontend_test as g
        results, out, err = g.run_gdb([self.exe, self.core], [["cmd", l] for l in self.COMMANDS])
        self.assertIsNotNone(results, err[-2000:])
        for line, r in zip(self.COMMANDS, results):
            with self.subTest(command=line):
                self.assertTrue(r["ok"], r.get("error"))
                self.assertEqual(r["out"], self.cli(*line.split()))

    def test_lldb_prints_the_same(self):
        import lldb_support as ls
        problem = ls.plugin_problem()
        if problem:
            self.skipTest(problem[1])
        status, outputs, out, err = ls.run_lldb(self.COMMANDS, exe=self.exe, core=self.core)
        self.assertEqual(status, 0, err)
        for line, got in zip(self.COMMANDS, outputs):
            with self.subTest(command=line):
                self.assertEqual(got, self.cli(*line.split()))
