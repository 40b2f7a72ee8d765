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
    """Runs the CLI in a grandchild process; returns (exit status, its peak resident memory in bytes).
    A small launcher forks it: Linux carries the memory high-water mark of the process that calls exec
    into the new program's ru_maxrss, so a CLI started straight from this (large) test process would
    report at least this process's own size."""
    launcher = ("import os, sys\n"
                "pid = os.fork()\n"
                "if pid == 0:\n"
                "    fd = os.open(os.devnull, os.O_WRONLY); os.dup2(fd, 1); os.dup2(fd, 2)\n"
                "    os.execv(sys.argv[1], sys.argv[1:])\n"
                "_, status, usage = os.wait4(pid, 0)\n"
                "print(os.waitstatus_to_exitcode(status), usage.ru_maxrss * 1024)\n")
    p = subprocess.run([sys.executable, "-c", launcher, CLI, *map(str, args)], cwd=cwd, capture_output=True,
                       text=True, check=True)
    status, rss = p.stdout.split()
    return int(status), int(rss)


@needs_cli
@pytest.mark.parametrize("dtype, scalar_bytes", [("float64", 8), ("float32", 4)])
def test_a_cli_build_peaks_within_its_estimate(tmp_path, dtype, scalar_bytes):
    """CLI builds peaked at 2.9-3.7 times their own estimate (copies of the matrix on the way to the file).
    The estimate the CLI checks before allocating is the build (values and int64 indices of every entry,
    the row index) plus the CSR arrays of the file (16 bytes per entry, 8 per row); the peak memory the
    build adds to the process (over the same command on a tiny input) must stay within 1.2 times it."""
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
    # A FIFO destination is refused without being opened (F34), a symbolic link to a file keeps
    # being a link to the new file.
    image = np.linspace(0, 1, 12).reshape(3, 4)
    os.symlink(tmp_path / "target.png", tmp_path / "link.png")
    (tmp_path / "target.png").write_bytes(b"old")
    convmtx.write_image(tmp_path / "link.png", image)
    assert os.path.islink(tmp_path / "link.png")
    assert np.abs(convmtx.read_image(tmp_path / "target.png") - image).max() <= 0.5 / 255 + 1e-7
    fifo = tmp_path / "f.png"
    os.mkfifo(fifo)
    with pytest.raises(OSError, match="is a FIFO, not a regular file"):
        convmtx.write_image(fifo, image)


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
    os.mkfifo(tmp_path / "s.xlsx")  # refused without being opened (F34), left as it is
    with pytest.raises(OSError, match="is a FIFO, not a regular file"):
        convmtx.to_spreadsheet(tmp_path / "s.xlsx", (1, 3, 3), np.ones((1, 1, 2, 2)))
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


# ---------------------------------------------------------------- break_hostile.md / break_newuser.md (wt-cfix)


def gray_png(path, n=32):
    """An n x n 8-bit grey PNG (a smooth ramp)."""
    import struct
    import zlib

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    noisy = np.random.default_rng(n).integers(0, 40, (n, n)) + np.add.outer(np.arange(n), np.arange(n)) * 3
    raw = b"".join(b"\x00" + bytes(int(v) % 256 for v in row) for row in noisy)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", n, n, 8, 0, 0, 0, 0)) +
                     chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


@needs_cli
@pytest.mark.parametrize("args, name", [
    (["build", "--input", "1x4x4", "--kernel", "3x3", "-o", "{}"], "f.mtx"),
    (["spy", "--input", "1x4x4", "--kernel", "3x3", "-o", "{}"], "f.png"),
    (["spy", "--input", "1x4x4", "--kernel", "3x3", "-o", "{}"], "f.svg"),
    (["explore", "--input", "1x4x4", "--kernel", "3x3", "-o", "{}"], "f.html"),
    (["spectrum", "--input", "1x8x8", "--kernel", "3x3", "--plot", "{}"], "f.png"),
    (["overlap", "--input", "1x4x4", "--kernel", "4x4", "--stride", "2", "--transposed", "-o", "{}"], "f.png"),
    (["spreadsheet", "--input", "1x4x4", "--kernel", "3x3", "-o", "{}"], "f.xlsx"),
    (["solve", "--size", "16", "--lambda", "0.1", "--iters", "2", "-o", "{}"], "f.png"),
    (["solve", "--size", "16", "--lambda", "0.1", "--iters", "2", "--montage", "{}"], "f.png"),
])
@pytest.mark.parametrize("kind", ["fifo", "device", "socket"])
def test_outputs_that_are_not_regular_files_are_refused_without_blocking(tmp_path, args, name, kind):
    """F34: every writer blocked forever on an existing FIFO output; a FIFO, a device or a socket is refused."""
    import socket
    path = tmp_path / name
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.symlink("/dev/null", path)
    else:
        s = socket.socket(socket.AF_UNIX)
        s.bind(str(path))
        s.close()
    what = {"fifo": "a FIFO", "device": "a character device (through a symbolic link)", "socket": "a socket"}[kind]
    t0 = time.time()
    refused([a.replace("{}", name) for a in args], tmp_path, name, what, "not a regular file",
            "outputs are written only to regular files")
    assert time.time() - t0 < 20


def test_python_writers_refuse_a_fifo_without_blocking(tmp_path):
    """F34, library side: write_image and to_spreadsheet go through the atomic writer, which refuses a FIFO."""
    p = run_python(f"""
        import os, numpy as np, convmtx
        os.mkfifo({str(tmp_path / 'f.png')!r})
        try:
            convmtx.write_image({str(tmp_path / 'f.png')!r}, np.ones((4, 4)))
        except OSError as e:
            print("refused:", e)
    """, timeout=60)
    assert p.returncode == 0, p.stderr
    assert "refused:" in p.stdout and "is a FIFO, not a regular file" in p.stdout, p.stdout


