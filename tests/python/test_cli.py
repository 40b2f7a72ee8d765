"""The command line of the convmtx tool (CLI11): --version, help, option syntax, unknown options with a
suggestion, the exit status contract (2 and exactly one line on stderr for a usage error), strictly
typed --config JSON files, shapes taken from a --weights .npy file, and explain and explore showing the
same value for the same cell. Matrices are compared with PyTorch (W column by column from unit inputs);
the version with CMakeLists.txt's project(VERSION).

The CLI is found through CONVMTX_CLI (set by ctest) or <repo>/build/bin/convmtx.
"""

import json
import os
import re
import subprocess

import numpy as np
import pytest
import scipy.io

from conftest import find_tool, needs

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
CLI = os.environ.get("CONVMTX_CLI") or os.path.join(ROOT, "build", "bin", "convmtx")

pytestmark = needs(find_tool(CLI), f"convmtx CLI not found at {CLI} (set CONVMTX_CLI)")

INT64_MAX = "9223372036854775807"


def run(*args, cwd=None):
    return subprocess.run([CLI, *map(str, args)], capture_output=True, text=True, timeout=120, cwd=cwd)


def ok(*args, cwd=None):
    p = run(*args, cwd=cwd)
    assert p.returncode == 0, f"convmtx {' '.join(map(str, args))} exited {p.returncode}:\n{p.stdout}\n{p.stderr}"
    return p.stdout


def usage_error(*args, cwd=None):
    """Runs a command that must fail with status 2 and one line "convmtx <command>: ..." on stderr."""
    p = run(*args, cwd=cwd)
    assert p.returncode == 2, (args, p.returncode, p.stdout[-500:], p.stderr)
    lines = p.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("convmtx"), (args, p.stderr)
    for raw in ("stoll", "stoi", "stod", "vector::", "bad_alloc", "max_size()", "std::", "internal error"):
        assert raw not in lines[0], (args, lines[0])  # the C++ library's words say nothing about the input
    return lines[0]


def commands():
    top = ok("--help")
    return re.findall(r"^  (\S+)\s", top.split("\ncommands:\n")[1].split("\n\n")[0], flags=re.M)


def config_keys():
    ref = ok("help", "config")
    return re.findall(r"^  ([a-z_]+)\s+--", ref.split("\nkeys:\n")[1], flags=re.M)


def torch_matrix(torch, input_shape, weight, transposed=False, stride=1, padding=0, dilation=1, groups=1,
                 output_padding=0, pad_lo=None, pad_hi=None):
    """The operation's matrix (y = M x) computed by PyTorch from unit inputs; per-side padding via F.pad."""
    F = torch.nn.functional
    r = len(input_shape) - 1
    n = int(np.prod(input_shape))
    eye = torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(input_shape))
    w = torch.from_numpy(np.asarray(weight, dtype=np.float64))
    if transposed:
        op = [F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d][r - 1]
        out = op(eye, w, stride=stride, padding=padding, output_padding=output_padding, groups=groups,
                 dilation=dilation)
    else:
        if pad_lo is not None:
            pads = []
            for j in reversed(range(r)):
                pads += [pad_lo[j], pad_hi[j]]
            eye, padding = F.pad(eye, pads), 0
        op = [F.conv1d, F.conv2d, F.conv3d][r - 1]
        out = op(eye, w, stride=stride, padding=padding, groups=groups, dilation=dilation)
    return out.reshape(n, -1).numpy().T.copy()


def built(tmp_path, *flags, name="M.mtx"):
    ok("build", *flags, "-o", tmp_path / name)
    return scipy.io.mmread(str(tmp_path / name)).toarray()


# ---------------------------------------------------------------- version and help


def test_version_is_the_projects():
    text = open(os.path.join(ROOT, "CMakeLists.txt"), encoding="utf-8").read()
    version = re.search(r"project\(convmtx VERSION ([0-9.]+)", text).group(1)
    p = run("--version")
    assert p.returncode == 0 and p.stderr == ""
    assert p.stdout == f"convmtx {version}\n"


