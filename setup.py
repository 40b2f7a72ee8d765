"""Build of the extension convmtx._core through the project's CMake build (pyproject.toml names the rest).

The version is CMakeLists.txt's project(convmtx VERSION x.y.z): the same number `convmtx --version`,
convmtx.__version__ and the CMake package report. CMake is configured with the Python module only
(no tests, CLI or benchmarks) for the interpreter that runs the build, in CONVMTX_CMAKE_BUILD_DIR
(default: <build_temp>/cmake, under build-pip/); CMAKE_ARGS adds options (e.g. -DCONVMTX_WITH_SUITESPARSE=OFF).
"""

import os
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


def project_version():
    text = (ROOT / "CMakeLists.txt").read_text()
    m = re.search(r"project\(\s*convmtx\s+VERSION\s+([0-9][0-9.]*)", text)
    if not m:
        raise RuntimeError("CMakeLists.txt: no project(convmtx VERSION x.y.z) line")
    return m.group(1)


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        for tool in ("cmake",):
            if shutil.which(tool) is None:
                raise RuntimeError(f"{tool} is needed to build convmtx (Debian: apt-get install cmake ninja-build "
                                   f"pybind11-dev libeigen3-dev; scripts/install-deps.sh lists everything)")
        build_dir = Path(os.environ.get("CONVMTX_CMAKE_BUILD_DIR") or Path(self.build_temp).resolve() / "cmake")
        build_dir.mkdir(parents=True, exist_ok=True)
        args = ["cmake", "-S", str(ROOT), "-B", str(build_dir), "-DCMAKE_BUILD_TYPE=Release",
                f"-DPython_EXECUTABLE={sys.executable}", "-DCONVMTX_BUILD_TESTS=OFF", "-DCONVMTX_BUILD_CLI=OFF",
                "-DCONVMTX_BUILD_BENCHMARKS=OFF", "-DCONVMTX_BUILD_PYTHON=ON"]
        if shutil.which("ninja") and not (build_dir / "CMakeCache.txt").exists():
            args += ["-G", "Ninja"]
        args += shlex.split(os.environ.get("CMAKE_ARGS", ""))
        subprocess.run(args, check=True)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(min(os.cpu_count() or 1, 2))
        subprocess.run(["cmake", "--build", str(build_dir), "--target", "convmtx_python", "-j", jobs], check=True)
        built = sorted((build_dir / "python" / "convmtx").glob("_core*.so"))
        if len(built) != 1:
            raise RuntimeError(f"expected one _core*.so in {build_dir / 'python' / 'convmtx'}, found {built}")
        target = Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built[0], target)


# setuptools' own build tree goes to build-pip/, not build/ (the CMake presets' build directory).
setup(version=project_version(), ext_modules=[Extension("convmtx._core", sources=[])],
      cmdclass={"build_ext": CMakeBuild}, options={"build": {"build_base": "build-pip"}})
