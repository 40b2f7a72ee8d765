"""Hostile and broken input (issue #10): the report's examples that no other test file covers, each a
regression test, and a sweep of every file flag of the CLI over broken files.

The contract (docs/reliability.md): bad input, usage or I/O gets exit status 2 and exactly one line on
stderr naming the argument, the value and the rule, leaves no file behind, and never shows the C++
library's own words ("stoll", "vector::reserve", "std::bad_alloc", "max_size()"); in Python it is a
ValueError (OSError for a file that cannot be opened or written, MemoryError for a memory limit).
Where a test elsewhere already covers an example, docs/reliability.md names it.

The CLI is found through CONVMTX_CLI (set by ctest) or <repo>/build/bin/convmtx.
"""

import os
import resource
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np
import pytest

from conftest import find_tool, needs, require_module

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(ROOT, "build", "bin", "convmtx")
needs_cli = needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")

# Messages of the C++ standard library that say nothing about the input.
RAW_WORDS = ["stoll", "stoi", "stod", "vector::", "bad_alloc", "max_size()", "basic_string", "std::",
             "internal error"]


def run(args, cwd, preexec_fn=None, timeout=120):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, cwd=cwd, timeout=timeout,
                          preexec_fn=preexec_fn)


def refused(args, cwd, *needles, preexec_fn=None):
    """Runs a command that must end with status 2, one printable line on stderr holding every needle,
    none of the C++ library's words, and no file written in cwd. Returns the line."""
    before = set(os.listdir(cwd))
    p = run(args, cwd, preexec_fn)
    assert p.returncode == 2, (args, p.returncode, p.stdout[-300:], p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"convmtx {args[0]}: "), (args, p.stderr)
    line = lines[0]
    assert line.isprintable(), line
    for word in RAW_WORDS:
        assert word not in line, (word, line)
    for needle in needles:
        assert needle in line, (needle, line)
    assert set(os.listdir(cwd)) == before, f"{args} left {set(os.listdir(cwd)) - before}"
    return line


# ---------------------------------------------------------------- the report's examples (CLI)


@needs_cli
def test_huge_pgm_header_with_downscale(tmp_path):
    """A PGM header of 4294967296 x 4294967296 crashed `convmtx solve --image F --downscale 2`."""
    (tmp_path / "F.pgm").write_bytes(b"P5\n4294967296 4294967296\n255\n\x00")
    refused(["solve", "--image", "F.pgm", "--downscale", "2"], tmp_path, "--image", "4294967296 x 4294967296",
            "2^20 pixels per side")


@needs_cli
def test_int64_max_padding_of_a_transposed_conv(tmp_path):
    """`build --input 1x2 --kernel 1 --padding 9223372036854775807 --transposed` exited 0 with a 4 x 2 matrix."""
    refused(["build", "--input", "1x2", "--kernel", "1", "--padding", "9223372036854775807", "--transposed", "-o",
             "T.mtx"], tmp_path, "--padding 9223372036854775807", "2^61")


@needs_cli
def test_spy_cell_that_overflows_the_picture(tmp_path):
    """`spy --input 1x4x4 --kernel 1x1 --cell 1152921504606846977` crashed; any --cell whose picture would be
    wider than 16000 pixels is refused before anything is built."""
    refused(["spy", "--input", "1x4x4", "--kernel", "1x1", "--cell", "1152921504606846977", "-o", "s.png"], tmp_path,
            "--cell", "1152921504606846977", "[1, 16384]")
    refused(["spy", "--input", "1x4x4", "--kernel", "1x1", "--cell", "4096", "-o", "s.png"], tmp_path,
            "--cell 4096", "16 x 16 cells", "wider than 16000 pixels")
    # The same for a matrix file: the picture is checked before drawing.
    assert run(["build", "--input", "1x4x4", "--kernel", "1x1", "-o", "W.mtx"], tmp_path).returncode == 0
    refused(["spy", "--matrix", "W.mtx", "--cell", "4096", "-o", "s.png"], tmp_path, "wider than 16000 pixels")