def test_help_command_and_help_flag_agree_for_every_command():
    names = commands()
    assert {"demo", "build", "inspect", "spy", "explain", "overlap", "spectrum", "explore", "spreadsheet", "solve", "adjoint-test",
            "help"} == set(names)
    for name in names:
        a, b, c = run("help", name), run(name, "--help"), run(name, "-h")
        assert a.returncode == b.returncode == c.returncode == 0, name
        assert a.stdout == b.stdout == c.stdout and a.stderr == b.stderr == "", name
        assert a.stdout.startswith(f"usage: convmtx {name} [options]"), name
    assert run("help").stdout == run("--help").stdout


def test_help_build_lists_its_options_and_every_configuration_key():
    text = ok("help", "build")
    for flag in ("-o, --output FILE", "--dtype", "--drop-zeros", "--which W|T", "--config FILE"):
        assert flag in text
    keys = config_keys()
    assert {"input", "kernel", "stride", "padding", "padding_lo", "padding_hi", "output_padding", "output_size",
            "dilation", "groups", "out_channels", "transposed", "padding_mode", "convention", "pad", "adj",
            "target_shape", "weights", "weight_layout"} == set(keys)
    for command in ("build", "inspect", "spy", "explain", "overlap", "explore", "spreadsheet", "adjoint-test"):
        text = ok("help", command)
        for key in keys:
            assert "--" + key.replace("_", "-") in text, (command, key)


def test_help_texts_use_the_fields_terms():
    texts = [ok("--help"), ok("help", "config")] + [ok("help", c) for c in commands()]
    for text in texts:
        assert "seeds" not in text and "seed's" not in text
        assert "small side" not in text and "big side" not in text and "C_small" not in text
    assert "PyTorch's ConvTranspose2d(1, 1, 3, stride=2)" in ok("help", "demo")


def test_missing_command_prints_the_list():
    p = run()
    assert p.returncode == 2
    assert "commands:" in p.stdout and "  build " in p.stdout
    assert len(p.stderr.splitlines()) == 1 and p.stderr.startswith("convmtx: ")


# ---------------------------------------------------------------- option syntax


def test_option_equals_value_and_attached_short_option(tmp_path):
    spaced = built(tmp_path, "--input", "1x4x4", "--kernel", "3x3", "--stride", "2", "--padding", "1", "--weights",
                   "arange", name="a.mtx")
    ok("build", "--input=1x4x4", "--kernel=3x3", "--stride=2", "--padding=1", "--weights=arange",
       f"-o{tmp_path / 'b.mtx'}")
    joined = scipy.io.mmread(str(tmp_path / "b.mtx")).toarray()
    ok("build", "--input=1x4x4", "--kernel=3x3", "--stride=2", "--padding=1", "--weights=arange",
       f"--output={tmp_path / 'c.mtx'}")
    np.testing.assert_array_equal(joined, spaced)
    np.testing.assert_array_equal(scipy.io.mmread(str(tmp_path / "c.mtx")).toarray(), spaced)


def test_a_repeated_option_is_refused(tmp_path):
    line = usage_error("build", "--input", "1x5x5", "--kernel", "3x3", "--stride", "1", "--stride", "2", "-o",
                       tmp_path / "W.mtx")
    assert line == "convmtx build: --stride is given more than once (each option takes one value)", line
    assert not (tmp_path / "W.mtx").exists()


@pytest.mark.parametrize("arg", ["-o=W.mtx", "-o="])
def test_a_short_option_with_equals_is_refused(tmp_path, arg):
    line = usage_error("build", "--input", "1x4x4", "--kernel", "3x3", arg, cwd=tmp_path)
    assert line.startswith(f"convmtx build: {arg}: a short option takes its value as -o"), line
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("args, expected", [
    (["build", "--input", "1x4x4", "--kernel", "3x3", "--strid", "2", "-o", "W.mtx"],
     "convmtx build: unknown option '--strid' (did you mean '--stride'?)"),
    (["build", "--input", "1x4x4", "--kernel", "3x3", "--ouput", "W.mtx"],
     "convmtx build: unknown option '--ouput' (did you mean '--output'?)"),
    (["explain", "--input", "1x4x4", "--kernel", "3x3", "--at", "0", "--input-value", "ones"],
     "convmtx explain: unknown option '--input-value' (did you mean '--input-values'?)"),
    (["inspect", "--input", "1x4x4", "--kernel", "3x3", "--transpose"],
     "convmtx inspect: unknown option '--transpose' (did you mean '--transposed'?)"),
    (["buidl", "--input", "1x4x4"], "convmtx: unknown command 'buidl' (did you mean 'build'?)"),
    (["help", "inpsect"], "convmtx help: unknown command 'inpsect' (did you mean 'inspect'?)"),
    (["build", "--input", "1x4x4", "--kernel", "3x3", "--no-such-flag", "1"],
     "convmtx build: unknown option '--no-such-flag'"),
])
def test_unknown_names_with_a_suggestion(tmp_path, args, expected):
    assert usage_error(*args, cwd=tmp_path) == expected
    assert not os.listdir(tmp_path)