@needs_cli
def test_solve_with_several_outputs_writes_all_or_none(tmp_path):
    """F37: a failed write of a later output left the earlier ones; now the command writes every file or none."""
    (tmp_path / "x.pgm").write_bytes(b"old x")
    # -o x.pgm (64x64: 4 KiB) fits the file-size limit, --montage does not: nothing may be left.
    p = run(["solve", "--size", "64", "--lambda", "0.1", "--iters", "2", "-o", "x.pgm", "--degraded", "d.pgm",
             "--montage", "m.png"], tmp_path, preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (16 << 10, 16 << 10))
             or signal.signal(signal.SIGXFSZ, signal.SIG_IGN))
    assert p.returncode == 2 and "cannot write 'm.png'" in p.stderr, (p.returncode, p.stderr)
    assert len(p.stderr.splitlines()) == 1
    assert sorted(os.listdir(tmp_path)) == ["x.pgm"], os.listdir(tmp_path)
    assert (tmp_path / "x.pgm").read_bytes() == b"old x"
    # Without the limit all three are written.
    p = run(["solve", "--size", "64", "--lambda", "0.1", "--iters", "2", "-o", "x.pgm", "--degraded", "d.pgm",
             "--montage", "m.png"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert sorted(os.listdir(tmp_path)) == ["d.pgm", "m.png", "x.pgm"]


@needs_cli
def test_spectrum_fft_work_and_memory_are_estimated_before_computing(tmp_path):
    """F6/F7: the fft path ran for minutes (128 channels) or until out of memory (1e10 frequencies)."""
    t0 = time.time()
    refused(["spectrum", "--input", "512x64x64", "--kernel", "3x3", "--padding", "1", "--padding-mode", "circular"],
            tmp_path, "the fft method on", "of work (estimate)", "more than the limit", "CONVMTX_MAX_SECONDS")
    refused(["spectrum", "--input", "1x100000x100000", "--kernel", "3x3", "--padding", "1", "--padding-mode", "circular"],
            tmp_path, "the fft method on", "needs", "more than the memory limit")
    assert time.time() - t0 < 20
    # A small circular configuration still runs.
    p = run(["spectrum", "--input", "4x8x8", "--kernel", "3x3", "--padding", "1", "--padding-mode", "circular"], tmp_path)
    assert p.returncode == 0 and "method: fft" in p.stdout, p.stderr


@needs_cli
def test_solve_work_is_estimated_before_solving(tmp_path):
    """F40: --size 16384 and a 64x64 kernel on a 64x64 image ran for minutes."""
    np.save(tmp_path / "big.npy", np.ones((64, 64)) / 4096)
    t0 = time.time()
    refused(["solve", "--size", "16384", "-o", "x.png"], tmp_path, "16384x16384 pixels", "of work (estimate)")
    refused(["solve", "--size", "64", "--kernel", "big.npy", "-o", "x.png"], tmp_path, "64x64 PSF", "of work (estimate)")
    refused(["solve", "--size", "4096", "--method", "lsqr", "-o", "x.png"], tmp_path, "4096x4096", "(estimate)")
    assert time.time() - t0 < 20


def huge_weights(path, value, shape=(1, 1, 3, 3)):
    np.save(path, np.full(shape, value))


@needs_cli
def test_spectrum_with_huge_finite_weights_scales_or_refuses(tmp_path):
    """F5: 1e160 weights gave nan (Lanczos), 1e308 inf and a false nullity; now scaled (sigma(cW) = |c| sigma(W))."""
    import json
    huge_weights(tmp_path / "w1.npy", 1.0)
    huge_weights(tmp_path / "w160.npy", 1e160)
    huge_weights(tmp_path / "w308.npy", 1e308)
    cfg = ["spectrum", "--input", "1x8x8", "--kernel", "3x3", "--padding", "1", "--json"]
    for method in ("lanczos", "dense"):
        one = json.loads(run([*cfg, "--weights", "w1.npy", "--method", method], tmp_path).stdout)
        p = run([*cfg, "--weights", "w160.npy", "--method", method], tmp_path)
        assert p.returncode == 0, p.stderr
        big = json.loads(p.stdout)
        assert big["sigma_max"] == pytest.approx(1e160 * one["sigma_max"], rel=1e-9)
        assert big["nullity"] == one["nullity"] and big["rank_deficient"] == one["rank_deficient"]
        refused([*cfg, "--weights", "w308.npy", "--method", method], tmp_path, "--weights w308.npy",
                "larger than the largest double")
    refused(["spectrum", "--input", "1x8x8", "--kernel", "3x3", "--padding", "1", "--weights", "w308.npy", "--k", "3",
             "--plot", "p.png"], tmp_path, "--weights w308.npy")


@needs_cli
@pytest.mark.parametrize("method", ["auto", "lanczos", "dense"])
def test_spectrum_of_all_zero_weights_is_exactly_zero(tmp_path, method):
    """F20: a zero weight on a mid-size input: Lanczos 'converged on 0 values'; W = 0 has sigma = 0, cond = inf."""
    import json
    np.save(tmp_path / "z.npy", np.zeros((1, 1, 3, 3)))
    n = "16" if method == "dense" else "64"
    p = run(["spectrum", "--input", f"1x{n}x{n}", "--kernel", "3x3", "--padding", "1", "--weights", "z.npy", "--method",
             method, "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    j = json.loads(p.stdout)
    assert j["sigma_max"] == 0 and j["sigma_min"] == 0 and j["condition"] is None and j["rank_deficient"]
    assert j["nullity"] == int(n) ** 2


@needs_cli
def test_overlap_with_huge_weights_scales_or_refuses(tmp_path):
    """F14: 1e308 weights gave levels -nan and 'checkerboard-free'."""
    import json
    huge_weights(tmp_path / "w.npy", 1e308, (1, 1, 4, 4))
    huge_weights(tmp_path / "w100.npy", 1e100, (1, 1, 4, 4))
    args = ["overlap", "--input", "1x4x4", "--kernel", "4x4", "--stride", "2", "--transposed"]
    refused([*args, "--weights", "w.npy"], tmp_path, "--weights w.npy", "larger than the largest double")
    p = run([*args, "--weights", "w100.npy", "--json"], tmp_path)
    assert p.returncode == 0, p.stderr
    assert "nan" not in p.stdout
    j = json.loads(p.stdout)
    assert "nan" not in json.dumps(j)


@needs_cli
def test_explore_and_spreadsheet_refuse_outputs_beyond_a_double(tmp_path):
    """F12: explore wrote a page whose outputs were null (inf) for 1e308 weights."""
    huge_weights(tmp_path / "w.npy", 1e308)
    refused(["explore", "--input", "1x4x4", "--kernel", "3x3", "--weights", "w.npy", "-o", "e.html"], tmp_path,
            "--weights w.npy", "larger than the largest double")
    refused(["spreadsheet", "--input", "1x4x4", "--kernel", "3x3", "--weights", "w.npy", "-o", "s.xlsx"], tmp_path,
            "--weights w.npy", "beyond the largest double")


@needs_cli
def test_spreadsheet_sizes_are_checked_before_building(tmp_path):
    """F13: 1000 channels ran 15 s then out of memory instead of the formula-length refusal."""
    t0 = time.time()
    refused(["spreadsheet", "--input", "1000x8x8", "--kernel", "3x3", "-o", "s.xlsx"], tmp_path, "cells", "at most 1000000")
    refused(["spreadsheet", "--input", "300x8x8", "--kernel", "3x3", "--out-channels", "1", "-o", "s.xlsx"], tmp_path,
            "2700 terms", "8192")
    assert time.time() - t0 < 10


@needs_cli
@pytest.mark.parametrize("method", ["auto", "lsqr", "cgls", "landweber", "cholmod", "spqr"])
@pytest.mark.parametrize("psf", [np.zeros((3, 3)), np.array([[1.0, -1.0, 0.0]]), np.full((3, 3), 1e308),
                                 np.full((3, 3), 1e-200)], ids=["zeros", "zero-sum", "huge", "tiny"])
def test_a_psf_that_is_no_blur_is_refused_by_every_method(tmp_path, method, psf):
    """F38/F39/F8: a zero or zero-sum PSF ran with the least-squares methods; 1e308 blamed b."""
    np.save(tmp_path / "k.npy", psf)
    args = ["solve", "--size", "32", "--kernel", "k.npy", "-o", "x.png"]
    if method != "auto":
        args += ["--method", method]
    line = refused(args, tmp_path, "--kernel k.npy", "PSF values sum to")
    assert "b[" not in line


@needs_cli
def test_non_finite_psf_after_normalisation_names_the_psf(tmp_path):
    """F8: gaussian:9:1e-300 and a 1e308 PSF reached the solver ('internal error')."""
    gray_png(tmp_path / "b.png")
    np.save(tmp_path / "h.npy", np.full((3, 3), 1e308))
    p = run(["solve", "--observed", "b.png", "--psf", "gaussian:9:1e-300", "--lambda", "0.1", "--iters", "3",
             "-o", "s.png"], tmp_path)
    assert p.returncode == 0, p.stderr  # the limit of a tiny sigma: the identity
    refused(["solve", "--observed", "b.png", "--psf", "h.npy", "-o", "s.png"], tmp_path, "--psf h.npy",
            "PSF values sum to")
    refused(["solve", "--size", "32", "--blur", "box:1025", "-o", "s.png"], tmp_path, "--blur", "SIZE 1025",
            "[1, 1024]")


@needs_cli
def test_solve_noise_and_lambda_rules(tmp_path):
    """F9/F10: --noise 1e308 blamed an internal lambda; --lambda 1e-320 was 'not a finite number'."""
    gray_png(tmp_path / "b.png")
    refused(["solve", "--observed", "b.png", "--psf", "gaussian:5:1", "--noise", "1e308", "-o", "s.png"], tmp_path,
            "--noise", "1e308", "[0, 1e+06]")
    refused(["solve", "--size", "64", "--noise", "1e308"], tmp_path, "--noise", "1e308")
    p = run(["solve", "--observed", "b.png", "--psf", "gaussian:5:1", "--lambda", "1e-320", "--iters", "3", "-o",
             "s.png"], tmp_path)
    assert p.returncode == 0, p.stderr
    refused(["solve", "--observed", "b.png", "--psf", "gaussian:5:1", "--lambda", "1e-400", "-o", "s.png"], tmp_path,
            "--lambda", "rounds to 0")


@needs_cli
def test_solve_least_squares_methods_with_observed_follow_the_help(tmp_path):
    """F11: --method lsqr with --observed was refused for a tv regularizer the help says it does not use."""
    gray_png(tmp_path / "b.png")
    obs = ["solve", "--observed", "b.png", "--psf", "gaussian:5:1", "-o", "s.png"]
    for method in ("lsqr", "cgls", "pcgls"):
        p = run([*obs, "--method", method, "--iters", "20"], tmp_path)
        assert p.returncode == 0, (method, p.stderr)
        assert "tikhonov" in p.stdout and "bounds none" in p.stdout
    refused([*obs, "--method", "lsqr", "--noise", "0"], tmp_path, "--noise 0", "discrepancy principle", "--lambda")
    refused([*obs, "--method", "lsqr", "--rule", "gcv"], tmp_path, "--rule gcv", "without --observed")
    refused([*obs, "--method", "lsqr", "--bounds", "0:1"], tmp_path, "--bounds 0:1", "needs --method primal-dual")
    refused([*obs, "--method", "fft", "--boundary", "periodic", "--bounds", "0:1"], tmp_path, "--bounds 0:1")
    refused([*obs, "--method", "lsqr", "--regularizer", "tv"], tmp_path, "--regularizer tv", "primal-dual")
    # The simulated least-squares run: GCV when --noise 0, as the help says.
    p = run(["solve", "--size", "32", "--method", "lsqr", "--noise", "0", "--iters", "20", "-o", "s.png"], tmp_path)
    assert p.returncode == 0 and "gcv" in p.stdout.lower(), p.stdout + p.stderr


@needs_cli
def test_solve_downscaled_below_the_ssim_window_names_downscale(tmp_path):
    """F39: a 2x2 image passed the size check, then failed inside SSIM."""
    gray_png(tmp_path / "b.png")
    refused(["solve", "--image", "b.png", "--downscale", "16"], tmp_path, "--downscale 16", "2x2", "11x11")


@needs_cli
def test_a_psf_larger_than_the_image_with_zeros_boundary(tmp_path):
    """F45: the zeros boundary's lambda search said 'periodic boundary: the PSF must not be larger'."""
    gray_png(tmp_path / "b.png", 16)
    np.save(tmp_path / "big.npy", np.ones((33, 33)) / 33 ** 2)
    p = run(["solve", "--observed", "b.png", "--psf", "big.npy", "--method", "cgls", "--iters", "10", "-o", "s.png"],
            tmp_path)
    assert p.returncode == 0 and "periodic" not in p.stderr, p.stderr
    p = run_python(f"""
        import numpy as np, convmtx
        x, info = convmtx.deconvolve(np.random.default_rng(0).random((16, 16)), np.ones((33, 33)) / 33**2, iter_lim=10)
        print("ok", x.shape)
    """)
    assert p.returncode == 0 and "ok (16, 16)" in p.stdout, p.stderr


@needs_cli
@pytest.mark.parametrize("args, flag", [
    (["build", "--input", "1x4x4", "--kernel", "3x3", "--transposed", "--transposed", "-o", "t.mtx"], "--transposed"),
    (["inspect", "--input", "1x4x4", "--kernel", "3x3", "--json", "--json"], "--json"),
    (["spy", "--input", "1x4x4", "--kernel", "3x3", "--density", "--density", "-o", "s.png"], "--density"),
])
def test_switches_given_twice_are_refused_like_options(tmp_path, args, flag):
    """F1: boolean flags given twice were accepted."""
    refused(args, tmp_path, f"{flag} is given more than once")


@needs_cli
def test_duplicate_short_option_names_both_names(tmp_path):
    """F2: '-o, is given more than once'."""
    refused(["spy", "--input", "1x4x4", "--kernel", "3x3", "-o", "x.png", "-o", "y.png"], tmp_path,
            "-o/--output is given more than once")


@needs_cli
def test_spy_messages_name_the_flag_given(tmp_path):
    """F3: --size 16384 blamed --cell; F44: --cell was ignored in density mode; F4: --region took spaces and '+'."""
    refused(["spy", "--input", "1x128x128", "--kernel", "3x3", "--size", "16384", "-o", "b.png"], tmp_path,
            "--size 16384", "wider than 16000 pixels")
    refused(["spy", "--input", "1x64x64", "--kernel", "3x3", "--padding", "1", "--region", "0:4096,0:1", "--size", "100",
             "--cell", "1", "-o", "c.svg"], tmp_path, "--cell 1", "density")
    refused(["spy", "--input", "1x4x4", "--kernel", "3x3", "--density", "--cell", "2", "-o", "c.svg"], tmp_path,
            "--cell 2", "--density")
    for region in ("0:4 ,0:4", "+1:3,0:4", " 0:4,0:4", "0:4,0:4 ", "0x1:4,0:4", "1e0:4,0:4"):
        refused(["spy", "--input", "1x4x4", "--kernel", "3x3", "--region", region, "-o", "r.png"], tmp_path,
                "--region", "decimal digits only")


# ---- the second hostile report (notes/break_hostile.md), Python layer -------------------------------------

def _python_results(code):
    """Runs code in a child interpreter (a crash there fails the test instead of killing pytest); the
    child prints one line per case; returns {case: line}."""
    p = run_python(code, timeout=300)
    assert p.returncode == 0, p.stderr[-3000:]
    out = {}
    for line in p.stdout.splitlines():
        case, _, rest = line.partition(": ")
        out[case] = rest
    return out


def test_zero_column_blocks_give_empty_products_not_a_signal():
    """F28: matmat / rmatmat / @ with a (n, 0) block killed the interpreter with SIGFPE."""
    require_module("torch", "the operator_from_module and ConvMatrixFunction cases need PyTorch")
    out = _python_results("""
        import numpy as np, torch, convmtx, convmtx.torch, scipy.sparse as sp
        A = convmtx.conv_operator((1, 8, 8), np.ones((1, 1, 3, 3)))
        T = convmtx.conv_transpose_operator((1, 4, 4), np.ones((1, 1, 3, 3)), stride=2)
        M = convmtx.operator_from_module(torch.nn.Conv2d(1, 1, 3), (1, 8, 8))
        W = A.tosparse()
        cases = {
            "matmat": lambda: A.matmat(np.ones((64, 0))),
            "rmatmat": lambda: A.rmatmat(np.ones((36, 0))),
            "matmul": lambda: A @ np.ones((64, 0)),
            "adjoint": lambda: A.H @ np.ones((36, 0)),
            "transposed": lambda: T.matmat(np.ones((16, 0))),
            "explicit": lambda: convmtx.conv_operator((1, 8, 8), np.ones((1, 1, 3, 3)), explicit=True).matmat(np.ones((64, 0))),
            "module": lambda: M.matmat(np.ones((64, 0), np.float32)),
            "spmv": lambda: convmtx.spmv(W, np.ones((64, 0))),
            "spmv_t": lambda: convmtx.spmv(W, np.ones((36, 0)), transpose=True),
            "function": lambda: convmtx.torch.ConvMatrixFunction.apply(torch.ones(0, 64, dtype=torch.float64), W),
        }
        for name, f in cases.items():
            print(f"{name}: {tuple(f().shape)}")
    """)
    assert out == {"matmat": "(36, 0)", "rmatmat": "(64, 0)", "matmul": "(36, 0)", "adjoint": "(64, 0)",
                   "transposed": "(81, 0)", "explicit": "(36, 0)", "module": "(36, 0)", "spmv": "(36, 0)",
                   "spmv_t": "(64, 0)", "function": "(0, 36)"}


MALFORMED = {
    # name: (indices, indptr) of a CSR matrix of shape (3, 64) with data ones(3), and the words of the rule
    "index_out_of_range": (([0, 1, 10**9], [0, 1, 2, 3]), r"indices\[2\] = 1000000000 .*outside \[0, 64\)"),
    "negative_index": (([0, -1, 2], [0, 1, 2, 3]), r"indices\[1\] = -1 .*outside \[0, 64\)"),
    "decreasing_indptr": (([0, 1, 2], [0, 3, 1, 3]), r"indptr decreases at row 1"),
    "short_indptr": (([0, 1, 2], [0, 1, 3]), r"indptr has 3 entries; .* needs 4"),
    "indptr_start": (([0, 1, 2], [1, 1, 2, 3]), r"indptr\[0\] = 1; indptr must start at 0"),
    "indptr_end": (([0, 1, 2], [0, 1, 2, 5]), r"indptr\[-1\] = 5 .* at most len\(indices\)"),
}

ENTRY_POINTS = {
    "ConvMatrixFunction": "convmtx.torch.ConvMatrixFunction.apply(torch.ones(64, dtype=torch.float64), M)",
    "torch.apply": "convmtx.torch.apply(M, torch.ones(64, dtype=torch.float64))",
    "dot_test": "convmtx.dot_test(M)",
    "to_torch_sparse": "convmtx.to_torch_sparse(M)",
    "check_kernel": "convmtx.check_kernel(M, (1, 8, 8), np.ones((1, 1, 3, 3)))",
    "to_sparse": "convmtx.to_sparse(M)",
    "to_sparse_pattern": "convmtx.to_sparse(lambda x: x[:3], (64,), (3,), pattern=M)",
    "svdvals": "convmtx.svdvals(M, k=1)",
    "opnorm": "convmtx.opnorm(M)",
    "cond": "convmtx.cond(M)",
    "lsqr": "convmtx.lsqr(M, np.ones(3))",
    "cgls": "convmtx.cgls(M, np.ones(3))",
    "landweber": "convmtx.landweber(M, np.ones(3), iter_lim=3)",
    "choose_lambda": "convmtx.choose_lambda(M, np.ones(3))",
    "solve_spqr": "convmtx.solve_spqr(M, np.ones(3))",
    "spmv": "convmtx.spmv(M, np.ones(64))",
    "spy": "convmtx.plot.spy(M, color_by='value')",
}


def test_malformed_scipy_matrices_are_refused_by_every_entry_point():
    """F41, F24: ConvMatrixFunction and dot_test crashed (SIGSEGV) or read out of bounds on a CSR matrix
    whose indices or indptr are broken, to_torch_sparse let torch raise RuntimeError. Every entry point
    goes through one validation: ValueError naming the array and the rule (run in a child: a crash fails
    the test)."""
    require_module("torch", "ConvMatrixFunction and to_torch_sparse need PyTorch")
    cases = {name: arrays for name, (arrays, _) in MALFORMED.items()}
    out = _python_results(f"""
        import numpy as np, scipy.sparse as sp, torch, convmtx, convmtx.torch
        import matplotlib
        matplotlib.use("Agg")
        for mname, (indices, indptr) in {cases!r}.items():
            for ename, call in {ENTRY_POINTS!r}.items():
                M = sp.csr_matrix((3, 64))
                M.data, M.indices, M.indptr = np.ones(3), np.array(indices, np.int64), np.array(indptr, np.int64)
                try:
                    eval(call)
                    print(f"{{mname}}/{{ename}}: accepted")
                except Exception as e:
                    print(f"{{mname}}/{{ename}}: {{type(e).__name__}} {{e}}".replace(chr(10), " "))
    """)
    import re
    for mname, (_, rule) in MALFORMED.items():
        for ename in ENTRY_POINTS:
            line = out.get(f"{mname}/{ename}")
            assert line is not None and line.startswith("ValueError"), (mname, ename, line)
            assert re.search(rule, line), (mname, ename, line)


def test_spmv_out_aliasing_any_input_is_refused():
    """F29: out=A.data silently gave a wrong product and corrupted A; every array spmv reads counts."""
    import scipy.sparse as sp
    import convmtx

    def matrix():
        A = sp.csr_matrix((np.array([1., 1.]), np.array([0, 1]), np.array([0, 0, 2])), shape=(2, 2))
        A.indices, A.indptr = A.indices.astype(np.int64), A.indptr.astype(np.int64)
        return A

    A = matrix()
    with pytest.raises(ValueError, match="out overlaps A.data"):
        convmtx.spmv(A, np.ones(2), out=A.data)
    np.testing.assert_array_equal(A.toarray(), [[0, 0], [1, 1]])  # A untouched
    with pytest.raises(ValueError, match="out overlaps A.indices"):
        convmtx.spmv(A, np.ones(2), out=A.indices.view(np.float64))
    with pytest.raises(ValueError, match="out overlaps A.indptr"):
        convmtx.spmv(A, np.ones(2), out=A.indptr[:2].view(np.float64))
    x = np.ones(4)
    with pytest.raises(ValueError, match="out overlaps x"):
        convmtx.spmv(A, x[:2], out=x[2:4][::-1][::-1] if False else x[:2])
    np.testing.assert_array_equal(convmtx.spmv(A, np.ones(2), out=np.empty(2)), [0, 2])


@pytest.mark.parametrize("call, name", [
    ("convmtx.spmv(A, np.ones(3), transpose='no')", "transpose"),
    ("convmtx.spmv(A, np.ones(3), transpose=1)", "transpose"),
    ("convmtx.spmv(A, np.ones(3), check='yes')", "check"),
    ("convmtx.conv_matrix((1, 4, 4), np.ones((1, 1, 3, 3)), adjoint='no')", "adjoint"),
    ("convmtx.conv_transpose_matrix((1, 4, 4), np.ones((1, 1, 3, 3)), adjoint=0)", "adjoint"),
    ("convmtx.conv_matrix((1, 4, 4), np.ones((1, 1, 3, 3)), drop_zeros='False')", "drop_zeros"),
    ("convmtx.conv_operator((1, 4, 4), np.ones((1, 1, 3, 3)), explicit='no')", "explicit"),
    ("convmtx.svdvals((1, 4, 4), np.ones((1, 1, 3, 3)), transposed='no')", "transposed"),
    ("convmtx.opnorm((1, 4, 4), np.ones((1, 1, 3, 3)), certify='no')", "certify"),
    ("convmtx.cond((1, 4, 4), np.ones((1, 1, 3, 3)), full_output='no')", "full_output"),
    ("convmtx.spectrum((1, 4, 4), np.ones((1, 1, 3, 3)), frequency_map=1)", "frequency_map"),
    ("convmtx.check_kernel(lambda x: x, (1, 4, 4), np.ones((1, 1, 3, 3)), transposed='no')", "transposed"),
    ("convmtx.to_sparse(lambda x: x, (4,), (4,), batched='no')", "batched"),
    ("convmtx.to_sparse(lambda x: x, (4,), (4,), return_stats='no')", "return_stats"),
    ("convmtx.landweber(A, np.ones(3), accelerate='no')", "accelerate"),
    ("convmtx.blur(np.ones((4, 4)), np.ones((3, 3)) / 9, adjoint='no')", "adjoint"),
    ("convmtx.to_spreadsheet('s.xlsx', (1, 4, 4), np.ones((1, 1, 3, 3)), transposed='no')", "transposed"),
    ("convmtx.from_keras_config({'filters': 1, 'kernel_size': [3, 3]}, np.ones((3, 3, 1, 1)), (8, 8, 1), "
     "transposed='yes')", "transposed"),
])
def test_bool_parameters_are_strictly_typed(call, name):
    """F30: spmv(transpose='no') transposed (bool('no') is True); every bool parameter takes True/False only."""
    import scipy.sparse as sp
    import convmtx  # noqa: F401 - used by eval

    A = sp.csr_matrix(np.array([[1., 2, 3], [0, 0, 0], [0, 0, 0]]))  # noqa: F841 - used by eval
    with pytest.raises(ValueError, match=rf"{name}=.* must be True or False"):
        eval(call)


def test_spmv_transpose_false_and_the_empty_block():
    import scipy.sparse as sp
    import convmtx

    A = sp.csr_matrix(np.array([[1., 2, 3], [0, 0, 0], [0, 0, 0]]))
    np.testing.assert_array_equal(convmtx.spmv(A, np.ones(3), transpose=False), [6, 0, 0])
    np.testing.assert_array_equal(convmtx.spmv(A, np.ones(3), transpose=np.bool_(True)), [1, 2, 3])
    assert convmtx.spmv(A, np.ones((3, 0))).shape == (3, 0)  # was "out has stride 0 bytes"


def _complex_op(n=64):
    import scipy.sparse.linalg as sla
    return sla.LinearOperator((n, n), matvec=lambda x: x * 1j, rmatvec=lambda y: -1j * y, dtype=complex)


@pytest.mark.parametrize("call", [
    "convmtx.svdvals(I, k=2)", "convmtx.opnorm(I)", "convmtx.cond(I)", "convmtx.lsqr(I, np.ones(64))",
    "convmtx.cgls(I, np.ones(64))", "convmtx.svdvals(C)", "convmtx.lsqr(C, np.ones(2))",
    "convmtx.lsqr(C.toarray(), np.ones(2))", "convmtx.solve_spqr(C, np.ones(2))", "convmtx.to_sparse(I)",
    "convmtx.check_kernel(C, (1, 2), np.ones((1, 1, 1)))",
    "convmtx.lsqr((lambda x: x * 1j, lambda y: y, 64), np.ones(64))",
    "convmtx.lsqr(convmtx.conv_operator((1, 8), np.ones((1, 1, 1))), np.ones(8) + 1j)",
])
def test_complex_operators_and_matrices_are_refused(call):
    """F32: svdvals/opnorm of a complex LinearOperator dropped the imaginary part (returned 0 for the
    identity times 1j); the C++ side is real, so complex input is refused, never silently made real."""
    import scipy.sparse as sp
    import convmtx  # noqa: F401 - used by eval

    I = _complex_op()  # noqa: F841,E741 - used by eval
    C = sp.csr_matrix(np.array([[1 + 1j, 0], [0, 1]]))  # noqa: F841 - used by eval
    with pytest.raises(ValueError, match=r"complex|imaginary"):
        eval(call)


def test_mxnet_target_shape_zeros_are_refused():
    """F25: target_shape=(0, 0) was MXNet's 'unset' and silently gave the default output."""
    import convmtx

    for target in ((0, 0), (0, 9), (9, 0)):
        with pytest.raises(ValueError, match=r"target_shape=\(.*\) must hold positive sizes.*pass target_shape=None"):
            convmtx.conv_transpose_matrix((1, 4, 4), np.ones((1, 1, 3, 3)), stride=2, convention="mxnet",
                                          target_shape=target)
    assert convmtx.conv_transpose_matrix((1, 4, 4), np.ones((1, 1, 3, 3)), stride=2, convention="mxnet",
                                         target_shape=(8, 8)).shape == (64, 16)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
def test_from_module_refuses_non_finite_weights_like_operator_from_module(value):
    """F22: from_module built W full of NaN while operator_from_module refused the same module."""
    torch = require_module("torch", "from_module needs PyTorch")
    import convmtx

    for module in (torch.nn.Conv2d(1, 1, 3), torch.nn.ConvTranspose2d(1, 1, 3)):
        module.weight.data[0, 0, 1, 2] = value
        for f in (convmtx.from_module, convmtx.operator_from_module):
            with pytest.raises(ValueError, match=r"weight holds .* at index \(0, 0, 1, 2\); weights must be finite"):
                f(module, (1, 8, 8))


@pytest.mark.parametrize("shape, words", [
    ((1, 8.5, 8), r"input_shape=\(1, 8.5, 8\) must hold ints; 8.5 is a float"),
    ((1, True, 8), r"must hold ints; True is a bool"),
    ("1x8x8", r"input_shape='1x8x8' must be a tuple of ints"),
    (None, r"input_shape=None must be a tuple of ints"),
    ((1, np.float64(8), 8), r"must hold ints"),
])
def test_from_module_input_shape_is_strictly_integer(shape, words):
    """F23: (1, 8.5, 8) was truncated to 8, True read as 1, a string or None gave Python's own words."""
    torch = require_module("torch", "from_module needs PyTorch")
    import convmtx

    for f in (convmtx.from_module, convmtx.operator_from_module):
        with pytest.raises(ValueError, match=words):
            f(torch.nn.Conv2d(1, 1, 3), shape)
    assert convmtx.from_module(torch.nn.Conv2d(1, 1, 3), (1, np.int64(8), 8)).shape == (36, 64)


def test_from_module_refuses_a_bfloat16_module_naming_the_dtype():
    torch = require_module("torch", "from_module needs PyTorch")
    import convmtx

    with pytest.raises(ValueError, match=r"dtype torch.bfloat16.*module.float\(\) or module.double\(\)"):
        convmtx.from_module(torch.nn.Conv2d(1, 1, 3).to(torch.bfloat16), (1, 8, 8))


KERAS_BASE = {"filters": 1, "kernel_size": [3, 3]}


@pytest.mark.parametrize("config, words", [
    ({}, r"the Keras config has no 'filters'"),
    ([], r"layer_config must be a dict.*got list"),
    (None, r"layer_config must be a dict.*got NoneType"),
    ({"config": dict(KERAS_BASE, bogus=1)}, r"unknown key\(s\) 'bogus'"),
    ({"class_name": "Conv2D", "config": KERAS_BASE, "extra": 1}, r"unknown key\(s\) 'extra'"),
    ({"class_name": "Dense", "config": KERAS_BASE}, r"class_name='Dense' must name a Keras convolution layer"),
    ({"config": [1]}, r"layer_config\['config'\] must be a dict"),
    (dict(KERAS_BASE, bogus=1), r"unknown key\(s\) 'bogus'"),
    (dict(KERAS_BASE, filters=1.5), r"filters=1.5 in the config must be an int >= 1"),
    (dict(KERAS_BASE, filters=True), r"filters=True in the config must be an int"),
    (dict(KERAS_BASE, kernel_size=[3.5, 3]), r"kernel_size=\[3.5, 3\] in the config must be an int or a list"),
    (dict(KERAS_BASE, strides=[True, 1]), r"strides=\[True, 1\] in the config must be an int or a list"),
    (dict(KERAS_BASE, strides="2"), r"strides='2' in the config must be an int or a list"),
    (dict(KERAS_BASE, strides=0), r"strides=0 must hold ints >= 1"),
    (dict(KERAS_BASE, dilation_rate=[1.0, 1]), r"dilation_rate=\[1.0, 1\] in the config must be an int"),
    (dict(KERAS_BASE, groups=0), r"groups=0 in the config must be an int >= 1"),
    (dict(KERAS_BASE, padding=1), r"padding=1 in the config must be a string"),
    (dict(KERAS_BASE, use_bias="no"), r"use_bias='no' in the config must be True or False"),
    (dict(KERAS_BASE, activation="relu"), r"activation='relu': the layer is not linear"),
])
def test_from_keras_config_validates_the_config_strictly(config, words):
    """F26: {}, [], unknown keys, float filters/kernel sizes, bool or string strides, groups 0 all built a
    matrix; the config is now checked like every other argument."""
    import convmtx

    with pytest.raises(ValueError, match=words):
        convmtx.from_keras_config(config, np.ones((3, 3, 1, 1)), (8, 8, 1))


def test_from_keras_config_arguments_and_kernel_are_checked():
    import convmtx

    k = np.ones((3, 3, 1, 1))
    with pytest.raises(ValueError, match=r"format='foo' must be 'csr' or 'csc'"):
        convmtx.from_keras_config(KERAS_BASE, k, (8, 8, 1), format="foo")
    with pytest.raises(ValueError, match=r"transposed='yes' must be True or False"):
        convmtx.from_keras_config(KERAS_BASE, k, (8, 8, 1), transposed="yes")
    with pytest.raises(ValueError, match=r"transposed=True contradicts class_name='Conv2D'"):
        convmtx.from_keras_config({"class_name": "Conv2D", "config": KERAS_BASE}, k, (8, 8, 1), transposed=True)
    with pytest.raises(ValueError, match=r"kernel\[0,0,0,0\] = nan: kernel must be finite"):
        convmtx.from_keras_config(KERAS_BASE, np.full((3, 3, 1, 1), np.nan), (8, 8, 1))
    with pytest.raises(ValueError, match=r"input_shape=\(8, 8.0, 1\) must hold ints"):
        convmtx.from_keras_config(KERAS_BASE, k, (8, 8.0, 1))
    # the serialized form still works, with or without class_name
    W = convmtx.from_keras_config(KERAS_BASE, k, (8, 8, 1))
    assert W.shape == (36, 64)
    assert (convmtx.from_keras_config({"config": KERAS_BASE}, k, (8, 8, 1)) != W).nnz == 0
    assert (convmtx.from_keras_config({"class_name": "Conv2D", "config": KERAS_BASE, "module": "keras.layers",
                                       "registered_name": None}, k, (8, 8, 1)) != W).nnz == 0


def _image16():
    return np.random.default_rng(0).random((16, 16))


@pytest.mark.parametrize("kwargs, words", [
    (dict(b=_image16() + 1j * _image16()), r"b has dtype complex128; an image holds real numbers"),
    (dict(psf=np.ones((3, 3)) / 9 + 1j), r"psf has dtype complex128"),
    (dict(psf=np.full((3, 3), np.nan)), r"psf\[0,0\] = nan"),
    (dict(psf=np.full((3, 3), 1e308)), r"psf's \|entries\| sum to inf.*normalise the PSF"),
    (dict(psf=np.full((3, 3), 1e300)), r"psf's \|entries\| sum to 9e\+300.*\[1e-150, 1e150\]"),
    (dict(lam=True), r"lam=True must be a finite number >= 0 or 'auto'; got a bool"),
    (dict(lam=[1, 2]), r"lam=\[1, 2\] must be a finite number"),
    (dict(lam=1 + 0j), r"lam=\(1\+0j\) must be a finite number"),
    (dict(iter_lim=True), r"iter_lim=True must be an integer in \[1, 2\*\*62\]"),
    (dict(iter_lim=10**30), r"iter_lim=1000000000000000000000000000000 must be an integer in \[1, 2\*\*62\]"),
    (dict(iter_lim=2.0), r"iter_lim=2.0 must be an integer"),
    (dict(noise=True), r"noise=True must be a finite standard deviation"),
    (dict(bounds=(np.nan, 1)), r"bounds\[0\]=nan must be a number \(not NaN\)"),
    (dict(bounds=(0, np.nan)), r"bounds\[1\]=nan"),
])
def test_deconvolve_arguments_are_strictly_typed(kwargs, words):
    """F18: a complex b or PSF lost its imaginary part, lam=True / iter_lim=True were 1, iter_lim=10**30 gave
    pybind's 'incompatible function arguments', bounds=(nan, 1) 'needs lower <= upper'."""
    import convmtx

    args = dict(b=_image16(), psf=np.ones((3, 3)) / 9)
    args.update(kwargs)
    b, psf = args.pop("b"), args.pop("psf")
    with pytest.raises(ValueError, match=words):
        convmtx.deconvolve(b, psf, **args)


@pytest.mark.parametrize("scale, kwargs", [
    (1e200, {}), (1e300, dict(lam=0.1, regularizer="tv")), (1.0, dict(lam=1e200, method="cgls")),
    (1e308, dict(lam=0.1, regularizer="tv")),
])
def test_deconvolve_raises_instead_of_returning_zero_when_the_operator_overflows(scale, kwargs):
    """F17: x = 0 came back with only stop_reason 'the operator returned a non-finite value' telling."""
    import convmtx

    with pytest.raises(ValueError, match=r"deconvolve: .*non-finite.*overflowed float64"):
        convmtx.deconvolve(_image16() * scale, np.ones((3, 3)) / 9, **kwargs)
    x, info = convmtx.deconvolve(_image16(), np.ones((3, 3)) / 9)  # the ordinary case is unchanged
    assert np.all(np.isfinite(x)) and np.abs(x).max() > 0.1


def _conv8():
    import convmtx
    return convmtx.conv_operator((1, 8, 8), np.ones((1, 1, 3, 3)), padding=1)


@pytest.mark.parametrize("solver", ["lsqr", "cgls", "landweber"])
def test_solvers_raise_when_a_product_overflows(solver):
    """F31: a finite b of 1e300 overflowed A^T b; the solvers returned x = 0 with istop 9 and no exception."""
    import convmtx

    f = getattr(convmtx, solver)
    for A in (_conv8(), _conv8().tosparse()):
        with pytest.raises(ValueError, match=rf"{solver}: the operator returned a non-finite value at iteration 1: "
                                             r"a product with A or A\^T overflowed float64 \(the largest \|b\| is 1e\+300"):
            f(A, np.full(64, 1e300), iter_lim=5)


@pytest.mark.parametrize("solver", ["lsqr", "cgls", "landweber"])
def test_solvers_name_an_operator_that_returns_nan_or_the_wrong_size(solver):
    import scipy.sparse.linalg as sla
    import convmtx

    f = getattr(convmtx, solver)
    N = sla.LinearOperator((64, 64), matvec=lambda x: np.full(64, np.nan), rmatvec=lambda y: np.full(64, np.nan))
    with pytest.raises(ValueError, match=r"A\.r?matvec returned nan at index 0: the operator's output must be finite"):
        f(N, np.ones(64), iter_lim=5)
    pair = (lambda x: np.ones(64), lambda y: np.ones(5), 64)
    with pytest.raises(ValueError, match=r"A\[1\] \(rmatvec\) returned 5 values .* needs 64"):
        f(pair, np.ones(64), iter_lim=5)


def test_landweber_step_and_the_solver_arguments_are_checked():
    """F31: step=100 diverged to 8e148, step=-1 was accepted; iter_lim=0 and noise=-1 too."""
    import convmtx

    A = _conv8()
    with pytest.raises(ValueError, match=r"step=100 must be below 2 / \(\|\|A\|\|\^2 \+ damp\^2\) = 0.02"):
        convmtx.landweber(A, np.ones(64), step=100)
    with pytest.raises(ValueError, match=r"step=0.026 must be below"):  # ||A||^2 = 68.74, + damp^2 = 9
        convmtx.landweber(A, np.ones(64), step=0.026, damp=3.0)
    for step in (-1, 0, np.nan, True, "0.01"):
        with pytest.raises(ValueError, match=r"step=.* must be a finite number > 0"):
            convmtx.landweber(A, np.ones(64), step=step)
    r = convmtx.landweber(A, np.ones(64), step=0.02, iter_lim=50)  # below 2 / ||A||^2: converges
    assert np.all(np.isfinite(r.x)) and r.istop != 9
    for kwargs, words in ((dict(iter_lim=0), r"iter_lim=0 must be an integer in \[1, 2\*\*62\]"),
                          (dict(iter_lim=2.5), r"iter_lim=2.5 must be an integer"),
                          (dict(damp="auto", noise=-1), r"noise=-1 must be a finite number > 0"),
                          (dict(damp=True), r"damp=True must be a finite number >= 0 or 'auto'"),
                          (dict(atol=-1), r"atol=-1 must be a finite number >= 0")):
        with pytest.raises(ValueError, match=words):
            convmtx.lsqr(A, np.ones(64), **kwargs)
    with pytest.raises(ValueError, match=r"b has dtype complex128"):
        convmtx.lsqr(A, np.ones(64) + 1j)


def test_spectrum_of_huge_finite_weights_is_exact_or_refused():
    """F19: svdvals of 1e200 weights gave NaN through Lanczos, 1e308 weights inf, checkerboard NaN levels and
    the verdict 'checkerboard-free'. Singular values scale linearly: huge (or tiny) weights are rescaled; a
    value beyond float64's range is refused."""
    import convmtx

    ones = np.ones((1, 1, 3, 3))
    ref = convmtx.svdvals((1, 8, 8), ones, padding=1, k=3, method="lanczos")
    for scale in (1e200, 1e-200):
        got = convmtx.svdvals((1, 8, 8), ones * scale, padding=1, k=3, method="lanczos")
        np.testing.assert_allclose(got, ref * scale, rtol=1e-9)
        np.testing.assert_allclose(convmtx.opnorm((1, 64, 64), ones * scale, padding=1),
                                   convmtx.opnorm((1, 64, 64), ones, padding=1) * scale, rtol=1e-9)
    W = convmtx.conv_matrix((1, 8, 8), ones * 1e200, padding=1)
    np.testing.assert_allclose(convmtx.svdvals(W, k=3), ref * 1e200, rtol=1e-9)
    for call in (lambda: convmtx.svdvals((1, 8, 8), ones * 1e308, padding=1),
                 lambda: convmtx.cond((1, 8, 8), ones * 1e308, padding=1),
                 lambda: convmtx.opnorm((1, 8, 8), ones * 1e308, padding=1)):
        with pytest.raises(ValueError, match=r"came out inf: the weight \(the largest \|entry\| is 1e\+308\) is too large"):
            call()
    with pytest.raises(ValueError, match=r"the largest \|weight\| is 1e\+308.*larger than the largest double"):
        convmtx.checkerboard(np.full((1, 1, 4, 4), 1e308), 2)
    np.testing.assert_allclose(convmtx.checkerboard(np.full((1, 1, 4, 4), 1e200), 2)["levels"], 4e200)


def test_an_all_zero_weight_has_singular_values_zero_and_cond_inf():
    """F20: opnorm/cond of zero weights on a 64x64 input raised RuntimeError 'Lanczos converged on 0 of the 1
    values ...; raise max_restarts' (the dense path returned inf): sigma = 0 exactly, cond = inf."""
    import scipy.sparse.linalg as sla
    import convmtx

    zeros = np.zeros((1, 1, 3, 3))
    assert convmtx.opnorm((1, 64, 64), zeros, padding=1) == 0.0
    assert convmtx.opnorm((1, 64, 64), zeros, padding=1, method="lanczos") == 0.0
    assert convmtx.cond((1, 64, 64), zeros, padding=1) == np.inf
    c = convmtx.cond((1, 64, 64), zeros, padding=1, full_output=True)
    assert (c["sigma_max"], c["sigma_min"], c["nullity"], c["rank"]) == (0.0, 0.0, 4096, 0)
    np.testing.assert_array_equal(convmtx.svdvals((1, 64, 64), zeros, padding=1, k=3), 0)
    np.testing.assert_array_equal(convmtx.svdvals((1, 64, 64), zeros, padding=1, k=2, which="smallest"), 0)
    np.testing.assert_array_equal(convmtx.svdvals((1, 4, 4), zeros, padding=1), 0)  # dense
    Z = sla.LinearOperator((64, 64), matvec=lambda x: np.zeros(64), rmatvec=lambda y: np.zeros(64))
    assert convmtx.opnorm(Z) == 0.0


def test_spectrum_names_an_operator_that_returns_nan_or_the_wrong_shape():
    """F33: a NaN-returning LinearOperator gave LAPACK's 'dgesdd: argument 4 is invalid', a wrong-shape one
    numpy's 'cannot reshape array of size 5 into shape (64,)'."""
    import scipy.sparse.linalg as sla
    import convmtx

    N = sla.LinearOperator((64, 64), matvec=lambda x: np.full(64, np.nan), rmatvec=lambda y: np.full(64, np.nan))
    S = sla.LinearOperator((64, 64), matvec=lambda x: np.ones(5), rmatvec=lambda y: np.ones(5), dtype=float)
    for f in (convmtx.opnorm, convmtx.cond, lambda A: convmtx.svdvals(A, k=2)):
        with pytest.raises(ValueError, match=r"A\.r?matvec returned nan at index 0: the operator's output must be"):
            f(N)
        with pytest.raises(ValueError, match=r"A\.r?matvec returned the wrong number of values .* needs 64"):
            f(S)


def test_reshaped_weight_norm_dim_and_empty_weight_and_huge_integers():
    """F21: dim=-5 was reported as dim=-1, an empty weight had norm 0.0, and 10**30 as k / stride /
    iter_lim gave pybind's 'incompatible function arguments'."""
    import convmtx

    w = np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"dim=-5 must be an axis of the weight, in \[-4, 3\]"):
        convmtx.reshaped_weight_norm(w, dim=-5)
    with pytest.raises(ValueError, match=r"dim=4 must be an axis"):
        convmtx.reshaped_weight_norm(w, dim=4)
    with pytest.raises(ValueError, match=r"dim=True must be an axis"):
        convmtx.reshaped_weight_norm(w, dim=True)
    with pytest.raises(ValueError, match=r"weight has shape \(0, 3\): it is empty"):
        convmtx.reshaped_weight_norm(np.ones((0, 3)))
    with pytest.raises(ValueError, match=r"weight\[0,0\] = nan"):
        convmtx.reshaped_weight_norm(np.full((2, 2), np.nan))
    assert convmtx.reshaped_weight_norm(w, dim=-4) == pytest.approx(3.0)
    with pytest.raises(ValueError, match=r"k=10+ must be an integer in \[1, 2\*\*62\]"):
        convmtx.svdvals((1, 8, 8), w, k=10**30)
    with pytest.raises(ValueError, match=r"stride=10+: 10+ is outside"):
        convmtx.checkerboard(w, 10**30)
    with pytest.raises(ValueError, match=r"iter_lim=10+ must be an integer"):
        convmtx.lsqr(_conv8(), np.ones(64), iter_lim=10**30)


def test_converters_and_writers_refuse_non_finite_data(tmp_path):
    """F27, F35: to_torch_sparse converted NaN, complex and int8 matrices; to_spreadsheet, write_image and the
    plot functions wrote NaN data and any extension without a word."""
    import scipy.sparse as sp
    import convmtx

    torch = require_module("torch", "to_torch_sparse needs PyTorch")  # noqa: F841
    with pytest.raises(ValueError, match=r"M\[0, 0\] = nan: M's entries must be finite"):
        convmtx.to_torch_sparse(sp.csr_matrix(np.array([[np.nan, 1.0]])))
    with pytest.raises(ValueError, match=r"M has dtype complex128: .* imaginary"):
        convmtx.to_torch_sparse(sp.csr_matrix(np.array([[1j, 1.0]])))
    with pytest.raises(ValueError, match=r"M has dtype int8; to_torch_sparse converts float32 or float64"):
        convmtx.to_torch_sparse(sp.csr_matrix(np.array([[1, 1]], np.int8)))
    w = np.ones((1, 1, 3, 3))
    with pytest.raises(ValueError, match=r"weight\[0,0,0,0\] = nan: weight must be finite"):
        convmtx.to_spreadsheet(tmp_path / "s.xlsx", (1, 4, 4), np.full((1, 1, 3, 3), np.nan))
    with pytest.raises(ValueError, match=r"x\[0,1,2\] = inf: x must be finite"):
        x = np.ones((1, 4, 4))
        x[0, 1, 2] = np.inf
        convmtx.to_spreadsheet(tmp_path / "s.xlsx", (1, 4, 4), w, x=x)
    with pytest.raises(ValueError, match=r"path=.*s.txt' must end in .xlsx"):
        convmtx.to_spreadsheet(tmp_path / "s.txt", (1, 4, 4), w)
    with pytest.raises(ValueError, match=r"image\[0,0\] = nan: image must be finite"):
        convmtx.write_image(tmp_path / "wi.png", np.full((4, 4), np.nan))
    with pytest.raises(ValueError, match=r"path=.*wi.txt' must end in .png or .pgm"):
        convmtx.write_image(tmp_path / "wi.txt", np.ones((4, 4)))
    with pytest.raises(ValueError, match=r"bits=12 must be 8 or 16"):
        convmtx.write_image(tmp_path / "wi.png", np.ones((4, 4)), bits=12)
    assert os.listdir(tmp_path) == []
    require_module("matplotlib", "the plot functions need matplotlib")
    import matplotlib
    matplotlib.use("Agg")
    with pytest.raises(ValueError, match=r"images\[0\]\[0,0\] = nan"):
        convmtx.plot.montage([np.full((4, 4), np.nan)])
    with pytest.raises(ValueError, match=r"vmin=1 must be below vmax=0"):
        convmtx.plot.montage([np.ones((4, 4))], vmin=1, vmax=0)
    with pytest.raises(ValueError, match=r"matrix.data \(CSR order\)\[0\] = nan"):
        convmtx.plot.spy(sp.csr_matrix(np.array([[np.nan, 1.0]])), color_by="value")
    with pytest.raises(ValueError, match=r"weight\[0,0,0,0\] = nan"):
        convmtx.plot.spy(convmtx.conv_spec((1, 4, 4), (1, 1, 3, 3)), weight=np.full((1, 1, 3, 3), np.nan))


@pytest.mark.parametrize("call, name", [
    ("convmtx.check_kernel(lambda x: x, (1, 8, 8), w, margin=B)", "margin"),
    ("convmtx.check_kernel(lambda x: x, (1, 8, 8), w, batch=B)", "batch"),
    ("convmtx.check_kernel(lambda x: x, (1, 8, 8), w, seed=B)", "seed"),
    ("convmtx.check_kernel(lambda x: x, (1, 8, 8), w, random_inputs=B)", "random_inputs"),
    ("convmtx.check_kernel(lambda x: x, (1, 8, 8), w, max_listed=B)", "max_listed"),
    ("convmtx.to_sparse(lambda x: x, (4,), (4,), margin=B)", "margin"),
    ("convmtx.to_sparse(lambda x: x, (4,), (4,), batch=B)", "batch"),
    ("convmtx.to_sparse(lambda x: x, (4,), (4,), seed=B)", "seed"),
    ("convmtx.to_sparse(lambda x: x, (B,), (4,))", "in_shape"),
    ("convmtx.validate.probe_bound(spec, margin=B)", "margin"),
    ("convmtx.dot_test(lambda x: x, lambda y: y, (4,), (4,), trials=B)", "trials"),
    ("convmtx.dot_test(lambda x: x, lambda y: y, (4,), (4,), trials=True)", "trials"),
    ("convmtx.shepp_logan(B)", "n"),
    ("convmtx.shepp_logan(8, B)", "supersample"),
    ("convmtx.shepp_logan(8.0)", "n"),
    ("convmtx.gaussian_kernel(B, 1.0)", "size"),
    ("convmtx.lsqr((lambda x: x, lambda y: y, B), np.ones(4))", r"A\[2\]"),
    ("convmtx.output_terms(spec, B)", "output_flat"),
    ("convmtx.input_terms(spec, B)", "input_flat"),
    ("convmtx.input_terms(spec, True)", "input_flat"),
    ("convmtx.gradient_matrix((B, 4))", "shape"),
])
def test_huge_or_mistyped_integers_name_their_parameter(call, name):
    """F21: 10**30 as an integer argument gave pybind11's 'incompatible function arguments' (or, for dot_test's
    trials, an endless loop); every integer parameter is checked in Python, naming it."""
    import convmtx  # noqa: F401 - used by eval

    B = 10**30  # noqa: F841 - used by eval
    w = np.ones((1, 1, 3, 3))  # noqa: F841
    spec = convmtx.conv_spec((1, 8, 8), (1, 1, 3, 3))  # noqa: F841
    with pytest.raises(ValueError, match=rf"^{name}"):
        eval(call)


def test_an_empty_batch_through_every_kernel_gives_an_empty_result():
    """F28's kind: conv / conv_transpose of a (0, C, H, W) batch with a direct kernel died with SIGFPE (the
    matrix method returned the empty result); run in a child so that a signal fails the test."""
    out = _python_results("""
        import numpy as np, convmtx
        w = np.ones((1, 1, 3, 3))
        x = np.ones((0, 1, 8, 8))
        for name, f in {"conv_matrix": lambda: convmtx.conv(x, w),
                        "conv_direct": lambda: convmtx.conv(x, w, method="direct"),
                        "conv_bias": lambda: convmtx.conv(x, w, bias=np.ones(1), method="direct"),
                        "convT_matrix": lambda: convmtx.conv_transpose(x, w),
                        "convT_scatter": lambda: convmtx.conv_transpose(x, w, method="scatter"),
                        "convT_gather": lambda: convmtx.conv_transpose(x, w, method="gather")}.items():
            print(f"{name}: {f().shape}")
        try:
            convmtx.conv(x, w, method="bogus")
        except ValueError as e:
            print(f"bogus: {e}")
    """)
    assert out["conv_matrix"] == out["conv_direct"] == out["conv_bias"] == "(0, 1, 6, 6)"
    assert out["convT_matrix"] == out["convT_scatter"] == out["convT_gather"] == "(0, 1, 10, 10)"
    assert "method='bogus'" in out["bogus"]


def test_infinite_bounds_and_weights_are_refused_by_name():
    """Faults of a break pass: a lower bound of +inf (or an upper bound of -inf) was dropped as if
    unbounded (landweber and deconvolve returned iterates outside it), and an infinite weight was
    reported as 'weight[4] = -nan' (the spectrum scaled the weights before checking them)."""
    out = _python_results("""
        import numpy as np, convmtx
        A = convmtx.conv_matrix((1, 8, 8), np.full((1, 1, 3, 3), 0.1), padding=1)
        b = A @ np.ones(64)
        for name, bounds in {"lo_inf": (float("inf"), None), "hi_minus_inf": (None, -float("inf"))}.items():
            try:
                convmtx.landweber(A, b, iter_lim=5, bounds=bounds)
                print(f"landweber_{name}: accepted")
            except ValueError as e:
                print(f"landweber_{name}: {e}")
        try:
            convmtx.deconvolve(np.full((16, 16), 0.5), np.ones((3, 3)) / 9, bounds=(float("inf"), None))
            print("deconvolve: accepted")
        except ValueError as e:
            print(f"deconvolve: {e}")
        w = np.full((2, 1, 3, 3), 0.5)
        w[0, 0, 1, 1] = -np.inf
        for f in ("svdvals", "opnorm", "cond"):
            try:
                getattr(convmtx, f)((1, 8, 8), w, padding=1)
                print(f"{f}: accepted")
            except ValueError as e:
                print(f"{f}: {e}")
    """)
    for key in ("landweber_lo_inf", "landweber_hi_minus_inf", "deconvolve"):
        assert "excludes every value" in out[key], out[key]
    assert "lower=inf" in out["landweber_lo_inf"] and "upper=-inf" in out["landweber_hi_minus_inf"]
    for f in ("svdvals", "opnorm", "cond"):
        assert out[f].startswith("weight[0,0,1,1] = -inf") and "nan" not in out[f], out[f]