@needs_cli
@pytest.mark.parametrize("command", [["build", "-o", "W.mtx"], ["inspect"], ["spy", "-o", "s.png"],
                                     ["adjoint-test"]])
def test_tap_tables_beyond_the_memory_are_refused_at_once(tmp_path, command):
    """Found while fuzzing: a conv over 2^40 inputs built its tap tables to count W's entries and ran for
    minutes (every command that estimates its work from the entries); now refused before building them."""
    t0 = time.time()
    refused([command[0], "--input", "1x1099511627776", "--kernel", "3", *command[1:]], tmp_path, "tap tables",
            "more than the physical memory")
    assert time.time() - t0 < 20


def nan_weights(path):
    w = np.arange(9.0).reshape(1, 1, 3, 3)
    w[0, 0, 1, 2] = np.nan
    np.save(path, w)


@needs_cli
@pytest.mark.parametrize("command", [["build", "-o", "W.mtx"], ["inspect"], ["spy", "-o", "s.png"],
                                     ["explain", "--at", "0"], ["overlap"], ["explore", "-o", "p.html"],
                                     ["adjoint-test"]])
def test_nan_weights_are_refused_by_every_command(tmp_path, command):
    """`inspect` with a NaN in the weights looped forever; `build --weights nan.npy` wrote a matrix of NaN."""
    nan_weights(tmp_path / "nan.npy")
    refused([command[0], "--input", "1x4x4", "--weights", "nan.npy", *command[1:]], tmp_path,
            "--weights nan.npy", "nan at flat index 5", "finite")


@needs_cli
def test_inspect_of_a_matrix_file_holding_nan_ends_with_a_failed_check(tmp_path):
    """A NaN inside a matrix file is the file's content, not a usage error: inspect terminates and reports
    the structure check as failed (status 1) at that entry."""
    assert run(["build", "--input", "1x4x4", "--kernel", "3x3", "--weights", "arange", "-o", "W.mtx"],
               tmp_path).returncode == 0
    text = (tmp_path / "W.mtx").read_text().splitlines()
    last = text[-1].split()
    text[-1] = f"{last[0]} {last[1]} nan"
    (tmp_path / "W.mtx").write_text("\n".join(text) + "\n")
    p = run(["inspect", "--matrix", "W.mtx", "--input", "1x4x4", "--kernel", "3x3", "--weights", "arange"], tmp_path,
            timeout=30)
    assert p.returncode == 1, (p.stdout, p.stderr)
    assert f"W[{int(last[0]) - 1}, {int(last[1]) - 1}]" in p.stdout and "is not a finite number" in p.stdout


@needs_cli
@pytest.mark.parametrize("kind", ["fifo", "dev-zero"])
def test_fifo_and_dev_zero_as_weights(tmp_path, kind):
    """A FIFO given as --weights blocked forever; a link to /dev/zero was read until memory ran out."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "w.npy")
    else:
        os.symlink("/dev/zero", tmp_path / "w.npy")
    what = "a FIFO" if kind == "fifo" else "a character device (through a symbolic link)"
    refused(["build", "--input", "1x4x4", "--weights", "w.npy", "-o", "W.mtx"], tmp_path, "--weights", what,
            "only regular files are read")


def keep_files_small():
    resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)


@needs_cli
def test_a_failed_image_write_of_solve_keeps_the_old_file(tmp_path):
    """solve's images were opened directly: a failed write destroyed the previous file."""
    (tmp_path / "x.pgm").write_bytes(b"old image")
    # A 512 x 512 PGM holds 256 KiB of pixels: over the 64 KiB file-size limit whatever the solution is.
    p = run(["solve", "--size", "512", "--blur", "box:3", "--lambda", "0.1", "--iters", "1", "-o", "x.pgm"], tmp_path,
            preexec_fn=keep_files_small)
    assert p.returncode == 2 and "cannot write 'x.pgm': File too large" in p.stderr, p.stderr
    assert (tmp_path / "x.pgm").read_bytes() == b"old image"
    assert os.listdir(tmp_path) == ["x.pgm"]