def test_old_flag_names_are_gone(tmp_path):
    assert "unknown option '--x'" in usage_error("explain", "--input", "1x4x4", "--kernel", "3x3", "--at", "0",
                                                 "--x", "ones")
    assert "unknown option '--values'" in usage_error("explore", "--input", "1x4x4", "--kernel", "3x3", "--values",
                                                      "ones", "-o", tmp_path / "p.html")


# ---------------------------------------------------------------- bad values: status 2, one line, flag and value


BAD_VALUES = {
    "negative": "-3", "zero": "0", "huge": INT64_MAX, "overflow": "99999999999999999999", "non-numeric": "abc",
    "nan": "nan", "empty": "", "fraction": "1.5",
}

# (command and flags, the flag under test, values that are accepted); every other value of BAD_VALUES must be
# refused. Every command that takes a configuration is swept over every numeric configuration flag, and every
# command over its own numeric flags.
CONFIG_COMMANDS = {
    "build": ["-o", "W.mtx"], "inspect": [], "spy": ["-o", "W.png"], "explain": ["--at", "0"], "overlap": [],
    "explore": ["-o", "p.html"], "adjoint-test": [],
}
CONFIG_FLAGS = [
    # (flag, accepted kinds, flags the base needs for it)
    ("--stride", set(), []), ("--dilation", set(), []), ("--groups", set(), []), ("--out-channels", set(), []),
    ("--padding", {"zero"}, []), ("--padding-lo", {"zero"}, []), ("--padding-hi", {"zero"}, []),
    ("--output-padding", {"zero"}, ["--transposed", "--stride", "2"]), ("--output-size", set(), ["--transposed"]),
]
FLAGS = [([cmd, "--input", "1x6x6", "--kernel", "3x3", *needs, *tail], flag, accepted)
         for cmd, tail in CONFIG_COMMANDS.items() for flag, accepted, needs in CONFIG_FLAGS]
FLAGS += [([cmd, "--input", "1x6x6", *tail], "--kernel", set()) for cmd, tail in CONFIG_COMMANDS.items()]
FLAGS += [([cmd, "--kernel", "3x3", *tail], "--input", set()) for cmd, tail in CONFIG_COMMANDS.items()]
FLAGS += [
    (["spy", "--input", "1x6x6", "--kernel", "3x3", "-o", "W.png"], "--size", set()),
    (["spy", "--input", "1x6x6", "--kernel", "3x3", "-o", "W.png"], "--cell", set()),
    (["overlap", "--input", "1x6x6", "--kernel", "3x3", "--transposed"], "--cell", set()),
    (["spectrum", "--input", "1x6x6", "--kernel", "3x3"], "--k", set()),
    (["spectrum", "--input", "1x6x6", "--kernel", "3x3"], "--tol", set()),
    (["explain", "--input", "1x6x6", "--kernel", "3x3"], "--at", {"zero"}),
    (["explain", "--input", "1x6x6", "--kernel", "3x3"], "--from", {"zero"}),
    (["inspect", "--input", "1x6x6", "--kernel", "3x3"], "--rtol", {"zero", "huge", "overflow", "fraction"}),
    (["adjoint-test"], "--count", set()),
    (["adjoint-test"], "--trials", set()),
    (["adjoint-test", "--count", "1"], "--seed", {"zero", "huge"}),
    (["solve"], "--noise", {"zero", "fraction", "huge", "overflow"}),
    (["solve"], "--size", set()),
    (["solve", "--size", "16"], "--downscale", set()),
    (["solve"], "--stride", set()),
    (["solve", "--size", "16"], "--seed", {"zero", "huge"}),
    (["solve"], "--lambda", {"zero", "fraction", "huge", "overflow"}),
    (["solve"], "--iters", {"huge"}),
    (["solve"], "--atol", {"zero", "huge", "overflow", "fraction"}),
    (["solve"], "--btol", {"zero", "huge", "overflow", "fraction"}),
    (["solve"], "--memory-limit", {"huge", "overflow", "fraction"}),
]


