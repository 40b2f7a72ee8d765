"""`convmtx explore`: the self-contained HTML page, driven in headless Chromium (selenium + chromedriver).

The page computes the convolution itself in JavaScript. These tests check, in a real browser:
- pages written by the CLI for many configurations: the page's output equals W x / W^T x from the
  library's matrices (convmtx.conv_matrix / conv_transpose_matrix) and PyTorch (float64), the page's own
  matrix equals the library's, and the page reports agreement with the W embedded by the CLI;
- 300 seeded random configurations set through window.convmtxExplorer.set(): output vs PyTorch,
  matrix vs the library's, and the page rejects exactly the configurations the library rejects;
- the hover text of output and input cells (real mouse hover) against dot products listed in Python.
The page's JavaScript core alone (explore_core.js, without a browser) is checked against the library on
many more configurations by test_explore_js.py under Node.
Chromium is Debian's /usr/bin/chromium; if it cannot start, the tests skip with the reason (fail when
CONVMTX_REQUIRE_ALL=1).
"""

import os
import shutil
import subprocess
import tempfile

import numpy as np
import pytest

import convmtx
from conftest import missing, require_module, require_tool

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"


def _cli_path():
    path = os.environ.get("CONVMTX_CLI")
    if not path:  # <build>/python/convmtx/__init__.py -> <build>/bin/convmtx
        path = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(convmtx.__file__))), "bin", "convmtx")
    return path


@pytest.fixture(scope="module")
def cli():
    path = _cli_path()
    return require_tool(path, f"the convmtx tool is not built ({path}); set CONVMTX_CLI")


@pytest.fixture(scope="module")
def browser():
    webdriver = require_module("selenium.webdriver", "selenium is not installed (Debian: python3-selenium)")
    Service = require_module("selenium.webdriver.chrome.service",
                             "selenium is not installed (Debian: python3-selenium)").Service
    for tool in (CHROMIUM, CHROMEDRIVER):
        require_tool(tool, f"{tool} is missing (Debian: chromium, chromium-driver)")
    profile = tempfile.mkdtemp(prefix="convmtx-chromium-")
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
              "--disable-background-networking", "--disable-component-update", "--disable-sync",
              "--disable-dev-shm-usage", "--window-size=1400,1000", f"--user-data-dir={profile}"):
        opts.add_argument(a)
    try:
        driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    except Exception as e:  # noqa: BLE001 - any start-up failure means "no browser here"
        shutil.rmtree(profile, ignore_errors=True)
        missing(f"headless Chromium could not start: {str(e).splitlines()[0]}")
    driver.set_script_timeout(120)
    yield driver
    driver.quit()
    shutil.rmtree(profile, ignore_errors=True)


@pytest.fixture(scope="module")
def outdir():
    d = tempfile.mkdtemp(prefix="convmtx-explore-")
    yield d
    shutil.rmtree(d, ignore_errors=True)