@needs_cli
def test_outputs_that_are_directories_are_refused_before_any_work(tmp_path):
    os.mkdir(tmp_path / "out.png")
    os.mkdir(tmp_path / "r.json")
    t0 = time.time()
    refused(["solve", "--size", "512", "-o", "out.png"], tmp_path, "--output", "'out.png' is a directory")
    refused(["adjoint-test", "--count", "100000", "--json", "r.json"], tmp_path, "--json", "is a directory")
    assert time.time() - t0 < 20  # refused before solving or sweeping


# ---------------------------------------------------------------- every file flag x broken files

def broken_file(directory, name, kind):
    """Makes `name` in `directory` one of the broken kinds; returns the argument naming it."""
    path = directory / name
    if kind == "missing":
        pass
    elif kind == "directory":
        os.mkdir(path)
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "dev-zero":
        os.symlink("/dev/zero", path)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "truncated":
        good = {".npy": lambda p: np.save(p, np.ones((1, 1, 3, 3))),
                ".json": lambda p: p.write_text('{"input": [1, 4, 4], "kernel": [3, 3], "stride": 2}'),
                ".mtx": lambda p: p.write_text("%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 1\n2 2 1\n"),
                ".png": lambda p: p.write_bytes(png_bytes()),
                ".pgm": lambda p: p.write_bytes(b"P5\n4 4\n255\n" + bytes(range(16)))}
        ext = os.path.splitext(name)[1]
        if ext == ".npz":
            import scipy.sparse
            scipy.sparse.save_npz(str(path), scipy.sparse.eye(3, format="csr"))
        else:
            good[ext](path)
        data = path.read_bytes()
        path.write_bytes(data[:len(data) * 2 // 3])
    elif kind == "wrong-format":
        path.write_bytes(b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
    return name


def png_bytes():
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"".join(b"\x00" + bytes(range(y * 4, y * 4 + 4)) for y in range(4))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0)) +
            chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


KINDS = ["missing", "directory", "fifo", "dev-zero", "empty", "truncated", "wrong-format"]
CONFIG = ["--input", "1x4x4", "--kernel", "3x3"]
FILE_FLAGS = [
    # (command line with {} for the file, the flag, the file's name)
    (["build", "--config", "{}", "-o", "W.mtx"], "--config", "c.json"),
    (["inspect", "--config", "{}"], "--config", "c.json"),
    (["adjoint-test", "--config", "{}"], "--config", "c.json"),
    (["build", "--input", "1x4x4", "--weights", "{}", "-o", "W.npz"], "--weights", "w.npy"),
    (["spy", "--input", "1x4x4", "--weights", "{}", "-o", "s.png"], "--weights", "w.npy"),
    (["explain", "--input", "1x4x4", "--weights", "{}", "--at", "0"], "--weights", "w.npy"),
    (["overlap", "--input", "1x4x4", "--weights", "{}", "-o", "o.png"], "--weights", "w.npy"),
    (["explore", "--input", "1x4x4", "--weights", "{}", "-o", "p.html"], "--weights", "w.npy"),
    (["inspect", "--matrix", "{}"], "--matrix", "m.mtx"),
    (["inspect", "--matrix", "{}", *CONFIG], "--matrix", "m.npz"),
    (["spy", "--matrix", "{}", "-o", "s.png"], "--matrix", "m.npz"),
    (["explain", "--matrix", "{}", "--at", "0"], "--matrix", "m.mtx"),
    (["solve", "--image", "{}", "-o", "x.png"], "--image", "i.png"),
    (["solve", "--image", "{}", "--degraded", "b.pgm"], "--image", "i.pgm"),
    (["solve", "--size", "16", "--kernel", "{}", "-o", "x.png"], "--kernel", "k.npy"),
]


@needs_cli
@pytest.mark.parametrize("args, flag, name", FILE_FLAGS, ids=[f"{a[0]} {f} {n}" for a, f, n in FILE_FLAGS])
def test_every_file_flag_refuses_broken_files(tmp_path, args, flag, name):
    for kind in KINDS:
        case = tmp_path / kind
        case.mkdir()
        broken_file(case, name, kind)
        line = refused([a.replace("{}", name) for a in args], case)
        assert flag in line and name in line, (kind, line)


# ---------------------------------------------------------------- Python


def run_python(code, limit_bytes=None, timeout=300):
    """Runs `code` in a child Python (the build tree's convmtx on its path) under an address-space limit."""
    def limit():
        if limit_bytes:
            resource.setrlimit(resource.RLIMIT_AS, (limit_bytes, limit_bytes))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, preexec_fn=limit, env=dict(os.environ))