@pytest.mark.parametrize("base, flag, accepted", FLAGS, ids=[f"{b[0]} {f}" + (" T" if "--transposed" in b else "")
                                                              for b, f, _ in FLAGS])
def test_bad_values_exit_2_with_one_line_naming_flag_and_value(tmp_path, base, flag, accepted):
    checked = 0
    for kind, value in BAD_VALUES.items():
        if kind in accepted:
            continue
        line = usage_error(*base, flag, value, cwd=tmp_path)
        names = flag.lstrip("-").replace("-", "_")
        assert flag in line or names in line, (kind, line)
        shown = "''" if value == "" else value
        assert shown in line, (kind, line)
        checked += 1
        # the same with --flag=value (the empty value is refused before CLI11 sees it)
        assert usage_error(*base, f"{flag}={value}", cwd=tmp_path).startswith(f"convmtx {base[0]}: ")
    assert checked >= 4
    assert not os.listdir(tmp_path), "a refused command wrote a file"


def test_library_rules_are_reported_naming_the_flag(tmp_path):
    line = usage_error("build", "--input", "1x3x3", "--kernel", "3x3", "--transposed", "--stride", "2",
                       "--output-padding", "2", "-o", tmp_path / "T.mtx")
    assert line == ("convmtx build: --output-padding 2: output_padding[0]=2 must be smaller than stride[0]=2 or "
                    "dilation[0]=1")
    line = usage_error("inspect", "--input", "1x4x4", "--kernel", "3x3", "--padding", "same", "--stride", "2")
    assert line.startswith("convmtx inspect: --padding same: padding='same' requires stride 1")
    line = usage_error("inspect", "--input", "1x4x4", "--kernel", "3x3", "--padding", "4", "--padding-mode",
                       "reflect")
    assert line.startswith("convmtx inspect: --padding 4: padding[0]=4:4 must be smaller than input_size[0]=4")
    line = usage_error("inspect", "--input", "1x4x4", "--kernel", "3x3", "--transposed", "--padding-mode", "circular")
    assert "--padding-mode circular" in line and "conv_transpose" in line
    line = usage_error("inspect", "--input", "3x4x4", "--kernel", "3x3", "--groups", "2")
    assert line == "convmtx inspect: --groups 2: in_channels=3 must be divisible by groups=2"
    assert "--padding and --padding-lo exclude each other" in usage_error(
        "inspect", "--input", "1x4x4", "--kernel", "3x3", "--padding", "1", "--padding-lo", "1")
    assert "--output-padding 1: output_padding applies to a transposed convolution only" in usage_error(
        "inspect", "--input", "1x4x4", "--kernel", "3x3", "--output-padding", "1")
    assert usage_error("build", "--input", "1x4x4", "--kernel", "3x3", "--transposed=1", "-o", tmp_path / "W.mtx") == (
        "convmtx build: --transposed is a switch and takes no value")
    assert not os.listdir(tmp_path)


@pytest.mark.parametrize("args, flag", [
    (["build", "--input", "1x4x4", "--kernel", "3x3", "-o", "{missing}/W.mtx"], "--output"),
    (["spy", "--input", "1x4x4", "--kernel", "3x3", "-o", "{missing}/W.png"], "--output"),
    (["overlap", "--input", "1x2x2", "--kernel", "3x3", "--transposed", "-o", "{missing}/o.png"], "--output"),
    (["explore", "--input", "1x2x2", "--kernel", "3x3", "-o", "{missing}/p.html"], "--output"),
    (["solve", "--size", "16", "--montage", "{missing}/m.png"], "--montage"),
    (["adjoint-test", "--count", "1", "--json", "{missing}/r.json"], "--json"),
])
def test_an_output_in_a_missing_directory_is_refused_before_any_work(tmp_path, args, flag):
    missing = tmp_path / "no-such-dir"
    line = usage_error(*[a.format(missing=missing) for a in args])
    assert line.startswith(f"convmtx {args[0]}: {flag}: ") and f"directory '{missing}' does not exist" in line
    assert not missing.exists()