def write_page(cli, outdir, name, args):
    path = os.path.join(outdir, name + ".html")
    r = subprocess.run([cli, "explore", *args, "-o", path], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return path


def api(driver, call):
    return driver.execute_script("return window.convmtxExplorer." + call)


# ---- independent references ----------------------------------------------------------------

def torch_reference(torch, cfg, x, w):
    """PyTorch float64 result for a 2-D single-channel config (padding lo/hi per dimension)."""
    F = torch.nn.functional
    xt = torch.tensor(np.asarray(x, dtype=np.float64))[None, None]
    wt = torch.tensor(np.asarray(w, dtype=np.float64))[None, None]
    s, d, pl, ph = cfg["s"], cfg["d"], cfg["pl"], cfg["ph"]
    if cfg["transposed"]:
        a = cfg["a"]
        if pl == ph:
            y = F.conv_transpose2d(xt, wt, stride=tuple(s), padding=tuple(pl), output_padding=tuple(a),
                                   dilation=tuple(d))
        else:  # torch has symmetric padding only: crop the unpadded result ("gniddap"), a zeros at the end
            full = F.conv_transpose2d(xt, wt, stride=tuple(s), dilation=tuple(d))
            full = F.pad(full, (0, a[1], 0, a[0]))
            n0 = full.shape[2] - pl[0] - ph[0]
            n1 = full.shape[3] - pl[1] - ph[1]
            y = full[:, :, pl[0]:pl[0] + n0, pl[1]:pl[1] + n1]
    else:
        mode = {"zeros": "constant"}.get(cfg["mode"], cfg["mode"])
        xp = F.pad(xt, (pl[1], ph[1], pl[0], ph[0]), mode=mode)
        y = F.conv2d(xp, wt, stride=tuple(s), dilation=tuple(d))
    return y[0, 0].numpy()


def library_matrix(cfg, w):
    """The library's operator matrix (conv: W, transposed: T = W^T), dense, rows = outputs."""
    pad = ((cfg["pl"][0], cfg["ph"][0]), (cfg["pl"][1], cfg["ph"][1]))
    n = tuple(cfg["n"])
    wt = np.asarray(w, dtype=np.float64)[None, None]
    if cfg["transposed"]:
        M = convmtx.conv_transpose_matrix((1,) + n, wt, stride=tuple(cfg["s"]), padding=pad,
                                          output_padding=tuple(cfg["a"]), dilation=tuple(cfg["d"]))
    else:
        M = convmtx.conv_matrix((1,) + n, wt, stride=tuple(cfg["s"]), padding=pad, dilation=tuple(cfg["d"]),
                                padding_mode=cfg["mode"])
    return M.toarray()


def page_matrix(m):
    M = np.zeros((m["rows"], m["cols"]))
    for r, c, v in m["entries"]:
        M[r, c] += v
    return M, {(r, c) for r, c, _ in m["entries"]}


# ---- pages written by the CLI ----------------------------------------------------------------

CLI_CONFIGS = [
    # (flags, expected page config)  -- flags go to `convmtx explore`
    ["--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed"],
    ["--input", "1x4x4", "--kernel", "3x3", "--transposed"],
    ["--input", "1x4x4", "--kernel", "3x3", "--transposed", "--padding", "1"],
    ["--input", "1x4x4", "--kernel", "3x3", "--transposed", "--padding", "2"],
    ["--input", "1x3x5", "--kernel", "3x2", "--transposed", "--stride", "2x3", "--output-padding", "1x2",
     "--weights", "random:4", "--input-values", "random:5"],
    ["--input", "1x10x5", "--kernel", "5x5", "--stride", "5", "--padding", "4", "--output-padding", "2",
     "--dilation", "3", "--transposed", "--weights", "random:1"],
    ["--input", "1x3x3", "--kernel", "2x2", "--stride", "2", "--dilation", "3", "--output-padding", "2",
     "--transposed", "--weights", "arange"],
    ["--input", "1x4x3", "--kernel", "3x3", "--transposed", "--padding", "0:2,1:0", "--weights", "arange",
     "--input-values", "arange"],
    ["--input", "1x5x5", "--kernel", "3x3", "--transposed", "--stride", "2", "--padding", "1", "--output-size", "10x10"],
    ["--input", "1x4x4", "--kernel", "3x3"],
    ["--input", "1x5x6", "--kernel", "3x2", "--stride", "2", "--padding", "1", "--weights", "random:7"],
    ["--input", "1x7x7", "--kernel", "3x3", "--dilation", "2", "--padding", "same", "--weights", "arange"],
    ["--input", "1x6x5", "--kernel", "3x3", "--padding", "2:1,0:2", "--stride", "2x1", "--weights", "random:2"],
    ["--input", "1x5x5", "--kernel", "3x3", "--padding", "2", "--padding-mode", "circular", "--weights", "arange"],
    ["--input", "1x5x4", "--kernel", "3x3", "--padding", "2", "--padding-mode", "reflect", "--weights", "arange"],
    ["--input", "1x4x4", "--kernel", "2x3", "--padding", "3", "--padding-mode", "replicate", "--weights", "random:3"],
    ["--input", "1x6x6", "--kernel", "4x4", "--stride", "2", "--padding", "same", "--convention", "keras",
     "--weights", "random:8"],
    ["--input", "1x3x3", "--kernel", "3x3", "--stride", "2", "--padding", "same", "--convention", "keras",
     "--transposed", "--weights", "random:9"],
    ["--input", "1x3x3", "--kernel", "4x4", "--stride", "2", "--padding", "valid", "--convention", "keras",
     "--transposed", "--weights", "arange"],
    ["--input", "1x7", "--kernel", "3", "--stride", "2", "--transposed", "--weights", "arange"],
    ["--input", "1x9", "--kernel", "4", "--stride", "2", "--padding", "1", "--weights", "random:6"],
]


@pytest.mark.parametrize("flags", CLI_CONFIGS, ids=[" ".join(f) for f in CLI_CONFIGS])
def test_cli_page_matches_library_and_torch(cli, browser, outdir, torch, flags):
    path = write_page(cli, outdir, "page", flags)
    browser.get("file://" + path)
    st = api(browser, "state()")
    assert api(browser, "error()") == ""
    y_page = np.array(api(browser, "output()"), dtype=np.float64)
    x = np.array(st["x"], dtype=np.float64)
    w = np.array(st["w"], dtype=np.float64)
    cfg = {k: st[k] for k in ("n", "k", "s", "pl", "ph", "a", "d", "transposed", "mode")}
    assert list(x.shape) == cfg["n"] and list(w.shape) == cfg["k"]

    # the library's matrix (Python bindings of the same C++ builder) and PyTorch
    M = library_matrix(cfg, w)
    y_lib = (M @ x.ravel()).reshape(y_page.shape)
    np.testing.assert_allclose(y_page, y_lib, rtol=0, atol=1e-12)
    np.testing.assert_allclose(y_page, torch_reference(torch, cfg, x, w), rtol=1e-12, atol=1e-12)

    # the page's own matrix is the library's, pattern included (zero taps stay structural)
    Mp, pattern = page_matrix(api(browser, "matrix()"))
    np.testing.assert_allclose(Mp, M, rtol=0, atol=1e-12)

    # ... and the page compared itself with the W the CLI embedded
    chk = api(browser, "checkLibrary()")
    assert chk["applicable"] and chk["patternEqual"], chk
    assert chk["maxWDiff"] <= 1e-12 and chk["maxOutDiff"] <= 1e-9, chk
    assert chk["nnz"] == len(pattern)
    assert browser.find_element("id", "agree").get_attribute("class") == "ok"


def test_published_example_values(cli, browser, outdir):
    """d2l's trans_conv example: [[0,1],[2,3]] * [[0,1],[2,3]] -> [[0,0,1],[0,4,6],[4,12,9]]."""
    path = write_page(cli, outdir, "d2l", ["--input", "1x2x2", "--kernel", "2x2", "--transposed",
                                            "--input-values", "arange", "--weights", "arange"])
    browser.get("file://" + path)
    assert api(browser, "output()") == [[0, 0, 1], [0, 4, 6], [4, 12, 9]]
    # the ones example of the MXNet/Excel blog post ("Transposed Convolutions explained with... MS Excel!"):
    # 4x4 ones, 3x3 ones kernel -> 6x6
    api(browser, "set({values: 'ones', weights: 'ones', n: 4, k: 3})")
    assert api(browser, "output()") == [[1, 2, 3, 3, 2, 1], [2, 4, 6, 6, 4, 2], [3, 6, 9, 9, 6, 3],
                                        [3, 6, 9, 9, 6, 3], [2, 4, 6, 6, 4, 2], [1, 2, 3, 3, 2, 1]]
    for p, shape in ((0, [6, 6]), (1, [4, 4]), (2, [2, 2])):  # "gniddap": padding shrinks the output
        assert api(browser, f"set({{p: {p}}})")["outShape"] == shape


# ---- the page's controls through the API, many random configurations --------------------------

def random_config(rng):
    transposed = bool(rng.integers(2))
    cfg = {
        "transposed": transposed,
        "n": [int(v) for v in rng.integers(1, 7, 2)],
        "k": [int(v) for v in rng.integers(1, 5, 2)],
        "s": [int(v) for v in rng.integers(1, 4, 2)],
        "d": [int(v) for v in rng.integers(1, 4, 2)],
        "pl": [int(v) for v in rng.integers(0, 4, 2)],
        "ph": [int(v) for v in rng.integers(0, 4, 2)],
        "a": [int(v) for v in rng.integers(0, 3, 2)] if transposed else [0, 0],
        "mode": "zeros" if transposed else str(rng.choice(["zeros", "zeros", "circular", "reflect", "replicate"])),
    }
    cfg["x"] = rng.integers(-4, 6, cfg["n"]).astype(float).tolist()
    cfg["w"] = rng.integers(-3, 4, cfg["k"]).astype(float).tolist()
    return cfg


def library_accepts(cfg):
    try:
        library_matrix(cfg, np.ones(cfg["k"]))
        return True
    except ValueError:
        return False


def test_controls_many_configurations(cli, browser, outdir, torch, rng):
    path = write_page(cli, outdir, "api", ["--input", "1x4x4", "--kernel", "3x3", "--transposed"])
    browser.get("file://" + path)
    configs = [random_config(rng) for _ in range(300)]
    results = browser.execute_script(
        """
        const E = window.convmtxExplorer, out = [];
        for (const c of arguments[0]) {
          const r = E.set({transposed: c.transposed, mode: c.mode, x: c.x, w: c.w, s: c.s, d: c.d,
                           pl: c.pl, ph: c.ph, a: c.a});
          const g = E.gather();
          out.push({ok: r.ok, error: r.error, y: E.output(), m: r.ok ? E.matrix() : null, yg: g ? g.y : null});
        }
        return out;
        """, configs)
    valid = 0
    for cfg, res in zip(configs, results):
        accepted = library_accepts(cfg)
        assert res["ok"] == accepted, (cfg, res["error"])
        if not accepted:
            assert res["error"] and res["y"] is None
            continue
        valid += 1
        y_page = np.array(res["y"], dtype=np.float64)
        ref = torch_reference(torch, cfg, cfg["x"], cfg["w"])
        np.testing.assert_allclose(y_page, ref, rtol=1e-9, atol=1e-9, err_msg=str(cfg))
        # the page's second computation: the gather form (zero insertion, padding, flipped kernel)
        np.testing.assert_allclose(np.array(res["yg"], dtype=np.float64), ref, rtol=1e-9, atol=1e-9, err_msg=str(cfg))
        M = library_matrix(cfg, cfg["w"])
        Mp, _ = page_matrix(res["m"])
        np.testing.assert_allclose(Mp, M, rtol=0, atol=1e-12, err_msg=str(cfg))
    assert valid >= 120  # most random configurations are valid; the rest checked the error path


def test_controls_reject_with_message(cli, browser, outdir):
    path = write_page(cli, outdir, "err", ["--input", "1x3x3", "--kernel", "3x3", "--transposed", "--stride", "2"])
    browser.get("file://" + path)
    r = api(browser, "set({a: [2, 0]})")
    assert not r["ok"] and r["error"] == "output_padding[0]=2 must be smaller than stride[0]=2 or dilation[0]=1"
    assert browser.find_element("id", "error").text == r["error"]
    assert api(browser, "set({a: 0, p: 4})")["error"] == (
        "output size[0] = (3-1)*2 - 4 - 4 + 1*(3-1) + 0 + 1 = -1 must be at least 1 (padding too large)")
    assert api(browser, "set({p: 0})")["ok"]
    # typing in a control recomputes (real key events on the number input)
    box = browser.find_element("id", "s1")
    box.clear()
    box.send_keys("3")
    st = api(browser, "state()")
    assert st["s"] == [3, 3]  # "same value for rows and cols" is on for this square configuration
    assert api(browser, "outputShape()") == [(3 - 1) * 3 + 3, (3 - 1) * 3 + 3]


# ---- hover ---------------------------------------------------------------------------------------

def fmt(v):
    return str(int(v)) if float(v).is_integer() else repr(float(f"{v:.4g}"))


def expected_terms(cfg, x, w, r, c):
    """(input index, tap) pairs of output (r, c), from the formulas, in input order."""
    (n0, n1), (k0, k1) = np.shape(x), np.shape(w)
    terms = []
    for i0 in range(n0):
        for i1 in range(n1):
            for t0 in range(k0):
                for t1 in range(k1):
                    if cfg["transposed"]:
                        hit = (i0 * cfg["s"][0] - cfg["pl"][0] + t0 * cfg["d"][0] == r and
                               i1 * cfg["s"][1] - cfg["pl"][1] + t1 * cfg["d"][1] == c)
                    else:  # zeros padding
                        hit = (r * cfg["s"][0] - cfg["pl"][0] + t0 * cfg["d"][0] == i0 and
                               c * cfg["s"][1] - cfg["pl"][1] + t1 * cfg["d"][1] == i1)
                    if hit:
                        terms.append(((i0, i1), (t0, t1)))
    return terms


def hover_info(browser, element_id):
    from selenium.webdriver.common.action_chains import ActionChains

    rect = browser.find_element("css selector", f"#{element_id} rect")
    ActionChains(browser).move_to_element(rect).perform()
    return browser.find_element("id", "info").text


def test_hover_shows_dot_product(cli, browser, outdir):
    # PyTorch's ConvTranspose2d(1, 1, 3, stride=2) on [[1,2],[3,4]] with a 3x3 kernel of ones
    path = write_page(cli, outdir, "hover", ["--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed"])
    browser.get("file://" + path)
    text = hover_info(browser, "out-0-2")
    assert text.splitlines()[0] == "y[0][2] = x[0][0]·w[0][2] + x[0][1]·w[0][0]"
    assert text.splitlines()[1].strip() == "= 1·1 + 2·1 = 3"
    assert text == api(browser, "hoverText(0, 2)")
    # the inputs that reach y[0][2] and the taps they use are highlighted, nothing else
    hl_in = browser.find_elements("css selector", "#svg-in rect.hl-in")
    hl_k = browser.find_elements("css selector", "#svg-k rect.hl-k")
    ids = sorted(e.find_element("xpath", "..").get_attribute("id") for e in hl_in)
    assert ids == ["in-0-0", "in-0-1"]
    assert sorted(e.find_element("xpath", "..").get_attribute("id") for e in hl_k) == ["k-0-0", "k-0-2"]
    # the centre collects all four inputs
    assert hover_info(browser, "out-2-2").splitlines()[1].strip() == "= 1·1 + 2·1 + 3·1 + 4·1 = 10"
    # an input spreads to k*k = 9 outputs
    text = hover_info(browser, "in-1-1")
    assert text.splitlines()[0] == "x[1][1] = 4 spreads to 9 output cells:"
    assert "y[2][2] += 4·w[0][0] = 4" in text.splitlines()
    assert "y[4][4] += 4·w[2][2] = 4" in text.splitlines()
    assert len(browser.find_elements("css selector", "#svg-out rect.hl-out")) == 9


def test_gather_form_recipe(cli, browser, outdir, torch):
    """The gather recipe (Dumoulin & Visin 2016; the "Interactive Transposed Convolution Tool" blog post):
    insert s-1 zeros, pad d(k-1)-p (+a at the end), flip the kernel, stride-1 conv. The tool's 10x5
    example: k=5, s=5, p=4, a=2, d=3."""
    path = write_page(cli, outdir, "gather", ["--input", "1x10x5", "--kernel", "5x5", "--stride", "5", "--padding", "4",
                                               "--output-padding", "2", "--dilation", "3", "--transposed",
                                               "--input-values", "random:3", "--weights", "random:4"])
    browser.get("file://" + path)
    g = api(browser, "gather()")
    st = api(browser, "state()")
    x, w = np.array(st["x"]), np.array(st["w"])
    # the grid is the zero-inserted input, padded with d(k-1)-p = 8 at the start
    assert g["lo"] == [3 * 4 - 4, 3 * 4 - 4] and g["hi"] == [3 * 4 - 4 + 2, 3 * 4 - 4 + 2]
    grid = np.array(g["grid"])
    expect = np.zeros_like(grid)
    expect[8:8 + 5 * 9 + 1:5, 8:8 + 5 * 4 + 1:5] = x
    assert grid.shape == (8 + 5 * 9 + 1 + 10, 8 + 5 * 4 + 1 + 10)  # lo + (n-1)s+1 + hi, hi = d(k-1)-p+a
    np.testing.assert_array_equal(grid, expect)
    # the stride-1 dilated conv of that grid with the flipped kernel, in numpy, is PyTorch's result
    n0, n1 = api(browser, "outputShape()")
    y = np.zeros((n0, n1))
    for o0 in range(n0):
        for o1 in range(n1):
            y[o0, o1] = sum(grid[o0 + t0 * 3, o1 + t1 * 3] * w[4 - t0, 4 - t1] for t0 in range(5) for t1 in range(5))
    ref = torch.nn.functional.conv_transpose2d(torch.tensor(x)[None, None], torch.tensor(w)[None, None], stride=5,
                                               padding=4, output_padding=2, dilation=3)[0, 0].numpy()
    np.testing.assert_allclose(y, ref, atol=1e-12)
    np.testing.assert_allclose(np.array(g["y"]), ref, atol=1e-12)
    np.testing.assert_allclose(np.array(api(browser, "output()")), ref, atol=1e-12)
    # the window of one output: grid cells o + t'd with the flipped taps
    win = api(browser, "window(7, 4)")
    assert win[0] == [7, 4, 4, 4] and win[-1] == [7 + 12, 4 + 12, 0, 0] and len(win) == 25


@pytest.mark.parametrize("transposed", [True, False])
def test_hover_text_against_formulas(cli, browser, outdir, transposed):
    flags = ["--input", "1x7x6", "--kernel", "3x2", "--stride", "2", "--padding", "1", "--dilation", "2",
             "--input-values", "random:11", "--weights", "arange"]
    if transposed:
        flags += ["--transposed", "--output-padding", "1"]
    path = write_page(cli, outdir, "hover2", flags)
    browser.get("file://" + path)
    st = api(browser, "state()")
    x, w = np.array(st["x"]), np.array(st["w"])
    shape = api(browser, "outputShape()")
    y = np.array(api(browser, "output()"))
    assert min(shape) >= 3
    for r, c in [(0, 0), (1, 1), (shape[0] - 1, shape[1] - 1), (shape[0] // 2, 1), (2, shape[1] - 2)]:
        terms = expected_terms(st, x, w, r, c)
        text = hover_info(browser, f"out-{r}-{c}")
        if not terms:
            assert text == f"y[{r}][{c}] = 0   (no product reaches this cell)"
            continue
        sym = " + ".join(f"x[{i0}][{i1}]·w[{t0}][{t1}]" for (i0, i1), (t0, t1) in terms)
        f = lambda v: fmt(v) if v >= 0 else f"({fmt(v)})"  # noqa: E731
        num = " + ".join(f"{f(x[i])}·{f(w[t])}" for i, t in terms)
        value = sum(x[i] * w[t] for i, t in terms)
        assert abs(value - y[r, c]) <= 1e-12
        assert text.splitlines()[0] == f"y[{r}][{c}] = {sym}"
        assert text.splitlines()[1].strip() == f"= {num} = {fmt(y[r, c])}"


# ---- the command line ------------------------------------------------------------------------------

def test_page_is_self_contained(cli, outdir):
    path = write_page(cli, outdir, "sc", ["--input", "1x3x3", "--kernel", "2x2", "--transposed"])
    html = open(path, encoding="utf-8").read()
    assert "<script src" not in html and "<link" not in html and "@import" not in html
    urls = [u for u in ("http://", "https://") for _ in range(html.count(u))]
    # the only URL is the SVG namespace name (an identifier, never fetched)
    assert len(urls) == html.count("http://www.w3.org/2000/svg") == 1


def test_page_embeds_the_source_files(cli, outdir):
    """The page carries src/cli/explore/'s stylesheet and scripts as they are now (embedded at build time)."""
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "src", "cli", "explore")
    html = open(write_page(cli, outdir, "embed", ["--input", "1x3", "--kernel", "2"]), encoding="utf-8").read()
    for name in ("page.css", "explore_core.js", "explore_ui.js"):
        text = open(os.path.join(source, name), encoding="utf-8").read()
        assert text in html, f"{name} is not in the page as it is in {source}: rebuild convmtx"
    assert html.count("/*CONVMTX_DATA*/") == 0 and html.count("window.CONVMTX_DATA = {") == 1


@pytest.mark.parametrize("flags,needle", [
    (["--input", "2x4x4", "--kernel", "3x3"], "--input 2x4x4"),
    (["--input", "1x4x4", "--kernel", "3x3", "--out-channels", "2"], "--out-channels 2"),
    (["--input", "1x4x4x4", "--kernel", "3x3x3"], "--kernel 3x3x3"),
    (["--input", "1x100x4", "--kernel", "3x3"], "--input 1x100x4"),
    (["--input", "1x4x4", "--kernel", "3x3", "--input-values", "nope"], "--input-values"),
    (["--input", "1x4x4", "--kernel", "3x3", "--frobnicate"], "--frobnicate"),
    (["--input", "1x4x4", "--kernel", "3x3", "--transposed", "--stride", "2", "--output-padding", "2"],
     "output_padding"),
    (["--kernel", "3x3"], "--input"),
])
def test_cli_errors(cli, outdir, flags, needle):
    r = subprocess.run([cli, "explore", *flags, "-o", os.path.join(outdir, "never.html")], capture_output=True,
                       text=True)
    assert r.returncode == 2
    assert r.stdout == ""
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convmtx explore: ") and needle in lines[0], r.stderr
    assert not os.path.exists(os.path.join(outdir, "never.html"))


def test_cli_help_and_stdout(cli):
    r = subprocess.run([cli, "explore", "--help"], capture_output=True, text=True)
    assert r.returncode == 0 and "usage: convmtx explore" in r.stdout
    for flag in ("--input", "--kernel", "--stride", "--padding", "--output-padding", "--dilation", "--transposed",
                 "--input-values", "--output"):
        assert flag in r.stdout
    r = subprocess.run([cli, "explore", "--input", "1x2x2", "--kernel", "3x3", "--transposed"], capture_output=True,
                       text=True)
    assert r.returncode == 0 and r.stdout.startswith("<!DOCTYPE html>") and r.stdout.rstrip().endswith("</html>")


def test_config_file_and_npy_values(cli, browser, outdir, torch):
    """--config JSON (the keys of the shared configuration flags) and --input-values from a .npy file."""
    import json

    cfg_path = os.path.join(outdir, "cfg.json")
    with open(cfg_path, "w") as f:
        json.dump({"input": [1, 3, 4], "kernel": [2, 3], "stride": [2, 1], "padding_lo": [1, 0], "padding_hi": [0, 2],
                   "dilation": 2, "transposed": True, "weights": "arange"}, f)
    x = np.arange(12, dtype=np.float64).reshape(1, 3, 4) * 0.5 - 2
    npy = os.path.join(outdir, "x.npy")
    np.save(npy, x)
    path = write_page(cli, outdir, "cfg", ["--config", cfg_path, "--input-values", npy])
    browser.get("file://" + path)
    st = api(browser, "state()")
    assert st["transposed"] and st["s"] == [2, 1] and st["d"] == [2, 2] and st["pl"] == [1, 0] and st["ph"] == [0, 2]
    np.testing.assert_array_equal(np.array(st["x"]), x[0])
    cfg = {k: st[k] for k in ("n", "k", "s", "pl", "ph", "a", "d", "transposed", "mode")}
    w = np.arange(6, dtype=np.float64).reshape(2, 3)
    np.testing.assert_allclose(np.array(api(browser, "output()")), torch_reference(torch, cfg, x[0], w), atol=1e-12)
    assert api(browser, "checkLibrary()")["patternEqual"]
    # a .npy of the wrong shape is refused, naming the flag and both shapes
    np.save(npy, np.zeros((3, 4)))
    r = subprocess.run([cli, "explore", "--config", cfg_path, "--input-values", npy], capture_output=True, text=True)
    assert r.returncode == 2 and "--input-values" in r.stderr and "(3, 4)" in r.stderr and "(1, 3, 4)" in r.stderr


@pytest.mark.parametrize("change,needle", [
    (("page.css", None), "references page.css, which is not in"),
    (("explore_core.js", "\n// '</script>' in a comment\n"), "explore_core.js contains '</script'"),
    (("page.html", '<script src="https://example.org/x.js" defer></script>\n'), "still holds '<script src'"),
    (("page.html", "<!-- /*CONVMTX_DATA*/null -->\n"), "occurs 2 times"),
])
def test_embed_script_refuses_a_broken_page(tmp_path, change, needle):
    """src/cli/explore/embed_page.cmake (the build step) stops, naming the file and the rule."""
    cmake = require_tool("cmake", "cmake is not on the PATH")
    source = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                          "src", "cli", "explore")
    work = tmp_path / "explore"
    shutil.copytree(source, work)
    name, text = change
    if text is None:
        os.remove(work / name)
    else:
        with open(work / name, "a", encoding="utf-8") as f:
            f.write(text)
    out = tmp_path / "page.hpp"
    r = subprocess.run([cmake, f"-DSOURCE_DIR={work}", f"-DOUTPUT={out}", "-P", str(work / "embed_page.cmake")],
                       capture_output=True, text=True)
    assert r.returncode != 0 and needle in r.stderr.replace("\n", " "), r.stderr
    assert not out.exists()
    # the untouched files embed fine
    r = subprocess.run([cmake, f"-DSOURCE_DIR={source}", f"-DOUTPUT={out}", "-P", str(work / "embed_page.cmake")],
                       capture_output=True, text=True)
    assert r.returncode == 0 and "kExplorePageBytes" in out.read_text(), r.stderr