def peak_rss_bytes(args, cwd):
    """Runs the CLI in a child process; returns (exit status, its peak resident memory in bytes)."""
    p = subprocess.Popen([CLI, *map(str, args)], cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    return p.returncode, usage.ru_maxrss * 1024


@needs_cli
@pytest.mark.parametrize("dtype, scalar_bytes", [("float64", 8), ("float32", 4)])
def test_a_cli_build_peaks_within_its_estimate(tmp_path, dtype, scalar_bytes):
    """CLI builds peaked at 2.9-3.7 times their own estimate (copies of the matrix on the way to the file).
    The estimate the CLI checks before allocating is the build (values and int64 indices of every entry,
    the row index) plus the CSR arrays of the file (16 bytes per entry, 8 per row); the peak memory the
    build adds to the process (over the same command on a tiny input) must stay within 1.2 times it."""
    os.symlink("/dev/null", tmp_path / "W.npz")  # a device: written directly, nothing on disk
    c, n, k = 4, 256, 3
    status, base = peak_rss_bytes(["build", "--input", f"{c}x8x8", "--kernel", f"{k}x{k}", "--out-channels", c,
                                   "--padding", "same", "--dtype", dtype, "-o", "W.npz"], tmp_path)
    assert status == 0
    status, peak = peak_rss_bytes(["build", "--input", f"{c}x{n}x{n}", "--kernel", f"{k}x{k}", "--out-channels", c,
                                   "--padding", "same", "--dtype", dtype, "-o", "W.npz"], tmp_path)
    assert status == 0
    rows, nnz = c * n * n, c * c * (k * n - (k - 1)) ** 2  # "same" zero padding: 3n - 2 taps in range per dimension
    estimate = nnz * (scalar_bytes + 8) + 8 * (rows + 1) + 16 * nnz + 8 * (rows + 1)
    ratio = (peak - base) / estimate
    assert 0.5 < ratio <= 1.2, (peak, base, estimate, ratio)


def test_memory_limit_refuses_before_allocating_anything():
    """conv_matrix(..., memory_limit=1 GiB) was refused only after 12 GB had been allocated. Here a build
    needing about 12 GB is refused under a 1.5 GiB address-space limit: nothing of it was allocated."""
    p = run_python("""
        import numpy as np, convmtx
        try:
            convmtx.conv_matrix((64, 256, 256), np.ones((64, 64, 3, 3), np.float32), memory_limit=1 << 30,
                                index_dtype=np.int64)
        except MemoryError as e:
            print("refused:", e)
    """, limit_bytes=3 << 29)
    assert p.returncode == 0, p.stderr
    assert p.stdout.startswith("refused: ") and "more than the memory limit 1.00 GiB" in p.stdout, p.stdout
    assert "GiB" in p.stdout.split("need ")[1]


def test_write_image_is_atomic(tmp_path):
    """Python's write_image opened the destination directly: a failed write destroyed the previous file."""
    import convmtx
    old = tmp_path / "x.png"
    old.write_bytes(b"old contents")
    code = f"""
        import resource, signal, numpy as np, convmtx
        resource.setrlimit(resource.RLIMIT_FSIZE, (64 << 10, 64 << 10))
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        try:
            convmtx.write_image({str(old)!r}, np.random.default_rng(0).random((512, 512)))
        except OSError as e:
            print("refused:", e)
    """
    p = run_python(code)
    assert p.returncode == 0, p.stderr
    assert "refused: cannot write" in p.stdout and "File too large" in p.stdout, p.stdout
    assert old.read_bytes() == b"old contents"
    assert os.listdir(tmp_path) == ["x.png"]
    # A FIFO destination is written directly (a reader gets the PNG), a symbolic link to a file keeps
    # being a link to the new file.
    image = np.linspace(0, 1, 12).reshape(3, 4)
    os.symlink(tmp_path / "target.png", tmp_path / "link.png")
    (tmp_path / "target.png").write_bytes(b"old")
    convmtx.write_image(tmp_path / "link.png", image)
    assert os.path.islink(tmp_path / "link.png")
    assert np.abs(convmtx.read_image(tmp_path / "target.png") - image).max() <= 0.5 / 255 + 1e-7
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    reader = subprocess.Popen(["cat", str(fifo)], stdout=subprocess.PIPE)
    convmtx.write_image(fifo, image)
    assert reader.communicate(timeout=60)[0] == (tmp_path / "target.png").read_bytes()


def test_write_image_killed_mid_write_leaves_no_temporary_file(tmp_path):
    (tmp_path / "big.pgm").write_bytes(b"old contents")
    p = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import numpy as np, convmtx
        image = np.random.default_rng(0).random((12000, 12000), dtype=np.float32)
        for _ in range(100):
            convmtx.write_image({str(tmp_path / 'big.pgm')!r}, image, bits=16)
    """)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 120
    temp = []
    while time.time() < deadline and p.poll() is None and not temp:
        temp = [n for n in os.listdir(tmp_path) if n.startswith(".") and os.path.getsize(tmp_path / n) > 0]
        time.sleep(0.005)
    assert temp, "the write finished (or never started) before the signal"
    p.send_signal(signal.SIGTERM)
    assert p.wait(60) == -signal.SIGTERM
    assert os.listdir(tmp_path) == ["big.pgm"]
    assert (tmp_path / "big.pgm").read_bytes() in (b"old contents",) or \
        (tmp_path / "big.pgm").read_bytes().startswith(b"P5\n12000 12000\n65535\n")


def test_read_image_refuses_broken_files_with_value_error(tmp_path):
    import convmtx
    (tmp_path / "h.pgm").write_bytes(b"P5\n4294967296 4294967296\n255\n\x00")
    with pytest.raises(ValueError, match=r"'.*h\.pgm': PGM header: image size 4294967296 x 4294967296"):
        convmtx.read_image(tmp_path / "h.pgm")
    (tmp_path / "t.png").write_bytes(png_bytes()[:40])
    with pytest.raises(ValueError, match=r"t\.png"):
        convmtx.read_image(tmp_path / "t.png")
    with pytest.raises(OSError, match=r"'.*missing\.png'.*No such file"):
        convmtx.read_image(tmp_path / "missing.png")
    os.symlink("/dev/zero", tmp_path / "z.png")
    with pytest.raises(OSError, match="character device"):
        convmtx.read_image(tmp_path / "z.png")


def test_to_spreadsheet_goes_through_the_atomic_writer(tmp_path):
    require_module("openpyxl", "to_spreadsheet needs openpyxl (python3-openpyxl)")
    import convmtx
    os.mkfifo(tmp_path / "s.xlsx")  # written directly, not replaced by a regular file
    reader = subprocess.Popen(["cat", str(tmp_path / "s.xlsx")], stdout=subprocess.PIPE)
    convmtx.to_spreadsheet(tmp_path / "s.xlsx", (1, 3, 3), np.ones((1, 1, 2, 2)))
    assert reader.communicate(timeout=60)[0][:2] == b"PK"
    assert os.path.exists(tmp_path / "s.xlsx") and not os.path.isfile(tmp_path / "s.xlsx")
    with pytest.raises(OSError, match=r"no-such-dir"):
        convmtx.to_spreadsheet(tmp_path / "no-such-dir" / "s.xlsx", (1, 3, 3), np.ones((1, 1, 2, 2)))
    assert os.listdir(tmp_path) == ["s.xlsx"]


@pytest.mark.parametrize("call", [
    "convmtx.conv_matrix((1, 2**62), np.ones((1, 1, 1)))",
    "convmtx.conv_matrix((2**40, 2**40), np.ones((1, 1, 1)))",
    "convmtx.conv_transpose_matrix((1, 3), np.ones((1, 1, 3)), stride=2**62)",
    "convmtx.conv_matrix((1, 8), np.ones((1, 1, 3)), padding=2**62)",
    "convmtx.conv_matrix((1, 8), np.ones((1, 1, 3)), dilation=2**62)",
    "convmtx.tap_map(convmtx.conv_spec((1, 2**31), (1, 1, 2**31)))",
    "convmtx.output_terms(convmtx.conv_spec((1, 8), (1, 1, 3)), 2**62)",
    "convmtx.shepp_logan(2**40)",
    "convmtx.gaussian_kernel(2**40, 1.0)",
    "convmtx.read_image('/dev/null')",
    "convmtx.write_image('/nonexistent-dir/x.png', np.ones((2, 2)))",
    "convmtx.check_kernel(lambda x: x, (1, 2**40), np.ones((1, 1, 3)))",
    "convmtx.tap_lists(convmtx.conv_spec((1, 2**31), (1, 1, 2**31)))",
    "convmtx.input_terms(convmtx.conv_spec((1, 8), (1, 1, 3)), -1)",
])
def test_python_refuses_hostile_arguments_with_its_own_message(call):
    """No raw C++ library message ("cannot create std::vector larger than max_size()", "std::bad_alloc",
    "vector::reserve") and no crash: ValueError, OSError or MemoryError naming the problem, quickly, under a
    2 GiB address-space limit."""
    p = run_python(f"""
        import numpy as np, convmtx
        try:
            {call}
            print("accepted")
        except (ValueError, OSError, MemoryError) as e:
            print(type(e).__name__, e)
    """, limit_bytes=2 << 30, timeout=120)
    assert p.returncode == 0, (call, p.stderr[-2000:])
    out = p.stdout.strip()
    assert out and out != "accepted", (call, out)
    for word in RAW_WORDS:
        assert word not in out, (call, out)


@needs_cli
def test_overlap_picture_size_is_capped_before_drawing(tmp_path):
    """Hostile F43: overlap -o had no picture-size limit (an 8001 x 8001 output at --cell 64 = 512064 pixels
    a side was attempted); now refused as spy's, before anything is computed, naming --cell."""
    t0 = time.monotonic()
    refused(["overlap", "--input", "1x4000x4000", "--kernel", "3x3", "--stride", "2", "--transposed", "--cell", "64",
             "-o", "ov.png"], tmp_path, "--cell 64", "8001 x 8001 output elements", "wider than 16000 pixels")
    assert time.monotonic() - t0 < 10
    refused(["overlap", "--input", "1x200x200", "--kernel", "3x3", "--stride", "2", "--transposed", "--cell", "64",
             "-o", "ov.svg"], tmp_path, "--cell 64", "401 x 401", "wider than 16000 pixels")
    # At the default cell (1 pixel for a large output) the picture is drawn; the text alone needs no cap.
    p = run(["overlap", "--input", "1x64x64", "--kernel", "3x3", "--stride", "2", "--transposed", "-o", "ok.png"], tmp_path)
    assert p.returncode == 0 and (tmp_path / "ok.png").exists(), p.stderr