# ---------------------------------------------------------------- --config JSON files


def write_json(path, text):
    path.write_text(text)
    return path


@pytest.mark.parametrize("text, needles", [
    ('{"input": [1, 4, 4], "kernel": [3, 3], "transposed": 0}',
     ['"transposed": 0', "must be true or false", "JSON boolean"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "transposed": "false"}',
     ['"transposed": "false"', "must be true or false", "not a string"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "groups": 1.5}', ['"groups": 1.5', "must be an integer"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "groups": "2"}', ['"groups": "2"', "must be an integer"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "stride": [1.5, 1]}', ['"stride": [1.5,1]', "integer"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "stride": [1, 0]}', ['"stride": [1,0]', "value 0 must be >= 1"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "groups": 18446744073709551615}',
     ['"groups": 18446744073709551615', "does not fit a 64-bit integer"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "strides": 2}', ['unknown key "strides"', 'did you mean "stride"']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "output-padding": 0}',
     ['unknown key "output-padding"', 'did you mean "output_padding"']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "pad_lo": [1, 1]}', ['unknown key "pad_lo"', 'did you mean "padding_lo"']),
    ('{"input": [1, 4, 4], "kernel_size": [3, 3]}', ['unknown key "kernel_size"', 'did you mean "kernel"']),
    ('{"input_size": [1, 4, 4], "kernel": [3, 3]}', ['unknown key "input_size"', 'did you mean "input"']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "dilation_rate": 2}', ['unknown key "dilation_rate"', 'did you mean "dilation"']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "stride": 2, "stride": 1}', ['key "stride" is given more than once']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "padding": [[1, 0], [0, 2]]}', ['"padding_lo"', '"padding_hi"']),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "padding": 1, "padding_lo": [1, 1]}', ["exclude each other"]),
    ('{"input": [1, 4, 4], "kernel": [3, 3], "padding_mode": "mirror"}', ['"padding_mode": "mirror"', "reflect"]),
    ('{"input": [1, 4, 4], "kernel": null}', ['"kernel": null']),
    ('{"input": [1, 4, 4], "kernel": [3, 3],}', ["is not valid JSON"]),
    # a number beyond double: the JSON library's reason without its exception tag (found by fuzz_config)
    ('{"input": [1, 4, 4], "kernel": 3, "padding": 92233720368E4775807}',
     ["is not valid JSON: number overflow parsing '92233720368E4775807'"]),
    ('[1, 4, 4]', ["must hold a JSON object"]),
    ('{"input": [1, 3, 3], "kernel": [3, 3], "stride": 2, "output_padding": 2, "transposed": true}',
     ['"output_padding": 2', "output_padding[0]=2 must be smaller than stride[0]=2"]),
])
def test_config_json_is_typed_strictly(tmp_path, text, needles):
    cfg = write_json(tmp_path / "c.json", text)
    line = usage_error("build", "--config", cfg, "-o", tmp_path / "W.mtx")
    assert str(cfg) in line
    for needle in needles:
        assert needle in line, line
    assert "json.exception" not in line and "out_of_range" not in line, line
    assert not (tmp_path / "W.mtx").exists()


