"""heap map --html, opened in headless Chromium.

The page checks itself after its first draw and writes the outcome on
<body> (data-selftest, data-errors, data-arenas-drawn, data-heaps-drawn,
data-tooltip); Chromium's --dump-dom after a virtual-time budget gives us
the DOM to read. Also saves a screenshot and checks it is a real PNG.

Skipped, with the reason, when chromium is not installed (Debian package
`chromium`). Run by hand to refresh the README's picture:
    python3 tests/integration/frag_html_test.py --screenshot docs/heap-map.png
"""

import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import heapscope_testlib as lib  # noqa: E402


def chromium_path():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium(args, timeout=180):
    exe = chromium_path()
    profile = tempfile.mkdtemp(prefix="heapscope-chromium-")
    argv = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
            "--disable-component-update", "--disable-sync", "--no-first-run",
            "--disable-dev-shm-usage", "--user-data-dir=" + profile] + list(args)
    try:
        proc = subprocess.run(argv, capture_output=True, timeout=timeout, stdin=subprocess.DEVNULL)
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


class BodyAttrs(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.attrs = None

    def handle_starttag(self, tag, attrs):
        if tag == "body" and self.attrs is None:
            self.attrs = dict(attrs)


def render(html_path, timeout=180, budget_ms=10000):
    """Dumps the DOM after the page ran; -> dict of <body> attributes."""
    status, out, err = chromium(["--virtual-time-budget=%d" % budget_ms, "--window-size=1400,900",
                                 "--dump-dom", "file://" + os.path.abspath(html_path)], timeout)
    p = BodyAttrs()
    p.feed(out)
    if p.attrs is None:
        raise AssertionError("chromium printed no <body> (status %d): %s" % (status, err[-1500:]))
    return p.attrs


def screenshot(html_path, png_path, size="1400,640"):
    status, out, err = chromium(["--virtual-time-budget=5000", "--window-size=" + size,
                                 "--hide-scrollbars", "--screenshot=" + os.path.abspath(png_path),
                                 "file://" + os.path.abspath(html_path) + "#keep-tooltip"])
    if not os.path.exists(png_path):
        raise AssertionError("no screenshot (status %d): %s" % (status, err[-1500:]))


def frag_core():
    core, out = lib.run_scenario_to_core(lib.example_path("scenario_frag"))
    return core


@unittest.skipIf(chromium_path() is None,
                 "chromium is not installed (Debian: apt-get install -y chromium); the set-up installs it")
class HeapMapHtmlTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        try:
            cls.core = frag_core()
        except lib.CoreUnavailable as e:
            raise unittest.SkipTest(str(e))
        cls.dir = lib.scratch_dir()

    def write_map(self, core, name, extra=()):
        path = os.path.join(self.dir, name)
        j = lib.run_cli_json([core, "heap", "map", "--html", path] + list(extra))
        self.assertEqual(j["html"], path)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        # Self-contained: no network, no external scripts or styles.
        for bad in ("http://", "https://", "<script src", "<link ", "@import"):
            self.assertNotIn(bad, page)
        return path, j

    def check_render(self, path, arenas, heaps, budget_ms=10000, timeout=180):
        attrs = render(path, timeout=timeout, budget_ms=budget_ms)
        self.assertEqual(attrs.get("data-errors"), "0", attrs)
        self.assertEqual(attrs.get("data-selftest"), "ok", attrs)
        self.assertEqual(int(attrs.get("data-arenas-drawn", -1)), arenas, attrs)
        self.assertEqual(int(attrs.get("data-heaps-drawn", -1)), heaps, attrs)
        self.assertIn("state ", attrs.get("data-tooltip", ""))
        return attrs

    def test_map_renders_every_arena_with_a_tooltip(self):
        path, j = self.write_map(self.core, "frag.html")
        arenas = lib.run_cli_json([self.core, "heap", "arenas"])
        n_arenas = len(arenas["arenas"]) if isinstance(arenas, dict) else len(arenas)
        self.assertEqual(j["arenas"], n_arenas)
        self.assertEqual(n_arenas, 2)
        attrs = self.check_render(path, 2, j["heaps"])
        self.assertIn("arena 0 heap 0", attrs["data-tooltip"])
        # --arena draws one.
        path1, j1 = self.write_map(self.core, "frag1.html", ["--arena", "1"])
        self.assertEqual(j1["arenas"], 1)
        self.check_render(path1, 1, j1["heaps"])
        # Aggregated into cells (as for a huge heap): still draws, tooltips still work.
        path2, j2 = self.write_map(self.core, "frag2.html", ["--max-spans", "40"])
        self.assertGreater(j2["granularity"], 0)
        self.assertLessEqual(j2["spans"], 40)
        attrs = self.check_render(path2, 2, j2["heaps"])
        self.assertIn("cell", attrs["data-tooltip"])

    def test_screenshot(self):
        path, _ = self.write_map(self.core, "shot.html")
        png = os.path.join(self.dir, "heap-map.png")
        screenshot(path, png)
        with open(png, "rb") as f:
            data = f.read()
        self.assertTrue(data.startswith(b"\x89PNG\r\n\x1a\n"))
        self.assertGreater(len(data), 5000)  # not a blank page

    def test_text_output_names_the_file(self):
        path = os.path.join(self.dir, "t.html")
        status, out, err = lib.run_cli([self.core, "heap", "map", "--html", path])
        self.assertEqual(status, 0, err)
        self.assertEqual(len(out.strip().splitlines()), 1)
        self.assertIn(path, out)
        status, out, err = lib.run_cli([self.core, "heap", "map", "--html", "/nonexistent/dir/x.html"])
        self.assertEqual(status, 2)
        self.assertIn("cannot write", err)


@unittest.skipIf(chromium_path() is None, "chromium is not installed (Debian: apt-get install -y chromium)")
class HeapMapMillionTest(unittest.TestCase):
    """A million chunks still make a bounded page that renders."""

    def test_million_chunks(self):
        gen = os.path.join(lib.build_dir(), "bench", "gen_heap")
        if not os.path.exists(gen):
            self.skipTest("bench/gen_heap is not built")
        work = lib.scratch_dir()
        proc = subprocess.run(["bash", "-c", 'ulimit -c unlimited; exec "$0" 1000000', gen], cwd=work,
                              capture_output=True, timeout=600)
        cores = [os.path.join(work, f) for f in os.listdir(work) if f.startswith("core")]
        if not cores:
            self.skipTest("gen_heap made no core (status %s)" % proc.returncode)
        path = os.path.join(work, "million.html")
        t0 = time.monotonic()
        j = lib.run_cli_json([cores[0], "heap", "map", "--html", path], timeout=600)
        self.assertLessEqual(j["spans"], 200000)
        # Runs of one state are one span each; past 200,000 they are aggregated.
        self.assertTrue(j["spans"] < 1000000 or j["granularity"] > 0, j)
        self.assertLess(os.path.getsize(path), 8 << 20)
        attrs = render(path, timeout=300, budget_ms=30000)
        self.assertEqual(attrs.get("data-errors"), "0", attrs)
        self.assertEqual(attrs.get("data-selftest"), "ok", attrs)
        self.assertEqual(int(attrs.get("data-arenas-drawn", -1)), j["arenas"])
        # The page's own clock: load to first draw, and one redraw while panning.
        load_ms, pan_ms = int(attrs["data-load-ms"]), float(attrs["data-pan-ms"])
        sys.stderr.write("million-chunk map: %d spans, %d bytes, %.1f s (write + render); in Chromium: "
                         "first draw at %d ms, %.1f ms a redraw while panning\n"
                         % (j["spans"], os.path.getsize(path), time.monotonic() - t0, load_ms, pan_ms))
        self.assertLess(load_ms, 15000)
        self.assertLess(pan_ms, 50)  # smooth: 20 frames a second at the very least


@unittest.skipIf(chromium_path() is None, "chromium is not installed (Debian: apt-get install -y chromium)")
class HeapMapMarksTest(unittest.TestCase):
    """Problems and leaks drawn and listed (a click brings each into view),
    mmapped chunks drawn, chunks outlined when zoomed in."""

    def page(self, example, args=()):
        try:
            core, _ = lib.run_scenario_to_core(lib.example_path(example), list(args))
        except lib.CoreUnavailable as e:
            self.skipTest(str(e))
        path = os.path.join(lib.scratch_dir(), example + ".html")
        j = lib.run_cli_json([core, "heap", "map", "--html", path])
        attrs = render(path)
        self.assertEqual(attrs.get("data-errors"), "0", attrs)
        self.assertEqual(attrs.get("data-selftest"), "ok", attrs)
        with open(path, encoding="utf-8") as f:
            page = f.read()
        return core, j, attrs, page

    def test_leaks_are_marked_and_a_click_goes_to_one(self):
        core, j, attrs, page = self.page("leaks_basic")
        leaks = lib.run_cli_json([core, "heap", "leaks"])
        listed = [c for c in leaks["chunks"] if c["class"] in ("direct", "indirect", "possible")]
        self.assertGreater(len(listed), 0)
        self.assertEqual(int(attrs["data-marks"]), len(listed))
        self.assertTrue(attrs.get("data-jump", "").startswith("ok "), attrs)
        kind, address = attrs["data-jump"].split()[1:3]
        self.assertIn({"address": address, "class": kind}, [{"address": c["address"], "class": c["class"]} for c in listed])
        # Zoomed onto it, the chunks around it are outlined one by one, with their first bytes.
        self.assertGreater(int(attrs["data-jump"].split()[-1]), 0, attrs)
        dump = lib.run_cli_json([core, "heap", "chunk", address, "--dump", "8"])["dump"]
        self.assertEqual(attrs.get("data-jump-bytes"), " ".join(dump[i:i + 2] for i in range(0, 16, 2)))

    def test_a_finding_is_marked(self):
        core, j, attrs, page = self.page("corrupt_heap", ["overflow"])
        check = lib.run_cli_json([core, "heap", "check"], statuses=(1,))
        self.assertTrue(attrs.get("data-jump", "").startswith("ok finding " + check["findings"][0]["address"]), attrs)

    def test_mmapped_chunks_are_drawn(self):
        core, j, attrs, page = self.page("scenario_mmap")
        stats = lib.run_cli_json([core, "heap", "stats"])
        self.assertGreater(stats["mmapped"]["chunks"], 0)
        self.assertEqual(int(attrs["data-mmapped-drawn"]), stats["mmapped"]["chunks"])

    def test_histogram_colours_are_not_state_colours(self):
        core, j, attrs, page = self.page("leaks_basic")
        data = json.loads(page.split('<script id="heapscope-data" type="application/json">')[1].split("</script>")[0])
        states = {l["color"].lower() for l in data["legend"]}
        for cls in (".hb{", ".hu{"):
            colour = page.split(cls)[1].split("background:")[1][:7].lower()
            self.assertNotIn(colour, states, cls)


def main_screenshot(dest):
    core = frag_core()
    d = lib.scratch_dir()
    path = os.path.join(d, "map.html")
    lib.run_cli_json([core, "heap", "map", "--html", path])
    screenshot(path, dest)
    print("wrote", dest, os.path.getsize(dest), "bytes")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--screenshot":
        main_screenshot(sys.argv[2])
    else:
        unittest.main()