def test_config_json_keys_give_the_torch_matrix_and_flags_override(torch, tmp_path, rng):
    w = rng.uniform(-1, 1, size=(2, 3, 2, 3))
    np.save(tmp_path / "w.npy", w)
    cfg = write_json(tmp_path / "c.json", json.dumps({
        "input": [3, 5, 6], "kernel": "2x3", "stride": [2, 1], "padding_lo": [1, 0], "padding_hi": [0, 2],
        "dilation": 1, "groups": 1, "out_channels": 2, "transposed": False, "weights": str(tmp_path / "w.npy"),
        "padding_mode": "zeros", "convention": "torch", "weight_layout": "torch"}))
    M = built(tmp_path, "--config", cfg)
    ref = torch_matrix(torch, (3, 5, 6), w, stride=(2, 1), pad_lo=(1, 0), pad_hi=(0, 2))
    np.testing.assert_allclose(M, ref, rtol=0, atol=1e-12)
    # the same per-side padding as the flag's LO:HI form
    np.testing.assert_array_equal(M, built(tmp_path, "--input", "3x5x6", "--kernel", "2x3", "--stride", "2x1",
                                           "--padding", "1:0,0:2", "--out-channels", "2", "--weights",
                                           tmp_path / "w.npy", name="F.mtx"))
    # a flag overrides the file's key; a padding flag replaces the file's padding_lo/padding_hi
    over = built(tmp_path, "--config", cfg, "--stride", "1", "--padding", "1", name="O.mtx")
    np.testing.assert_allclose(over, torch_matrix(torch, (3, 5, 6), w, padding=1), rtol=0, atol=1e-12)
    # --padding-lo replaces the file's padding_lo only: its padding_hi stays
    side = built(tmp_path, "--config", cfg, "--padding-lo", "0x1", name="S.mtx")
    np.testing.assert_allclose(side, torch_matrix(torch, (3, 5, 6), w, stride=(2, 1), pad_lo=(0, 1), pad_hi=(0, 2)),
                               rtol=0, atol=1e-12)
    # ... and splits a file's symmetric "padding" into its two sides
    sym = write_json(tmp_path / "s.json", json.dumps({"input": [3, 5, 6], "kernel": "2x3", "padding": [1, 2],
                                                       "out_channels": 2, "weights": str(tmp_path / "w.npy")}))
    np.testing.assert_allclose(built(tmp_path, "--config", sym, "--padding-hi", "0", name="H.mtx"),
                               torch_matrix(torch, (3, 5, 6), w, pad_lo=(1, 2), pad_hi=(0, 0)), rtol=0, atol=1e-12)


# ---------------------------------------------------------------- shapes from the weights file


def test_weights_file_gives_kernel_and_channels(torch, tmp_path, rng):
    w = rng.uniform(-1, 1, size=(4, 1, 2, 3))  # a conv: (C_out, C_in/groups, k...) with groups 2
    np.save(tmp_path / "w.npy", w)
    M = built(tmp_path, "--input", "2x5x5", "--groups", "2", "--weights", tmp_path / "w.npy", "--padding", "1")
    np.testing.assert_allclose(M, torch_matrix(torch, (2, 5, 5), w, groups=2, padding=1), rtol=0, atol=1e-12)
    # the same flags spelt out agree with the file
    ok("build", "--input", "2x5x5", "--groups", "2", "--weights", tmp_path / "w.npy", "--padding", "1",
       "--kernel", "2x3", "--out-channels", "4", "-o", tmp_path / "same.mtx")
    # a transposed conv: (C_in, C_out/groups, k...)
    wt = rng.uniform(-1, 1, size=(2, 3, 3, 2))
    np.save(tmp_path / "wt.npy", wt)
    T = built(tmp_path, "--input", "2x3x3", "--transposed", "--stride", "2", "--weights", tmp_path / "wt.npy",
              name="T.mtx")
    np.testing.assert_allclose(T, torch_matrix(torch, (2, 3, 3), wt, transposed=True, stride=2), rtol=0, atol=1e-12)
    assert T.shape == (3 * 7 * 6, 2 * 3 * 3)
    # Keras layout (k..., C_in/groups, C_out) for a conv
    np.save(tmp_path / "wk.npy", np.transpose(w, (2, 3, 1, 0)))
    K = built(tmp_path, "--input", "2x5x5", "--groups", "2", "--weights", tmp_path / "wk.npy", "--weight-layout",
              "keras", "--padding", "1", name="K.mtx")
    np.testing.assert_array_equal(K, M)


def test_flags_contradicting_the_weights_file_name_both_values(tmp_path):
    np.save(tmp_path / "w.npy", np.ones((4, 1, 2, 3)))
    w = str(tmp_path / "w.npy")
    line = usage_error("build", "--input", "2x5x5", "--groups", "2", "--weights", w, "--kernel", "3x3", "-o",
                       tmp_path / "W.mtx")
    assert f"--kernel 3x3 contradicts --weights {w}" in line and "(4, 1, 2, 3)" in line and "kernel_size (2, 3)" in line
    line = usage_error("build", "--input", "2x5x5", "--groups", "2", "--weights", w, "--out-channels", "6", "-o",
                       tmp_path / "W.mtx")
    assert f"--out-channels 6 contradicts --weights {w}" in line and "out_channels = 4" in line
    line = usage_error("build", "--input", "3x5x5", "--weights", w, "-o", tmp_path / "W.mtx")
    assert line.startswith(f"convmtx build: --weights {w}: ") and "in_channels=3" in line
    np.save(tmp_path / "bad.npy", np.array([[[[1.0, np.inf]]]]))
    assert "every value must be finite" in usage_error("build", "--input", "1x4x4", "--weights",
                                                       tmp_path / "bad.npy", "-o", tmp_path / "W.mtx")
    assert not (tmp_path / "W.mtx").exists()


# ---------------------------------------------------------------- explain and explore agree on a cell


def page_data(path):
    text = open(path, encoding="utf-8").read()
    raw = re.search(r"window\.CONVMTX_DATA = (\{.*?\});</script>", text, flags=re.S).group(1)
    return json.loads(raw.replace("<\\/", "</"))


@pytest.mark.parametrize("flags", [
    ["--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed"],
    ["--input", "1x5x4", "--kernel", "3x2", "--stride", "2", "--padding", "1:0,2:1", "--weights", "arange"],
    ["--input", "1x3x4", "--kernel", "2x3", "--transposed", "--stride", "2", "--padding-lo", "1x0",
     "--padding-hi", "0x1", "--output-padding", "1", "--weights", "random:3", "--input-values", "random:4"],
    ["--input", "1x7", "--kernel", "3", "--dilation", "2", "--padding", "2", "--padding-mode", "reflect"],
])
def test_explain_and_explore_show_the_same_cell(torch, tmp_path, flags):
    ok("explore", *flags, "-o", tmp_path / "page.html")
    data = page_data(tmp_path / "page.html")
    out_shape = data["output"]  # 1-D outputs are drawn as 1 x n
    y = np.array(data["y"]).reshape(out_shape)
    cells = [(0, 0), (out_shape[0] - 1, out_shape[1] - 1), (out_shape[0] // 2, out_shape[1] // 2)]
    for r, c in cells:
        index = [0, c] if "1x7" in flags else [0, r, c]
        rep = json.loads(ok("explain", *flags, "--at", ",".join(map(str, index)), "--json"))
        assert rep["total"] == pytest.approx(y[r, c], rel=1e-12, abs=1e-12), (r, c)
        x = np.array(data["x"])
        for t in rep["terms"]:
            assert t["x"] == x[t["input_flat"]]  # the same input values in both
    # the page's configuration keys use the spec's names
    assert {"padding_lo", "padding_hi"} <= set(data) and not {"pad_lo", "pad_hi"} & set(data)
    if "--input-values" not in flags:
        assert data["x_source"] == "count" and data["x"] == list(range(1, len(data["x"]) + 1))


def test_default_input_is_the_pytorch_example(torch):
    # PyTorch's ConvTranspose2d(1, 1, 3, stride=2) on [[1, 2], [3, 4]] with a kernel of ones: the default
    # input values 1, 2, 3, 4 give its 5x5 result in explain (and the same cell in explore, above).
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]], dtype=torch.float64)
    ref = torch.nn.functional.conv_transpose2d(x, torch.ones(1, 1, 3, 3, dtype=torch.float64), stride=2)[0, 0]
    for r, c in [(0, 0), (2, 2), (4, 3)]:
        rep = json.loads(ok("explain", "--input", "1x2x2", "--kernel", "3x3", "--stride", "2", "--transposed", "--at",
                            f"0,{r},{c}", "--json"))
        assert rep["total"] == ref[r, c].item()

